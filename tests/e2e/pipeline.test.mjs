// The image pipeline as a user meets it: a folder of hundreds of images opens at once with a
// virtualised list and grid, search by name, bad images with their reason; the decoded-image
// cache overfilled with small budgets keeps both tiers within them (what it reports and what
// IndexedDB actually holds); settings persist across a reload and refuse invalid values.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, serveStatic, launchChromium, openApp, screenshot } from './support/harness.mjs';
import { writeFolder, writeBadImages } from './support/images.mjs';

let server;
before(async () => { server = await serveStatic(); });
after(async () => { await server?.close(); });

const MIB = 1024 * 1024;
const fileName = (page) => page.getByTestId('file-name').textContent();

async function waitForImage(page, name) {
  await page.waitForFunction((n) =>
    document.querySelector('[data-testid="file-name"]')?.textContent.includes(n)
      && document.querySelector('canvas[data-testid="canvas"]')?.dataset.drawn === 'true',
  name, { timeout: 60_000 });
}

/** Each tier's figures as the performance panel reports them. */
const tiers = (page) => page.$$eval('[data-testid="perf-tier"]', (rows) =>
  Object.fromEntries(rows.map((r) => [r.dataset.tier, {
    hits: Number(r.dataset.hits), misses: Number(r.dataset.misses),
    evictions: Number(r.dataset.evictions), entries: Number(r.dataset.entries),
    resident: Number(r.dataset.residentBytes), budget: Number(r.dataset.budgetBytes),
  }])));

/** How many levels IndexedDB really holds (tier 2). */
const storedLevels = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('sightline');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const request = db.transaction('levels').objectStore('levels').count();
    request.onsuccess = () => { db.close(); resolve(request.result); };
    request.onerror = () => reject(request.error);
  };
}));

test('a folder of hundreds opens at once; list and grid are virtualised; bad images say why', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'sightline-pipeline-')), 'many');
  await writeFolder(dir, 400, 48);
  const bad = await writeBadImages(dir, join(ROOT, 'public/demo/dog.jpg'));
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });

    await page.getByTestId('open-folder').setInputFiles(dir);
    await waitForImage(page, 'img-00000.png');
    assert.match(await page.getByTestId('image-count').textContent(), /404/);
    const rows = await page.locator('[data-testid="image-item"]').count();
    assert.ok(rows > 5 && rows < 100, `only the visible rows are in the DOM (${rows} of 404)`);

    // Search by name narrows the list and what D steps through.
    await page.getByTestId('image-search').fill('img-0039');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="image-item"]').length === 10);
    await page.getByTestId('image-search').fill('zz-');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="image-item"]').length === 4);

    // Every bad file gets its reason once the import has checked it; the rest go on.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="image-problem"]').length === 4,
      null, { timeout: 60_000 });
    const reasons = await page.$$eval('[data-testid="image-item"]', (items) =>
      Object.fromEntries(items.map((i) => [i.title, i.querySelector('[data-testid="image-problem"]')?.title ?? ''])));
    for (const [name, { reason }] of Object.entries(bad)) {
      assert.match(reasons[name] ?? '', reason, `${name}: ${reasons[name]}`);
    }
    await page.locator('[data-testid="image-item"]', { hasText: 'zz-notes.jpg' }).click();
    await page.waitForFunction(() => /not an image/.test(document.querySelector('main.canvas-area')?.textContent ?? ''));
    await screenshot(page, 'pipeline-bad-image.png');

    // The thumbnail grid shows the same listed images, virtualised, with error tiles.
    await page.getByTestId('image-search').fill('');
    await page.keyboard.press('Escape');
    await page.getByTestId('toggle-grid').click();
    await page.getByTestId('image-grid').waitFor();
    const tiles = await page.locator('[data-testid="grid-tile"]').count();
    assert.ok(tiles > 5 && tiles < 200, `only the visible tiles are in the DOM (${tiles} of 404)`);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="grid-tile"] img')]
      .filter((img) => img.complete && img.naturalWidth > 0).length >= 5, null, { timeout: 60_000 });
    await screenshot(page, 'pipeline-grid.png');
    await page.getByTestId('image-grid').evaluate((grid) => { grid.scrollTop = 0; });
    await page.locator('[data-testid="grid-tile"][data-index="3"]').click();
    await waitForImage(page, 'img-00003.png');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('the cache keeps both tiers within their budgets when overfilled; settings persist', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'sightline-cache-')), 'big');
  const count = 22;
  await writeFolder(dir, count, 1024); // 4 MiB decoded each
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });

    // Small budgets: 64 MiB in memory (16 images), 16 MiB stored (4 levels).
    await page.getByTestId('open-settings').click();
    await page.getByTestId('setting-memory_cache_mb').fill('10');
    await page.getByTestId('settings-save').click();
    await page.getByTestId('settings-error').first().waitFor();
    assert.match(await page.getByTestId('settings-error').first().textContent(), /memory cache.*64/);
    await page.getByTestId('setting-memory_cache_mb').fill('64');
    await page.getByTestId('setting-store_cache_mb').fill('16');
    await page.getByTestId('setting-prefetch_depth').fill('0');
    await screenshot(page, 'pipeline-settings.png');
    await page.getByTestId('settings-save').click();
    await page.getByTestId('settings-dialog').waitFor({ state: 'detached' });

    await page.getByTestId('open-folder').setInputFiles(dir);
    await waitForImage(page, 'img-00000.png');
    for (let i = 1; i < count; i += 1) {
      await page.keyboard.press('d');
      await waitForImage(page, `img-${String(i).padStart(5, '0')}.png`);
    }
    // Back over images demoted to tier 2: they come back from it.
    for (let i = count - 18; i >= count - 20; i -= 1) {
      await page.locator('[data-testid="image-item"]', { hasText: `img-${String(i).padStart(5, '0')}.png` }).click();
      await waitForImage(page, `img-${String(i).padStart(5, '0')}.png`);
    }

    await page.getByTestId('open-perf').click();
    await page.getByTestId('perf-panel').waitFor();
    // The levels being written settle; then IndexedDB holds exactly what the cache counts.
    await page.waitForFunction(async () => {
      const row = document.querySelector('[data-testid="perf-tier"][data-tier="store"]');
      const db = await new Promise((ok) => { const r = indexedDB.open('sightline'); r.onsuccess = () => ok(r.result); });
      const stored = await new Promise((ok) => { const r = db.transaction('levels').objectStore('levels').count(); r.onsuccess = () => ok(r.result); });
      db.close();
      return row && Number(row.dataset.entries) === stored;
    }, null, { timeout: 30_000, polling: 500 });
    const { memory, store } = await tiers(page);
    assert.equal(memory.budget, 64 * MIB);
    assert.equal(store.budget, 16 * MIB);
    assert.ok(memory.resident <= memory.budget, `memory ${memory.resident} within ${memory.budget}`);
    assert.ok(store.resident <= store.budget, `store ${store.resident} within ${store.budget}`);
    assert.equal(memory.resident, memory.entries * 4 * MIB, 'each 1024² image counts w×h×4');
    assert.ok(memory.evictions >= count - 16, `overfilled memory evicted (${memory.evictions})`);
    assert.ok(store.evictions > 0, 'overfilled store evicted');
    assert.ok(store.hits >= 1, `images demoted to tier 2 came back from it (${store.hits})`);
    assert.equal(await storedLevels(page), store.entries);
    await screenshot(page, 'pipeline-perf-panel.png');

    // Settings persist across a reload.
    await page.reload();
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });
    await page.getByTestId('open-settings').click();
    assert.equal(await page.getByTestId('setting-memory_cache_mb').inputValue(), '64');
    assert.equal(await page.getByTestId('setting-store_cache_mb').inputValue(), '16');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
