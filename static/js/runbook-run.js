// Runbook runs: a live checklist. Ticks, skips, undos and notes go through the offline send
// queue (kept in localStorage, each with a client-made id so a resend changes nothing), the
// row changes at once, and every open copy of the run asks each second for the steps changed
// since the last change it has. Without JavaScript the forms still post and reload.
(function () {
  "use strict";
  var root = document.getElementById("rb-run");
  var finish = document.querySelector(".rb-finish");
  if (finish) {
    finish.addEventListener("submit", function (ev) {
      var pending = parseInt(finish.getAttribute("data-pending") || "0", 10);
      if (pending > 0 && !window.confirm(pending + " step(s) are still pending. Finish the run anyway?")) {
        ev.preventDefault();
      }
    });
  }
  document.addEventListener("toggle", function (ev) {
    var details = ev.target;
    if (details.classList && details.classList.contains("rb-more") && details.open) {
      var input = details.querySelector("input[name=reason]");
      if (input) input.focus();
    }
  }, true);
  // Keep the step just recorded in view, below the sticky top bar.
  if (location.hash && location.hash.indexOf("#step-") === 0) {
    var target = document.getElementById(location.hash.slice(1));
    if (target) target.scrollIntoView({ block: "center" });
  }
  if (!root || !window.TallyQueue) return;

  var Q = window.TallyQueue;
  var cursor = +root.dataset.cursor || 0;
  var liveStatus = document.getElementById("live-status");
  var queueStatus = document.getElementById("queue-status");
  var errorBox = document.getElementById("rb-error");
  var LABEL = { done: "✓ Done", skipped: "⤼ Skipped", pending: "Pending" };

  function setLive(state, text) {
    if (liveStatus && liveStatus.dataset.state !== state) {
      liveStatus.dataset.state = state;
      liveStatus.textContent = text;
    }
  }
  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  // --- Progress, from the rows on the page ----------------------------------------------
  function refreshProgress() {
    var counts = { done: 0, skipped: 0, pending: 0 };
    root.querySelectorAll(".rb-step").forEach(function (li) {
      var state = li.className.match(/state-(\w+)/);
      if (state && counts[state[1]] !== undefined) counts[state[1]] += 1;
    });
    Object.keys(counts).forEach(function (k) {
      var el = document.querySelector('.rb-progress [data-count="' + k + '"]');
      if (el) el.textContent = counts[k];
    });
    var bar = document.querySelector(".rb-progress progress");
    if (bar) bar.value = counts.done + counts.skipped;
    if (finish) finish.setAttribute("data-pending", counts.pending);
  }

  // --- Sending: the offline queue ----------------------------------------------------------
  var queue = null;
  function waitingSteps() {
    var numbers = {};
    if (queue) queue.items().forEach(function (p) { numbers[p.number] = true; });
    return numbers;
  }
  function markWaiting() {
    var waiting = waitingSteps();
    root.querySelectorAll(".rb-step").forEach(function (li) {
      li.classList.toggle("waiting", !!waiting[li.dataset.step]);
    });
  }
  function showQueue() {
    if (queueStatus && queue) {
      Q.renderStatus(queueStatus, queue, function (n) { return n === 1 ? "change" : "changes"; });
    }
    markWaiting();
  }
  if (queueStatus) {
    queue = new Q.SendQueue(
      "tally-run-queue:" + root.dataset.run + ":" + root.dataset.user,
      function (payload) { return root.dataset.stepsUrl + payload.number + "/"; },
      {
        onChange: showQueue,
        onSent: function (payload) { poll([payload.number]); },
        onOffline: function () { setLive("offline", "offline: changes wait here"); },
        onSignedOut: function () { setLive("signed-out", "signed out"); },
        onRejected: function (payload, status, json) {
          var why = json && (json.detail || json.reason || json.state || json.note || json.id);
          showError("Step " + payload.number + " not recorded (" + status + "): " + (why || "refused"));
          if (status === 409) location.reload(); // the run was finished meanwhile
          else poll([payload.number]); // the server's row takes back what was shown
        },
      }
    );
  }

  // A reload (or the device's offline copy of this page) shows what is still waiting to send.
  if (queue) {
    queue.items().forEach(function (payload) {
      var li = document.getElementById("step-" + payload.number);
      if (li) applyLocally(li, payload);
    });
  }

  // Show the change at once; the server's row replaces it once it has been recorded.
  function applyLocally(li, payload) {
    if (payload.state) {
      li.className = li.className.replace(/state-\w+/, "state-" + payload.state);
      var badge = li.querySelector(".rb-state");
      if (badge) badge.textContent = LABEL[payload.state];
      var actions = li.querySelector(".rb-step-actions");
      if (actions) actions.style.display = "none"; // until the server's row comes back
    }
    if (payload.note !== undefined) {
      var note = li.querySelector(".rb-note");
      if (!note) {
        note = document.createElement("p");
        note.className = "rb-note";
        li.querySelector(".rb-step-main").after(note);
      }
      note.textContent = "📝 " + payload.note;
      var details = li.querySelector(".rb-more");
      if (details) details.open = false;
    }
    li.classList.add("waiting");
    li.dataset.version = "-1"; // the server's row replaces it, whatever its version
    refreshProgress();
  }

  function payloadOf(form, submitter) {
    var action = (submitter && submitter.name === "action" && submitter.value) ||
      (form.elements.action && form.elements.action.value) || "";
    var li = form.closest(".rb-step");
    var payload = { number: +li.dataset.step };
    if (action === "done") payload.state = "done";
    else if (action === "undo") payload.state = "pending";
    else if (action === "skip") {
      payload.state = "skipped";
      payload.reason = form.elements.reason.value.trim();
      if (!payload.reason) return { error: "Say why the step is skipped.", field: form.elements.reason };
    } else if (action === "note") payload.note = form.elements.note.value;
    else return null;
    return payload;
  }

  root.addEventListener("submit", function (ev) {
    if (!queue) return;
    var form = ev.target;
    var li = form.closest(".rb-step");
    if (!li) return;
    var payload = payloadOf(form, ev.submitter);
    if (!payload) return;
    ev.preventDefault();
    if (payload.error) { showError(payload.error); payload.field.focus(); return; }
    showError("");
    applyLocally(li, payload);
    queue.add(payload);
  });

  // --- Live: ask for the steps changed after the last change this page has -----------------
  var polling = false;
  var forced = {}; // steps whose server row this page wants, whatever their version
  function place(step, waiting) {
    var old = document.getElementById("step-" + step.number);
    if (!old || waiting[step.number]) return; // this page's own change is still on its way
    if (+old.dataset.version >= step.version) return;
    if (old.contains(document.activeElement) && document.activeElement.tagName !== "BUTTON") return;
    var tpl = document.createElement("template");
    tpl.innerHTML = step.html.trim();
    old.replaceWith(tpl.content.firstElementChild);
  }
  function poll(numbers) {
    if (Array.isArray(numbers)) numbers.forEach(function (n) { forced[n] = true; });
    if (polling) return;
    polling = true;
    var asked = Object.keys(forced);
    forced = {};
    var url = root.dataset.changesUrl + "?after=" + cursor + (asked.length ? "&steps=" + asked.join(",") : "");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (Q.signedOut(r, null)) throw new Error("signed-out");
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (data) {
        if (data.finished && root.dataset.finished !== "1") { location.reload(); return; }
        var waiting = waitingSteps();
        data.steps.forEach(function (step) { place(step, waiting); });
        cursor = Math.max(cursor, data.cursor);
        refreshProgress();
        markWaiting();
        setLive("live", "live");
      })
      .catch(function (err) {
        asked.forEach(function (n) { forced[n] = true; }); // ask again next time
        if (err && err.message === "signed-out") setLive("signed-out", "signed out");
        else setLive("offline", "offline: retrying");
      })
      .then(function () { polling = false; });
  }
  if (root.dataset.finished !== "1") {
    setInterval(poll, 1000);
    poll();
  } else {
    setLive("live", "finished");
  }
  if (queue) {
    showQueue();
    queue.flush();
  }
})();
