// Modal dialogs, end to end on the release build (BASE_URL): the Share and
// Lessons dialogs take the focus when they open, Tab and Shift+Tab go round
// their own controls (never the page behind), Escape closes them, and the
// focus goes back to the button that opened them.
import { expect, test, type Page } from '@playwright/test';
import { openApp } from './helpers';

/** Whether the focused element is inside `#id`. */
async function focusInside(page: Page, id: string): Promise<boolean> {
  return page.evaluate((id) => !!document.activeElement?.closest(`#${id}`), id);
}

for (const [opener, dialog] of [
  ['#share-open', 'share-dialog'],
  ['#lessons-open', 'lesson-dialog'],
] as const) {
  test(`${dialog}: takes the focus, traps Tab, Escape closes and gives the focus back`, async ({ page }) => {
    test.setTimeout(60_000);
    const errors = await openApp(page);
    await page.locator(opener).focus();
    await page.keyboard.press('Enter');
    await expect(page.locator(`#${dialog}`)).toBeVisible();
    await expect.poll(() => focusInside(page, dialog)).toBe(true);

    // Forward, then backward: always inside, and it really moves.
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      expect(await focusInside(page, dialog), `Tab #${i + 1}`).toBe(true);
      seen.add(await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80) ?? ''));
    }
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Shift+Tab');
      expect(await focusInside(page, dialog), `Shift+Tab #${i + 1}`).toBe(true);
    }
    expect(seen.size).toBeGreaterThan(1);

    await page.keyboard.press('Escape');
    await expect(page.locator(`#${dialog}`)).toHaveCount(0);
    await expect(page.locator(opener)).toBeFocused();
    expect(errors).toEqual([]);
  });
}
