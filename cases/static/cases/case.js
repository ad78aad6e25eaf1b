// The case page's keyboard: the next-action keys shown on its buttons, n next case, u the queue,
// ? the list of keys. No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";

  function typing(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || el.isContentEditable;
  }

  function goTo(link) {
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) { return; }
    target.scrollIntoView({ block: "center" });
    target.focus();
  }

  function showKeys() {
    var dialog = document.getElementById("dlg-keys");
    if (dialog && !dialog.open) { dialog.showModal(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("a.js-goto"), function (link) {
      link.addEventListener("click", function (event) { event.preventDefault(); goTo(link); });
    });
    var button = document.getElementById("show-keys");
    if (button) { button.addEventListener("click", showKeys); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    var key = event.key;
    if (key === "?") { event.preventDefault(); showKeys(); return; }
    if (key === "n" || key === "u") {
      var link = document.getElementById(key === "n" ? "next-case" : "back-to-queue");
      if (link) { event.preventDefault(); window.location.assign(link.href); }
      return;
    }
    var action = document.querySelector('a.js-goto[data-key="' + key + '"]');
    if (action) { event.preventDefault(); goTo(action); }
  });
})();
