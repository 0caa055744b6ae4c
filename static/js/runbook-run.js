// Runbook runs: ask before finishing with steps left, focus the reason field when skipping.
(function () {
  "use strict";
  var finish = document.querySelector(".rb-finish");
  if (finish) {
    finish.addEventListener("submit", function (ev) {
      var pending = parseInt(finish.getAttribute("data-pending") || "0", 10);
      if (pending > 0 && !window.confirm(pending + " step(s) are still pending. Finish the run anyway?")) {
        ev.preventDefault();
      }
    });
  }
  document.querySelectorAll(".rb-more").forEach(function (details) {
    details.addEventListener("toggle", function () {
      if (details.open) {
        var input = details.querySelector("input[name=reason]");
        if (input) input.focus();
      }
    });
  });
  // Keep the step just recorded in view, below the sticky top bar.
  if (location.hash && location.hash.indexOf("#step-") === 0) {
    var el = document.getElementById(location.hash.slice(1));
    if (el) el.scrollIntoView({ block: "center" });
  }
})();
