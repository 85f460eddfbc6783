/* "Choose an existing event": a searchable, paged list of the business unit's Rokt calendar
 * events from api/rokt/events (the server reads Rokt with the business unit's token; this
 * page never sees it). That endpoint needs the admin session; when something is missing
 * (no session, no calendar ID, Rokt down) the panel says so and editing goes on.
 * R.eventPicker(options): options.mid() -> the journey's MID or '', options.onPick(event),
 * options.onAccount(accountCode). */
(function (R) {
  'use strict';

  var el = R.el;
  var SEARCH_DELAY_MS = 250;

  function $(id) { return document.getElementById(id); }

  R.eventPicker = function (options) {
    var state = { page: 1, pages: 1, seq: 0, timer: null, loaded: false };
    var button = $('picker-open');
    var panel = $('picker-panel');
    var search = $('picker-search');

    function status(message, error) {
      $('picker-status').textContent = message;
      $('picker-status').classList.toggle('editor__picker-status_error', Boolean(error));
    }

    function url(page) {
      var query = 'page=' + page + '&q=' + encodeURIComponent(search.value.trim());
      var mid = options.mid();
      return 'api/rokt/events?' + query + (mid ? '&mid=' + encodeURIComponent(mid) : '');
    }

    function load(page) {
      var seq = ++state.seq;
      status('Loading events from Rokt…');
      return fetch(url(page), { credentials: 'same-origin', cache: 'no-store' })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (seq !== state.seq) { return; }
          if (data.accountCode) { options.onAccount(data.accountCode); }
          if (!data.ok) {
            render([]);
            status(data.message || 'The events cannot be listed.', true);
            return;
          }
          state.page = data.page;
          state.pages = data.pages;
          render(data.events || []);
          status(data.total ? data.total + (data.total === 1 ? ' event' : ' events') + ' in calendar ' +
            data.calendar + '. Page ' + data.page + ' of ' + data.pages + '.' : 'No event matches.');
        }, function () {
          if (seq === state.seq) { status('The events cannot be listed right now; try again.', true); }
        });
    }

    function when(event) { return R.text(event.start).replace('T', ' ').slice(0, 16); }

    function render(events) {
      var list = $('picker-list');
      list.textContent = '';
      events.forEach(function (event) {
        var use = el('button', {
          type: 'button', class: 'slds-button slds-button_neutral editor__picker-use',
          'aria-label': 'Use ' + (event.title || event.id), text: 'Use'
        });
        use.addEventListener('click', function () { pick(event); });
        list.appendChild(el('li', { class: 'editor__picker-item' }, [
          el('div', { class: 'editor__picker-text' }, [
            el('p', { class: 'editor__picker-title', text: event.title || event.id }),
            el('p', { class: 'slds-text-color_weak', text: when(event) + ' · ' + event.id })
          ]),
          use
        ]));
      });
      $('picker-prev').disabled = state.page <= 1 || !events.length;
      $('picker-next').disabled = state.page >= state.pages || !events.length;
    }

    function pick(event) {
      toggle(false);
      options.onPick(event);
    }

    function toggle(open) {
      panel.hidden = !open;
      button.setAttribute('aria-expanded', String(open));
      if (open) {
        search.focus();
        if (!state.loaded) { state.loaded = true; load(1); }
      }
    }

    button.addEventListener('click', function () { toggle(panel.hidden); });
    search.addEventListener('input', function () {
      clearTimeout(state.timer);
      state.timer = setTimeout(function () { load(1); }, SEARCH_DELAY_MS);
    });
    search.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') { event.preventDefault(); load(1); }
      if (event.key === 'Escape') { toggle(false); button.focus(); }
    });
    $('picker-prev').addEventListener('click', function () { load(state.page - 1); });
    $('picker-next').addEventListener('click', function () { load(state.page + 1); });

    /* Asked once the business unit is known: learns the account code for the preview. */
    function prefetch() { if (!state.loaded) { state.loaded = true; load(1); } }

    return { prefetch: prefetch, close: function () { toggle(false); } };
  };
}(window.RoktEditor));
