// Exports, end to end on the release build (BASE_URL): the share dialog's
// four buttons each download a file named after the scenario and seed, with
// the right contents: the run's windows as CSV, the whole report as JSON,
// the charts as a PNG, and the scenario as TOML that the engine reads back.
import { readFileSync } from 'node:fs';
import { expect, test, type Download, type Page } from '@playwright/test';
import { artifact } from './artifacts';
import { openApp, pause, waitSimTime } from './helpers';

const SEED = 7;
/** slug of mmc.toml's name, "M/M/10 at 90% load" (web/src/export.rs). */
const STEM = `tailsim-m-m-10-at-90-load-seed${SEED}`;

async function download(page: Page, button: string): Promise<{ name: string; bytes: Buffer; d: Download }> {
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.locator(button).click()]);
  const path = await d.path();
  expect(path, `${button}: download failed: ${await d.failure()}`).toBeTruthy();
  return { name: d.suggestedFilename(), bytes: readFileSync(path!), d };
}

test('the share dialog exports CSV, JSON, PNG and TOML of the run', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = await openApp(page);
  await pause(page);
  await page.locator('#seed').fill(String(SEED));
  await page.locator('#seed').press('Enter');
  await expect(page.locator('#seed')).toHaveValue(String(SEED));
  await expect(page.locator('#sim-time')).toHaveText('0.0 s');
  await page.locator('#speed').selectOption('max');
  await page.locator('#play').click();
  await waitSimTime(page, 60);
  await pause(page);

  await page.locator('#share-open').click();
  await expect(page.locator('#share-dialog')).toBeVisible();
  await page.screenshot({ path: artifact('export-dialog.png') });

  // CSV: one row per window, every row as wide as the header.
  const csv = await download(page, '#export-csv');
  expect(csv.name).toBe(`${STEM}.csv`);
  const lines = csv.bytes.toString('utf8').trim().split('\n');
  expect(lines[0].startsWith('t_start_s,t_end_s,arrived,attempts,completed,failed,in_flight,throughput_rps,p50_s,p95_s,p99_s,')).toBe(true);
  expect(lines[0]).toContain('server.utilisation');
  expect(lines.length).toBeGreaterThan(30);
  const cols = lines[0].split(',').length;
  expect(lines.every((l) => l.split(',').length === cols)).toBe(true);
  const arrivedCol = lines[0].split(',').indexOf('arrived');
  const arrivedSum = lines.slice(1).reduce((s, l) => s + Number(l.split(',')[arrivedCol]), 0);
  expect(arrivedSum).toBeGreaterThan(60 * 9 * 0.8); // λ = 9/s for 60+ s

  // JSON: the whole report of this run (seed included).
  const json = await download(page, '#export-json');
  expect(json.name).toBe(`${STEM}.json`);
  const report = JSON.parse(json.bytes.toString('utf8'));
  expect(report.seed).toBe(SEED);
  expect(report.end_to_end).toBeDefined();
  expect(report.end_to_end.arrived).toBeGreaterThanOrEqual(arrivedSum);
  expect(report.end_to_end.completed).toBeGreaterThan(0);
  expect(report.sim_time_s).toBeGreaterThan(60);

  // PNG: a real PNG of the stacked charts.
  const png = await download(page, '#export-png');
  expect(png.name).toBe(`${STEM}-charts.png`);
  expect([...png.bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(png.bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  const width = png.bytes.readUInt32BE(16);
  const height = png.bytes.readUInt32BE(20);
  expect(width).toBeGreaterThan(300);
  expect(height).toBeGreaterThan(3 * 200); // several charts stacked
  expect(png.bytes.length).toBeGreaterThan(10_000);

  // TOML: the scenario with this seed written in; the engine reads it back.
  const toml = await download(page, '#export-toml');
  expect(toml.name).toBe(`${STEM}.toml`);
  const text = toml.bytes.toString('utf8');
  expect(text).toMatch(/^version = 1$/m);
  expect(text).toMatch(new RegExp(`^seed = ${SEED}$`, 'm'));
  expect(text).toContain('[nodes.server]');
  const parsed = await page.evaluate(
    // The engine runs in the page's web worker: bench_run is a promise.
    async (t) => JSON.parse(await (window as any).wasmBindings.bench_run(t, 10.0)),
    text,
  );
  expect(parsed.error, JSON.stringify(parsed)).toBeUndefined();
  expect(parsed.events).toBeGreaterThan(0);

  await expect(page.locator('#inline-error')).toHaveCount(0);
  expect(errors, errors.join('\n')).toEqual([]);
});
