/* The journey's entry-source fields (from JB's requestedSchema) and the two selects that bind
 * to one: subscribe's email address and the calendar subscription ID. A saved binding whose
 * field is gone stays selectable as "Saved value"; one naming a field of another entry key
 * (a copied journey) rebinds to this journey's field of that name. */
(function (R) {
  'use strict';

  var el = R.el;
  var text = R.text;

  /* requestedSchema keys look like Event.<eventDefinitionKey>.<Field Name>. */
  function fieldsOf(payload) {
    var items = payload && Array.isArray(payload.schema) ? payload.schema : [];
    var seen = {};
    var fields = [];
    items.forEach(function (item) {
      var match = item && typeof item.key === 'string' ? /^Event\.([^.]+)\.(.+)$/.exec(item.key) : null;
      if (!match || seen[match[2]]) { return; }
      seen[match[2]] = true;
      fields.push({
        name: match[2],
        eventKey: match[1],
        type: text(item.type) || 'Text',
        binding: '{{Event.' + match[1] + '."' + match[2] + '"}}'
      });
    });
    return fields;
  }

  /* The entry-source field a saved {{Event.<key>."Field"}} binding names. Matched by name, so a
   * copied journey (a new entry key) rebinds to its own entry source, like placeholders do. */
  function fieldForBinding(binding, fields) {
    var match = /^\{\{Event\.([^.]+)\.(?:"([^"]+)"|([^{}]+))\}\}$/.exec(binding || '');
    if (!match || !fields) { return null; }
    var name = match[2] || match[3];
    return fields.filter(function (f) { return f.name === name; })[0] || null;
  }

  /* Select `current` among the options (`values`); returns the binding selected. */
  function keepCurrent(select, values, current, fields) {
    if (values.indexOf(current) < 0) {
      var matched = fieldForBinding(current, fields);
      if (matched) {
        current = matched.binding;
      } else {
        select.appendChild(el('option', { value: current, text: 'Saved value: ' + current }));
      }
    }
    select.value = current;
    return current;
  }

  /* `subscribe`'s email: none, or an entry-source field (email-typed ones first). */
  function renderEmailOptions(select, fields, current) {
    var values = [''];
    select.textContent = '';
    select.appendChild(el('option', { value: '', text: 'No email address' }));
    var sorted = (fields || []).slice().sort(function (a, b) {
      return (b.type === 'EmailAddress') - (a.type === 'EmailAddress');
    });
    sorted.forEach(function (f) {
      values.push(f.binding);
      select.appendChild(el('option', { value: f.binding, text: 'Entry source: ' + f.name }));
    });
    return keepCurrent(select, values, current, fields);
  }

  function renderSubscriptionOptions(select, fields, current) {
    var preset = R.inArguments.DEFAULT_SUBSCRIPTION;
    var values = ['', preset];
    select.textContent = '';
    select.appendChild(el('option', { value: '', text: 'Choose a source…' }));
    select.appendChild(el('option', {
      value: preset, text: 'Contact attribute: Calendar Subscription › CalendarSubscriptionId'
    }));
    if (fields && fields.length) {
      var group = el('optgroup', { label: 'Entry-source fields' });
      fields.forEach(function (f) {
        values.push(f.binding);
        group.appendChild(el('option', { value: f.binding, text: 'Entry source: ' + f.name }));
      });
      select.appendChild(group);
    }
    return keepCurrent(select, values, current, fields);
  }

  /* What only the UI can know: the saved binding of the field that binds (subscribe's email,
   * else the calendar subscription ID) must name a field of this journey's entry source. */
  function bindingProblems(args, fields) {
    var subscribe = args.action === 'subscribe';
    var field = subscribe ? 'emailAddress' : 'calendarSubscriptionId';
    var saved = args[field];
    if (!fields || !/^\{\{Event\./.test(saved) || fieldForBinding(saved, fields)) { return []; }
    return [{
      field: field,
      message: 'The saved source ' + saved + ' is not a field of this journey\'s entry source. ' +
        'Choose ' + (subscribe ? 'the email address' : 'the source') + ' again.'
    }];
  }

  R.entryFields = {
    fromSchema: fieldsOf,
    forBinding: fieldForBinding,
    renderEmail: renderEmailOptions,
    renderSubscription: renderSubscriptionOptions,
    problems: bindingProblems
  };
}(window.RoktEditor));
