// After htmx swaps the main region: keep the sidebar's "you are here" mark in step, and
// move focus to the new heading so keyboard and screen-reader users land on the new content.
(function () {
  "use strict";

  // `swapped`: what htmx has just swapped in. The page the person is on changes with the main
  // region (or a history restore): a swap of part of the page that takes the mark with it for a
  // while (an inline edit replaces the breadcrumbs) leaves the mark, and the branches the
  // person opened or closed, as they are.
  function markCurrentSystem(swapped) {
    var main = document.getElementById("main");
    if (!main) return;
    var marker = main.querySelector("[data-current-system]");
    if (!marker && swapped && swapped !== main && swapped.id !== "main") return;
    var current = marker ? marker.dataset.currentSystem : "";
    document.querySelectorAll("#sidebar a[data-system]").forEach(function (link) {
      if (link.dataset.system === current) {
        // Opened once, when the mark arrives: a branch the person closes afterwards stays
        // closed through the page's later swaps (an edit, a tick).
        if (link.getAttribute("aria-current") === "true") return;
        link.setAttribute("aria-current", "true");
        openBranchesAround(link);
      } else {
        link.removeAttribute("aria-current");
      }
    });
  }

  // A large tree comes folded: the way down to the page's own system is opened.
  function openBranchesAround(link) {
    var branch = link.closest("ul[id^='branch-']");
    while (branch) {
      var twisty = document.querySelector("[aria-controls='" + branch.id + "']");
      branch.hidden = false;
      if (twisty) twisty.setAttribute("aria-expanded", "true");
      branch = branch.parentElement.closest("ul[id^='branch-']");
    }
  }

  // A whole page that asks for focus (a plain form posted back with its problems, as an
  // upload is) gets it too, not only what htmx swaps in.
  document.addEventListener("DOMContentLoaded", function () {
    var wanted = document.querySelector("[data-autofocus]");
    if (wanted) {
      wanted.removeAttribute("data-autofocus");
      wanted.focus();
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    markCurrentSystem(event.detail.target);
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

  document.addEventListener("htmx:historyRestore", function () {
    markCurrentSystem();
  });

  // "Saved.", "Deleted …": a short confirmation in the status line at the foot of the window
  // (where it covers no navigation), read out politely by screen readers (role=status), gone
  // after a while or when the person goes to another page. A write's notice arrives with the
  // page it leads to, which htmx fetches itself (HX-Location: the request's element is the
  // body); any other request into the main region is the person going on, and ends it.
  var noticeTimer = null;
  function clearNotice() {
    var notice = document.getElementById("notice");
    clearTimeout(noticeTimer);
    if (notice) notice.textContent = "";
  }
  // `problem`: what could not be done, shown as such (not in the colour of a success).
  function showNotice(text, problem) {
    var notice = document.getElementById("notice");
    if (!notice) return;
    notice.classList.toggle("status-problem", Boolean(problem));
    notice.textContent = text;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(clearNotice, 6000);
  }
  document.addEventListener("notice", function (event) {
    showNotice((event.detail && (event.detail.text || event.detail.value)) || "");
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target && target.id === "main" && event.detail.elt !== document.body) clearNotice();
  });
  document.addEventListener("htmx:historyRestore", clearNotice);
  document.addEventListener("DOMContentLoaded", function () {
    var notice = document.getElementById("notice");
    if (notice && notice.textContent.trim()) showNotice(notice.textContent.trim());
  });

  // The main navigation marks the section the address is in.
  function markSection() {
    var path = window.location.pathname;
    var links = Array.prototype.slice.call(document.querySelectorAll(".mainnav a"));
    var best = null;
    links.forEach(function (link) {
      var href = link.getAttribute("href");
      var match = href === "/"
        ? path === "/" || /^\/(systems|processes|sops)\//.test(path)
        : path.indexOf(href) === 0;
      if (match && (!best || href.length > best.getAttribute("href").length)) best = link;
    });
    links.forEach(function (link) {
      if (link === best) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
    // Where the sections scroll within their row (a phone), the current one is brought into
    // the row's view; only the row scrolls, never the page.
    var nav = best && best.parentNode;
    if (nav && nav.scrollWidth > nav.clientWidth) {
      var left = best.offsetLeft - nav.offsetLeft;
      if (left < nav.scrollLeft || left + best.offsetWidth > nav.scrollLeft + nav.clientWidth) {
        nav.scrollLeft = left - 24;
      }
    }
  }
  document.addEventListener("DOMContentLoaded", markSection);
  document.addEventListener("htmx:pushedIntoHistory", markSection);
  document.addEventListener("htmx:historyRestore", markSection);
  window.addEventListener("popstate", function () { setTimeout(markSection, 0); });

  // A folded branch of a large map: fetched the first time it is opened, then shown and hidden
  // again. Without JavaScript the button stays hidden: each system's own page lists what is
  // inside it.
  function showBranchButtons(root) {
    root.querySelectorAll("[data-branch][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { showBranchButtons(document); });
  document.addEventListener("htmx:afterSettle", function () { showBranchButtons(document); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-branch]");
    if (!button) return;
    var branch = document.getElementById(button.getAttribute("aria-controls"));
    function show(open) {
      branch.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
    }
    if (button.getAttribute("aria-expanded") === "true") return show(false);
    if (branch.childElementCount) return show(true);
    if (button.getAttribute("aria-busy")) return;
    button.setAttribute("aria-busy", "true");
    // From the body, which pushes no address: the branch is part of this page.
    // Whatever the answer, the button works again; when the branch could not be fetched (the
    // network, an error) it stays closed and the status line says so, to try again.
    function done() {
      button.removeAttribute("aria-busy");
      if (branch.childElementCount) {
        // Its move forms work from the moment it shows: htmx would set them up only when the
        // swap settles, a moment after the request's promise is kept.
        htmx.process(branch);
        return show(true);
      }
      showNotice("Could not open " + (button.dataset.name || "that branch") + ": try again.", true);
    }
    htmx.ajax("GET", button.dataset.branch, { source: document.body, target: branch, swap: "innerHTML" })
      .then(done, done);
  });

  // Collapsible branches of the sidebar tree (which only comes with JavaScript, by htmx).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("#sidebar .twisty");
    if (!button) return;
    var open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", String(!open));
    document.getElementById(button.getAttribute("aria-controls")).hidden = open;
  });

  // A button that copies a field's text (a new API token): to the clipboard, said in the
  // status line; where the clipboard is not allowed, the text is selected to copy by hand.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    var field = button && document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { showNotice("Copied."); },
        function () { showNotice("Selected: press Ctrl+C (⌘C) to copy."); }
      );
    } else {
      showNotice("Selected: press Ctrl+C (⌘C) to copy.");
    }
  });

  // A Markdown import's preview: a row's owner is text with a Change button until changed (one
  // list of people for every row, not a list in each of hundreds of rows).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-owner-pick]");
    var template = document.getElementById("owner-choices");
    if (!button || !template) return;
    var box = button.closest("[data-owner-row]");
    var kept = box.querySelector("input[type=hidden]");
    var select = template.content.querySelector("select").cloneNode(true);
    select.name = select.id = button.getAttribute("data-owner-pick");
    select.value = kept ? kept.value : "";
    select.setAttribute("aria-label", button.getAttribute("aria-label").replace("Change the owner", "Owner"));
    box.replaceChildren(select);
    select.focus();
  });

  // A button that prints the page (no inline handler: the CSP forbids them).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });

  // "Add a tool" sits inside a system's or an SOP's form without being a form (forms do not
  // nest): Enter in one of its fields adds the tool, as it would submit a form of its own,
  // rather than saving the whole form around it.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.matches) return;
    if (!event.target.matches("[data-add-tool] input, [data-add-tool] select")) return;
    event.preventDefault();
    var block = event.target.closest("[data-add-tool]");
    var button = block && block.querySelector("[data-add-tool-button]");
    if (button) button.click();
  });

  // On a phone the systems tree starts folded (it is folded in the markup, so nothing moves
  // when the page loads), so the page's own content comes first; a wider screen opens it. It
  // keeps whatever state the person gives it.
  var phone = window.matchMedia("(max-width: 50rem)");
  var systemsOpen = !phone.matches;
  function applySidebarState() {
    var details = document.querySelector("#sidebar .sidebar-systems");
    if (!details) return;
    details.open = systemsOpen;
    details.setAttribute("data-settled", "");
    details.addEventListener("toggle", function () {
      systemsOpen = details.open;
    });
  }
  document.addEventListener("DOMContentLoaded", applySidebarState);

  // Drag and drop to reorder steps. The ↑ ↓ buttons on each step do the same from the
  // keyboard (and without JavaScript); this only adds the pointer's way.
  var dragged = null;
  var dropped = false;
  var original = null;

  function wireSteps() {
    document.querySelectorAll(".road[data-order-url] > .road-step:not([draggable])").forEach(
      function (step) {
        step.setAttribute("draggable", "true");
      }
    );
  }

  document.addEventListener("dragstart", function (event) {
    var step = event.target.closest && event.target.closest(".road[data-order-url] > .road-step");
    if (!step) return;
    dragged = step;
    dropped = false;
    original = { parent: step.parentNode, next: step.nextSibling };
    step.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", step.dataset.step);
  });

  document.addEventListener("dragover", function (event) {
    if (!dragged) return;
    var over = event.target.closest && event.target.closest(".road-step");
    if (!over || over.parentNode !== dragged.parentNode) return;
    event.preventDefault();
    if (over === dragged) return;
    var box = over.getBoundingClientRect();
    // One column (a phone): before or after by height; rows of steps: by left and right.
    var vertical = getComputedStyle(over.parentNode).gridTemplateColumns.split(" ").length === 1;
    var after = vertical
      ? event.clientY > box.top + box.height / 2
      : event.clientX > box.left + box.width / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });

  document.addEventListener("drop", function (event) {
    if (!dragged) return;
    event.preventDefault();
    dropped = true;
  });

  document.addEventListener("dragend", function () {
    if (!dragged) return;
    var road = dragged.parentNode;
    dragged.classList.remove("dragging");
    if (!dropped) {
      // Cancelled (Esc, or dropped outside the road): put the step back, save nothing.
      original.parent.insertBefore(dragged, original.next);
      dragged = null;
      return;
    }
    dragged = null;
    var order = Array.prototype.map.call(road.children, function (step) {
      return step.dataset.step;
    });
    htmx.ajax("POST", road.dataset.orderUrl, {
      source: document.getElementById("steps-order-source"),
      target: "#steps",
      swap: "outerHTML",
      values: { order: order.join(",") },
    });
  });

  document.addEventListener("DOMContentLoaded", wireSteps);
  document.addEventListener("htmx:afterSettle", wireSteps);
  // Mentions: typing @ and a few letters in a comment box offers the people who work here in
  // a list under the box, as an ARIA combobox does: the arrow keys move through the options
  // (aria-activedescendant: the focus stays in the box), Enter or Tab mentions the one chosen,
  // Escape closes the list, and a live region says how many people match. The box stays a
  // textarea (a multi-line text box to screen readers); without JavaScript, typing
  // @username by hand does the same.
  var MENTION_BEFORE = /(^|[^\w.@+-])@([\w.+-]{1,30})$/;

  function mentionState(box) {
    if (box.mention) return box.mention;
    var list = document.createElement("ul");
    list.id = box.id + "-people";
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "People to mention");
    list.hidden = true;
    var live = document.createElement("p");
    live.className = "visually-hidden";
    live.setAttribute("role", "status");
    box.parentNode.appendChild(list);
    box.parentNode.appendChild(live);
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", list.id);
    box.mention = { list: list, live: live, people: [], active: -1, start: -1, asked: 0 };
    return box.mention;
  }

  function closeMentions(box, said) {
    var state = mentionState(box);
    state.list.hidden = true;
    state.list.textContent = "";
    state.people = [];
    state.active = -1;
    state.asked += 1; // an answer still on its way is for a list no longer wanted
    box.removeAttribute("aria-activedescendant");
    state.live.textContent = said || "";
  }

  function showMentions(box, people) {
    var state = mentionState(box);
    state.people = people;
    state.active = -1;
    state.list.textContent = "";
    box.removeAttribute("aria-activedescendant");
    people.forEach(function (person, i) {
      var option = document.createElement("li");
      option.id = state.list.id + "-" + i;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      var name = document.createElement("span");
      name.textContent = person.name;
      var username = document.createElement("span");
      username.className = "mention-username";
      username.textContent = "@" + person.username;
      option.appendChild(name);
      option.appendChild(document.createTextNode(" "));
      option.appendChild(username);
      option.addEventListener("mousedown", function (event) {
        event.preventDefault(); // the box keeps the focus
        chooseMention(box, i);
      });
      state.list.appendChild(option);
    });
    state.list.hidden = people.length === 0;
    state.live.textContent = people.length
      ? people.length + (people.length === 1 ? " person" : " people") +
        " to mention: arrow keys to choose, Enter to mention, Escape to close."
      : "Nobody here has that name.";
  }

  function moveMention(box, by) {
    var state = mentionState(box);
    var count = state.people.length;
    if (!count) return;
    state.active = state.active < 0 && by < 0 ? count - 1 : (state.active + by + count) % count;
    Array.prototype.forEach.call(state.list.children, function (option, i) {
      option.setAttribute("aria-selected", String(i === state.active));
    });
    var active = state.list.children[state.active];
    box.setAttribute("aria-activedescendant", active.id);
    active.scrollIntoView({ block: "nearest" });
  }

  function chooseMention(box, i) {
    var state = mentionState(box);
    var person = state.people[i];
    if (!person || state.start < 0) return;
    var before = box.value.slice(0, state.start);
    var after = box.value.slice(box.selectionStart);
    var mention = "@" + person.username + " ";
    box.value = before + mention + after;
    var caret = before.length + mention.length;
    box.setSelectionRange(caret, caret);
    closeMentions(box, "Mentioned " + person.name + ".");
  }

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("textarea[data-mentions]")) return;
    var state = mentionState(box);
    var typed = MENTION_BEFORE.exec(box.value.slice(0, box.selectionStart));
    if (!typed) {
      if (!state.list.hidden) closeMentions(box);
      return;
    }
    state.start = box.selectionStart - typed[2].length - 1;
    var asked = ++state.asked;
    clearTimeout(state.timer);
    state.timer = setTimeout(function () {
      fetch(box.dataset.mentions + "?q=" + encodeURIComponent(typed[2]), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) { return response.ok ? response.json() : { people: [] }; })
        .then(function (data) { if (asked === state.asked) showMentions(box, data.people || []); })
        .catch(function () {});
    }, 150);
  });

  // Typing is never lost. What is typed in a form marked data-draft is kept in this tab's
  // sessionStorage as it is typed, until the form is sent. When the form shows again (Back, a
  // reload, the sidebar or search and then Back) it is filled in again, with a line saying so
  // and a button to discard it; when the page the form was opened on shows without it (an
  // inline edit closed by leaving), a line offers to open it again. The hidden version goes
  // with it, so a draft of something saved meanwhile meets the usual "someone else saved"
  // check instead of overwriting it.
  var DRAFT = "opsmodel-draft:";
  var restoring = false; // a draft being put back is not new typing
  var DRAFT_DAYS = 1;

  function draftKey(form) {
    return DRAFT + form.getAttribute("action");
  }
  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrfmiddlewaretoken" && el.type !== "submit" &&
        el.type !== "button" && el.type !== "file" && el.type !== "password" &&
        !el.closest("[data-add-tool]");  // a tool added there is saved at once, not drafted
    });
  }
  // "Add a tool" redraws the software checkboxes inside a form that is being typed in: the
  // form is not shown again, so nothing is restored into it; its draft takes the new tool.
  function fromAddTool(event) {
    var elt = event.detail && event.detail.elt;
    return Boolean(elt && elt.closest && elt.closest("[data-add-tool]"));
  }
  function fieldChanged(el) {
    if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
    if (el.tagName === "SELECT") {
      return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    return el.type !== "hidden" && el.value !== el.defaultValue;
  }
  function formChanged(form) {
    return draftFields(form).some(fieldChanged);
  }
  function formTitle(form) {
    if (form.dataset.draftTitle) return form.dataset.draftTitle;
    var heading = form.querySelector("h2, h3, legend") ||
      (form.closest("#main") && document.querySelector("#main h1"));
    return heading ? heading.textContent.replace(/\s+/g, " ").trim() : "a form";
  }
  function readDraft(key) {
    try {
      var draft = JSON.parse(sessionStorage.getItem(key) || "null");
      if (draft && Date.now() - draft.at < DRAFT_DAYS * 864e5) return draft;
      sessionStorage.removeItem(key);
    } catch (e) { /* storage unavailable or garbled: nothing kept */ }
    return null;
  }
  function forgetDraft(key) {
    try { sessionStorage.removeItem(key); } catch (e) { /* nothing kept */ }
  }
  function keepDraft(form) {
    var key = draftKey(form);
    if (!formChanged(form)) { forgetDraft(key); return; }
    var values = draftFields(form).map(function (el) {
      if (el.type === "checkbox" || el.type === "radio") return [el.name, el.value, el.checked];
      if (el.tagName === "SELECT") {
        return [el.name, Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; })];
      }
      return [el.name, el.value];
    });
    var draft = { at: Date.now(), page: window.location.pathname, title: formTitle(form), values: values };
    try { sessionStorage.setItem(key, JSON.stringify(draft)); } catch (e) { /* full: not kept */ }
  }
  function fillDraft(form, draft) {
    var fields = draftFields(form);
    draft.values.forEach(function (value) {
      fields.filter(function (el) { return el.name === value[0]; }).forEach(function (el) {
        if (el.type === "checkbox" || el.type === "radio") {
          if (el.value === value[1]) el.checked = value[2];
        } else if (el.tagName === "SELECT") {
          Array.prototype.forEach.call(el.options, function (o) { o.selected = value[1].indexOf(o.value) >= 0; });
        } else {
          el.value = value[1];
        }
      });
    });
    // Whatever follows the typing (the Markdown preview) follows the restored text too.
    restoring = true;
    fields.forEach(function (el) {
      if (el.tagName === "TEXTAREA") el.dispatchEvent(new Event("input", { bubbles: true }));
    });
    restoring = false;
  }
  function draftLine(text, actions) {
    var line = document.createElement("div");
    line.className = "draft-line";
    line.setAttribute("role", "status");
    var words = document.createElement("span");
    words.textContent = text;
    line.appendChild(words);
    actions.forEach(function (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button " + (action.quiet ? "button-quiet" : "button-secondary");
      button.textContent = action.label;
      button.addEventListener("click", function () { action.run(line); });
      line.appendChild(button);
    });
    return line;
  }
  function clock(at) {
    return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }
  function restoreDrafts() {
    var shown = {};
    document.querySelectorAll("form[data-draft]").forEach(function (form) {
      var key = draftKey(form);
      shown[key] = true;
      var draft = readDraft(key);
      if (!draft || form.querySelector(".draft-line")) return;
      fillDraft(form, draft);
      if (!formChanged(form)) { forgetDraft(key); return; }
      form.prepend(draftLine(
        "Restored what you typed here at " + clock(draft.at) + " and had not saved.",
        [{ label: "Discard it", quiet: true, run: function (line) {
          forgetDraft(key);
          line.remove();
          form.reset();
          fillDraft(form, { values: [] });
          var first = form.querySelector("input:not([type=hidden]), select, textarea");
          if (first) first.focus();
        } }]
      ));
    });
    // Drafts of forms opened on this page that it does not show now: offer them.
    var main = document.getElementById("main");
    if (!main || main.querySelector(".draft-elsewhere")) return;
    var here = window.location.pathname;
    for (var i = 0; i < sessionStorage.length; i++) {
      var key = sessionStorage.key(i);
      if (key.indexOf(DRAFT) !== 0 || shown[key]) continue;
      var draft = readDraft(key);
      if (!draft || draft.page !== here) continue;
      var action = key.slice(DRAFT.length);
      var opener = main.querySelector('a[href="' + action.replace(/"/g, "") + '"]');
      var line = draftLine("You have unsaved changes in “" + draft.title + "”, typed at " + clock(draft.at) + ".", [
        { label: "Open it", run: (function (opener, action) {
          return function (line) {
            line.remove();
            if (opener) opener.click();
            else window.location.assign(action);
          };
        })(opener, action) },
        { label: "Discard", quiet: true, run: (function (key) {
          return function (line) { forgetDraft(key); line.remove(); };
        })(key) },
      ]);
      line.classList.add("draft-elsewhere");
      var heading = main.querySelector("h1");
      var header = heading && heading.closest("header, .page-header");
      if (header || heading) (header || heading).after(line);
      else main.prepend(line);
      break; // one at a time
    }
  }
  document.addEventListener("input", function (event) {
    var form = event.target.form || (event.target.closest && event.target.closest("form"));
    // (The editor's toolbar and an attached picture change the text too: kept as typing is.)
    if (form && form.hasAttribute("data-draft") && !restoring) keepDraft(form);
  });
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-draft") && !restoring) keepDraft(form);
  });
  // Sent, the draft ends once the answer has come (a form sent back with errors holds what
  // was sent). An answer that is not one (no answer, an error page, a redirect to log in
  // again) keeps it. A whole-page POST ends it as it leaves. Logging out forgets every draft:
  // the next person in this tab is not offered them.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (/\/logout\/$/.test(form.getAttribute("action") || "")) {
      try {
        Object.keys(sessionStorage).forEach(function (key) {
          if (key.indexOf(DRAFT) === 0) sessionStorage.removeItem(key);
        });
      } catch (e) { /* nothing kept */ }
    }
    if (!form.hasAttribute("data-draft")) return;
    form.setAttribute("data-sent", "");
    if (!form.hasAttribute("data-hx-post")) forgetDraft(draftKey(form));
  }, true);
  // (Before the answer is swapped in and settled: a form that comes back must not be filled
  // with what it has just saved.)
  function sentBy(event) {
    // The element whose request it is (the event's own `elt` may be the target instead).
    return (event.detail.requestConfig && event.detail.requestConfig.elt) || event.detail.elt;
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = sentBy(event);
    var xhr = event.detail.xhr;
    if (!form || !form.matches || !form.matches("form[data-draft]") || !xhr) return;
    if (xhr.status >= 200 && xhr.status < 300 && !xhr.getResponseHeader("HX-Redirect")) {
      forgetDraft(draftKey(form));
    }
  });
  ["htmx:sendError", "htmx:timeout", "htmx:responseError"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var form = sentBy(event);
      if (form && form.matches && form.matches("form[data-draft]") && form.isConnected) {
        form.removeAttribute("data-sent");
        keepDraft(form);
      }
    });
  });
  // Leaving a page with unsaved typing inside the app keeps it as a draft and says how to get
  // it back; leaving the app (closing the tab, another site) asks first.
  var leftDraft = "";
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (!target || event.detail.requestConfig.verb !== "get") return;
    var forms = target.querySelectorAll ? target.querySelectorAll("form[data-draft]") : [];
    var elt = event.detail.elt;
    if (elt && elt.closest && elt.closest("[data-cancel]")) return; // Cancel means it
    Array.prototype.some.call(forms, function (form) {
      if (form.hasAttribute("data-sent") || !formChanged(form)) return false;
      keepDraft(form);
      leftDraft = formTitle(form);
      return true;
    });
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (fromAddTool(event)) {
      var form = document.querySelector("[data-add-tool]");
      form = form && form.closest("form[data-draft]");
      if (form) keepDraft(form);
      return;
    }
    restoreDrafts();
    if (leftDraft && !document.querySelector("#main .draft-line")) {
      showNotice("What you typed in “" + leftDraft + "” is kept: Back brings it back.");
    }
    leftDraft = "";
  });
  document.addEventListener("DOMContentLoaded", restoreDrafts);
  document.addEventListener("htmx:historyRestore", restoreDrafts);
  window.addEventListener("beforeunload", function (event) {
    var dirty = Array.prototype.some.call(document.querySelectorAll("form[data-draft]:not([data-sent])"), formChanged);
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });

  // The search box pushes a new history entry when it leaves a page and replaces it while the
  // person goes on typing, so Back returns to the page searched from (and its draft).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var box = event.detail.elt;
    if (!box || box.id !== "site-search") return;
    var searching = window.location.pathname === box.form.getAttribute("action");
    box.setAttribute(searching ? "data-hx-replace-url" : "data-hx-push-url", "true");
    box.removeAttribute(searching ? "data-hx-push-url" : "data-hx-replace-url");
  });

  // Escape closes an inline edit as its Cancel would (asking first if something was typed).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented || event.isComposing) return;
    var box = event.target;
    if (box.mention && !box.mention.list.hidden) return; // Escape closes the list first
    var form = box.closest && box.closest("form[data-escape-cancels]");
    var cancel = form && form.querySelector("[data-cancel]");
    if (!cancel) return;
    if (formChanged(form) && !window.confirm("Discard what you typed in “" + formTitle(form) + "”?")) return;
    event.preventDefault();
    forgetDraft(draftKey(form));
    cancel.click();
  });
  // Cancel means it: what was typed goes with the form.
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("[data-cancel]");
    var form = cancel && cancel.closest("form");
    if (form) forgetDraft(draftKey(form));
  });

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("textarea[data-mentions]") || !box.mention) return;
    var state = box.mention;
    if (state.list.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      moveMention(box, event.key === "ArrowDown" ? 1 : -1);
    } else if ((event.key === "Enter" || event.key === "Tab") && state.active >= 0) {
      event.preventDefault();
      chooseMention(box, state.active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeMentions(box, "Closed.");
    }
  });

  document.addEventListener("focusout", function (event) {
    var box = event.target;
    if (box.matches && box.matches("textarea[data-mentions]") && box.mention) closeMentions(box);
  });
})();
