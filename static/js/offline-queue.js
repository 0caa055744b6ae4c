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

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  // A queue of JSON payloads POSTed in order to `url`.
  // onChange(count) after every change; onSent(payload, json); onRejected(payload, status, json)
  // for answers that resending cannot fix (400, 403, 409): those leave the queue.
  function SendQueue(key, url, handlers) {
    this.key = key;
    this.url = url;
    this.h = handlers || {};
    this.busy = false;
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
    fetch(self.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(payload),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        self.busy = false;
        if (response.ok) {
          self.drop(payload.id);
          if (self.h.onSent) self.h.onSent(payload, json);
          self.flush();
        } else if ([400, 403, 404, 409].indexOf(response.status) >= 0) {
          self.drop(payload.id);
          if (self.h.onRejected) self.h.onRejected(payload, response.status, json);
          self.flush();
        } else if (self.h.onOffline) {
          self.h.onOffline(response.status); // 401, 5xx: keep it and retry
        }
      });
    }).catch(function () {
      self.busy = false; // network down: keep it, retry on "online" or the next tick
      if (self.h.onOffline) self.h.onOffline(0);
    });
  };

  window.TallyQueue = { SendQueue: SendQueue, uuid4: uuid4, csrfToken: csrfToken };
})();
