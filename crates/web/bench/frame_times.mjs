// Frame times of the studio canvas with 1,000 shapes on a 24 MP image (6000 × 4000).
// A benchmark, not a test: it prints figures and never fails on them.
//
//   trunk build --release --offline --dist /tmp/sightline-dist-web
//   SIGHTLINE_DIST=/tmp/sightline-dist-web node crates/web/bench/frame_times.mjs
//
// It copies the built app, replaces the demo manifest with one generated 24 MP JPEG (drawn
// by the browser itself), imports a LabelMe file with 1,000 shapes (600 boxes, 300
// 12-vertex polygons, 100 points), and records the time between animation frames while
// it zooms with the wheel, pans with the middle button, moves one shape, moves all 1,000,
// and draws a polygon. Results go to stdout and tests/output/bench/frame_times.json.
import { cp, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, ROOT, serveStatic, launchChromium, openApp } from '../../../tests/e2e/support/harness.mjs';

const WIDTH = 6000;
const HEIGHT = 4000;
const SHAPES = 1000;

function labelmeFile() {
  const shapes = [];
  let seed = 7;
  const random = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
  for (let i = 0; i < SHAPES; i += 1) {
    const x = 50 + random() * (WIDTH - 400);
    const y = 50 + random() * (HEIGHT - 400);
    const label = ['car', 'person', 'bike', 'dog'][i % 4];
    if (i < 600) {
      shapes.push({ label, points: [[x, y], [x + 40 + random() * 300, y + 40 + random() * 300]],
        group_id: null, description: '', shape_type: 'rectangle', flags: {} });
    } else if (i < 900) {
      const r = 30 + random() * 150;
      const points = Array.from({ length: 12 }, (_, k) => {
        const a = (k / 12) * 2 * Math.PI;
        return [x + r + r * Math.cos(a) * (0.7 + 0.3 * random()), y + r + r * Math.sin(a)];
      });
      shapes.push({ label, points, group_id: null, description: '', shape_type: 'polygon', flags: {} });
    } else {
      shapes.push({ label, points: [[x, y]], group_id: null, description: '', shape_type: 'point', flags: {} });
    }
  }
  return { version: '5.4.1', flags: {}, shapes, imagePath: 'big.jpg', imageData: null,
    imageHeight: HEIGHT, imageWidth: WIDTH };
}

async function bigJpeg(browser) {
  const page = await browser.newPage();
  const base64 = await page.evaluate(async ([width, height]) => {
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d');
    const gradient = context.createLinearGradient(0, 0, width, height);
    gradient.addColorStop(0, '#3b6e8f');
    gradient.addColorStop(1, '#d9a441');
    context.fillStyle = gradient;
    context.fillRect(0, 0, width, height);
    for (let i = 0; i < 4000; i += 1) {
      context.fillStyle = `hsl(${(i * 37) % 360} 60% ${30 + (i % 40)}%)`;
      context.fillRect((i * 7919) % width, (i * 104729) % height, 40 + (i % 90), 40 + (i % 70));
    }
    const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }, [WIDTH, HEIGHT]);
  await page.close();
  return Buffer.from(base64, 'base64');
}

/** Records the gaps between animation frames while `action` runs. */
async function frameTimes(page, action) {
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    window.__recording = true;
    const tick = (now) => {
      window.__frames.push(now - last);
      last = now;
      if (window.__recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await action();
  await page.waitForTimeout(200);
  const gaps = await page.evaluate(() => { window.__recording = false; return window.__frames; });
  const sorted = [...gaps].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    frames: gaps.length,
    median_ms: +at(0.5).toFixed(1),
    p95_ms: +at(0.95).toFixed(1),
    max_ms: +sorted[sorted.length - 1].toFixed(1),
    over_33ms: gaps.filter((g) => g > 33.4).length,
  };
}

const dir = await mkdtemp(join(tmpdir(), 'sightline-bench-'));
await cp(DIST, dir, { recursive: true });
const browser = await launchChromium({ webgpu: false });
let server;
try {
  await writeFile(join(dir, 'demo/big.jpg'), await bigJpeg(browser));
  await writeFile(join(dir, 'demo/manifest.json'),
    JSON.stringify({ name: 'Bench', images: [{ name: 'big.jpg', path: 'big.jpg' }] }));
  server = await serveStatic(dir);
  const { page } = await openApp(browser, server.url);
  await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });
  await page.getByTestId('import').setInputFiles([{ name: 'big.json', mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(labelmeFile())) }]);
  await page.waitForFunction((n) => document.querySelector('[data-testid="shape-count"]')?.textContent === String(n),
    SHAPES, { timeout: 60_000 });
  await page.getByTestId('import-report').locator('button').click();
  const box = await page.getByTestId('canvas').boundingBox();
  // The first shape is the labelme file's first box; the same seed gives the same file.
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const results = {};

  await page.mouse.move(cx, cy);
  results.idle = await frameTimes(page, () => page.waitForTimeout(1000));
  results.wheel_zoom_in_and_out = await frameTimes(page, async () => {
    for (let i = 0; i < 30; i += 1) await page.mouse.wheel(0, -120);
    for (let i = 0; i < 30; i += 1) await page.mouse.wheel(0, 120);
  });
  await page.keyboard.press('f');
  results.middle_drag_pan = await frameTimes(page, async () => {
    await page.mouse.move(cx, cy);
    await page.mouse.down({ button: 'middle' });
    await page.mouse.move(cx + 200, cy + 120, { steps: 60 });
    await page.mouse.up({ button: 'middle' });
  });
  await page.keyboard.press('f');
  // Press on the middle of the first box (fitted view) and drag it: one shape moves.
  const file = labelmeFile();
  const [[x0, y0], [x1, y1]] = file.shapes[0].points;
  const scale = Math.min(box.width / WIDTH, box.height / HEIGHT);
  const viewX = box.x + (box.width - WIDTH * scale) / 2 + ((x0 + x1) / 2) * scale;
  const viewY = box.y + (box.height - HEIGHT * scale) / 2 + ((y0 + y1) / 2) * scale;
  await page.keyboard.press('v');
  results.move_one_shape = await frameTimes(page, async () => {
    await page.mouse.move(viewX, viewY);
    await page.mouse.down();
    await page.mouse.move(viewX + 150, viewY + 80, { steps: 60 });
    await page.mouse.up();
  });
  await page.keyboard.press('Control+a');
  results.move_all_1000_shapes = await frameTimes(page, async () => {
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx - 150, cy - 80, { steps: 60 });
    await page.mouse.up();
  });
  await page.keyboard.press('Escape');
  await page.keyboard.press('p');
  results.draw_polygon_pointer_moves = await frameTimes(page, async () => {
    await page.mouse.click(cx - 200, cy - 150);
    await page.mouse.move(cx + 200, cy + 150, { steps: 60 });
    await page.mouse.click(cx + 200, cy + 150);
    await page.mouse.move(cx - 200, cy + 150, { steps: 60 });
    await page.keyboard.press('Escape');
  });

  const report = { image: `${WIDTH}x${HEIGHT}`, shapes: SHAPES, browser: browser.version(), results };
  console.log(JSON.stringify(report, null, 2));
  const out = join(ROOT, 'tests/output/bench');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'frame_times.json'), JSON.stringify(report, null, 2));
} finally {
  await server?.close();
  await browser.close();
  await rm(dir, { recursive: true, force: true });
}
