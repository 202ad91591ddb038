// The live M/M/c page, end to end, on the release build (BASE_URL):
// it loads cleanly, draws its charts, reacts to a live load change the way
// queueing theory says it must, pauses, is keyboard operable, and survives
// a panic.
import { expect, test, type Page } from '@playwright/test';
import { artifact } from './artifacts';
import { canvasInk, chart, COLOURS, LATENCY_SERIES, openApp, seconds as secondsOf, setSlider } from './helpers';

/** The per-node colours of the saturation chart (one node here: `server`). */
const NODE_SERIES = [COLOURS.blue, COLOURS.orange, COLOURS.green, COLOURS.vermillion, COLOURS.purple, COLOURS.sky];

const seconds = (page: Page, id: string) => secondsOf(page, `#${id}`);
const open = (page: Page) => openApp(page);

test.describe('live M/M/c page', () => {
  test('loads without errors and draws the latency chart', async ({ page }) => {
    const errors = await open(page);
    await expect(page).toHaveTitle('tailsim — why backends stop scaling');
    for (const id of ['play', 'step', 'reset', 'seed', 'rate', 'workers', 'speed', 'chart-latency-theory', 'p99-sim', 'p99-theory']) {
      await expect(page.locator(`#${id}`), `#${id}`).toHaveCount(1);
    }
    // The dashboard: the latency chart moved to the Erlang C card for a single M/M/c.
    for (const slug of ['throughput', 'utilisation', 'heatmap', 'burn']) {
      await expect(chart(page, slug), slug).toHaveCount(1);
    }
    await expect(chart(page, 'latency')).toHaveCount(0);
    // The engine runs in the web worker.
    await expect(page.locator('#engine-where')).toContainText('web worker');
    // The clock runs on its own.
    await expect.poll(() => seconds(page, 'sim-time'), { timeout: 10_000 }).toBeGreaterThan(0.5);
    // Run fast so windows complete, then the p99 series must be on the canvas.
    await page.locator('#speed').selectOption('max');
    await expect.poll(() => seconds(page, 'sim-time'), { timeout: 10_000 }).toBeGreaterThan(200);
    await expect
      .poll(async () => (await canvasInk(page, '#chart-latency-theory', LATENCY_SERIES)).series, { timeout: 10_000 })
      .toBeGreaterThan(200);
    const ink = await canvasInk(page, '#chart-latency-theory', LATENCY_SERIES);
    expect(ink.w).toBeGreaterThan(300);
    expect(ink.inked).toBeGreaterThan(2_000);
    // The saturation chart plots server's utilisation (about 90 %).
    const util = await canvasInk(page, chart(page, 'utilisation'), NODE_SERIES);
    expect(util.series).toBeGreaterThan(200);
    await expect(chart(page, 'utilisation')).toHaveAttribute('aria-label', /top node server: \d+% busy/);
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
    // A frame the worker was already computing when Pause was pressed still lands.
    await page.waitForTimeout(200);
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
