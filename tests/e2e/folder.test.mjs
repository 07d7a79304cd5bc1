// Opening the user's folder as a new project: images stored in IndexedDB under their
// SHA-256, YOLO + LabelMe annotations attached, a broken label file reported while the rest
// imports, the project reopened after a reload from the stored bytes alone, and deleted
// with its bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, copyFile, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT, serveStatic, launchChromium, openApp, screenshot, canvasStats, unzip,
} from './support/harness.mjs';
import { waitForSaved, waitForShapeCount } from './support/studio.mjs';

let server;
before(async () => { server = await serveStatic(); });
after(async () => { await server?.close(); });

const DEMO = join(ROOT, 'public/demo');

/** A folder as a user has it: three images, YOLO labels for one, LabelMe for another, a
 *  label file with a wrong column count, and a stray file. */
async function makeFolder() {
  const dir = join(await mkdtemp(join(tmpdir(), 'sightline-e2e-')), 'shots');
  await mkdir(join(dir, 'labels'), { recursive: true });
  for (const name of ['dog.jpg', 'kite.jpg', 'person.jpg']) {
    await copyFile(join(DEMO, name), join(dir, name));
  }
  await writeFile(join(dir, 'classes.txt'), 'dog\nball\n');
  await writeFile(join(dir, 'labels/dog.txt'), '0 0.5 0.5 0.25 0.25\n1 0.2 0.2 0.1 0.1\n');
  await writeFile(join(dir, 'labels/kite.txt'), '0 0.5 0.5\n');
  const person = JSON.parse(JSON.stringify({
    version: '5.4.1', flags: {}, imagePath: 'person.jpg', imageData: null,
    imageHeight: 0, imageWidth: 0,
    shapes: [{ label: 'person', points: [[10, 20], [110, 220]], group_id: null,
      description: '', shape_type: 'rectangle', flags: {} }],
  }));
  await writeFile(join(dir, 'person.json'), JSON.stringify(person));
  await writeFile(join(dir, 'notes.md'), 'not an image\n');
  return dir;
}

const imageNames = (page) => page.$$eval('nav.image-list li', (items) => items.map((i) => i.title));

/** Content keys and byte lengths of what the app stored in the `blobs` store. */
const storedBlobs = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('sightline');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const request = db.transaction('blobs').objectStore('blobs').getAll();
    request.onsuccess = () => {
      db.close();
      resolve(Object.fromEntries(request.result.map((r) => [r.key, r.bytes.length])));
    };
    request.onerror = () => reject(request.error);
  };
}));

test('open a folder as a project, reload, find everything, delete it', async () => {
  const folder = await makeFolder();
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 30_000 });
    await waitForSaved(page);

    await page.getByTestId('open-folder').setInputFiles(folder);
    const report = page.getByTestId('import-report');
    await report.waitFor({ timeout: 30_000 });
    const reportText = await report.textContent();
    assert.match(reportText, /Opened 3 image\(s\) as project “shots”/);
    assert.match(reportText, /kite\.txt/, 'the broken label file is reported by name');
    assert.match(reportText, /notes\.md/, 'the stray file is said to be skipped');

    await page.waitForFunction(() =>
      document.querySelector('[data-testid="file-name"]')?.textContent.includes('dog.jpg'));
    assert.deepEqual(await imageNames(page), ['dog.jpg', 'kite.jpg', 'person.jpg']);
    await waitForShapeCount(page, 2);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 30_000 });
    assert.ok((await canvasStats(page)).colours > 500, 'the stored dog.jpg is drawn');

    // The originals are stored under their SHA-256, byte for byte.
    const blobs = await storedBlobs(page);
    for (const name of ['dog.jpg', 'kite.jpg', 'person.jpg']) {
      const bytes = await readFile(join(folder, name));
      const key = createHash('sha256').update(bytes).digest('hex');
      assert.equal(blobs[key], bytes.length, `${name} stored under its SHA-256`);
    }
    await screenshot(page, 'folder-opened.png');

    // Reload: the same project comes back from IndexedDB alone.
    await page.reload();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="file-name"]')?.textContent.includes('dog.jpg'),
      null, { timeout: 30_000 });
    assert.deepEqual(await imageNames(page), ['dog.jpg', 'kite.jpg', 'person.jpg']);
    await waitForShapeCount(page, 2);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 30_000 });
    assert.ok((await canvasStats(page)).colours > 500, 'drawn from the stored bytes');
    await page.keyboard.press('d');
    await page.keyboard.press('d');
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="file-name"]')?.textContent.includes('person.jpg'));
    await waitForShapeCount(page, 1);

    // Delete it: its bytes go, the demo opens.
    page.once('dialog', (dialog) => dialog.accept());
    await page.locator('[data-testid="project-item"].current button', { hasText: 'Delete' }).click();
    await page.waitForFunction(() =>
      document.querySelectorAll('nav.image-list li').length === 9,
      null, { timeout: 30_000 });
    assert.ok((await imageNames(page)).includes('astronaut.png'), 'the demo project is open again');
    assert.equal(await page.locator('[data-testid="project-item"]', { hasText: 'shots' }).count(), 0);
    await page.waitForFunction(async () => {
      const db = await new Promise((ok) => { const r = indexedDB.open('sightline'); r.onsuccess = () => ok(r.result); });
      const count = await new Promise((ok) => { const r = db.transaction('blobs').objectStore('blobs').count(); r.onsuccess = () => ok(r.result); });
      db.close();
      return count === 0;
    }, null, { timeout: 10_000 });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('files dropped anywhere on the window open as a project, LabelMe attached', async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 30_000 });
    await waitForSaved(page);
    const files = [
      { name: 'kite.jpg', type: 'image/jpeg', bytes: [...await readFile(join(DEMO, 'kite.jpg'))] },
      { name: 'dog.jpg', type: 'image/jpeg', bytes: [...await readFile(join(DEMO, 'dog.jpg'))] },
      {
        name: 'dog.json',
        type: 'application/json',
        bytes: [...Buffer.from(JSON.stringify({
          version: '5.4.1', flags: {}, imagePath: 'dog.jpg', imageData: null, imageHeight: 0, imageWidth: 0,
          shapes: [{ label: '<b>dog</b>', points: [[5, 5], [60, 80]], group_id: null,
            description: '', shape_type: 'rectangle', flags: {} }],
        }))],
      },
    ];
    // A drop on the status bar, far from any drop zone: the whole window accepts files.
    await page.evaluate((list) => {
      const transfer = new DataTransfer();
      for (const f of list) transfer.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: f.type }));
      const target = document.querySelector('.status-bar');
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, files);
    await page.getByTestId('import-report').waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('import-report').textContent(), /Opened 2 image\(s\)/);
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="file-name"]')?.textContent.includes('dog.jpg'));
    assert.deepEqual(await imageNames(page), ['dog.jpg', 'kite.jpg']);
    await waitForShapeCount(page, 1);
    // A label with markup is shown as text, never as markup.
    const label = await page.locator('[data-testid="shape-item"]').first().innerHTML();
    assert.ok(label.includes('&lt;b&gt;dog&lt;/b&gt;'), `label escaped: ${label}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a YOLO export with images is an Ultralytics dataset: images and labels by split, data.yaml', async () => {
  const folder = await makeFolder();
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 30_000 });
    await waitForSaved(page);
    await page.getByTestId('open-folder').setInputFiles(folder);
    await page.getByTestId('import-report').waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => !document.querySelector('[data-testid="import-progress"]'), null, { timeout: 60_000 });

    await page.getByTestId('export-format').selectOption('yolo');
    await page.getByTestId('export-images').check();
    await page.getByTestId('export-val-percent').fill('34');
    await page.getByTestId('export-seed').fill('7');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    const entries = await unzip(await download.path());
    const names = Object.keys(entries).sort();
    const images = names.filter((n) => n.startsWith('images/'));
    const labels = names.filter((n) => n.startsWith('labels/'));
    assert.equal(images.length, 3, `three images: ${names}`);
    assert.equal(images.filter((n) => n.startsWith('images/val/')).length, 1, `one of three in val at 34 %: ${names}`);
    for (const image of images) {
      const name = image.split('/').pop();
      assert.ok(entries[image].equals(await readFile(join(folder, name))), `${name} byte for byte`);
      // Images without shapes (kite: its label file was broken) are background images:
      // Ultralytics reads a missing label file as "nothing here".
      if (name === 'kite.jpg') continue;
      const split = image.split('/')[1];
      const label = `labels/${split}/${name.replace(/\.jpg$/, '.txt')}`;
      assert.ok(labels.includes(label),
        `${label} beside ${image}: ${names}; ${await page.getByTestId('notice').textContent()}`);
    }
    const dog = labels.find((n) => n.endsWith('/dog.txt'));
    assert.equal(entries[dog].toString().trim().split('\n').length, 2, 'dog.txt keeps both boxes');
    const yaml = entries['data.yaml'].toString();
    assert.match(yaml, /train: images\/train/);
    assert.match(yaml, /val: images\/val/);
    assert.match(yaml, /dog/);
    assert.match(await page.getByTestId('notice').textContent(), /Exported 3 image\(s\).*2 train, 1 val/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('the installed app opened with files by the system (launchQueue) imports them', async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    // Headless Chromium has no installed app to launch: the queue is given as the browser
    // gives it to an app launched with files (handles whose getFile() gives the file).
    await page.addInitScript(() => {
      Object.defineProperty(window, 'launchQueue', {
        configurable: true,
        value: { setConsumer(consumer) { window.__launchConsumer = consumer; } },
      });
    });
    await page.goto(server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 30_000 });
    await waitForSaved(page);
    const bytes = [...await readFile(join(DEMO, 'horses.jpg'))];
    await page.evaluate((data) => {
      const file = new File([new Uint8Array(data)], 'horses.jpg', { type: 'image/jpeg' });
      window.__launchConsumer({ files: [{ kind: 'file', name: 'horses.jpg', getFile: async () => file }] });
    }, bytes);
    await page.getByTestId('import-report').waitFor({ timeout: 30_000 });
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="file-name"]')?.textContent.includes('horses.jpg'));
    assert.deepEqual(await imageNames(page), ['horses.jpg']);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
