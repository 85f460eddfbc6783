/* The editor's form <-> the activity's arguments: what was saved, restoring the form from it,
 * reading the form (plus what JB told us) back, and the inArguments bound to this entry
 * source's fields.
 * R.editorArgs(state, zones): state is editor.js's; zones the time-zone combobox. */
(function (R) {
  'use strict';

  var A = R.inArguments;
  var text = R.text;

  function $(id) { return document.getElementById(id); }

  R.editorArgs = function (state, zones) {
    function savedArguments() {
      var execute = ((state.activity || {}).arguments || {}).execute || {};
      return A.merge(execute.inArguments || []);
    }

    function restore(saved) {
      var values = Object.assign({}, A.DEFAULTS);
      A.KEYS.forEach(function (key) {
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

    function argumentsFor(args) { return A.merge(inArgumentsFor(args)); }

    /* The entry-source fields: the insert-field menus and the subscription and email selects. */
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

    return {
      savedArguments: savedArguments,
      restore: restore,
      collect: collect,
      inArgumentsFor: inArgumentsFor,
      argumentsFor: argumentsFor,
      renderFieldLists: renderFieldLists
    };
  };
}(window.RoktEditor));
