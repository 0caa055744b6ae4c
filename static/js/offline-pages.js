// Offline copies of the show-floor pages (the worker is templates/offline/sw.js). Signed in,
// this registers the worker and asks it to keep the page just opened; on a kept copy opened
// offline it says so. Signed out, it forgets every kept page, so nothing a person saw stays
// on a shared device once they sign out.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !("serviceWorker" in navigator)) return;

  if (script.dataset.signedIn !== "1") {
    if (window.caches) {
      caches.keys().then(function (names) {
        names.forEach(function (name) { if (name.indexOf("tally-pages") === 0) caches.delete(name); });
      });
    }
    return;
  }

  // Whether the worker saw this page go by, as the page loaded (it may take the page over
  // later, once it is installed, without having seen it).
  var seenByWorker = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.register(script.dataset.worker, { scope: "/" })
    .then(function () { return navigator.serviceWorker.ready; })
    .then(function (registration) {
      if (!seenByWorker && registration.active) {
        registration.active.postMessage({ type: "keep", url: location.href });
      }
    })
    .catch(function () { /* no worker: pages simply do not open offline */ });

  var savedAt = document.documentElement.getAttribute("data-offline-copy");
  if (savedAt === null) return;
  var when = new Date(savedAt);
  var banner = document.createElement("div");
  banner.className = "offline-copy";
  banner.setAttribute("role", "status");
  var text = document.createElement("span");
  text.textContent = "Offline copy of this page, kept on this device" +
    (isNaN(when) ? "" : " at " + when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" })) +
    ". What you log or tick here waits on this device and is sent when the network is back.";
  var reload = document.createElement("button");
  reload.type = "button";
  reload.className = "link";
  reload.textContent = "Reload";
  reload.addEventListener("click", function () { location.reload(); });
  banner.appendChild(text);
  banner.appendChild(document.createTextNode(" "));
  banner.appendChild(reload);
  var header = document.querySelector("header.topbar");
  if (header) header.after(banner);
  else document.body.prepend(banner);
  window.addEventListener("online", function () {
    text.textContent = "The network is back: reload for the page as it is now.";
  });
})();
