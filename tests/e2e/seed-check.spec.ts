// A lesson checked over its seeds from the page, as `tailsim lessons check`
// does at the lesson as written: after the reveal, "Check on 10 seeds" runs
// every state and each part of the fix alone and left out in the engine
// worker (the page stays usable, a progress bar counts the runs), then
// shows each claim's verdict seed by seed and the ablation table: for
// PLUS-DEADLINES, LIFO alone gives nearly all of the fix's goodput and
// deadline propagation alone about a third.
import { expect, test } from '@playwright/test';
import { artifact } from './artifacts';
import { openApp } from './helpers';

test('PLUS-DEADLINES: check over 10 seeds, claims per seed and which part does the work', async ({ page }) => {
  test.setTimeout(240_000);
  const errors = await openApp(page, '/?lesson=PLUS-DEADLINES');
  await expect(page.getByTestId('lesson-panel')).toBeVisible();
  await expect(page.getByTestId('seed-check-start')).toHaveCount(0);

  // Guess, run at max speed to the end, reveal.
  await page.getByTestId('predict-input').fill('20');
  await page.getByTestId('predict-input').press('Enter');
  await page.locator('#speed').selectOption('max');
  await expect(page.getByTestId('predict-result')).toBeVisible({ timeout: 120_000 });

  // The check: the button names the seeds; progress counts 6 states x 10 seeds.
  const start = page.getByTestId('seed-check-start');
  await expect(start).toHaveText('Check on 10 seeds');
  await start.click();
  const progress = page.getByTestId('seed-check-progress');
  await expect(progress).toBeVisible();
  await expect(progress).toHaveAttribute('max', '60');
  // The page answers while the worker runs: the lesson browser opens and closes.
  await page.locator('#lessons-open').click();
  await expect(page.locator('#lesson-dialog')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.locator('#lesson-dialog')).toHaveCount(0);

  const claims = page.getByTestId('seed-check-claims');
  await expect(claims).toBeVisible({ timeout: 180_000 });
  await expect(progress).toHaveCount(0);
  // Every claim of the lesson holds on the seeds (tailsim lessons check says so too),
  // and each names its worst seed.
  const items = claims.locator('li');
  const n = await items.count();
  expect(n).toBe(6);
  for (let i = 0; i < n; i++) {
    await expect(page.getByTestId(`seed-claim-${i}`)).toHaveAttribute('data-status', 'holds');
    await expect(page.getByTestId(`seed-claim-${i}`)).toContainText(/holds on 10 of 10 seeds; worst seed \d+/);
  }

  // The ablation table: LIFO does the work during the overload.
  const table = page.getByTestId('seed-check-ablation');
  await expect(table).toBeVisible();
  const share = async (part: string) =>
    Number(((await table.getByTestId(`ablation-${part}`).getByTestId('alone-share').textContent()) ?? '').replace('%', ''));
  expect(await share('lifo')).toBeGreaterThanOrEqual(90);
  expect(await share('deadlines')).toBeLessThan(60);
  await page.getByTestId('lesson-panel').scrollIntoViewIfNeeded();
  await page.screenshot({ path: artifact('lesson-seed-check.png') });
  expect(errors).toEqual([]);
});
