// The hostile-input corpus (tests/corpus/hostile, its table cases.tsv) in the browser, as a
// user would give it: the models through "Add model", the project file through "Open
// project…", the link by opening it, and the whole folder at once through "Open folder…".
// Each bad file gets its own message naming it, the batch goes on past it, and the stored
// annotations hash the same before and after. The native run is
// crates/cli/tests/hostile_corpus.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  ROOT, serveStatic, launchChromium, openApp, screenshot,
} from './support/harness.mjs';
import { canvasFrame, drag, waitForSaved, waitForShapeCount } from './support/studio.mjs';

const CORPUS = join(ROOT, 'tests/corpus/hostile');
const CASES = (await readFile(join(CORPUS, 'cases.tsv'), 'utf8'))
  .split('\n').slice(1).filter((line) => line.trim())
  .map((line) => {
    const [file, kind, reader, expect] = line.split('\t');
    return { file, kind, reader, expect };
  });
const of = (reader) => CASES.filter((c) => c.reader === reader);

let server;
before(async () => { server = await serveStatic(); });
after(async () => { await server?.close(); });

/** SHA-256 of the stored annotation and project rows (of `projectId` only, if given). */
const storeHash = (page, projectId = null) => page.evaluate((id) => new Promise((resolve, reject) => {
  const open = indexedDB.open('sightline');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction(['annotations', 'projects']);
    const rows = [];
    let pending = 2;
    for (const name of ['annotations', 'projects']) {
      const request = tx.objectStore(name).getAll();
      request.onerror = () => reject(request.error);
      request.onsuccess = async () => {
        for (const row of request.result) {
          if (id === null || row.project_id === id) rows.push(`${name}\t${row.key}\t${row.json}`);
        }
        pending -= 1;
        if (pending > 0) return;
        db.close();
        rows.sort();
        const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(rows.join('\n')));
        resolve([...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join(''));
      };
    }
  };
}), projectId);

/** Waits until the text of `testid` holds every fragment; on a timeout says what it held. */
async function waitForText(page, testid, fragments, timeout = 120_000) {
  try {
    await page.waitForFunction(({ id, parts }) => {
      const text = document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
      return parts.every((part) => text.toLowerCase().includes(part.toLowerCase()));
    }, { id: testid, parts: fragments }, { timeout, polling: 200 });
  } catch (error) {
    const said = await page.getByTestId(testid).textContent().catch(() => '(nothing)');
    throw new Error(`waiting for ${JSON.stringify(fragments)} in ${testid}: it says “${said}”`, { cause: error });
  }
}

test('the hostile corpus in the browser: a message naming each file, the batch goes on, stored annotations unchanged', async () => {
  assert.ok(CASES.length >= 16 && new Set(CASES.map((c) => c.kind)).size >= 16, 'at least 16 kinds');
  const browser = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, server.url);
    await page.waitForSelector('canvas[data-testid="canvas"][data-drawn="true"]', { timeout: 60_000 });
    await waitForSaved(page);
    const { at } = await canvasFrame(page);
    await page.keyboard.press('r');
    await drag(page, at(-100, -80), at(-20, -10));
    await waitForShapeCount(page, 1);
    await waitForSaved(page);
    const everything = await storeHash(page);
    const demo = await storeHash(page, 'demo');

    // Models, one at a time: each refused with its own reason, none kept.
    await page.getByTestId('ai-toggle').click();
    for (const c of of('onnx')) {
      await page.getByTestId('add-model').setInputFiles(join(CORPUS, c.file));
      await waitForText(page, 'ai-message', ['Model not added: ', `${basename(c.file)}: `, c.expect]);
    }
    assert.equal(await page.getByTestId('model-item').count(), 0, 'no refused model is kept');
    await page.getByTestId('ai-toggle').click();

    // A project file that is a zip bomb: refused, named, no project made.
    for (const c of of('project_file')) {
      await page.getByTestId('open-project-file').setInputFiles(join(CORPUS, c.file));
      await waitForText(page, 'notice', [`${basename(c.file)}: `, c.expect]);
    }
    // A link that is a zip bomb: the preview says why, and nothing is made.
    for (const c of of('share_link')) {
      const link = (await readFile(join(CORPUS, c.file), 'utf8')).trim();
      await page.goto(`${server.url}${link.slice(link.indexOf('#'))}`);
      await waitForText(page, 'link-error', [c.expect]);
      assert.match(await page.getByTestId('link-error').textContent(), /the share link/i);
      await page.getByTestId('link-close').click();
    }
    await screenshot(page, 'hostile-link.png');
    assert.equal(await storeHash(page), everything, 'refused models, files and links change nothing stored');

    // The whole folder at once: the import goes on past every bad file.
    await page.getByTestId('open-folder').setInputFiles(CORPUS);
    await page.getByTestId('import-report').waitFor({ timeout: 120_000 });
    await page.waitForFunction(() => !document.querySelector('[data-testid="import-progress"]'),
      null, { timeout: 120_000 });
    const report = await page.getByTestId('import-report').textContent();
    for (const c of of('labelme').concat(of('yolo'), of('coco'), of('voc'))) {
      if (c.expect.startsWith('ok:')) continue;
      assert.ok(report.includes(c.file) && report.includes(c.expect),
        `${c.kind}: the report names ${c.file} with “${c.expect}”:\n${report}`);
    }
    // Every image is listed; the bad ones say why once the import has checked them, the
    // good ones show.
    const bad = of('image').filter((c) => !c.expect.startsWith('ok:')).length;
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="image-problem"]').length >= n,
      bad, { timeout: 60_000 });
    const rows = await page.$$eval('[data-testid="image-item"]', (items) => items.map((li) => ({
      name: li.title, problem: li.querySelector('[data-testid="image-problem"]')?.title ?? null,
    })));
    for (const c of of('image')) {
      const row = rows.find((r) => r.name === basename(c.file));
      assert.ok(row, `${c.file} is listed: ${JSON.stringify(rows.map((r) => r.name))}`);
      if (c.expect.startsWith('ok:')) assert.equal(row.problem, null, `${c.file} (${c.kind}) shows`);
      else assert.ok(row.problem?.includes(c.expect), `${c.file} (${c.kind}): “${row.problem}”`);
    }
    await screenshot(page, 'hostile-folder.png');
    assert.equal(await storeHash(page, 'demo'), demo, "the demo project's stored annotations are untouched");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
