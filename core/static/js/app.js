// Crosscheck shell behaviour. No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";
  // htmx sends the CSRF token from the cookie-less meta: read it from any form on the page.
  document.addEventListener("htmx:configRequest", function (event) {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) { event.detail.headers["X-CSRFToken"] = input.value; }
  });
})();

// Confirmations: a submit button with data-confirm="…" (an adverse disposition, a bulk action, a
// revocation) opens the USWDS modal first; the form posts only from the modal's confirm button.
// Without JavaScript the button posts at once, and the server's checks stay the guard.
// The modal built here and the openers marked here are wired by USWDS itself (focus trap, Esc,
// focus back to the opener).
(function () {
  "use strict";
  var MODAL_ID = "cc-confirm";
  var pending = null; // {form, submitter} waiting for the answer

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function buildModal() {
    var modal = el("div", {
      "class": "usa-modal", id: MODAL_ID,
      "aria-labelledby": MODAL_ID + "-heading", "aria-describedby": MODAL_ID + "-description"
    });
    var content = el("div", { "class": "usa-modal__content" });
    var main = el("div", { "class": "usa-modal__main" });
    main.appendChild(el("h2", { "class": "usa-modal__heading", id: MODAL_ID + "-heading" }, "Please confirm"));
    var prose = el("div", { "class": "usa-prose" });
    prose.appendChild(el("p", { id: MODAL_ID + "-description" }));
    main.appendChild(prose);
    var footer = el("div", { "class": "usa-modal__footer" });
    var group = el("ul", { "class": "usa-button-group" });
    var yes = el("button", {
      type: "button", "class": "usa-button usa-button--secondary", id: MODAL_ID + "-yes",
      "data-close-modal": "", "aria-controls": MODAL_ID
    }, "Confirm");
    var no = el("button", {
      type: "button", "class": "usa-button usa-button--unstyled padding-105 text-center",
      id: MODAL_ID + "-no", "data-close-modal": "", "aria-controls": MODAL_ID, "data-focus": ""
    }, "Cancel");
    [yes, no].forEach(function (button) {
      var item = el("li", { "class": "usa-button-group__item" });
      item.appendChild(button);
      group.appendChild(item);
    });
    footer.appendChild(group);
    main.appendChild(footer);
    content.appendChild(main);
    modal.appendChild(content);
    var close = el("button", {
      type: "button", "class": "usa-button usa-modal__close", "aria-label": "Close this window",
      "data-close-modal": "", "aria-controls": MODAL_ID
    }, "×");
    modal.appendChild(close);
    document.body.appendChild(modal);

    yes.addEventListener("click", function () {
      var answer = pending;
      pending = null;
      if (!answer) { return; }
      answer.form.dataset.confirmed = "1";
      // After USWDS has closed the modal and given focus back to the button.
      window.setTimeout(function () {
        if (answer.submitter && answer.submitter.form === answer.form) {
          answer.form.requestSubmit(answer.submitter);
        } else {
          answer.form.requestSubmit();
        }
        // The submit event ran inside requestSubmit; if the browser refused the form meanwhile,
        // the next press must ask again.
        delete answer.form.dataset.confirmed;
      }, 0);
    });
    [no, close].forEach(function (button) {
      button.addEventListener("click", function () { pending = null; });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { pending = null; }
    });
  }

  function arm() {
    var buttons = document.querySelectorAll("button[data-confirm]");
    if (!buttons.length) { return; }
    buildModal();
    buttons.forEach(function (button) {
      button.setAttribute("data-open-modal", "");
      button.setAttribute("aria-controls", MODAL_ID);
    });
  }

  // A form the browser will refuse (a required field left empty) shows its own message: the
  // click does not reach USWDS's opener, so no modal opens for a post that cannot happen.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-confirm]");
    if (button && button.form && !button.form.checkValidity()) { event.stopPropagation(); }
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    if (!submitter || !submitter.hasAttribute("data-confirm")) { return; }
    if (form.dataset.confirmed === "1") {
      delete form.dataset.confirmed;
      return;
    }
    // USWDS opened the modal on the button's click; keep the form from posting meanwhile.
    event.preventDefault();
    event.stopImmediatePropagation();
    pending = { form: form, submitter: submitter };
    // A page may word the question for what is about to happen (the queue: how many cases).
    submitter.dispatchEvent(new CustomEvent("cc:confirm", { bubbles: true }));
    document.getElementById(MODAL_ID + "-heading").textContent =
      submitter.getAttribute("data-confirm-title") || "Please confirm";
    document.getElementById(MODAL_ID + "-description").textContent = submitter.getAttribute("data-confirm");
    document.getElementById(MODAL_ID + "-yes").textContent =
      submitter.getAttribute("data-confirm-button") || submitter.textContent.trim();
  }, true);

  // base.html loads this file before uswds.min.js (both deferred, so in order): the modal and
  // its openers exist when USWDS sets up its components.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", arm, { once: true });
  } else {
    arm();
  }
})();
