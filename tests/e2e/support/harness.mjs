// Shared by the browser specs: a static server for the built app (dist/) on a loopback port,
// and Debian's Chromium driven by playwright-core (never a downloaded browser).
import { createServer } from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { createRequire } from 'node:module';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.onnx': 'application/octet-stream',
};

export const ROOT = resolve(new URL('../../..', import.meta.url).pathname);
// playwright-core is installed by `cargo xtask setup` under xtask/tools (ESM ignores NODE_PATH).
const { chromium } = createRequire(join(ROOT, 'xtask/tools/package.json'))('playwright-core');
export const DIST = process.env.SIGHTLINE_DIST ?? join(ROOT, 'dist');
export const OUTPUT = join(ROOT, 'tests/output/e2e');

/** The isolation headers of a host set up for Sightline (what `cargo xtask serve` sends too;
 *  `serveStatic` adds the build's Content-Security-Policy, see `policyOf`). */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'credentialless',
  'cross-origin-resource-policy': 'same-origin',
};

/** Where the servers collect CSP violation reports (`report-uri`, with `cspReports`). */
export const CSP_REPORT_PATH = '/__csp-report';

/** The Content-Security-Policy the build in `dir` carries in its index.html (`cargo xtask
 *  pwa` writes it; xtask/src/csp.rs), or null for a build without one. */
export async function policyOf(dir = DIST) {
  const index = await readFile(join(dir, 'index.html'), 'utf8').catch(() => '');
  const meta = index.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)"/);
  return meta ? meta[1] : null;
}

/**
 * Serves `dir` on 127.0.0.1 at a free port; resolves to { url, close, setRoot, cspReports }.
 * `base`: the path the app is served under (`/some/sub/path/`); anything outside is a 404.
 * `isolate`: send COOP/COEP and the build's Content-Security-Policy (off: a plain static
 * host, where only the service worker isolates the page and adds the policy header).
 * `setRoot(dir)` serves another build from then on (the update spec).
 * `headers`: extra headers on every response (CORS for a second origin).
 * `cspReports`: the policy header asks for violation reports, collected in `cspReports`
 * (the `csp-report` objects, in the order they came).
 */
export async function serveStatic(dir = DIST, {
  base = '/', isolate = true, headers = {}, cspReports = false,
} = {}) {
  let root = resolve(dir);
  const reports = [];
  const policy = isolate ? await policyOf(root) : null;
  const hostHeaders = {
    ...(isolate ? ISOLATION_HEADERS : {}),
    ...(policy ? {
      'content-security-policy': cspReports ? `${policy}; report-uri ${CSP_REPORT_PATH}` : policy,
    } : {}),
  };
  const server = createServer(async (req, res) => {
    const requested = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (req.method === 'POST' && requested === CSP_REPORT_PATH) {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      try {
        reports.push(JSON.parse(Buffer.concat(chunks).toString('utf8'))['csp-report'] ?? {});
      } catch (error) {
        reports.push({ unreadable: String(error) });
      }
      res.writeHead(204).end();
      return;
    }
    if (!requested.startsWith(base)) {
      res.writeHead(404).end('not found');
      return;
    }
    const path = '/' + requested.slice(base.length);
    let file = normalize(join(root, path.endsWith('/') ? path + 'index.html' : path));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': MIME[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
        ...hostHeaders,
        ...headers,
      });
      res.end(body);
    } catch {
      res.writeHead(404, headers).end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}${base}`,
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(ok); }),
    setRoot: (dir) => { root = resolve(dir); },
    cspReports: reports,
  };
}

function chromiumArgs(webgpu) {
  const args = [
    '--no-sandbox',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
  ];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  return { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args };
}

/** Debian's Chromium, headless, fresh profile; `webgpu` adds --enable-unsafe-webgpu. */
export async function launchChromium({ webgpu }) {
  return chromium.launch(chromiumArgs(webgpu));
}

/** A browser context on a profile kept on disk in `dir` (what the DevTools quota override
 *  needs: an in-memory profile ignores it). `serviceWorkers: 'block'` keeps the offline
 *  app's caches out of a spec that measures IndexedDB against a quota. */
export async function launchProfile(dir, { webgpu, serviceWorkers = 'allow' }) {
  return chromium.launchPersistentContext(dir, {
    ...chromiumArgs(webgpu),
    viewport: { width: 1280, height: 800 },
    serviceWorkers,
  });
}

/** A page that fails the test on uncaught errors in the page or its worker. */
export async function openApp(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  await page.goto(url);
  return { page, errors };
}

export async function screenshot(page, name) {
  await mkdir(OUTPUT, { recursive: true });
  const path = join(OUTPUT, name);
  await page.screenshot({ path });
  return path;
}

/** Statistics of the canvas backing store: how many pixels are painted, how many colours. */
export async function canvasStats(page) {
  return page.evaluate(() => {
    const canvas = document.querySelector('canvas[data-testid="canvas"]');
    const { width, height } = canvas;
    const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    let painted = 0;
    const colours = new Set();
    for (let i = 0; i < data.length; i += 4 * 7) {
      if (data[i + 3] > 0) {
        painted += 1;
        colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      }
    }
    return { width, height, sampled: Math.ceil(data.length / 28), painted, colours: colours.size };
  });
}

/** The entries of a zip file, name → bytes, read by Python's zipfile (a reader that is not
 *  ours; Debian's python3 is on every machine the suite runs on). */
export async function unzip(path) {
  const { execFileSync } = await import('node:child_process');
  const script = 'import base64,json,sys,zipfile\n'
    + 'z = zipfile.ZipFile(sys.argv[1])\n'
    + 'bad = z.testzip()\n'
    + 'assert bad is None, bad\n'
    + 'print(json.dumps({i.filename: base64.b64encode(z.read(i)).decode() for i in z.infolist()}))\n';
  const out = execFileSync('python3', ['-c', script, path], { maxBuffer: 1 << 30 });
  return Object.fromEntries(Object.entries(JSON.parse(out)).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}
