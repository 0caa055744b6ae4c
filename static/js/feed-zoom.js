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

// A shared hover crosshair: the moment under the pointer is marked on every chart of the
// page, each with its lines' values at that moment (the nearest point within the line's
// own spacing; a gap shows "no data"). The charts carry their series as data attributes
// (tally.charts.line_chart(hover=True)).
(function () {
  "use strict";
  var box = document.getElementById("feed-charts");
  if (!box) return;
  var charts = Array.prototype.map.call(box.querySelectorAll("svg.chart[data-series]"), function (svg) {
    return {
      svg: svg,
      start: Date.parse(svg.dataset.start),
      seconds: +svg.dataset.seconds,
      left: +svg.dataset.left,
      plot: +svg.dataset.plotWidth,
      top: +svg.dataset.top,
      height: +svg.dataset.plotHeight,
      width: svg.viewBox.baseVal.width,
      series: JSON.parse(svg.dataset.series),
      line: null,
      tip: null,
    };
  });
  if (!charts.length) return;
  var NS = "http://www.w3.org/2000/svg";

  function nearest(t, times) {
    var lo = 0, hi = times.length - 1;
    if (hi < 0) return -1;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (times[mid] < t) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && Math.abs(times[lo - 1] - t) <= Math.abs(times[lo] - t)) lo -= 1;
    return lo;
  }
  function spacing(times) {
    return times.length > 1 ? (times[times.length - 1] - times[0]) / (times.length - 1) : 60;
  }
  function format(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(2) + "G";
    if (a >= 1e6) return (v / 1e6).toFixed(2) + "M";
    if (a >= 1e3) return (v / 1e3).toFixed(1) + "k";
    return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toPrecision(2);
  }
  function ensure(c) {
    if (c.line) return;
    c.line = document.createElementNS(NS, "line");
    c.line.setAttribute("class", "crosshair");
    c.line.setAttribute("y1", c.top);
    c.line.setAttribute("y2", c.top + c.height);
    c.svg.appendChild(c.line);
    c.tip = document.createElement("div");
    c.tip.className = "crosshair-tip";
    c.tip.setAttribute("role", "status");
    c.svg.parentNode.appendChild(c.tip);
  }
  function valuesAt(c, when) {
    var t = (when - c.start) / 1000;
    return c.series.map(function (s) {
      var i = nearest(t, s.t);
      var ok = i >= 0 && Math.abs(s.t[i] - t) <= spacing(s.t) * 1.5 && s.v[i] !== null;
      return { label: s.label, unit: s.unit, colour: s.colour, value: ok ? s.v[i] : null };
    });
  }
  function show(when) {
    var text = new Date(when).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZoneName: "short" });
    charts.forEach(function (c) {
      var f = (when - c.start) / (c.seconds * 1000);
      ensure(c);
      if (f < 0 || f > 1) { c.line.style.display = "none"; c.tip.hidden = true; return; }
      var x = c.left + f * c.plot;
      c.line.setAttribute("x1", x);
      c.line.setAttribute("x2", x);
      c.line.style.display = "";
      c.tip.innerHTML = "";
      var head = document.createElement("strong");
      head.textContent = text;
      c.tip.appendChild(head);
      valuesAt(c, when).forEach(function (row) {
        var line = document.createElement("span");
        var dot = document.createElement("i");
        dot.style.background = row.colour;
        line.appendChild(dot);
        line.appendChild(document.createTextNode(
          (c.series.length > 1 ? row.label + ": " : "") +
          (row.value === null ? "no data" : format(row.value) + (row.unit ? " " + row.unit : ""))));
        line.className = "crosshair-value";
        c.tip.appendChild(line);
      });
      var rect = c.svg.getBoundingClientRect(), parent = c.svg.parentNode.getBoundingClientRect();
      var px = rect.left - parent.left + x * rect.width / c.width;
      c.tip.hidden = false;
      c.tip.style.top = (rect.top - parent.top + c.top * rect.height / c.svg.viewBox.baseVal.height) + "px";
      var flip = px > parent.width * 0.7;
      c.tip.style.left = flip ? "" : (px + 10) + "px";
      c.tip.style.right = flip ? (parent.width - px + 10) + "px" : "";
    });
  }
  function hide() {
    charts.forEach(function (c) { if (c.line) { c.line.style.display = "none"; c.tip.hidden = true; } });
  }
  box.addEventListener("mousemove", function (e) {
    var svg = e.target.closest && e.target.closest("svg.chart[data-series]");
    if (!svg) { hide(); return; }
    var c = charts.find(function (one) { return one.svg === svg; });
    var rect = svg.getBoundingClientRect();
    var x = (e.clientX - rect.left) * (c.width / rect.width);
    var f = (x - c.left) / c.plot;
    if (f < 0 || f > 1) { hide(); return; }
    show(c.start + f * c.seconds * 1000);
  });
  box.addEventListener("mouseleave", hide);
})();
