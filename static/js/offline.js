// Offline use of the canvasser's pages: every page opened is kept by the service worker (sw.js);
// "Tải về để dùng khi mất sóng" saves the whole list, its households and their visit forms at once,
// and the list refreshes that download by itself when it is over 6 hours old. The login page empties
// every user's saved pages (a shared phone's next user must not see them). Also: the outbox page's
// list, and the messages a page leaves for the next one.
(function () {
  "use strict";
  var SAVED = "offline-saved-"; // localStorage keys of the last download, per user
  var SAVED_AT = SAVED + "at:";
  var SAVED_COUNT = SAVED + "households:";
  var REFRESH_AFTER_MS = 6 * 3600 * 1000;
  var PARALLEL = 4;

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function when(iso) {
    var d = new Date(iso);
    return two(d.getHours()) + ":" + two(d.getMinutes()) + " " + two(d.getDate()) + "/" +
      two(d.getMonth() + 1) + "/" + d.getFullYear();
  }

  function currentUser() {
    var meta = document.querySelector('meta[name="user-id"]');
    return meta ? meta.getAttribute("content") : null;
  }

  function showSaved(status) {
    var at = localStorage.getItem(SAVED_AT + currentUser());
    if (!status || !at) return;
    status.textContent = status.dataset.saved.replace("%t", when(at))
      .replace("%n", localStorage.getItem(SAVED_COUNT + currentUser()) || "0");
  }

  // The login page: whoever used the phone before is gone, and so are their saved pages (sw.js
  // also drops them when it sees the login page; this covers a load that bypassed it). Their
  // outbox stays: its visits are not on the server yet.
  function forgetPages() {
    Object.keys(localStorage).forEach(function (key) {
      if (key.indexOf(SAVED) === 0) localStorage.removeItem(key);
    });
    if (!navigator.serviceWorker) return;
    navigator.serviceWorker.getRegistration().then(function (registration) {
      var worker = registration && (registration.active || registration.waiting);
      if (worker) worker.postMessage({ type: "clear-pages" });
    }).catch(function () {});
  }

  function fetchAll(urls, headers, done) {
    var next = 0;
    function worker() {
      if (next >= urls.length) return Promise.resolve();
      var url = urls[next++];
      return fetch(url, { credentials: "same-origin", headers: headers })
        .then(function () { done(); }, function () { done(); }).then(worker);
    }
    var workers = [];
    for (var i = 0; i < PARALLEL; i++) workers.push(worker());
    return Promise.all(workers);
  }

  function download(status) {
    if (!navigator.serviceWorker || !navigator.serviceWorker.controller) {
      if (status) status.textContent = status.dataset.unsupported;
      return Promise.resolve();
    }
    return fetch("/offline/pages.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("pages " + response.status);
        return response.json();
      }).then(function (plan) {
        var total = plan.pages.length + plan.fragments.length;
        var count = 0;
        function tick() {
          count += 1;
          if (status) status.textContent = status.dataset.progress.replace("%n", count).replace("%t", total);
        }
        return fetchAll(plan.pages, {}, tick)
          .then(function () { return fetchAll(plan.fragments, { "HX-Request": "true" }, tick); })
          .then(function () {
            localStorage.setItem(SAVED_AT + currentUser(), new Date().toISOString());
            localStorage.setItem(SAVED_COUNT + currentUser(), String(plan.households));
            showSaved(status);
          });
      }).catch(function () { if (status) status.textContent = status.dataset.failed; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-offline-download]");
    if (!button) return;
    event.preventDefault();
    button.disabled = true;
    download(document.getElementById("offline-status")).then(function () { button.disabled = false; });
  });

  function renderOutbox(rows) {
    var list = document.getElementById("outbox-list");
    if (!list) return;
    list.textContent = "";
    var me = currentUser();
    rows.forEach(function (row) {
      var item = document.createElement("li");
      var title = document.createElement("strong");
      // Another user's visit (a shared phone) is listed, and exported, but not by its household's
      // name: only by the household's number.
      var mine = me !== null && String(row.user_id) === me;
      title.textContent = mine && row.label ? row.label : "#" + row.visit.household_id;
      item.appendChild(title);
      var state = row.state === "rejected" ? list.dataset.rejectedLabel : list.dataset.pendingLabel;
      item.appendChild(document.createTextNode(" · " + when(row.saved_at) + " · " + state));
      if (row.errors) {
        var why = document.createElement("p");
        why.className = "error";
        why.textContent = Object.keys(row.errors).map(function (k) { return row.errors[k]; }).join(" ");
        item.appendChild(why);
      }
      list.appendChild(item);
    });
    document.getElementById("outbox-empty").hidden = rows.length > 0;
  }
  document.addEventListener("outbox:changed", function (event) { renderOutbox(event.detail.rows); });

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-forget-offline]")) forgetPages();
    var message = sessionStorage.getItem("flash");
    var main = document.getElementById("main");
    if (message && main) {
      sessionStorage.removeItem("flash");
      var flash = document.createElement("p");
      flash.className = "flash ok";
      flash.setAttribute("role", "status");
      flash.textContent = message;
      main.insertBefore(flash, main.firstChild);
    }
    var status = document.getElementById("offline-status");
    if (!status) return;
    showSaved(status);
    // Refreshed by itself once the canvasser has asked for it a first time (no surprise download
    // of hundreds of pages over someone's mobile data).
    var at = localStorage.getItem(SAVED_AT + currentUser());
    var old = at && Date.now() - new Date(at).getTime() > REFRESH_AFTER_MS;
    if (old && navigator.onLine && navigator.serviceWorker) {
      navigator.serviceWorker.ready.then(function () {
        if (navigator.serviceWorker.controller) download(status);
      });
    }
  });
})();

// Search without signal: the list's search looks through the households downloaded for offline
// use (/offline/search, kept in this user's page cache by sw.js), by a name typed without accents,
// a phone, or a BHXH / CCCD number (kept hashed on the phone; what is typed is hashed the same
// way). With signal the server searches everything the canvasser may see.
(function () {
  "use strict";

  function fold(text) {
    return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[đĐ]/g, "d").toLowerCase().replace(/\s+/g, " ").trim();
  }

  function sha256(text) {
    if (!window.crypto || !crypto.subtle) return Promise.resolve("");
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (buf) {
      return Array.prototype.map.call(new Uint8Array(buf), function (b) {
        return (b + 256).toString(16).slice(1);
      }).join("");
    });
  }

  function matcher(query) {
    var digits = query.replace(/\D/g, "");
    if (digits.length >= 4 && digits === query.replace(/[\s+]/g, "")) {
      var tail = digits.charAt(0) === "0" ? digits.slice(1) : digits;
      return sha256("outreach-offline:" + digits).then(function (hash) {
        return function (row) {
          var phones = (row.dataset.digits || "").split(" ");
          var ids = (row.dataset.ids || "").split(" ");
          return ids.indexOf(hash) >= 0 || phones.some(function (p) {
            return p && p.slice(-tail.length) === tail;
          });
        };
      });
    }
    var wanted = fold(query);
    return Promise.resolve(function (row) { return (row.dataset.names || "").indexOf(wanted) >= 0; });
  }

  function searchOffline(form) {
    var query = (form.elements.q.value || "").trim();
    if (!query) return;
    fetch("/offline/search", { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("no index");
      return response.text();
    }).then(function (text) {
      var index = new DOMParser().parseFromString(text, "text/html").getElementById("offline-index");
      if (!index) throw new Error("no index");
      return matcher(query).then(function (match) {
        var found = Array.prototype.filter.call(index.querySelectorAll("li.wl-row"), match);
        var section = document.createElement("section");
        section.className = "card";
        var title = document.createElement("h2");
        title.textContent = form.dataset.offlineFound.replace("%n", found.length);
        section.appendChild(title);
        var rows = document.createElement("ul");
        rows.className = "rows";
        rows.id = "worklist-rows";
        found.forEach(function (row) { rows.appendChild(document.importNode(row, true)); });
        section.appendChild(rows);
        var list = document.getElementById("worklist");
        if (list) { list.textContent = ""; list.appendChild(section); }
        if (window.Outbox) Outbox.refreshBadge();
      });
    }).catch(function () {
      var p = document.createElement("p");
      p.className = "flash error"; p.setAttribute("role", "alert");
      p.textContent = form.dataset.offlineMissing;
      var list = document.getElementById("worklist");
      if (list) { list.textContent = ""; list.appendChild(p); }
    });
  }

  function searchForm(event) {
    var elt = event.detail && event.detail.elt;
    return elt && elt.closest ? elt.closest("form.search[data-offline-found]") : null;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = searchForm(event);
    if (form && navigator.onLine === false) { event.preventDefault(); searchOffline(form); }
  });
  ["htmx:sendError", "htmx:responseError"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var form = searchForm(event);
      if (form) searchOffline(form);
    });
  });

  // The list and the tally count the visits still waiting in the outbox: each household already
  // visited today is marked, so the canvasser does not go back there.
  var waiting = [];
  function mark() {
    var form = document.querySelector("form.search[data-outbox-chip]");
    if (!form) return;
    document.querySelectorAll(".chip-outbox").forEach(function (chip) { chip.remove(); });
    waiting.forEach(function (row) {
      document.querySelectorAll('.wl-row[data-household="' + row.visit.household_id + '"] .chips')
        .forEach(function (chips) {
          var chip = document.createElement("span");
          chip.className = "chip chip-outbox";
          chip.textContent = form.dataset.outboxChip;
          chips.insertBefore(chip, chips.firstChild);
        });
    });
    var tally = document.querySelector(".outbox-tally");
    if (tally) {
      tally.hidden = waiting.length === 0;
      tally.textContent = tally.dataset.words.replace("%n", waiting.length);
    }
  }
  document.addEventListener("outbox:changed", function (event) {
    var meta = document.querySelector('meta[name="user-id"]');
    var me = meta ? meta.getAttribute("content") : null;
    waiting = event.detail.rows.filter(function (row) {
      return row.state === "pending" && String(row.user_id) === me;
    });
    mark();
  });
  document.addEventListener("htmx:afterSwap", mark);
})();

// The household page, from the phone or not, shows the visits to it still waiting in the outbox,
// so a visit just recorded without signal is part of the household's story at once.
(function () {
  "use strict";
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function label(code) {
    var item = document.querySelector('#outcome-labels [data-code="' + code + '"]');
    return item ? item.textContent : code;
  }
  function memberName(id) {
    var name = document.querySelector("#person-" + id + " strong");
    return name ? name.textContent : "#" + id;
  }
  document.addEventListener("outbox:changed", function (event) {
    var section = document.querySelector("#visits[data-household]");
    var list = document.getElementById("waiting-visits");
    if (!section || !list) return;
    var meta = document.querySelector('meta[name="user-id"]');
    var me = meta ? meta.getAttribute("content") : null;
    list.textContent = "";
    event.detail.rows.filter(function (row) {
      return row.state === "pending" && String(row.user_id) === me &&
        String(row.visit.household_id) === section.dataset.household;
    }).forEach(function (row) {
      var visit = row.visit;
      var when = new Date(visit.visited_at);
      var item = document.createElement("li");
      item.className = "waiting";
      var head = document.createElement("p");
      var time = document.createElement("strong");
      time.textContent = two(when.getDate()) + "/" + two(when.getMonth() + 1) + "/" +
        when.getFullYear() + " " + two(when.getHours()) + ":" + two(when.getMinutes());
      head.appendChild(time);
      head.appendChild(document.createTextNode(" · " + section.dataset.waiting));
      item.appendChild(head);
      var nobody = visit.outcomes.every(function (o) { return o.outcome === "not_home"; });
      var what = document.createElement("p");
      what.textContent = nobody ? section.dataset.nobody : visit.outcomes.map(function (o) {
        return memberName(o.person_id) + ": " + label(o.outcome);
      }).join("; ");
      item.appendChild(what);
      list.appendChild(item);
    });
  });
})();
