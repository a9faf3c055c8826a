// The Markdown editor of an SOP's instructions (templates/includes/editor.html): a toolbar
// that edits the selected text (Heading, Numbered list, Bulleted list, Bold, Link; Ctrl/Cmd+B
// and Ctrl/Cmd+K in the box), a "Preview" button that shows the preview below the box on a
// narrow screen (a wide one shows it beside the box), and pictures and files attached with
// the Attach button, pasted or dropped: uploaded to the SOP, then linked at the cursor.
// Kept apart from app.js; everything is delegated from the document, so forms that htmx swaps
// in work as pages loaded whole do. Without JavaScript the box is a plain text box.
(function () {
  "use strict";

  function editorOf(node) {
    return node && node.closest ? node.closest("[data-editor]") : null;
  }

  function boxOf(editor) {
    return editor.querySelector("textarea");
  }

  function wire() {
    document.querySelectorAll("[data-editor]:not([data-ready])").forEach(function (editor) {
      editor.setAttribute("data-ready", "");
      var toolbar = editor.querySelector(".editor-toolbar");
      if (toolbar) {
        toolbar.hidden = false;
        // One stop in the Tab order; the arrow keys, Home and End move along the toolbar.
        toolButtons(toolbar).forEach(function (button, i) {
          button.tabIndex = i === 0 ? 0 : -1;
        });
      }
      var toggle = editor.querySelector(".editor-preview-toggle");
      if (toggle) toggle.hidden = false;
    });
  }
  function toolButtons(toolbar) {
    return Array.prototype.slice.call(toolbar.querySelectorAll("button"));
  }

  document.addEventListener("keydown", function (event) {
    var button = event.target;
    if (!button.closest || !button.closest(".editor-toolbar button")) return;
    var buttons = toolButtons(button.closest(".editor-toolbar"));
    var at = buttons.indexOf(button);
    var to = {
      ArrowRight: at + 1,
      ArrowLeft: at - 1,
      Home: 0,
      End: buttons.length - 1,
    }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    to = (to + buttons.length) % buttons.length;
    buttons.forEach(function (each, i) {
      each.tabIndex = i === to ? 0 : -1;
    });
    buttons[to].focus();
  });

  document.addEventListener("DOMContentLoaded", wire);
  document.addEventListener("htmx:afterSettle", wire);

  // Replace the box's selection (start to end) with `text`, then select from `selectFrom` to
  // `selectTo` within it. execCommand keeps the browser's undo (Ctrl+Z) working; where it is
  // refused, the value is set directly. Either way an input event tells the preview.
  function replace(box, start, end, text, selectFrom, selectTo) {
    box.focus();
    box.setSelectionRange(start, end);
    var done = false;
    try {
      done = document.execCommand("insertText", false, text);
    } catch (error) {
      done = false;
    }
    if (!done || box.value.slice(start, start + text.length) !== text) {
      box.setRangeText(text, start, end, "end");
      box.dispatchEvent(new Event("input", { bubbles: true }));
    }
    box.setSelectionRange(start + selectFrom, start + selectTo);
  }

  // The whole lines the selection touches.
  function lines(box) {
    var value = box.value;
    var start = value.lastIndexOf("\n", box.selectionStart - 1) + 1;
    var end = value.indexOf("\n", box.selectionEnd);
    if (box.selectionEnd > box.selectionStart && value[box.selectionEnd - 1] === "\n") {
      end = box.selectionEnd - 1; // a selection that ends at a line's start stops before it
    }
    if (end < 0) end = value.length;
    return { start: start, end: end, text: value.slice(start, end) };
  }

  var LIST = /^(\s*)(?:[-*+]|\d+[.)])\s+/;

  function prefixLines(box, prefixFor, pattern) {
    var span = lines(box);
    var rows = span.text.split("\n");
    var all = rows.every(function (row) { return !row.trim() || pattern.test(row); });
    var n = 0;
    var changed = rows.map(function (row) {
      if (!row.trim() && rows.length > 1) return row;
      if (all) return row.replace(pattern, "$1"); // pressed again: the prefix goes
      n += 1;
      return prefixFor(n) + row.replace(LIST, "$1").replace(/^#{1,6}\s+/, "");
    });
    var text = changed.join("\n");
    replace(box, span.start, span.end, text, text.length, text.length);
  }

  function wrap(box, before, after, placeholder) {
    var start = box.selectionStart;
    var end = box.selectionEnd;
    var selected = box.value.slice(start, end);
    if (
      selected &&
      box.value.slice(start - before.length, start) === before &&
      box.value.slice(end, end + after.length) === after
    ) {
      // Already wrapped: pressed again, the marks go.
      replace(box, start - before.length, end + after.length, selected, 0, selected.length);
      return;
    }
    var inner = selected || placeholder;
    replace(box, start, end, before + inner + after, before.length, before.length + inner.length);
  }

  function link(box) {
    var start = box.selectionStart;
    var end = box.selectionEnd;
    var selected = box.value.slice(start, end);
    if (/^https?:\/\/\S+$/.test(selected)) {
      var text = "[link text](" + selected + ")";
      replace(box, start, end, text, 1, 10);
      return;
    }
    var label = selected || "link text";
    var url = "https://";
    var text2 = "[" + label + "](" + url + ")";
    // The address is what is left to type: it is selected.
    replace(box, start, end, text2, label.length + 3, label.length + 3 + url.length);
  }

  var ACTIONS = {
    heading: function (box) {
      prefixLines(box, function () { return "## "; }, /^(\s*)#{1,6}\s+/);
    },
    numbered: function (box) {
      prefixLines(box, function (n) { return n + ". "; }, /^(\s*)\d+[.)]\s+/);
    },
    bulleted: function (box) {
      prefixLines(box, function () { return "- "; }, /^(\s*)[-*+]\s+/);
    },
    bold: function (box) {
      wrap(box, "**", "**", "bold text");
    },
    link: link,
    attach: function (box, editor) {
      var input = editor.querySelector(".editor-file");
      if (input) input.click();
    },
  };

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-editor] [data-md]");
    if (button) {
      var editor = editorOf(button);
      ACTIONS[button.dataset.md](boxOf(editor), editor);
      return;
    }
    var toggle = event.target.closest && event.target.closest(".editor-preview-toggle");
    if (toggle) {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      editorOf(toggle).classList.toggle("preview-open", open);
    }
  });

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-editor] textarea")) return;
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
    var key = event.key.toLowerCase();
    if (key === "b" || key === "k") {
      event.preventDefault();
      ACTIONS[key === "b" ? "bold" : "link"](box, editorOf(box));
    }
  });

  // Pictures and files: uploaded with the page's CSRF token, then linked where the cursor
  // was. What is typed meanwhile stays; a refusal says why in the status line under the box.
  function say(editor, text, problem) {
    var status = editor.querySelector(".editor-status");
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("field-error", !!problem);
  }

  function csrfToken(editor) {
    var form = editor.closest("form");
    var field = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function upload(editor, files) {
    var url = editor.dataset.attachUrl;
    var box = boxOf(editor);
    if (!url || !files.length) return;
    var at = box.selectionEnd;
    Array.prototype.slice.call(files).reduce(function (previous, file) {
      return previous.then(function () {
        say(editor, "Uploading " + (file.name || "the picture") + "…");
        var data = new FormData();
        data.append("file", file, file.name || "pasted-picture.png");
        return fetch(url, {
          method: "POST",
          body: data,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(editor), Accept: "application/json" },
        })
          .then(function (response) {
            return response.json().catch(function () {
              return { error: "The upload failed (" + response.status + "). Nothing was attached." };
            });
          })
          .then(function (answer) {
            if (answer.error) {
              say(editor, answer.error, true);
              return;
            }
            var before = box.value.slice(0, at);
            var gap = before && !/\n$/.test(before) ? "\n" : "";
            var text = gap + answer.markdown + "\n";
            replace(box, at, at, text, text.length, text.length);
            at += text.length;
            say(editor, "Attached " + answer.name + ".");
          });
      });
    }, Promise.resolve()).catch(function () {
      say(editor, "The upload did not reach the server; nothing was attached. Try again.", true);
    });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-editor] .editor-file")) return;
    upload(editorOf(input), input.files);
    input.value = "";
  });

  document.addEventListener("paste", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-editor][data-attach-url] textarea")) return;
    var data = event.clipboardData;
    var files = data && data.files;
    // Text copied from a word processor may come with a picture of itself: text wins.
    if (data && data.getData("text/plain")) return;
    if (files && files.length) {
      event.preventDefault();
      upload(editorOf(box), files);
    }
  });

  document.addEventListener("dragover", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-editor][data-attach-url] textarea")) return;
    if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
      event.preventDefault();
      box.classList.add("dropping");
    }
  });

  document.addEventListener("dragleave", function (event) {
    if (event.target.classList) event.target.classList.remove("dropping");
  });

  document.addEventListener("drop", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-editor][data-attach-url] textarea")) return;
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    event.preventDefault();
    box.classList.remove("dropping");
    box.focus();
    upload(editorOf(box), files);
  });
})();
