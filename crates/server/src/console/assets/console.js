// netaudit console: the little the pages need a script for. Written for
// this console (no library); the pages work without it except the live
// tail. Values from events are only ever set as textContent.
"use strict";

(function () {
  // The session's idle timeout, counted down from the page's load (each
  // request to the server restarts it there).
  function idleCountdown() {
    var el = document.getElementById("idle");
    if (!el) return;
    var secs = parseInt(el.getAttribute("data-idle-secs"), 10);
    if (!(secs > 0)) return;
    var end = Date.now() + secs * 1000;
    function tick() {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = "signs out in " + m + ":" + (s < 10 ? "0" : "") + s + " idle";
      if (left === 0) {
        window.location.assign("/login?ended=idle");
        return;
      }
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    return td;
  }

  // Live tail: server-sent events; the browser's reconnects send
  // Last-Event-ID, a resume after a pause starts after the last row.
  function liveTail() {
    var table = document.getElementById("tail");
    if (!table) return;
    var body = table.tBodies[0];
    var state = document.getElementById("tail-state");
    var toggle = document.getElementById("tail-toggle");
    var stream = table.getAttribute("data-stream");
    var last = table.getAttribute("data-after") || "0";
    var source = null;
    var MAX_ROWS = 500;

    function show(text, cls) {
      state.textContent = text;
      state.className = "state " + (cls || "");
    }
    function add(e) {
      var ev = JSON.parse(e.data);
      last = e.lastEventId || String(ev.seq);
      var tr = document.createElement("tr");
      tr.setAttribute("data-seq", String(ev.seq));
      var seq = document.createElement("td");
      var a = document.createElement("a");
      // On a PostgreSQL store an event is its node and sequence number.
      a.href = "/events/" + encodeURIComponent(String(ev.seq)) +
        (ev.node ? "?node=" + encodeURIComponent(String(ev.node)) : "");
      a.textContent = String(ev.seq);
      seq.appendChild(a);
      tr.appendChild(seq);
      tr.appendChild(cell(ev.time || ev.received));
      tr.appendChild(cell(ev.severity));
      tr.appendChild(cell(ev.host));
      tr.appendChild(cell(ev.code));
      tr.appendChild(cell(ev.user));
      tr.appendChild(cell(ev.message));
      body.appendChild(tr);
      while (body.rows.length > MAX_ROWS) body.deleteRow(0);
      show("live: last event " + last, "live");
    }
    function start() {
      var url = stream + (stream.indexOf("?") === stream.length - 1 ? "" : "&") + "after=" + encodeURIComponent(last);
      source = new EventSource(url);
      source.addEventListener("event", add);
      source.onopen = function () { show("live: waiting for events after " + last, "live"); };
      source.onerror = function () {
        if (source && source.readyState === EventSource.CLOSED) {
          show("stopped (reload the page to sign in again)", "down");
        } else {
          show("reconnecting; no event is missed", "down");
        }
      };
      toggle.textContent = "Pause";
    }
    function stop() {
      if (source) source.close();
      source = null;
      toggle.textContent = "Resume";
      show("paused after " + last, "paused");
    }
    toggle.hidden = false;
    toggle.addEventListener("click", function () { if (source) stop(); else start(); });
    start();
  }

  // Forms that ask before they act (delete a user, lock ...).
  function confirmations() {
    var forms = document.querySelectorAll("form[data-confirm]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
  }

  function ready() {
    idleCountdown();
    liveTail();
    confirmations();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
