// Sharing (issue: shareable labeling links and project files):
// - a link made in one browser profile recreates the same setup in a second, fresh profile
//   (classes with colours, the model, the images, the annotations), after a preview that
//   asks first; the second profile's own work is untouched;
// - a project file exported in one profile opens in another with its annotations byte for
//   byte;
// - hostile links each give their own clear message and change nothing; labels are text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { join } from 'node:path';
import {
  DIST, serveStatic, launchChromium, screenshot,
} from './support/harness.mjs';
import {
  canvasFrame, drag, savedAnnotations, waitForSaved, waitForShapeCount,
} from './support/studio.mjs';

const MODEL_SERVED = join(DIST, 'demo/models/fall-yolov8s.onnx');
let server;
before(async () => { server = await serveStatic(); });
after(async () => { await server?.close(); });

const drawn = (page) =>
  page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });

/** A fresh profile (its own IndexedDB and storage) with a page that records errors. */
async function profile(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('dialog', (dialog) => { errors.push(`unexpected dialog: ${dialog.message()}`); dialog.dismiss(); });
  return { context, page, errors };
}

/** What the app stores per project, read from IndexedDB. */
const projects = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('sightline');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const request = db.transaction('projects').objectStore('projects').getAll();
    // What the user owns; `updated_ms` moves whenever autosave touches a project.
    request.onsuccess = () => {
      db.close();
      resolve(request.result.map((r) => JSON.parse(r.json))
        .map(({ updated_ms: _, ...project }) => project));
    };
    request.onerror = () => reject(request.error);
  };
}));

/** A link payload as the codec writes it: `1.` + base64url(raw DEFLATE(JSON)). */
const payloadOf = (json) => `1.${deflateRawSync(Buffer.from(json)).toString('base64url')}`;

test('a link made in one profile recreates the setup in a fresh one, after asking',
  { skip: existsSync(MODEL_SERVED) ? false : `${MODEL_SERVED} missing (run cargo xtask setup)` },
  async () => {
    const browser = await launchChromium({ webgpu: false });
    try {
      const a = await profile(browser);
      await a.page.goto(server.url);
      await drawn(a.page);
      // A class with a colour, a box with it, and the demo's model.
      await a.page.getByTestId('new-class').fill('hiker');
      await a.page.getByTestId('new-class').press('Enter');
      // Out of the class field, so that the tool keys reach the canvas.
      await a.page.getByTestId('canvas').click({ position: { x: 5, y: 5 } });
      await a.page.keyboard.press('Escape');
      const { at } = await canvasFrame(a.page);
      await a.page.keyboard.press('r');
      await drag(a.page, at(-100, -80), at(-10, 20));
      await waitForShapeCount(a.page, 1);
      await waitForSaved(a.page);
      await a.page.getByTestId('ai-toggle').click();
      await a.page.getByTestId('add-demo-model').click();
      await a.page.waitForFunction(
        () => /ready/.test(document.querySelector('[data-testid="ai-message"]')?.textContent ?? ''),
        null, { timeout: 300_000 });
      await a.page.getByTestId('share').click();
      const link = (await a.page.getByTestId('share-link').inputValue()).trim();
      assert.match(link, /#share=1\./);
      await screenshot(a.page, 'share-dialog.png');
      const savedA = await savedAnnotations(a.page);

      const b = await profile(browser);
      await b.page.goto(server.url);
      await drawn(b.page);
      await waitForSaved(b.page);
      const before = await projects(b.page);
      await b.page.goto(link);
      await b.page.getByTestId('link-preview').waitFor({ timeout: 30_000 });
      await b.page.waitForFunction(
        () => /^9 image\(s\) listed at .*demo\/manifest\.json$/.test(document.querySelector('[data-testid="link-images"]')?.textContent ?? ''),
        null, { timeout: 30_000 });
      assert.match(await b.page.getByTestId('link-model').textContent(), /fall-yolov8s\.onnx/);
      const shownClasses = await b.page.$$eval('[data-testid="link-class"]', (items) => items.map((i) => i.textContent));
      assert.ok(shownClasses.includes('hiker'), `classes shown: ${shownClasses}`);
      assert.match(await b.page.getByTestId('link-annotations').textContent(), /1 shape\(s\) on 1 image\(s\)/);
      await screenshot(b.page, 'share-link-preview.png');
      assert.deepEqual(await projects(b.page), before, 'nothing changes before the user agrees');

      await b.page.getByTestId('link-accept').click();
      await b.page.getByTestId('link-preview').waitFor({ state: 'detached', timeout: 300_000 });
      await drawn(b.page);
      await waitForShapeCount(b.page, 1);
      const after = await projects(b.page);
      assert.equal(after.length, before.length + 1, 'a new project, the open one kept');
      const created = after.find((p) => !before.some((q) => q.id === p.id));
      assert.ok(created.classes.includes('hiker'), `classes: ${created.classes}`);
      const savedB = await savedAnnotations(b.page, created.id);
      const shapesOf = (saved) => JSON.stringify(saved['person.jpg'].annotations.shapes);
      assert.equal(shapesOf(savedB), shapesOf(savedA), 'the same annotations');
      assert.doesNotMatch(await b.page.getByTestId('notice').textContent(), /could not be loaded/);
      await b.page.getByTestId('ai-toggle').click();
      await b.page.getByTestId('model-item').first().waitFor({ timeout: 60_000 });
      assert.equal(await b.page.getByTestId('model-item').count(), 1, 'the model was added');
      assert.ok(!(await b.page.evaluate(() => location.hash)).includes('share='), 'the link is used once');
      assert.deepEqual([...a.errors, ...b.errors], []);
    } finally {
      await browser.close();
    }
  });

test('a project file moves a project between profiles, annotations byte for byte', async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const a = await profile(browser);
    await a.page.goto(server.url);
    await drawn(a.page);
    const { at } = await canvasFrame(a.page);
    await a.page.keyboard.press('r');
    await drag(a.page, at(-90, -70), at(30, 40));
    await a.page.keyboard.press('p');
    for (const [dx, dy] of [[40, 40], [120, 50], [90, 130]]) await a.page.mouse.click(...at(dx, dy));
    await a.page.keyboard.press('Enter');
    await waitForShapeCount(a.page, 2);
    await waitForSaved(a.page);
    const [download] = await Promise.all([
      a.page.waitForEvent('download', { timeout: 120_000 }),
      a.page.getByTestId('export-project').click(),
    ]);
    const file = await download.path();
    const savedA = await savedAnnotations(a.page);

    const b = await profile(browser);
    await b.page.goto(server.url);
    await drawn(b.page);
    await b.page.getByTestId('open-project-file').setInputFiles({
      name: 'demo.sightline', mimeType: 'application/zip', buffer: await readFile(file),
    });
    await b.page.waitForFunction(
      () => /Opened the project/.test(document.querySelector('[data-testid="notice"]')?.textContent ?? ''),
      null, { timeout: 120_000 });
    await drawn(b.page);
    const created = (await projects(b.page)).find((p) => p.stored_images);
    assert.ok(created, 'the project is stored in the second profile');
    const savedB = await savedAnnotations(b.page, created.id);
    assert.deepEqual(Object.keys(savedB).sort(), Object.keys(savedA).sort());
    for (const path of Object.keys(savedA)) {
      assert.equal(JSON.stringify(savedB[path].annotations), JSON.stringify(savedA[path].annotations),
        `${path}: the same annotations, byte for byte`);
    }
    // The second profile shows them from its own copy of the images.
    await b.page.locator('nav.image-list li[title="person.jpg"]').click();
    await waitForShapeCount(b.page, 2);
    await drawn(b.page);

    // A link may point at a project file by URL (here on another origin, with CORS).
    const files = await mkdtemp(join(tmpdir(), 'sightline-project-file-'));
    await copyFile(file, join(files, 'demo.sightline'));
    const host = await serveStatic(files, { isolate: false, headers: { 'access-control-allow-origin': '*' } });
    try {
      const c = await profile(browser);
      await c.page.goto(`${server.url}#share=${payloadOf(JSON.stringify({ n: 'from a file', i: { p: `${host.url}demo.sightline` } }))}`);
      await c.page.getByTestId('link-preview').waitFor();
      assert.match(await c.page.getByTestId('link-images').textContent(), /the project file at .*demo\.sightline/);
      await c.page.getByTestId('link-accept').click();
      await c.page.getByTestId('link-preview').waitFor({ state: 'detached', timeout: 120_000 });
      const fromLink = (await projects(c.page)).find((p) => p.stored_images);
      const savedC = await savedAnnotations(c.page, fromLink.id);
      for (const path of Object.keys(savedA)) {
        assert.equal(JSON.stringify(savedC[path].annotations), JSON.stringify(savedA[path].annotations),
          `${path}: the same annotations through a link to the file`);
      }
      assert.deepEqual(c.errors, []);
    } finally {
      await host.close();
    }
    assert.deepEqual([...a.errors, ...b.errors], []);
  } finally {
    await browser.close();
  }
});

test('a link to images on another origin: CORS images load, the failures are listed, the rest load', async () => {
  const images = await serveStatic(join(DIST, 'demo'), {
    isolate: false, headers: { 'access-control-allow-origin': '*' },
  });
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await profile(browser);
    await page.goto(server.url);
    await drawn(page);
    await waitForSaved(page);
    const urls = [`${images.url}dog.jpg`, `${images.url}missing.jpg`, `${images.url}kite.jpg`];
    const payload = payloadOf(JSON.stringify({
      n: 'remote', c: [{ n: 'dog', c: '#00aa00' }], i: { u: urls }, o: urls[2],
    }));
    await page.goto(`${server.url}#share=${payload}`);
    await page.getByTestId('link-preview').waitFor();
    assert.match(await page.getByTestId('link-images').textContent(), /3 image\(s\)/);
    await page.getByTestId('link-accept').click();
    await page.getByTestId('link-preview').waitFor({ state: 'detached', timeout: 120_000 });
    await drawn(page);
    assert.equal(await page.getByTestId('file-name').textContent(), 'kite.jpg', 'opens on the link\'s image');
    assert.equal(await page.getByTestId('position').textContent(), '2 / 2');
    const notice = await page.getByTestId('notice').textContent();
    assert.match(notice, /1 could not be loaded: .*missing\.jpg.*404/, notice);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'still isolated');
    // The 404 is the browser's own console line for the failed fetch; nothing else.
    assert.deepEqual(errors.filter((e) => !/404/.test(e)), []);
  } finally {
    await browser.close();
    await images.close();
  }
});

test('hostile links: each gives its own message, runs nothing and changes nothing', async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await profile(browser);
    await page.goto(server.url);
    await drawn(page);
    await waitForSaved(page);
    const before = await projects(page);
    const good = payloadOf(JSON.stringify({ n: 'x', i: { u: ['demo/person.jpg'] } }));
    const cases = [
      ['oversized', `1.${'A'.repeat(9000)}`, /characters long, over the 8000/],
      ['truncated', good.slice(0, Math.floor(good.length / 2)), /cut short or damaged/],
      ['wrong version', `7.${good.slice(2)}`, /version|newer|Sightline/i],
      ['not base64', '1.@@@@', /'@' at character 3/],
      ['invalid JSON', payloadOf('{not json'), /does not hold a labeling setup/],
      ['a zip bomb', `1.${deflateRawSync(Buffer.alloc(6_000_000), { level: 9 }).toString('base64url')}`, /unpacks to more than/],
      ['javascript: image', payloadOf(JSON.stringify({ i: { u: ['javascript:window.__pwned=1'] } })), /"javascript:" addresses are not allowed/],
      ['data: model', payloadOf(JSON.stringify({ m: { u: 'data:application/octet-stream;base64,AAAA', c: 0.25, i: 0.45 }, i: { u: ['demo/person.jpg'] } })), /"data:" addresses are not allowed/],
      ['JavaScript: with a tab', payloadOf(JSON.stringify({ i: { m: 'Java\tScript:alert(1)' } })), /addresses are not allowed/],
    ];
    for (const [name, payload, message] of cases) {
      await page.goto(`${server.url}#share=${payload}`);
      await page.getByTestId('link-error').waitFor({ timeout: 30_000 });
      assert.match(await page.getByTestId('link-error').textContent(), message, name);
      if (name === 'not base64') await screenshot(page, 'share-hostile-link.png');
      await page.getByTestId('link-close').click();
      assert.deepEqual(await projects(page), before, `${name}: nothing changed`);
    }

    // Markup and script in labels are shown as text, never run.
    const markup = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    await page.goto(`${server.url}#share=${payloadOf(JSON.stringify({
      n: '<b>bold</b>', c: [{ n: markup, c: '#ff0000' }], i: { u: ['demo/person.jpg'] },
    }))}`);
    await page.getByTestId('link-preview').waitFor();
    assert.equal(await page.getByTestId('link-class').textContent(), markup, 'the label as text');
    assert.equal(await page.getByTestId('link-name').textContent(), '<b>bold</b>');
    assert.equal(await page.locator('.link-preview img, .link-preview script, .link-preview b').count(), 0);
    await page.getByTestId('link-cancel').click();
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'nothing ran');
    assert.deepEqual(await projects(page), before, 'cancel changes nothing');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
