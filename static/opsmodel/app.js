// After htmx swaps the main region: keep the sidebar's "you are here" mark in step, and
// move focus to the new heading so keyboard and screen-reader users land on the new content.
(function () {
  "use strict";

  function markCurrentSystem() {
    var main = document.getElementById("main");
    if (!main) return;
    var marker = main.querySelector("[data-current-system]");
    var current = marker ? marker.dataset.currentSystem : "";
    document.querySelectorAll("#sidebar a[data-system]").forEach(function (link) {
      if (link.dataset.system === current) {
        link.setAttribute("aria-current", "true");
      } else {
        link.removeAttribute("aria-current");
      }
    });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail.target || event.detail.target.id !== "main") return;
    markCurrentSystem();
    var heading = document.querySelector("#main h1");
    if (heading) heading.focus({ preventScroll: true });
  });

  document.addEventListener("htmx:historyRestore", markCurrentSystem);

  // Collapsible branches of the sidebar tree. Without JavaScript the tree is simply open.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#sidebar .twisty").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") === "true";
        button.setAttribute("aria-expanded", String(!open));
        document.getElementById(button.getAttribute("aria-controls")).hidden = open;
      });
    });
  });
})();
