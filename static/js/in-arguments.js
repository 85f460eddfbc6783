/* The activity's inArguments: which keys it writes for which action, in what order, the
 * '<<Field>>' placeholders they use (each written with its entry-source binding), and the
 * canvas label. Pure functions of the form's values; the editor owns the page and JB.
 * docs/protocol.md ("This activity's inArguments") lists them. */
(function (R) {
  'use strict';

  var text = R.text;

  var DEFAULT_SUBSCRIPTION = '{{Contact.Attribute."Calendar Subscription"."CalendarSubscriptionId"}}';
  // The inArguments the activity writes, in this order, then one per placeholder used.
  var KEYS = ['mid', 'eid', 'action', 'eventId', 'eventScope', 'title', 'description', 'location',
    'start', 'end', 'timezone', 'allDay', 'notifyBefore', 'onError', 'calendarSubscriptionId',
    'calendarCode', 'subscriptionMethod', 'emailAddress', 'redirectTo', 'utmSource', 'utmMedium',
    'utmCampaign', 'utmContent'];
  // Written only for the actions that use them, so other activities keep their exact shape.
  var ACTION_ONLY = {
    calendarCode: ['unsubscribe', 'subscribe'], subscriptionMethod: ['subscribe'],
    emailAddress: ['subscribe'], redirectTo: ['subscribe'], utmSource: ['subscribe'],
    utmMedium: ['subscribe'], utmCampaign: ['subscribe'], utmContent: ['subscribe']
  };
  // `subscribe` makes a subscription, not an event: it writes only these and its own keys.
  var SUBSCRIBE_COMMON = ['mid', 'eid', 'action', 'onError'];
  var CONSENT_METHODS = ['Google', 'Microsoft'];  // they need a redirectTo
  var DEFAULTS = {
    action: 'create', eventId: '', eventScope: 'contact', title: '', description: '',
    location: '', start: '', end: '', timezone: '', allDay: false, notifyBefore: 15,
    onError: 'continue', calendarSubscriptionId: DEFAULT_SUBSCRIPTION, calendarCode: '',
    subscriptionMethod: 'WebCal', emailAddress: '', redirectTo: '', utmSource: '', utmMedium: '',
    utmCampaign: '', utmContent: ''
  };
  var PLACEHOLDER = /<<([^<>|]+)(?:\|([^<>]*))?>>/g;

  function mergeArguments(list) {
    var merged = {};
    (Array.isArray(list) ? list : [list]).forEach(function (item) {
      if (item && typeof item === 'object') { Object.assign(merged, item); }
    });
    return merged;
  }

  /* The canvas label: the event title as a marketer reads it (a field's fallback, else its
   * name, instead of the raw <<...>> marker), else what the activity does. */
  function nameFor(args, previous) {
    if (args.action === 'subscribe') {
      return args.calendarCode ? 'Subscribe: ' + args.calendarCode : previous || 'Rokt Calendar Event';
    }
    if (args.action === 'unsubscribe') {
      return args.calendarCode ? 'Unsubscribe: ' + args.calendarCode : previous || 'Rokt Calendar Event';
    }
    var timed = args.action === 'create' || args.action === 'update';
    var title = timed ? readable(args.title) : '';
    if (title) { return title.length > 100 ? title.slice(0, 99) + '…' : title; }
    var verbs = { remove: 'Remove', cancel: 'Cancel', update: 'Update', create: 'Send' };
    if (args.eventId) { return (verbs[args.action] || 'Event') + ': ' + args.eventId; }
    return previous || 'Rokt Calendar Event';
  }

  function readable(title) {
    return text(title).replace(PLACEHOLDER, function (match, name, fallback) {
      return fallback ? fallback : name.trim();
    }).replace(/\s+/g, ' ').trim();
  }

  /* Whether the activity writes `key` for these args (hidden fields of other actions are not). */
  function writes(key, args) {
    if (args.action === 'subscribe' && SUBSCRIBE_COMMON.indexOf(key) < 0 && !ACTION_ONLY[key]) {
      return false;
    }
    if (key === 'redirectTo' && CONSENT_METHODS.indexOf(args.subscriptionMethod) < 0) { return false; }
    return !ACTION_ONLY[key] || ACTION_ONLY[key].indexOf(args.action) >= 0;
  }

  function placeholderNames(args) {
    var names = [];
    KEYS.forEach(function (key) {
      if (typeof args[key] !== 'string' || !writes(key, args)) { return; }
      args[key].replace(PLACEHOLDER, function (match, name) {
        if (names.indexOf(name) < 0) { names.push(name); }
        return match;
      });
    });
    return names;
  }


  /* The inArguments list for these args; `bindingFor(name)` gives a placeholder's binding
   * ('' for none: the placeholder is then not written). */
  function inArgumentsFor(args, bindingFor) {
    var list = KEYS.filter(function (key) { return writes(key, args); })
      .map(function (key) { var o = {}; o[key] = args[key]; return o; });
    placeholderNames(args).forEach(function (name) {
      var binding = bindingFor(name);
      if (binding) { var o = {}; o['<<' + name + '>>'] = binding; list.push(o); }
    });
    return list;
  }

  R.inArguments = {
    DEFAULT_SUBSCRIPTION: DEFAULT_SUBSCRIPTION,
    KEYS: KEYS,
    DEFAULTS: DEFAULTS,
    CONSENT_METHODS: CONSENT_METHODS,
    merge: mergeArguments,
    nameFor: nameFor,
    placeholderNames: placeholderNames,
    list: inArgumentsFor
  };
}(window.RoktEditor));
