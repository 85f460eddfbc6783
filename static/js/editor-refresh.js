/* After each edit, once the marketer pauses: the checks run again and the preview is redrawn
 * from api/preview with the sample contact's values.
 * R.editorRefresh(state, deps): deps.collect(), deps.argumentsFor(args), deps.checkNow(),
 * deps.view(). */
(function (R) {
  'use strict';

  var REFRESH_DELAY_MS = 250;

  R.editorRefresh = function (state, deps) {
    function runPreview(args) {
      var names = R.inArguments.placeholderNames(args);
      R.preview.renderSamples(names, state.fields, schedule);
      var seq = ++state.previewSeq;
      var samples = R.preview.samples(names);
      if (R.preview.accountCode()) { samples.accountCode = R.preview.accountCode(); }
      var body = { arguments: deps.argumentsFor(args), samples: samples, contactKey: R.preview.contactKey() };
      var loud = state.showAll || Object.keys(state.touched).length > 0;
      return R.postJSON('api/preview', body).then(function (data) {
        if (seq !== state.previewSeq) { return; }
        if (data.ok) {
          R.preview.show(data);
        } else {
          R.preview.showProblem(R.problems.friendly({ field: data.field || '', message: data.error }, deps.view()), loud);
        }
      }, function (error) {
        if (seq === state.previewSeq) { R.preview.showProblem('the preview is unavailable (' + error.message + ')', true); }
      });
    }

    function schedule() {
      clearTimeout(state.refreshTimer);
      state.refreshTimer = setTimeout(now, REFRESH_DELAY_MS);
    }

    function now() {
      clearTimeout(state.refreshTimer);
      if (!state.initialised) { return; }
      var args = deps.collect();
      R.form.updateVisibility();
      deps.checkNow();
      runPreview(args);
    }

    return { schedule: schedule, now: now };
  };
}(window.RoktEditor));
