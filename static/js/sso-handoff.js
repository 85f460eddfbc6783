// Sign-in through a popup, for the app framed inside Marketing Cloud (see docs/sso.md).
// In the popup: post the one-time handoff code to the frame that opened it (same origin only)
// and close. In the frame: take that code to /sso/handoff/finish, which signs the frame in.
(function () {
  "use strict";
  var MESSAGE = "rokt-sso-handoff";
  var handoff = document.getElementById("handoff");
  if (handoff) {
    var opener = window.opener;
    if (opener && !opener.closed) {
      opener.postMessage({ type: MESSAGE, code: handoff.dataset.code }, window.location.origin);
      window.close();
    }
    return;
  }
  var popup = document.getElementById("popup");
  if (!popup) {
    return;
  }
  // Opened by script, the window may close itself when done (a link-opened one may not).
  popup.addEventListener("click", function (event) {
    if (window.open(popup.href, "rokt-sso", "popup,width=640,height=720")) {
      event.preventDefault();
    }
  });
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== window.location.origin || !data || data.type !== MESSAGE) {
      return;
    }
    if (typeof data.code !== "string") {
      return;
    }
    var query = new URLSearchParams({ code: data.code, next: popup.dataset.next || "" });
    window.location.assign("/sso/handoff/finish?" + query.toString());
  });
})();
