/* PovertyCase service worker (served at /sw.js, scope "/"), version {{ version }}.
 * It keeps the app shell (the visits due, the visit form, our CSS and JS) so a field worker can
 * open them and record visits without a signal. The shell pages are fetched from the network
 * first and kept; other pages are never kept (offline they fall back to the visits due). Static files are served from the cache first. POSTs (the API) are never touched:
 * the page keeps unsent visits in IndexedDB itself.
 */
"use strict";
const CACHE = "povertycase-{{ version }}";
const SHELL = [{% for url in shell %}"{{ url|escapejs }}", {% endfor %}];
const STATIC = [{% for url in static_urls %}"{{ url|escapejs }}", {% endfor %}];
const STATIC_PREFIX = "{{ static_prefix|escapejs }}";
const CACHED_PREFIX = "{{ cached_prefix|escapejs }}";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      Promise.all([
        cache.addAll(STATIC),
        ...SHELL.map((url) =>
          fetch(url, { credentials: "same-origin" }).then((response) => {
            if (response.ok && !response.redirected) { return cache.put(url, response); }
            return undefined;
          }).catch(() => undefined)
        ),
      ])
    ).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((keys) =>
      Promise.all(keys.filter((key) => key.startsWith("povertycase-") && key !== CACHE).map((key) => caches.delete(key)))
    ).then(() => self.clients.claim())
  );
});

function networkFirst(request) {
  return fetch(request).then((response) => {
    if (response.ok && !response.redirected) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(request, copy));
    }
    return response;
  }).catch(() =>
    caches.match(request).then((hit) => hit || caches.match(request, { ignoreSearch: true }))
      .then((hit) => hit || caches.match(CACHED_PREFIX))
      .then((hit) => hit || Response.error())
  );
}

function cacheFirst(request) {
  return caches.match(request).then((hit) => hit || fetch(request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(request, copy));
    }
    return response;
  }));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.startsWith(STATIC_PREFIX)) {
    event.respondWith(cacheFirst(request));
  } else if (request.mode === "navigate" && SHELL.includes(url.pathname)) {
    event.respondWith(networkFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() =>
      caches.match(CACHED_PREFIX).then((hit) => hit || Response.error())));
  }
});
