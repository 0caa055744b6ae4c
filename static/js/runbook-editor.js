// Runbook editor and runbook page: a live preview rendered by the server (the same sanitizing
// renderer revisions use), and search-as-you-type pickers for learnings and actions.
(function () {
  "use strict";

  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // --- Preview ---------------------------------------------------------------------------
  var editor = document.getElementById("rb-editor");
  if (editor && editor.elements.body) {
    var area = editor.elements.body;
    var box = document.getElementById("rb-preview");
    var state = document.getElementById("rb-preview-state");
    var timer = null;
    var asked = 0;
    var render = function () {
      var n = ++asked;
      var data = new URLSearchParams();
      data.set("body", area.value);
      state.textContent = "updating…";
      fetch(editor.dataset.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
        body: data,
      }).then(function (r) {
        return r.json().then(function (json) { return { ok: r.ok, status: r.status, json: json }; });
      }).then(function (res) {
        if (n !== asked) return; // a newer preview is on its way
        if (res.ok) {
          box.innerHTML = res.json.html; // sanitized on the server (tally.markdown)
          state.textContent = res.json.steps + " step" + (res.json.steps === 1 ? "" : "s") + " in a run";
        } else {
          state.textContent = "not rendered (" + res.status + "): " + (res.json.body || res.json.detail || "");
        }
      }).catch(function () { if (n === asked) state.textContent = "offline: preview paused"; });
    };
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, 350);
    });
    render();
  }

  // --- Pickers -----------------------------------------------------------------------------
  document.addEventListener("click", function (ev) {
    var remove = ev.target.closest(".js-unchoose");
    if (remove) remove.closest("li").remove();
  });

  document.querySelectorAll("[data-entry-picker]").forEach(function (picker) {
    var input = picker.querySelector("input[type=search]");
    var list = picker.querySelector(".picker-options");
    var single = picker.dataset.single ? document.getElementById(picker.dataset.single) : null;
    var chosen = picker.dataset.target ? document.getElementById(picker.dataset.target) : null;
    var active = -1;
    var timer = null;
    var asked = 0;
    var results = [];

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function show(items) {
      results = items;
      list.innerHTML = "";
      active = -1;
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = input.id + "-opt-" + i;
        li.setAttribute("role", "option");
        li.textContent = item.label + "  [" + item.ref + "]";
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      if (!items.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = "No learning or action matches.";
        list.appendChild(none);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    function search() {
      var n = ++asked;
      var url = picker.dataset.url + (picker.dataset.url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(input.value);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (json) { if (n === asked) show(json.results || []); })
        .catch(function () { /* offline: keep what is shown */ });
    }
    function highlight(i) {
      var items = list.querySelectorAll("li[role=option]");
      if (!items.length) return;
      active = (i + items.length) % items.length;
      items.forEach(function (li, j) { li.setAttribute("aria-selected", j === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }
    function choose(i) {
      var item = results[i];
      if (!item) return;
      if (single) {
        single.value = item.id;
        input.value = item.label;
        input.setCustomValidity("");
      } else if (chosen && !chosen.querySelector('input[value="' + item.id + '"]')) {
        var li = document.createElement("li");
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = picker.dataset.multiple;
        hidden.value = item.id;
        li.appendChild(hidden);
        li.appendChild(document.createTextNode(item.label + " "));
        var x = document.createElement("button");
        x.type = "button";
        x.className = "js-unchoose";
        x.setAttribute("aria-label", "Remove");
        x.textContent = "×";
        li.appendChild(x);
        chosen.appendChild(li);
        input.value = "";
      }
      close();
    }

    input.addEventListener("input", function () {
      if (single) single.value = ""; // typing again un-picks
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    input.addEventListener("focus", function () { if (!input.value) search(); });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); if (list.hidden) search(); else highlight(active + 1); }
      else if (e.key === "ArrowUp" && !list.hidden) { e.preventDefault(); highlight(active - 1); }
      else if (e.key === "Enter" && !list.hidden && active >= 0) { e.preventDefault(); choose(active); }
      else if (e.key === "Escape" && !list.hidden) { e.preventDefault(); close(); }
    });
    if (single) {
      var form = picker.closest("form");
      form.addEventListener("submit", function (e) {
        if (!single.value) {
          e.preventDefault();
          input.setCustomValidity("Pick a learning or action from the list.");
          input.reportValidity();
        }
      });
    }
  });
})();
