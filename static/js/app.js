// Small behaviour the templates cannot express without inline script (CSP forbids it).
(function () {
  "use strict";

  function flash(message) {
    var region = document.getElementById("flash");
    if (!region) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.setAttribute("role", "alert");
    p.textContent = message;
    region.replaceChildren(p);
  }

  // Live regions poll only while the tab is visible; a poll skipped here runs again on return.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (document.hidden && event.detail.elt.hasAttribute("data-live")) {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      document.querySelectorAll("[data-live]").forEach(function (el) {
        htmx.trigger(el, "live:resume");
      });
    }
  });

  // A request that never reached the server says so instead of failing silently.
  document.addEventListener("htmx:sendError", function () {
    flash("The server could not be reached. Check the connection and try again.");
  });

  // After a swap that replaced a form with errors, move focus to the first invalid field.
  document.addEventListener("htmx:afterSwap", function (event) {
    var invalid = event.detail.target.querySelector && event.detail.target.querySelector("[aria-invalid='true']");
    if (!invalid && event.detail.elt && event.detail.elt.querySelector) {
      invalid = event.detail.elt.querySelector("[aria-invalid='true']");
    }
    if (invalid) { invalid.focus(); }
  });
})();
