// Retro meeting and actions pages.
// - selects marked data-autosubmit save on change (the Save/Filter buttons stay for keyboards
//   and no-JS);
// - the meeting's next page of entries loads as its "More entries" link scrolls into view;
// - forms marked data-fetch (vote, merge, turn into an action, no change needed) are sent
//   with fetch and answer JSON: the entry is drawn again in place, no reload (without JS
//   they post and come back to the same page of the meeting);
// - "Merge into…" finds the entry to keep as you type (words or its #reference).
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
    });
  });
  document.querySelectorAll(".js-hide").forEach(function (el) { el.style.display = "none"; });

  var list = document.getElementById("meeting-list");
  var status = document.getElementById("meeting-status");
  function say(text) { if (status) status.textContent = text; }

  // --- Load the next page as the list scrolls -------------------------------------
  function lastKeys() {
    var keys = {};
    list.querySelectorAll(".m-group").forEach(function (h) { keys[h.dataset.level] = h.dataset.key; });
    return keys;
  }
  function dropRepeatedHeadings(fragment, keys) {
    // The page's first entry repeats the headings it sits under; keep only those that change.
    var changed = false;
    var node = fragment.firstElementChild;
    while (node && node.classList.contains("m-group")) {
      var next = node.nextElementSibling;
      if (!changed && keys[node.dataset.level] === node.dataset.key) node.remove();
      else changed = true;
      node = next;
    }
  }
  var loading = false;
  function loadMore(more) {
    if (loading || !more) return;
    var link = more.querySelector("[data-next]");
    loading = true;
    link.textContent = "Loading…";
    var url = link.dataset.next + (link.dataset.next.indexOf("?") < 0 ? "?" : "&") + "fragment=1";
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status === 401 || r.status === 403 ? "signed out" : "HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        var box = document.createElement("div");
        box.innerHTML = html;
        dropRepeatedHeadings(box, lastKeys());
        more.remove();
        var added = box.querySelectorAll(".m-entry").length;
        while (box.firstChild) list.appendChild(box.firstChild);
        say(added + " more entries loaded.");
        watchMore();
      })
      .catch(function (err) {
        link.textContent = "Could not load more entries (" + err.message + "): try again";
      })
      .finally(function () { loading = false; });
  }
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (seen) {
    seen.forEach(function (s) { if (s.isIntersecting) loadMore(s.target); });
  }, { rootMargin: "600px" }) : null;
  function watchMore() {
    if (!list) return;
    var more = list.querySelector("[data-more]");
    if (more && observer) observer.observe(more);
  }
  if (list) {
    list.addEventListener("click", function (ev) {
      var link = ev.target.closest("[data-next]");
      if (!link) return;
      ev.preventDefault();
      loadMore(link.closest("[data-more]"));
    });
    watchMore();
  }

  // --- Writes without a reload ----------------------------------------------------
  function entryOf(el) { return el.closest(".m-entry"); }
  function showMessage(entry, text, bad) {
    var box = entry && entry.querySelector(":scope > .m-entry-message");
    if (box) { box.textContent = text; box.classList.toggle("error", !!bad); }
    say(text);
  }
  function replaceEntry(id, html) {
    var old = list && list.querySelector('.m-entry[data-entry="' + id + '"]');
    if (!old || !html) return old;
    var box = document.createElement("div");
    box.innerHTML = html.trim();
    var fresh = box.firstElementChild;
    old.replaceWith(fresh);
    return fresh;
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches("form[data-fetch]") || !window.fetch) return;
    ev.preventDefault();
    var entry = entryOf(form);
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Requested-With": "fetch" },
    })
      .then(function (r) {
        return r.json().catch(function () {
          return { ok: false, message: r.status === 403 ? "You may not do this." : "The server answered " + r.status + "." };
        });
      })
      .then(function (body) {
        if (!body.ok) { showMessage(entry, body.message, true); return; }
        var shown = entry;
        if (body.merged) {
          var dup = list.querySelector('.m-entry[data-entry="' + body.merged + '"]');
          if (dup) dup.remove();
          shown = replaceEntry(body.id, body.html);
          say(body.message);
          if (shown) shown.scrollIntoView({ block: "nearest" });
          return;
        }
        shown = replaceEntry(body.id, body.html) || entry;
        showMessage(shown, body.message, false);
      })
      .catch(function () { showMessage(entry, "Not sent: the server cannot be reached. Try again.", true); })
      .finally(function () { if (button && button.isConnected) button.disabled = false; });
  });

  // --- Merge: pick the entry to keep from a search-as-you-type list ---------------
  function picker(input) {
    var form = input.form;
    var options = form.querySelector(".merge-options");
    var picked = form.querySelector(".merge-picked");
    var keep = form.querySelector('input[name="keep"]');
    var timer = null, active = -1, results = [];
    function close() { options.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; }
    function choose(i) {
      var r = results[i];
      if (!r) return;
      keep.value = r.id;
      input.value = r.ref + " " + r.body.slice(0, 60);
      picked.textContent = "Keeps " + r.ref + " (" + r.votes + (r.votes === 1 ? " vote" : " votes") + (r.session ? ", " + r.session : "") + ")";
      close();
    }
    function highlight(i) {
      active = i;
      options.querySelectorAll("li").forEach(function (li, n) {
        li.setAttribute("aria-selected", n === i ? "true" : "false");
        if (n === i) input.setAttribute("aria-activedescendant", li.id);
      });
    }
    function draw() {
      options.innerHTML = "";
      results.forEach(function (r, i) {
        var li = document.createElement("li");
        li.id = options.id + "-" + i;
        li.setAttribute("role", "option");
        var ref = document.createElement("code");
        ref.textContent = r.ref;
        li.appendChild(ref);
        li.appendChild(document.createTextNode(" " + r.body + " "));
        var meta = document.createElement("span");
        meta.className = "muted";
        meta.textContent = "· " + (r.author || "?") + (r.session ? " · " + r.session : "") + " · ▲ " + r.votes;
        li.appendChild(meta);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        options.appendChild(li);
      });
      if (!results.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = "No entry of this kind matches.";
        options.appendChild(none);
      }
      options.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    var asked = 0;
    function search() {
      var url = input.dataset.candidates + "?q=" + encodeURIComponent(input.value.trim());
      var mine = ++asked;  // an older answer arriving late must not replace a newer one
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (body) {
          if (mine !== asked) return;
          results = body.results; active = -1; draw();
        });
    }
    input.addEventListener("input", function () {
      keep.value = "";
      picked.textContent = "";
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    input.addEventListener("focus", function () { if (!keep.value) search(); });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    input.addEventListener("keydown", function (ev) {
      if (options.hidden) return;
      if (ev.key === "ArrowDown") { ev.preventDefault(); highlight(Math.min(active + 1, results.length - 1)); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (ev.key === "Enter" && active >= 0) { ev.preventDefault(); choose(active); }
      else if (ev.key === "Escape") close();
    });
    input.dataset.picker = "1";
  }
  document.addEventListener("focusin", function (ev) {
    var input = ev.target;
    if (input.matches && input.matches("input[data-candidates]") && !input.dataset.picker) {
      picker(input);
      input.dispatchEvent(new Event("focus"));
    }
  });
})();
