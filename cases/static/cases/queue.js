// The triage queue's keyboard and selection. No inline script anywhere: the CSP forbids it.
// j/k move, x selects, o or Enter opens, a assigns, d dismisses, s snoozes, / filters, ? shows keys.
(function () {
  "use strict";

  var current = 0;
  var selected = new Set();

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function rows() { return $all("#queue-table tbody tr.case-row"); }
  function openDialog() { return $("dialog[open]"); }

  function typing(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || el.isContentEditable;
  }

  function setCurrent(index, focus) {
    var list = rows();
    if (!list.length) { return; }
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach(function (tr, i) {
      tr.classList.toggle("current", i === current);
      if (i === current) { tr.setAttribute("aria-current", "true"); } else { tr.removeAttribute("aria-current"); }
    });
    var row = list[current];
    if (focus !== false) {
      var link = $("a.case-link", row);
      if (link) { link.focus({ preventScroll: true }); }
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function currentRow() { return rows()[current] || null; }

  function syncSelection() {
    rows().forEach(function (tr) {
      var box = $("input.row-select", tr);
      var on = selected.has(tr.dataset.id);
      if (box) { box.checked = on; }
      tr.classList.toggle("selected", on);
    });
    var count = $("#selection-count");
    if (count) { count.textContent = selected.size + " selected"; }
    var all = $("#select-all");
    if (all) { all.checked = rows().length > 0 && rows().every(function (tr) { return selected.has(tr.dataset.id); }); }
  }

  function toggle(tr) {
    if (!tr) { return; }
    if (selected.has(tr.dataset.id)) { selected.delete(tr.dataset.id); } else { selected.add(tr.dataset.id); }
    syncSelection();
  }

  function targetIds() {
    if (selected.size) { return Array.from(selected); }
    var tr = currentRow();
    return tr ? [tr.dataset.id] : [];
  }

  function showParams() {
    var action = $("#bulk-action");
    if (!action) { return; }
    $all(".bulk-param").forEach(function (span) { span.hidden = span.dataset.for !== action.value; });
  }

  function submitBulk(action, values) {
    var form = $("#bulk-form");
    if (!form) { return; }
    $("#bulk-action").value = action;
    $("#bulk-scope").value = "selection";
    $("#bulk-ids").value = targetIds().join(",");
    Object.keys(values).forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field) { field.value = values[name]; }
    });
    showParams();
    form.requestSubmit();
  }

  function openQuick(id) {
    if (!targetIds().length) { return; }
    var dlg = document.getElementById(id);
    if (dlg && !dlg.open) {
      dlg.showModal();
      var first = $("select, input", dlg);
      if (first) { first.focus(); }
    }
  }

  function refreshQueryFields() {
    var q = $("#current-query");
    if (!q) { return; }
    ["#bulk-query", "#save-view-query"].forEach(function (sel) { var el = $(sel); if (el) { el.value = q.value; } });
    var exp = $("#export-csv");
    if (exp) { exp.href = exp.href.split("?")[0] + "?" + q.value; }
  }

  function init() {
    if (!$("#queue-table")) { return; }
    var present = new Set(rows().map(function (tr) { return tr.dataset.id; }));
    selected.forEach(function (id) { if (!present.has(id)) { selected.delete(id); } });
    syncSelection();
    setCurrent(current, document.activeElement === document.body || (document.activeElement && document.activeElement.closest && !!document.activeElement.closest("#queue-results, #bulk-form, dialog")));
    refreshQueryFields();
  }

  document.addEventListener("keydown", function (event) {
    if (!$("#queue-table") || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var dlg = openDialog();
    if (dlg) {
      // Enter on a select submits the quick form too (browsers only do it for text inputs).
      var quick = event.target.closest && event.target.closest("form.js-quick");
      if (quick && event.key === "Enter" && event.target.tagName === "SELECT") { event.preventDefault(); quick.requestSubmit(); }
      return;  // otherwise the dialog handles its own keys (Esc closes it)
    }
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); setCurrent(current); }
      return;
    }
    var key = event.key;
    if (key === "j" || key === "ArrowDown" && event.target.closest && event.target.closest("#queue-table")) {
      event.preventDefault(); setCurrent(current + 1);
    } else if (key === "k" || key === "ArrowUp" && event.target.closest && event.target.closest("#queue-table")) {
      event.preventDefault(); setCurrent(current - 1);
    } else if (key === "x") {
      event.preventDefault(); toggle(currentRow());
    } else if (key === "o" || (key === "Enter" && !(event.target.closest && event.target.closest("a, button")))) {
      var tr = currentRow();
      if (tr) { event.preventDefault(); window.location.assign(tr.dataset.href); }
    } else if (key === "a") {
      event.preventDefault(); openQuick("dlg-assign");
    } else if (key === "d") {
      event.preventDefault(); openQuick("dlg-dismiss");
    } else if (key === "s") {
      event.preventDefault(); openQuick("dlg-snooze");
    } else if (key === "/") {
      event.preventDefault(); var q = $("#f-q"); if (q) { q.focus(); q.select(); }
    } else if (key === "?") {
      event.preventDefault(); var keys = $("#dlg-keys"); if (keys && !keys.open) { keys.showModal(); $(".js-close", keys).focus(); }
    }
  });

  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t.classList && t.classList.contains("row-select")) {
      var tr = t.closest("tr");
      if (t.checked) { selected.add(tr.dataset.id); } else { selected.delete(tr.dataset.id); }
      setCurrent(rows().indexOf(tr), false);
      syncSelection();
    } else if (t.id === "select-all") {
      rows().forEach(function (row) { if (t.checked) { selected.add(row.dataset.id); } else { selected.delete(row.dataset.id); } });
      syncSelection();
    } else if (t.id === "bulk-action") {
      showParams();
    }
  });

  document.addEventListener("click", function (event) {
    var t = event.target;
    if (t.classList && t.classList.contains("js-close")) {
      var dlg = t.closest("dialog"); if (dlg) { dlg.close(); }
      return;
    }
    if (t.id === "show-keys") { var keys = $("#dlg-keys"); if (keys) { keys.showModal(); $(".js-close", keys).focus(); } return; }
    var tr = t.closest && t.closest("#queue-table tbody tr.case-row");
    if (tr && !t.closest("a, input, button, label")) { setCurrent(rows().indexOf(tr)); }
  });

  // Quick dialogs (a, d, s) post through the bulk form, so each is one audited operation.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList && form.classList.contains("js-quick")) {
      event.preventDefault();
      if (!form.reportValidity()) { return; }
      var values = {};
      $all("select, input", form).forEach(function (el) { if (el.name) { values[el.name] = el.value; } });
      form.closest("dialog").close();
      submitBulk(form.dataset.action, values);
      form.reset();
    } else if (form.id === "bulk-form") {
      var scope = $("#bulk-scope").value;
      if (scope === "selection") {
        $("#bulk-ids").value = targetIds().join(",");
      }
    }
  }, true);

  // The confirmation modal (app.js) asks about what Apply is about to do, and to how many cases.
  document.addEventListener("cc:confirm", function (event) {
    if (event.target.id !== "bulk-apply") { return; }
    var action = $("#bulk-action");
    var label = action.options[action.selectedIndex] ? action.options[action.selectedIndex].text : action.value;
    var n = targetIds().length;
    event.target.setAttribute("data-confirm", $("#bulk-scope").value === "filter"
      ? "“" + label + "” applies to every case matching the current filter."
      : "“" + label + "” applies to the " + n + " selected case" + (n === 1 ? "" : "s") + ".");
  });

  document.addEventListener("close", function (event) {
    if (event.target.tagName === "DIALOG") { setCurrent(current); }
  }, true);

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "queue-results") {
      if (event.detail.requestConfig && event.detail.requestConfig.verb === "post") { selected.clear(); }
      init();
      setCurrent(current);
    }
  });

  document.addEventListener("DOMContentLoaded", function () { showParams(); init(); });
})();
