/* The preview panel: sample values for a sample contact, and the event as the contact's
 * calendar shows it plus the exact Rokt request, as /api/preview rendered them through the
 * same code as execute. Times are shown as the server computed them (no browser time zone). */
(function (R) {
  'use strict';

  var el = R.el;
  var WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  var DAY_MS = 86400000;
  var values = {};  // sample value per placeholder name, as prefilled or typed
  var shownNames = null;

  function $(id) { return document.getElementById(id); }

  /* A plausible sample for an entry-source field, from its type and name. */
  function sampleFor(name, field) {
    var type = field ? R.text(field.type).toLowerCase() : 'text';
    if (type === 'date' || /date|time|start|end/i.test(name)) {
      return /end/i.test(name) ? '2026-12-01T10:00' : '2026-12-01T09:00';
    }
    if (type === 'emailaddress') { return 'jane.doe@example.com'; }
    if (type === 'phone') { return '+1 555 0100'; }
    if (type === 'number' || type === 'decimal') { return '42'; }
    if (type === 'boolean') { return 'true'; }
    return name;
  }

  /* One input per placeholder in use, labelled <<Name>>; kept while the names stay the same. */
  function renderSamples(names, fields, onChange) {
    var key = names.join('\u0000');
    if (key === shownNames) { return; }
    shownNames = key;
    var box = $('sample-fields');
    box.textContent = '';
    names.forEach(function (name, index) {
      var id = 'sample-field-' + index;
      if (!R.has(values, name)) {
        values[name] = sampleFor(name, (fields || []).filter(function (f) { return f.name === name; })[0]);
      }
      var input = el('input', { type: 'text', class: 'slds-input slds-input_small', id: id, spellcheck: 'false' });
      input.value = values[name];
      input.addEventListener('input', function () {
        values[name] = input.value;
        onChange();
      });
      box.appendChild(el('div', { class: 'slds-form-element' }, [
        el('label', { class: 'slds-form-element__label', for: id, text: '<<' + name + '>>' }),
        el('div', { class: 'slds-form-element__control' }, [input])
      ]));
    });
  }

  /* The `samples` object /api/preview expects. */
  function samples(names) {
    var result = { calendarSubscriptionId: $('sample-subscription').value.trim() };
    names.forEach(function (name) { result['<<' + name + '>>'] = R.text(values[name]); });
    return result;
  }

  /* The business unit's real account code, once the signed-in picker has learnt it. */
  var accountCode = '';
  function setAccountCode(code) { accountCode = R.text(code); }
  function account() { return accountCode; }

  function contactKey() { return $('sample-contactKey').value.trim(); }

  function showProblem(message, loud) {
    var status = $('preview-status');
    status.textContent = 'No preview yet: ' + message;
    status.classList.toggle('editor__preview-status_error', loud);
    $('preview-result').hidden = true;
  }

  function show(data) {
    var status = $('preview-status');
    status.textContent = '';
    status.classList.remove('editor__preview-status_error');
    $('preview-result').hidden = false;
    var event = data.event || {};
    var timed = data.action === 'create' || data.action === 'update';
    var titles = {
      remove: 'Removes event ' + data.eventId + ' from this contact\'s calendar',
      cancel: 'Cancels event ' + data.eventId + ' for everyone',
      unsubscribe: 'Unsubscribes this contact from calendar ' + R.text(event.calendarCode),
      subscribe: 'Subscribes this contact to calendar ' + R.text(event.calendarCode) + ' (' +
        R.text(event.subscriptionMethod) + ')'
    };
    $('preview-title').textContent = timed ? event.title : titles[data.action];
    $('preview-when').textContent = timed
      ? span(event.start, event.end, event.allDayEvent) + ' · ' + event.timezone + ' (' + event.timezoneIanaId + ')'
      : '—';
    $('preview-utc').textContent = timed ? span(data.startUtc, data.endUtc, false) + ' UTC' : '—';
    $('preview-location').textContent = timed ? event.location || '—' : '—';
    $('preview-reminder').textContent = !timed ? '—'
      : event.notifyBefore ? event.notifyBefore + ' minutes before' : 'At the start time';
    $('preview-event-id').textContent = data.eventId || '—';
    // A subscription has no time, place or event ID: its facts would all be empty.
    document.querySelector('.editor__event-facts').hidden = data.action === 'subscribe';
    $('preview-description').textContent = timed ? event.description || '' : '';
    var box = $('preview-requests');
    box.textContent = '';
    (data.requests || []).forEach(function (request) {
      box.appendChild(el('p', { class: 'editor__request-line', text: request.method + ' ' + request.path }));
      box.appendChild(el('pre', {
        class: 'editor__request-body',
        tabindex: '0',
        'aria-label': 'Rokt request body',
        text: request.body === null ? '(no body)' : JSON.stringify(request.body, null, 2)
      }));
    });
    if (!accountCode) {
      box.appendChild(el('p', {
        class: 'editor__hint', text: 'your-account stands for this business unit\'s Rokt account code.'
      }));
    }
  }

  function parts(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(R.text(iso));
    if (!m) { return null; }
    return {
      date: m[1] + '-' + m[2] + '-' + m[3],
      time: (m[4] || '00') + ':' + (m[5] || '00'),
      day: new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
    };
  }

  /* "Tue 2026-12-01 09:00–10:30"; all-day ends are exclusive, as Rokt gets them. */
  function span(startIso, endIso, allDay) {
    var start = parts(startIso);
    var end = parts(endIso);
    if (!start || !end) { return R.text(startIso) + ' – ' + R.text(endIso); }
    var label = function (p) { return WEEKDAYS[p.day.getUTCDay()] + ' ' + p.date; };
    if (allDay) {
      var last = parts(new Date(end.day.getTime() - DAY_MS).toISOString());
      return (last.date === start.date ? label(start) : label(start) + ' – ' + label(last)) + ', all day';
    }
    if (start.date === end.date) { return label(start) + ' ' + start.time + '–' + end.time; }
    return label(start) + ' ' + start.time + ' – ' + label(end) + ' ' + end.time;
  }

  R.preview = {
    renderSamples: renderSamples,
    samples: samples,
    contactKey: contactKey,
    show: show,
    showProblem: showProblem,
    setAccountCode: setAccountCode,
    accountCode: account
  };
}(window.RoktEditor));
