// Honest live charts, end to end on the release build (BASE_URL): at the
// default 9 requests a second, a 1-second window's "p99" would be just its
// maximum (and p95 the same number, hidden under it). The chart pools a
// small window with the ones before it until they hold 100 answers (20 for
// p95), says so in the legend, and draws p99 on top, above p95.
import { expect, test } from '@playwright/test';
import { canvasInk, COLOURS, openApp, pause, waitSimTime } from './helpers';

test('at 9 req/s the p99 is pooled to 100 answers, said in the legend, and drawn above p95', async ({ page }) => {
  test.setTimeout(60_000);
  const errors = await openApp(page);
  await waitSimTime(page, 40, 30_000);
  await pause(page);
  const note = page.locator('#latency-pooling');
  await expect(note).toBeVisible();
  // 100 answers at ~9 a second take 12 windows (about 11 s to 14 s with the noise).
  await expect(note).toContainText(/pooled with the ones before it, up to 1\d s/);
  const canvas = page.locator('#chart-latency-theory');
  const p99 = await canvasInk(page, canvas, [COLOURS.vermillion]);
  const p95 = await canvasInk(page, canvas, [COLOURS.orange]);
  // Both drawn, visibly (p95 is no longer the same line under p99) ...
  expect(p99.series, JSON.stringify(p99)).toBeGreaterThan(200);
  expect(p95.series, JSON.stringify(p95)).toBeGreaterThan(200);
  // ... and p99 reaches higher on the chart (a smaller y) than p95.
  expect(p99.yMin).toBeLessThan(p95.yMin);
  expect(errors).toEqual([]);
});
