// Tally live board: keyboard-first entry form, live updates by polling, inline edits.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var Q = window.TallyQueue;
  var form = document.getElementById("entry-form");
  var body = document.getElementById("entry-body");
  var errorBox = document.getElementById("form-error");
  var queueStatus = document.getElementById("queue-status");
  var liveStatus = document.getElementById("live-status");
  var cursor = board.dataset.cursor;
  var entryUrl = board.dataset.entryUrl;

  function inField(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // --- Live updates: poll "changes since cursor" every second -------------------------
  function place(item) {
    var old = document.getElementById("entry-" + item.id);
    if (old && +old.dataset.version >= item.version) return; // already have it (overlap)
    var tpl = document.createElement("template");
    tpl.innerHTML = item.html.trim();
    var node = tpl.content.firstElementChild;
    if (old) {
      if (old.classList.contains("editing")) return; // don't yank the text someone is editing
      old.replaceWith(node);
    } else {
      var list = board.querySelector('[data-list="' + item.kind + '"]') || board.querySelector('[data-list="all"]');
      if (!list) return;
      var when = Date.parse(item.occurred_at);
      if (list.dataset.from && (when < Date.parse(list.dataset.from) || when >= Date.parse(list.dataset.to))) return;
      var empty = list.querySelector(".empty");
      if (empty) empty.remove();
      var after = Array.prototype.find.call(list.querySelectorAll(".entry"), function (e) {
        return Date.parse(e.dataset.occurred) < when;
      });
      list.insertBefore(node, after || null);
      bumpCount(item.kind, 1);
    }
    node.classList.add("fresh");
    setTimeout(function () { node.classList.remove("fresh"); }, 4000);
  }

  function bumpCount(kind, delta) {
    var c = board.querySelector('[data-count-for="' + kind + '"]');
    if (c) c.textContent = Math.max(0, (+c.textContent || 0) + delta);
  }

  function removeEntry(id) {
    var el = document.getElementById("entry-" + id);
    if (el && !el.closest(".carried-list")) {
      bumpCount(el.dataset.kind, -1);
      el.remove();
    }
  }

  var polling = false;
  function poll() {
    if (polling) return;
    polling = true;
    var url = board.dataset.changesUrl;
    url += (url.indexOf("?") < 0 ? "?" : "&") + "cursor=" + encodeURIComponent(cursor);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (Q.signedOut(r, null)) throw new Error("signed-out");
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (data) {
        cursor = data.cursor;
        data.entries.forEach(place);
        data.removed.forEach(function (r) { removeEntry(r.id); });
        if (data.entries.length || data.removed.length) refreshParts();
        setLive("live", "live");
      })
      .catch(function (err) {
        if (err && err.message === "signed-out") setLive("signed-out", "signed out");
        else setLive("offline", "offline: retrying");
      })
      .then(function () { polling = false; });
  }
  function setLive(state, text) {
    if (liveStatus.dataset.state !== state) {
      liveStatus.dataset.state = state;
      liveStatus.textContent = text;
    }
  }
  setInterval(poll, 1000);
  poll();

  // --- Live parts: anomalies, carried-over actions, timeline dots ----------------------
  // Redrawn by the server's partials every few seconds and after entry changes; a part is
  // left alone while someone works in it, and open/closed panels stay as they were.
  var partsBusy = false;
  var partsSeen = {};
  function swapPart(name, html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    if (name === "timeline") {
      var fresh = tpl.content.querySelector("svg.timeline-axis");
      var old = board.querySelector("svg.timeline-axis");
      if (fresh && old) old.replaceWith(fresh);
      return true;
    }
    var box = board.querySelector('[data-live-part="' + name + '"]');
    if (!box) return true;
    if (box.contains(document.activeElement) && document.activeElement !== document.body) return false;
    var open = Array.prototype.map.call(box.querySelectorAll("details"), function (d) { return d.open; });
    box.innerHTML = "";
    box.appendChild(tpl.content);
    box.querySelectorAll("details").forEach(function (d, i) { if (i < open.length) d.open = open[i]; });
    return true;
  }
  function refreshParts() {
    if (partsBusy || !board.dataset.partsUrl) return;
    partsBusy = true;
    fetch(board.dataset.partsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok || r.redirected) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        Object.keys(data.parts).forEach(function (name) {
          var html = data.parts[name];
          if (partsSeen[name] === html) return;
          if (swapPart(name, html)) partsSeen[name] = html;
        });
      })
      .catch(function () { /* the entries poll shows the connection state */ })
      .then(function () { partsBusy = false; });
  }
  setInterval(refreshParts, 3000);
  refreshParts();

  // --- The entry form ---------------------------------------------------------------
  var queue = null;
  var pendingList = document.getElementById("pending-list");
  function showQueue(count) {
    queueStatus.dataset.count = count;
    queueStatus.textContent = count ? count + " waiting to send" : "All sent";
    if (!queue) return;
    Q.renderStatus(queueStatus, queue, function (n) { return n === 1 ? "entry" : "entries"; });
    if (!pendingList) return;
    // What this browser still holds: the operator sees the entry, marked as not yet sent.
    pendingList.innerHTML = "";
    queue.items().forEach(function (item) {
      var li = document.createElement("li");
      li.className = "pending-item kind-" + item.kind;
      var badge = document.createElement("span");
      badge.className = "badge kind-badge";
      badge.textContent = item.kind;
      li.appendChild(badge);
      li.appendChild(document.createTextNode(" " + item.body.slice(0, 140) + " — waiting to send"));
      pendingList.appendChild(li);
    });
    pendingList.hidden = !count;
  }
  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }
  function messagesOf(json) {
    if (!json || typeof json !== "object") return "Refused.";
    return Object.keys(json).map(function (k) {
      var v = json[k];
      v = Array.isArray(v) ? v.join(" ") : typeof v === "object" ? JSON.stringify(v) : v;
      return (k === "detail" ? "" : k + ": ") + v;
    }).join(" · ");
  }

  if (form) {
    var key = "tally-queue:" + board.dataset.event + ":" + board.dataset.user;
    queue = new Q.SendQueue(key, board.dataset.entriesUrl, {
      onChange: showQueue,
      onSent: function () { poll(); },
      onOffline: function () { setLive("offline", "offline: entries wait here"); },
      onSignedOut: function () { setLive("signed-out", "signed out"); },
      onRejected: function (payload, status, json) {
        showError("Not logged (" + status + "): " + messagesOf(json));
        if (!body.value.trim()) body.value = payload.body; // give the text back to fix it
      },
    });
    showQueue(queue.items().length);
    queue.flush();

    var kindRadios = form.querySelectorAll("input[name=kind]");
    function currentKind() {
      var k = form.querySelector("input[name=kind]:checked");
      return k ? k.value : "learning";
    }
    function pickKind(kind) {
      kindRadios.forEach(function (r) { r.checked = r.value === kind; });
      form.dataset.kind = kind;
    }
    form.dataset.kind = currentKind();
    kindRadios.forEach(function (r) { r.addEventListener("change", function () { form.dataset.kind = currentKind(); }); });

    // The "When" field is a time on the clocks of the zone picked beside it.
    function whenZone() {
      var pick = form.elements.when_zone;
      return pick && pick.value === "event" ? board.dataset.eventZone : window.TallyTz.viewerZone;
    }
    if (form.elements.when_zone) {
      var viewerOption = form.elements.when_zone.querySelector('option[value="viewer"]');
      if (viewerOption) viewerOption.textContent = "your zone (" + window.TallyTz.viewerZone + ")";
      window.TallyTz.bindZoneSwitch(form.elements.occurred_at, form.elements.when_zone, function (v) {
        return v === "event" ? board.dataset.eventZone : window.TallyTz.viewerZone;
      });
    }

    function payload() {
      var kind = currentKind();
      var data = { kind: kind, body: body.value };
      var feeds = form.elements.feeds.value.split(/[\s,]+/).filter(Boolean);
      if (feeds.length) data.feeds = feeds;
      ["session", "stage", "site"].forEach(function (name) {
        var v = form.elements[name].value.trim();
        if (v) data[name] = v;
      });
      if (!form.elements.site.value) data.site = null;
      var tags = form.elements.tags.value.split(/[\s,]+/).filter(Boolean);
      if (tags.length) data.tags = tags;
      var when = form.elements.occurred_at.value;
      if (when) data.occurred_at = window.TallyTz.fromWall(when, whenZone()).toISOString();
      if (kind === "learning" && form.elements.impact.value) data.impact = form.elements.impact.value;
      if (kind === "action") {
        if (form.elements.owner.value) data.owner = form.elements.owner.value;
        if (form.elements.due.value) data.due = form.elements.due.value;
      }
      return data;
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!body.value.trim()) { showError("Write something first."); body.focus(); return; }
      if (form.dataset.nowOutside && !form.elements.occurred_at.value) {
        showError(form.dataset.nowOutside);
        form.elements.occurred_at.focus();
        return;
      }
      showError("");
      queue.add(payload());
      body.value = "";
      ["occurred_at", "feeds", "tags", "impact", "owner", "due"].forEach(function (name) {
        form.elements[name].value = "";
      });
      body.focus();
    });
    body.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });

    // Typeahead for feeds: suggestions for the word being typed, from the page's list.
    var feedInput = form.elements.feeds;
    var list = document.getElementById("feed-suggestions");
    var feeds = JSON.parse(document.getElementById("feed-options").textContent);
    var active = -1;
    function lastWord() { var parts = feedInput.value.split(/[\s,]+/); return parts[parts.length - 1].toLowerCase(); }
    function renderSuggestions() {
      var word = lastWord();
      list.innerHTML = "";
      active = -1;
      if (!word) { list.hidden = true; feedInput.setAttribute("aria-expanded", "false"); return; }
      var matches = feeds.filter(function (f) {
        return f.slug.indexOf(word) >= 0 || f.name.toLowerCase().indexOf(word) >= 0;
      }).slice(0, 8);
      matches.forEach(function (f, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.id = "feed-opt-" + i;
        li.dataset.slug = f.slug;
        li.textContent = f.slug + " — " + f.name;
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(f.slug); });
        list.appendChild(li);
      });
      list.hidden = !matches.length;
      feedInput.setAttribute("aria-expanded", matches.length ? "true" : "false");
    }
    function highlight(i) {
      var items = list.querySelectorAll("li");
      if (!items.length) return;
      active = (i + items.length) % items.length;
      items.forEach(function (li, j) { li.setAttribute("aria-selected", j === active ? "true" : "false"); });
      feedInput.setAttribute("aria-activedescendant", items[active].id);
    }
    function choose(slug) {
      var parts = feedInput.value.split(/[\s,]+/);
      parts[parts.length - 1] = slug;
      feedInput.value = parts.join(" ") + " ";
      list.hidden = true;
      feedInput.setAttribute("aria-expanded", "false");
    }
    feedInput.addEventListener("input", renderSuggestions);
    feedInput.addEventListener("blur", function () { list.hidden = true; });
    feedInput.addEventListener("keydown", function (e) {
      var open = !list.hidden;
      if (e.key === "ArrowDown" && open) { e.preventDefault(); highlight(active + 1); }
      else if (e.key === "ArrowUp" && open) { e.preventDefault(); highlight(active - 1); }
      else if ((e.key === "Enter" || e.key === "Tab") && open && (active >= 0 || e.key === "Tab")) {
        var items = list.querySelectorAll("li");
        if (items.length) { e.preventDefault(); choose(items[Math.max(active, 0)].dataset.slug); }
      } else if (e.key === "Escape" && open) { e.preventDefault(); list.hidden = true; }
    });

    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || inField(e.target)) return;
      var kinds = { w: "win", l: "learning", a: "action" };
      var k = e.key.toLowerCase();
      if (kinds[k]) { e.preventDefault(); pickKind(kinds[k]); body.focus(); }
      else if (k === "n") { e.preventDefault(); body.focus(); }
    });
  }

  // --- Shortcuts ----------------------------------------------------------------------
  var help = document.getElementById("shortcuts");
  function toggleHelp(show) { help.hidden = !show; if (show) document.getElementById("shortcuts-close").focus(); }
  document.getElementById("shortcuts-button").addEventListener("click", function () { toggleHelp(help.hidden); });
  document.getElementById("shortcuts-close").addEventListener("click", function () { toggleHelp(false); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "?" && !inField(e.target)) { e.preventDefault(); toggleHelp(help.hidden); }
    else if (e.key === "Escape") {
      if (!help.hidden) toggleHelp(false);
      else if (inField(e.target) && e.target.closest("#entry-form")) e.target.blur();
    }
  });

  // --- Inline edit and delete ---------------------------------------------------------
  function api(method, url, data) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": Q.csrfToken(), Accept: "application/json" },
      body: data ? JSON.stringify(data) : undefined,
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) { return { status: r.status, ok: r.ok, json: json }; });
    });
  }

  // Every field, with the 409 handling of a stale version: static/js/entry-edit.js.
  function startEdit(article) {
    window.TallyEntryEdit.open(article, poll);
  }

  // Delete is soft: "Deleted — Undo" for 10 s restores it (POST .../restore/).
  var undoTimer = null;
  function offerUndo(article) {
    var id = article.dataset.id;
    var n = showNotice("", "");
    n.textContent = "Deleted. ";
    var undo = document.createElement("button");
    undo.type = "button";
    undo.className = "link js-undo-delete";
    undo.textContent = "Undo";
    var left = document.createElement("span");
    left.className = "muted undo-countdown";
    n.appendChild(undo);
    n.appendChild(left);
    var seconds = 10;
    function tick() {
      left.textContent = " (" + seconds + " s · afterwards from the entry's page)";
      if (seconds-- <= 0) { clearInterval(undoTimer); n.innerHTML = 'Deleted. <a href="/entries/' + id + '/">Restore it</a> from its page.'; }
    }
    clearInterval(undoTimer);
    tick();
    undoTimer = setInterval(tick, 1000);
    undo.addEventListener("click", function () {
      clearInterval(undoTimer);
      api("POST", entryUrl + id + "/restore/").then(function (r) {
        if (r.ok) { showNotice("", "Restored."); poll(); }
        else showNotice("", "Not restored (" + r.status + "): " + messagesOf(r.json));
      });
    });
  }

  board.addEventListener("click", function (e) {
    var edit = e.target.closest(".js-edit");
    var del = e.target.closest(".js-delete");
    if (edit) startEdit(edit.closest(".entry"));
    if (del) {
      var article = del.closest(".entry");
      api("DELETE", entryUrl + article.dataset.id + "/").then(function (r) {
        if (r.ok) {
          removeEntry(article.dataset.id);
          offerUndo(article);
        } else {
          showNotice("", "Not deleted (" + r.status + "): " + messagesOf(r.json));
        }
      });
    }
  });

  function showNotice(html, text) {
    var n = document.getElementById("board-notice");
    if (!n) {
      n = document.createElement("p");
      n.id = "board-notice";
      n.className = "board-notice";
      n.setAttribute("role", "status");
      board.prepend(n);
    }
    if (html) n.innerHTML = html; else n.textContent = text;
    return n;
  }
})();
