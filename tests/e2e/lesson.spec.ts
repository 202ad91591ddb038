// A guided lesson, end to end on the release build (BASE_URL): the lesson
// browser filters and opens DATA-N+1; the run is locked until the reader
// guesses; a guess that is not a number is refused with a message; a good
// one runs the lesson (switched to max speed) to its end and reveals the guess next to
// the simulated answer, with the article's claims judged on the page's own
// runs. Then the mistake toggled back on in lane B (the fix) makes B's p99
// climb towards A's. A `?lesson=` deep link opens the same lesson.
import { expect, test, type Page } from '@playwright/test';
import { artifact } from './artifacts';
import { openApp, parseSeconds, seconds } from './helpers';

const LESSON = 'DATA-N+1';

/** p99 of lane A and B in the difference panel, in seconds. */
async function abP99(page: Page): Promise<{ a: number; b: number }> {
  const row = page.locator('#ab-p99');
  return {
    a: parseSeconds(await row.locator('td.a').textContent()),
    b: parseSeconds(await row.locator('td.b').textContent()),
  };
}

/** Checks the lesson panel shows DATA-N+1 in its "predict first" state. */
async function expectPredictState(page: Page) {
  const panel = page.getByTestId('lesson-panel');
  await expect(panel).toBeVisible();
  await expect(panel.locator('#lesson-title')).toHaveText('N+1 queries');
  await expect(panel).toContainText(`Data layer (section 2) · ${LESSON}`);
  await expect(page.getByTestId('predict-input')).toBeVisible();
  await expect(page.locator('#mode-lesson')).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('#scenario')).toHaveValue(`catalogue/${LESSON}.toml`);
  // three claims, none judged before the run
  for (let i = 0; i < 3; i++) {
    await expect(page.getByTestId(`claim-${i}`)).toHaveAttribute('data-status', 'pending');
  }
  await expect(page.getByTestId('claim-3')).toHaveCount(0);
}

test.describe('lessons', () => {
  test('DATA-N+1: browse, predict, run, reveal, judge the claims, toggle B', async ({ page }) => {
    test.setTimeout(120_000);
    const errors = await openApp(page);

    // The lesson browser: filter down to the N+1 lesson.
    await page.locator('#lessons-open').click();
    const dialog = page.locator('#lesson-dialog');
    await expect(dialog).toBeVisible();
    await expect(dialog).toHaveAttribute('role', 'dialog');
    const total = Number(/^(\d+) lessons$/.exec((await dialog.locator('#lesson-count').textContent()) ?? '')?.[1]);
    expect(total).toBeGreaterThan(10);
    await expect(dialog.getByTestId('lesson-CACHE-NONE')).toBeVisible();
    await dialog.getByTestId('lesson-filter').fill('N+1');
    await expect(dialog.locator('#lesson-count')).toHaveText(new RegExp(`^[1-9]\\d* of ${total} lessons match$`));
    await expect(dialog.getByTestId(`lesson-${LESSON}`)).toBeVisible();
    await expect(dialog.getByTestId('lesson-CACHE-NONE')).toHaveCount(0);
    await page.screenshot({ path: artifact('lesson-browser.png') });
    await dialog.getByTestId(`lesson-${LESSON}`).click();
    await expect(dialog).toHaveCount(0);
    await expectPredictState(page);
    await expect(page.locator('#sim-time')).toHaveText('0.0 s');

    // Locked until a guess: Play refuses with a message, the clock stays at 0.
    await page.locator('#play').click();
    await expect(page.locator('#inline-error')).toContainText('Make your prediction first');
    await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'false');
    await page.locator('h1').click();
    await page.keyboard.press('Space');
    await page.waitForTimeout(1_000);
    await expect(page.locator('#sim-time')).toHaveText('0.0 s');
    await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'false');
    await page.screenshot({ path: artifact('lesson-predict.png') });

    // A guess that is not a number: refused, nothing runs.
    await page.getByTestId('predict-input').fill('about forty');
    await page.getByTestId('predict-submit').click();
    await expect(page.getByTestId('predict-error')).toContainText('is not a number');
    await expect(page.getByTestId('predict-input')).toHaveAttribute('aria-invalid', 'true');
    await page.waitForTimeout(500);
    await expect(page.locator('#sim-time')).toHaveText('0.0 s');
    await page.screenshot({ path: artifact('lesson-bad-guess.png') });

    // A good guess (Enter submits) unlocks the run, at a speed a student
    // can watch (the 120 s lesson in about a minute: 2×); this test then
    // picks max speed, as an impatient student would.
    await page.getByTestId('predict-input').fill('85');
    await expect(page.getByTestId('predict-error')).toHaveCount(0);
    await page.getByTestId('predict-input').press('Enter');
    await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'true');
    await expect(page.locator('#speed')).toHaveValue('2');
    await page.locator('#speed').selectOption('max');
    await expect(page.locator('#speed')).toHaveValue('max');
    await expect(page.locator('#inline-error')).toHaveCount(0);

    // The lesson runs to its end (120 simulated seconds) and reveals.
    const result = page.getByTestId('predict-result');
    await expect(result).toBeVisible({ timeout: 60_000 });
    await expect(result.getByTestId('predict-guess')).toHaveText('85 ms');
    const answerText = (await result.getByTestId('predict-answer').textContent()) ?? '';
    const answer = Number(/^(\d+(?:\.\d+)?) ms$/.exec(answerText)?.[1]);
    // 1 + N round trips of ~1 ms (two 0.5 ms hops) plus queueing: tens of ms,
    // far from the fix's few ms.
    expect(answer, answerText).toBeGreaterThan(20);
    expect(answer, answerText).toBeLessThan(1_000);
    await expect(result.getByTestId('predict-verdict')).toHaveAttribute(
      'data-verdict',
      /^(spot-on|close|ballpark|too-low|too-high)$/,
    );
    await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'false');
    expect(await seconds(page, '#sim-time')).toBeGreaterThanOrEqual(120);
    // The lesson is 120 simulated seconds (duration_s of the scenario): the
    // run stops there, so the answer is the same on every machine and run
    // (a max-speed frame must not carry it past the end).
    expect.soft(await page.locator('#sim-time').textContent(), 'the lesson run should stop at its 120 s').toBe('120.0 s');

    // The claims are judged on these runs (A = N+1, B = the JOIN).
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await page.getByTestId(`claim-${i}`).getAttribute('data-status')) ?? '');
    }
    expect(statuses.every((s) => s === 'holds' || s === 'fails'), statuses.join(', ')).toBe(true);
    // ~21 queries per request instead of 2: this one cannot fail to hold.
    expect(statuses[0]).toBe('holds');
    await page.getByTestId('lesson-panel').scrollIntoViewIfNeeded();
    await page.screenshot({ path: artifact('lesson-result.png') });

    // Reset replays the lesson's run: same seed, same answer, to the digit.
    await page.locator('#reset').click();
    await expect(result).toHaveCount(0);
    await expect(result).toBeVisible({ timeout: 60_000 });
    expect.soft(await result.getByTestId('predict-answer').textContent(), 'the replayed answer').toBe(answerText);

    // Both lanes ran: A (the mistake) has the far higher p99.
    await expect(page.locator('#ab-panel')).toBeVisible();
    const before = await abP99(page);
    expect(before.a, JSON.stringify(before)).toBeGreaterThan(3 * before.b);

    // The toggle panel drives lane B in a lesson. B runs the fix: put the
    // mistake back, run on, and B's p99 climbs towards A's.
    await expect(page.locator('#toggles')).toContainText('(applies to B)');
    // The switch is on while the mistake its label names is in.
    const toggle = page.getByTestId(`toggle-${LESSON}`);
    await expect(toggle).not.toBeChecked();
    const state = page.locator('#toggles .toggle-state').first();
    await expect(state).toHaveText('✓ fixed');
    await toggle.check();
    await expect(toggle).toBeChecked();
    await expect(state).toHaveText('✗ mistake');
    await expect(page.locator('#note')).toContainText('mistake on');
    await page.locator('#play').click();
    await expect(page.locator('#play')).toHaveAttribute('aria-pressed', 'true');
    await expect
      .poll(async () => (await abP99(page)).b, {
        timeout: 30_000,
        message: `B's p99 should rise well above the fix's ${before.b} s`,
      })
      .toBeGreaterThan(3 * before.b);
    await page.locator('#play').click();
    await page.locator('#ab-panel').scrollIntoViewIfNeeded();
    await page.screenshot({ path: artifact('lesson-toggled.png') });

    // Closing the lesson goes back to the sandbox.
    await page.getByTestId('lesson-close').click();
    await expect(page.getByTestId('lesson-panel')).toHaveCount(0);
    await expect(page.locator('#mode-sandbox')).toHaveAttribute('aria-selected', 'true');
    await expect(page.locator('#ab-panel')).toHaveCount(0);
    expect(errors, errors.join('\n')).toEqual([]);
  });

  test('?lesson=DATA-N%2B1 opens the lesson, waiting for a guess', async ({ page }) => {
    const errors = await openApp(page, `/?lesson=${encodeURIComponent(LESSON)}`);
    await expectPredictState(page);
    await page.waitForTimeout(1_000);
    await expect(page.locator('#sim-time')).toHaveText('0.0 s');
    await page.screenshot({ path: artifact('lesson-deeplink.png') });
    expect(errors, errors.join('\n')).toEqual([]);
  });
});
