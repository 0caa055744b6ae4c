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
