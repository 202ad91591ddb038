// Share links, end to end on the release build (BASE_URL): a changed seed
// and a flipped toggle travel in the link; the link opened in a new page
// runs the same scenario with the same seed, so (runs are deterministic)
// the same number of requests has arrived after the same steps. Broken
// links, and links from a newer format, open nothing but a clear error.
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { artifact } from './artifacts';
import { count, openApp, pause, pick, seconds, setSlider, watchErrors } from './helpers';

const TOGGLE = 'toggle-DATA-N+1';

/** Pauses, restarts from t = 0 and presses Step `n` times; returns the
 * clock and the end-to-end counters. */
async function stepFromZero(page: Page, n: number) {
  await pause(page);
  await page.locator('#reset').click();
  await expect(page.locator('#sim-time')).toHaveText('0.0 s');
  for (let i = 1; i <= n; i++) {
    const before = await seconds(page, '#sim-time');
    await page.locator('#step').click();
    await expect.poll(() => seconds(page, '#sim-time')).toBeGreaterThan(before);
  }
  await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'false');
  return {
    t: await page.locator('#sim-time').textContent(),
    arrived: await count(page, '#arrived'),
    completed: await count(page, '#completed'),
    events: await count(page, '#events'),
  };
}

test.describe('share links', () => {
  test('a link carries the scenario, the seed and the toggles; it replays the same run', async ({ page, context }) => {
    test.setTimeout(90_000);
    const errors = await openApp(page);
    await pick(page, 'catalogue/DATA-N+1.toml');

    // Seed 42 (Enter applies it: the run restarts) and the fix switched on.
    // (Typed while paused; typing it while the run plays is its own test below.)
    await pause(page);
    await page.locator('#seed').fill('42');
    await page.locator('#seed').press('Enter');
    await expect(page.locator('#seed-error')).toHaveCount(0);
    await expect(page.locator('#seed')).toHaveValue('42');
    // The switch is on while the mistake its label names is in: off fixes it.
    const toggle = page.getByTestId(TOGGLE);
    await expect(toggle).toBeChecked();
    await toggle.uncheck();
    await expect(toggle).not.toBeChecked();
    await expect(page.locator('#toggles .toggle-state').first()).toHaveText('✓ fixed');
    await expect(page.locator('#note')).toContainText('fixed');

    // The share dialog.
    await page.locator('#share-open').click();
    const dialog = page.locator('#share-dialog');
    await expect(dialog).toBeVisible();
    const link = await page.locator('#share-link').inputValue();
    const base = new URL(page.url());
    expect(link.startsWith(`${base.origin}${base.pathname}#s=1.`), link).toBe(true);
    expect(link).toMatch(/#s=1\.[A-Za-z0-9_-]+$/);
    const snippet = await page.locator('#iframe-snippet').inputValue();
    expect(snippet).toContain('<iframe');
    expect(snippet).toContain(`?embed${new URL(link).hash}`);
    const light = await page.locator('#embed-snippet').inputValue();
    expect(light).toContain(`<tailsim-embed link="${new URL(link).hash}"></tailsim-embed>`);
    await page.screenshot({ path: artifact('share-dialog.png') });
    await page.locator('#dialog-close').click();
    await expect(dialog).toHaveCount(0);

    const here = await stepFromZero(page, 3);
    expect(here.t).toBe('3.0 s');
    expect(here.arrived).toBeGreaterThan(100); // ~60 pages/s for 3 s

    // The link in a fresh page: same scenario text, seed and toggle position.
    const other = await context.newPage();
    const otherErrors = watchErrors(other);
    await other.goto(link);
    await expect(other.locator('#sim-time')).toBeVisible({ timeout: 30_000 });
    await expect(other.locator('#load-error')).toHaveCount(0);
    await expect(other.locator('#seed')).toHaveValue('42');
    // The toggle panel reads the toggle's position from the shared text
    // (soft: the replay below is checked even when this fails).
    await expect.soft(other.getByTestId(TOGGLE), 'the shared page offers the N+1 toggle, fixed').not.toBeChecked({ timeout: 3_000 });
    await expect.soft(other.locator('#toggles .toggle-state').first()).toHaveText('✓ fixed', { timeout: 1_000 });
    await expect.soft(other.locator('#mode-ab'), 'A/B is offered for the shared catalogue scenario').toBeEnabled({ timeout: 1_000 });
    const there = await stepFromZero(other, 3);
    expect(there).toEqual(here);
    await other.screenshot({ path: artifact('share-opened.png') });

    // Sanity of the oracle: another seed gives another run.
    await other.locator('#seed').fill('43');
    await other.locator('#seed').press('Enter');
    const seed43 = await stepFromZero(other, 3);
    expect(seed43.t).toBe('3.0 s');
    expect(seed43.arrived).not.toBe(here.arrived);
    expect(errors, errors.join('\n')).toEqual([]);
    expect(otherErrors, otherErrors.join('\n')).toEqual([]);
  });

  test('after moving the sliders, the link and the TOML export carry their values', async ({ page, context }) => {
    test.setTimeout(90_000);
    const errors = await openApp(page);
    await setSlider(page, 'rate', 9.8);
    await setSlider(page, 'workers', 12);
    await expect(page.locator('#rate-value')).toHaveText('9.8 req/s');
    await expect(page.locator('#workers-value')).toHaveText('12');
    // The edit reaches the running scenario (the node table shows 12 workers).
    await expect(page.locator('#note')).toContainText('applied live');

    // The TOML export is the scenario that runs, sliders included.
    await page.locator('#share-open').click();
    await expect(page.locator('#share-dialog')).toBeVisible();
    const [d] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.locator('#export-toml').click()]);
    const text = readFileSync((await d.path())!).toString('utf8');
    expect(text).toMatch(/\brate = 9\.8\b/);
    expect(text).toMatch(/\bworkers = 12\b/);

    // The link opens the same scenario: its sliders start where these are.
    const link = await page.locator('#share-link').inputValue();
    await page.locator('#dialog-close').click();
    const other = await context.newPage();
    const otherErrors = watchErrors(other);
    await other.goto(link);
    await expect(other.locator('#rate-value')).toHaveText('9.8 req/s', { timeout: 30_000 });
    await expect(other.locator('#workers-value')).toHaveText('12');
    await other.screenshot({ path: artifact('share-sliders.png') });
    expect(errors, errors.join('\n')).toEqual([]);
    expect(otherErrors, otherErrors.join('\n')).toEqual([]);
  });

  test('a seed typed while the run plays applies on Enter', async ({ page }) => {
    const errors = await openApp(page);
    await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'true');
    await expect.poll(() => seconds(page, '#sim-time')).toBeGreaterThan(5);
    const seed = page.locator('#seed');
    await seed.click();
    await seed.press('Control+A');
    await seed.pressSequentially('42', { delay: 50 });
    // what the reader typed stays in the box while the clock runs ...
    await expect(seed).toHaveValue('42');
    await page.waitForTimeout(300);
    await expect(seed).toHaveValue('42');
    // ... and Enter restarts the run with it
    await seed.press('Enter');
    await expect(seed).toHaveValue('42');
    await expect.poll(() => seconds(page, '#sim-time'), { timeout: 5_000 }).toBeLessThan(5);
    await pause(page);
    await page.locator('#share-open').click();
    const link = await page.locator('#share-link').inputValue();
    await page.screenshot({ path: artifact('share-seed-typed.png') });
    // the link carries seed 42: open it and read the seed back
    await page.goto('about:blank');
    await page.goto(link);
    await expect(page.locator('#seed')).toHaveValue('42', { timeout: 30_000 });
    expect(errors, errors.join('\n')).toEqual([]);
  });

  for (const [name, fragment, message] of [
    ['corrupt data', '#s=1.garbage', /share link: the data (does not decompress|is not valid base64url).*cut short or edited\?/],
    ['a newer format', '#s=9.xxx', /share link: made by a newer tailsim \(link format 9; this page reads format 1\)/],
  ] as const) {
    test(`a broken link (${name}) shows the error and runs nothing`, async ({ page }) => {
      const errors = watchErrors(page);
      const response = await page.goto(`/${fragment}`);
      expect(response?.status()).toBe(200);
      const box = page.locator('#load-error');
      await expect(box).toBeVisible({ timeout: 30_000 });
      await expect(box).toHaveAttribute('role', 'alert');
      await expect(box).toContainText('This could not be opened');
      await expect(box.locator('pre')).toHaveText(message);
      await expect(box).toContainText('Nothing was loaded from it.');
      // No simulation behind it.
      await expect(page.locator('#sim-time')).toHaveCount(0);
      await expect(page.locator('#play')).toHaveCount(0);
      await expect(page.locator('#nodes')).toHaveCount(0);
      const reset = page.locator('#load-error-reset');
      const href = await reset.getAttribute('href');
      expect(new URL(href!, page.url()).hash).toBe('');
      await page.screenshot({ path: artifact(`share-broken-${fragment.slice(3, 4)}.png`) });
      // The way out opens the default sandbox.
      await reset.click();
      await expect(page.locator('#sim-time')).toBeVisible({ timeout: 30_000 });
      await expect(page.locator('#scenario')).toHaveValue('mmc.toml');
      await expect(page.locator('#load-error')).toHaveCount(0);
      expect(errors, errors.join('\n')).toEqual([]);
    });
  }
});
