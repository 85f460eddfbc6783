/* The form's fields: read into the activity's values, written from saved ones or from a Rokt
 * event, and which of them the chosen action shows. The two fields bound to entry-source
 * fields (calendar subscription ID, email) are selects that entry-fields.js fills; the editor
 * keeps their values. */
(function (R) {
  'use strict';

  var el = R.el;
  var text = R.text;
  var SELECTS = ['action', 'eventScope', 'onError', 'subscriptionMethod'];
  var TEXT_INPUTS = ['eventId', 'title', 'description', 'location', 'start', 'end', 'timezone',
    'notifyBefore', 'calendarCode', 'redirectTo', 'utmSource', 'utmMedium', 'utmCampaign', 'utmContent'];

  function $(id) { return document.getElementById(id); }

  function setSelect(select, value) {
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    if (!known) { select.appendChild(el('option', { value: value, text: 'Saved value: ' + value })); }
    select.value = value;
  }

  /* The activity's values; `given` has the ones the form does not hold (mid, eid and the two
   * bound fields). */
  function read(given) {
    var notify = $('notifyBefore').value.trim();
    return {
      mid: given.mid,
      eid: given.eid,
      action: $('action').value,
      eventId: $('eventId').value.trim(),
      eventScope: $('eventScope').value,
      title: $('title').value.trim(),
      description: $('description').value.trim(),
      location: $('location').value.trim(),
      start: $('start').value.trim(),
      end: $('end').value.trim(),
      timezone: $('timezone').value.trim(),
      allDay: $('allDay').checked,
      notifyBefore: /^\d{1,9}$/.test(notify) ? Number(notify) : notify,
      onError: $('onError').value,
      calendarSubscriptionId: given.calendarSubscriptionId,
      calendarCode: $('calendarCode').value.trim(),
      subscriptionMethod: $('subscriptionMethod').value,
      emailAddress: given.emailAddress,
      redirectTo: $('redirectTo').value.trim(),
      utmSource: $('utmSource').value.trim(),
      utmMedium: $('utmMedium').value.trim(),
      utmCampaign: $('utmCampaign').value.trim(),
      utmContent: $('utmContent').value.trim()
    };
  }

  /* Saved (or default) values into the fields; a select keeps a value it does not offer. */
  function write(values) {
    SELECTS.forEach(function (id) { setSelect($(id), text(values[id])); });
    TEXT_INPUTS.forEach(function (id) { $(id).value = text(values[id]); });
    $('allDay').checked = values.allDay === true || text(values.allDay).toLowerCase() === 'true';
  }

  /* "Choose an existing event": the event's ID (one event for everyone) and its fields. */
  function fillFromEvent(event) {
    var local = function (value) {
      var match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})/.exec(text(value));
      return match ? match[1] : text(value);
    };
    if (['subscribe', 'unsubscribe'].indexOf($('action').value) >= 0) { setSelect($('action'), 'update'); }
    $('eventId').value = text(event.id);
    setSelect($('eventScope'), 'shared');
    $('title').value = text(event.title);
    $('description').value = text(event.description);
    $('location').value = text(event.location);
    $('start').value = local(event.start);
    $('end').value = local(event.end);
    $('allDay').checked = false;
    $('timezone').value = text(event.timezone) || text(event.timezoneIanaId);
    if (typeof event.notifyBefore === 'number') { $('notifyBefore').value = String(event.notifyBefore); }
  }

  function updateVisibility() {
    var action = $('action').value;
    $('details').hidden = action !== 'create' && action !== 'update';
    var calendarOnly = action === 'unsubscribe' || action === 'subscribe';
    $('calendarCode-element').hidden = !calendarOnly;
    $('eventId-element').hidden = calendarOnly;
    $('eventScope-element').hidden = calendarOnly;
    $('subscribe-details').hidden = action !== 'subscribe';
    $('picker').hidden = calendarOnly;  // no event to choose: these actions name a calendar
    $('subscription-element').hidden = action === 'subscribe';
    $('sample-subscription-element').hidden = action === 'subscribe';
    var consent = R.inArguments.CONSENT_METHODS.indexOf($('subscriptionMethod').value) >= 0;
    $('redirectTo-element').hidden = !consent;
    $('calendarCode-effect').textContent = action === 'subscribe'
      ? 'Each contact gets their own subscription to it; the same contact again gets the same one.'
      : 'The contact\'s subscriptions to it are deactivated and its events leave their calendar.';
    $('subscriptionMethod-hint').textContent = consent
      ? 'The link first asks the person to allow Rokt into their ' + $('subscriptionMethod').value +
        ' calendar, then opens the redirect URL.'
      : 'The link adds the calendar to the person\'s calendar app.';
    $('end-required').hidden = $('allDay').checked;  // an all-day event may last just its start day
    var id = $('eventId').value.trim() || '<Event ID>';
    $('eventScope-hint').textContent = $('eventScope').value === 'shared'
      ? 'Rokt event ID: ' + id + ' for every contact.'
      : 'Rokt event ID: ' + id + '_<contact key>, so each contact\'s event can be changed on its own.';
  }

  R.form = { read: read, write: write, fillFromEvent: fillFromEvent, updateVisibility: updateVisibility };
}(window.RoktEditor));
