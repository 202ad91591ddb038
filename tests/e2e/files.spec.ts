// Files, end to end on the release build (BASE_URL): a scenario opened
// with "Open file…" runs; a lesson the user wrote, dropped onto the page,
// opens as a lesson, is listed under "Your lessons", and survives a reload
// (its text travels in the address); a broken file says which file and
// which field, and what was running keeps running.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { expect, test, type Page } from '@playwright/test';
import { openApp, seconds } from './helpers';

const SCENARIO = JSON.stringify({
  version: 1,
  name: 'two workers from a file',
  nodes: {
    c: { kind: 'source', target: 's', arrival: { process: 'poisson', rate: 15 } },
    s: { kind: 'service', workers: 2, service: { dist: 'exponential', mean_s: 0.1 } },
  },
});

/** A lesson of the user's own: the README's example (the native tests open it too). */
const LESSON = fs.readFileSync(
  path.join(path.dirname(fileURLToPath(import.meta.url)), '../../docs/examples/MY-N+1.toml'),
  'utf8',
);

/** Drops a file named `name` holding `text` onto the page. */
async function drop(page: Page, name: string, text: string) {
  const dt = await page.evaluateHandle(
    ([n, t]) => {
      const d = new DataTransfer();
      d.items.add(new File([t], n, { type: 'text/plain' }));
      return d;
    },
    [name, text],
  );
  await page.dispatchEvent('body', 'dragover', { dataTransfer: dt });
  await page.dispatchEvent('body', 'drop', { dataTransfer: dt });
}

/** What a share link in the address (`#s=1.<base64url(deflate(json))>`)
 * holds, as text ('' for anything else). */
function linkText(hash: string): string {
  if (!hash.startsWith('#s=1.')) return '';
  try {
    return zlib.inflateRawSync(Buffer.from(hash.slice('#s=1.'.length), 'base64url')).toString();
  } catch {
    return '';
  }
}

test('open a scenario file; drop a lesson of your own; a broken file says where', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = await openApp(page);

  await page.locator('#open-file').setInputFiles({
    name: 'mine.json',
    mimeType: 'application/json',
    buffer: Buffer.from(SCENARIO),
  });
  await expect(page.locator('#scenario option:checked')).toContainText('two workers from a file');
  await expect(page.locator('#scenario-error')).toHaveCount(0);
  const t0 = await seconds(page, '#sim-time');
  await expect.poll(() => seconds(page, '#sim-time')).toBeGreaterThan(t0);

  // A broken one: the file and the field; the one running goes on.
  await page.locator('#open-file').setInputFiles({
    name: 'broken.toml',
    mimeType: 'text/plain',
    buffer: Buffer.from('version = 1\n[nodes.s]\nkind = "service"\nworkers = -2\n'),
  });
  await expect(page.locator('#scenario-error')).toContainText('broken.toml: scenario: nodes.s');
  await expect(page.locator('#scenario option:checked')).toContainText('two workers from a file');
  await page.locator('#scenario-error button').click();

  // A lesson of the user's own, dropped onto the page.
  await drop(page, 'my-lesson.toml', LESSON);
  await expect(page.getByTestId('lesson-panel')).toBeVisible();
  await expect(page.locator('#lesson-title')).toHaveText('My own N+1 lesson');
  await page.locator('#lessons-open').click();
  await expect(page.locator('#teach-h-your-lessons')).toHaveText('Your lessons');
  await expect(page.getByTestId('lesson-MY-N+1')).toBeVisible();
  await page.keyboard.press('Escape');

  // The address carries it: a reload reopens the same lesson.
  // (The address is written a moment after a change, and it held the
  // file's scenario already: wait until it holds the lesson itself.)
  await expect
    .poll(() => linkText(new URL(page.url()).hash), { timeout: 5_000 })
    .toContain('My own N+1 lesson');
  await page.reload();
  await expect(page.locator('#lesson-title')).toHaveText('My own N+1 lesson', { timeout: 30_000 });

  // A lesson that takes a shipped lesson's id is refused, and says so.
  await drop(page, 'copy.toml', LESSON.replace(/^id = "MY-N\+1"/m, 'id = "DATA-N+1"'));
  await expect(page.locator('#scenario-error')).toContainText('copy.toml: lesson: id: "DATA-N+1" is a shipped lesson');
  await expect(page.locator('#lesson-title')).toHaveText('My own N+1 lesson');
  expect(errors, errors.join('\n')).toEqual([]);
});
