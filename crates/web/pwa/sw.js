// Sightline's service worker. `cargo xtask pwa` (Trunk's post-build hook) writes it into the
// build with the build's version and file lists; this file is the template.
//
// - The app shell and the demo are precached under the build's version and served
//   cache-first, so the app starts with the network gone. A new build installs beside the
//   running one and waits: the page says an update is ready and the user chooses when to
//   reload; caches of other versions are deleted only then, so one page never mixes two
//   builds.
// - The worker (tens of MB) is cached the first time it is fetched: when AI is first used,
//   or by "Make AI available offline". Models and images live in IndexedDB, not here.
// - Every response it serves carries COOP/COEP, so the page and its worker are
//   cross-origin isolated on any static host, even one that cannot set headers.
//   `credentialless` lets cross-origin images load without CORP headers.
// - And the Content-Security-Policy (xtask/src/csp.rs; index.html has it as a <meta> too):
//   as a header it is what puts the AI worker under the policy. A host's own policy is kept.

const VERSION = '__SIGHTLINE_VERSION__';
const SHELL = '__SIGHTLINE_SHELL__';
const AI = '__SIGHTLINE_AI__';
const CSP = '__SIGHTLINE_CSP__';

const PREFIX = 'sightline-';
const SHELL_CACHE = `${PREFIX}shell-${VERSION}`;
const RUNTIME_CACHE = `${PREFIX}runtime-${VERSION}`;
const SCOPE = new URL(self.registration.scope);
const INDEX = new URL('index.html', SCOPE).href;
const AI_URLS = new Set(AI.map((file) => new URL(file, SCOPE).href));

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // `reload`: straight from the server, never an older copy from the HTTP cache.
    await cache.addAll(SHELL.map((file) => new Request(new URL(file, SCOPE), { cache: 'reload' })));
    // The first install has no page to disturb: take over at once. An update waits.
    if (!self.registration.active) await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names
      .filter((name) => name.startsWith(PREFIX) && !name.endsWith(`-${VERSION}`))
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data?.type === 'skip-waiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || request.headers.has('range')) return;
  const url = new URL(request.url);
  // Other origins (shared images, models by URL) go to the network as the page asked:
  // CORS, or no-cors under `credentialless`.
  if (url.origin !== SCOPE.origin || !url.href.startsWith(SCOPE.href)) return;
  // Models are stored in IndexedDB when added; keeping a second copy here would double them.
  if (url.pathname.endsWith('.onnx')) return;
  event.respondWith(respond(event, url));
});

async function respond(event, url) {
  const request = event.request;
  const navigation = request.mode === 'navigate'
    && (url.pathname === SCOPE.pathname || url.href.split(/[?#]/)[0] === INDEX);
  const key = navigation ? INDEX : request;
  const cached = await caches.match(key, { cacheName: SHELL_CACHE })
    ?? await caches.match(key, { cacheName: RUNTIME_CACHE, ignoreVary: true });
  if (cached) return isolated(cached);
  const response = await fetch(request);
  // Only this origin's complete answers are kept: the worker on first use, demo files, …
  if (response.ok && response.type === 'basic' && response.status === 200
      && (AI_URLS.has(url.href) || !navigation)) {
    // Not awaited: the page reads the body (and shows progress) while the copy is stored.
    const copy = response.clone();
    event.waitUntil(caches.open(RUNTIME_CACHE).then((cache) => cache.put(request, copy)));
  }
  return isolated(response);
}

function isolated(response) {
  if (response.type === 'opaque' || response.status === 0) return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'credentialless');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  if (!headers.has('Content-Security-Policy')) headers.set('Content-Security-Policy', CSP);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}
