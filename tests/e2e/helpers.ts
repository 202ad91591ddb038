// Shared helpers of the end-to-end specs: opening the page while recording
// errors, reading the page's formatted numbers, and reading canvases back.
import { expect, type Locator, type Page } from '@playwright/test';

/** Okabe–Ito colours the charts draw with (web/src/charts.rs `palette`). */
export const COLOURS = {
  vermillion: [0xd5, 0x5e, 0x00] as [number, number, number],
  orange: [0xe6, 0x9f, 0x00] as [number, number, number],
  blue: [0x00, 0x72, 0xb2] as [number, number, number],
  green: [0x00, 0x9e, 0x73] as [number, number, number],
  purple: [0xcc, 0x79, 0xa7] as [number, number, number],
  sky: [0x56, 0xb4, 0xe9] as [number, number, number],
};
/** The latency percentiles: p99 vermillion, p95 orange, p50 blue. */
export const LATENCY_SERIES = [COLOURS.vermillion, COLOURS.orange, COLOURS.blue];

/** Collects uncaught page errors and console errors of `page`. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** Opens `path` (default the sandbox) and waits until the app shows a clock. */
export async function openApp(page: Page, path = '/'): Promise<string[]> {
  const errors = watchErrors(page);
  const response = await page.goto(path);
  expect(response?.status()).toBe(200);
  await expect(page.locator('#sim-time')).toBeVisible({ timeout: 30_000 });
  return errors;
}

/** Parses "12.3 s", "850 ms", "0.120 ms", "12 µs" into seconds; NaN otherwise. */
export function parseSeconds(text: string | null): number {
  const m = /^(-?\d+(?:\.\d+)?)\s*(µs|ms|s)$/.exec((text ?? '').trim());
  if (!m) return Number.NaN;
  return Number(m[1]) * { µs: 1e-6, ms: 1e-3, s: 1 }[m[2] as 'µs' | 'ms' | 's'];
}

/** A CSS selector ("#sim-time") or a locator. */
function loc(page: Page, target: string | Locator): Locator {
  return typeof target === 'string' ? page.locator(target) : target;
}

/** A duration read-out in seconds ("12.3 s" -> 12.3, "850 ms" -> 0.85). */
export async function seconds(page: Page, target: string | Locator): Promise<number> {
  return parseSeconds(await loc(page, target).textContent());
}

/** A count read-out ("1 234", thin-space separated) -> 1234; NaN if empty. */
export async function count(page: Page, target: string | Locator): Promise<number> {
  const text = (await loc(page, target).textContent()) ?? '';
  return Number(text.replace(/\D/g, '') || 'NaN');
}

/** Waits until the simulated clock shows more than `s` seconds. */
export async function waitSimTime(page: Page, s: number, timeout = 15_000) {
  await expect
    .poll(() => seconds(page, '#sim-time'), { timeout, message: `sim time should pass ${s} s` })
    .toBeGreaterThan(s);
}

/** Picks a scenario in the header's picker and waits for it to restart. */
export async function pick(page: Page, id: string) {
  await page.locator('#scenario').selectOption(id);
  await expect(page.locator('#scenario')).toHaveValue(id);
  await expect(page.locator('#scenario-error')).toHaveCount(0);
  await expect.poll(() => seconds(page, '#sim-time'), { timeout: 5_000 }).toBeLessThan(30);
}

/** Pauses with the Play button (and checks that it says so). */
export async function pause(page: Page) {
  const play = page.locator('#play');
  if ((await play.getAttribute('aria-pressed')) === 'true') await play.click();
  await expect(play).toHaveAttribute('aria-pressed', 'false');
  await expect(play).toContainText('Play');
  // Frames the worker was already computing when Pause was pressed still land.
  await page.waitForTimeout(300);
}

/** Sets a range input the way a user dragging it would (value + input event). */
export async function setSlider(page: Page, id: string, value: number) {
  await page.locator(`#${id}`).evaluate((el, v) => {
    const input = el as HTMLInputElement;
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

export interface Ink {
  /** Pixels that are not (near) white. */
  inked: number;
  /** Pixels close to one of the series colours. */
  series: number;
  /** Rows (y) of the series pixels: min, max. */
  yMin: number;
  yMax: number;
  w: number;
  h: number;
}

/** Reads a canvas back (getImageData): how much is drawn, and how much of
 * it in one of the `series` colours. */
export async function canvasInk(
  page: Page,
  target: string | Locator,
  series: Array<[number, number, number]>,
): Promise<Ink> {
  return loc(page, target).evaluate((el, series) => {
    const c = el as HTMLCanvasElement;
    if (c.width === 0 || c.height === 0) return { inked: 0, series: 0, yMin: 0, yMax: 0, w: 0, h: 0 };
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let inked = 0;
    let hits = 0;
    let yMin = Infinity;
    let yMax = -Infinity;
    for (let i = 0; i < d.length; i += 4) {
      const [r, g, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
      if (a === 0) continue;
      if (r < 245 || g < 245 || b < 245) inked++;
      if (series.some(([r0, g0, b0]) => Math.abs(r - r0) < 24 && Math.abs(g - g0) < 24 && Math.abs(b - b0) < 24)) {
        hits++;
        const y = Math.floor(i / 4 / c.width);
        yMin = Math.min(yMin, y);
        yMax = Math.max(yMax, y);
      }
    }
    return { inked, series: hits, yMin, yMax, w: c.width, h: c.height };
  }, series);
}

/** A dashboard chart's canvas (`data-testid="chart-<slug>"`). */
export function chart(page: Page, slug: string): Locator {
  return page.getByTestId(`chart-${slug}`);
}
