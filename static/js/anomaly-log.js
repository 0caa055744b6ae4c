// Board: "Log a learning about this" on an unreviewed anomaly fills the entry form
// (kind learning, the anomaly's feed and time) and puts the cursor in the text.
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) return;
  function localInput(iso) {
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function prefill(kind, feed, at, text) {
    var radio = form.querySelector('input[name=kind][value="' + kind + '"]');
    if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }
    if (feed) form.elements.feeds.value = feed + " ";
    if (at) form.elements.occurred_at.value = localInput(at);
    var body = document.getElementById("entry-body");
    if (text && !body.value.trim()) body.value = text;
    body.focus();
    body.setSelectionRange(body.value.length, body.value.length);
    form.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest(".js-log-anomaly");
    if (!button) return;
    prefill(button.dataset.kind, button.dataset.feed, button.dataset.at, button.dataset.body);
  });
  // The same from a link: /events/<slug>/board/?log_kind=learning&log_feed=...&log_at=...
  var params = new URLSearchParams(window.location.search);
  if (params.get("log_kind")) prefill(params.get("log_kind"), params.get("log_feed"), params.get("log_at"), "");
})();
