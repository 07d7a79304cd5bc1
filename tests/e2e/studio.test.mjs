// The annotation studio in a real browser: every shape type drawn with the mouse, the shape
// list, undo/redo (a drag is one step), delete, copy/paste across images, the help overlay,
// shortcuts ignored while typing, and persistence: a reload finds everything again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  serveStatic, launchChromium, openApp, screenshot, canvasStats,
} from './support/harness.mjs';
import {
  canvasFrame, click, drag, listedKinds, savedAnnotations, waitForSaved, waitForShapeCount,
} from './support/studio.mjs';

let server;
before(async () => { server = await serveStatic(); });
after(async () => { await server?.close(); });

const drawn = (page) =>
  page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 30_000 });

const ALL_KINDS = ['rectangle', 'polygon', 'point', 'line', 'linestrip', 'circle', 'rotation'];

test('draw every shape type, undo/redo, move, delete, paste, reload restores them', async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await drawn(page);
    await waitForSaved(page);
    const { at } = await canvasFrame(page);

    // Rectangle (R): a drag.
    await page.keyboard.press('r');
    await drag(page, at(-130, -110), at(-40, -30));
    await waitForShapeCount(page, 1);
    // Polygon (P): three clicks, then a click on the first vertex closes it.
    await page.keyboard.press('p');
    for (const p of [at(20, -110), at(120, -100), at(90, -20)]) await click(page, p);
    await click(page, at(20, -110));
    await waitForShapeCount(page, 2);
    // Point (O): a click.
    await page.keyboard.press('o');
    await click(page, at(-90, 30));
    await waitForShapeCount(page, 3);
    // Line (L): a drag.
    await page.keyboard.press('l');
    await drag(page, at(10, 20), at(120, 50));
    await waitForShapeCount(page, 4);
    // Linestrip (K): clicks, Enter finishes.
    await page.keyboard.press('k');
    for (const p of [at(-130, 60), at(-100, 90), at(-60, 65)]) await click(page, p);
    await page.keyboard.press('Enter');
    await waitForShapeCount(page, 5);
    // Circle (C): centre to rim.
    await page.keyboard.press('c');
    await drag(page, at(-40, 120), at(-10, 120));
    await waitForShapeCount(page, 6);
    // Rotated rectangle (T): a drag, then ] turns it by 5° (three steps).
    await page.keyboard.press('t');
    await drag(page, at(30, 90), at(120, 130));
    await waitForShapeCount(page, 7);
    for (let i = 0; i < 3; i += 1) await page.keyboard.press(']');

    assert.deepEqual(await listedKinds(page), ALL_KINDS);
    await page.keyboard.press('Escape');
    await screenshot(page, 'studio-all-shapes.png');

    // Undo the three turns and the rotated rectangle; redo brings it back.
    for (let i = 0; i < 4; i += 1) await page.keyboard.press('Control+z');
    await waitForShapeCount(page, 6);
    await page.keyboard.press('Control+Shift+z');
    await waitForShapeCount(page, 7);
    for (let i = 0; i < 3; i += 1) await page.keyboard.press('Control+y');
    await waitForSaved(page);
    const rotated = (await savedAnnotations(page))['person.jpg'].annotations.shapes[6];
    const [a, b] = rotated.points_in_image;
    assert.ok(Math.abs(a.y - b.y) > 1, `the redone turns tilt the top edge: ${JSON.stringify(rotated)}`);

    // Moving the rectangle by a drag is one undo step.
    await page.keyboard.press('v');
    const before = (await savedAnnotations(page))['person.jpg'].annotations.shapes[0].points_in_image;
    await drag(page, at(-85, -70), at(-55, -40), 10);
    await waitForSaved(page);
    const moved = (await savedAnnotations(page))['person.jpg'].annotations.shapes[0].points_in_image;
    assert.ok(moved[0].x > before[0].x + 1 && moved[0].y > before[0].y + 1, 'the drag moved it');
    await page.keyboard.press('Control+z');
    await waitForSaved(page);
    const undone = (await savedAnnotations(page))['person.jpg'].annotations.shapes[0].points_in_image;
    assert.deepEqual(undone, before, 'one undo takes back the whole drag');

    // Dragging a handle of the selected rectangle moves that corner only; one undo step.
    await click(page, at(-85, -70));
    await drag(page, at(-130, -110), at(-150, -125), 8);
    await waitForSaved(page);
    const reshaped = (await savedAnnotations(page))['person.jpg'].annotations.shapes[0].points_in_image;
    assert.ok(reshaped[0].x < before[0].x - 1 && reshaped[0].y < before[0].y - 1, 'the corner moved');
    assert.deepEqual(reshaped[1], before[1], 'the other corner stayed');
    await page.keyboard.press('Control+z');
    await waitForSaved(page);
    assert.deepEqual(
      (await savedAnnotations(page))['person.jpg'].annotations.shapes[0].points_in_image, before,
    );

    // A click on a visibility toggle hides the shape; shortcuts still work afterwards.
    await page.getByTestId('shape-visible').nth(1).click();
    await page.getByTestId('shape-visible').nth(1).click();
    assert.ok(await page.getByTestId('shape-visible').nth(1).isChecked());

    // Select the point in the list, delete it, undo the delete.
    await page.getByTestId('shape-item').nth(2).click();
    await page.keyboard.press('Delete');
    await waitForShapeCount(page, 6);
    await page.keyboard.press('Control+z');
    await waitForShapeCount(page, 7);

    // Shortcuts do not fire while typing: "r" typed into the class field adds a class.
    await page.getByTestId('new-class').fill('');
    await page.getByTestId('new-class').type('car');
    await page.keyboard.press('Enter');
    assert.equal(await page.getByTestId('tool-select').getAttribute('aria-pressed'), 'true');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="class-item"]').length === 2);

    // Help overlay.
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('?');
    await page.getByTestId('help').waitFor();
    assert.match(await page.getByTestId('help').textContent(), /rectangle tool/);
    await screenshot(page, 'studio-help.png');
    await page.keyboard.press('Escape');
    await page.getByTestId('help').waitFor({ state: 'detached' });

    // Copy every shape, paste onto the next image.
    await page.keyboard.press('Control+a');
    await page.keyboard.press('Control+c');
    await page.keyboard.press('d');
    await page.waitForFunction(() => document.querySelector('[data-testid="file-name"]').textContent === 'dog.jpg');
    await drawn(page);
    await waitForShapeCount(page, 0);
    await page.keyboard.press('Control+v');
    await waitForShapeCount(page, 7);
    await screenshot(page, 'studio-pasted.png');
    await page.keyboard.press('a');
    await page.waitForFunction(() => document.querySelector('[data-testid="file-name"]').textContent === 'person.jpg');
    await waitForShapeCount(page, 7);
    await waitForSaved(page);

    // Reload: everything comes back from IndexedDB.
    await page.reload();
    await drawn(page);
    await waitForShapeCount(page, 7);
    assert.deepEqual(await listedKinds(page), ALL_KINDS);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="class-item"]').length === 2);
    await page.waitForSelector('[data-testid="project-item"]');
    await screenshot(page, 'studio-after-reload.png');

    // Click selects, Shift+click adds to the selection; Delete removes both as one step.
    await page.keyboard.press('v');
    await click(page, at(-85, -70));
    await page.keyboard.down('Shift');
    await click(page, at(-90, 30));
    await page.keyboard.up('Shift');
    assert.equal(await page.locator('[data-testid="shape-item"].selected').count(), 2);
    await page.keyboard.press('Delete');
    await waitForShapeCount(page, 5);
    await page.keyboard.press('Control+z');
    await waitForShapeCount(page, 7);

    // Wheel zooms about the cursor, F fits again; Space+drag pans.
    const fitted = await canvasStats(page);
    const dataUrl = () => document.querySelector('canvas[data-testid="canvas"]').toDataURL();
    const fittedPixels = await page.evaluate(dataUrl);
    await page.mouse.move(...at(0, 0));
    for (let i = 0; i < 5; i += 1) await page.mouse.wheel(0, -200);
    await page.waitForFunction(
      (before) => document.querySelector('canvas[data-testid="canvas"]').toDataURL() !== before,
      fittedPixels, { timeout: 5_000 },
    );
    await screenshot(page, 'studio-zoomed.png');
    await page.keyboard.down(' ');
    await drag(page, at(0, 0), at(60, 40));
    await page.keyboard.up(' ');
    await page.keyboard.press('f');
    // The redraw is scheduled on an animation frame: wait for it (a loaded machine can take
    // well over 100 ms), then compare. The fitted view must come back pixel for pixel.
    const refitted = await page.waitForFunction(
      (before) => document.querySelector('canvas[data-testid="canvas"]').toDataURL() === before,
      fittedPixels, { timeout: 10_000 },
    ).then(() => true, () => false);
    assert.deepEqual(await canvasStats(page), fitted, 'F fits the image again');
    assert.ok(refitted, 'F redraws the fitted view pixel for pixel');
    await waitForShapeCount(page, 7);
    await page.keyboard.press('d');
    await page.waitForFunction(() => document.querySelector('[data-testid="file-name"]').textContent === 'dog.jpg');
    await waitForShapeCount(page, 7);
    assert.deepEqual(errors, [], 'no errors in the page or the worker');
  } finally {
    await browser.close();
  }
});

test('LabelMe import attaches files to the demo images with a report; export downloads a zip', async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await drawn(page);
    await waitForSaved(page);

    const dog = {
      version: '5.4.1',
      flags: {},
      shapes: [
        { label: 'dog', points: [[10, 20], [300, 250]], group_id: null, description: '',
          shape_type: 'rectangle', flags: {} },
        { label: 'ear', points: [[50, 60], [80, 60], [70, 90]], group_id: null, description: '',
          shape_type: 'polygon', flags: {} },
      ],
      imagePath: 'dog.jpg',
      imageData: null,
      imageHeight: 576,
      imageWidth: 768,
    };
    await page.getByTestId('import').setInputFiles([
      { name: 'dog.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(dog)) },
      { name: 'kite.json', mimeType: 'application/json', buffer: Buffer.from('{"shapes": [oops') },
    ]);
    const report = page.getByTestId('import-report');
    await report.waitFor();
    const text = await report.textContent();
    assert.match(text, /Imported 2 shape\(s\)/, text);
    assert.match(text, /kite\.json/, `the broken file is named in the report: ${text}`);
    await screenshot(page, 'studio-import-report.png');

    await page.keyboard.press('d');
    await page.waitForFunction(() => document.querySelector('[data-testid="file-name"]').textContent === 'dog.jpg');
    await drawn(page);
    await waitForShapeCount(page, 2);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="class-item"]')]
      .map((li) => li.textContent).join(' ').includes('ear'));
    await waitForSaved(page);
    await screenshot(page, 'studio-imported.png');

    for (const format of ['labelme', 'yolo', 'coco', 'voc']) {
      await page.getByTestId('export-format').selectOption(format);
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByTestId('export').click(),
      ]);
      assert.equal(download.suggestedFilename(), `demo-${format}.zip`);
      const bytes = await readFile(await download.path());
      assert.equal(bytes.subarray(0, 2).toString(), 'PK', `${format}: a zip file`);
      const names = bytes.toString('latin1');
      const expected = { labelme: 'dog.json', yolo: 'dog.txt', coco: '.json', voc: 'dog.xml' }[format];
      assert.ok(names.includes(expected), `${format}: the zip names ${expected}`);
    }
    assert.deepEqual(errors, [], 'no errors in the page or the worker');
  } finally {
    await browser.close();
  }
});

test('the project list deletes a project\'s saved work and reopens a project', async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    page.on('dialog', (dialog) => dialog.accept());
    await drawn(page);
    await waitForSaved(page);
    const { at } = await canvasFrame(page);
    await page.keyboard.press('r');
    await drag(page, at(-60, -60), at(60, 40));
    await waitForShapeCount(page, 1);
    // Digit 2 picks the second class (the one just added) and gives it to the selection.
    await page.getByTestId('new-class').fill('tree');
    await page.getByTestId('add-class').click();
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('2');
    await page.waitForFunction(() => document.querySelector('[data-testid="shape-item"] .name')?.textContent === 'tree');
    await waitForSaved(page);

    const project = page.getByTestId('project-item').filter({ hasText: 'Demo' });
    await project.getByRole('button', { name: 'Delete' }).click();
    await waitForShapeCount(page, 0);
    await page.reload();
    await drawn(page);
    await waitForSaved(page);
    await waitForShapeCount(page, 0);
    assert.equal(await page.getByTestId('class-item').count(), 0, 'the classes went with it');

    await page.getByTestId('project-item').filter({ hasText: 'Demo' }).getByRole('button', { name: 'Open' }).click();
    await drawn(page);
    await waitForSaved(page);
    assert.equal(await page.getByTestId('file-name').textContent(), 'person.jpg');
    assert.deepEqual(errors, [], 'no errors in the page or the worker');
  } finally {
    await browser.close();
  }
});
