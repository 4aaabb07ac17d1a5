// Egne Data's pages work without this script. It adds three things:
// 1. live progress on a request's status page (the server renders the part that
//    changes; this swaps it in until the request has ended);
// 2. a warning before the session ends after inactivity, with a way to stay logged in
//    (WCAG 2.2.1: timing adjustable);
// 3. a form sent once disables its button, so a double click sends one request.
(function () {
  "use strict";

  function progress() {
    var region = document.getElementById("progress");
    if (!region || !region.dataset.url) return;
    var timer = null;
    function active() {
      var state = region.querySelector("[data-active]");
      return state && state.getAttribute("data-active") === "true";
    }
    function poll() {
      if (!active()) return;
      fetch(region.dataset.url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          // Logged out or no longer allowed: stop; the page's own links still work.
          if (response.redirected || (response.status >= 400 && response.status < 500)) {
            return null;
          }
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        })
        .then(function (html) {
          if (html === null) return;
          if (html !== region.innerHTML) region.innerHTML = html;
          timer = window.setTimeout(poll, 2000);
        })
        .catch(function () { timer = window.setTimeout(poll, 10000); });
    }
    timer = window.setTimeout(poll, 2000);
    window.addEventListener("pagehide", function () { window.clearTimeout(timer); });
  }

  function idleWarning() {
    var body = document.body;
    var dialog = document.getElementById("timeout-dialog");
    var seconds = parseInt(body.dataset.sessionSeconds || "", 10);
    var warning = parseInt(body.dataset.warningSeconds || "120", 10);
    if (!dialog || isNaN(seconds) || typeof dialog.showModal !== "function") return;
    var warnTimer = null;
    var endTimer = null;
    var stay = dialog.querySelector("[data-stay]");
    var ended = dialog.querySelector("[data-ended]");
    var asking = dialog.querySelector("[data-asking]");
    function schedule(left) {
      window.clearTimeout(warnTimer);
      window.clearTimeout(endTimer);
      warnTimer = window.setTimeout(function () {
        if (!dialog.open) dialog.showModal();
        if (stay) stay.focus();
      }, Math.max(0, left - warning) * 1000);
      endTimer = window.setTimeout(function () {
        if (asking) asking.hidden = true;
        if (ended) ended.hidden = false;
        if (!dialog.open) dialog.showModal();
        var link = ended && ended.querySelector("a");
        if (link) link.focus();
      }, left * 1000);
    }
    if (stay) {
      stay.addEventListener("click", function (event) {
        event.preventDefault();
        var form = stay.form;
        fetch(form.action, {
          method: "POST", credentials: "same-origin", body: new FormData(form),
          headers: { Accept: "application/json" }
        })
          .then(function (response) {
            if (!response.ok) throw new Error(String(response.status));
            return response.json();
          })
          .then(function (data) {
            dialog.close();
            schedule(data.seconds_left);
          })
          .catch(function () { form.submit(); });
      });
    }
    schedule(seconds);
  }

  function sendOnce() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.hasAttribute("data-once")) return;
      if (form.dataset.sent === "yes") { event.preventDefault(); return; }
      form.dataset.sent = "yes";
      window.setTimeout(function () {
        var buttons = form.querySelectorAll("button[type=submit]");
        for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
      }, 0);
    });
  }

  function start() {
    progress();
    idleWarning();
    sendOnce();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
