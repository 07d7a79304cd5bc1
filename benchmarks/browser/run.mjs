// Browser benchmark (not a test): yolov8n forward time per image in Debian's Chromium —
// Sightline's CPU fallback vs onnxruntime-web's wasm backend, and Sightline's WebGPU vs
// onnxruntime-web's WebGPU on the same adapter (here SwiftShader, a software adapter).
// Prints the ratios (ours / onnxruntime-web; target ≤ 1.0×) and whole-folder images/s with
// batch 1 vs batch N.
//
//   npm ci --prefix benchmarks/browser && cargo xtask build && node benchmarks/browser/run.mjs
//
// Sightline's figure is its whole per-image pipeline through the worker (read, decode,
// letterbox, forward, read-back, NMS); onnxruntime-web's is the forward alone on a prepared
// tensor, so the ratio is an upper bound of ours.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { createRequire } from 'node:module';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const { chromium } = createRequire(join(ROOT, 'xtask/tools/package.json'))('playwright-core');
const DIST = process.env.SIGHTLINE_DIST ?? join(ROOT, 'dist');
const SHARED = process.env.SIGHTLINE_SHARED ?? join(ROOT, '../shared');
const MODEL = join(SHARED, 'fixtures/models/n/yolov8n.onnx');
const ORT = join(ROOT, 'benchmarks/browser/node_modules/onnxruntime-web/dist');
const RUNS = Number(process.env.RUNS ?? 3);

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css' };

const routes = [
  ['/bench/model.onnx', () => MODEL],
  ['/bench/', (p) => join(ROOT, 'benchmarks/browser', p.slice('/bench/'.length) || 'bench.html')],
  ['/ort/', (p) => join(ORT, p.slice('/ort/'.length))],
  ['/', (p) => join(DIST, p.endsWith('/') ? p + 'index.html' : p)],
];

const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
  const [, to] = routes.find(([prefix]) => path.startsWith(prefix));
  try {
    const file = to(path);
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(0);
  // Open the app once so that its IndexedDB schema exists (the worker reads models there).
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.querySelector('[data-testid="save-state"]')?.textContent.trim() === 'saved');
  await page.goto(`${base}/bench/bench.html`);
  await page.waitForFunction(() => window.benchReady === true);
  const manifest = JSON.parse(await readFile(join(DIST, 'demo/manifest.json'), 'utf8'));
  const images = manifest.images.map((i) => `/demo/${i.path}`);
  const adapter = await page.evaluate(async () => {
    const info = (await navigator.gpu?.requestAdapter())?.info;
    if (!info) return 'none';
    return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unnamed';
  });

  const rows = [];
  for (const [label, choice, provider] of [['CPU (wasm)', 'cpu', 'wasm'], ['WebGPU', 'web_gpu', 'webgpu']]) {
    const ortMs = await page.evaluate(([p, n]) => window.bench.ortForward(p, n), [provider, RUNS]);
    const ours = await page.evaluate(([c, n, imgs]) => window.bench.sightline(c, n, imgs), [choice, RUNS, images]);
    rows.push({ label, ortMs, ...ours });
  }
  console.log(`yolov8n 640×640 in Chromium, ${RUNS} timed runs after warm-up; WebGPU adapter: ${adapter}`);
  console.log('| backend | sightline ms/image (pipeline) | onnxruntime-web ms (forward) | ratio | folder images/s batch 1 | batch N |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.label} | ${r.perImage.toFixed(1)} | ${r.ortMs.toFixed(1)} | ${(r.perImage / r.ortMs).toFixed(2)}× | ${r.batch1.toFixed(2)} | ${r.batchN.toFixed(2)} |`);
  }
} finally {
  await browser.close();
  server.close();
}
