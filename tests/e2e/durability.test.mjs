// Never lose a label: the same project in several tabs of one profile (the same image and
// different images, with and without BroadcastChannel), a browser killed right after a save,
// a full disk on an annotation write, and whether the browser promised to keep the data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  serveStatic, launchChromium, launchProfile, screenshot,
} from './support/harness.mjs';
import { writeFolder } from './support/images.mjs';
import {
  canvasFrame, countRows, drag, importDone, saveSettings, savedAnnotations, tiers, waitForImage,
  waitForSaved, waitForShapeCount,
} from './support/studio.mjs';

let server;
before(async () => { server = await serveStatic(); });
after(async () => { await server?.close(); });

const drawn = (page) =>
  page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });

/** Opens the app in a new page of `context`; uncaught errors land in `errors`. */
async function open(context, errors, { broadcast = true } = {}) {
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(String(err)));
  // A browser without BroadcastChannel: only the merge at save keeps both tabs' edits.
  if (!broadcast) await page.addInitScript(() => { delete window.BroadcastChannel; });
  await page.goto(server.url);
  await drawn(page);
  await waitForSaved(page);
  return page;
}

/** Draws a rectangle with its corner `dx`, `dy` pixels off a point left of the centre. */
async function rectangle(page, dx, dy = 0) {
  const { at } = await canvasFrame(page);
  await page.keyboard.press('r');
  await drag(page, at(dx - 150, dy - 120), at(dx - 110, dy - 80));
}

const openImage = (page) => page.locator('[data-testid="image-item"].current').getAttribute('title');

test('one project in several tabs: no edit of any tab is lost, the same image included', async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    const a = await open(context, errors);
    const b = await open(context, errors);
    const first = await openImage(a);
    assert.equal(await openImage(b), first);

    // Both tabs draw on the same image at about the same time; each then shows both boxes.
    await Promise.all([rectangle(a, 0), rectangle(b, 120)]);
    await Promise.all([waitForSaved(a), waitForSaved(b)]);
    await Promise.all([waitForShapeCount(a, 2), waitForShapeCount(b, 2)]);

    // Different images: A moves on and draws there; B draws again on the first.
    await a.keyboard.press('d');
    await a.waitForFunction((name) => document.querySelector('[data-testid="image-item"].current')?.title !== name, first);
    const second = await openImage(a);
    await rectangle(a, 40);
    await rectangle(b, 240);
    await Promise.all([waitForSaved(a), waitForSaved(b)]);
    await waitForShapeCount(b, 3);

    // A tab without BroadcastChannel does not hear of saves: it edits a stale copy, and
    // its save merges into the newer record instead of replacing it.
    const d = await open(context, errors, { broadcast: false });
    await waitForShapeCount(d, 3);
    await rectangle(b, 360); // B saves a 4th box; D does not hear of it
    await waitForSaved(b);
    await rectangle(d, -120); // D's box, over its stale copy of 3
    await waitForShapeCount(d, 4);
    await waitForSaved(d);
    await waitForShapeCount(d, 5);
    await screenshot(d, 'tabs-merged.png');

    // A tab opened afterwards finds every edit of every tab.
    const c = await open(context, errors);
    await waitForShapeCount(c, 5);
    const saved = await savedAnnotations(c);
    assert.equal(saved[first].annotations.shapes.length, 5, 'A, B ×3 and D on the first image');
    assert.equal(saved[second].annotations.shapes.length, 1, "A's box on the second image");
    // D could not tell B (no channel): B still shows its 4, and its next save merges D's
    // box in as well.
    await waitForShapeCount(b, 4);
    await rectangle(b, 0, 100);
    await waitForSaved(b);
    await waitForShapeCount(b, 6);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

/** The main process of the Chromium using profile `dir` (its children die with it). */
function browserPid(dir) {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n').map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/)).filter(Boolean)
    .map(([, pid, ppid, args]) => ({ pid: Number(pid), ppid: Number(ppid), args }));
  const ours = rows.filter((r) => r.args.includes(`--user-data-dir=${dir}`));
  const main = ours.find((r) => !ours.some((o) => o.pid === r.ppid));
  assert.ok(main, `no Chromium runs on ${dir}`);
  return main.pid;
}

test('a browser killed right after a save (no unload handlers) restores the edit on the next start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sightline-killed-'));
  let context = await launchProfile(dir, { webgpu: false });
  const errors = [];
  try {
    const page = await open(context, errors);
    const started = Date.now();
    await rectangle(page, 0);
    await waitForShapeCount(page, 1);
    await waitForSaved(page);
    const savedAfterMs = Date.now() - started;
    process.kill(browserPid(dir), 'SIGKILL');
    await context.close().catch(() => {});
    console.log(`# edit saved ${savedAfterMs} ms after the drag began; browser killed then`);

    context = await launchProfile(dir, { webgpu: false });
    const again = await open(context, errors);
    await waitForShapeCount(again, 1);
    assert.deepEqual(errors, []);
  } finally {
    await context.close().catch(() => {});
  }
});

const saveState = (page) => page.getByTestId('save-state').textContent();

test('a full disk on an annotation write: the image cache gives way, then the edit waits in the tab and is saved once there is room', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'sightline-full-')), 'full');
  const count = 20;
  await writeFolder(dir, count, 1024, { noise: true }); // a few MB of levels each
  // The service worker's caches share the origin's quota; this spec measures IndexedDB.
  const context = await launchProfile(await mkdtemp(join(tmpdir(), 'sightline-profile-')),
    { webgpu: false, serviceWorkers: 'block' });
  const errors = [];
  try {
    const page = await open(context, errors);
    // A small memory cache, so that browsing the folder demotes levels to IndexedDB.
    await saveSettings(page, { memory_cache_mb: 64, prefetch_depth: 0 });
    await page.getByTestId('open-folder').setInputFiles(dir);
    await importDone(page);
    for (let i = 1; i < count; i += 1) {
      await page.keyboard.press('d');
      await waitForImage(page, `img-${String(i).padStart(5, '0')}.png`);
    }
    await page.getByTestId('open-perf').click();
    await page.waitForFunction(() =>
      Number(document.querySelector('[data-testid="perf-tier"][data-tier="store"]')?.dataset.entries) > 0,
    null, { timeout: 60_000 });
    await rectangle(page, 0);
    await waitForShapeCount(page, 1);
    await waitForSaved(page);
    const image = await openImage(page);
    const before = (await tiers(page)).store;

    // The disk fills up: Chromium checks a write against the quota it last read for up to
    // 30 s (IndexedDB's BucketContext::kBucketSpaceCacheTimeLimit), so the next save waits that out.
    const cdp = await context.newCDPSession(page);
    const origin = new URL(server.url).origin;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1 });
    await page.waitForTimeout(31_000);
    await rectangle(page, 120);
    await waitForShapeCount(page, 2);
    await page.waitForFunction(() => (document.querySelector('[data-testid="save-state"]')
      ?.textContent ?? '').startsWith('not saved'), null, { timeout: 30_000 });
    assert.match(await saveState(page),
      /^not saved: .*QuotaExceededError.*your edits are kept in this tab and saving is retried/);
    // The image cache gave way first (every stored level, as the quota leaves no room at
    // all); the originals and the saved annotations are untouched, and the edit is on screen.
    const after = (await tiers(page)).store;
    assert.ok(after.evictions > before.evictions, `levels evicted for the annotation (${JSON.stringify({ before, after })})`);
    assert.equal(await countRows(page, 'levels'), 0, 'no level left to give');
    assert.equal(await countRows(page, 'blobs'), count, 'no original evicted');
    assert.equal((await savedAnnotations(page, null))[image].annotations.shapes.length, 1);
    // The storage mark says so at once (the browser's estimate still shows the disk's quota).
    await page.waitForFunction(() => (document.querySelector('[data-testid="storage-status"]')
      ?.textContent ?? '').startsWith('storage full · '), null, { timeout: 10_000 });
    assert.match(await page.getByTestId('storage-status').getAttribute('title'), /stay in this tab/);
    await screenshot(page, 'save-quota-full.png');

    // Room again: the retry (every 2 s) saves the waiting edit, and a new tab finds it.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    await page.waitForFunction(() => document.querySelector('[data-testid="save-state"]')
      ?.textContent.trim() === 'saved', null, { timeout: 30_000 });
    await page.waitForFunction(() => !(document.querySelector('[data-testid="storage-status"]')
      ?.textContent ?? 'storage full').startsWith('storage full'), null, { timeout: 10_000 });
    const again = await context.newPage();
    await again.goto(server.url);
    await drawn(again);
    await again.locator(`[data-testid="image-item"][title="${image}"]`).click();
    await waitForImage(again, image);
    await waitForShapeCount(again, 2);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('the status bar says whether the browser keeps the data; the first own project asks for it', async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    const page = await open(context, errors);
    const status = page.getByTestId('storage-status');
    // What the page shows is what the browser says.
    const persisted = await page.evaluate(() => navigator.storage.persisted());
    await page.waitForFunction(
      (kept) => (document.querySelector('[data-testid="storage-status"]')?.textContent ?? '')
        .startsWith(kept ? 'storage kept' : 'storage may be cleared'),
      persisted, { timeout: 30_000 });
    assert.match(await status.textContent(), / · [\d.]+ [KMG]?B of [\d.]+ [KMGT]B$/);
    if (!persisted) {
      assert.match(await status.getAttribute('title'), /may delete it, projects included.*Export/);
    }

    // The user's first project of their own asks the browser by itself (once per profile),
    // and what it answered is shown.
    assert.equal(await page.evaluate(() => localStorage.getItem('sightline-persist-asked')), null);
    const folder = await writeFolder(join(await mkdtemp(join(tmpdir(), 'sightline-own-')), 'own'), 3, 64);
    await page.getByTestId('open-folder').setInputFiles(folder);
    await page.waitForFunction(() => localStorage.getItem('sightline-persist-asked') === '1',
      null, { timeout: 30_000 });
    const answered = await page.evaluate(() => navigator.storage.persisted());
    await page.waitForFunction(
      (kept) => (document.querySelector('[data-testid="storage-status"]')?.textContent ?? '')
        .startsWith(kept ? 'storage kept' : 'storage may be cleared'),
      answered, { timeout: 30_000 });
    // The settings say the same in full, and offer to ask again while it is not kept.
    await page.getByTestId('open-settings').click();
    const advice = await page.getByTestId('storage-advice').textContent();
    assert.match(advice, answered ? /^storage kept · .*promised to keep/ : /^storage may be cleared · .*Export your projects/);
    assert.equal(await page.getByTestId('storage-persist').isDisabled(), answered);
    await screenshot(page, 'storage-settings.png');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a browser that keeps the data: the status bar and the settings say so, and offer nothing to ask', async () => {
  // Chromium keeps an origin's data when the permission is granted (as it does for an
  // installed app); only a profile on disk can keep anything.
  const context = await launchProfile(await mkdtemp(join(tmpdir(), 'sightline-kept-')),
    { webgpu: false, serviceWorkers: 'block' });
  const errors = [];
  try {
    const cdp = await context.newCDPSession(context.pages()[0] ?? await context.newPage());
    await cdp.send('Browser.setPermission', {
      permission: { name: 'persistent-storage' }, setting: 'granted', origin: new URL(server.url).origin,
    });
    const page = await open(context, errors);
    assert.equal(await page.evaluate(() => navigator.storage.persisted()), true);
    await page.waitForFunction(() => (document.querySelector('[data-testid="storage-status"]')
      ?.textContent ?? '').startsWith('storage kept · '), null, { timeout: 30_000 });
    assert.match(await page.getByTestId('storage-status').getAttribute('title'), /promised to keep/);
    await page.getByTestId('open-settings').click();
    assert.match(await page.getByTestId('storage-advice').textContent(), /^storage kept · .*promised to keep/);
    assert.equal(await page.getByTestId('storage-persist').isDisabled(), true);
    await screenshot(page, 'storage-kept.png');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
