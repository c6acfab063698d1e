// Bản Số's service worker: keeps this version of the app for offline use.
//
// Version __BANSO_VERSION__. It installs beside the version in use and waits;
// it takes over only when a window asks it to ("take-over") and no window
// of the app has a form open. Records are not here: they live in the
// pages' IndexedDB, which every version shares, so an update never touches
// what waits to be sent. The API is never cached.

const VERSION = '__BANSO_VERSION__';
const CACHE = `banso-${VERSION}`;
const FILES = "__BANSO_FILES__";

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES.map((f) => new Request(f, { cache: 'no-cache' })))));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('banso-') && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

// Whether a window has a form open; a window that does not answer within a
// second counts as having none (it is frozen in the background).
function formOpen(client) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(false), 1000);
    channel.port1.onmessage = (e) => {
      clearTimeout(timer);
      resolve(Boolean(e.data));
    };
    client.postMessage('form-open?', [channel.port2]);
  });
}

self.addEventListener('message', (event) => {
  if (event.data !== 'take-over') return;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = await Promise.all(windows.map(formOpen));
      if (!open.some(Boolean)) await self.skipWaiting();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (req.mode === 'navigate' && url.pathname === '/') {
    // The app's page, from this version's copy; the network only if the
    // copy is missing.
    event.respondWith(caches.match('/', { cacheName: CACHE, ignoreSearch: true }).then((hit) => hit || fetch(req)));
    return;
  }
  if (url.pathname.startsWith(`/assets/${VERSION}/`)) {
    // Files not kept at install (the officers' screens) are kept once
    // fetched: this version's addresses never change content.
    event.respondWith(
      caches.match(req, { cacheName: CACHE }).then(
        (hit) =>
          hit ||
          fetch(req).then((res) => {
            if (res.ok) {
              const copy = res.clone();
              caches.open(CACHE).then((cache) => cache.put(req, copy));
            }
            return res;
          }),
      ),
    );
  }
});
