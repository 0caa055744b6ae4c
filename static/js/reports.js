// Reports page: poll the status API of every queued or running report and draw its progress.
(function () {
  "use strict";
  var INTERVAL = 1500;

  function update(row, data) {
    row.dataset.state = data.state;
    row.querySelector(".state-label").textContent =
      data.state.charAt(0).toUpperCase() + data.state.slice(1);
    var bar = row.querySelector(".report-progress");
    bar.value = data.progress;
    bar.textContent = data.progress + "%";
    bar.hidden = data.state === "done" || data.state === "failed";
    row.querySelector(".report-error").textContent = data.error || "";
    var cell = row.querySelector(".report-file");
    if (data.state === "done" && data.download_url && !cell.querySelector("a")) {
      var link = document.createElement("a");
      link.href = data.download_url;
      link.textContent = "Download";
      cell.appendChild(link);
    }
  }

  function poll() {
    var rows = document.querySelectorAll('.report-row[data-state="queued"], .report-row[data-state="running"]');
    if (!rows.length) return;
    var pending = rows.length;
    rows.forEach(function (row) {
      fetch(row.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) update(row, data); })
        .catch(function () {})
        .finally(function () { if (--pending === 0) setTimeout(poll, INTERVAL); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setTimeout(poll, INTERVAL); });
})();
