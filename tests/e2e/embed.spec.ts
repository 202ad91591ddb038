// The `?embed` layout, end to end on the release build (BASE_URL), in a
// 600×480 frame as the share dialog's <iframe> snippet makes it: one
// compact column, a working Play button, charts that draw, and nothing
// wider than the frame. Two ways in: a lesson and a share link.
import { expect, test, type Page } from '@playwright/test';
import { artifact } from './artifacts';
import { canvasInk, COLOURS, LATENCY_SERIES, openApp, pause, pick, seconds, watchErrors } from './helpers';

test.use({ viewport: { width: 600, height: 480 } });

const ALL_COLOURS = Object.values(COLOURS);

/** The compact layout: no full controls, editor or node table; no
 * horizontal scrolling at 600 px. */
async function expectCompact(page: Page) {
  await expect(page.locator('div.app.embed')).toBeVisible();
  await expect(page.locator('.dashboard.compact')).toBeVisible();
  await expect(page.locator('#open-full')).toBeVisible();
  for (const gone of ['#scenario', '#seed', '#speed', '#nodes', '#lessons-open', '#share-open']) {
    await expect(page.locator(gone), gone).toHaveCount(0);
  }
  await expect(page.getByTestId('topology-panel')).toHaveCount(0);
  const widths = await page.evaluate(() => ({
    scroll: document.scrollingElement!.scrollWidth,
    client: document.scrollingElement!.clientWidth,
  }));
  expect(widths.scroll, JSON.stringify(widths)).toBeLessThanOrEqual(600);
}

/** Every compact dashboard canvas fits the frame and has something drawn:
 * the line charts their Okabe–Ito series, the others (heatmap, burn) ink. */
async function expectChartsDrawn(page: Page) {
  const canvases = page.locator('.dashboard.compact canvas');
  const n = await canvases.count();
  expect(n).toBeGreaterThanOrEqual(2);
  const lineCharts = ['chart-latency', 'chart-throughput', 'chart-utilisation', 'chart-queue', 'chart-replicas'];
  for (let i = 0; i < n; i++) {
    const c = canvases.nth(i);
    const id = (await c.getAttribute('data-testid')) ?? '';
    const box = await c.boundingBox();
    expect(box!.width, id).toBeGreaterThan(300);
    expect(box!.x + box!.width, id).toBeLessThanOrEqual(600);
    await expect
      .poll(async () => (await canvasInk(page, c, ALL_COLOURS)).inked, { timeout: 10_000, message: `${id} should be drawn` })
      .toBeGreaterThan(1_000);
    if (lineCharts.includes(id)) {
      await expect
        .poll(async () => (await canvasInk(page, c, ALL_COLOURS)).series, {
          timeout: 10_000,
          message: `${id} should draw its series`,
        })
        .toBeGreaterThan(100);
    }
  }
  await expect(page.locator('.dashboard .dash-error')).toHaveCount(0);
}

/** Play pauses and resumes the clock. */
async function expectPlayWorks(page: Page) {
  const play = page.locator('#play');
  await expect(play).toHaveAttribute('aria-pressed', 'true');
  const t0 = await seconds(page, '#sim-time');
  await expect.poll(() => seconds(page, '#sim-time')).toBeGreaterThan(t0);
  // Pause, letting frames already in flight from the worker land.
  await pause(page);
  const frozen = await page.locator('#sim-time').textContent();
  await page.waitForTimeout(600);
  await expect(page.locator('#sim-time')).toHaveText(frozen!);
  await play.click();
  await expect(play).toHaveAttribute('aria-pressed', 'true');
  await expect.poll(async () => page.locator('#sim-time').textContent()).not.toBe(frozen);
}

test('?embed&lesson=DATA-N%2B1 in 600×480: compact lesson, play, charts, no sideways scroll', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = await openApp(page, '/?embed&lesson=DATA-N%2B1');
  await expectCompact(page);
  await expect(page.getByTestId('lesson-panel')).toBeVisible();
  await expect(page.getByTestId('toggle-DATA-N+1')).toHaveCount(1);
  await expect(page.locator('#sim-time')).toHaveText('0.0 s');
  await page.screenshot({ path: artifact('embed-lesson-predict.png'), fullPage: true });

  // Play waits for the guess, as in the full page.
  await page.locator('#play').click();
  await expect(page.locator('#inline-error')).toContainText('Make your prediction first');
  await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'false');
  await page.getByTestId('predict-input').fill('60');
  await page.getByTestId('predict-submit').click();
  // The lesson runs to its end and reveals; both lanes show their p99.
  await expect(page.getByTestId('predict-result')).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('#p99-sim')).toHaveText(/\d (ms|s)$/);
  await expect(page.locator('#p99-sim-b')).toHaveText(/\d (ms|s)$/);
  await expectChartsDrawn(page);
  const lat = await canvasInk(page, page.getByTestId('chart-latency'), LATENCY_SERIES);
  expect(lat.series).toBeGreaterThan(200);
  await page.locator('#play').click(); // past the lesson's end, Play runs on
  await expectPlayWorks(page);
  await expectCompact(page);
  await page.screenshot({ path: artifact('embed-lesson.png'), fullPage: true });
  expect(errors, errors.join('\n')).toEqual([]);
});

test('?embed#s=… (the share dialog snippet) in 600×480: runs the shared scenario compactly', async ({ page, context }) => {
  test.setTimeout(90_000);
  // Make the link on the full page: chain.toml.
  const full = await context.newPage();
  await full.setViewportSize({ width: 1280, height: 800 });
  const fullErrors = await openApp(full);
  await pick(full, 'chain.toml');
  await pause(full);
  await full.locator('#share-open').click();
  const snippet = await full.locator('#iframe-snippet').inputValue();
  const src = /<iframe src="([^"]+)"/.exec(snippet)?.[1]?.replace(/&amp;/g, '&');
  expect(src, snippet).toMatch(/\?embed#s=1\.[A-Za-z0-9_-]+$/);
  expect(snippet).toContain('height="480"');
  await full.close();

  const errors = watchErrors(page);
  await page.goto(src!);
  await expect(page.locator('#sim-time')).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('#load-error')).toHaveCount(0);
  await expectCompact(page);
  await expectPlayWorks(page);
  await expect.poll(() => seconds(page, '#sim-time'), { timeout: 20_000 }).toBeGreaterThan(5);
  await expectChartsDrawn(page);
  await expect(page.locator('#p99-sim')).toHaveText(/\d (µs|ms|s)$/);
  await expectCompact(page);
  await page.screenshot({ path: artifact('embed-share.png'), fullPage: true });
  expect(fullErrors, fullErrors.join('\n')).toEqual([]);
  expect(errors, errors.join('\n')).toEqual([]);
});
