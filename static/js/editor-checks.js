/* The editor's pre-flight checks: api/check on the arguments as they stand (plus what only the
 * UI can know), api/configured for the business unit, and the problems shown next to their
 * fields. JB's Done button stays enabled only while every check passes.
 * R.editorChecks(state, deps): deps.collect(), deps.argumentsFor(args),
 * deps.setDoneEnabled(enabled). */
(function (R) {
  'use strict';

  R.editorChecks = function (state, deps) {
    /* What only the UI can know: a saved binding must name a field of this entry source. */
    function clientProblems(args) { return R.entryFields.problems(args, state.fields); }

    function checkNow() {
      var args = deps.collect();
      var payload = deps.argumentsFor(args);
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
      deps.setDoneEnabled(state.readOnly ||
        (!state.problems.length && !state.checkError && state.checkedKey !== null));
    }

    return {
      checkNow: checkNow,
      checkConfigured: checkConfigured,
      view: view,
      renderProblems: renderProblems
    };
  };
}(window.RoktEditor));
