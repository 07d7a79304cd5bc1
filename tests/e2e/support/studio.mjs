// Helpers for the studio spec: where to click on the canvas, and what the app saved in
// IndexedDB (read straight from the browser's database, as a reload would).

/** The canvas box and a function from offsets about its centre to page coordinates. */
export async function canvasFrame(page) {
  const box = await page.getByTestId('canvas').boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return { box, at: (dx, dy) => [cx + dx, cy + dy] };
}

export async function drag(page, [x0, y0], [x1, y1], steps = 6) {
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  await page.mouse.move(x1, y1, { steps });
  await page.mouse.up();
}

export async function click(page, [x, y]) {
  await page.mouse.click(x, y);
}

export async function shapeCount(page) {
  return Number(await page.getByTestId('shape-count').textContent());
}

/**
 * Waits until the shape list shows `count` shapes and the canvas has drawn a frame with them
 * (its redraws wait for an animation frame, which a busy machine can delay).
 */
export async function waitForShapeCount(page, count) {
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="shape-count"]')?.textContent === String(n)
      && document.querySelector('canvas[data-testid="canvas"]')?.dataset.shapeCount === String(n),
    count, { timeout: 10_000 },
  );
}

/** Waits until every edit is written to IndexedDB. */
export async function waitForSaved(page) {
  await page.waitForFunction(
    () => document.querySelector('[data-testid="save-state"]')?.textContent.trim() === 'saved',
    null, { timeout: 10_000 },
  );
}

/** The kinds of the shapes in the shape list, in order. */
export async function listedKinds(page) {
  return page.$$eval('[data-testid="shape-item"]', (items) => items.map((i) => i.dataset.kind));
}

/** The annotation records saved for a project (`null`: for any project), keyed by image path. */
export async function savedAnnotations(page, projectId = 'demo') {
  return page.evaluate((id) => new Promise((resolve, reject) => {
    const open = indexedDB.open('sightline');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const request = db.transaction('annotations').objectStore('annotations').getAll();
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const out = {};
        for (const value of request.result) {
          const record = JSON.parse(value.json);
          if (id === null || record.project_id === id) out[record.annotations.image_path] = record;
        }
        db.close();
        resolve(out);
      };
    };
  }), projectId);
}

/** Opens the settings dialog, fills `values` (by field name) and saves; waits for it to close. */
export async function saveSettings(page, values) {
  await page.getByTestId('open-settings').click();
  for (const [field, value] of Object.entries(values)) {
    await page.getByTestId(`setting-${field}`).fill(String(value));
  }
  await page.getByTestId('settings-save').click();
  await page.getByTestId('settings-dialog').waitFor({ state: 'detached' });
}

/** Waits until a frame has drawn the image `name` (the canvas names what it drew). */
export async function waitForImage(page, name) {
  await page.waitForFunction((n) =>
    document.querySelector('canvas[data-testid="canvas"]')?.dataset.image?.endsWith(n),
  name, { timeout: 60_000 });
}

/** Waits until the import has stored every original. */
export const importDone = (page) => page.waitForFunction(
  () => !document.querySelector('[data-testid="import-progress"]'), null, { timeout: 120_000 });

/** Each cache tier's figures as the performance panel reports them (the panel is open). */
export const tiers = (page) => page.$$eval('[data-testid="perf-tier"]', (rows) =>
  Object.fromEntries(rows.map((r) => [r.dataset.tier, {
    hits: Number(r.dataset.hits), misses: Number(r.dataset.misses),
    evictions: Number(r.dataset.evictions), entries: Number(r.dataset.entries),
    resident: Number(r.dataset.residentBytes), budget: Number(r.dataset.budgetBytes),
  }])));

/** How many rows IndexedDB store `name` of the page's database holds. */
export const countRows = (page, name) => page.evaluate((store) => new Promise((resolve, reject) => {
  const open = indexedDB.open('sightline');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const request = open.result.transaction(store).objectStore(store).count();
    request.onerror = () => reject(request.error);
    request.onsuccess = () => { open.result.close(); resolve(request.result); };
  };
}), name);
