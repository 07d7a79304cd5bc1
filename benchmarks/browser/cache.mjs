// Browser benchmark of the image pipeline (issue 15), against the uncached path measured in
// the same run. Prints a table and writes the figures as JSON
// (tests/output/bench/cache.json). Not a test: nothing here fails on a slow machine.
//
//   node benchmarks/browser/cache.mjs [--images 10000]
//
// 1. Eight 12 MP JPEGs (made by the browser's own encoder): open times from tier 1 (memory)
//    and tier 2 (a stored level), against a fresh decode of the original; then next-image
//    latency through them with prefetch and without, at a user's pace.
// 2. A generated folder of N small PNGs: pick to first image drawn; next-image latency with
//    prefetch and without (prefetch depth 0); peak JS heap; resident cache bytes vs budgets.
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, serveStatic, launchChromium } from '../../tests/e2e/support/harness.mjs';
import { writeFolder } from '../../tests/e2e/support/images.mjs';
import { saveSettings } from '../../tests/e2e/support/studio.mjs';

const imagesArg = process.argv.indexOf('--images');
const FOLDER_SIZE = imagesArg > 0 ? Number(process.argv[imagesArg + 1]) : 10_000;
const OUT = join(ROOT, 'tests/output/bench');
const PHOTOS = 8;

const quantile = (values, q) => {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
};

async function spans(page) {
  await page.getByTestId('open-perf').click();
  await page.getByTestId('perf-panel').waitFor();
  const out = await page.$$eval('[data-testid="perf-span"]', (rows) => Object.fromEntries(rows.map((r) => [
    r.dataset.span, { count: Number(r.dataset.count), p50: Number(r.dataset.p50), p95: Number(r.dataset.p95) }])));
  const tiers = await page.$$eval('[data-testid="perf-tier"]', (rows) => Object.fromEntries(rows.map((r) => [
    r.dataset.tier, { resident: Number(r.dataset.residentBytes), budget: Number(r.dataset.budgetBytes),
      hits: Number(r.dataset.hits), misses: Number(r.dataset.misses) }])));
  await page.getByTestId('open-perf').click();
  return { spans: out, tiers };
}

/** Installs a probe: the time of each key press / pick, and of each image drawn after it. */
async function probe(page) {
  await page.evaluate(() => {
    window.__marks = { picks: [], keys: [], drawn: [] };
    document.addEventListener('change', () => window.__marks.picks.push(performance.now()), true);
    document.addEventListener('keydown', () => window.__marks.keys.push(performance.now()), true);
    // An image counts as shown when a frame has drawn it (the canvas names it).
    let last = '';
    const check = () => {
      const name = document.querySelector('canvas[data-testid="canvas"]')?.dataset.image ?? '';
      if (name && name !== last) {
        last = name;
        window.__marks.drawn.push({ name, at: performance.now() });
      }
    };
    new MutationObserver(check).observe(document.body, { subtree: true, attributes: true, childList: true, characterData: true });
    window.__heapPeak = 0;
    setInterval(() => { window.__heapPeak = Math.max(window.__heapPeak, performance.memory?.usedJSHeapSize ?? 0); }, 50);
  });
}

async function waitFor(page, name) {
  await page.waitForFunction((n) => window.__marks.drawn.some((d) => d.name.includes(n)), name, { timeout: 120_000 });
}

/** D pressed `n` times at a user's pace; the latency of each press to the next image drawn. */
async function stepLatencies(page, n, pauseMs) {
  const latencies = [];
  for (let i = 0; i < n; i += 1) {
    const before = await page.evaluate(() => window.__marks.drawn.length);
    await page.keyboard.press('d');
    await page.waitForFunction((b) => window.__marks.drawn.length > b, before, { timeout: 60_000 });
    latencies.push(await page.evaluate(() => window.__marks.drawn.at(-1).at - window.__marks.keys.at(-1)));
    await page.waitForTimeout(pauseMs);
  }
  return latencies;
}

async function bigJpegs(browser, server, dir) {
  const page = await browser.newPage();
  await page.goto(server.url);
  for (let i = 0; i < PHOTOS; i += 1) {
    const base64 = await page.evaluate(async (seed) => {
      const canvas = new OffscreenCanvas(4000, 3000);
      const ctx = canvas.getContext('2d');
      const g = ctx.createLinearGradient(0, 0, 4000, 3000);
      g.addColorStop(0, `hsl(${seed * 120}, 70%, 40%)`);
      g.addColorStop(1, `hsl(${seed * 120 + 60}, 70%, 70%)`);
      ctx.fillStyle = g;
      ctx.fillRect(0, 0, 4000, 3000);
      for (let k = 0; k < 4000; k += 1) { // texture, so the JPEG is photo-sized
        ctx.fillStyle = `hsla(${(k * 37 + seed) % 360}, 60%, 50%, 0.5)`;
        ctx.fillRect((k * 7919) % 4000, (k * 104729) % 3000, 40 + (k % 60), 30 + (k % 50));
      }
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let s = '';
      for (let j = 0; j < bytes.length; j += 0x8000) s += String.fromCharCode(...bytes.subarray(j, j + 0x8000));
      return btoa(s);
    }, i);
    await writeFile(join(dir, `photo-${i}.jpg`), Buffer.from(base64, 'base64'));
  }
  await page.close();
}

async function main() {
  const server = await serveStatic();
  const browser = await launchChromium({ webgpu: false });
  const results = {};
  try {
    // 1. 12 MP JPEGs.
    const photos = join(await mkdtemp(join(tmpdir(), 'sightline-bench-')), 'photos');
    await mkdir(photos, { recursive: true });
    await bigJpegs(browser, server, photos);
    {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(server.url);
      await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 120_000 });
      await probe(page);
      await saveSettings(page, { prefetch_depth: 0 });
      await page.getByTestId('open-folder').setInputFiles(photos);
      await waitFor(page, 'photo-0.jpg');
      // Tier 1: the default 512 MB holds all three; cycle through them.
      for (let round = 0; round < 8; round += 1) {
        for (const k of ['d', 'd', 'a', 'a']) {
          const before = await page.evaluate(() => window.__marks.drawn.length);
          await page.keyboard.press(k);
          await page.waitForFunction((b) => window.__marks.drawn.length > b, before, { timeout: 60_000 });
        }
      }
      const memory = await spans(page);
      // Tier 2: 64 MB holds one 12 MP bitmap; every step demotes the last image.
      await saveSettings(page, { memory_cache_mb: 64 });
      for (let round = 0; round < 8; round += 1) {
        for (const k of ['d', 'd', 'a', 'a']) {
          const before = await page.evaluate(() => window.__marks.drawn.length);
          await page.keyboard.press(k);
          await page.waitForFunction((b) => window.__marks.drawn.length > b, before, { timeout: 60_000 });
          await page.waitForTimeout(300); // the demoted level is written
        }
      }
      const stored = await spans(page);
      const s = stored.spans;
      results.photo12mp = {
        memory_open_p95_ms: memory.spans['open from memory']?.p95,
        store_open_p95_ms: s['open from store']?.p95,
        decode_p95_ms: s.decode?.p95,
        miss_open_p95_ms: s['open by decoding']?.p95,
        store_to_decode_ratio: s['open from store']?.p95 / s.decode?.p95,
        counts: { memory: memory.spans['open from memory']?.count, store: s['open from store']?.count, decode: s.decode?.count },
      };
      await context.close();
    }
    for (const prefetch of [2, 0]) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(server.url);
      await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 120_000 });
      await probe(page);
      // 256 MB holds five 12 MP bitmaps: what is ahead has to be prefetched to be a hit.
      await saveSettings(page, { prefetch_depth: prefetch, memory_cache_mb: 256 });
      await page.getByTestId('open-folder').setInputFiles(photos);
      await waitFor(page, 'photo-0.jpg');
      await page.waitForTimeout(1500);
      const latencies = await stepLatencies(page, PHOTOS - 1, 1500);
      results[`photos_prefetch_${prefetch}`] = {
        next_p50_ms: quantile(latencies, 0.5), next_p95_ms: quantile(latencies, 0.95),
      };
      await context.close();
    }

    // 2. A large folder.
    const many = join(await mkdtemp(join(tmpdir(), 'sightline-bench-')), 'many');
    await writeFolder(many, FOLDER_SIZE, 48);
    for (const prefetch of [2, 0]) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(server.url);
      await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 120_000 });
      await probe(page);
      await saveSettings(page, { prefetch_depth: prefetch });
      await page.getByTestId('open-folder').setInputFiles(many);
      await waitFor(page, 'img-00000.png');
      const first = await page.evaluate(() => window.__marks.drawn.find((d) => d.name.includes('img-00000')).at - window.__marks.picks.at(-1));
      const rows = await page.locator('[data-testid="image-item"]').count();
      await page.waitForTimeout(500);
      const latencies = await stepLatencies(page, 60, 120);
      const figures = await spans(page);
      const heap = await page.evaluate(() => window.__heapPeak);
      results[`folder_prefetch_${prefetch}`] = {
        images: FOLDER_SIZE, list_rows_in_dom: rows, first_image_ms: first,
        next_p50_ms: quantile(latencies, 0.5), next_p95_ms: quantile(latencies, 0.95),
        peak_js_heap_mb: heap / 1048576,
        memory_resident_mb: figures.tiers.memory.resident / 1048576, memory_budget_mb: figures.tiers.memory.budget / 1048576,
        store_resident_mb: figures.tiers.store.resident / 1048576, store_budget_mb: figures.tiers.store.budget / 1048576,
      };
      await context.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const f2 = results.folder_prefetch_2;
  const f0 = results.folder_prefetch_0;
  const p = results.photo12mp;
  const fmt = (x) => (Number.isFinite(x) ? x.toFixed(2) : String(x));
  console.log('cache benchmark (ms unless said)              measured   reference   ratio   goal');
  console.log(`12 MP re-open from memory, p95               ${fmt(p.memory_open_p95_ms)}      decode ${fmt(p.decode_p95_ms)}   ${fmt(p.memory_open_p95_ms / p.decode_p95_ms)}   <= 1 ms`);
  console.log(`12 MP re-open from tier 2, p95               ${fmt(p.store_open_p95_ms)}      decode ${fmt(p.decode_p95_ms)}   ${fmt(p.store_to_decode_ratio)}   <= 0.25x`);
  const q2 = results.photos_prefetch_2;
  const q0 = results.photos_prefetch_0;
  console.log(`12 MP next image p50 / p95, prefetch 2       ${fmt(q2.next_p50_ms)} / ${fmt(q2.next_p95_ms)}   no prefetch ${fmt(q0.next_p50_ms)} / ${fmt(q0.next_p95_ms)}   ${fmt(q2.next_p95_ms / q0.next_p95_ms)}   <= 16 ms`);
  console.log(`${FOLDER_SIZE} images: pick to first image           ${fmt(f2.first_image_ms)}      -           -       <= 1000 ms`);
  console.log(`next image p50 / p95, prefetch 2             ${fmt(f2.next_p50_ms)} / ${fmt(f2.next_p95_ms)}   no prefetch ${fmt(f0.next_p50_ms)} / ${fmt(f0.next_p95_ms)}   ${fmt(f2.next_p95_ms / f0.next_p95_ms)}   <= 16 ms`);
  console.log(`list rows in the DOM                         ${f2.list_rows_in_dom} of ${FOLDER_SIZE}`);
  console.log(`peak JS heap (MB)                            ${fmt(f2.peak_js_heap_mb)}`);
  console.log(`memory tier resident / budget (MB)           ${fmt(f2.memory_resident_mb)} / ${fmt(f2.memory_budget_mb)}`);
  console.log(`stored tier resident / budget (MB)           ${fmt(f2.store_resident_mb)} / ${fmt(f2.store_budget_mb)}`);
  await mkdir(OUT, { recursive: true });
  await writeFile(join(OUT, 'cache.json'), JSON.stringify(results, null, 2));
  console.log(`figures written to ${join(OUT, 'cache.json')}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
