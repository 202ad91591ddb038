// Page benchmark (not a test): how the live page behaves while the engine
// runs in its web worker. Loads the served release build (BASE_URL) in
// headless Chromium, picks a scenario (default case-study-checkout.toml),
// and measures
//   1. at speed "max" for RUN_S wall seconds (default 10):
//      - main-thread frame times: requestAnimationFrame deltas recorded in
//        the page (p50/p95/p99/max ms; a long frame = a janky page), and
//        the main thread's long tasks (> 50 ms: count, total ms);
//      - simulated requests per wall second: every node's requests
//        (#req-rate's data-total: end-to-end arrivals plus downstream calls)
//        and end-to-end arrivals and completions (#arrived, #completed) over
//        the wall time, plus the median of the page's own #req-rate read-out;
//      - simulated seconds per wall second (#sim-time progress);
//      - the worker's compute time per frame (#engine-where);
//   2. at speed 1× for SLOW_S wall seconds (default 5): frame times again
//      (real-time animation) and the sim/wall ratio (should be ~1).
// Prints progress on stderr and one JSON line on stdout.
//
//   BASE_URL=http://127.0.0.1:PORT node bench_page.mjs
//   (optional: SCENARIO_ID=chain.toml RUN_S=10 SLOW_S=5 CHROMIUM_PATH=...)

import { launchBrowser } from './chromium.mjs';

const baseUrl = process.env.BASE_URL;
const scenarioId = process.env.SCENARIO_ID ?? 'case-study-checkout.toml';
const runS = Number(process.env.RUN_S ?? '10');
const slowS = Number(process.env.SLOW_S ?? '5');
if (!baseUrl) {
  console.error('bench_page.mjs: set BASE_URL');
  process.exit(2);
}

const browser = await launchBrowser();

/** Percentile (nearest rank) of a sorted array. */
function pct(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
const round = (x, d = 2) => (x === null || !Number.isFinite(x) ? null : Number(x.toFixed(d)));

/** Starts (or restarts) recording requestAnimationFrame timestamps in the page. */
async function startFrames(page) {
  await page.evaluate(() => {
    const w = window;
    w.__benchFrames = [];
    w.__benchGen = (w.__benchGen ?? 0) + 1;
    const gen = w.__benchGen;
    const tick = (ts) => {
      if (w.__benchGen !== gen) return;
      w.__benchFrames.push(ts);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    // Long tasks (> 50 ms) on the main thread, where supported.
    w.__benchLong = [];
    w.__benchObserver?.disconnect();
    try {
      w.__benchObserver = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__benchLong.push(e.duration);
      });
      w.__benchObserver.observe({ type: 'longtask' });
    } catch {
      w.__benchObserver = undefined;
    }
  });
}

/** Frame-time statistics of the frames recorded since `startFrames`. */
async function frameStats(page) {
  const [ts, long] = await page.evaluate(() => [window.__benchFrames.slice(), window.__benchLong.slice()]);
  const d = [];
  for (let i = 1; i < ts.length; i++) d.push(ts[i] - ts[i - 1]);
  d.sort((a, b) => a - b);
  return {
    frames: ts.length,
    fps: ts.length > 1 ? round((1000 * (ts.length - 1)) / (ts[ts.length - 1] - ts[0]), 1) : null,
    p50_ms: round(pct(d, 50)),
    p95_ms: round(pct(d, 95)),
    p99_ms: round(pct(d, 99)),
    max_ms: round(d.length ? d[d.length - 1] : null),
    over_50ms: d.filter((x) => x > 50).length,
    long_tasks: long.length,
    long_task_ms: round(long.reduce((a, b) => a + b, 0), 0),
  };
}

/** One reading of the page's clock and counters. */
async function sample(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id)?.textContent ?? '';
    const num = (id) => Number(text(id).replace(/\D/g, '') || 'NaN');
    const t = /^(\d+(?:\.\d+)?) s$/.exec(text('sim-time').trim());
    const engine = /([\d.]+) ms per frame/.exec(text('engine-where'));
    return {
      wall_ms: performance.now(),
      sim_s: t ? Number(t[1]) : NaN,
      arrived: num('arrived'),
      completed: num('completed'),
      events: num('events'),
      req_rate: num('req-rate'),
      requests: Number(document.getElementById('req-rate')?.dataset.total ?? 'NaN'),
      compute_ms: engine ? Number(engine[1]) : NaN,
      where: text('engine-where'),
    };
  });
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : null;
};

/** Runs for `seconds` of wall time, sampling every 250 ms. */
async function measure(page, seconds) {
  await startFrames(page);
  const samples = [await sample(page)];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    await page.waitForTimeout(250);
    samples.push(await sample(page));
  }
  const frames = await frameStats(page);
  const a = samples[0];
  const b = samples[samples.length - 1];
  const wall = (b.wall_ms - a.wall_ms) / 1000;
  return {
    wall_s: round(wall, 3),
    frames,
    sim_s: round(b.sim_s - a.sim_s, 1),
    sim_s_per_wall_s: round((b.sim_s - a.sim_s) / wall, 2),
    arrivals_per_wall_s: round((b.arrived - a.arrived) / wall, 0),
    completions_per_wall_s: round((b.completed - a.completed) / wall, 0),
    events_per_wall_s: round((b.events - a.events) / wall, 0),
    // every node's requests (end-to-end arrivals + downstream calls)
    requests_per_wall_s: round((b.requests - a.requests) / wall, 0),
    req_rate_median: median(samples.slice(1).map((s) => s.req_rate)),
    compute_ms_median: median(samples.slice(1).map((s) => s.compute_ms)),
    engine: b.where,
  };
}

let code = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(baseUrl + '/');
  await page.locator('#sim-time').waitFor({ timeout: 60_000 });
  await page.locator('#scenario').selectOption(scenarioId);
  if ((await page.locator('#scenario').inputValue()) !== scenarioId) {
    throw new Error(`scenario ${scenarioId} is not in the picker`);
  }
  await page.locator('#speed').selectOption('max');
  if ((await page.locator('#play').getAttribute('aria-pressed')) !== 'true') {
    await page.locator('#play').click();
  }
  await page.waitForTimeout(500); // let the worker get going
  console.error(`bench_page.mjs: ${scenarioId} at max speed for ${runS} s…`);
  const max = await measure(page, runS);
  console.error(
    `bench_page.mjs: max: ${max.sim_s_per_wall_s} sim s/wall s, ${max.arrivals_per_wall_s} arrivals/wall s,` +
      ` frames p50 ${max.frames.p50_ms} ms p99 ${max.frames.p99_ms} ms max ${max.frames.max_ms} ms`,
  );

  await page.locator('#speed').selectOption('1');
  await page.waitForTimeout(500);
  console.error(`bench_page.mjs: ${scenarioId} at 1× for ${slowS} s…`);
  const x1 = await measure(page, slowS);
  console.error(
    `bench_page.mjs: 1×: ${x1.sim_s_per_wall_s} sim s/wall s,` +
      ` frames p50 ${x1.frames.p50_ms} ms p99 ${x1.frames.p99_ms} ms max ${x1.frames.max_ms} ms`,
  );
  if (errors.length) console.error(`bench_page.mjs: page errors: ${errors.join(' | ')}`);
  console.log(
    JSON.stringify({
      scenario: scenarioId,
      max_speed: max,
      speed_1x: x1,
      page_errors: errors.length,
    }),
  );
  if (errors.length) code = 1;
} catch (e) {
  console.error(`bench_page.mjs: ${e?.stack ?? e}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
