// Tally's service worker. The pages an operator keeps open on the show floor (an event's
// board and a runbook checklist) open again from this device's last copy when the network
// is gone, so a reload on a phone in a basement does not end on the browser's offline page.
// Anything waiting to send stays in the page's own offline queue (localStorage); this worker
// only keeps pages and the static files they need. Served from /sw.js so that its scope is
// the whole site; it never touches anything but same-origin GET requests.
"use strict";

var PAGES = "{{ pages_cache }}";
var ASSETS = "{{ assets_cache }}";
var STATIC = "{{ static_url }}";
var KEPT_PAGES = [{% for pattern in page_patterns %}new RegExp({{ pattern|safe }}){% if not forloop.last %}, {% endif %}{% endfor %}];
var MAX_PAGES = {{ max_pages }};
var MAX_ASSETS = {{ max_assets }};
var SAVED_AT = "X-Tally-Saved-At";

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("tally-") === 0 && name !== PAGES && name !== ASSETS;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function keptPage(url) {
  return url.origin === self.location.origin &&
    KEPT_PAGES.some(function (re) { return re.test(url.pathname); });
}

// A copy of a page as it was answered, stamped with when it was kept.
function keep(request, response) {
  return response.clone().blob().then(function (body) {
    var headers = new Headers(response.headers);
    headers.set(SAVED_AT, new Date().toISOString());
    var copy = new Response(body, { status: 200, statusText: "OK", headers: headers });
    return caches.open(PAGES).then(function (cache) {
      return cache.put(request.url, copy).then(function () { return trim(cache, MAX_PAGES); });
    });
  });
}

// The oldest entries beyond `max` go (a deploy renames static files: old names are dropped).
function trim(cache, max) {
  return cache.keys().then(function (keys) {
    var extra = keys.length - max;
    return Promise.all(keys.slice(0, Math.max(extra, 0)).map(function (k) { return cache.delete(k); }));
  });
}

function fresh(response) {
  return response.ok && !response.redirected && response.type === "basic";
}

// The kept copy, marked so that the page can say it is one (html[data-offline-copy]).
function offlineCopy(request) {
  return caches.open(PAGES).then(function (cache) { return cache.match(request.url, { ignoreVary: true }); })
    .then(function (kept) {
      if (!kept) return null;
      var savedAt = kept.headers.get(SAVED_AT) || "";
      return kept.text().then(function (html) {
        var marked = html.replace(/<html\b/i, '<html data-offline-copy="' + savedAt + '"');
        return new Response(marked, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
      });
    });
}

function noCopyPage() {
  var html = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">" +
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
    "<title>Offline · Tally</title><link rel=\"stylesheet\" href=\"" + STATIC + "css/tally.css\"></head>" +
    "<body><main id=\"main\" class=\"page\"><h1>Offline</h1>" +
    "<p data-offline-missing>This device has no copy of this page: it was not opened here while " +
    "the network was up. Boards and runbook checklists you have opened here do open offline.</p>" +
    "<p>Entries and checklist changes already made on this device wait in its queue and are sent " +
    "when the network is back.</p></main></body></html>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

// Network first: the kept copy only when the network fails or answers 5xx. A slow answer
// is waited for, as the browser would: a copy is never shown while the server is there.
function page(event) {
  var request = event.request;
  return fetch(request).then(function (response) {
    if (fresh(response)) {
      var kept = keep(request, response);
      try { event.waitUntil(kept); } catch (e) { /* the copy is written anyway */ }
      return response;
    }
    if (response.status < 500) return response;
    return offlineCopy(request).then(function (copy) { return copy || response; });
  }, function () {
    return offlineCopy(request).then(function (copy) { return copy || noCopyPage(); });
  });
}

// Static files: the network's answer when there is one, else the copy kept last time.
function asset(request) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(ASSETS).then(function (cache) {
        return cache.put(request, copy).then(function () { return trim(cache, MAX_ASSETS); });
      });
    }
    return response;
  }, function () {
    return caches.open(ASSETS).then(function (cache) { return cache.match(request); })
      .then(function (copy) { return copy || Response.error(); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && keptPage(url)) event.respondWith(page(event));
  else if (url.pathname.indexOf(STATIC) === 0) event.respondWith(asset(request));
});

// From a page opened before this worker took over: keep it now. (Signed-out pages forget
// the kept pages themselves: static/js/offline-pages.js.)
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "keep" || !data.url) return;
  var url = new URL(data.url);
  if (!keptPage(url)) return;
  var request = new Request(url.href, { credentials: "same-origin" });
  event.waitUntil(
    fetch(request).then(function (response) {
      if (fresh(response)) return keep(request, response);
    }).catch(function () {})
  );
});
