// Tell the server the viewer's time zone so every page shows times in it.
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  var current = document.cookie.split("; ").find(function (c) { return c.indexOf("tally_tz=") === 0; });
  var value = encodeURIComponent(zone);
  if (current !== "tally_tz=" + value) {
    document.cookie = "tally_tz=" + value + "; path=/; max-age=31536000; samesite=lax";
    if (!sessionStorage.getItem("tally_tz_reloaded")) {
      sessionStorage.setItem("tally_tz_reloaded", "1");
      location.reload();
    }
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key === "/" && !(t.isContentEditable || /INPUT|TEXTAREA|SELECT/.test(t.tagName))) {
      var box = document.getElementById("global-search");
      if (box) { e.preventDefault(); box.focus(); }
    }
  });
})();

// Wall-clock times in a named zone, for the "When" fields: a datetime-local value means a
// time on the clocks of the zone picked beside it (the viewer's or the event's).
window.TallyTz = (function () {
  var viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  function parts(date, zone) {
    var f = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    var out = {};
    f.formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }
  // "2026-11-30T10:05:00" as seen on the clocks of `zone` at the instant `date`.
  function toWall(date, zone) {
    var p = parts(date, zone);
    return p.year + "-" + p.month + "-" + p.day + "T" + p.hour + ":" + p.minute + ":" + p.second;
  }
  // The instant (a Date) at which the clocks of `zone` show the wall time `value`.
  function fromWall(value, zone) {
    var m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?/.exec(value || "");
    if (!m) return null;
    var asUtc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    var guess = asUtc;
    for (var i = 0; i < 2; i++) {  // twice: the offset may differ on either side of a change
      var seen = toWall(new Date(guess), zone);
      var s = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/.exec(seen);
      var seenUtc = Date.UTC(+s[1], +s[2] - 1, +s[3], +s[4], +s[5], +s[6]);
      guess += asUtc - seenUtc;
    }
    return new Date(guess);
  }
  // Keep the instant when the zone beside a When field changes: rewrite the wall time.
  function bindZoneSwitch(input, select, zoneOf) {
    var current = zoneOf(select.value);
    select.addEventListener("change", function () {
      var next = zoneOf(select.value);
      var at = fromWall(input.value, current);
      if (at) input.value = toWall(at, next).slice(0, input.step === "1" ? 19 : 16);
      current = next;
    });
    if (select.form) {  // a reset puts the form's own zone back: read it once it has
      select.form.addEventListener("reset", function () {
        setTimeout(function () { current = zoneOf(select.value); }, 0);
      });
    }
  }
  return { viewerZone: viewerZone, toWall: toWall, fromWall: fromWall, bindZoneSwitch: bindZoneSwitch };
})();
