// Classroom workshops, end to end.
//
// 1. Without a server (the static site, BASE_URL): the presenter view steps
//    through the three-lesson pack `first-hour` (buttons, keys, notes) and
//    says a live class needs the classroom server.
// 2. With the classroom server (CLASSROOM_URL, started by `cargo xtask
//    test`): one teacher and 30 students, each in a browser context of its
//    own, go through the same pack: join with the code, predict, the
//    distribution fills in on the teacher's screen, reveal beside the
//    simulated answer, next lesson; on the last one the lesson runs for
//    all, and the answers export as CSV. A nickname with a script in it is
//    refused and runs nothing.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { artifact } from './artifacts';
import { watchErrors } from './helpers';

const CLASSROOM = process.env.CLASSROOM_URL ?? process.env.BASE_URL ?? 'http://127.0.0.1:8080';
const STUDENTS = 30;
const LESSONS = ['N+1 queries', 'An exhausted connection pool', 'A cache stampede after a flush'];

/** The sum of the bars' counts of the histogram in `page`. */
async function barTotal(page: Page): Promise<number> {
  const counts = await page
    .locator('[data-testid=class-histogram] [data-count]')
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-count'))));
  return counts.reduce((a, b) => a + b, 0);
}

test('the presenter view steps through a pack without a server', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/?workshop=first-hour');
  await expect(page.getByTestId('deck-title')).toHaveText(/first hour/);
  await expect(page.getByTestId('deck-progress')).toHaveText('Lesson 1 of 3');
  await expect(page.getByTestId('slide-question')).toContainText('p99');
  await expect(page.getByTestId('teacher-notes')).toContainText('ORM loop');
  await expect(page.getByTestId('deck-prev')).toBeDisabled();
  await page.getByTestId('deck-next').click();
  await expect(page.getByTestId('deck-progress')).toHaveText('Lesson 2 of 3');
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('deck-progress')).toHaveText('Lesson 3 of 3');
  await expect(page.getByTestId('deck-next')).toBeDisabled();
  await page.keyboard.press('PageUp');
  await expect(page.getByTestId('deck-progress')).toHaveText('Lesson 2 of 3');
  // N hides the notes before projecting, and shows them again
  await page.keyboard.press('n');
  await expect(page.getByTestId('teacher-notes')).toHaveCount(0);
  await page.getByTestId('toggle-notes').click();
  await expect(page.getByTestId('teacher-notes')).toBeVisible();
  // The lesson runs here, in the sandbox's lesson view.
  await page.getByTestId('run-local').click();
  await expect(page.getByTestId('presenter-run')).toHaveAttribute('src', '?lesson=CONC-POOL-EXHAUSTION');
  await expect(page.frameLocator('[data-testid=presenter-run]').getByTestId('lesson-panel')).toBeVisible({
    timeout: 30_000,
  });
  // No classroom server on a static host: the page says what to start.
  await page.getByTestId('live-start').click();
  await expect(page.getByTestId('live-note')).toContainText('cargo xtask serve --classroom');
  // A pack that names a lesson that does not exist: the error names the entry.
  await page.goto('/?workshop=nope');
  await expect(page.getByTestId('pack-picker')).toBeVisible();
  await expect(page.getByTestId('pack-error')).toContainText('first-hour');
  expect(errors).toEqual([]);
});

/** A student's browser context: joins with a nickname, returns the page. */
async function join(browser: Browser, joinUrl: string, nickname: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  page.on('dialog', (d) => {
    throw new Error(`a dialog opened on ${nickname}'s page: ${d.message()}`);
  });
  await page.goto(joinUrl);
  await page.getByTestId('join-nickname').fill(nickname);
  await page.getByTestId('join-submit').click();
  await expect(page.getByTestId('student-nickname')).toHaveText(nickname, { timeout: 60_000 });
  return page;
}

test('a teacher and 30 students go through a three-lesson workshop', async ({ browser }) => {
  test.setTimeout(900_000);
  const started = Date.now();
  const tctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const teacher = await tctx.newPage();
  const teacherErrors = watchErrors(teacher);
  await teacher.goto(`${CLASSROOM}/?workshop=first-hour`);
  await teacher.getByTestId('live-start').click();
  await expect(teacher.getByTestId('live-status')).toContainText('Live', { timeout: 30_000 });
  const code = (await teacher.getByTestId('join-code-big').textContent())!.trim();
  expect(code).toMatch(/^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
  await expect(teacher.getByTestId('join-qr')).toBeVisible();
  const joinUrl = (await teacher.getByTestId('join-url').textContent())!.trim();
  expect(joinUrl).toContain(`?join=${code.replace('-', '')}`);

  // 30 students join, a few at a time (this machine has two cores).
  const students: Page[] = [];
  for (let i = 0; i < STUDENTS; i += 6) {
    const batch = [];
    for (let j = i; j < Math.min(i + 6, STUDENTS); j++) batch.push(join(browser, joinUrl, `Student ${j + 1}`));
    students.push(...(await Promise.all(batch)));
  }
  await expect(teacher.getByTestId('joined-count')).toHaveText(`${STUDENTS} joined`);
  console.log(`classroom e2e: ${STUDENTS} students joined after ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // Hostile nicknames are refused on the page and run nothing.
  const evil = await (await browser.newContext()).newPage();
  await evil.goto(joinUrl);
  await evil.getByTestId('join-nickname').fill('<img src=x onerror=alert(1)>');
  await evil.getByTestId('join-submit').click();
  await expect(evil.getByTestId('join-error')).toContainText('no markup');
  await evil.getByTestId('join-nickname').fill('student 1');
  await evil.getByTestId('join-submit').click();
  await expect(evil.getByTestId('join-error')).toContainText('taken');
  await evil.context().close();

  for (let lesson = 0; lesson < 3; lesson++) {
    await expect(teacher.getByTestId('deck-progress')).toHaveText(`Lesson ${lesson + 1} of 3`);
    await teacher.getByTestId('ask').click();
    // Every student sees the question and commits: student k guesses k.
    await Promise.all(
      students.map(async (s, k) => {
        await expect(s.getByTestId('student-question')).toContainText(`Lesson ${lesson + 1} of 3`, { timeout: 30_000 });
        await expect(s.getByTestId('student-question')).toContainText(LESSONS[lesson]);
        await s.getByTestId('student-input').fill(String(k + 1));
        await s.getByTestId('student-submit').click();
        await expect(s.getByTestId('student-mine')).toContainText(`${k + 1}`);
      }),
    );
    // The teacher's screen: the count who answered and the distribution.
    await expect(teacher.getByTestId('answered-count')).toHaveText(String(STUDENTS), { timeout: 30_000 });
    await expect(teacher.getByTestId('class-histogram')).toHaveAttribute('data-total', String(STUDENTS));
    await expect.poll(() => barTotal(teacher)).toBe(STUDENTS);
    // guesses 1..30: the median is (15 + 16) / 2
    await expect(teacher.getByTestId('hist-summary')).toContainText('30 of 30 answered; median guess 15.5');
    await expect(teacher.getByTestId('answer-ready')).toBeVisible({ timeout: 120_000 });
    if (lesson === 0) await teacher.screenshot({ path: artifact('classroom-teacher-distribution.png') });
    await teacher.getByTestId('reveal').click();
    await expect(teacher.getByTestId('class-answer')).toContainText('Simulated answer');
    await expect(teacher.locator('[data-testid=class-histogram] [data-answer=true]')).toHaveCount(1);
    // Every student sees the answer beside the class's distribution, their own guess marked.
    await Promise.all(
      students.map(async (s) => {
        await expect(s.getByTestId('student-answer')).toContainText('Simulated answer', { timeout: 30_000 });
        await expect(s.getByTestId('class-histogram')).toHaveAttribute('data-total', String(STUDENTS));
        await expect(s.locator('[data-testid=class-histogram] [data-mine=true]')).toHaveCount(1);
        await expect(s.getByTestId('student-verdict')).toHaveAttribute('data-verdict', /.+/);
      }),
    );
    if (lesson === 0) await students[0].screenshot({ path: artifact('classroom-student-reveal.png') });
    if (lesson < 2) await teacher.getByTestId('deck-next').click();
  }

  // Run the last lesson for all: every page opens it in the simulator.
  await teacher.getByTestId('run-all').click();
  await expect(teacher.getByTestId('presenter-run')).toHaveAttribute('src', '?lesson=CACHE-STAMPEDE');
  await Promise.all(
    students.map((s) =>
      expect(s.getByTestId('student-run')).toHaveAttribute('src', '?lesson=CACHE-STAMPEDE&embed', { timeout: 30_000 }),
    ),
  );
  // The projector shows it running (31 simulations at once would only
  // measure this two-core machine: the students' frames are checked by
  // their address, the sandbox in a frame by the teacher's).
  await expect(teacher.frameLocator('[data-testid=presenter-run]').getByTestId('lesson-panel')).toBeVisible({
    timeout: 90_000,
  });
  await teacher.getByTestId('stop-run').click();
  await Promise.all(students.map((s) => expect(s.getByTestId('student-run')).toHaveCount(0, { timeout: 30_000 })));

  // The answers, for the teacher's records: one row per student per lesson.
  const [download] = await Promise.all([teacher.waitForEvent('download'), teacher.getByTestId('export-csv').click()]);
  const csv = readFileSync((await download.path())!, 'utf8').trim().split(/\r?\n/);
  expect(csv[0]).toMatch(/^question,lesson_index,lesson_id/);
  expect(csv.length).toBe(1 + 3 * STUDENTS);
  expect(csv.filter((l) => l.includes('"Student 7",7,')).length).toBe(3);

  // The roster shows names only when asked (a projector is public).
  await expect(teacher.getByTestId('roster-entry')).toHaveCount(0);
  await teacher.getByTestId('roster-toggle').click();
  await expect(teacher.getByTestId('roster-entry')).toHaveCount(STUDENTS);
  expect(teacherErrors).toEqual([]);
  console.log(`classroom e2e: the workshop took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const s of students) await s.context().close();
  await tctx.close();
});
