// The installable, offline app (issue: offline PWA):
// - served under a sub-path from a plain static host (no isolation headers): the app shell
//   runs, the manifest's scope and start URL stay under the path, and once the service worker
//   serves the page it is cross-origin isolated, in the page and in the AI worker;
// - offline: with the network gone a reload brings back the app, the open project, its
//   annotations, and an auto-label run with the stored model;
// - an update: a new build served, the page says so, and accepting it loads the new build
//   with the project intact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DIST, serveStatic, launchChromium, openApp, screenshot,
} from './support/harness.mjs';
import {
  canvasFrame, drag, savedAnnotations, waitForSaved, waitForShapeCount, shapeCount,
} from './support/studio.mjs';

const MODEL_SERVED = join(DIST, 'demo/models/fall-yolov8s.onnx');
const drawn = (page) =>
  page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });
const controlled = (page) => page.waitForFunction(
  () => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
const buildOf = (page) => page.evaluate(
  () => document.querySelector('meta[name="sightline-build"]')?.content ?? '');
const aiMessage = (page, pattern, timeout = 300_000) => page.waitForFunction(
  (source) => new RegExp(source).test(document.querySelector('[data-testid="ai-message"]')?.textContent ?? ''),
  pattern.source, { timeout, polling: 250 });

let servers = [];
after(async () => { await Promise.all(servers.map((s) => s.close())); });

test('under a sub-path of a plain static host: the shell runs, the service worker isolates page and worker', async () => {
  const server = await serveStatic(DIST, { base: '/some/sub/path/', isolate: false });
  servers.push(server);
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await drawn(page);
    assert.equal(await page.getByTestId('file-name').textContent(), 'person.jpg');
    // Every asset the page loaded came from under the sub-path.
    const outside = await page.evaluate((base) => performance.getEntriesByType('resource')
      .map((e) => new URL(e.name)).filter((u) => !u.pathname.startsWith(base)).map((u) => u.href),
    '/some/sub/path/');
    assert.deepEqual(outside, [], 'no asset from outside the sub-path');
    // The manifest's start URL and scope resolve under the sub-path.
    const manifest = await page.evaluate(async () => {
      const link = document.querySelector('link[rel="manifest"]');
      const json = await (await fetch(link.href)).json();
      return {
        start: new URL(json.start_url, link.href).href,
        scope: new URL(json.scope, link.href).href,
        icons: await Promise.all(json.icons.map(async (i) => (await fetch(new URL(i.src, link.href))).status)),
        handlers: json.file_handlers.length,
      };
    });
    assert.equal(manifest.start, server.url);
    assert.equal(manifest.scope, server.url);
    assert.deepEqual(manifest.icons, manifest.icons.map(() => 200), 'every icon is served');
    assert.ok(manifest.handlers >= 1, 'opens images and LabelMe files from the system');

    // A host without COOP/COEP: the first load is not isolated; under the service worker it is.
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);
    await controlled(page);
    await page.reload();
    await drawn(page);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'page isolated under the SW');
    assert.equal(await page.getByTestId('isolation').textContent(), 'isolated');
    assert.equal(await page.evaluate(() => typeof SharedArrayBuffer), 'function');
    // The AI worker, loaded through the service worker, is isolated too.
    await page.getByTestId('ai-toggle').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="backend"]')?.textContent !== '',
      null, { timeout: 120_000 });
    const workers = page.workers();
    assert.ok(workers.length >= 1, 'the AI worker runs');
    assert.deepEqual(await Promise.all(workers.map((w) => w.evaluate(() => self.crossOriginIsolated))),
      workers.map(() => true), 'the worker is cross-origin isolated');

    // The browser's install offer becomes an "Install" button (headless Chromium never offers
    // one by itself, so the offer is made here as the browser makes it).
    await page.evaluate(() => {
      const offer = new Event('beforeinstallprompt', { cancelable: true });
      offer.prompt = () => { window.installPrompted = true; return Promise.resolve(); };
      window.dispatchEvent(offer);
    });
    await page.getByTestId('install-app').waitFor();
    await screenshot(page, 'offline-install-button.png');
    await page.getByTestId('install-app').click();
    assert.equal(await page.evaluate(() => window.installPrompted), true, 'the browser prompt is shown');
    assert.equal(await page.getByTestId('install-app').count(), 0, 'an offer is used once');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('offline: a reload brings back the app, the project, its annotations and auto-labelling',
  { skip: existsSync(MODEL_SERVED) ? false : `${MODEL_SERVED} missing (run cargo xtask setup)` },
  async () => {
    const server = await serveStatic();
    servers.push(server);
    const browser = await launchChromium({ webgpu: false });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (err) => errors.push(String(err)));
      await page.goto(server.url);
      await drawn(page);
      await controlled(page);

      // An annotation, and the demo model stored; AI used once (its files are kept then).
      const { at } = await canvasFrame(page);
      await page.keyboard.press('r');
      await drag(page, at(-120, -100), at(-20, -10));
      await waitForShapeCount(page, 1);
      await waitForSaved(page);
      await page.getByTestId('ai-toggle').click();
      await page.getByTestId('add-demo-model').click();
      await aiMessage(page, /Model “.*” ready/);
      // "Make AI available offline" in the settings: both worker files are kept, with progress.
      await page.getByTestId('open-settings').click();
      await page.getByTestId('ai-offline').click();
      await page.waitForFunction(
        () => document.querySelector('[data-testid="ai-offline-state"]')?.textContent === 'AI is available offline.',
        null, { timeout: 120_000 });
      await page.getByTestId('settings-cancel').click();

      await context.setOffline(true);
      await page.reload();
      await drawn(page);
      assert.equal(await page.getByTestId('file-name').textContent(), 'person.jpg');
      await waitForShapeCount(page, 1);
      assert.equal(await shapeCount(page), 1, 'the annotation is back offline');
      // Another demo image opens too (precached with the shell).
      await page.keyboard.press('d');
      await page.waitForFunction(() => document.querySelector('[data-testid="file-name"]').textContent === 'dog.jpg');
      await drawn(page);
      await page.keyboard.press('a');
      await page.waitForFunction(() => document.querySelector('[data-testid="file-name"]').textContent === 'person.jpg');
      await drawn(page);

      // Auto-label offline with the stored model.
      await page.getByTestId('ai-toggle').click();
      await page.getByTestId('model-item').first().waitFor({ timeout: 60_000 });
      await page.getByTestId('canvas').click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('Escape');
      await page.keyboard.press('i');
      await aiMessage(page, /Labelled 1 image\(s\)/);
      await waitForSaved(page);
      const saved = await savedAnnotations(page);
      const shapes = saved['person.jpg'].annotations.shapes;
      assert.ok(shapes.some((s) => s.predicted), `predictions added offline: ${JSON.stringify(shapes)}`);
      assert.ok(shapes.some((s) => !s.predicted), 'the drawn box is kept');
      await screenshot(page, 'offline-labelled.png');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await browser.close();
    }
  });

test('a new build: the page says an update is ready; accepting it loads it with the project intact', async () => {
  // The "new build": this build with another version (what the build hook writes differs).
  const next = await mkdtemp(join(tmpdir(), 'sightline-next-build-'));
  await cp(DIST, next, { recursive: true, filter: (src) => !src.includes('/demo/models') });
  const oldVersion = /content="([0-9a-f]+)"/.exec(
    (await readFile(join(DIST, 'index.html'), 'utf8')).match(/<meta name="sightline-build"[^>]*>/)[0])[1];
  const newVersion = 'feedface' + oldVersion.slice(8);
  for (const file of ['index.html', 'sw.js']) {
    const text = await readFile(join(next, file), 'utf8');
    await writeFile(join(next, file), text.replaceAll(oldVersion, newVersion));
  }
  const server = await serveStatic();
  servers.push(server);
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await drawn(page);
    await controlled(page);
    assert.equal(await buildOf(page), oldVersion);
    const { at } = await canvasFrame(page);
    await page.keyboard.press('r');
    await drag(page, at(-60, -60), at(40, 30));
    await waitForShapeCount(page, 1);
    await waitForSaved(page);

    server.setRoot(next);
    // A navigation makes the browser look for a new service worker; the old build still runs.
    await page.reload();
    await drawn(page);
    assert.equal(await buildOf(page), oldVersion, 'nothing changes before the user accepts');
    await page.getByTestId('update-banner').waitFor({ timeout: 60_000 });
    await screenshot(page, 'offline-update-banner.png');
    await Promise.all([
      page.waitForEvent('load', { timeout: 60_000 }),
      page.getByTestId('update-reload').click(),
    ]);
    await drawn(page);
    assert.equal(await buildOf(page), newVersion, 'the new build runs');
    await waitForShapeCount(page, 1);
    const caches = await page.evaluate(() => caches.keys());
    assert.ok(caches.every((name) => !name.includes(oldVersion)), `old caches removed: ${caches}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await rm(next, { recursive: true, force: true });
  }
});
