/* The marketer's edits: form events mark fields touched and schedule a refresh, the first
 * edit tells JB the activity is dirty, and "Choose an existing event" fills the form in.
 * R.editorInputs(state, deps): deps.zones (the time-zone combobox), deps.connection (the
 * Postmonger session), deps.refresh ({schedule, now}), deps.renderProblems(announce),
 * deps.renderFieldLists(). */
(function (R) {
  'use strict';

  function $(id) { return document.getElementById(id); }

  R.editorInputs = function (state, deps) {
    var zones = deps.zones;
    var refresh = deps.refresh;

    /* JB asks before closing a modal with unsaved changes. */
    function edited() {
      if (state.dirty || !state.initialised || state.readOnly) { return; }
      state.dirty = true;
      deps.connection.trigger('setActivityDirtyState', true);
    }

    /* "Choose an existing event": the event's ID (one event for everyone) and its fields; the
     * marketer then picks what to do with it. */
    function fillFromEvent(event) {
      R.form.fillFromEvent(event);
      zones.updateHint();
      ['eventId', 'eventScope', 'title', 'start', 'end', 'timezone'].forEach(function (field) {
        state.touched[field] = true;
      });
      $('picker-result').textContent = 'Filled in from Rokt event ' + R.text(event.id) +
        '. Now choose the action.';
      edited();
      refresh.now();
      $('action').focus();
    }

    function fieldChanged(field, touched) {
      if (touched) { state.touched[field] = true; }
      if (field === 'timezone') { zones.updateHint(); }
      refresh.schedule();
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
          deps.renderProblems(false);
        }
      });
      ['sample-contactKey', 'sample-subscription'].forEach(function (id) {
        $(id).addEventListener('input', refresh.schedule);
      });
      Array.prototype.forEach.call(document.querySelectorAll('.editor__insert'), function (box) {
        R.insertField.build(box, R.LABELS[box.getAttribute('data-insert-for')]);
      });
      Array.prototype.forEach.call(document.querySelectorAll('svg[data-icon]'), function (svg) {
        R.useIcon(svg, svg.getAttribute('data-icon'));
      });
      deps.renderFieldLists();
    }

    return { wire: wire, fillFromEvent: fillFromEvent, fieldChanged: fieldChanged };
  };
}(window.RoktEditor));
