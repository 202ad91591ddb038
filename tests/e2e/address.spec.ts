// The user's work survives, end to end on the release build (BASE_URL):
// the address follows the running scenario (seed, edits, lesson), so a
// reload reopens it; a link pasted into the open tab loads (or says why it
// cannot); the embed's way out opens the same state; a lesson keeps the
// guess across a reload.
import { expect, test, type Page } from '@playwright/test';
import { openApp, pause, pick, setSlider, waitSimTime } from './helpers';

/** The share dialog's link to what runs now. */
async function shareLink(page: Page): Promise<string> {
  await page.locator('#share-open').click();
  const link = await page.locator('#share-link').inputValue();
  await page.locator('#dialog-close').click();
  await expect(page.locator('#share-dialog')).toHaveCount(0);
  return link;
}

test('a link pasted into the open tab loads its scenario; a garbage one says why', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = await openApp(page);
  await pick(page, 'catalogue/DATA-N+1.toml');
  const link = await shareLink(page);
  await pick(page, 'mmc.toml');
  await expect(page.locator('#scenario')).toHaveValue('mmc.toml');
  // The address follows: back to the plain page for the default sandbox.
  await expect.poll(() => new URL(page.url()).hash, { timeout: 5_000 }).toBe('');

  // Paste the link (same page, another fragment: a hashchange, no reload).
  await page.evaluate((hash) => {
    window.location.hash = hash;
  }, new URL(link).hash);
  await expect(page.locator('#scenario')).toHaveValue('catalogue/DATA-N+1.toml');
  await expect(page.getByTestId('toggle-DATA-N+1')).toHaveCount(1);
  await expect(page.locator('#scenario-error')).toHaveCount(0);

  // Garbage: a clear error, and the scenario keeps running.
  await page.evaluate(() => {
    window.location.hash = '#s=1.this-is-not-a-link';
  });
  await expect(page.locator('#scenario-error')).toBeVisible();
  await expect(page.locator('#scenario-error')).toContainText('link');
  await expect(page.locator('#scenario')).toHaveValue('catalogue/DATA-N+1.toml');
  await waitSimTime(page, 1);
  expect(errors).toEqual([]);
});

test('the address follows the seed and edits: a reload reopens them', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = await openApp(page);
  // The untouched default sandbox keeps a clean address.
  await page.waitForTimeout(800);
  expect(new URL(page.url()).hash).toBe('');

  await pause(page);
  await page.locator('#seed').fill('42');
  await page.locator('#seed').press('Enter');
  await setSlider(page, 'rate', 6);
  const rate = await page.locator('#rate-value').textContent();
  await expect.poll(() => new URL(page.url()).hash, { timeout: 5_000 }).toMatch(/^#s=1\./);
  // Debounced: once the edits settle, the address holds them all.
  await page.waitForTimeout(800);

  await page.reload();
  await expect(page.locator('#sim-time')).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('#load-error')).toHaveCount(0);
  await expect(page.locator('#seed')).toHaveValue('42');
  await expect(page.locator('#rate-value')).toHaveText(rate!);
  expect(errors).toEqual([]);
});

test("the embed's way out opens the full sandbox on the same scenario", async ({ page }) => {
  test.setTimeout(90_000);
  await openApp(page);
  await pick(page, 'catalogue/DATA-N+1.toml');
  const link = await shareLink(page);
  const hash = new URL(link).hash;

  await openApp(page, `/?embed${hash}`);
  const full = await page.locator('#open-full').getAttribute('href');
  expect(full).toBeTruthy();
  expect(full!).not.toContain('embed');
  expect(new URL(full!).hash).toMatch(/^#s=1\./);

  await openApp(page, full!);
  await expect(page.locator('#scenario')).toHaveValue('catalogue/DATA-N+1.toml');
  await expect(page.getByTestId('toggle-DATA-N+1')).toHaveCount(1);

  // A lesson's embed opens the lesson.
  await openApp(page, '/?embed&lesson=DATA-N%2B1');
  const lessonFull = await page.locator('#open-full').getAttribute('href');
  await openApp(page, lessonFull!);
  await expect(page.getByTestId('lesson-panel')).toBeVisible();
  await expect(page.locator('#lesson-title')).toBeVisible();
  await expect(page.locator('#mode-lesson')).toHaveAttribute('aria-selected', 'true');
});

test('a lesson keeps the guess across a reload, and plays at a watchable speed', async ({ page }) => {
  test.setTimeout(90_000);
  await openApp(page, '/?lesson=DATA-N%2B1');
  await expect(page.getByTestId('lesson-panel')).toBeVisible();
  await page.getByTestId('predict-input').fill('250');
  await page.getByTestId('predict-submit').click();
  await expect(page.getByTestId('predict-guess')).toContainText('250');
  // Not "max": a lesson's run lasts about a minute on screen.
  await expect(page.locator('#speed')).not.toHaveValue('max');

  await page.reload();
  await expect(page.getByTestId('lesson-panel')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('predict-input')).toHaveValue('250');
});
