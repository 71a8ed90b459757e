// Keyboard shortcuts for the reviewer console; every page works without them.
// Queue: j / k move between requests, Enter opens one. A request: a moves to Approve, d to the
// reason of a denial. Keys typed into a field are left alone.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) return;
    var rows = Array.prototype.slice.call(document.querySelectorAll("a[data-row]"));
    var current = rows.indexOf(document.activeElement);
    if ((event.key === "j" || event.key === "k") && rows.length > 0) {
      var next = event.key === "j" ? Math.min(current + 1, rows.length - 1) : Math.max(current - 1, 0);
      rows[next].focus();
      event.preventDefault();
    } else if (event.key === "a" && document.getElementById("approve")) {
      document.getElementById("approve").focus();
      event.preventDefault();
    } else if (event.key === "d" && document.getElementById("reason")) {
      document.getElementById("reason").focus();
      event.preventDefault();
    }
  });
})();
