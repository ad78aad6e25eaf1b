// Crosscheck shell behaviour. No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";
  // htmx sends the CSRF token from the cookie-less meta: read it from any form on the page.
  document.addEventListener("htmx:configRequest", function (event) {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) { event.detail.headers["X-CSRFToken"] = input.value; }
  });
})();
