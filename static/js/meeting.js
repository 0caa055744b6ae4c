// Retro meeting and actions pages: selects marked data-autosubmit save on change (the Save
// button stays for keyboards and no-JS), and a click on an entry's #reference fills it into
// the open "Merge into…" box, so merging two duplicates is two clicks.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
    });
  });
  document.querySelectorAll(".js-hide").forEach(function (el) { el.style.display = "none"; });
  var lastMergeInput = null;
  document.addEventListener("focusin", function (ev) {
    if (ev.target.name === "keep") lastMergeInput = ev.target;
  });
  document.querySelectorAll(".m-entry .m-ref").forEach(function (ref) {
    ref.setAttribute("role", "button");
    ref.tabIndex = 0;
    function use() {
      if (lastMergeInput && !lastMergeInput.closest("li").contains(ref)) {
        lastMergeInput.value = ref.textContent.trim();
        lastMergeInput.focus();
      }
    }
    ref.addEventListener("click", use);
    ref.addEventListener("keydown", function (ev) { if (ev.key === "Enter") use(); });
  });
})();
