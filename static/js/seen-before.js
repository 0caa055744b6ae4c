// Board: while a learning is typed, learnings of the earlier events of the chain that read
// alike are shown under the text ("seen before at summit-2025: ..."), from
// GET /api/v1/events/<slug>/similar/?q= (retro.loop.similar_learnings). Text only, no HTML.
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  var body = document.getElementById("entry-body");
  if (!form || !body || !form.dataset.similarUrl) return;
  var box = document.createElement("div");
  box.id = "seen-before";
  box.className = "seen-before-hints";
  box.setAttribute("role", "status");
  box.setAttribute("aria-live", "polite");
  body.insertAdjacentElement("afterend", box);
  var timer = null;
  var asked = "";

  function kind() {
    var checked = form.querySelector('input[name="kind"]:checked');
    return checked ? checked.value : "";
  }

  function show(items) {
    box.textContent = "";
    items.forEach(function (item) {
      var line = document.createElement("p");
      line.appendChild(document.createTextNode("seen before at " + item.event + ": "));
      var link = document.createElement("a");
      link.href = "/entries/" + item.id + "/";
      link.textContent = item.body.length > 140 ? item.body.slice(0, 139) + "…" : item.body;
      line.appendChild(link);
      box.appendChild(line);
    });
  }

  function ask() {
    var text = body.value.trim();
    if (kind() !== "learning" || text.length < 20) { show([]); return; }
    if (text === asked) return;
    asked = text;
    fetch(form.dataset.similarUrl + "?q=" + encodeURIComponent(text.slice(0, 2000)), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (r) { return r.ok ? r.json() : { seen_before: [] }; })
      .then(function (data) { if (asked === text) show(data.seen_before || []); })
      .catch(function () { /* offline: the hint is a nicety, logging goes on */ });
  }

  body.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 600);
  });
  form.addEventListener("submit", function () { asked = ""; show([]); });
})();
