// AI in the browser, end to end: the demo's trained detector (from PyPI, copied beside the
// demo by the setup) is added in the model manager and runs in the worker; auto-labelling
// person.jpg finds the "Normal" person Ultralytics finds (IoU ≥ 0.9 with its box);
// auto-labelling the folder is cancelled half-way with finished images kept whole; the filter
// lists only the images with a confident "Normal" and re-filters from its cache, and combines
// with a quality rule ("sharp images with a person"); a broken
// model file is refused with a clear message and changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT, DIST, serveStatic, launchChromium, openApp, screenshot,
} from './support/harness.mjs';
import { savedAnnotations, waitForSaved } from './support/studio.mjs';

const REFS = JSON.parse(await readFile(
  join(ROOT, 'crates/vision/tests/data/fall-yolov8s.detections.json'), 'utf8'));
const MODEL_SERVED = join(DIST, 'demo/models/fall-yolov8s.onnx');

let server;
before(async () => { server = await serveStatic(); });
after(async () => { await server?.close(); });

function iou(a, b) {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const area = (r) => (r[2] - r[0]) * (r[3] - r[1]);
  return inter / (area(a) + area(b) - inter);
}

const boxOf = (shape) => {
  const xs = shape.points_in_image.map((p) => p.x);
  const ys = shape.points_in_image.map((p) => p.y);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
};

const message = (page) => page.getByTestId('ai-message').textContent();
// On a timeout the error says what the panel said instead, so a failure names its cause.
const waitForMessage = async (page, pattern, timeout = 300_000) => {
  try {
    await page.waitForFunction(
      (source) => new RegExp(source).test(document.querySelector('[data-testid="ai-message"]')?.textContent ?? ''),
      pattern.source, { timeout, polling: 250 });
  } catch (error) {
    const said = await message(page).catch(() => '(no message)');
    throw new Error(`waiting for ${pattern}: the AI panel says “${said}”`, { cause: error });
  }
};

/** The app on the demo with its detector added through the model manager, and loaded. */
async function openWithDemoModel(browser) {
  const { page, errors } = await openApp(browser, server.url);
  await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 30_000 });
  await waitForSaved(page);
  // The model manager: the demo offers its detector; adding it stores and loads it.
  await page.getByTestId('ai-toggle').click();
  await page.getByTestId('add-demo-model').click();
  await waitForMessage(page, /Model “.*” ready: 2 class\(es\), 640×640/);
  return { page, errors };
}

test('add the demo model, label person.jpg, cancel a folder run, filter, refuse a broken model',
  { skip: existsSync(MODEL_SERVED) ? false : `${MODEL_SERVED} missing (run cargo xtask setup)` },
  async () => {
    const browser = await launchChromium({ webgpu: false });
    try {
      const { page, errors } = await openWithDemoModel(browser);
      assert.match(await page.getByTestId('model-info').textContent(), /Normal, Fall/);
      assert.equal(await page.getByTestId('model-item').count(), 1);
      // Auto precision on the CPU backend is f32, and the model manager says why.
      const precision = page.getByTestId('model-precision');
      assert.equal((await precision.textContent()).trim(), 'f32');
      assert.equal(await precision.getAttribute('title'), 'f32: f16 is used on a GPU only (auto)');

      // Ask for f16: the next run loads the model again and checks f16 against f32 on the
      // job's images; f16 stays only if it finds the same objects, else f32 with the reason.
      await page.getByTestId('ai-precision').selectOption('f16');

      // Auto-label the open image (person.jpg) with the shortcut.
      await page.getByTestId('canvas').click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('Escape');
      await page.keyboard.press('i');
      await waitForMessage(page, /Labelled 1 image\(s\)/);
      const used = (await precision.textContent()).trim();
      const why = await precision.getAttribute('title');
      if (used === 'f16') assert.equal(why, 'f16: same detections as f32 on 1 image(s)');
      else {
        assert.equal(used, 'f32');
        assert.match(why, /^f32(, not f16: .*differs from f32 on image 1|: the CPU backend has no f16 arithmetic here)/,
          `f32 because: ${why}`);
      }
      await waitForSaved(page);
      let saved = await savedAnnotations(page);
      const person = saved['person.jpg'].annotations.shapes;
      const ref = REFS.images['person.jpg'].detections.find((d) => d.name === 'Normal');
      const normal = person.filter((s) => s.label === 'Normal' && s.predicted);
      assert.ok(normal.length >= 1, `a predicted Normal box on person.jpg: ${JSON.stringify(person)}`);
      const best = Math.max(...normal.map((s) => iou(boxOf(s), ref.xyxy)));
      assert.ok(best >= 0.9, `IoU with Ultralytics' box ${best}`);
      assert.ok(normal.every((s) => s.score > 0.25 && s.score <= 1), 'scores kept');
      const personCount = person.length;
      const classes = await page.$$eval('[data-testid="class-item"]', (items) => items.map((i) => i.textContent));
      assert.ok(classes.some((c) => c.includes('Normal')), `the model's labels become classes: ${classes}`);
      await screenshot(page, 'ai-person-labelled.png');

      // The whole folder, cancelled after two images: finished images are kept whole.
      await page.getByTestId('label-all').click();
      await page.waitForFunction(() => {
        const count = document.querySelector('[data-testid="ai-job-count"]')?.textContent ?? '';
        return Number(count.split('/')[0]) >= 2;
      }, null, { timeout: 300_000, polling: 100 });
      await page.getByTestId('ai-cancel').click();
      await waitForMessage(page, /^Cancelled\. Labelled \d+ image\(s\)/);
      const finished = Number((await message(page)).match(/Labelled (\d+)/)[1]);
      assert.ok(finished >= 2 && finished < 9, `cancelled mid-folder after ${finished} images`);
      await waitForSaved(page);
      saved = await savedAnnotations(page);
      const labelled = Object.values(saved)
        .filter((r) => r.annotations.shapes.some((s) => s.predicted));
      assert.ok(labelled.length >= 2 && labelled.length <= finished + 1,
        `images with predictions: ${labelled.length}, finished ${finished} (+ person.jpg)`);
      assert.equal(saved['person.jpg'].annotations.shapes.length, personCount,
        'running the model again on person.jpg replaced its predictions, never doubled them');

      // The performance panel times inference per image by backend, and the job's rate.
      await page.getByTestId('open-perf').click();
      const inference = page.locator('[data-testid="perf-span"][data-span^="inference "]');
      await inference.first().waitFor();
      assert.ok(Number(await inference.first().getAttribute('data-count')) >= 2, 'each request timed');
      assert.ok(Number(await inference.first().getAttribute('data-p95')) > 0);
      assert.match(await page.getByTestId('perf-batch-rate').textContent(), /^\d+\.\d images\/s$/);
      await page.getByTestId('open-perf').click();

      // The filter: confident "Normal" only.
      await page.locator('[data-testid="filter-class"][value="Normal"]').check();
      await page.getByTestId('filter-min').fill('0.5');
      await page.getByTestId('filter-min').dispatchEvent('change');
      await page.getByTestId('run-filter').click();
      await waitForMessage(page, /of 9 image\(s\) match/);
      const expected = Object.entries(REFS.images)
        .filter(([, r]) => r.detections.some((d) => d.name === 'Normal' && d.conf >= 0.5))
        .map(([name]) => name).sort();
      const listed = async () => (await page.$$eval('[data-testid="image-item"]',
        (items) => items.map((i) => i.title))).sort();
      const shown = await listed();
      for (const name of expected) assert.ok(shown.includes(name), `${name} listed: ${shown}`);
      assert.ok(shown.length < 9, 'the filter hides images');
      await screenshot(page, 'ai-filtered.png');
      // Stricter threshold: answered from the cache, no model run.
      await page.getByTestId('filter-min').fill('0.6');
      await page.getByTestId('filter-min').dispatchEvent('change');
      await page.getByTestId('run-filter').click();
      await waitForMessage(page, /\(9 answered from the cache\)/, 10_000);
      const people = await listed();
      await page.getByTestId('clear-filter').click();
      assert.equal((await listed()).length, 9);

      // Filters combine: a quality rule with the detections ("sharp images with a person").
      await page.getByTestId('quality-toggle').click();
      await page.getByTestId('quality-run').click();
      await waitForMessage(page, /Scored 9 image\(s\)/);
      const blur = await page.$$eval('[data-testid="image-item"]', (rows) => Object.fromEntries(rows.map((r) =>
        [r.title, Number(r.querySelector('[data-metric="blur_effect"]').dataset.value)])));
      const median = Object.values(blur).sort((a, b) => a - b)[4];
      const sharp = Object.keys(blur).filter((n) => blur[n] <= median);
      await page.getByTestId('quality-add-rule').click();
      await page.getByTestId('rule-threshold').fill(String(median));
      await page.getByTestId('rule-threshold').press('Enter');
      await page.getByTestId('quality-only-matching').check();
      await page.waitForFunction(() => document.querySelector('[data-testid="image-count"]')?.textContent === '5 of 9');
      await page.getByTestId('run-filter').click();
      await waitForMessage(page, /\(9 answered from the cache\)/, 10_000);
      const both = people.filter((n) => sharp.includes(n)).sort();
      assert.ok(both.length > 0 && both.length < people.length, `${both} of ${people}`);
      await page.waitForFunction((n) => document.querySelector('[data-testid="image-count"]')?.textContent === `${n} of 9`, both.length);
      assert.deepEqual(await listed(), both, 'the list shows what both filters keep');
      await page.getByTestId('clear-filter').click();
      await page.getByTestId('quality-clear').click();
      assert.equal((await listed()).length, 9);

      // A broken model file: refused, named, nothing changed.
      const before = JSON.stringify(await savedAnnotations(page));
      const dir = await mkdtemp(join(tmpdir(), 'sightline-model-'));
      const broken = join(dir, 'broken.onnx');
      await writeFile(broken, Buffer.from('this is not an ONNX model'));
      await page.getByTestId('add-model').setInputFiles(broken);
      await waitForMessage(page, /Model not added: .*model file cannot be used/i, 60_000);
      assert.equal(await page.getByTestId('model-item').count(), 1, 'the broken file is not kept');
      assert.equal(JSON.stringify(await savedAnnotations(page)), before, 'annotations untouched');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

test('a worker that panics mid-job is reported, starts again with the next request, and the finished images stay',
  { skip: existsSync(MODEL_SERVED) ? false : `${MODEL_SERVED} missing (run cargo xtask setup)` },
  async () => {
    const browser = await launchChromium({ webgpu: false });
    try {
      const { page, errors } = await openWithDemoModel(browser);
      // One image per request, so that images finish one by one before the crash.
      await page.getByTestId('ai-batch').fill('1');
      await page.getByTestId('ai-batch').dispatchEvent('change');

      await page.getByTestId('label-all').click();
      await page.waitForFunction(() => {
        const count = document.querySelector('[data-testid="ai-job-count"]')?.textContent ?? '';
        return Number(count.split('/')[0]) >= 2;
      }, null, { timeout: 300_000, polling: 100 });
      // The forced panic: a `crash` request, as if the page had sent it.
      const worker = page.workers().find((w) => /worker/.test(w.url()));
      assert.ok(worker, `the AI worker runs: ${page.workers().map((w) => w.url())}`);
      await worker.evaluate(() => self.dispatchEvent(new MessageEvent('message', {
        data: JSON.stringify({ id: 999_999, body: { kind: 'crash' } }),
      })));
      await waitForMessage(page, /^Labelled (\d+) image\(s\).* Stopped: .*the AI worker stopped .*panicked.*it starts again with the next AI request/);
      const finished = Number((await message(page)).match(/Labelled (\d+)/)[1]);
      assert.ok(finished >= 2 && finished < 9, `stopped mid-folder after ${finished} images`);
      assert.match(await page.getByTestId('worker').textContent(), /worker failed: the AI worker stopped/);
      await waitForSaved(page);
      const kept = Object.values(await savedAnnotations(page))
        .filter((r) => r.annotations.shapes.some((s) => s.predicted)).length;
      assert.ok(kept >= finished - 1 && kept <= finished,
        `the finished images keep their predictions: ${kept} of ${finished} (one may have found nothing)`);
      await screenshot(page, 'ai-worker-crashed.png');

      // The next request starts a new worker, which finishes the folder.
      await page.getByTestId('label-all').click();
      await waitForMessage(page, /^Labelled 9 image\(s\)/);
      assert.match(await page.getByTestId('worker').textContent(), /^worker \d/);
      // The panic is in the console of the worker that died, not an error of the page.
      assert.deepEqual(errors.filter((e) => !/panicked|unreachable|worker/i.test(e)), []);
    } finally {
      await browser.close();
    }
  });
