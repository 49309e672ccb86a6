// The service worker: the app's shell from the cache, the canvasser's pages from the network when
// it answers and from the cache when it does not. Served at /sw.js so its scope is the whole app.
// Visits are never queued here: the page keeps them in IndexedDB (outbox.js) and sends them itself,
// so nothing depends on background sync, which cheap phones' browsers may not run.
"use strict";

var VERSION = "{{VERSION}}";
var SHELL = "shell-" + VERSION;
var PAGES = "pages"; // the logged-in canvasser's pages; emptied at logout
var SHELL_URLS = {{SHELL_URLS}};
// Pages kept for offline use: the home page, the worklist, households and their visit forms.
var OFFLINE_PAGES = [/^\/$/, /^\/worklist$/, /^\/households\/\d+$/, /^\/households\/\d+\/visits\/new$/,
  /^\/outbox$/];
var NETWORK_TIMEOUT_MS = 6000;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(SHELL_URLS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("shell-") === 0 && name !== SHELL;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "clear-pages") {
    event.waitUntil(caches.delete(PAGES));
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

function fromCacheOrOffline(request) {
  return caches.open(PAGES).then(function (cache) { return cache.match(cacheKey(request)); })
    .then(function (hit) {
      if (hit) return hit;
      if (request.mode === "navigate") return caches.match("/offline");
      return new Response("<p class=\"flash error\" role=\"alert\">Không có mạng.</p>",
        { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
    });
}

function networkFirst(request, keep) {
  return withTimeout(fetch(request), NETWORK_TIMEOUT_MS).then(function (response) {
    // A redirect to the login page (session over) or an error is shown, never kept.
    if (keep && response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { return cache.put(cacheKey(request), copy); });
    }
    return response;
  }, function () { return fromCacheOrOffline(request); });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0 || SHELL_URLS.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
    return;
  }
  if (url.pathname.indexOf("/api/") === 0 || url.pathname === "/session.json") return;
  var keep = offlinePage(url);
  if (keep || request.mode === "navigate") {
    event.respondWith(networkFirst(request, keep));
  }
});
