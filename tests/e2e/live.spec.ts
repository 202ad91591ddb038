// The live M/M/c page, end to end, on the release build (BASE_URL):
// it loads cleanly, draws its charts, reacts to a live load change the way
// queueing theory says it must, pauses, and survives a panic.
import { expect, test, type Page } from '@playwright/test';
import { artifact } from './artifacts';

/** Okabe–Ito colours of the latency series (web/src/charts.rs): p99
 * vermillion, p95 orange (drawn over p99: in small windows they coincide),
 * p50 blue. */
const LATENCY_SERIES: Array<[number, number, number]> = [
  [0xd5, 0x5e, 0x00],
  [0xe6, 0x9f, 0x00],
  [0x00, 0x72, 0xb2],
];
const UTIL_SERIES: Array<[number, number, number]> = [[0x00, 0x9e, 0x73]];

/** "2.31 s" -> 2.31, "850 ms" -> 0.85; NaN for "—" or an unstable note. */
async function seconds(page: Page, id: string): Promise<number> {
  const text = ((await page.locator(`#${id}`).textContent()) ?? '').trim();
  const m = /^(-?\d+(?:\.\d+)?)\s*(ms|s)$/.exec(text);
  if (!m) return Number.NaN;
  return m[2] === 'ms' ? Number(m[1]) / 1000 : Number(m[1]);
}

/** Pixels of a canvas that are not the white background, and those close
 * to one of the `series` colours (read back with getImageData). */
async function canvasInk(page: Page, id: string, series: Array<[number, number, number]>) {
  return page.evaluate(
    ({ id, series }) => {
      const c = document.getElementById(id) as HTMLCanvasElement | null;
      if (!c || c.width === 0 || c.height === 0) return { inked: 0, series: 0, w: 0, h: 0 };
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let inked = 0;
      let hits = 0;
      for (let i = 0; i < d.length; i += 4) {
        const [r, g, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
        if (a === 0) continue;
        if (r < 245 || g < 245 || b < 245) inked++;
        if (series.some(([r0, g0, b0]) => Math.abs(r - r0) < 24 && Math.abs(g - g0) < 24 && Math.abs(b - b0) < 24)) hits++;
      }
      return { inked, series: hits, w: c.width, h: c.height };
    },
    { id, series },
  );
}

/** Sets a range input the way a user dragging it would (value + input event). */
async function setSlider(page: Page, id: string, value: number) {
  await page.locator(`#${id}`).evaluate((el, v) => {
    const input = el as HTMLInputElement;
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

async function open(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page.locator('#sim-time')).toBeVisible({ timeout: 30_000 });
  return errors;
}

test.describe('live M/M/c page', () => {
  test('loads without errors and draws the latency chart', async ({ page }) => {
    const errors = await open(page);
    await expect(page).toHaveTitle('tailsim — why backends stop scaling');
    for (const id of ['play', 'rate', 'workers', 'speed', 'chart-latency', 'chart-util', 'p99-sim', 'p99-theory']) {
      await expect(page.locator(`#${id}`), `#${id}`).toHaveCount(1);
    }
    // The clock runs on its own.
    await expect.poll(() => seconds(page, 'sim-time'), { timeout: 10_000 }).toBeGreaterThan(0.5);
    // Run fast so windows complete, then the p99 series must be on the canvas.
    await page.locator('#speed').selectOption('max');
    await expect.poll(() => seconds(page, 'sim-time'), { timeout: 10_000 }).toBeGreaterThan(200);
    await expect
      .poll(async () => (await canvasInk(page, 'chart-latency', LATENCY_SERIES)).series, { timeout: 10_000 })
      .toBeGreaterThan(200);
    const ink = await canvasInk(page, 'chart-latency', LATENCY_SERIES);
    expect(ink.w).toBeGreaterThan(300);
    expect(ink.inked).toBeGreaterThan(2_000);
    const util = await canvasInk(page, 'chart-util', UTIL_SERIES);
    expect(util.series).toBeGreaterThan(200);
    // Theory read-out for M/M/10 at λ = 9, μ = 1.
    const theory = await seconds(page, 'p99-theory');
    expect(theory).toBeGreaterThan(5);
    expect(theory).toBeLessThan(8);
    expect(errors, errors.join('\n')).toEqual([]);
  });

  test('raising the arrival rate to ρ≈0.98 raises the windowed p99', async ({ page }) => {
    const errors = await open(page);
    await page.locator('#speed').selectOption('max');
    // Let the ρ = 0.9 regime settle and fill the 30-window read-out.
    await expect.poll(() => seconds(page, 'sim-time'), { timeout: 15_000 }).toBeGreaterThan(600);
    await expect.poll(() => seconds(page, 'p99-sim'), { timeout: 5_000 }).toBeGreaterThan(0);
    const theory9 = await seconds(page, 'p99-theory');
    // Baseline: the largest windowed p99 seen over ~1.5 s of wall time at ρ = 0.9.
    let baseline = 0;
    for (let i = 0; i < 6; i++) {
      baseline = Math.max(baseline, await seconds(page, 'p99-sim'));
      await page.waitForTimeout(250);
    }
    expect(baseline).toBeGreaterThan(0);

    await setSlider(page, 'rate', 9.8);
    await expect(page.locator('#rate-value')).toHaveText('9.8 req/s');
    // Erlang C: the predicted p99 more than triples (≈6.2 s -> ≈23 s).
    const theory98 = await seconds(page, 'p99-theory');
    expect(theory98).toBeGreaterThan(3 * theory9);
    await expect(page.locator('#load')).toHaveClass(/warn/);

    // The simulated tail follows within a few seconds of wall time.
    const target = Math.max(baseline, theory9) * 1.5;
    await expect
      .poll(() => seconds(page, 'p99-sim'), {
        timeout: 15_000,
        intervals: [250],
        message: `windowed p99 should exceed ${target.toFixed(2)} s (baseline ${baseline} s, theory ${theory9} s -> ${theory98} s)`,
      })
      .toBeGreaterThan(target);

    // Freeze a representative frame for the artifact.
    await page.locator('#play').click();
    await expect(page.locator('#play')).toContainText('Play');
    await page.screenshot({ path: artifact('live.png') });
    expect(errors, errors.join('\n')).toEqual([]);
  });

  test('pause stops the clock; Space resumes it', async ({ page }) => {
    const errors = await open(page);
    await expect.poll(() => seconds(page, 'sim-time'), { timeout: 10_000 }).toBeGreaterThan(0.3);
    await page.locator('#play').click();
    await expect(page.locator('#play')).toContainText('Play');
    await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'false');
    const paused = await page.locator('#sim-time').textContent();
    await page.waitForTimeout(1_000);
    await expect(page.locator('#sim-time')).toHaveText(paused!);

    // Space (with focus outside the buttons) toggles play.
    await page.locator('h1').click();
    await page.keyboard.press('Space');
    await expect(page.locator('#play')).toContainText('Pause');
    await expect.poll(async () => page.locator('#sim-time').textContent(), { timeout: 5_000 }).not.toBe(paused);

    // Reset goes back to t = 0 and keeps running.
    await page.locator('#reset').click();
    await expect
      .poll(() => seconds(page, 'sim-time'), { timeout: 5_000 })
      .toBeLessThan(Number.parseFloat(paused!) + 2);
    expect(errors, errors.join('\n')).toEqual([]);
  });

  test('out-of-capacity settings say "unstable" instead of a number', async ({ page }) => {
    const errors = await open(page);
    await setSlider(page, 'workers', 8);
    await expect(page.locator('#workers-value')).toHaveText('8');
    await expect(page.locator('#p99-theory')).toHaveText('unstable: λ ≥ cμ, queue grows without bound');
    await expect(page.locator('#load')).toHaveClass(/danger/);
    expect(errors, errors.join('\n')).toEqual([]);
  });

  test('a panic shows the error panel, and Reload brings the page back', async ({ page }) => {
    await open(page);
    await page.waitForFunction(() => (window as any).wasmBindings?.tailsim_test_panic !== undefined);
    await page.evaluate(() => {
      try {
        (window as any).wasmBindings.tailsim_test_panic('from the e2e test');
      } catch {
        /* the wasm trap surfaces here as a RuntimeError */
      }
    });
    const panel = page.locator('#panic-panel');
    await expect(panel).toBeVisible();
    await expect(panel).toContainText('Something went wrong');
    await expect(panel).toContainText('from the e2e test');
    // The dead app stops: the clock no longer moves under the panel.
    const frozen = await page.locator('#sim-time').textContent();
    await page.waitForTimeout(500);
    await expect(page.locator('#sim-time')).toHaveText(frozen!);
    await page.locator('#panic-reload').click();
    await expect(page.locator('#panic-panel')).toHaveCount(0, { timeout: 30_000 });
    await expect.poll(() => seconds(page, 'sim-time'), { timeout: 30_000 }).toBeGreaterThan(0.2);
  });
});
