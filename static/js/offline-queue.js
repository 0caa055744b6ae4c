// Tally offline send queue: entries wait in localStorage until the server has them.
// Every entry carries a client-made UUID, so sending one twice is harmless (the server
// answers the second time with the stored entry). Kept per event and per user.
(function () {
  "use strict";

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // The cookie first: signing in again (in another tab) rotates the token, and the one
  // written into this page's forms would then be refused.
  function csrfToken() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  var LOGIN_PATH = "/accounts/login/";

  // Is this answer "you are signed out" rather than a refusal? 401 from the API, a 403 for a
  // missing session or CSRF cookie, or a page redirected to the login form.
  function signedOut(response, json) {
    if (response.status === 401) return true;
    if (response.redirected && response.url.indexOf(LOGIN_PATH) >= 0) return true;
    var detail = json && typeof json.detail === "string" ? json.detail : "";
    return response.status === 403 && /CSRF|credentials were not provided/i.test(detail);
  }

  // A queue of JSON payloads POSTed in order to `url` (or url(payload)).
  // onChange(count) after every change; onSent(payload, json); onRejected(payload, status, json)
  // for answers that resending cannot fix (400, 403, 409): those leave the queue.
  // onSignedOut(count): the server wants a sign-in; the payloads stay and are sent after it.
  // onOffline(status): no answer or a server error; the payloads stay. `state` is "ok",
  // "offline" or "signed-out".
  function SendQueue(key, url, handlers) {
    this.key = key;
    this.url = url;
    this.h = handlers || {};
    this.busy = false;
    this.state = "ok";
    var self = this;
    window.addEventListener("online", function () { self.flush(); });
    window.addEventListener("storage", function (e) { if (e.key === key) self.changed(); });
    setInterval(function () { self.flush(); }, 3000);
  }

  SendQueue.prototype.items = function () {
    try { return JSON.parse(localStorage.getItem(this.key) || "[]"); } catch (e) { return []; }
  };
  SendQueue.prototype.save = function (items) {
    localStorage.setItem(this.key, JSON.stringify(items));
    this.changed();
  };
  SendQueue.prototype.changed = function () {
    if (this.h.onChange) this.h.onChange(this.items().length);
  };
  SendQueue.prototype.add = function (payload) {
    payload.id = payload.id || uuid4();
    var items = this.items();
    items.push(payload);
    this.save(items);
    this.flush();
    return payload.id;
  };
  SendQueue.prototype.drop = function (id) {
    this.save(this.items().filter(function (p) { return p.id !== id; }));
  };

  SendQueue.prototype.flush = function () {
    var self = this;
    if (self.busy) return;
    var items = self.items();
    if (!items.length) return;
    self.busy = true;
    var payload = items[0];
    fetch(typeof self.url === "function" ? self.url(payload) : self.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(payload),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        self.busy = false;
        if (signedOut(response, json)) {
          self.setState("signed-out"); // keep it; sent once someone signs in again
          if (self.h.onSignedOut) self.h.onSignedOut(self.items().length);
        } else if (response.ok) {
          self.setState("ok");
          self.drop(payload.id);
          if (self.h.onSent) self.h.onSent(payload, json);
          self.flush();
        } else if ([400, 403, 404, 409].indexOf(response.status) >= 0) {
          self.setState("ok");
          self.drop(payload.id);
          if (self.h.onRejected) self.h.onRejected(payload, response.status, json);
          self.flush();
        } else {
          self.setState("offline"); // 5xx: keep it and retry
          if (self.h.onOffline) self.h.onOffline(response.status);
        }
      });
    }).catch(function () {
      self.busy = false; // network down: keep it, retry on "online" or the next tick
      self.setState("offline");
      if (self.h.onOffline) self.h.onOffline(0);
    });
  };

  SendQueue.prototype.setState = function (state) {
    if (this.state === state) return;
    this.state = state;
    this.changed();
  };

  // The queue's status line: "All sent", "N waiting to send", or, signed out, a sign-in link
  // that opens in a new tab: this page and its queue (in localStorage) stay, and sending
  // resumes by itself once the session is back.
  function renderStatus(el, queue, noun) {
    var count = queue.items().length;
    el.dataset.count = count;
    el.dataset.state = queue.state;
    if (queue.state === "signed-out" && count) {
      var next = location.pathname + location.search;
      var line = document.createElement("span"); // one flex item: the words wrap as text
      line.appendChild(document.createTextNode("Signed out — "));
      var a = document.createElement("a");
      a.href = LOGIN_PATH + "?next=" + encodeURIComponent(next);
      a.target = "_blank";
      a.className = "sign-in-link";
      a.textContent = "sign in";
      line.appendChild(a);
      line.appendChild(document.createTextNode(" to send " + count + " waiting " + noun(count)));
      el.textContent = "";
      el.appendChild(line);
    } else {
      el.textContent = count ? count + " waiting to send" : "All sent";
    }
  }

  window.TallyQueue = {
    SendQueue: SendQueue,
    uuid4: uuid4,
    csrfToken: csrfToken,
    signedOut: signedOut,
    renderStatus: renderStatus,
    loginPath: LOGIN_PATH,
  };
})();
