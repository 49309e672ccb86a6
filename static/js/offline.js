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
