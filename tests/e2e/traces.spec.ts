// "Why is it slow?", end to end on the release build (BASE_URL): chain.toml at
// max speed fills the list of slow traced requests; clicking one draws its
// waterfall (one row per span, bars positioned as percentages).
import { expect, test } from '@playwright/test';
import { artifact } from './artifacts';

test('chain.toml: the slowest traced request shows a waterfall with a db span', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page.locator('#sim-time')).toBeVisible({ timeout: 30_000 });

  await page.locator('#scenario').selectOption('chain.toml');
  await expect(page.locator('#scenario')).toHaveValue('chain.toml');
  await page.locator('#speed').selectOption('max');

  const panel = page.locator('#why-slow');
  await expect(panel).toBeVisible();
  const items = page.locator('#slow-list button.slow-item');
  await expect.poll(() => items.count(), { timeout: 15_000 }).toBeGreaterThan(2);
  // slowest first: "12.3 ms", "850 µs", "1.20 s"
  const ms = (t: string) => {
    const m = /^([\d.]+)\s*(µs|ms|s)$/.exec(t.trim());
    if (!m) return Number.NaN;
    return Number(m[1]) * { µs: 1e-3, ms: 1, s: 1e3 }[m[2] as 'µs' | 'ms' | 's'];
  };
  const lats = (await page.locator('#slow-list .slow-item .lat').allTextContents()).map(ms);
  expect(lats.every((x) => Number.isFinite(x)), lats.join(', ')).toBe(true);
  for (let i = 1; i < lats.length; i++) expect(lats[i - 1]).toBeGreaterThanOrEqual(lats[i]);
  await expect(items.first()).toContainText('clients');

  // Pause so that the list and the screenshot hold still, then open the slowest.
  await page.locator('#play').click();
  await expect(page.locator('#play')).toContainText('Play');
  await expect(page.locator('#waterfall')).toHaveCount(0);
  await items.first().click();
  await expect(items.first()).toHaveAttribute('aria-pressed', 'true');

  const rows = page.locator('#waterfall .wf-row');
  await expect.poll(() => rows.count()).toBeGreaterThan(2);
  await expect(page.locator('#waterfall .wf-row[data-node="db"]').first()).toBeVisible();
  // The head names the request, its latency and where most of its time went.
  await expect(page.locator('.waterfall-head strong')).toHaveText(/^#\d+ from clients · [\d.]+ (µs|ms|s) · \w+$/);
  await expect(page.locator('.waterfall-head')).toContainText(/most time: [\w ]+ \([\d.]+ (µs|ms|s)\)/);
  // The clicked request stays on screen while the list refreshes.
  await page.locator('#play').click();
  await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'true');
  await page.waitForTimeout(1_500);
  await page.locator('#play').click();
  await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'false');
  await expect(page.locator('#waterfall .wf-row[data-node="db"]').first()).toBeVisible();
  const labels = await page.locator('#waterfall .wf-label').allTextContents();
  expect(labels.some((l) => /^db · \w[\w ]* · [\d.]+ (µs|ms|s)$/.test(l)), labels.join('\n')).toBe(true);

  // Bars: inside the track (percentages), and the db work has a visible width.
  const bars = await page.locator('#waterfall .wf-bar').evaluateAll((bs) =>
    bs.map((b) => {
      const el = b as HTMLElement;
      const row = el.closest('.wf-row') as HTMLElement;
      return {
        node: row.dataset.node,
        kind: row.dataset.kind,
        left: parseFloat(el.style.left),
        width: parseFloat(el.style.width),
        px: el.getBoundingClientRect().width,
      };
    }),
  );
  for (const b of bars) {
    expect(b.left).toBeGreaterThanOrEqual(0);
    expect(b.left + b.width).toBeLessThanOrEqual(100.001);
    expect(b.px).toBeGreaterThan(0);
  }
  expect(bars.filter((b) => b.width > 0).length).toBeGreaterThan(0);
  expect(bars.some((b) => b.node === 'db' && b.width > 0), JSON.stringify(bars)).toBe(true);
  // the whole request spans the full width
  expect(Math.max(...bars.map((b) => b.left + b.width))).toBeGreaterThan(90);

  await panel.scrollIntoViewIfNeeded();
  await page.screenshot({ path: artifact('why-slow.png'), fullPage: true });
  await panel.screenshot({ path: artifact('why-slow-panel.png') });
  expect(errors, errors.join('\n')).toEqual([]);
});
