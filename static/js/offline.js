// Offline use of the canvasser's pages: every page opened is kept by the service worker (sw.js);
// "Tải về để dùng khi mất sóng" saves the whole list, its households and their visit forms at once,
// and the list refreshes that download by itself when it is over 6 hours old. Also: the outbox page's
// list, and the messages a page leaves for the next one.
(function () {
  "use strict";
  var SAVED_AT = "offline-saved-at";
  var SAVED_COUNT = "offline-saved-households";
  var REFRESH_AFTER_MS = 6 * 3600 * 1000;
  var PARALLEL = 4;

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function when(iso) {
    var d = new Date(iso);
    return two(d.getHours()) + ":" + two(d.getMinutes()) + " " + two(d.getDate()) + "/" +
      two(d.getMonth() + 1) + "/" + d.getFullYear();
  }

  function showSaved(status) {
    var at = localStorage.getItem(SAVED_AT);
    if (!status || !at) return;
    status.textContent = status.dataset.saved.replace("%t", when(at))
      .replace("%n", localStorage.getItem(SAVED_COUNT) || "0");
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
            localStorage.setItem(SAVED_AT, new Date().toISOString());
            localStorage.setItem(SAVED_COUNT, String(plan.households));
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
    rows.forEach(function (row) {
      var item = document.createElement("li");
      var title = document.createElement("strong");
      title.textContent = row.label || row.visit.household_id;
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
    var at = localStorage.getItem(SAVED_AT);
    var old = at && Date.now() - new Date(at).getTime() > REFRESH_AFTER_MS;
    if (old && navigator.onLine && navigator.serviceWorker) {
      navigator.serviceWorker.ready.then(function () {
        if (navigator.serviceWorker.controller) download(status);
      });
    }
  });
})();
