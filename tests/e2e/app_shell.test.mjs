// The app shell in a real browser: the demo opens, the first image is drawn, D/A and the
// buttons move through the images, and the worker reports its backend (WebGPU under
// --enable-unsafe-webgpu, which gives SwiftShader's adapter here; CPU without it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  serveStatic, launchChromium, openApp, screenshot, canvasStats,
} from './support/harness.mjs';

let server;
before(async () => { server = await serveStatic(); });
after(async () => { await server?.close(); });

const drawn = (page) =>
  page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 30_000 });

test('demo opens, first image is drawn, D and A move through the images (WebGPU)', async () => {
  const browser = await launchChromium({ webgpu: true });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await drawn(page);
    const fileName = page.getByTestId('file-name');
    assert.equal(await fileName.textContent(), 'person.jpg');
    assert.equal(await page.getByTestId('position').textContent(), '1 / 9');

    const stats = await canvasStats(page);
    assert.ok(stats.width > 0 && stats.height > 0, `canvas has a size: ${JSON.stringify(stats)}`);
    // The fitted image covers most of the canvas and is a photograph, not a flat fill.
    assert.ok(stats.painted > stats.sampled * 0.3, `image painted: ${JSON.stringify(stats)}`);
    assert.ok(stats.colours > 500, `a real image, many colours: ${JSON.stringify(stats)}`);
    await screenshot(page, 'shell-first-image.png');

    const before = await canvasStats(page);
    await page.keyboard.press('d');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="file-name"]').textContent === 'dog.jpg',
    );
    await drawn(page);
    assert.equal(await page.getByTestId('position').textContent(), '2 / 9');
    const after = await canvasStats(page);
    assert.notDeepEqual(after, before, 'the canvas shows another image after D');
    await screenshot(page, 'shell-after-d.png');

    await page.keyboard.press('a');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="file-name"]').textContent === 'person.jpg',
    );

    // AI loads lazily: no worker code is fetched until the AI panel is opened.
    assert.equal(await page.getByTestId('worker').textContent(), 'AI idle');
    const fetched = () => page.evaluate(() =>
      performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('worker')));
    assert.deepEqual(await fetched(), [], 'the worker is not loaded with the page');
    await page.getByTestId('ai-toggle').click();
    const backend = page.getByTestId('backend');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="backend"]').textContent !== '',
      null, { timeout: 30_000 },
    );
    assert.equal(await backend.textContent(), 'WebGPU');
    assert.match(await page.getByTestId('worker').textContent(), /^worker \d+\.\d+\.\d+$/);
    await screenshot(page, 'shell-webgpu.png');
    assert.deepEqual(errors, [], 'no errors in the page or the worker');
  } finally {
    await browser.close();
  }
});

test('without WebGPU the worker reports the CPU fallback; buttons and list navigate', async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await drawn(page);
    await page.getByTestId('ai-toggle').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="backend"]').textContent !== '',
      null, { timeout: 30_000 },
    );
    assert.equal(await page.getByTestId('backend').textContent(), 'CPU');

    assert.ok(await page.getByTestId('previous').isDisabled(), 'no previous on the first image');
    await page.getByTestId('next').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="file-name"]').textContent === 'dog.jpg',
    );
    await page.getByRole('listitem').filter({ hasText: 'chelsea.png' }).click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="file-name"]').textContent === 'chelsea.png',
    );
    await drawn(page);
    assert.equal(await page.getByTestId('position').textContent(), '9 / 9');
    assert.ok(await page.getByTestId('next').isDisabled(), 'no next on the last image');
    await page.keyboard.press('d');
    assert.equal(await page.getByTestId('file-name').textContent(), 'chelsea.png');
    await screenshot(page, 'shell-cpu.png');
    assert.deepEqual(errors, [], 'no errors in the page or the worker');
  } finally {
    await browser.close();
  }
});
