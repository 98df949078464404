// bidagent console, review queue and review item pages: keyboard shortcuts (j/k move, x select,
// o/Enter open, a approve, r reject, ? help), the selection count, "select all" boxes, change sets
// ticked together, and a confirmation before every decision. No inline scripts (the CSP).
(function () {
  "use strict";

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr[data-item], #held-changes tr[data-change]"));
  }

  function current() { return document.querySelector("tr.cursor"); }

  function moveCursor(step) {
    var all = rows();
    if (!all.length) { return; }
    var at = all.indexOf(current());
    var next = all[Math.min(Math.max(at + step, 0), all.length - 1)];
    if (at < 0) { next = all[0]; }
    all.forEach(function (r) { r.classList.remove("cursor"); });
    next.classList.add("cursor");
    next.scrollIntoView({ block: "nearest" });
  }

  function pickOf(row) { return row ? row.querySelector("input.pick") : null; }

  // A change set is decided whole: ticking one member ticks the others.
  function followSet(box) {
    var row = box.closest("tr[data-set]");
    if (!row) { return; }
    document.querySelectorAll('tr[data-set="' + CSS.escape(row.dataset.set) + '"] input.pick').forEach(function (other) {
      other.checked = box.checked;
    });
  }

  function updateCounts() {
    var selected = document.getElementById("selected-count");
    if (selected) {
      selected.textContent = document.querySelectorAll('input.pick[name="item_ids"]:checked').length + " selected";
    }
    var checked = document.getElementById("checked-count");
    if (checked) {
      var boxes = document.querySelectorAll('input.pick[name="change_ids"]');
      var on = document.querySelectorAll('input.pick[name="change_ids"]:checked');
      checked.textContent = on.length + " of " + boxes.length + " checked";
    }
  }

  function toggle(box) {
    if (!box) { return; }
    box.checked = !box.checked;
    followSet(box);
    updateCounts();
  }

  function submitWith(formId, name, value) {
    var form = document.getElementById(formId);
    if (!form) { return; }
    var button = form.querySelector('button[name="' + name + '"][value="' + value + '"]');
    if (button) { button.click(); }
  }

  function confirmDecision(event) {
    var button = event.submitter;
    if (!button || !button.dataset.confirm) { return; }
    var form = button.form;
    var what;
    if (form.id === "bulk") {
      var n = document.querySelectorAll('input.pick[name="item_ids"]:checked').length;
      if (!n) { event.preventDefault(); window.alert("Select items first (x, or the boxes)."); return; }
      what = n + " item(s)";
      var back = document.getElementById("bulk-back");
      if (back) { back.value = window.location.pathname + window.location.search; }
    } else {
      what = "this item";
    }
    if (!window.confirm(button.dataset.confirm + " " + what + "?")) { event.preventDefault(); }
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var help = document.getElementById("shortcuts");
    var onItem = !!document.getElementById("held-changes");
    switch (event.key) {
      case "j": moveCursor(1); break;
      case "k": moveCursor(-1); break;
      case "x": toggle(pickOf(current())); break;
      case "o":
      case "Enter": {
        var link = current() && current().querySelector("a.open");
        if (!link) { return; }
        window.location.href = link.href;
        break;
      }
      case "a": submitWith(onItem ? "decide" : "bulk", onItem ? "action" : "decision", "approve"); break;
      case "r": submitWith(onItem ? "decide" : "bulk", onItem ? "action" : "decision", "reject"); break;
      case "?": if (help) { help.open = !help.open; } break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.classList && box.classList.contains("select-all")) {
      var table = box.closest("table");
      table.querySelectorAll("input.pick").forEach(function (pick) { pick.checked = box.checked; });
    } else if (box.classList && box.classList.contains("pick")) {
      followSet(box);
    }
    updateCounts();
  });

  document.addEventListener("submit", confirmDecision);
  document.addEventListener("htmx:afterSettle", updateCounts);
  document.addEventListener("DOMContentLoaded", updateCounts);
})();
