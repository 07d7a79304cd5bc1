// The image pipeline as a user meets it: a folder of hundreds of images opens at once with a
// virtualised list and grid, search by name, bad images with their reason; the decoded-image
// cache overfilled with small budgets keeps both tiers within them (what it reports and what
// IndexedDB actually holds); settings persist across a reload and refuse invalid values.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT, serveStatic, launchChromium, launchProfile, openApp, screenshot,
} from './support/harness.mjs';
import { writeFolder, writeBadImages, withExifOrientation } from './support/images.mjs';
import {
  canvasFrame, countRows, drag, importDone, saveSettings, tiers, waitForImage, waitForShapeCount,
} from './support/studio.mjs';

let server;
before(async () => { server = await serveStatic(); });
after(async () => { await server?.close(); });

const MIB = 1024 * 1024;

/** Waits until the levels being written settle: IndexedDB then holds exactly as many as the
 *  cache reports (the performance panel is open). */
async function levelsSettled(page) {
  await page.waitForFunction(async () => {
    const row = document.querySelector('[data-testid="perf-tier"][data-tier="store"]');
    const db = await new Promise((ok) => { const r = indexedDB.open('sightline'); r.onsuccess = () => ok(r.result); });
    const stored = await new Promise((ok) => { const r = db.transaction('levels').objectStore('levels').count(); r.onsuccess = () => ok(r.result); });
    db.close();
    return row && Number(row.dataset.entries) === stored;
  }, null, { timeout: 30_000, polling: 500 });
}

test('a folder of hundreds opens at once; list and grid are virtualised; bad images say why', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'sightline-pipeline-')), 'many');
  await writeFolder(dir, 400, 48);
  const bad = await writeBadImages(dir, join(ROOT, 'public/demo/dog.jpg'));
  const dog = await readFile(join(ROOT, 'public/demo/dog.jpg'));
  await writeFile(join(dir, 'yy-upright.jpg'), dog);
  await writeFile(join(dir, 'yy-turned.jpg'), withExifOrientation(dog, 6));
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });

    await page.getByTestId('open-folder').setInputFiles(dir);
    await waitForImage(page, 'img-00000.png');
    assert.match(await page.getByTestId('image-count').textContent(), /406/);
    const rows = await page.locator('[data-testid="image-item"]').count();
    assert.ok(rows > 5 && rows < 100, `only the visible rows are in the DOM (${rows} of 406)`);

    // U / Shift+U skip labelled images: label img-00001, then step over it both ways.
    await page.keyboard.press('d');
    await waitForImage(page, 'img-00001.png');
    const { at } = await canvasFrame(page);
    await page.keyboard.press('r');
    await drag(page, at(-40, -40), at(40, 40));
    await waitForShapeCount(page, 1);
    await page.locator('[data-testid="image-item"][data-index="1"] [data-testid="labelled-mark"]').waitFor();
    await page.keyboard.press('a');
    await waitForImage(page, 'img-00000.png');
    await page.keyboard.press('u');
    await waitForImage(page, 'img-00002.png');
    await page.keyboard.press('Shift+U');
    await waitForImage(page, 'img-00000.png');

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

    // EXIF orientation is applied: the turned copy of a photo opens with its sides swapped.
    const size = () => page.locator('footer.status-bar span').nth(1).textContent();
    await page.getByTestId('image-search').fill('yy-');
    await page.locator('[data-testid="image-item"]', { hasText: 'yy-upright.jpg' }).click();
    await waitForImage(page, 'yy-upright.jpg');
    const [width, height] = (await size()).split(' × ');
    assert.ok(Number(width) > Number(height), `the demo dog is landscape (${width} × ${height})`);
    await page.locator('[data-testid="image-item"]', { hasText: 'yy-turned.jpg' }).click();
    await waitForImage(page, 'yy-turned.jpg');
    assert.equal(await size(), `${height} × ${width}`);

    // The thumbnail grid shows the same listed images, virtualised, with error tiles.
    await page.getByTestId('image-search').fill('');
    await page.keyboard.press('Escape');
    await page.getByTestId('toggle-grid').click();
    await page.getByTestId('image-grid').waitFor();
    const tiles = await page.locator('[data-testid="grid-tile"]').count();
    assert.ok(tiles > 5 && tiles < 200, `only the visible tiles are in the DOM (${tiles} of 406)`);
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
  const count = 30;
  // 4 MiB decoded each; noise, so each stored level (a JPEG) is a few MB, not a few KB.
  await writeFolder(dir, count, 1024, { noise: true });
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });

    // Small budgets: 64 MiB in memory (16 images), 16 MiB stored (a few levels).
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
    await levelsSettled(page);
    const { memory, store } = await tiers(page);
    assert.equal(memory.budget, 64 * MIB);
    assert.equal(store.budget, 16 * MIB);
    assert.ok(memory.resident <= memory.budget, `memory ${memory.resident} within ${memory.budget}`);
    assert.ok(store.resident <= store.budget, `store ${store.resident} within ${store.budget}`);
    assert.equal(memory.resident, memory.entries * 4 * MIB, 'each 1024² image counts w×h×4');
    assert.ok(memory.evictions >= count - 16, `overfilled memory evicted (${memory.evictions})`);
    assert.ok(store.evictions > 0, 'overfilled store evicted');
    assert.ok(store.hits >= 1, `images demoted to tier 2 came back from it (${store.hits})`);
    assert.equal(await countRows(page, 'levels'), store.entries);
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

/** Each image record of the project named `name`: its path and whether its bytes are stored. */
const storedImages = (page, name) => page.evaluate((projectName) => new Promise((resolve, reject) => {
  const open = indexedDB.open('sightline');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction(['projects', 'images']);
    const projects = tx.objectStore('projects').getAll();
    const images = tx.objectStore('images').getAll();
    tx.oncomplete = () => {
      db.close();
      const project = projects.result.map((r) => JSON.parse(r.json)).find((p) => p.name === projectName);
      resolve(images.result.map((r) => JSON.parse(r.json)).filter((i) => i.project_id === project?.id)
        .map((i) => ({ path: i.path, stored: Boolean(i.blob_key) })));
    };
    tx.onerror = () => reject(tx.error);
  };
}), name);

test('a tab closed mid-import keeps what was stored; picking the folder again stores the rest', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'sightline-resume-')), 'resume');
  const count = 240;
  await writeFolder(dir, count, 256, { noise: true }); // 192 KB each: storing takes a while
  const browser = await launchChromium({ webgpu: false });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    const watch = (page) => page.on('pageerror', (err) => errors.push(String(err)));
    let page = await context.newPage();
    watch(page);
    await page.goto(server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });
    await page.getByTestId('open-folder').setInputFiles(dir);
    await waitForImage(page, 'img-00000.png');
    // Close the tab (no unload handlers) part-way through storing the originals.
    await page.waitForFunction(() => {
      const m = document.querySelector('[data-testid="import-progress"]')?.textContent.match(/(\d+)\/(\d+)/);
      return m && Number(m[1]) >= 16;
    }, null, { timeout: 60_000, polling: 20 });
    await page.close({ runBeforeUnload: false });

    // The next start opens the project with the images stored so far; the rest say why not.
    page = await context.newPage();
    watch(page);
    await page.goto(server.url);
    await waitForImage(page, 'img-00000.png');
    const before = await storedImages(page, 'resume');
    assert.equal(before.length, count, 'every image is listed');
    const stored = before.filter((i) => i.stored).length;
    assert.ok(stored >= 16 && stored < count, `cut short after ${stored} of ${count}`);
    await page.getByTestId('image-search').fill(`img-${String(count - 1).padStart(5, '0')}`);
    await page.locator('[data-testid="image-problem"]').waitFor();
    assert.match(await page.locator('[data-testid="image-problem"]').getAttribute('title'), /not stored yet/);
    await page.getByTestId('image-search').fill('');

    // Picking the same folder again resumes: only the missing images are stored.
    await page.getByTestId('open-folder').setInputFiles(dir);
    await page.getByTestId('import-report').waitFor();
    assert.match(await page.getByTestId('import-report').textContent(),
      new RegExp(`Resuming the import of “resume”: ${count - stored} image\\(s\\) left to store`));
    await importDone(page);
    const after = await storedImages(page, 'resume');
    assert.equal(after.filter((i) => i.stored).length, count, 'every original stored once resumed');
    const projects = await page.locator('[data-testid="project-item"]', { hasText: 'resume' }).count();
    assert.equal(projects, 1, 'the same project, not a second one');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a full disk (quota) evicts cached levels and retries; the originals stay', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'sightline-quota-')), 'quota');
  const count = 28;
  await writeFolder(dir, count, 1024, { noise: true }); // levels of a few MB each
  let originals = 0;
  for (const name of await readdir(dir)) originals += (await stat(join(dir, name))).size;
  // The service worker's caches (the shell and the demo, ~6 MB) share the origin's quota;
  // this spec sizes the quota for IndexedDB alone.
  const context = await launchProfile(await mkdtemp(join(tmpdir(), 'sightline-profile-')),
    { webgpu: false, serviceWorkers: 'block' });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    // The quota is fixed before the page first opens its database (Chromium reads it then):
    // the originals, and room for fewer than the twelve levels that memory will demote.
    const cdp = await context.newCDPSession(page);
    const origin = new URL(server.url).origin;
    const headroom = 6 * MIB;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: originals + headroom });
    await page.goto(server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });
    await saveSettings(page, { memory_cache_mb: 64, prefetch_depth: 0 });
    await page.getByTestId('open-folder').setInputFiles(dir);
    await waitForImage(page, 'img-00000.png');
    await importDone(page);

    for (let i = 1; i < count; i += 1) {
      await page.keyboard.press('d');
      await waitForImage(page, `img-${String(i).padStart(5, '0')}.png`);
    }
    await page.getByTestId('open-perf').click();
    await levelsSettled(page);
    const { store } = await tiers(page);
    assert.ok(store.evictions > 0, 'the quota made room by evicting levels');
    assert.ok(store.resident <= headroom && store.resident < store.budget,
      `evicted for the quota, not the budget (${store.resident} of ${store.budget})`);
    assert.ok(store.entries >= 1, 'levels were written again after making room');
    assert.equal(await countRows(page, 'blobs'), count, 'no original was evicted');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
