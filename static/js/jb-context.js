/* What Journey Builder did or did not tell the editor: the waiting state before initActivity
 * (or for good, when the page is opened outside Journey Builder), the read-only view of a
 * running activity, and the business-unit field for tokens without a MID (older accounts). */
(function (R) {
  'use strict';

  var el = R.el;
  var SLOW_MS = 4000;

  function $(id) { return document.getElementById(id); }

  function outsideJourneyBuilder() {
    try { return window.parent === window; } catch (e) { return false; }
  }

  /* Shown until initActivity arrives; says plainly when it never will. */
  function waiting() {
    var message = $('waiting-message');
    if (outsideJourneyBuilder()) {
      message.textContent = 'This page configures the Rokt Calendar Event activity and works only ' +
        'inside Journey Builder: open a journey, drag the activity onto the canvas and click it.';
      $('waiting').setAttribute('data-outside', 'true');
      return function () {};
    }
    var timer = setTimeout(function () {
      message.textContent = 'Still waiting for Journey Builder. If nothing happens, close this ' +
        'window and open the activity again.';
    }, SLOW_MS);
    return function () {
      clearTimeout(timer);
      $('waiting').hidden = true;
    };
  }

  /* JB opens a running journey's activity with editable false (configurationSupportsReadOnlyMode). */
  function isReadOnly(activity) { return Boolean(activity) && activity.editable === false; }

  function showReadOnly() {
    $('read-only').hidden = false;
    Array.prototype.forEach.call(
      document.querySelectorAll('#form input, #form select, #form textarea, #form button'),
      function (control) { control.disabled = true; }
    );
  }

  /* Tokens without MID: a MID field, with the business units of the signed-in admin's
   * enterprise as suggestions (api/rokt/business-units needs the admin session). */
  function askBusinessUnit(saved) {
    var input = $('mid');
    $('mid-element').hidden = false;
    if (saved && !input.value) { input.value = saved; }
    fetch('api/rokt/business-units', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var list = $('mid-options');
        (data.units || []).forEach(function (unit) {
          list.appendChild(el('option', { value: unit.mid, text: unit.mid + ' · ' + unit.accountCode }));
        });
        if (data.units && data.units.length) {
          $('mid-hint').textContent = 'Journey Builder did not tell this activity its business unit. ' +
            'Pick the one this journey belongs to: the list shows your enterprise\'s business units ' +
            'with Rokt settings.';
        }
      }, function () {});
  }

  function businessUnit() { return $('mid').value.trim(); }

  R.jbContext = {
    waiting: waiting,
    isReadOnly: isReadOnly,
    showReadOnly: showReadOnly,
    askBusinessUnit: askBusinessUnit,
    businessUnit: businessUnit
  };
}(window.RoktEditor));
