/* Rokt Calendar Event: the configuration UI inside Journey Builder's iframe.
 *
 * The Postmonger conversation: trigger ready, requestTokens (MID, EID) and requestSchema (the
 * entry-source fields); restore the form from initActivity; keep the JB Done button
 * (updateButton) enabled only while every pre-flight check passes; on clickedNext send the
 * whole activity back with updateActivity, its inArguments as docs/protocol.md ("This activity's inArguments") lists.
 * No token or secret ever goes into inArguments.
 * The state lives here; editor-args, editor-checks, editor-refresh, editor-zones and
 * editor-inputs.js act on it, and index.html loads them before this file.
 */
(function (R) {
  'use strict';

  var A = R.inArguments;
  var text = R.text;

  var state = {
    activity: null,         // the activity exactly as JB sent it; Done sends it back, changed
    initialised: false,
    savedBindings: {},      // '<<Name>>' -> binding, from the saved inArguments
    subscription: A.DEFAULT_SUBSCRIPTION,
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

  var inputs;  // set below; the combobox calls back only once the marketer chooses a zone
  var zones = R.timeZoneCombobox($('timezone'), function () { inputs.fieldChanged('timezone', true); });

  /* ---------------------------------------------------------------- Postmonger */

  var connection = new Postmonger.Session();
  var args = R.editorArgs(state, zones);
  var checks = R.editorChecks(state, {
    collect: args.collect,
    argumentsFor: args.argumentsFor,
    setDoneEnabled: setDoneEnabled
  });
  var refresh = R.editorRefresh(state, {
    collect: args.collect,
    argumentsFor: args.argumentsFor,
    checkNow: checks.checkNow,
    view: checks.view
  });
  var timeZones = R.editorZones(state, zones, refresh.schedule);
  inputs = R.editorInputs(state, {
    zones: zones,
    connection: connection,
    refresh: refresh,
    renderProblems: checks.renderProblems,
    renderFieldLists: args.renderFieldLists
  });
  var stopWaiting = R.jbContext.waiting();
  var picker = R.eventPicker({
    mid: function () { return args.collect().mid; },
    onPick: inputs.fillFromEvent,
    onAccount: function (code) {
      if (code === R.preview.accountCode()) { return; }
      R.preview.setAccountCode(code);
      refresh.schedule();
    }
  });

  connection.on('initActivity', function (activity) {
    if (state.initialised) { return; }  // JB re-sends it after wizard steps; keep the edits
    state.initialised = true;
    stopWaiting();
    state.activity = activity && typeof activity === 'object' ? clone(activity) : {};
    state.readOnly = R.jbContext.isReadOnly(state.activity);
    var saved = args.savedArguments();
    Object.keys(saved).forEach(function (key) {
      if (/^<<.+>>$/.test(key)) { state.savedBindings[key] = text(saved[key]); }
    });
    var hasSaved = A.KEYS.some(function (key) { return R.has(saved, key); });
    args.restore(saved);
    state.showAll = hasSaved || (state.activity.metaData || {}).isConfigured === true;
    state.wantDefaultZone = !hasSaved;
    if (!state.readOnly) { timeZones.applyDefault(); }
    if (state.readOnly) { R.jbContext.showReadOnly(); }
    $('editor').setAttribute('aria-busy', 'false');
    refresh.schedule();  // lets the tokens and the schema, asked for with ready, arrive first
  });

  connection.on('requestedTokens', function (tokens) {
    tokens = tokens || {};
    state.tokens = { mid: text(tokens.MID).trim(), eid: text(tokens.EID).trim() };
    if (!state.tokens.mid) {
      // Older accounts: no MID in the tokens. The marketer names the business unit instead.
      R.jbContext.askBusinessUnit(text(args.savedArguments().mid));
    }
    checks.checkConfigured();
    if (!state.readOnly) { picker.prefetch(); }  // also learns the account code for the preview
    refresh.schedule();
  });

  connection.on('requestedSchema', function (payload) {
    state.fields = R.entryFields.fromSchema(payload);
    args.renderFieldLists();
    refresh.schedule();
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
    checks.checkNow().then(function (problems) {
      if (state.checkError || problems.length) {
        state.showAll = true;
        checks.renderProblems(true);
        return;
      }
      var values = args.collect();
      var activity = clone(state.activity || {});
      activity.arguments = activity.arguments || {};
      activity.arguments.execute = activity.arguments.execute || {};
      activity.arguments.execute.inArguments = args.inArgumentsFor(values);
      activity.metaData = activity.metaData || {};
      activity.metaData.isConfigured = true;
      activity.name = A.nameFor(values, activity.name);
      connection.trigger('updateActivity', activity);
    }).then(function () { state.saving = false; }, function () { state.saving = false; });
  }

  inputs.wire();
  timeZones.load();
  connection.trigger('ready');
  connection.trigger('requestTokens');
  connection.trigger('requestSchema');
}(window.RoktEditor));
