// The board's show clock: ticks each countdown once a second from its data-countdown-to
// (corrected by the server's clock, data-now, so a skewed laptop still counts right),
// re-reads the partial every 30 s, and sends the on-air / off-air marks with fetch (the
// form posts normally without JS).
(function () {
  "use strict";
  var box = document.getElementById("show-clock");
  if (!box) return;
  var skew = 0;

  function say(text) {
    var line = box.querySelector(".sc-message");
    if (line) line.textContent = text;
  }
  function readSkew() {
    var server = Date.parse(box.dataset.now);
    if (!isNaN(server)) skew = server - Date.now();
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
  }
  function tick() {
    var now = Date.now() + skew;
    box.querySelectorAll("[data-countdown-to]").forEach(function (el) {
      var left = Date.parse(el.dataset.countdownTo) - now;
      var label = left >= 0 ? el.dataset.label : el.dataset.lateLabel;
      el.classList.toggle("is-late", left < 0);
      var remaining = el.querySelector(".sc-remaining");
      el.firstChild.textContent = label + " ";
      if (remaining) remaining.textContent = span(left);
    });
  }
  function refresh() {
    fetch(box.dataset.clockUrl + "?fragment=1", { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.querySelector("#show-clock");
        if (!fresh) return;
        box.replaceWith(fresh);
        box = fresh;
        readSkew();
        tick();
      })
      .catch(function () { /* the board's own status line tells offline from signed out */ });
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches("form[data-show-clock-mark]") || !window.fetch) return;
    ev.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (r) { return r.json().catch(function () { return { ok: false, message: "The server answered " + r.status + "." }; }); })
      .then(function (body) {
        if (!body.ok) { button.disabled = false; say(body.message); return; }
        refresh();
      })
      .catch(function () { button.disabled = false; say("Not sent: the server cannot be reached."); });
  });
  readSkew();
  tick();
  setInterval(tick, 1000);
  setInterval(refresh, 30000);
})();
