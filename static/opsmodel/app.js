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
    markCurrentSystem();
    wireTwisties();
    // Content that asks for focus gets it: a conflict message, an inline form's first field,
    // the thing just saved or moved. Otherwise a new main region focuses its heading.
    var wanted = document.querySelector("[data-autofocus]");
    var form = document.querySelector("form[data-focus-first]");
    if (!wanted && form) {
      form.removeAttribute("data-focus-first");
      wanted = form.querySelector("input:not([type=hidden]), select, textarea");
    }
    if (wanted) {
      wanted.removeAttribute("data-autofocus");
      wanted.focus();
      return;
    }
    var target = event.detail.target;
    if (target && target.id === "main") {
      var heading = target.querySelector("h1");
      if (heading) heading.focus({ preventScroll: true });
    }
  });

  document.addEventListener("htmx:historyRestore", markCurrentSystem);

  // Collapsible branches of the sidebar tree. Without JavaScript the tree is simply open.
  function wireTwisties() {
    document.querySelectorAll("#sidebar .twisty[hidden]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") === "true";
        button.setAttribute("aria-expanded", String(!open));
        document.getElementById(button.getAttribute("aria-controls")).hidden = open;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", wireTwisties);
})();
