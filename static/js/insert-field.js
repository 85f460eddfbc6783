/* "Insert field": an SLDS dropdown menu beside a text field that lists the journey's
 * entry-source fields and inserts <<Field Name>> at the cursor. Keyboard: Enter, Space or
 * ArrowDown opens it, arrows/Home/End move, Enter or Space inserts, Escape closes. */
(function (R) {
  'use strict';

  var el = R.el;

  function items(menu) {
    return Array.prototype.slice.call(menu.querySelectorAll('[role="menuitem"]'));
  }

  function closeAll(except) {
    Array.prototype.forEach.call(document.querySelectorAll('.editor__insert.slds-is-open'), function (box) {
      if (box !== except && box.closeMenu) { box.closeMenu(false); }
    });
  }

  function insertAtCursor(input, snippet) {
    var start = typeof input.selectionStart === 'number' ? input.selectionStart : input.value.length;
    var end = typeof input.selectionEnd === 'number' ? input.selectionEnd : start;
    input.focus();
    input.setRangeText(snippet, start, end, 'end');
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }

  /* Turns <div class="editor__insert" data-insert-for="title"> into the control. */
  function build(box, label) {
    var target = document.getElementById(box.getAttribute('data-insert-for'));
    var menuId = 'insert-menu-' + target.id;
    var compact = box.getAttribute('data-compact') === 'true';  // narrow fields: icon only
    box.classList.add('slds-dropdown-trigger', 'slds-dropdown-trigger_click');
    var button = el('button', {
      type: 'button',
      class: compact ? 'slds-button slds-button_icon slds-button_icon-border-filled editor__insert-icon'
        : 'slds-button slds-button_neutral',
      'aria-haspopup': 'true',
      'aria-expanded': 'false',
      'aria-controls': menuId,
      'aria-label': 'Insert field into ' + label,
      title: 'Insert field: an entry-source field as <<Field Name>>'
    });
    button.appendChild(R.icon('merge_field', 'slds-button__icon' + (compact ? '' : ' slds-button__icon_left')));
    if (!compact) { button.appendChild(document.createTextNode('Insert field')); }
    var menu = el('div', { class: 'slds-dropdown slds-dropdown_right', id: menuId }, [
      el('ul', { class: 'slds-dropdown__list', role: 'menu', 'aria-label': 'Entry-source fields for ' + label })
    ]);
    box.appendChild(button);
    box.appendChild(menu);

    function open(focusLast) {
      closeAll(box);
      box.classList.add('slds-is-open');
      button.setAttribute('aria-expanded', 'true');
      var all = items(menu);
      if (all.length) { all[focusLast ? all.length - 1 : 0].focus(); }
    }

    function close(refocus) {
      box.classList.remove('slds-is-open');
      button.setAttribute('aria-expanded', 'false');
      if (refocus) { button.focus(); }
    }
    box.closeMenu = close;

    button.addEventListener('click', function () {
      if (box.classList.contains('slds-is-open')) { close(false); } else { open(false); }
    });
    button.addEventListener('keydown', function (event) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        open(event.key === 'ArrowUp');
      }
    });
    menu.addEventListener('keydown', function (event) {
      var all = items(menu);
      var index = all.indexOf(document.activeElement);
      var moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: all.length - 1 };
      if (R.has(moves, event.key)) {
        event.preventDefault();
        all[(moves[event.key] + all.length) % all.length].focus();
      } else if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        close(true);
      } else if (event.key === 'Tab') {
        close(false);
      } else if (event.key === ' ') {
        event.preventDefault();
        document.activeElement.click();
      }
    });
    menu.addEventListener('click', function (event) {
      event.preventDefault();
      var item = event.target.closest('[role="menuitem"]');
      if (!item || item.getAttribute('aria-disabled') === 'true') { return; }
      close(false);
      insertAtCursor(target, '<<' + item.getAttribute('data-name') + '>>');
    });
  }

  /* fields: [{name}] from requestedSchema, or null while JB has not answered. */
  function render(box, fields) {
    var list = box.querySelector('[role="menu"]');
    list.textContent = '';
    var usable = (fields || []).filter(function (f) { return !/[<>|]/.test(f.name); });
    if (!usable.length) {
      var note = fields ? "This journey's entry source has no fields" : 'Waiting for Journey Builder…';
      list.appendChild(el('li', { class: 'slds-dropdown__item', role: 'presentation' }, [
        el('a', { href: '#', role: 'menuitem', tabindex: '-1', 'aria-disabled': 'true' },
          [el('span', { class: 'slds-truncate', text: note })])
      ]));
      return;
    }
    usable.forEach(function (f) {
      list.appendChild(el('li', { class: 'slds-dropdown__item', role: 'presentation' }, [
        el('a', { href: '#', role: 'menuitem', tabindex: '-1', 'data-name': f.name },
          [el('span', { class: 'slds-truncate', title: f.name, text: f.name })])
      ]));
    });
  }

  document.addEventListener('click', function (event) {
    if (!event.target.closest('.editor__insert')) { closeAll(null); }
  });

  R.insertField = { build: build, render: render };
}(window.RoktEditor));
