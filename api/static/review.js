/* studentlink review page: keyboard shortcuts and small conveniences.
 * Everything works without this script; it only adds shortcuts:
 *   pair view: m = match, n = not a match, u = unsure, j = next, k = previous, ? = help
 *   queue:     j / k = move the selection, Enter or o = open it, ? = help
 */
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function go(link) {
    if (link && link.getAttribute("href")) window.location.assign(link.getAttribute("href"));
  }

  function helpDialog() {
    var dialog = document.getElementById("shortcut-help");
    if (!dialog || typeof dialog.showModal !== "function") return;
    if (dialog.open) dialog.close(); else dialog.showModal();
  }

  // Submit a form once: a second key press or click while the page loads does nothing.
  function guardForms() {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.sent === "1") { event.preventDefault(); return; }
        form.dataset.sent = "1";
        form.setAttribute("aria-busy", "true");
      });
    });
  }

  function pairPage() {
    var form = document.getElementById("decision-form");
    var keys = {};
    if (form) {
      form.querySelectorAll("button[data-key]").forEach(function (button) {
        keys[button.dataset.key] = button;
      });
    }
    var next = document.getElementById("next-item");
    var prev = document.getElementById("prev-item");
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      if (typing(event.target)) {
        if (event.key === "Escape") event.target.blur();
        return;
      }
      var key = event.key;
      if (key === "?") { event.preventDefault(); helpDialog(); return; }
      if (keys[key] && !keys[key].disabled) {
        event.preventDefault();
        keys[key].focus();
        if (typeof form.requestSubmit === "function") form.requestSubmit(keys[key]);
        else keys[key].click();
        return;
      }
      if (key === "j") { event.preventDefault(); go(next); }
      else if (key === "k") { event.preventDefault(); go(prev); }
    });
  }

  function queuePage() {
    var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-item-url]"));
    var at = -1;
    function select(index) {
      if (!rows.length) return;
      at = Math.max(0, Math.min(rows.length - 1, index));
      rows.forEach(function (row, i) { row.classList.toggle("selected", i === at); });
      var link = rows[at].querySelector("a.open-item");
      if (link) link.focus();
    }
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
      if (event.key === "?") { event.preventDefault(); helpDialog(); }
      else if (event.key === "j") { event.preventDefault(); select(at + 1); }
      else if (event.key === "k") { event.preventDefault(); select(at - 1); }
      else if ((event.key === "o" || event.key === "Enter") && at >= 0 &&
               !(event.target && event.target.tagName === "A")) {
        event.preventDefault();
        go(rows[at].querySelector("a.open-item"));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    guardForms();
    var kind = document.body.dataset.page;
    if (kind === "pair") pairPage();
    else if (kind === "queue") queuePage();
    document.querySelectorAll("[data-close-dialog]").forEach(function (button) {
      button.addEventListener("click", function () {
        var dialog = button.closest("dialog");
        if (dialog) dialog.close();
      });
    });
  });
})();
