/* kefu pages: SLA countdown (Alpine), script insertion, reason dialogs, one submit per form. */
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;

  function fmt(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
        m = Math.floor((s % 3600) / 60), sec = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var hms = pad(h) + ":" + pad(m) + ":" + pad(sec);
    return d ? d + (zh ? "天 " : "d ") + hms : hms;
  }

  // x-data="sla(due, warnAt)": counts down every second; amber from warnAt, red once due passed.
  window.sla = function (due, warnAt) {
    var dueMs = Date.parse(due), warnMs = warnAt ? Date.parse(warnAt) : dueMs;
    return {
      text: "", cls: "",
      init: function () { this.tick(); var self = this; setInterval(function () { self.tick(); }, 1000); },
      tick: function () {
        var now = Date.now(), left = dueMs - now;
        this.cls = left <= 0 ? "sla-breached" : (now >= warnMs ? "sla-warning" : "sla-ok");
        this.text = left <= 0 ? (zh ? "已超时 " : "Overdue ") + fmt(left) : (zh ? "剩余 " : "Left ") + fmt(left);
      }
    };
  };

  function insertAtCursor(el, text) {
    var start = el.selectionStart || 0, end = el.selectionEnd || 0, v = el.value;
    el.value = v.slice(0, start) + text + v.slice(end);
    el.selectionStart = el.selectionEnd = start + text.length;
    el.focus();
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-script]");
    if (b) { insertAtCursor(document.getElementById(b.dataset.target), b.dataset.script); return; }
    var d = e.target.closest("[data-dialog]");
    if (d) { var dlg = document.getElementById(d.dataset.dialog); if (dlg) dlg.showModal(); }
  });

  // A form submits once: the button is disabled while the request runs (the server refuses a
  // second submit of the same form token anyway).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-once")) return;
    if (form.dataset.sent) { e.preventDefault(); return; }
    form.dataset.sent = "1";
    setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("dialog[data-open]").forEach(function (d) { d.showModal(); });
  });
})();
