/* "Time zone": an SLDS combobox that searches the Windows time zone names Rokt needs, showing
 * each one's IANA id and standard UTC offset. The input's text is the value: choosing an
 * option writes its Windows name. Keyboard: type to filter, arrows to move, Enter to choose,
 * Escape to close. */
(function (R) {
  'use strict';

  var el = R.el;

  /* input: the <input role="combobox">; its id names the -combobox, -listbox, -options and
   * -hint elements. onChoose() runs after an option is chosen. */
  function timeZoneCombobox(input, onChoose) {
    var id = input.id;
    var box = document.getElementById(id + '-combobox');
    var listbox = document.getElementById(id + '-listbox');
    var list = document.getElementById(id + '-options');
    var hint = document.getElementById(id + '-hint');
    var zones = [];
    var shown = [];
    var active = -1;

    function zoneFor(value) {
      var wanted = R.text(value).trim().toLowerCase();
      return zones.filter(function (z) {
        return z.windows.toLowerCase() === wanted || z.iana.toLowerCase() === wanted;
      })[0] || null;
    }

    function updateHint() {
      var zone = zoneFor(input.value);
      hint.textContent = zone
        ? zone.windows + ' = ' + zone.iana + ' (' + zone.offset + ' standard time)'
        : 'A Windows time zone name; the list shows each one\'s IANA id.';
    }

    function matches(query) {
      var words = query.toLowerCase().split(/\s+/).filter(Boolean);
      if (zoneFor(query)) { words = []; }  // the current value: show the whole list
      return zones.filter(function (z) {
        var haystack = [z.windows, z.iana, z.iana.replace(/_/g, ' '), z.offset].join(' ').toLowerCase();
        return words.every(function (w) { return haystack.indexOf(w) >= 0; });
      });
    }

    function option(zone, index) {
      return el('div', {
        id: id + '-opt-' + index,
        role: 'option',
        'aria-selected': 'false',
        'data-index': String(index),
        class: 'slds-media slds-listbox__option slds-listbox__option_entity slds-listbox__option_has-meta'
      }, [el('span', { class: 'slds-media__body' }, [
        el('span', { class: 'slds-listbox__option-text slds-listbox__option-text_entity', text: zone.windows }),
        el('span', { class: 'slds-listbox__option-meta slds-listbox__option-meta_entity',
          text: zone.iana + ' · ' + zone.offset })
      ])]);
    }

    function open() {
      shown = matches(input.value);
      list.textContent = '';
      if (!shown.length) {
        list.appendChild(el('li', { role: 'presentation', class: 'slds-listbox__item' }, [
          el('div', { class: 'slds-media slds-listbox__option slds-listbox__option_plain', role: 'option',
            'aria-disabled': 'true', 'aria-selected': 'false' },
          [el('span', { class: 'slds-media__body slds-truncate', text: 'No time zone matches' })])
        ]));
      }
      shown.forEach(function (zone, index) {
        list.appendChild(el('li', { role: 'presentation', class: 'slds-listbox__item' }, [option(zone, index)]));
      });
      box.classList.add('slds-is-open');
      input.setAttribute('aria-expanded', 'true');
      var current = zoneFor(input.value);
      setActive(current ? shown.indexOf(current) : -1);
    }

    function close() {
      box.classList.remove('slds-is-open');
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
    }

    function setActive(index) {
      var previous = document.getElementById(id + '-opt-' + active);
      if (previous) {
        previous.classList.remove('slds-has-focus');
        previous.setAttribute('aria-selected', 'false');
      }
      active = index;
      var current = document.getElementById(id + '-opt-' + index);
      if (!current) {
        input.removeAttribute('aria-activedescendant');
        return;
      }
      current.classList.add('slds-has-focus');
      current.setAttribute('aria-selected', 'true');
      input.setAttribute('aria-activedescendant', current.id);
      current.scrollIntoView({ block: 'nearest' });
    }

    function choose(index) {
      var zone = shown[index];
      if (!zone) { return; }
      input.value = zone.windows;
      close();
      updateHint();
      onChoose();
    }

    input.addEventListener('input', open);
    input.addEventListener('blur', close);
    input.addEventListener('click', function () {
      if (box.classList.contains('slds-is-open')) { close(); } else { open(); }
    });
    input.addEventListener('keydown', function (event) {
      var isOpen = box.classList.contains('slds-is-open');
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        if (!isOpen) { open(); return; }
        var step = event.key === 'ArrowDown' ? 1 : -1;
        if (shown.length) { setActive((active + step + shown.length) % shown.length); }
      } else if (event.key === 'Enter') {
        event.preventDefault();
        if (isOpen && active >= 0) { choose(active); }
      } else if (event.key === 'Escape' && isOpen) {
        event.preventDefault();
        event.stopPropagation();
        close();
      }
    });
    listbox.addEventListener('mousedown', function (event) { event.preventDefault(); });  // keep focus
    listbox.addEventListener('click', function (event) {
      var picked = event.target.closest('[data-index]');
      if (picked) { choose(Number(picked.getAttribute('data-index'))); }
    });

    return {
      setZones: function (list_) { zones = list_; updateHint(); },
      hasZones: function () { return zones.length > 0; },
      zoneFor: zoneFor,
      byIana: function (iana) { return zones.filter(function (z) { return z.iana === iana; })[0] || null; },
      updateHint: updateHint
    };
  }

  R.timeZoneCombobox = timeZoneCombobox;
}(window.RoktEditor));
