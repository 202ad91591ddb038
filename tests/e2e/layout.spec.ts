// Layouts from phone to projector, end to end on the release build
// (BASE_URL): at 390 (phone), 768 (tablet) and 1024 px (small laptop) the
// page never scrolls sideways, every control lies inside the viewport, and
// on a phone the main column and the charts take the full width. The
// presenter view at 1024x768 shows the lesson and the charts in large type
// and nothing else. Screenshots of each go to test-results/artifacts.
import { expect, test, type Page } from '@playwright/test';
import { artifact } from './artifacts';
import { openApp, waitSimTime, watchErrors } from './helpers';

/** No horizontal scrolling: the document is no wider than the viewport. */
async function expectNoSideways(page: Page, width: number) {
  const w = await page.evaluate(() => ({
    scroll: document.scrollingElement!.scrollWidth,
    client: document.scrollingElement!.clientWidth,
  }));
  expect(w.scroll, JSON.stringify(w)).toBeLessThanOrEqual(width);
}

/** Every visible control's box lies within 0..width. */
async function expectControlsInside(page: Page, width: number) {
  const outside = await page.evaluate((width) => {
    const bad: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('button, input, select, textarea, a[href]')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not shown
      if (el.closest('.canvas-wrap, .editor-canvas-wrap, .nodes-card, #waterfall, .ab')) continue; // scroll inside
      if (r.left < -1 || r.right > width + 1) bad.push(`${el.tagName}#${el.id} ${r.left.toFixed(0)}..${r.right.toFixed(0)}`);
    }
    return bad;
  }, width);
  expect(outside).toEqual([]);
}

for (const [width, height, name] of [
  [390, 844, 'phone'],
  [768, 1024, 'tablet'],
  [1024, 768, 'laptop'],
] as const) {
  test.describe(`${name} (${width} px)`, () => {
    test.use({ viewport: { width, height } });

    test(`the sandbox fits ${width} px: no sideways scroll, controls reachable, charts wide`, async ({ page }) => {
      test.setTimeout(60_000);
      const errors = await openApp(page);
      await waitSimTime(page, 3);
      await expectNoSideways(page, width);
      await expectControlsInside(page, width);
      const main = await page.locator('.main-col').boundingBox();
      if (width < 900) {
        // One column: the main column and its charts take (nearly) the whole width.
        expect(main!.width, 'main column').toBeGreaterThanOrEqual(0.9 * width - 24);
        const canvases = page.locator('.dashboard canvas, #chart-latency-theory');
        const n = await canvases.count();
        expect(n).toBeGreaterThan(0);
        for (let i = 0; i < n; i++) {
          const box = await canvases.nth(i).boundingBox();
          expect(box!.width, `chart ${i}`).toBeGreaterThanOrEqual(0.8 * width - 24);
        }
      } else {
        expect(main!.width, 'main column').toBeGreaterThanOrEqual(0.55 * width);
      }
      // A chart title keeps whole words on a line (no one-word-a-line wrap).
      const title = page.locator('.chart h2, .dash-chart h3').first();
      const lineHeight = await title.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) || 20);
      const tbox = await title.boundingBox();
      expect(tbox!.height, 'chart title lines').toBeLessThanOrEqual(3 * lineHeight + 2);
      await page.screenshot({ path: artifact(`layout-${name}-${width}.png`), fullPage: true });
      expect(errors).toEqual([]);
    });
  });
}

test.describe('presenter view (1024x768)', () => {
  test.use({ viewport: { width: 1024, height: 768 } });

  test('a lesson on a projector: large type, the lesson and the charts only', async ({ page }) => {
    test.setTimeout(60_000);
    // (The clock is in the statistics panel, which the view hides.)
    const errors = watchErrors(page);
    await page.goto('/?lesson=DATA-N%2B1&present');
    await expect(page.locator('.app.presenting')).toBeVisible({ timeout: 30_000 });
    await expect(page.getByTestId('lesson-panel')).toBeVisible();
    await expect(page.locator('.dashboard canvas').first()).toBeVisible();
    for (const gone of ['#nodes', '#why-slow', '.controls', '[data-testid="topology-panel"]', '#scenario']) {
      await expect(page.locator(gone).first(), gone).toBeHidden();
    }
    const size = await page.locator('#lesson-title').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    expect(size).toBeGreaterThanOrEqual(24);
    await expectNoSideways(page, 1024);
    // The lesson and the first chart are both on the first screen.
    const chart = await page.locator('.dashboard canvas').first().boundingBox();
    expect(chart!.y).toBeLessThan(768);
    await page.screenshot({ path: artifact('layout-presenter-1024x768.png') });

    // The header's button leaves the view (and comes back).
    await page.locator('#present-toggle').click();
    await expect(page.locator('.app.presenting')).toHaveCount(0);
    await expect(page.locator('.controls').first()).toBeVisible();
    await page.locator('#present-toggle').click();
    await expect(page.locator('.app.presenting')).toBeVisible();
    expect(errors).toEqual([]);
  });
});
