/* The settings page's "Copy" button for the webhook URL (a file, not an inline script: the
 * page's Content-Security-Policy allows only our own script files). */
(function () {
  'use strict';
  var button = document.getElementById('copy-webhook-url');
  if (!button) { return; }
  button.addEventListener('click', function () {
    var field = document.getElementById('webhook_url');
    field.select();
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value); } else { document.execCommand('copy'); }
    button.textContent = 'Copied';
  });
}());
