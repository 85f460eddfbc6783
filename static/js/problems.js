/* Pre-flight problems: each one next to the field it concerns (SLDS slds-has-error), page-level
 * ones (business unit, checks unavailable) as alerts at the top, and a summary saying whether
 * Done is blocked and why. Messages from /api/check name inArguments ("eventId is ..."); they
 * are shown with the field's label instead. */
(function (R) {
  'use strict';

  var el = R.el;
  var LABELS = {
    action: 'Action', eventId: 'Event ID', eventScope: 'Event scope', title: 'Event title',
    description: 'Description', location: 'Location', start: 'Start', end: 'End',
    allDay: 'All-day event', timezone: 'Time zone', notifyBefore: 'Reminder (minutes before)',
    onError: 'If the event cannot be sent', calendarSubscriptionId: 'Calendar subscription ID',
    calendarCode: 'Calendar code', subscriptionMethod: 'Subscription method',
    emailAddress: 'Email address', redirectTo: 'Redirect URL', utmSource: 'UTM source',
    utmMedium: 'UTM medium', utmCampaign: 'UTM campaign', utmContent: 'UTM content',
    mid: 'Business unit (MID)'
  };

  function $(id) { return document.getElementById(id); }

  /* view.checkedWithTokens: JB had answered requestTokens when the check ran. */
  function friendly(problem, view) {
    var field = problem.field;
    var label = LABELS[field];
    var message = R.text(problem.message);
    if (field === 'mid') {
      return view.checkedWithTokens
        ? 'Required: enter the MID of the business unit this journey belongs to.'
        : 'Waiting for Journey Builder to tell this activity its business unit…';
    }
    var unknown = /^placeholder (<<.+?>>) in /.exec(message);
    if (unknown) {
      return unknown[1] + ' is not a field of this journey\'s entry source. ' +
        'Pick a field with Insert field, or remove it.';
    }
    if (field === 'redirectTo' && /^redirectTo is missing; /.test(message)) {
      return 'Required: ' + message.replace(/^redirectTo is missing; /, '') + '.';
    }
    if (label && new RegExp('^' + field + ' (is missing|has no source)').test(message)) {
      return field === 'calendarSubscriptionId'
        ? 'Required: choose where each contact\'s calendar subscription ID comes from.'
        : 'Required: enter the ' + label.toLowerCase().replace(/ \(.*\)$/, '') + '.';
    }
    if (label && message.indexOf(field + ' ') === 0) { return label + message.slice(field.length); }
    return message;
  }

  function renderFields(view) {
    Array.prototype.forEach.call(document.querySelectorAll('[data-field]'), function (box) {
      var field = box.getAttribute('data-field');
      var mine = view.problems.filter(function (p) { return p.field === field; });
      var shown = mine.length > 0 && (view.showAll || Boolean(view.touched[field]));
      var input = $(field);
      var error = $(field + '-error');
      box.classList.toggle('slds-has-error', shown);
      if (!shown) {
        if (error) { error.remove(); }
        if (input) { input.removeAttribute('aria-invalid'); }
        return;
      }
      if (!error) {
        error = el('div', { class: 'slds-form-element__help editor__error', id: field + '-error' });
        box.appendChild(error);
      }
      error.textContent = mine.map(function (p) { return friendly(p, view); }).join(' ');
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        var described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
        if (described.indexOf(error.id) < 0) { described.push(error.id); }
        input.setAttribute('aria-describedby', described.join(' '));
      }
    });
  }

  function renderAlerts(view) {
    var box = $('page-alerts');
    box.textContent = '';
    var alerts = view.problems.filter(function (p) { return !LABELS[p.field]; }).map(function (p) {
      return { kind: 'error', text: friendly(p, view) };
    });
    if (view.checkError) { alerts.push({ kind: 'error', text: view.checkError }); }
    if (view.configured === false) {
      alerts.push({
        kind: 'warning',
        text: 'This business unit has no Rokt settings (MID ' + view.businessUnit + '). Contacts ' +
          'will be skipped until an admin adds the Rokt account in the app\'s settings page.'
      });
    }
    alerts.forEach(function (alert) {
      box.appendChild(el('div', {
        class: 'slds-notify slds-notify_alert slds-alert_' + alert.kind,
        role: alert.kind === 'error' ? 'alert' : 'status'
      }, [el('h2', { text: alert.text })]));
    });
  }

  function renderSummary(view, announce) {
    var summary = $('summary');
    var title = $('summary-title');
    var list = $('summary-list');
    var problems = view.problems;
    list.textContent = '';
    summary.hidden = false;
    summary.classList.toggle('editor__summary_ok', !problems.length);
    if (!problems.length) {
      title.textContent = view.checked ? 'All checks pass. Click Done to save.' : 'Checking…';
      return;
    }
    if (!view.showAll && !Object.keys(view.touched).length) {
      title.textContent = 'Fill in the required fields (*) to enable Done.';
      return;
    }
    title.textContent = problems.length > 1
      ? 'Done is blocked until these ' + problems.length + ' problems are fixed:'
      : 'Done is blocked until this problem is fixed:';
    problems.forEach(function (p) {
      var label = LABELS[p.field] || (p.field === 'mid' ? 'Business unit' : 'Activity');
      var link = el('a', { href: '#' + (LABELS[p.field] ? p.field : 'page-alerts'), 'data-focus': p.field, text: label });
      list.appendChild(el('li', {}, [link, document.createTextNode(': ' + friendly(p, view))]));
    });
    if (announce) { title.focus(); }
  }

  /* view: {problems, touched, showAll, checked, checkError, checkedWithTokens, configured,
   *        businessUnit}; announce moves focus to the summary (after a blocked Done). */
  function render(view, announce) {
    renderFields(view);
    renderAlerts(view);
    renderSummary(view, announce);
  }

  $('summary').addEventListener('click', function (event) {
    var link = event.target.closest('a[data-focus]');
    if (!link) { return; }
    event.preventDefault();
    var target = $(link.getAttribute('data-focus'));
    if (target) { target.focus(); } else { $('page-alerts').scrollIntoView(); }
  });

  R.LABELS = LABELS;
  R.problems = { render: render, friendly: friendly };
}(window.RoktEditor));
