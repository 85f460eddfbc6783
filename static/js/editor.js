/* Rokt Calendar Event: the configuration UI inside Journey Builder's iframe.
 *
 * The Postmonger conversation: trigger ready, requestTokens (MID, EID) and requestSchema (the
 * entry-source fields); restore the form from initActivity; keep the JB Done button
 * (updateButton) enabled only while every pre-flight check passes; on clickedNext send the
 * whole activity back with updateActivity, its inArguments as docs/protocol.md ("This activity's inArguments") lists.
 * No token or secret ever goes into inArguments.
 */
(function (R) {
  'use strict';

  var A = R.inArguments;
  var DEFAULT_SUBSCRIPTION = A.DEFAULT_SUBSCRIPTION;
  var KEYS = A.KEYS;
  var DEFAULTS = A.DEFAULTS;
  var mergeArguments = A.merge;
  var nameFor = A.nameFor;
  var placeholderNames = A.placeholderNames;
  var REFRESH_DELAY_MS = 250;

  var text = R.text;
  var version = document.getElementById('editor').getAttribute('data-version') || '';

  var state = {
    activity: null,         // the activity exactly as JB sent it; Done sends it back, changed
    initialised: false,
    savedBindings: {},      // '<<Name>>' -> binding, from the saved inArguments
    subscription: DEFAULT_SUBSCRIPTION,
    email: '',              // the emailAddress binding of `subscribe`, '' for none
    tokens: null,           // {mid, eid} once JB answered requestTokens
    fields: null,           // entry-source fields once JB answered requestSchema
    wantDefaultZone: false,
    problems: [],           // server and client problems for `checkedKey`
    checkedKey: null,
    checkedWithTokens: false,
    checkError: '',
    configured: null,       // the business unit has Rokt settings: true, false, null = unknown
    touched: {},
    showAll: false,
    doneEnabled: null,
    saving: false,
    readOnly: false,        // a running journey's activity: shown, never changed
    dirty: false,           // setActivityDirtyState(true) sent
    refreshTimer: null,
    checkSeq: 0,
    previewSeq: 0
  };

  function $(id) { return document.getElementById(id); }

  function clone(value) { return JSON.parse(JSON.stringify(value === undefined ? null : value)); }

  var zones = R.timeZoneCombobox($('timezone'), function () { fieldChanged('timezone', true); });

  /* ---------------------------------------------------------------- Postmonger */

  var connection = new Postmonger.Session();
  var stopWaiting = R.jbContext.waiting();
  var picker = R.eventPicker({
    mid: function () { return collect().mid; },
    onPick: fillFromEvent,
    onAccount: function (code) {
      if (code === R.preview.accountCode()) { return; }
      R.preview.setAccountCode(code);
      scheduleRefresh();
    }
  });

  connection.on('initActivity', function (activity) {
    if (state.initialised) { return; }  // JB re-sends it after wizard steps; keep the edits
    state.initialised = true;
    stopWaiting();
    state.activity = activity && typeof activity === 'object' ? clone(activity) : {};
    state.readOnly = R.jbContext.isReadOnly(state.activity);
    var saved = savedArguments();
    Object.keys(saved).forEach(function (key) {
      if (/^<<.+>>$/.test(key)) { state.savedBindings[key] = text(saved[key]); }
    });
    var hasSaved = KEYS.some(function (key) { return R.has(saved, key); });
    restore(saved);
    state.showAll = hasSaved || (state.activity.metaData || {}).isConfigured === true;
    state.wantDefaultZone = !hasSaved;
    if (!state.readOnly) { applyDefaultZone(); }
    if (state.readOnly) { R.jbContext.showReadOnly(); }
    $('editor').setAttribute('aria-busy', 'false');
    scheduleRefresh();  // lets the tokens and the schema, asked for with ready, arrive first
  });

  connection.on('requestedTokens', function (tokens) {
    tokens = tokens || {};
    state.tokens = { mid: text(tokens.MID).trim(), eid: text(tokens.EID).trim() };
    if (!state.tokens.mid) {
      // Older accounts: no MID in the tokens. The marketer names the business unit instead.
      R.jbContext.askBusinessUnit(text(savedArguments().mid));
    }
    checkConfigured();
    if (!state.readOnly) { picker.prefetch(); }  // also learns the account code for the preview
    scheduleRefresh();
  });

  connection.on('requestedSchema', function (payload) {
    state.fields = R.entryFields.fromSchema(payload);
    renderFieldLists();
    scheduleRefresh();
  });

  connection.on('clickedNext', done);
  connection.on('clickedBack', function () { connection.trigger('prevStep'); });

  function setDoneEnabled(enabled) {
    if (state.doneEnabled === enabled) { return; }
    state.doneEnabled = enabled;
    connection.trigger('updateButton', { button: 'next', text: 'done', visible: true, enabled: enabled });
  }

  function done() {
    if (state.readOnly) {  // nothing may change: JB gets back exactly what it sent
      connection.trigger('updateActivity', clone(state.activity));
      return;
    }
    if (state.saving) { return; }
    state.saving = true;
    checkNow().then(function (problems) {
      if (state.checkError || problems.length) {
        state.showAll = true;
        renderProblems(true);
        return;
      }
      var args = collect();
      var activity = clone(state.activity || {});
      activity.arguments = activity.arguments || {};
      activity.arguments.execute = activity.arguments.execute || {};
      activity.arguments.execute.inArguments = inArgumentsFor(args);
      activity.metaData = activity.metaData || {};
      activity.metaData.isConfigured = true;
      activity.name = nameFor(args, activity.name);
      connection.trigger('updateActivity', activity);
    }).then(function () { state.saving = false; }, function () { state.saving = false; });
  }

  /* ------------------------------------------------------------ form <-> args */

  function savedArguments() {
    var execute = ((state.activity || {}).arguments || {}).execute || {};
    return mergeArguments(execute.inArguments || []);
  }

  function restore(saved) {
    var values = Object.assign({}, DEFAULTS);
    KEYS.forEach(function (key) {
      if (R.has(saved, key) && saved[key] !== null) { values[key] = saved[key]; }
    });
    R.form.write(values);
    state.subscription = Array.isArray(values.calendarSubscriptionId)
      ? JSON.stringify(values.calendarSubscriptionId) : text(values.calendarSubscriptionId);
    renderSubscriptionOptions();
    state.email = text(values.emailAddress);
    renderEmailOptions();
    zones.updateHint();
    R.form.updateVisibility();
  }

  function collect() {
    var tokens = state.tokens || {};
    var saved = savedArguments();
    return R.form.read({
      mid: tokens.mid || (state.tokens ? R.jbContext.businessUnit() : '') || text(saved.mid),
      eid: tokens.eid || text(saved.eid),
      calendarSubscriptionId: state.subscription,
      emailAddress: state.email
    });
  }

  /* The schema wins (a copied journey gets its new entry key); before it arrives, what was saved. */
  function bindingFor(name) {
    if (state.fields) {
      var field = state.fields.filter(function (f) { return f.name === name; })[0];
      return field ? field.binding : '';
    }
    return state.savedBindings['<<' + name + '>>'] || '';
  }

  function inArgumentsFor(args) { return A.list(args, bindingFor); }

  function argumentsFor(args) { return mergeArguments(inArgumentsFor(args)); }

  /* ------------------------------------------------------ entry-source fields */

  function renderFieldLists() {
    Array.prototype.forEach.call(document.querySelectorAll('.editor__insert'), function (box) {
      R.insertField.render(box, state.fields);
    });
    renderSubscriptionOptions();
    renderEmailOptions();
  }

  function renderEmailOptions() {
    state.email = R.entryFields.renderEmail($('emailAddress'), state.fields, state.email);
  }

  function renderSubscriptionOptions() {
    var select = $('calendarSubscriptionId');
    state.subscription = R.entryFields.renderSubscription(select, state.fields, state.subscription);
  }

  /* ---------------------------------------------------------------- time zones */

  function loadZones() {
    return fetch('api/timezones?v=' + encodeURIComponent(version), { credentials: 'same-origin' })
      .then(function (response) { return response.ok ? response.json() : { zones: [] }; })
      .then(function (data) {
        zones.setZones(Array.isArray(data.zones) ? data.zones : []);
        applyDefaultZone();
      }, function () { zones.setZones([]); });
  }

  /* A new activity starts in the marketer's own time zone, when it has a Windows name. */
  function applyDefaultZone() {
    if (!state.wantDefaultZone || !zones.hasZones() || $('timezone').value) { return; }
    state.wantDefaultZone = false;
    var here = '';
    try { here = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { here = ''; }
    var zone = zones.byIana(here);
    if (zone) {
      $('timezone').value = zone.windows;
      zones.updateHint();
      scheduleRefresh();
    }
  }

  /* -------------------------------------------------------------------- checks */

  /* What only the UI can know: a saved binding must name a field of this entry source. */
  function clientProblems(args) { return R.entryFields.problems(args, state.fields); }

  function checkNow() {
    var args = collect();
    var payload = argumentsFor(args);
    var key = JSON.stringify(payload);
    if (key === state.checkedKey && !state.checkError) { return Promise.resolve(state.problems); }
    var seq = ++state.checkSeq;
    var hadTokens = Boolean(state.tokens);
    return R.postJSON('api/check', { arguments: payload }).then(function (data) {
      if (seq !== state.checkSeq) { return state.problems; }
      state.checkError = '';
      state.checkedKey = key;
      state.checkedWithTokens = hadTokens;
      state.problems = (data.problems || []).concat(clientProblems(args));
      renderProblems(false);
      return state.problems;
    }, function (error) {
      if (seq === state.checkSeq) {
        state.checkError = 'The checks could not run (' + error.message + '). Done stays blocked; try again.';
        state.checkedKey = null;
        renderProblems(false);
      }
      return state.problems;
    });
  }

  /* Only a yes/no: does this business unit have Rokt settings? A "no" warns, it does not block. */
  function checkConfigured() {
    var tokens = state.tokens;
    if (!tokens.mid && !tokens.eid) { return; }
    var query = 'mid=' + encodeURIComponent(tokens.mid) + '&eid=' + encodeURIComponent(tokens.eid);
    fetch('api/configured?' + query, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) { return response.ok ? response.json() : { configured: null }; })
      .then(function (data) {
        state.configured = typeof data.configured === 'boolean' ? data.configured : null;
        renderProblems(false);
      }, function () { state.configured = null; });
  }

  function view() {
    return {
      problems: state.problems,
      touched: state.touched,
      showAll: state.showAll,
      checked: state.checkedKey !== null,
      checkError: state.checkError,
      checkedWithTokens: state.checkedWithTokens,
      configured: state.configured,
      businessUnit: state.tokens ? state.tokens.mid || state.tokens.eid : ''
    };
  }

  function renderProblems(announce) {
    if (!state.initialised) { return; }
    R.problems.render(view(), announce);
    // Read-only: Done only closes (it hands back what JB sent), so it is never blocked.
    setDoneEnabled(state.readOnly ||
      (!state.problems.length && !state.checkError && state.checkedKey !== null));
  }

  /* ------------------------------------------------------------------- preview */

  function runPreview(args) {
    var names = placeholderNames(args);
    R.preview.renderSamples(names, state.fields, scheduleRefresh);
    var seq = ++state.previewSeq;
    var samples = R.preview.samples(names);
    if (R.preview.accountCode()) { samples.accountCode = R.preview.accountCode(); }
    var body = { arguments: argumentsFor(args), samples: samples, contactKey: R.preview.contactKey() };
    var loud = state.showAll || Object.keys(state.touched).length > 0;
    return R.postJSON('api/preview', body).then(function (data) {
      if (seq !== state.previewSeq) { return; }
      if (data.ok) {
        R.preview.show(data);
      } else {
        R.preview.showProblem(R.problems.friendly({ field: data.field || '', message: data.error }, view()), loud);
      }
    }, function (error) {
      if (seq === state.previewSeq) { R.preview.showProblem('the preview is unavailable (' + error.message + ')', true); }
    });
  }

  /* ---------------------------------------------------------------- refreshing */

  function scheduleRefresh() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refreshNow, REFRESH_DELAY_MS);
  }

  function refreshNow() {
    clearTimeout(state.refreshTimer);
    if (!state.initialised) { return; }
    var args = collect();
    R.form.updateVisibility();
    checkNow();
    runPreview(args);
  }

  /* JB asks before closing a modal with unsaved changes. */
  function edited() {
    if (state.dirty || !state.initialised || state.readOnly) { return; }
    state.dirty = true;
    connection.trigger('setActivityDirtyState', true);
  }

  /* "Choose an existing event": the event's ID (one event for everyone) and its fields; the
   * marketer then picks what to do with it. */
  function fillFromEvent(event) {
    R.form.fillFromEvent(event);
    zones.updateHint();
    ['eventId', 'eventScope', 'title', 'start', 'end', 'timezone'].forEach(function (field) {
      state.touched[field] = true;
    });
    $('picker-result').textContent = 'Filled in from Rokt event ' + text(event.id) +
      '. Now choose the action.';
    edited();
    refreshNow();
    $('action').focus();
  }

  function fieldChanged(field, touched) {
    if (touched) { state.touched[field] = true; }
    if (field === 'timezone') { zones.updateHint(); }
    scheduleRefresh();
  }

  function wire() {
    var form = $('form');
    form.addEventListener('submit', function (event) { event.preventDefault(); });
    form.addEventListener('input', function (event) {
      var id = event.target.id;
      if (!id || id.indexOf('picker-') === 0) { return; }
      edited();
      fieldChanged(id, false);
    });
    form.addEventListener('change', function (event) {
      var id = event.target.id;
      if (!id || id.indexOf('picker-') === 0) { return; }
      edited();
      if (id === 'calendarSubscriptionId') { state.subscription = event.target.value; }
      if (id === 'emailAddress') { state.email = event.target.value; }
      if (id) { fieldChanged(id, true); }
    });
    form.addEventListener('focusout', function (event) {
      var box = event.target.closest('[data-field]');
      var field = box ? box.getAttribute('data-field') : '';
      if (field && !state.touched[field]) {
        state.touched[field] = true;
        renderProblems(false);
      }
    });
    ['sample-contactKey', 'sample-subscription'].forEach(function (id) {
      $(id).addEventListener('input', scheduleRefresh);
    });
    Array.prototype.forEach.call(document.querySelectorAll('.editor__insert'), function (box) {
      R.insertField.build(box, R.LABELS[box.getAttribute('data-insert-for')]);
    });
    Array.prototype.forEach.call(document.querySelectorAll('svg[data-icon]'), function (svg) {
      R.useIcon(svg, svg.getAttribute('data-icon'));
    });
    renderFieldLists();
  }

  wire();
  loadZones();
  connection.trigger('ready');
  connection.trigger('requestTokens');
  connection.trigger('requestSchema');
}(window.RoktEditor));
