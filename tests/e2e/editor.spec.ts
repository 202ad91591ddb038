// The topology editor, end to end on the release build (BASE_URL): starting
// from mmc.toml, add a database from the palette, connect the service to it,
// refuse a bad inspector value (nothing applied), apply a good one, undo and
// redo, and see the run go on with the new node working in the node table.
import { expect, test, type Page } from '@playwright/test';
import { artifact } from './artifacts';
import { openApp, waitSimTime } from './helpers';

/** The node table's cells for `node`. */
async function row(page: Page, node: string): Promise<string[]> {
  return page.locator(`#nodes tr[data-node="${node}"] > *`).allTextContents();
}

/** Utilisation (0..100) in the node table; NaN for "—". */
async function utilisation(page: Page, node: string): Promise<number> {
  const cells = await row(page, node);
  return Number(/^(\d+(?:\.\d+)?) %$/.exec(cells[3] ?? '')?.[1]);
}

test('build a topology from the palette and run it', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = await openApp(page);
  await expect(page.locator('#scenario')).toHaveValue('mmc.toml');
  const panel = page.getByTestId('topology-panel');
  await expect(panel).toBeVisible();
  await expect(page.getByTestId('topology-canvas')).toHaveAttribute('aria-label', /^Topology: 2 nodes, 1 arrows\./);
  await expect(page.locator('#nodes tbody tr')).toHaveCount(1);
  await expect(page.getByTestId('editor-undo')).toBeDisabled();

  // Palette: add a database. It is selected, and the edited scenario runs.
  await page.getByTestId('palette-database').click();
  await expect(page.getByTestId('editor-message')).toContainText('database');
  await expect(page.getByTestId('editor-error')).toHaveCount(0);
  await expect(page.getByTestId('node-select')).toHaveValue('database');
  await expect(page.getByTestId('inspector-node')).toHaveText('database');
  await expect(page.getByTestId('topology-canvas')).toHaveAttribute('aria-label', /^Topology: 3 nodes, 1 arrows\./);
  await expect(page.locator('#note')).toContainText('topology edit');
  await expect(page.locator('#nodes tr[data-node="database"]')).toHaveCount(1);

  // Connect the service to it (keyboard path: node list + "Connect to").
  await page.getByTestId('node-select').selectOption('server');
  await expect(page.getByTestId('inspector-node')).toHaveText('server');
  await page.getByTestId('connect-target').selectOption('database');
  await page.getByTestId('connect-go').click();
  await expect(page.getByTestId('editor-error')).toHaveCount(0);
  await expect(page.getByTestId('topology-canvas')).toHaveAttribute('aria-label', /^Topology: 3 nodes, 2 arrows\./);
  await expect(page.getByTestId('edge-remove-database')).toBeVisible();

  // Inspector: a bad value is refused where it was typed, and nothing applies.
  await page.getByTestId('node-select').selectOption('database');
  await expect(page.getByTestId('inspector-node')).toHaveText('database');
  const cores = page.getByTestId('field-cores');
  await expect(cores).toHaveValue('8');
  const noteBefore = await page.locator('#note').textContent();
  await cores.fill('lots');
  await expect(page.getByTestId('inspector-error')).toBeVisible();
  await expect(page.getByTestId('inspector-error')).toContainText('cores');
  await expect(cores).toHaveAttribute('aria-invalid', 'true');
  await cores.press('Enter');
  await expect(page.getByTestId('inspector-error')).toBeVisible();
  await page.waitForTimeout(500);
  await expect(page.locator('#note')).toHaveText(noteBefore ?? '');
  await page.screenshot({ path: artifact('editor-bad-field.png') });

  // A good value applies: one core makes the database the busy node.
  await cores.fill('1');
  await expect(page.getByTestId('inspector-error')).toHaveCount(0);
  await cores.press('Enter');
  await expect(page.locator('#note')).not.toHaveText(noteBefore ?? '');
  await expect(page.locator('#note')).toContainText('topology edit');
  await expect(cores).toHaveValue('1');

  // Undo puts 8 cores back, redo 1 again.
  await page.getByTestId('editor-undo').click();
  await expect(page.getByTestId('editor-message')).toHaveText('undone');
  await page.getByTestId('node-select').selectOption('database');
  await expect(page.getByTestId('field-cores')).toHaveValue('8');
  await page.getByTestId('editor-redo').click();
  await expect(page.getByTestId('editor-message')).toHaveText('redone');
  await page.getByTestId('node-select').selectOption('database');
  await expect(page.getByTestId('field-cores')).toHaveValue('1');
  await expect(page.getByTestId('editor-redo')).toBeDisabled();

  // The run goes on with the new node doing work.
  await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'true');
  await page.locator('#speed').selectOption('max');
  await waitSimTime(page, 30);
  await expect(page.locator('#nodes tbody tr')).toHaveCount(2);
  const cells = await row(page, 'database');
  expect(cells[0]).toBe('database');
  expect(cells[1]).toBe('database');
  await expect.poll(() => utilisation(page, 'database'), { timeout: 10_000 }).toBeGreaterThan(0);
  expect(await utilisation(page, 'server')).toBeGreaterThan(0);
  await page.locator('#play').click();
  await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'false');
  await panel.scrollIntoViewIfNeeded();
  await page.screenshot({ path: artifact('editor.png'), fullPage: true });
  await panel.screenshot({ path: artifact('editor-panel.png') });
  expect(errors, errors.join('\n')).toEqual([]);
});

test('an emptied inspector field asks for a value; it never deletes the key', async ({ page }) => {
  test.setTimeout(60_000);
  const errors = await openApp(page);
  await page.getByTestId('node-select').selectOption('server');
  const workers = page.getByTestId('field-workers');
  const before = await workers.inputValue();
  expect(before).not.toBe('');
  const noteBefore = await page.locator('#note').allTextContents();
  await workers.fill('');
  await expect(page.getByTestId('inspector-error')).toContainText('empty');
  await workers.press('Enter');
  await expect(page.getByTestId('inspector-error')).toContainText('type a value');
  await page.waitForTimeout(500);
  // Nothing applied: no edit note, and the field is still there with its value in the node.
  expect(await page.locator('#note').allTextContents()).toEqual(noteBefore);
  await expect(page.getByTestId('node-raw')).toHaveValue(new RegExp(`workers = ${before}`));
  expect(errors).toEqual([]);
});

test('a cache connected between a service and its database is cache-aside', async ({ page }) => {
  test.setTimeout(60_000);
  const errors = await openApp(page);
  await page.getByTestId('palette-database').click();
  await page.getByTestId('node-select').selectOption('server');
  await page.getByTestId('connect-target').selectOption('database');
  await page.getByTestId('connect-go').click();
  await expect(page.getByTestId('editor-error')).toHaveCount(0);
  await page.getByTestId('palette-cache').click();
  await page.getByTestId('node-select').selectOption('server');
  await page.getByTestId('connect-target').selectOption('cache');
  await page.getByTestId('connect-go').click();
  await expect(page.getByTestId('editor-error')).toHaveCount(0);
  await expect(page.getByTestId('editor-message')).toContainText('only on a miss');
  // The query now sits in the cache read's miss path.
  await page.getByTestId('node-select').selectOption('server');
  await expect(page.getByTestId('node-raw')).toHaveValue(/on_miss[\s\S]*query/);
  await expect(page.getByTestId('topology-canvas')).toHaveAttribute('aria-label', /^Topology: 4 nodes, 3 arrows\./);
  expect(errors).toEqual([]);
});

/** Each node's centre on the topology canvas, in CSS pixels from the
 * canvas's top left (its `data-nodes`: `name x y` per node). */
async function centres(page: Page): Promise<Record<string, { x: number; y: number }>> {
  const attr = (await page.getByTestId('topology-canvas').getAttribute('data-nodes')) ?? '';
  const out: Record<string, { x: number; y: number }> = {};
  for (const part of attr.split(';').filter(Boolean)) {
    const [name, x, y] = part.split(' ');
    out[name] = { x: Number(x), y: Number(y) };
  }
  return out;
}

test('dragging a node moves it alone, live, and undo puts it back', async ({ page }) => {
  test.setTimeout(60_000);
  const errors = await openApp(page);
  const canvas = page.getByTestId('topology-canvas');
  await expect(canvas).toHaveAttribute('data-nodes', /(^|;)server /);
  const before = await centres(page);
  const others = Object.keys(before).filter((n) => n !== 'server');
  expect(others.length).toBe(1);
  const from = before.server;
  const box = (await canvas.boundingBox())!;

  // Grab the server's box and drag it down and to the right, in steps, as
  // a hand would.
  await page.mouse.move(box.x + from.x, box.y + from.y);
  await page.mouse.down();
  await page.mouse.move(box.x + from.x + 30, box.y + from.y + 20, { steps: 4 });
  await page.mouse.move(box.x + from.x + 60, box.y + from.y + 40, { steps: 4 });
  await page.mouse.up();

  // It lands where it was dropped, it is selected, the run goes on (a move
  // does not restart it), and the other node stays put (moving one node
  // used to re-lay out the rest).
  await expect(page.locator('#note')).toContainText('moved nodes: applied live');
  await expect(page.getByTestId('inspector-node')).toHaveText('server');
  const landed = await centres(page);
  expect(Math.abs(landed.server.x - from.x - 60)).toBeLessThanOrEqual(1.5);
  expect(Math.abs(landed.server.y - from.y - 40)).toBeLessThanOrEqual(1.5);
  for (const n of others) {
    expect(Math.abs(landed[n].x - before[n].x), `${n} moved`).toBeLessThanOrEqual(1);
    expect(Math.abs(landed[n].y - before[n].y), `${n} moved`).toBeLessThanOrEqual(1);
  }
  await canvas.screenshot({ path: artifact('editor-drag.png') });

  // The engine's copy of the scenario comes back (its 460.0 now 460): the
  // panel keeps its undo history and its view. Before the fix it reloaded
  // here: Undo went grey and the view refitted.
  await page.waitForTimeout(1_000);
  await expect(page.getByTestId('editor-undo')).toBeEnabled();
  const settled = await centres(page);
  expect(settled.server).toEqual(landed.server);

  // Undo: back where it started.
  await page.getByTestId('editor-undo').click();
  await expect
    .poll(async () => {
      const c = (await centres(page)).server;
      return Math.max(Math.abs(c.x - from.x), Math.abs(c.y - from.y));
    })
    .toBeLessThanOrEqual(1.5);
  await expect(page.getByTestId('editor-error')).toHaveCount(0);
  expect(errors).toEqual([]);
});
