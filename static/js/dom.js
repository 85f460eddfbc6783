/* Rokt Calendar Event config UI: the shared namespace and small DOM helpers.
 * Plain ES2019 scripts, no build step; index.html loads dom.js first, editor.js last. */
window.RoktEditor = (function () {
  'use strict';

  var SVG = 'http://www.w3.org/2000/svg';

  /* el('a', {href: '#', text: 'x'}, [children]): attributes as given, `text` as textContent. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') {
        node.textContent = attrs[name];
      } else {
        node.setAttribute(name, attrs[name]);
      }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  /* An SLDS utility icon from the sprite that index.html names in data-sprite. */
  function useIcon(svg, name) {
    var sprite = document.getElementById('editor').getAttribute('data-sprite') || '';
    var use = document.createElementNS(SVG, 'use');
    use.setAttribute('href', sprite + '#' + name);
    svg.appendChild(use);
    return svg;
  }

  function icon(name, className) {
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', className);
    svg.setAttribute('aria-hidden', 'true');
    return useIcon(svg, name);
  }

  function text(value) {
    return value === undefined || value === null ? '' : String(value);
  }

  function has(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  /* POST JSON to our own API; the answer's JSON, or an Error with its `error` (or the status). */
  function postJSON(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data && data.error ? data.error : 'HTTP ' + response.status); }
        return data;
      });
    });
  }

  return { el: el, icon: icon, useIcon: useIcon, text: text, has: has, postJSON: postJSON };
}());
