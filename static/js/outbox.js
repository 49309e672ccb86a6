// The outbox: visits recorded on this phone and not yet on the server, in IndexedDB.
// A visit goes in before any attempt to send it, leaves only when the server answers that it is
// stored (or was already), and a visit the server refuses stays, marked, until the canvasser or an
// admin deals with it: nothing recorded is ever dropped. Sending happens on page load, when the
// signal returns, every 30 seconds and on "Gửi ngay"; each visit carries its own UUID, so sending
// one twice stores it once. A "conflict" (its UUID is on the server with other content) stays
// too, with the server's message, and is not sent again.
(function () {
  "use strict";

  var DB_NAME = "outreach";
  var STORE = "outbox";
  var BATCH = 50;
  // A request with no answer after this long is given up (weak signal): the visits stay in the
  // outbox and go later, once (the server keys them by UUID). Like the service worker's pages.
  var ANSWER_TIMEOUT_MS = 6000;
  var sending = null;

  // fetch, abandoned when no answer comes in time; any failure leaves the outbox as it is.
  function fetchWithin(url, options) {
    if (!window.AbortController) return fetch(url, options);
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, ANSWER_TIMEOUT_MS);
    options.signal = controller.signal;
    return fetch(url, options).then(function (response) {
      clearTimeout(timer);
      return response;
    }, function (error) {
      clearTimeout(timer);
      throw error;
    });
  }

  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "client_uuid" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function tx(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(result && result.result); };
        t.onerror = function () { db.close(); reject(t.error); };
        t.onabort = function () { db.close(); reject(t.error); };
      });
    });
  }

  function all() {
    return tx("readonly", function (store) { return store.getAll(); }).then(function (rows) {
      return (rows || []).sort(function (a, b) { return a.saved_at < b.saved_at ? -1 : 1; });
    });
  }

  function currentUser() {
    var meta = document.querySelector('meta[name="user-id"]');
    return meta ? Number(meta.getAttribute("content")) : null;
  }

  // The server's signed token for a canvasser (from /session.json), kept on the phone per user:
  // an export signs each visit with the token of the user who recorded it, and
  // `outreach import-outbox` refuses a file with a visit that is not signed for its user_id.
  var TOKEN_KEY = "outbox-token:";

  function keepToken(me) {
    if (me && me.user_id != null && me.outbox_token) {
      try { localStorage.setItem(TOKEN_KEY + me.user_id, me.outbox_token); } catch (e) { /* full */ }
    }
    return me;
  }

  function tokenFor(userId) {
    try { return localStorage.getItem(TOKEN_KEY + userId); } catch (e) { return null; }
  }

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  // Ask the browser not to evict the outbox when the phone runs short of space.
  function persist() {
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persisted().then(function (done) { if (!done) navigator.storage.persist(); });
    }
  }

  function add(visit, label) {
    persist();
    var row = {
      client_uuid: visit.client_uuid, user_id: currentUser(), visit: visit, label: label || "",
      state: "pending", errors: null, saved_at: new Date().toISOString(),
      signature: tokenFor(currentUser())
    };
    return tx("readwrite", function (store) { return store.put(row); }).then(refreshBadge);
  }

  function remove(clientUuid) {
    return tx("readwrite", function (store) { return store.delete(clientUuid); });
  }

  function mark(row, errors, state) {
    row.state = state || "rejected"; row.errors = errors;
    return tx("readwrite", function (store) { return store.put(row); });
  }

  // The server says nobody is logged in: the pages kept for offline use go (sw.js keeps them per
  // user and shows them only while that user's session lasts); this outbox stays.
  function sessionOver() {
    var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (worker) worker.postMessage({ type: "clear-pages" });
    return { loggedOut: true };
  }

  function session() {
    return fetchWithin("/session.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) return sessionOver();
        if (!response.ok) throw new Error("session " + response.status);
        return response.json().then(keepToken);
      });
  }

  function post(token, rows) {
    return fetchWithin("/api/visits/sync", {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ visits: rows.map(function (row) { return row.visit; }) })
    }).then(function (response) {
      if (response.status === 401) return sessionOver();
      if (response.status === 403) {
        // The password must be changed first: say so (the server's words); the outbox stays.
        return response.json().then(function (body) {
          var wanted = body && body.code === "password_change_required";
          if (wanted) return { passwordChange: body.error };
          throw new Error("sync 403");
        });
      }
      // Anything else not OK (a 503 while the database is busy, a 502 from a proxy): the visits
      // stay in the outbox and are sent again later.
      if (!response.ok) throw new Error("sync " + response.status);
      return response.json();
    });
  }

  function settle(rows, answer) {
    var byUuid = {};
    rows.forEach(function (row) { byUuid[row.client_uuid] = row; });
    return Promise.all((answer.results || []).map(function (result) {
      var row = byUuid[result.client_uuid];
      if (!row) return null;
      if (result.status === "stored" || result.status === "duplicate") return remove(row.client_uuid);
      if (result.status === "rejected") return mark(row, result.errors || {});
      if (result.status === "conflict") return mark(row, result.errors || {}, "conflict");
      return null; // any other answer: keep the visit as it is
    }));
  }

  // Send this user's pending visits, in batches. Resolves to "sent", "offline", "login" or
  // "password" (the server wants a new password first; `notice` holds its message).
  var notice = null;

  function send() {
    if (sending) return sending;
    sending = session().then(function (me) {
      if (me.loggedOut) return "login";
      return all().then(function (rows) {
        var mine = rows.filter(function (row) {
          return row.state === "pending" && row.user_id === me.user_id;
        });
        var chain = Promise.resolve("sent");
        for (var i = 0; i < mine.length; i += BATCH) {
          (function (part) {
            chain = chain.then(function (status) {
              if (status !== "sent") return status;
              return post(me.csrf_token, part).then(function (answer) {
                if (answer.loggedOut) return "login";
                if (answer.passwordChange) { notice = answer.passwordChange; return "password"; }
                return settle(part, answer).then(function () { return "sent"; });
              });
            });
          })(mine.slice(i, i + BATCH));
        }
        return chain;
      });
    }).catch(function () { return "offline"; }).then(function (status) {
      sending = null;
      return refreshBadge().then(function () {
        showLoginHint(status === "login");
        showPasswordHint(status === "password" ? notice : null);
        return status;
      });
    });
    return sending;
  }

  function refreshBadge() {
    return all().then(function (rows) {
      var me = currentUser();
      var pending = rows.filter(function (row) {
        return row.state === "pending" && (me === null || row.user_id === me);
      }).length;
      // Refused or in conflict: kept, and waiting for someone to look at them.
      var rejected = rows.filter(function (row) { return row.state !== "pending"; }).length;
      var badge = document.getElementById("outbox-badge");
      if (badge) {
        badge.hidden = pending === 0 && rejected === 0;
        var words = pending ? badge.dataset.pending : badge.dataset.rejected;
        badge.textContent = words.replace("%n", pending || rejected);
      }
      document.dispatchEvent(new CustomEvent("outbox:changed", { detail: { rows: rows } }));
      return pending;
    }).catch(function () { return 0; });
  }

  function showLoginHint(needed) {
    var hint = document.getElementById("outbox-login");
    if (hint) hint.hidden = !needed;
  }

  // The server's "change your password first" message, above the page, linking to the form.
  function showPasswordHint(message) {
    var hint = document.getElementById("outbox-password");
    if (!message) { if (hint) hint.hidden = true; return; }
    if (!hint) {
      hint = document.createElement("p");
      hint.id = "outbox-password"; hint.className = "login-needed";
      hint.setAttribute("role", "alert");
      var main = document.getElementById("main") || document.body;
      main.insertBefore(hint, main.firstChild);
    }
    var link = document.createElement("a");
    link.href = "/account/password"; link.textContent = message;
    hint.textContent = ""; hint.appendChild(link); hint.hidden = false;
  }

  // Every visit still on this phone, as a file an admin can import (`outreach import-outbox`),
  // each signed with its user's token (the latest the server gave, else the one kept with it).
  function exportFile() {
    return all().then(function (rows) {
      var data = {
        format: "outreach-outbox", version: 2, exported_at: new Date().toISOString(),
        visits: rows.map(function (row) {
          return { user_id: row.user_id, state: row.state, errors: row.errors, saved_at: row.saved_at,
            label: row.label, visit: row.visit,
            signature: tokenFor(row.user_id) || row.signature || null };
        })
      };
      var blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "luot-tham-chua-gui-" + new Date().toISOString().slice(0, 10) + ".json";
      document.body.appendChild(link);
      link.click();
      link.remove();
      return rows.length;
    });
  }

  window.Outbox = { add: add, all: all, send: send, remove: remove, exportFile: exportFile,
    refreshBadge: refreshBadge, uuid4: uuid4 };

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.indexedDB) return;
    refreshBadge();
    if (currentUser() !== null) send();
  });
  window.addEventListener("online", function () { send(); });
  setInterval(function () { if (navigator.onLine !== false) send(); }, 30000);
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-outbox-send]")) { event.preventDefault(); send(); }
    if (event.target.closest("[data-outbox-export]")) { event.preventDefault(); exportFile(); }
  });

  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    });
  }
  // Logging out empties the page caches, so the next person on this phone does not see the pages.
  document.addEventListener("submit", function (event) {
    if (event.target.matches("[data-logout]") && navigator.serviceWorker &&
        navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "clear-pages" });
    }
  });
})();
