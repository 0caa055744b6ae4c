// Editing every field of an entry (templates/retro/_entry_edit_form.html).
// On the entry's page the form posts as it is; the "When" zone switch keeps the instant.
// On the board, TallyEntryEdit.open(article) fetches the same form, and Save sends only the
// changed fields as an API PATCH with the version it is based on: a 409 shows the other
// person's values and keeps these in the form (saving again replaces theirs, knowingly).
(function () {
  "use strict";
  var LABELS = {
    body: "Text", occurred_at: "When", feeds: "Feeds", session: "Session", stage: "Stage",
    site: "Site", impact: "Impact", tags: "Tags", owner: "Owner", due: "Due", status: "Status",
  };

  function zoneOf(form) {
    return function (choice) { return choice === "event" ? form.dataset.eventZone : window.TallyTz.viewerZone; };
  }

  function bindWhen(form) {
    var input = form.elements.occurred_at;
    var select = form.elements.when_zone;
    if (input && select && window.TallyTz) window.TallyTz.bindZoneSwitch(input, select, zoneOf(form));
  }

  function words(text) { return (text || "").split(/[\s,]+/).filter(Boolean); }

  function snapshot(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.name !== "csrfmiddlewaretoken") values[el.name] = el.value;
    });
    return values;
  }

  // The changed fields as the API takes them.
  function payload(form, initial) {
    var now = snapshot(form);
    var data = {};
    Object.keys(LABELS).forEach(function (name) {
      if (!(name in now)) return;
      var whenMoved = name === "occurred_at" && now.when_zone !== initial.when_zone;
      if (now[name] === initial[name] && !whenMoved) return;
      var v = now[name];
      if (name === "occurred_at") {
        var at = window.TallyTz.fromWall(v, zoneOf(form)(now.when_zone));
        data.occurred_at = at ? at.toISOString() : v;
      } else if (name === "feeds" || name === "tags") data[name] = words(v);
      else if (name === "session" || name === "site" || name === "owner" || name === "due") data[name] = v || null;
      else data[name] = v;
    });
    return data;
  }

  function api(method, url, data) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": window.TallyQueue.csrfToken(), Accept: "application/json" },
      body: data ? JSON.stringify(data) : undefined,
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) { return { status: r.status, ok: r.ok, json: json }; });
    });
  }

  function theirValue(name, current) {
    var v = current[name];
    if (Array.isArray(v)) return v.join(name === "tags" ? ", " : " ");
    if (name === "occurred_at" && v) return new Date(v).toLocaleString();
    return v === null || v === undefined || v === "" ? "—" : String(v);
  }

  function conflictText(data, current) {
    var theirs = Object.keys(data).map(function (name) {
      return (LABELS[name] === "Text" ? "Their text" : LABELS[name]) + ": “" + theirValue(name, current) + "”";
    });
    return "Someone else changed this entry (now v" + current.version + "). " + theirs.join(" · ") +
      ". Your changes are still in the form: save again to replace theirs, or cancel.";
  }

  function problemsText(json) {
    if (!json || typeof json !== "object") return "Refused.";
    return Object.keys(json).map(function (k) {
      var v = json[k];
      v = Array.isArray(v) ? v.join(" ") : typeof v === "object" ? JSON.stringify(v) : v;
      return (k === "detail" ? "" : (LABELS[k] || k) + ": ") + v;
    }).join(" · ");
  }

  // Board: show the form in the entry, send the changes, call done() after a save or cancel.
  function open(article, done) {
    var id = article.dataset.id;
    if (article.classList.contains("editing")) return;
    article.classList.add("editing");
    fetch("/entries/" + id + "/edit/form/", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var tpl = document.createElement("template");
        tpl.innerHTML = html.trim();
        var form = tpl.content.firstElementChild;
        form.classList.add("edit-box");
        article.querySelector(".entry-body").after(form);
        bindWhen(form);
        var initial = snapshot(form);
        var note = form.querySelector(".conflict");
        var area = form.elements.body;
        area.focus();
        function stop() { form.remove(); article.classList.remove("editing"); if (done) done(); }
        form.querySelector(".js-cancel").addEventListener("click", stop);
        form.addEventListener("keydown", function (e) {
          if (e.key === "Escape") { e.preventDefault(); stop(); }
          if (e.key === "Enter" && !e.shiftKey && e.target === area) { e.preventDefault(); form.requestSubmit(); }
        });
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          var data = payload(form, initial);
          if (!Object.keys(data).length) { stop(); return; }
          data.version = +form.elements.version.value;
          api("PATCH", "/api/v1/entries/" + id + "/", data).then(function (r) {
            if (r.ok) { article.dataset.version = 0; stop(); return; }
            if (r.status === 409 && r.json.current) {
              form.elements.version.value = r.json.current.version;
              note.textContent = conflictText(data, r.json.current);
            } else {
              note.textContent = "Not saved (" + r.status + "): " + problemsText(r.json);
            }
            note.hidden = false;
          });
        });
      })
      .catch(function () { article.classList.remove("editing"); });
  }

  // The entry's own page: the form posts as it is; the zone switch keeps the instant, and
  // the entry's Edit and Delete buttons lead to the form and to the delete confirmation.
  var page = document.querySelector(".entry-page");
  if (page && !document.getElementById("board")) {
    Array.prototype.forEach.call(document.querySelectorAll("#edit .entry-edit-form"), function (form) {
      bindWhen(form);
      form.querySelector(".js-cancel").addEventListener("click", function () { form.reset(); });
    });
    page.addEventListener("click", function (e) {
      if (e.target.closest(".js-edit")) {
        var area = document.querySelector("#edit textarea[name=body]");
        if (area) { area.scrollIntoView({ block: "center" }); area.focus(); }
      } else if (e.target.closest(".js-delete")) {
        var box = document.querySelector(".delete-box");
        if (box) { box.open = true; box.scrollIntoView({ block: "center" }); }
      }
    });
  }

  window.TallyEntryEdit = { open: open };
})();
