// Never lose a label: the same project in several tabs of one profile (the same image and
// different images, with and without BroadcastChannel), a browser killed right after a save,
// and whether the browser promised to keep the data.
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
  canvasFrame, drag, savedAnnotations, waitForSaved, waitForShapeCount,
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
