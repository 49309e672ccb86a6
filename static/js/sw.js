// The service worker: the app's shell from the cache, the logged-in canvasser's pages from the
// network when it answers and from the cache when it does not. Served at /sw.js so its scope is the
// whole app. Visits are never queued here: the page keeps them in IndexedDB (outbox.js) and sends
// them itself, so nothing depends on background sync, which cheap phones' browsers may not run.
//
// Phones are shared (a post office's, a family's), so pages are kept per user and shown only to
// that user (docs/offline.md, "Whose pages"):
// - each page the server answers to a logged-in session names its user with an opaque key
//   (X-Page-Cache, an HMAC of the user id); the page goes into that user's cache, "pages-<key>",
//   and a key not seen before empties every other user's cache;
// - the login page, a 401 (a page's, or /session.json's as outbox.js reports it) and the logout
//   button empty every user's cache;
// - offline, a page comes only from the cache of the user logged in now: the one the page_cache
//   cookie names (it lives and dies with the session; read through the Cookie Store API), or, in a
//   browser without that API, the last user seen, until their session would have expired. Nobody
//   logged in: the offline page, never a kept one.
// The outbox (IndexedDB) is never touched here: its visits are not on the server yet.
"use strict";

var VERSION = "{{VERSION}}";
var SHELL = "shell-" + VERSION;
var PAGES = "pages-"; // + a user's key: that user's pages
var LEGACY_PAGES = "pages"; // earlier versions' one cache for everybody: dropped on activation
var OWNER = "page-owner"; // who was last seen logged in, and until when (without cookieStore)
var OWNER_URL = "/__page-owner";
var KEY_HEADER = "{{PAGE_CACHE_HEADER}}";
var KEY_COOKIE = "{{PAGE_CACHE_COOKIE}}";
var SESSION_MS = {{SESSION_SECONDS}} * 1000; // the server's idle timeout
var LOGIN = "/login";
var SHELL_URLS = {{SHELL_URLS}};
// Pages kept for offline use: the home page, the worklist, households and their visit forms.
var OFFLINE_PAGES = [/^\/$/, /^\/worklist$/, /^\/households\/\d+$/, /^\/households\/\d+\/visits\/new$/,
  /^\/outbox$/, /^\/offline\/search$/];
var NETWORK_TIMEOUT_MS = 6000;

self.addEventListener("install", function (event) {
  // Without cookies: the offline page must carry nobody's name, user id or CSRF token.
  var requests = SHELL_URLS.map(function (url) { return new Request(url, { credentials: "omit" }); });
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(requests); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return (name.indexOf("shell-") === 0 && name !== SHELL) || name === LEGACY_PAGES;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

// Changes to the page caches, one at a time and in the order the answers came: a login page that
// empties them is never overtaken by the previous user's page still being stored.
var queue = Promise.resolve();
function serially(work) {
  var done = queue.then(work);
  queue = done.catch(function () {});
  return done;
}

function isPages(name) { return name === LEGACY_PAGES || name.indexOf(PAGES) === 0; }

function dropPages(keep) {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return isPages(name) && name !== keep; })
      .map(function (name) { return caches.delete(name); }));
  });
}

function readOwner() {
  return caches.open(OWNER).then(function (cache) { return cache.match(OWNER_URL); })
    .then(function (hit) { return hit ? hit.json() : null; }).catch(function () { return null; });
}

function writeOwner(key) {
  var body = JSON.stringify({ key: key, until: Date.now() + SESSION_MS });
  return caches.open(OWNER).then(function (cache) {
    return cache.put(OWNER_URL, new Response(body, { headers: { "Content-Type": "application/json" } }));
  });
}

// Every user's pages go: the login page showed, a 401, a logout.
function forget() {
  return serially(function () {
    return Promise.all([dropPages(null), caches.delete(OWNER)]);
  });
}

// `key` is logged in: anyone else's pages go; the time their session lasts starts again.
function own(key) {
  return readOwner().then(function (owner) {
    if (owner && owner.key === key && owner.until - Date.now() > SESSION_MS - 60000) return null;
    var emptied = owner && owner.key === key ? Promise.resolve() : dropPages(PAGES + key);
    return emptied.then(function () { return writeOwner(key); });
  });
}

// The key of the user logged in now, or null.
function currentKey() {
  var jar = self.cookieStore;
  var fromCookie = jar ? jar.get(KEY_COOKIE).then(function (cookie) {
    return { known: true, key: cookie ? cookie.value : null };
  }, function () { return { known: false }; }) : Promise.resolve({ known: false });
  return fromCookie.then(function (found) {
    if (found.known) return found.key;
    return readOwner().then(function (owner) {
      return owner && owner.until > Date.now() ? owner.key : null;
    });
  });
}

// What an answer from the server says about who is logged in; an offline page is kept.
function observe(request, response, keep) {
  var url = new URL(response.url || request.url);
  if (response.status === 401 || (response.ok && url.pathname === LOGIN)) return forget();
  var key = response.headers.get(KEY_HEADER);
  if (!key) return Promise.resolve(); // nobody's page (or a redirect, which shows nothing)
  // A redirect to the login page (session over) or an error is shown, never kept.
  var copy = keep && response.ok && !response.redirected ? response.clone() : null;
  return serially(function () {
    return own(key).then(function () {
      if (!copy) return null;
      // Cache.put keeps the answer whatever its Cache-Control (private, no-store) says.
      return caches.open(PAGES + key).then(function (cache) { return cache.put(cacheKey(request), copy); });
    });
  });
}

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "clear-pages") {
    event.waitUntil(forget());
  }
});

// An htmx request for a fragment and a full page share a URL: keep them apart in the cache.
function cacheKey(request) {
  var url = new URL(request.url);
  if (request.headers.get("HX-Request") === "true") {
    url.searchParams.set("_fragment", "1");
  }
  return url.toString();
}

function offlinePage(url) {
  return OFFLINE_PAGES.some(function (pattern) { return pattern.test(url.pathname); });
}

function withTimeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("timeout")); }, ms);
    promise.then(function (value) { clearTimeout(timer); resolve(value); },
      function (error) { clearTimeout(timer); reject(error); });
  });
}

// The current user's copy of the page, if this user kept one; never another user's.
function keptPage(request) {
  return currentKey().then(function (key) {
    if (!key) return null;
    return caches.has(PAGES + key).then(function (has) {
      if (!has) return null;
      return caches.open(PAGES + key).then(function (cache) { return cache.match(cacheKey(request)); });
    }).then(function (hit) { return hit && hit.headers.get(KEY_HEADER) === key ? hit : null; });
  }).catch(function () { return null; });
}

function noSignal(request) {
  if (request.mode === "navigate") {
    return caches.open(SHELL).then(function (cache) { return cache.match("/offline"); })
      .then(function (page) { return page || noSignalFragment(); });
  }
  return noSignalFragment();
}

function noSignalFragment() {
  return new Response("<p class=\"flash error\" role=\"alert\">Không có mạng.</p>",
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function networkFirst(event, keep) {
  var request = event.request;
  return withTimeout(fetch(request), NETWORK_TIMEOUT_MS).then(function (response) {
    event.waitUntil(observe(request, response, keep));
    return response;
  }, function () {
    return keptPage(request).then(function (hit) { return hit || noSignal(request); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0 || SHELL_URLS.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.open(SHELL).then(function (cache) { return cache.match(request); })
      .then(function (hit) { return hit || fetch(request); }));
    return;
  }
  // Network only. A 401 here (the session is over) empties the pages too: outbox.js says so.
  if (url.pathname.indexOf("/api/") === 0 || url.pathname === "/session.json") return;
  var keep = offlinePage(url);
  if (keep || request.mode === "navigate") {
    event.respondWith(networkFirst(event, keep));
  }
});
