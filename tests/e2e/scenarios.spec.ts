// The scenario picker, end to end, on the release build (BASE_URL): every
// shipped scenario is listed, any of them runs in the page, the node table
// fills with numbers, and the live fault buttons act on the running sim
// (their outcome reported in #note).
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { artifact } from './artifacts';

const SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'scenarios');
const tomls = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.toml')).sort();

/** "12.3 s" -> 12.3 */
async function seconds(page: Page, id: string): Promise<number> {
  const text = ((await page.locator(`#${id}`).textContent()) ?? '').trim();
  const m = /^(-?\d+(?:\.\d+)?)\s*s$/.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** "1 234" (thin-space separated) -> 1234 */
async function count(page: Page, id: string): Promise<number> {
  const text = (await page.locator(`#${id}`).textContent()) ?? '';
  return Number(text.replace(/\D/g, '') || 'NaN');
}

/** The cells of the node table's row for `node`. */
async function row(page: Page, node: string): Promise<string[]> {
  return page.locator(`#nodes tr[data-node="${node}"] > *`).allTextContents();
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

async function pick(page: Page, id: string) {
  await page.locator('#scenario').selectOption(id);
  await expect(page.locator('#scenario')).toHaveValue(id);
  // the new scenario starts from t = 0
  await expect.poll(() => seconds(page, 'sim-time'), { timeout: 5_000 }).toBeLessThan(30);
}

test.describe('scenario picker', () => {
  test('lists every shipped scenario in two groups; mmc.toml is the default', async ({ page }) => {
    const errors = await open(page);
    const select = page.locator('#scenario');
    await expect(select).toHaveValue('mmc.toml');
    await expect(page.locator('label[for="scenario"]')).toHaveCount(1);
    const groups = await select.locator('optgroup').evaluateAll((gs) => gs.map((g) => g.getAttribute('label')));
    expect(groups).toEqual(['Reference models', 'Catalogue of mistakes']);
    const values = async (label: string) =>
      select.locator(`optgroup[label="${label}"] option`).evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(await values('Reference models')).toEqual(tomls(SCENARIOS));
    expect(await values('Catalogue of mistakes')).toEqual(tomls(join(SCENARIOS, 'catalogue')).map((f) => `catalogue/${f}`));
    // the M/M/c default keeps its theory and sliders
    await expect(page.locator('#p99-theory')).toHaveText(/\d s$/);
    await expect(page.locator('#load')).toHaveCount(1);
    expect(errors, errors.join('\n')).toEqual([]);
  });

  test('chain.toml: the node table lists api and db with numbers; a crash shows errors', async ({ page }) => {
    const errors = await open(page);
    await pick(page, 'chain.toml');
    // controls adapted: rate of `clients` (200/s in the file), workers of `api`, no Erlang C
    await expect(page.locator('#rate-value')).toHaveText('200 req/s');
    await expect(page.locator('#rate')).toHaveAttribute('max', '600');
    await expect(page.locator('#workers-value')).toHaveText('16');
    // No theory for this topology: no empty theory card either.
    await expect(page.locator('#p99-theory')).toHaveCount(0);
    await expect(page.locator('#load')).toHaveCount(0);

    await page.locator('#speed').selectOption('max');
    await expect.poll(() => seconds(page, 'sim-time'), { timeout: 15_000 }).toBeGreaterThan(60);
    await expect(page.locator('#nodes tbody tr')).toHaveCount(2);
    for (const node of ['api', 'db']) {
      const cells = await row(page, node);
      expect(cells[0]).toBe(node);
      expect(cells[1]).toBe('service');
      expect(cells[2]).toBe('1');
      const util = Number(/^(\d+(?:\.\d+)?) %$/.exec(cells[3])?.[1]);
      expect(util, `${node} utilisation ${cells[3]}`).toBeGreaterThan(1);
      expect(util).toBeLessThanOrEqual(100);
      expect(cells[4]).toMatch(/^\d/);
      expect(cells[5]).toMatch(/^\d/);
    }
    // The dashboard's saturation chart names its busiest node, one of the two.
    await expect(page.getByTestId('chart-utilisation')).toHaveAttribute(
      'aria-label',
      /^Saturation: utilisation per node: top node (api|db): \d+% busy in the latest window$/,
    );
    // No Erlang C card for a chain: the latency chart is on the dashboard.
    await expect(page.locator('#chart-latency-theory')).toHaveCount(0);
    await expect(page.getByTestId('chart-latency')).toHaveCount(1);
    await page.locator('#play').click();
    await expect(page.locator('#play')).toContainText('Play');
    await page.screenshot({ path: artifact('scenario-chain.png') });

    // Crash the db for 10 simulated seconds: api's calls fail, clients see errors.
    await page.locator('#speed').selectOption('5');
    await page.locator('#play').click();
    const before = await count(page, 'failed');
    await page.locator('#fault-target').selectOption('db');
    await expect(page.locator('#fault-flush')).toHaveCount(0); // no cache in this topology
    await page.locator('#fault-crash').click();
    await expect(page.locator('#inline-error')).toHaveCount(0);
    // Faults report in the note line.
    await expect(page.locator('#note')).toContainText('Crash 10 s on db at t = ');
    await expect
      .poll(async () => (await count(page, 'failed')) > before || (await row(page, 'db'))[2].includes('down'), {
        timeout: 10_000,
      })
      .toBe(true);
    await expect.poll(() => count(page, 'failed'), { timeout: 10_000 }).toBeGreaterThan(before);
    await page.screenshot({ path: artifact('scenario-chain-crash.png') });
    expect(errors, errors.join('\n')).toEqual([]);
  });

  test('a catalogue scenario (CACHE-NONE) runs without page errors; faults act on it', async ({ page }) => {
    const errors = await open(page);
    await pick(page, 'catalogue/CACHE-NONE.toml');
    // No theory for this topology: no empty theory card either.
    await expect(page.locator('#p99-theory')).toHaveCount(0);
    await page.locator('#speed').selectOption('max');
    await expect.poll(() => seconds(page, 'sim-time'), { timeout: 15_000 }).toBeGreaterThan(20);
    const names = await page.locator('#nodes tbody tr').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-node')));
    expect(names).toEqual(['api', 'cache', 'db']);
    expect((await row(page, 'cache'))[6]).toMatch(/^hit rate \d/);
    expect((await row(page, 'db'))[3]).toMatch(/^\d+(\.\d+)? %$/);
    // Flush only for caches.
    await page.locator('#fault-target').selectOption('api');
    await expect(page.locator('#fault-flush')).toBeDisabled();
    await page.locator('#fault-target').selectOption('cache');
    await expect(page.locator('#fault-flush')).toBeEnabled();
    await page.locator('#fault-flush').click();
    await expect(page.locator('#note')).toContainText(/ on cache at t = \d/);
    await page.locator('#fault-target').selectOption('db');
    await page.locator('#fault-slow').click();
    await expect(page.locator('#note')).toContainText(/ on db at t = \d/);
    await expect(page.locator('#inline-error')).toHaveCount(0);
    await page.waitForTimeout(1_000);
    await page.locator('#play').click();
    await expect(page.locator('#play')).toContainText('Play');
    await page.screenshot({ path: artifact('scenario-catalogue.png') });
    expect(errors, errors.join('\n')).toEqual([]);
  });

  test('every catalogue scenario starts without page errors', async ({ page }) => {
    test.setTimeout(120_000);
    const errors = await open(page);
    await page.locator('#speed').selectOption('max');
    for (const f of tomls(join(SCENARIOS, 'catalogue'))) {
      const id = `catalogue/${f}`;
      await page.locator('#scenario').selectOption(id);
      await expect(page.locator('#scenario')).toHaveValue(id);
      await expect(page.locator('#scenario-error')).toHaveCount(0);
      await expect.poll(() => seconds(page, 'sim-time'), { timeout: 10_000, message: id }).toBeGreaterThan(1);
      await expect(page.locator('#nodes tbody tr').first()).toBeVisible();
    }
    // back to the default: the M/M/c theory returns
    await page.locator('#scenario').selectOption('mmc.toml');
    await expect(page.locator('#p99-theory')).toHaveText(/\d s$/);
    expect(errors, errors.join('\n')).toEqual([]);
  });
});
