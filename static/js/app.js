// Small behaviour the templates cannot express without inline script (CSP forbids it).

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
    var links = document.querySelectorAll('nav[aria-label="Main"] a[data-go-key]');
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
      announce("Not copied: this browser does not allow it here. Select the id and copy it.");
      return;
    }
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      announce("Copied");
      button.textContent = "Copied";  // its accessible name (aria-label, when set) stays "Copy …"
      window.setTimeout(function () { button.textContent = label; }, 2000);
    }, function () {
      announce("Not copied: select the id and copy it.");
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
  // says so (a report section); a list region with a [data-live-bar] button only counts new rows there.
  var POLL_MS = 1000;
  var MAX_DELAY_MS = 15000;
  var live = { cursor: null, seen: new Set(), lastSync: null, failures: 0, signedOut: false, timer: null, busy: false };
  var reopen = [];
  var refreshed = {};  // region id → when it was last told to refresh
  var waiting = {};  // region id → the timer of its next refresh

  function topicsOf(region) {
    return region.getAttribute("data-live-topic").split(" ");
  }

  function liveRegions() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-live-topic]"));
  }

  function renderedCursor(region) {
    return parseInt(region.getAttribute("data-live-cursor"), 10) || 0;
  }

  function concerns(region, event) {
    return event.id > renderedCursor(region) && topicsOf(region).some(function (topic) {
      return topic === event.topic || topic === event.object_type;
    });
  }

  function countNew(bar, events) {
    var created = events.filter(function (event) { return event.kind === "created"; }).length;
    if (!created) { return; }
    var count = (parseInt(bar.getAttribute("data-count"), 10) || 0) + created;
    bar.setAttribute("data-count", String(count));
    bar.textContent = count + " new " + bar.getAttribute("data-live-noun") + (count === 1 ? "" : "s") + " — show";
    bar.hidden = false;
  }

  function apply(events) {
    liveRegions().forEach(function (region) {
      var mine = events.filter(function (event) { return concerns(region, event); });
      if (!mine.length) { return; }
      var bar = region.querySelector("[data-live-bar]");
      if (bar) {
        countNew(bar, mine);  // rows never move under the reader; the bar offers the fresh list
      } else {
        refresh(region);
      }
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
    var text = "syncing…";
    if (live.signedOut) {
      text = "not synced — signed out; reload the page";
    } else if (live.failures) {
      text = "not synced — retrying";
    } else if (live.lastSync !== null) {
      text = "synced " + Math.floor((Date.now() - live.lastSync) / 1000) + " s ago";
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
    url += "?after=" + live.cursor + topics.map(function (topic) { return "&topic=" + encodeURIComponent(topic); }).join("");
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

  // A live re-render keeps open the <details> the reader opened (they carry stable ids; htmx itself
  // keeps focus on an element whose id survives the swap).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.hasAttribute && target.hasAttribute("data-live-topic")) {
      reopen = Array.prototype.map.call(target.querySelectorAll("details[open][id]"), function (details) {
        return details.id;
      });
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    reopen.forEach(function (id) {
      var details = document.getElementById(id);
      if (details) { details.open = true; }
    });
    reopen = [];
  });

  document.addEventListener("DOMContentLoaded", function () {
    showStatus();
    window.setInterval(showStatus, 1000);
    poll();
  });

  // A request that never reached the server says so instead of failing silently.
  document.addEventListener("htmx:sendError", function () {
    flash("The server could not be reached. Check the connection and try again.");
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
      if (event.key === "Escape" && shown && button.getAttribute("aria-expanded") === "true") {
        expand(false);
        button.focus();
      }
    });
  }
  document.addEventListener("DOMContentLoaded", setUpMenu);
})();
