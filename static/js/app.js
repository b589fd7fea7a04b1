// Small behaviour the templates cannot express without inline script (CSP forbids it).

// What the script says, in the page's language: base.html's #ui-text JSON block. fill() puts values in
// its %(name)s placeholders.
var TEXT = (function () {
  var block = document.getElementById("ui-text");
  return block ? JSON.parse(block.textContent) : {};
}());

function fill(text, values) {
  return text.replace(/%\((\w+)\)s/g, function (whole, name) {
    return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
  });
}

// --- Keyboard and copying: "?" opens the shortcut list (the top bar's button too), "/" goes to the
// page's search, "g" then a key opens a main page whose navigation link carries that key (so only pages
// the role may open), and a [data-copy] button copies its id, said in #copy-status.
(function () {
  "use strict";

  var GO_WAIT_MS = 1500;
  var goPressedAt = 0;  // when "g" was pressed: the next key within GO_WAIT_MS picks the page
  var openedFrom = null;  // what had focus before the shortcut list opened, to give it back

  function typing(target) {
    return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
  }

  function shortcuts() {
    return document.getElementById("shortcuts");
  }

  function openShortcuts() {
    var dialog = shortcuts();
    if (!dialog || dialog.open) { return; }
    openedFrom = document.activeElement;
    dialog.showModal();  // modal: focus stays inside, Escape closes
  }

  // "close" does not bubble: caught on the way down.
  document.addEventListener("close", function (event) {
    if (event.target !== shortcuts()) { return; }
    if (openedFrom && document.contains(openedFrom)) { openedFrom.focus(); }
    openedFrom = null;
  }, true);

  function goTo(key) {
    var links = document.querySelectorAll('#main-nav a[data-go-key]');
    var link = Array.prototype.find.call(links, function (a) { return a.getAttribute("data-go-key") === key; });
    if (link) { link.click(); }
    return Boolean(link);
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (shortcuts() && shortcuts().open) { return; }
    var key = event.key;
    var afterG = Date.now() - goPressedAt < GO_WAIT_MS;
    goPressedAt = 0;
    if (afterG) {
      if (goTo(key)) { event.preventDefault(); }
    } else if (key === "?") {
      event.preventDefault();
      openShortcuts();
    } else if (key === "/") {
      var search = document.querySelector('#main input[type="search"]');
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    } else if (key === "g") {
      goPressedAt = Date.now();
    }
  });

  function announce(text) {
    var status = document.getElementById("copy-status");
    if (!status) { return; }
    status.textContent = "";
    // Emptied first and filled a moment later, so a second "Copied" is announced again.
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  function copy(button) {
    if (!navigator.clipboard) {
      announce(TEXT.not_copied_here);
      return;
    }
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      announce(TEXT.copied);
      button.textContent = TEXT.copied;  // its accessible name (aria-label, when set) stays "Copy …"
      window.setTimeout(function () { button.textContent = label; }, 2000);
    }, function () {
      announce(TEXT.not_copied);
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) { return; }
    if (target.closest("#shortcuts-open")) {
      openShortcuts();
    } else if (target.closest("#shortcuts-close")) {
      shortcuts().close();
    } else if (target.closest("[data-copy]")) {
      copy(target.closest("[data-copy]"));
    }
  });
})();

(function () {
  "use strict";

  function flash(message) {
    var region = document.getElementById("flash");
    if (!region) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-error";  // #flash is the live region that announces it
    p.textContent = message;
    region.replaceChildren(p);
  }

  // --- Live updates (DESIGN §6): one poll of /live a second for the topics of the page's live regions.
  // A region is an element with data-live-topic ("payment:12" for one object, "payment" for a list;
  // several separated by spaces) and data-live-cursor (the newest event id when it was rendered). A detail
  // region gets the htmx event "live" and re-renders itself, at most once per data-live-every ms when it
  // says so (a report section). A list region (data-live-count) never moves its rows: the server counts
  // its new rows into its bar, and shown rows whose objects changed are re-rendered in place.
  var POLL_MS = 1000;
  var MAX_DELAY_MS = 15000;
  var live = { cursor: null, seen: new Set(), lastSync: null, failures: 0, signedOut: false, timer: null, busy: false };
  var reopen = [];
  var refreshed = {};  // region id → when it was last told to refresh
  var waiting = {};  // region id → the timer of its next refresh

  function topicsOf(region) {
    return (region.getAttribute("data-live-topic") || "").split(" ").filter(Boolean);
  }

  // A list whose rows record no events (the audit log, the inbox) names its table in
  // data-live-newest-of and its newest key when rendered in data-live-newest: the poll asks for the
  // table's newest key, and a newer one has the server count the new rows.
  function liveRegions() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-live-topic], [data-live-newest-of]"));
  }

  function renderedCursor(region) {
    return parseInt(region.getAttribute("data-live-cursor"), 10) || 0;
  }

  function concerns(region, event) {
    return event.id > renderedCursor(region) && topicsOf(region).some(function (topic) {
      return topic === event.topic || topic === event.object_type ||
        (event.notification_id !== null && topic === "notification:" + event.notification_id);
    });
  }

  // Said once through #live-announce (role="status"); clearing it first makes a repeat heard again.
  function announce(text) {
    var region = document.getElementById("live-announce");
    if (!region || !text) { return; }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  // The bar's count may change every second; it is said at most every BAR_ANNOUNCE_MS, the latest
  // text at the end of a quiet spell.
  var BAR_ANNOUNCE_MS = 10000;
  var barSaid = { at: 0, timer: null, text: "" };
  function announceBar(text) {
    barSaid.text = text;
    if (barSaid.timer !== null) { return; }
    var wait = barSaid.at + BAR_ANNOUNCE_MS - Date.now();
    barSaid.timer = window.setTimeout(function () {
      barSaid.timer = null;
      barSaid.at = Date.now();
      announce(barSaid.text);
    }, Math.max(wait, 0));
  }

  function barText(container) {
    return Array.prototype.map.call(container.querySelectorAll("button:not([hidden]), p"), function (part) {
      return part.textContent.trim();
    }).filter(Boolean).join("; ");
  }

  // Focus inside an element about to be replaced: found again in its replacement by id, else by its
  // place among the focusable elements, else the page's heading (never the top of the page).
  var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";
  function focusKeeper(old) {
    var active = document.activeElement;
    if (!active || active === document.body || !old.contains(active)) { return function () {}; }
    var id = active.id;
    var place = Array.prototype.indexOf.call(old.querySelectorAll(FOCUSABLE), active);
    return function (replacement) {
      var target = (id && document.getElementById(id)) ||
        (replacement && place >= 0 ? replacement.querySelectorAll(FOCUSABLE)[place] : null);
      if (target && !target.closest("[hidden]") && target.getClientRects().length) {
        target.focus({ preventScroll: true });
      } else {
        focusHeading();
      }
    };
  }

  function focusHeading() {
    var heading = document.querySelector("#main h1");
    if (!heading) { return; }
    if (!heading.hasAttribute("tabindex")) { heading.setAttribute("tabindex", "-1"); }
    heading.focus({ preventScroll: true });
  }

  function fetchFragment(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", redirect: "manual",
                        headers: { "X-Live-Refresh": "true" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("live fragment answered " + response.status); }
        return response.text();
      });
  }

  function parsed(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // A list whose region names data-live-count asks the server how many rows created since its
  // cursor its filters match (one request at a time; another is asked for if events came meanwhile).
  var counting = {};  // region id → "busy" or "again"
  function countNew(region) {
    var id = region.id;
    if (counting[id]) { counting[id] = "again"; return; }
    counting[id] = "busy";
    fetchFragment(region.getAttribute("data-live-count"))
      .then(function (html) {
        var current = document.getElementById(id);
        var old = current && current.querySelector("#live-bar");
        var fresh = parsed(html).querySelector("#live-bar");
        if (!old || !fresh) { return; }
        var restore = focusKeeper(old);
        var before = barText(old);
        old.replaceWith(fresh);
        htmx.process(fresh);
        restore(fresh);
        if (barText(fresh) !== before) { announceBar(barText(fresh)); }
      })
      .catch(function () {})
      .then(function () {
        var again = counting[id] === "again";
        delete counting[id];
        var current = document.getElementById(id);
        if (again && current) { countNew(current); }
      });
  }

  // Shown rows whose objects changed are re-rendered in place (same ids, same places) and marked
  // for a moment; rows never move and new ones are never inserted.
  var HIGHLIGHT_MS = 2000;
  function refreshRows(region, rowIds) {
    var url = region.getAttribute("data-live-rows");
    var query = rowIds.map(function (rowId) { return "id=" + encodeURIComponent(rowId.split("-").pop()); });
    fetchFragment(url + "?" + query.join("&"))
      .then(function (html) {
        Array.prototype.forEach.call(parsed(html).querySelectorAll("tr[id]"), function (row) {
          var old = document.getElementById(row.id);
          if (!old || !region.isConnected || !region.contains(old)) { return; }
          var restore = focusKeeper(old);
          old.replaceWith(row);
          htmx.process(row);
          restore(row);
          row.classList.add("live-changed");
          window.setTimeout(function () { row.classList.remove("live-changed"); }, HIGHLIGHT_MS);
        });
      })
      .catch(function () {});
  }

  function countNewest(newest) {
    liveRegions().forEach(function (region) {
      var table = region.getAttribute("data-live-newest-of");
      var key = table && newest[table];
      var since = Math.max(parseInt(region.getAttribute("data-live-newest"), 10) || 0, region.liveCounted || 0);
      if (key && key > since) {
        region.liveCounted = key;
        countNew(region);
      }
    });
  }

  function apply(events) {
    liveRegions().forEach(function (region) {
      var mine = events.filter(function (event) { return concerns(region, event); });
      if (!mine.length) { return; }
      if (!region.hasAttribute("data-live-count")) {
        refresh(region);
        return;
      }
      // A list of objects with events counts on their creation; the others on their table's newest key.
      var created = mine.some(function (event) { return event.kind === "created"; });
      if (created && !region.hasAttribute("data-live-newest-of")) { countNew(region); }
      if (!region.hasAttribute("data-live-rows")) { return; }
      // Rows are the events' objects, or (data-live-rows-by="notification") the notifications named.
      var by = region.getAttribute("data-live-rows-by");
      var shown = [];
      mine.forEach(function (event) {
        var key = by ? event[by + "_id"] : event.object_id;
        var rowId = (by || event.object_type) + "-" + key;
        var row = key === null || key === undefined ? null : document.getElementById(rowId);
        if ((by || event.kind !== "created") && row && region.contains(row) && shown.indexOf(rowId) < 0) {
          shown.push(rowId);
        }
      });
      if (shown.length) { refreshRows(region, shown); }
    });
  }

  // A region that re-renders at most every N ms: one refresh now, or one when the N ms are up. The
  // swap replaces the element, so the timing is kept by its id.
  function refresh(region) {
    var every = parseInt(region.getAttribute("data-live-every"), 10) || 0;
    var id = region.id;
    var wait = every && id ? (refreshed[id] || 0) + every - Date.now() : 0;
    if (wait <= 0) {
      refreshed[id] = Date.now();
      htmx.trigger(region, "live");
    } else if (!waiting[id]) {
      waiting[id] = window.setTimeout(function () {
        delete waiting[id];
        var current = document.getElementById(id);
        if (current) { refresh(current); }
      }, wait);
    }
  }

  function showStatus() {
    var status = document.getElementById("live-status");
    if (!status) { return; }
    status.hidden = liveRegions().length === 0;
    var text = TEXT.syncing;
    if (live.signedOut) {
      text = TEXT.signed_out;
    } else if (live.failures) {
      text = TEXT.retrying;
    } else if (live.lastSync !== null) {
      text = fill(TEXT.synced, { seconds: Math.floor((Date.now() - live.lastSync) / 1000) });
    }
    status.textContent = text;
    status.classList.toggle("live-status-error", live.signedOut || live.failures > 0);
  }

  function schedule() {
    if (live.signedOut || live.timer !== null || document.hidden) { return; }
    var delay = live.failures ? Math.min(POLL_MS * Math.pow(2, live.failures), MAX_DELAY_MS) : POLL_MS;
    live.timer = window.setTimeout(poll, delay);
  }

  function poll() {
    live.timer = null;
    var regions = liveRegions();
    var url = document.body.getAttribute("data-live-url");
    if (document.hidden || live.busy || live.signedOut) { return; }
    if (!regions.length || !url) { schedule(); return; }
    if (live.cursor === null) {
      live.cursor = Math.min.apply(null, regions.map(renderedCursor));
    }
    var topics = Array.from(new Set([].concat.apply([], regions.map(topicsOf))));
    var tables = regions.map(function (region) { return region.getAttribute("data-live-newest-of"); }).filter(Boolean);
    url += "?after=" + live.cursor + topics.map(function (topic) { return "&topic=" + encodeURIComponent(topic); }).join("") +
      Array.from(new Set(tables)).map(function (table) { return "&newest=" + encodeURIComponent(table); }).join("");
    live.busy = true;
    fetch(url, { credentials: "same-origin", cache: "no-store", redirect: "manual", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 401) {
          live.signedOut = true;  // the session ended (idle timeout, sign-out elsewhere)
        }
        if (!response.ok) { throw new Error("live poll answered " + response.status); }
        return response.json();
      })
      .then(function (body) {
        // The server re-reads a window behind the cursor: ids seen in the last answer are the only
        // ones that can come again, so they are all there is to remember.
        var fresh = body.events.filter(function (event) { return !live.seen.has(event.id); });
        live.seen = new Set(body.events.map(function (event) { return event.id; }));
        live.cursor = Math.max(live.cursor, body.cursor);
        live.lastSync = Date.now();
        live.failures = 0;
        apply(fresh);
        countNewest(body.newest || {});
      })
      .catch(function () {
        live.failures += 1;
      })
      .then(function () {
        live.busy = false;
        showStatus();
        schedule();
      });
  }

  // Hidden tabs do not poll; coming back polls at once.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { return; }
    window.clearTimeout(live.timer);
    poll();
  });

  // A live re-render (or the bar's "show") keeps open the <details> the reader opened (they carry
  // stable ids) and keeps focus where it was (htmx refocuses an element whose id survives the swap;
  // otherwise see focusKeeper). A detail region whose state in words changed says so once.
  var swapping = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.hasAttribute && target.hasAttribute("data-live-topic")) {
      reopen = Array.prototype.map.call(target.querySelectorAll("details[open][id]"), function (details) {
        return details.id;
      });
      swapping = { id: target.id, says: target.getAttribute("data-live-says"), restore: focusKeeper(target) };
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    reopen.forEach(function (id) {
      var details = document.getElementById(id);
      if (details) { details.open = true; }
    });
    reopen = [];
    if (swapping === null) { return; }
    var current = document.getElementById(swapping.id);
    var active = document.activeElement;
    if (!active || active === document.body || !active.isConnected || active.closest("[hidden]")) {
      swapping.restore(current);
    }
    var says = current && current.getAttribute("data-live-says");
    if (says && swapping.says && says !== swapping.says) { announce(says); }
    swapping = null;
  });

  // A filter form's change (a select walked with the arrow keys) replaces the address instead of
  // adding a history entry per step; submitting the form adds one.
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!form.hasAttribute || !form.hasAttribute("data-replace-url-on-change")) { return; }
    var changed = event.detail.triggeringEvent && event.detail.triggeringEvent.type === "change";
    if (changed) {
      form.removeAttribute("hx-push-url");
      form.setAttribute("hx-replace-url", "true");
    } else {
      form.removeAttribute("hx-replace-url");
      form.setAttribute("hx-push-url", "true");
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    showStatus();
    window.setInterval(showStatus, 1000);
    poll();
  });

  // A request that never reached the server says so instead of failing silently.
  document.addEventListener("htmx:sendError", function () {
    flash(TEXT.unreachable);
  });

  // A form answered with errors (DESIGN §9) brings its error summary, a money-moving form its
  // confirmation step: focus it, so it is read first. After settling, because htmx focuses an
  // [autofocus] field of the new content while it settles.
  function focusArrival(root) {
    if (!root || !root.querySelector) { return; }
    // An error summary first: a confirmation step may hold one (a wrong step-up code).
    var arrived = root.querySelector(".error-summary") || root.querySelector(".confirm-step");
    if (arrived) { arrived.focus(); }
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    focusArrival(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    focusArrival(document.getElementById("main"));
  });

  // --- The top bar's menu on a narrow screen. Without script the menu stays open; here the button
  // appears and folds it (CSS hides the menu while the button says aria-expanded="false" on a narrow
  // screen, and hides the button on a wide one). Escape folds an open menu and returns to the button.
  function setUpMenu() {
    var button = document.querySelector(".menu-button");
    if (!button) { return; }
    function expand(open) { button.setAttribute("aria-expanded", String(open)); }
    expand(false);
    button.hidden = false;
    button.addEventListener("click", function () {
      expand(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      var shown = button.offsetParent !== null;
      // An open dialog (the shortcut list opened from the menu) takes its own Escape; the menu stays.
      if (document.querySelector("dialog[open]")) { return; }
      if (event.key === "Escape" && shown && button.getAttribute("aria-expanded") === "true") {
        expand(false);
        button.focus();
      }
    });
  }
  document.addEventListener("DOMContentLoaded", setUpMenu);
})();
