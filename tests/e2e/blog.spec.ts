// Blog posts with the light embed (`<tailsim-embed>`, embed/), made by the
// Share dialog's snippet, end to end on the release build (BASE_URL): the
// embed on screen plays, one further down waits until it is scrolled into
// view (and the first then pauses), one plays at a time, each takes its
// content's height (an element, no iframe), shows its title and links back
// to the same state; a lesson asks its question first and answers it with
// the simulation's number; reduced motion never autoplays; a dark page
// gets a dark embed; a broken link says what is wrong.
import { expect, test, type Locator, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { artifact } from './artifacts';
import { canvasInk, LATENCY_SERIES, openApp, pick, watchErrors } from './helpers';

test.use({ viewport: { width: 900, height: 800 } });

/** The Share dialog's light snippet for a shipped scenario, or for a lesson. */
async function snippet(page: Page, what: { scenario?: string; lesson?: string }): Promise<string> {
  if (what.scenario) await pick(page, what.scenario);
  if (what.lesson) {
    await page.goto(`/?lesson=${encodeURIComponent(what.lesson)}`);
    await expect(page.getByTestId('lesson-panel')).toBeVisible({ timeout: 30_000 });
  }
  await page.locator('#share-open').click();
  const s = await page.locator('#embed-snippet').inputValue();
  await page.locator('#dialog-close').click();
  return s;
}

/** The blog: another origin than the sandbox's, as a real post is (the
 * embed's script and wasm come from the sandbox across origins): the same
 * server under its other loopback name. (Chromium asks before a page it
 * cannot place, here one the test serves, reaches loopback, the local
 * network access permission, which a real blog reaching a real host never
 * needs; the test grants it.) */
function blogOrigin(): string {
  const site = new URL(process.env.BASE_URL ?? 'http://127.0.0.1:8080');
  site.hostname = site.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
  return site.origin;
}
const BLOG = blogOrigin();

/** A post with `body` between paragraphs, served from the blog's address. */
async function post(page: Page, name: string, body: string) {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A post</title></head>
    <body style="margin:0;font:18px serif"><main><article style="max-width:720px;margin:0 auto;padding:16px">
      <h1>Why my API fell over</h1>${body}<p>The end.</p></article></main></body></html>`;
  await page.context().grantPermissions(['local-network-access']);
  await page.route(`${BLOG}/${name}`, (r) => r.fulfill({ contentType: 'text/html', body: html }));
  await page.goto(`${BLOG}/${name}`);
}

/** Scrolls with the mouse wheel, in steps (as a reader does), until `pred`. */
async function wheelUntil(page: Page, dy: number, pred: () => Promise<boolean>) {
  for (let i = 0; i < 60 && !(await pred()); i++) {
    await page.mouse.wheel(0, dy);
    await page.waitForTimeout(80);
  }
  expect(await pred()).toBe(true);
}

/** Whether any part of `e` is in the viewport. */
const inView = (e: Locator) =>
  e.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight;
  });

const pressed = async (e: Locator) => (await e.locator('#play').getAttribute('aria-pressed')) === 'true';

async function loaded(e: Locator) {
  await expect(e.locator('#embed-title')).not.toHaveText('tailsim', { timeout: 30_000 });
}

test('two embeds in a post: the one on screen plays, the next when scrolled to; each its own height', async ({ page, context }) => {
  test.setTimeout(120_000);
  const maker = await context.newPage();
  await openApp(maker);
  const first = await snippet(maker, { scenario: 'catalogue/DATA-N+1.toml' });
  const second = await snippet(maker, { scenario: 'chain.toml' });
  await maker.close();
  expect(first).toMatch(/^<script type="module" src="[^"]+\/embed\/tailsim-embed\.js"><\/script>\n<tailsim-embed link="#s=1\.[A-Za-z0-9_-]+"><\/tailsim-embed>$/);

  const errors = watchErrors(page);
  await post(page, 'a-blog-post.html', `<p>An N+1 query, live:</p>${first}
    <div style="height:2500px"><p>Much later in the post…</p></div>${second}`);
  const [a, b] = [page.locator('tailsim-embed').nth(0), page.locator('tailsim-embed').nth(1)];
  await loaded(a);
  await expect(a.locator('#play')).toHaveAttribute('aria-pressed', 'true', { timeout: 15_000 });
  // The second (far below) has not started.
  expect(await pressed(b)).toBe(false);
  await expect(b.locator('#sim-time')).toHaveText('0.0 s');
  await expect(a.locator('#embed-title')).toHaveText(/N\+1/);
  // It draws its percentiles.
  await expect
    .poll(async () => (await canvasInk(page, a.locator('canvas'), LATENCY_SERIES)).series, { timeout: 20_000 })
    .toBeGreaterThan(100);
  // Its height is its content's: nothing inside is cut off or scrolls.
  const fit = await a.evaluate((el) => {
    const frame = el.shadowRoot!.querySelector('.frame') as HTMLElement;
    return { host: el.getBoundingClientRect().height, frame: frame.getBoundingClientRect().height };
  });
  expect(Math.abs(fit.host - fit.frame), JSON.stringify(fit)).toBeLessThanOrEqual(1);
  expect(fit.frame).toBeGreaterThan(250);
  await page.screenshot({ path: artifact('blog-two-embeds.png') });

  // Wheel down to the gap between them: the first pauses (off screen),
  // and nothing plays.
  await page.mouse.move(450, 400);
  await wheelUntil(page, 200, async () => !(await inView(a)));
  await expect(a.locator('#play')).toHaveAttribute('aria-pressed', 'false');
  expect(await pressed(b)).toBe(false);
  // On to the second: it loads and plays.
  await wheelUntil(page, 200, () => inView(b));
  await loaded(b);
  await expect(b.locator('#play')).toHaveAttribute('aria-pressed', 'true', { timeout: 15_000 });
  expect(await pressed(a)).toBe(false);
  await expect(b.locator('#embed-title')).not.toHaveText('');
  // Back up to the first: it resumes, the second pauses.
  await wheelUntil(page, -200, () => inView(a));
  await expect(a.locator('#play')).toHaveAttribute('aria-pressed', 'true', { timeout: 15_000 });
  await expect(b.locator('#play')).toHaveAttribute('aria-pressed', 'false');
  // The way back opens the same state in the sandbox (the sandbox's
  // origin, not the blog's).
  const site = /src="([^"]+)\/embed\/tailsim-embed\.js"/.exec(second)![1];
  const href = await b.locator('#open-full').getAttribute('href');
  expect(href).toBe(`${site}/${/link="([^"]+)"/.exec(second)![1]}`);
  const results = await new AxeBuilder({ page }).include('tailsim-embed').analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  expect(errors, errors.join('\n')).toEqual([]);
});

test('two embeds on screen at once: one plays at a time', async ({ page, context }) => {
  test.setTimeout(120_000);
  const maker = await context.newPage();
  await openApp(maker);
  const first = await snippet(maker, { scenario: 'catalogue/DATA-N+1.toml' });
  const second = await snippet(maker, { scenario: 'chain.toml' });
  await maker.close();
  await page.setViewportSize({ width: 1300, height: 900 });
  await post(page, 'side-by-side.html', `<div style="display:flex;gap:8px"><div style="flex:1">${first}</div>
    <div style="flex:1">${second}</div></div>`);
  const [a, b] = [page.locator('tailsim-embed').nth(0), page.locator('tailsim-embed').nth(1)];
  await loaded(a);
  await loaded(b);
  await expect.poll(async () => Number(await pressed(a)) + Number(await pressed(b)), { timeout: 15_000 }).toBe(1);
  await page.waitForTimeout(1_000);
  expect(Number(await pressed(a)) + Number(await pressed(b))).toBe(1);
  // Play on the paused one: it plays, the other pauses.
  const [on, off] = (await pressed(a)) ? [a, b] : [b, a];
  await off.locator('#play').click();
  await expect(off.locator('#play')).toHaveAttribute('aria-pressed', 'true');
  await expect(on.locator('#play')).toHaveAttribute('aria-pressed', 'false');
});

test('a lesson embed asks first, then answers with the simulation and runs the fix', async ({ page, context }) => {
  test.setTimeout(150_000);
  const maker = await context.newPage();
  await openApp(maker);
  const s = await snippet(maker, { lesson: 'DATA-N+1' });
  await maker.close();
  expect(s).toContain('<tailsim-embed lesson="DATA-N+1"></tailsim-embed>');
  const errors = watchErrors(page);
  await page.setViewportSize({ width: 600, height: 700 });
  await post(page, 'lesson-post.html', `<p>Guess first:</p>${s}`);
  const e = page.locator('tailsim-embed');
  await expect(e.locator('#embed-title')).toHaveText('N+1 queries', { timeout: 30_000 });
  await expect(e.locator('#question')).toContainText('p99');
  await expect(e.locator('#unit')).toHaveText('ms');
  // It waits for the guess.
  await page.waitForTimeout(1_000);
  await expect(e.locator('#sim-time')).toHaveText('0.0 s');
  await e.locator('#play').click();
  await expect(e.locator('#result')).toContainText('Make your prediction first');
  expect(await pressed(e)).toBe(false);
  await e.locator('#predict-input').fill('60');
  await e.locator('#predict-submit').click();
  await expect(e.locator('#play')).toHaveAttribute('aria-pressed', 'true');
  // At the end, the simulated answer beside the guess.
  await expect(e.locator('#result')).toContainText('Simulated (the mistake):', { timeout: 90_000 });
  await expect(e.locator('#result')).toContainText('Your guess, 60 ms');
  const answer = Number(/the mistake\): ([\d,.]+) ms/.exec((await e.locator('#result').textContent())!)![1].replace(/,/g, ''));
  expect(answer).toBeGreaterThan(60);
  expect(await e.locator('#open-full').getAttribute('href')).toMatch(/\/\?lesson=DATA-N%2B1$/);
  await page.screenshot({ path: artifact('blog-lesson-embed.png'), fullPage: true });
  // The fix, run next: its answer joins the mistake's, and is lower.
  await e.locator('#flip').click();
  await expect(e.locator('#ghost-key')).toHaveText('· · p99 with the mistake');
  await expect(e.locator('#result')).toContainText('With the fix:', { timeout: 90_000 });
  const fix = Number(/With the fix: ([\d,.]+) ms/.exec((await e.locator('#result').textContent())!)![1].replace(/,/g, ''));
  expect(fix).toBeLessThan(answer / 2);
  expect(errors, errors.join('\n')).toEqual([]);
});

test('reduced motion never autoplays; a dark page gets a dark embed; a broken link says why', async ({ page, context }) => {
  test.setTimeout(90_000);
  const maker = await context.newPage();
  await openApp(maker);
  const s = await snippet(maker, { scenario: 'chain.toml' });
  await maker.close();
  await page.emulateMedia({ reducedMotion: 'reduce', colorScheme: 'dark' });
  await post(page, 'calm.html', `${s}<tailsim-embed link="#s=1.not-a-deflate-stream"></tailsim-embed>`);
  const [a, bad] = [page.locator('tailsim-embed').nth(0), page.locator('tailsim-embed').nth(1)];
  await loaded(a);
  await page.waitForTimeout(1_500);
  expect(await pressed(a)).toBe(false);
  await expect(a.locator('#sim-time')).toHaveText('0.0 s');
  await a.locator('#play').click();
  await expect(a.locator('#play')).toHaveAttribute('aria-pressed', 'true');
  const bg = await a.evaluate((el) => getComputedStyle(el.shadowRoot!.querySelector('.frame')!).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g)!.map(Number);
  expect(r + g + b, bg).toBeLessThan(120);
  await expect(bad.locator('#error')).toContainText('link: ', { timeout: 30_000 });
  await expect(bad.locator('#error')).toContainText('deflate');
  await expect(bad.locator('canvas')).toBeHidden(); // nothing that looks like a run
  await page.screenshot({ path: artifact('blog-dark-reduced.png'), fullPage: true });
});
