// A/B mode, end to end on the release build (BASE_URL): on the N+1
// catalogue scenario, A runs the mistake and B the fix with the same seed;
// the difference panel shows A's p99 far above B's, the dashboard draws both
// runs, and going back to the sandbox drops B.
import { expect, test, type Page } from '@playwright/test';
import { artifact } from './artifacts';
import { canvasInk, chart, COLOURS, openApp, parseSeconds, pick, waitSimTime } from './helpers';

/** The cells (A, B, difference) of a row of the difference panel. */
async function abRow(page: Page, id: string): Promise<{ a: string; b: string; d: string }> {
  const row = page.locator(`#${id}`);
  return {
    a: ((await row.locator('td.a').textContent()) ?? '').trim(),
    b: ((await row.locator('td.b').textContent()) ?? '').trim(),
    d: ((await row.locator('td.d').textContent()) ?? '').trim(),
  };
}

/** "12.3/s" -> 12.3 */
const perSecond = (t: string) => Number(/^([+-]?\d+(?:\.\d+)?)\/s$/.exec(t)?.[1]);

test('DATA-N+1 in A/B: the mistake and the fix side by side', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = await openApp(page);
  // No toggles on the M/M/c: A/B is offered only where there is a mistake.
  await expect(page.locator('#mode-ab')).toBeDisabled();
  await pick(page, 'catalogue/DATA-N+1.toml');
  await expect(page.locator('#mode-ab')).toBeEnabled();
  await expect(page.locator('#ab-panel')).toHaveCount(0);
  await expect(page.locator('.dash-ab')).toHaveCount(0);

  await page.locator('#mode-ab').click();
  await expect(page.locator('#mode-ab')).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('#mode-sandbox')).toHaveAttribute('aria-selected', 'false');
  await expect(page.locator('#ab-panel')).toBeVisible();
  await expect(page.locator('#toggles')).toContainText('(applies to B)');
  // B is the fix: its switch (on while the mistake is in) is off.
  await expect(page.getByTestId('toggle-DATA-N+1')).not.toBeChecked();
  await expect(page.locator('#toggles .toggle-state').first()).toHaveText('✓ fixed');
  await page.locator('#speed').selectOption('max');
  await waitSimTime(page, 60, 30_000);

  // Both lanes run: both serve the offered ~60 pages/s.
  const tput = await abRow(page, 'ab-throughput');
  expect(perSecond(tput.a), JSON.stringify(tput)).toBeGreaterThan(30);
  expect(perSecond(tput.b), JSON.stringify(tput)).toBeGreaterThan(30);
  await expect(page.locator('#ab-panel h2')).toContainText(/same simulated time \(t = \d+(\.\d)? s\)/);

  // p99: N+1 (A) is far above the JOIN (B).
  const p99 = await abRow(page, 'ab-p99');
  const a = parseSeconds(p99.a);
  const b = parseSeconds(p99.b);
  expect(a, JSON.stringify(p99)).toBeGreaterThan(3 * b);
  expect(b, JSON.stringify(p99)).toBeGreaterThan(0);
  expect(p99.d).toMatch(/^\d+(\.\d)?× lower$/);
  expect(Number(/^(\d+(?:\.\d)?)×/.exec(p99.d)?.[1])).toBeGreaterThan(3);
  // The whole table is readable: the difference column is inside the card.
  const card = (await page.locator('#ab-panel').boundingBox())!;
  for (const id of ['ab-p99', 'ab-throughput', 'ab-errors', 'ab-saturation']) {
    const cell = (await page.locator(`#${id} td.d`).boundingBox())!;
    expect.soft(cell.x + cell.width, `#${id} td.d should not overflow #ab-panel (right edge ${card.x + card.width})`).toBeLessThanOrEqual(card.x + card.width + 0.5);
  }
  // The database is the busiest node of A, much busier than in B.
  const sat = await abRow(page, 'ab-saturation');
  expect(sat.a).toMatch(/^db \d+(\.\d)? %$/);
  expect(sat.d).toMatch(/^-\d+ pts$/);

  // The dashboard draws both runs (A solid, B dashed) on every chart.
  const charts = page.locator('.dashboard figure.dash-chart');
  const n = await charts.count();
  expect(n).toBeGreaterThanOrEqual(3);
  await expect(page.locator('.dashboard .dash-ab')).toHaveCount(n);
  await expect(page.locator('.dashboard .dash-ab').first()).toHaveText('A solid, B dashed');
  const latency = chart(page, 'latency');
  await expect(latency).toBeVisible();
  await page.locator('#play').click();
  await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'false');
  const both = await canvasInk(page, latency, [COLOURS.vermillion]);
  expect(both.series).toBeGreaterThan(200);
  await page.locator('#ab-panel').scrollIntoViewIfNeeded();
  await page.screenshot({ path: artifact('ab.png'), fullPage: true });
  await page.locator('#ab-panel').screenshot({ path: artifact('ab-panel.png') });
  await page.locator('.dashboard').screenshot({ path: artifact('ab-dashboard.png') });

  // Back to the sandbox: B is gone from the panel and from the charts.
  await page.locator('#mode-sandbox').click();
  await expect(page.locator('#mode-sandbox')).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('#ab-panel')).toHaveCount(0);
  await expect(page.locator('.dashboard .dash-ab')).toHaveCount(0);
  await expect(page.locator('#toggles')).not.toContainText('(applies to B)');
  // A alone: B's p99 line (far below A's, dashed) has left the latency chart.
  await expect
    .poll(async () => (await canvasInk(page, latency, [COLOURS.vermillion])).series, { timeout: 10_000 })
    .toBeLessThan(both.series);
  await page.screenshot({ path: artifact('ab-back-to-sandbox.png') });
  expect(errors, errors.join('\n')).toEqual([]);
});
