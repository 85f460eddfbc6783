/* The time zones behind the combobox, from api/timezones, and the default for a new activity.
 * R.editorZones(state, zones, onDefault): zones is the time-zone combobox; onDefault() runs
 * after the default zone was filled in. */
(function (R) {
  'use strict';

  function $(id) { return document.getElementById(id); }

  R.editorZones = function (state, zones, onDefault) {
    var version = $('editor').getAttribute('data-version') || '';

    function load() {
      return fetch('api/timezones?v=' + encodeURIComponent(version), { credentials: 'same-origin' })
        .then(function (response) { return response.ok ? response.json() : { zones: [] }; })
        .then(function (data) {
          zones.setZones(Array.isArray(data.zones) ? data.zones : []);
          applyDefault();
        }, function () { zones.setZones([]); });
    }

    /* A new activity starts in the marketer's own time zone, when it has a Windows name. */
    function applyDefault() {
      if (!state.wantDefaultZone || !zones.hasZones() || $('timezone').value) { return; }
      state.wantDefaultZone = false;
      var here = '';
      try { here = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { here = ''; }
      var zone = zones.byIana(here);
      if (zone) {
        $('timezone').value = zone.windows;
        zones.updateHint();
        onDefault();
      }
    }

    return { load: load, applyDefault: applyDefault };
  };
}(window.RoktEditor));
