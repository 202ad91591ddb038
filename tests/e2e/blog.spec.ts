// A blog post with two embeds made by the share dialog's snippet, end to
// end on the release build (BASE_URL): the embed on screen plays, the one
// further down waits until it is scrolled into view (and the first then
// pauses); each iframe takes its content's height (the snippet's script
// listens to the embeds' postMessage); the scenario embed shows its title.
import { expect, test, type Frame, type Page } from '@playwright/test';
import { artifact } from './artifacts';
import { openApp, pick } from './helpers';

test.use({ viewport: { width: 900, height: 800 } });

async function snippet(page: Page, scenario: string): Promise<string> {
  await pick(page, scenario);
  await page.locator('#share-open').click();
  const s = await page.locator('#embed-snippet').inputValue();
  await page.locator('#dialog-close').click();
  return s;
}

async function frameOf(page: Page, i: number): Promise<Frame> {
  const handle = await page.locator('iframe').nth(i).elementHandle();
  const f = await handle!.contentFrame();
  await expect(f!.locator('#sim-time')).toBeVisible({ timeout: 30_000 });
  return f!;
}

test('two embeds in a post: one plays at a time, on screen; each sized to its content', async ({ page, context }) => {
  test.setTimeout(120_000);
  const maker = await context.newPage();
  await openApp(maker);
  const first = await snippet(maker, 'catalogue/DATA-N+1.toml');
  const second = await snippet(maker, 'chain.toml');
  await maker.close();
  expect(first).toContain('<script>');

  const post = `<!doctype html><html><head><meta charset="utf-8"><title>A post</title></head>
    <body style="margin:0;font:18px serif">
    <article style="max-width:720px;margin:0 auto;padding:16px">
      <h1>Why my API fell over</h1><p>An N+1 query, live:</p>
      ${first}
      <div style="height:2500px"><p>Much later in the post…</p></div>
      ${second}
      <p>The end.</p>
    </article></body></html>`;
  // The post is served from the blog's own address (the test's origin).
  await page.route('**/a-blog-post.html', (r) => r.fulfill({ contentType: 'text/html', body: post }));
  await page.goto('/a-blog-post.html');
  const a = await frameOf(page, 0);

  // The first embed is on screen: it plays. The second (lazy, far below)
  // has not started: not loaded yet, or loaded and waiting.
  await expect(a.locator('#play')).toHaveAttribute('aria-pressed', 'true', { timeout: 15_000 });
  const early = await (await page.locator('iframe').nth(1).elementHandle())!.contentFrame();
  if (early && (await early.locator('#play').count()) > 0) {
    await expect(early.locator('#play')).toHaveAttribute('aria-pressed', 'false');
    await expect(early.locator('#sim-time')).toHaveText('0.0 s');
  }
  await expect(a.locator('#embed-title')).not.toHaveText('');

  // Each iframe took its content's height (not the snippet's 480 px).
  await expect
    .poll(async () => page.locator('iframe').first().evaluate((f) => (f as HTMLIFrameElement).style.height))
    .toMatch(/^\d+px$/);
  await expect
    .poll(async () => {
      const h = await page.locator('iframe').first().evaluate((f) => f.getBoundingClientRect().height);
      const content = await a.locator('div.app.embed').evaluate((el) => (el as HTMLElement).offsetHeight);
      return Math.abs(h - content);
    })
    .toBeLessThanOrEqual(2);
  await page.screenshot({ path: artifact('blog-two-embeds.png') });

  // Scroll to the second: it plays, and the first (now off screen) pauses.
  await page.locator('iframe').nth(1).scrollIntoViewIfNeeded();
  const b = await frameOf(page, 1);
  await expect(b.locator('#play')).toHaveAttribute('aria-pressed', 'true', { timeout: 15_000 });
  await expect(a.locator('#play')).toHaveAttribute('aria-pressed', 'false', { timeout: 15_000 });
});

test('two embeds on screen at once: one plays at a time', async ({ page, context }) => {
  test.setTimeout(120_000);
  const maker = await context.newPage();
  await openApp(maker);
  const first = await snippet(maker, 'catalogue/DATA-N+1.toml');
  const second = await snippet(maker, 'chain.toml');
  await maker.close();
  const post = `<!doctype html><html><head><meta charset="utf-8"><title>A post</title></head>
    <body style="margin:0"><div style="display:flex;gap:8px">
      <div style="flex:1">${first.replace('loading="lazy"', '')}</div>
      <div style="flex:1">${second.replace('loading="lazy"', '')}</div>
    </div></body></html>`;
  await page.setViewportSize({ width: 1300, height: 900 });
  await page.route('**/side-by-side.html', (r) => r.fulfill({ contentType: 'text/html', body: post }));
  await page.goto('/side-by-side.html');
  const a = await frameOf(page, 0);
  const b = await frameOf(page, 1);
  const pressed = async (f: Frame) => (await f.locator('#play').getAttribute('aria-pressed')) === 'true';
  // Both start (each is on screen), and the later one pauses the other.
  await expect.poll(async () => Number(await pressed(a)) + Number(await pressed(b)), { timeout: 15_000 }).toBe(1);
  await page.waitForTimeout(1_000);
  expect(Number(await pressed(a)) + Number(await pressed(b))).toBe(1);
  // Play on the paused one: it plays, the other pauses.
  const [on, off] = (await pressed(a)) ? [a, b] : [b, a];
  await off.locator('#play').click();
  await expect(off.locator('#play')).toHaveAttribute('aria-pressed', 'true');
  await expect(on.locator('#play')).toHaveAttribute('aria-pressed', 'false');
});
