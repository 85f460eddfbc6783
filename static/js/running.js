/* Running-journey hover and modal: Journey Builder tells which activity this is
 * (initActivityRunningHover / initActivityRunningModal); its delivery counts come from
 * running/stats, which needs the admin session. The modal lists dead items and can re-queue
 * them (running/retry, with the session's CSRF token in a header). */
(function () {
  'use strict';

  var view = document.body.getAttribute('data-view');
  var modal = view === 'modal';
  var state = { activityId: '', csrf: '', loaded: false };

  function $(id) { return document.getElementById(id); }

  function node(tag, text, className) {
    var element = document.createElement(tag);
    if (text !== undefined) { element.textContent = text; }
    if (className) { element.className = className; }
    return element;
  }

  function status(message, error) {
    $('running-status').textContent = message;
    $('running-status').classList.toggle('running__status_error', Boolean(error));
  }

  function when(iso) { return iso ? iso.replace('T', ' ').replace(/:\d\dZ$/, '') + ' UTC' : ''; }

  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }

  function load() {
    var url = 'stats?activityId=' + encodeURIComponent(state.activityId) + (modal ? '&dead=1' : '');
    return fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data && data.error ? data.error : 'HTTP ' + response.status); }
        return data;
      });
    }).then(render, function (error) {
      $('running').setAttribute('aria-busy', 'false');
      status(error.message, true);
    });
  }

  function render(data) {
    state.csrf = data.csrf || '';
    $('running').setAttribute('aria-busy', 'false');
    var c = data.counts || {};
    var total = (c.queued || 0) + (c.sent || 0) + (c.dead || 0) + (c.skipped || 0) + (c.subscribed || 0);
    var counts = $('running-counts');
    var details = $('running-details');
    counts.textContent = '';
    details.textContent = '';
    if (!total) {
      counts.hidden = true;
      status('No contacts have reached this activity yet.');
      renderDead(data);
      return;
    }
    status(data.lastSentAt ? 'Last delivery ' + when(data.lastSentAt)
      : c.subscribed ? plural(c.subscribed, 'contact', 'contacts') + ' got a calendar subscription.'
        : 'Nothing delivered yet.');
    var pairs = [['Queued', c.queued], ['Sent', c.sent], ['Retrying', c.retrying], ['Dead', c.dead], ['Skipped', c.skipped]];
    // A subscribe activity hands each contact a subscription instead of queueing an event.
    if (c.subscribed) { pairs.unshift(['Subscribed', c.subscribed]); }
    pairs.forEach(function (pair) {
      counts.appendChild(node('dt', pair[0]));
      var value = node('dd', String(pair[1] || 0));
      value.setAttribute('data-count', pair[0].toLowerCase());
      if ((pair[0] === 'Dead' || pair[0] === 'Retrying') && pair[1]) { value.classList.add('running__count_bad'); }
      counts.appendChild(value);
    });
    counts.hidden = false;
    if (c.retrying) {
      details.appendChild(node('p', 'Retrying: ' + data.lastError +
        (data.nextAttemptAt ? ' (next attempt ' + when(data.nextAttemptAt) + ')' : ''), 'running__retrying'));
    }
    list(details, 'Dead', data.deadReasons, function (r) { return plural(r.count, 'item', 'items') + ': ' + r.reason; }, 'running__reasons');
    list(details, 'Skipped', data.skipped, function (s) { return s.label + ': ' + s.count; }, 'running__skipped');
    renderDead(data);
  }

  function list(parent, title, items, line, className) {
    if (!items || !items.length) { return; }
    parent.appendChild(node('p', title + ' by reason:'));
    var ul = node('ul', undefined, className);
    items.forEach(function (item) { ul.appendChild(node('li', line(item))); });
    parent.appendChild(ul);
  }

  function renderDead(data) {
    if (!modal) { return; }
    var dead = data.dead || [];
    $('dead-section').hidden = !dead.length && !(data.counts || {}).dead;
    $('retry-dead').disabled = !(data.counts || {}).dead;
    var body = $('dead-list');
    body.textContent = '';
    dead.forEach(function (item) {
      var row = node('tr');
      row.appendChild(node('td', item.contactKey));
      row.appendChild(node('td', item.reason));
      row.appendChild(node('td', when(item.at).replace(' UTC', '')));
      body.appendChild(row);
    });
  }

  function retryDead() {
    $('retry-dead').disabled = true;
    $('retry-status').textContent = 'Re-queuing…';
    fetch('retry', {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.csrf },
      body: JSON.stringify({ activityId: state.activityId })
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data && data.error ? data.error : 'HTTP ' + response.status); }
        return data;
      });
    }).then(function (data) {
      $('retry-status').textContent = plural(data.requeued, 'item', 'items') + ' re-queued for delivery.';
      return load();
    }, function (error) {
      $('retry-status').textContent = 'Not re-queued: ' + error.message;
      $('retry-dead').disabled = false;
    });
  }

  var connection = new Postmonger.Session();

  function start(activity) {
    if (state.loaded) { return; }
    state.loaded = true;
    state.activityId = activity && typeof activity.id === 'string' ? activity.id : '';
    if (!state.activityId) {
      $('running').setAttribute('aria-busy', 'false');
      status('This activity has no ID yet: save and activate the journey first.');
      return;
    }
    status('Loading…');
    load();
  }

  connection.on('initActivityRunningHover', start);
  connection.on('initActivityRunningModal', start);
  connection.on('initActivity', start);
  if (modal) {
    $('retry-dead').addEventListener('click', retryDead);
    $('close').addEventListener('click', function () { connection.trigger('destroy'); });
  }
  connection.trigger('ready');
}());
