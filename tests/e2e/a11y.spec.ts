// Keyboard and labels, end to end on the release build (BASE_URL): every
// form control has a label; Tab reaches the anti-pattern toggles and Space
// flips one (without also toggling play); Space elsewhere plays and pauses;
// the lesson dialog opens from the keyboard, its filter and arrow keys work
// and Escape closes it, even when pressed before the dialog has rendered;
// axe-core finds no serious or critical violation on the sandbox, a
// lesson, the Share dialog, the iframe embed and the presenter view (WCAG
// 2 A and AA rules; the light embed's own check is in blog.spec.ts).
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { artifact } from './artifacts';
import { openApp, pick } from './helpers';

/** Presses Tab until `pred` holds for the focused element (at most `max` times). */
async function tabTo(page: Page, what: string, pred: () => boolean, max = 150): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(pred)) return i;
  }
  throw new Error(`Tab never reached ${what} in ${max} presses`);
}

test('every visible form control has a label', async ({ page }) => {
  const errors = await openApp(page);
  await pick(page, 'catalogue/DATA-N+1.toml');
  await page.getByTestId('node-select').selectOption('api'); // the inspector's fields too
  await expect(page.getByTestId('inspector-node')).toHaveText('api');
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => (el as HTMLElement).offsetParent !== null)
      .filter((el) => {
        const e = el as HTMLInputElement;
        const labelled =
          (e.labels && e.labels.length > 0) ||
          e.getAttribute('aria-label') ||
          e.getAttribute('aria-labelledby') ||
          (el.tagName === 'BUTTON' && (el.textContent ?? '').trim() !== '');
        return !labelled;
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  expect(unlabelled, unlabelled.join('\n')).toEqual([]);
  expect(errors, errors.join('\n')).toEqual([]);
});

test('Tab reaches the toggles, Space flips one; Space elsewhere plays and pauses', async ({ page }) => {
  const errors = await openApp(page);
  await pick(page, 'catalogue/DATA-N+1.toml');
  const play = page.locator('#play');
  await expect(play).toHaveAttribute('aria-pressed', 'true');

  // Space on the page (focus on no control) pauses, and again resumes.
  await page.locator('h1').click();
  await page.keyboard.press('Space');
  await expect(play).toHaveAttribute('aria-pressed', 'false');
  await page.keyboard.press('Space');
  await expect(play).toHaveAttribute('aria-pressed', 'true');

  // Tab from the top of the page to the N+1 toggle.
  await page.locator('h1').click();
  const presses = await tabTo(page, 'the N+1 toggle', () => document.activeElement?.getAttribute('data-testid') === 'toggle-DATA-N+1');
  const toggle = page.getByTestId('toggle-DATA-N+1');
  await expect(toggle).toBeFocused();
  await expect(toggle).toHaveAttribute('role', 'switch');
  // The switch is on while the mistake its label names is in.
  await expect(toggle).toBeChecked();
  const state = page.locator('#toggles .toggle-state').first();
  await expect(state).toHaveText('✗ mistake');
  await page.keyboard.press('Space');
  await expect(toggle).not.toBeChecked();
  await expect(state).toHaveText('✓ fixed');
  await expect(page.locator('#note')).toContainText('fixed');
  // the Space went to the switch, not to play/pause
  await expect(play).toHaveAttribute('aria-pressed', 'true');
  await page.locator('#toggles').screenshot({ path: artifact('a11y-toggles.png') });
  expect(presses).toBeGreaterThan(1);
  expect(errors, errors.join('\n')).toEqual([]);
});

test('the lesson dialog by keyboard: open, filter, arrows, Enter, Escape', async ({ page }) => {
  const errors = await openApp(page);
  await page.locator('#lessons-open').focus();
  await page.keyboard.press('Enter');
  const dialog = page.locator('#lesson-dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog).toHaveAttribute('aria-modal', 'true');
  // Escape closes it.
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);

  await page.locator('#lessons-open').focus();
  await page.keyboard.press('Enter');
  await dialog.getByTestId('lesson-filter').focus();
  await page.keyboard.type('retry');
  const buttons = dialog.locator('button.teach-lesson');
  await expect.poll(() => buttons.count()).toBeGreaterThan(0);
  // ArrowDown from the filter moves to the first lesson, again to the next.
  await page.keyboard.press('ArrowDown');
  await expect(buttons.first()).toBeFocused();
  const id = (await buttons.first().getAttribute('data-testid'))!.replace(/^lesson-/, '');
  // Enter on a focused lesson opens it.
  await page.keyboard.press('Enter');
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId('lesson-panel')).toContainText(id);
  await expect(page.getByTestId('predict-input').or(page.getByTestId('predict-skip'))).toBeVisible();
  expect(errors, errors.join('\n')).toEqual([]);
});

test('Escape pressed before the dialog has rendered still closes it', async ({ page }) => {
  const errors = await openApp(page);
  const dialog = page.locator('#lesson-dialog');
  const before = await page.locator('#sim-time').textContent();
  // Open and press Escape in one task, so no render runs in between.
  await page.evaluate(() => {
    (document.querySelector('#lessons-open') as HTMLElement).click();
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
  });
  // Renders have run once the running clock has moved on.
  await expect.poll(() => page.locator('#sim-time').textContent()).not.toBe(before);
  await expect(dialog).toHaveCount(0);
  // The dialog still opens and closes as usual afterwards.
  await page.locator('#lessons-open').click();
  await expect(dialog).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  expect(errors, errors.join('\n')).toEqual([]);
});

/** axe-core's serious and critical violations (WCAG 2.0/2.1 A and AA) on the page now. */
async function serious(page: Page): Promise<string[]> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

test('axe-core: no serious violations on the sandbox, a lesson, the Share dialog, the embed and the presenter view', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = await openApp(page);
  await page.waitForTimeout(1_000); // charts and live numbers in place
  expect(await serious(page), 'sandbox').toEqual([]);
  await page.locator('#share-open').click();
  await expect(page.locator('#embed-snippet')).toBeVisible();
  expect(await serious(page), 'share dialog').toEqual([]);
  await page.locator('#dialog-close').click();
  await page.goto('/?lesson=DATA-N%2B1');
  await expect(page.getByTestId('lesson-panel')).toBeVisible({ timeout: 30_000 });
  expect(await serious(page), 'lesson').toEqual([]);
  await page.setViewportSize({ width: 600, height: 480 });
  await page.goto('/?embed');
  await expect(page.locator('#sim-time')).toBeVisible({ timeout: 30_000 });
  expect(await serious(page), 'embed').toEqual([]);
  await page.setViewportSize({ width: 1024, height: 768 });
  await page.goto('/?lesson=DATA-N%2B1&present');
  await expect(page.getByTestId('lesson-panel')).toBeVisible({ timeout: 30_000 });
  expect(await serious(page), 'presenter view').toEqual([]);
  expect(errors, errors.join('\n')).toEqual([]);
});
