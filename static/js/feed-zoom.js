// Feed page: drag across a chart to zoom into that time range (reloads with ?start=&end=).
(function () {
  "use strict";
  var box = document.getElementById("feed-charts");
  if (!box) return;
  var start = Date.parse(box.dataset.start), end = Date.parse(box.dataset.end);
  var left = +box.dataset.left, plot = +box.dataset.plotWidth, width = +box.dataset.width;
  var drag = null, band = null;

  function timeAt(svg, clientX) {
    var rect = svg.getBoundingClientRect();
    var x = (clientX - rect.left) * (width / rect.width);
    var f = Math.min(Math.max((x - left) / plot, 0), 1);
    return start + f * (end - start);
  }
  box.addEventListener("mousedown", function (e) {
    var svg = e.target.closest("svg.chart");
    if (!svg || e.button !== 0) return;
    e.preventDefault();
    drag = { svg: svg, x0: e.clientX, t0: timeAt(svg, e.clientX) };
    band = document.createElement("div");
    band.className = "zoom-band";
    svg.parentNode.appendChild(band);
  });
  document.addEventListener("mousemove", function (e) {
    if (!drag) return;
    var rect = drag.svg.getBoundingClientRect(), parent = drag.svg.parentNode.getBoundingClientRect();
    var a = Math.min(drag.x0, e.clientX), b = Math.max(drag.x0, e.clientX);
    band.style.left = (a - parent.left) + "px";
    band.style.width = (b - a) + "px";
    band.style.top = (rect.top - parent.top) + "px";
    band.style.height = rect.height + "px";
  });
  document.addEventListener("mouseup", function (e) {
    if (!drag) return;
    var t1 = timeAt(drag.svg, e.clientX), t0 = drag.t0;
    band.remove();
    drag = null;
    if (Math.abs(t1 - t0) < 1000) return; // a click, not a drag
    var lo = new Date(Math.min(t0, t1)).toISOString(), hi = new Date(Math.max(t0, t1)).toISOString();
    window.location.search = "?start=" + encodeURIComponent(lo) + "&end=" + encodeURIComponent(hi);
  });
})();
