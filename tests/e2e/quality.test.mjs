// Image quality as a user meets it: a folder scored in the worker with pyiqa's numbers (the
// fixture photos' values against the shared pyiqa / scikit-image references), presets over a
// histogram, sorting by a metric column, flags, exclusion from export (the export says how
// many and why), near-duplicate groups with "keep", a second run answered from the cache,
// and everything still there after a reload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, serveStatic, launchChromium, openApp, screenshot } from './support/harness.mjs';
import { pngOf } from './support/images.mjs';

let server;
before(async () => { server = await serveStatic(); });
after(async () => { await server?.close(); });

const IQA = join(ROOT, 'crates/vision/tests/data/iqa');
const PHOTOS = ['astronaut', 'coffee', 'chelsea'];
const DISTORTIONS = ['ref', 'blur_s2', 'q30_decoded'];

/** pyiqa's (and scikit-image's) values: metric -> "photo/distortion" -> value. */
async function references() {
  const [header, ...rows] = (await readFile(join(IQA, 'reference_values.tsv'), 'utf8')).trim().split('\n');
  const cases = header.split('\t').slice(1);
  return Object.fromEntries(rows.map((row) => {
    const [metric, ...values] = row.split('\t');
    return [metric, Object.fromEntries(cases.map((c, i) => [c, Number(values[i])]))];
  }));
}

/** The nine fixture photos plus a dark, an overexposed and a flat grey image. */
async function writeQualityFolder() {
  const dir = join(await mkdtemp(join(tmpdir(), 'sightline-quality-')), 'shoot');
  await mkdir(dir, { recursive: true });
  for (const photo of PHOTOS) {
    for (const distortion of DISTORTIONS) {
      await copyFile(join(IQA, `${photo}_${distortion}.png`), join(dir, `${photo}_${distortion}.png`));
    }
  }
  const wobble = (x, y) => ((x * 7 + y * 13) % 5);
  await writeFile(join(dir, 'night.png'), pngOf(96, 64, (x, y) => [wobble(x, y), wobble(y, x), 2]));
  await writeFile(join(dir, 'snow.png'), pngOf(96, 64, (x, y) => [251 + wobble(x, y), 253, 252]));
  await writeFile(join(dir, 'fog.png'), pngOf(96, 64, (x, y) => [124 + wobble(x, y), 126, 125]));
  return dir;
}

/** Each listed row's value of `metric` (rows show the list's metric columns). */
const columnValues = (page, metric) => page.$$eval(
  `[data-testid="image-item"] [data-testid="metric-value"][data-metric="${metric}"]`,
  (cells) => cells.map((c) => Number(c.dataset.value)));

/** The value of `metric` in the row of image `name`. */
async function valueOf(page, name, metric) {
  const cell = page.locator(`[data-testid="image-item"][title="${name}"] [data-testid="metric-value"][data-metric="${metric}"]`);
  return Number(await cell.getAttribute('data-value'));
}

/** Every listed image's value of `metric`, by name. */
const valuesByName = (page, metric) => page.$$eval('[data-testid="image-item"]', (rows, m) =>
  Object.fromEntries(rows.flatMap((r) => {
    const cell = r.querySelector(`[data-testid="metric-value"][data-metric="${m}"]`);
    return cell ? [[r.title, Number(cell.dataset.value)]] : [];
  })), metric);

async function setThreshold(page, value) {
  await page.getByTestId('rule-threshold').fill(String(value));
  await page.getByTestId('rule-threshold').press('Enter');
}

const listedNames = (page) => page.$$eval('[data-testid="image-item"]', (rows) => rows.map((r) => r.title));

async function showColumn(page, metric, on = true) {
  const box = page.locator(`[data-testid="quality-column"][value="${metric}"]`);
  if ((await box.isChecked()) !== on) await box.click();
}

async function scoreAll(page, expected) {
  await page.getByTestId('quality-run').click();
  await page.waitForFunction((text) =>
    document.querySelector('[data-testid="quality-message"]')?.textContent.includes(text),
  expected, { timeout: 240_000, polling: 250 });
}

test('a folder scored with pyiqa\'s numbers, curated by presets, flags, exclusions and duplicates', async () => {
  const want = await references();
  const dir = await writeQualityFolder();
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });
    await page.getByTestId('open-folder').setInputFiles(dir);
    await page.waitForFunction(() => document.querySelector('[data-testid="image-count"]')?.textContent.trim() === '12',
      null, { timeout: 60_000 });
    // The worker reads the stored originals: the import stores them in the background.
    await page.waitForFunction(() => !document.querySelector('[data-testid="import-progress"]'),
      null, { timeout: 120_000 });
    await page.getByTestId('quality-toggle').click();
    await scoreAll(page, 'Scored 12 image(s) (0 from the cache). 3 group(s) of near-duplicates.');
    assert.equal(await page.getByTestId('quality-state').textContent(), '12 scored');

    // The worker's numbers are pyiqa's: entropy and PIQE, and scikit-image's blur effect.
    await showColumn(page, 'entropy');
    await showColumn(page, 'piqe');
    for (const photo of PHOTOS) {
      for (const distortion of DISTORTIONS) {
        const name = `${photo}_${distortion}.png`;
        const c = `${photo}/${distortion}`;
        const close = async (metric, row, tolerance) => {
          const got = await valueOf(page, name, metric);
          assert.ok(Math.abs(got - want[row][c]) <= tolerance, `${name} ${metric}: ${got} vs ${want[row][c]}`);
        };
        await close('entropy', 'entropy', 1e-4);
        await close('piqe', 'piqe', 1e-2);
        await close('blur_effect', 'sk_blur_effect', 1e-4);
      }
    }
    await showColumn(page, 'piqe', false);
    assert.ok(await valueOf(page, 'night.png', 'mean_luminance') < 0.02);

    // Presets: a threshold over the folder's histogram, narrowing the list to the images
    // whose values (read above from the columns) are on the preset's side.
    const blurOf = await valuesByName(page, 'blur_effect');
    const over = (values, threshold) => Object.keys(values).filter((n) => values[n] >= threshold).sort();
    await page.getByTestId('preset-blurry').click();
    await page.waitForSelector('[data-testid="quality-histogram"] .bar');
    assert.deepEqual(over(blurOf, 0.5), ['astronaut_blur_s2.png', 'chelsea_blur_s2.png', 'coffee_blur_s2.png']);
    assert.equal(await page.getByTestId('quality-matching-count').textContent(), '3 of 12 scored image(s) match');
    assert.equal(await page.getByTestId('image-count').textContent(), '3 of 12');
    assert.deepEqual((await listedNames(page)).sort(), over(blurOf, 0.5));
    await setThreshold(page, 0.4);
    const loose = over(blurOf, 0.4);
    assert.ok(loose.length > 3, 'the sharp photos at 0.40-0.41 join');
    await page.waitForFunction((n) => document.querySelector('[data-testid="image-count"]')?.textContent === `${n} of 12`, loose.length);
    assert.deepEqual((await listedNames(page)).sort(), loose);
    await setThreshold(page, 0.5);
    await page.waitForFunction(() => document.querySelector('[data-testid="image-count"]')?.textContent === '3 of 12');
    await screenshot(page, 'quality-panel.png');

    // Flag them, then leave them out of exports: the export says how many and why.
    await page.getByTestId('quality-flag').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="flag-mark"]').length === 3);
    await page.getByTestId('quality-exclude').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="excluded-mark"]').length === 3);
    assert.equal(await page.getByTestId('export-left-out').textContent(),
      '3 image(s) left out: 3 blurry (quality panel)');

    for (const [preset, metric, generated] of [
      ['too-dark', 'dark_fraction', 'night.png'],
      ['overexposed', 'bright_fraction', 'snow.png'],
      ['low-contrast', 'rms_contrast', 'fog.png'],
    ]) {
      await page.getByTestId('quality-clear').click();
      await showColumn(page, metric);
      const values = await valuesByName(page, metric);
      await page.getByTestId(`preset-${preset}`).click();
      const wanted = metric === 'rms_contrast'
        ? Object.keys(values).filter((n) => values[n] <= 0.1).sort()
        : over(values, 0.25);
      assert.ok(wanted.includes(generated), `${generated} is ${preset}: ${JSON.stringify(values)}`);
      await page.waitForFunction((n) => document.querySelector('[data-testid="image-count"]')?.textContent === `${n} of 12`, wanted.length);
      assert.deepEqual((await listedNames(page)).sort(), wanted, preset);
      await showColumn(page, metric, false);
    }

    // Near-duplicates: each photo with its JPEG re-encode; "keep" excludes the other.
    await page.getByTestId('preset-near-duplicates').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="image-count"]')?.textContent === '6 of 12');
    const groups = await page.$$eval('[data-testid="duplicate-group"]', (gs) =>
      gs.map((g) => [...g.querySelectorAll('[data-testid="duplicate-member"]')].map((m) => m.dataset.path)));
    assert.deepEqual(groups.map((g) => g.join(' ')).sort(), PHOTOS.map((p) => `${p}_q30_decoded.png ${p}_ref.png`).sort());
    await page.locator('[data-testid="duplicate-member"][data-path="astronaut_ref.png"] [data-testid="keep-one"]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="export-left-out"]')?.textContent
      === '4 image(s) left out: 3 blurry, 1 duplicate of astronaut_ref.png (quality panel)');
    await screenshot(page, 'quality-duplicates.png');

    // Sorting by a column: all images, worst blur first.
    await page.getByTestId('quality-clear').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="image-count"]')?.textContent.trim() === '12');
    await page.locator('[data-testid="sort-by"][data-metric="blur_effect"]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="image-item"]')?.title === 'chelsea_blur_s2.png');
    const blur = await columnValues(page, 'blur_effect');
    assert.ok(blur.length >= 9, `${blur.length} rows with a blur value`);
    assert.deepEqual(blur, [...blur].sort((a, b) => b - a), 'descending: the blurriest first');
    await page.keyboard.press('g');
    await page.waitForSelector('[data-testid="grid-tile"] [data-testid="metric-value"][data-metric="blur_effect"]');
    await screenshot(page, 'quality-grid.png');
    await page.keyboard.press('g');

    // The export leaves the excluded images out.
    await page.getByTestId('export-format').selectOption('yolo');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    const zip = (await readFile(await download.path())).toString('latin1');
    assert.ok(zip.startsWith('PK') && zip.includes('data.yaml'), 'a YOLO dataset');
    assert.match(await page.getByTestId('notice').textContent(),
      /4 image\(s\) left out: 3 blurry, 1 duplicate of astronaut_ref\.png/);
    for (const left of ['astronaut_blur_s2', 'coffee_blur_s2', 'chelsea_blur_s2', 'astronaut_q30_decoded']) {
      assert.ok(!zip.includes(`labels/${left}.txt`), `${left} is left out`);
    }

    // A second run computes nothing new; after a reload the scores and marks are back.
    await scoreAll(page, 'Scored 12 image(s) (12 from the cache).');
    await page.reload();
    await page.waitForFunction(() => document.querySelector('[data-testid="image-count"]')?.textContent.trim() === '12',
      null, { timeout: 60_000 });
    await page.getByTestId('quality-toggle').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="quality-state"]')?.textContent === '12 scored',
      null, { timeout: 30_000 });
    assert.equal(await page.locator('[data-testid="flag-mark"]').count(), 3);
    assert.equal(await page.locator('[data-testid="excluded-mark"]').count(), 4);
    assert.deepEqual(errors, [], 'no errors in the page or the worker');
  } finally {
    await browser.close();
  }
});
