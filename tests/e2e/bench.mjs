// Wasm throughput benchmark, driven by `cargo xtask bench` (not a test).
//
// Loads the served release build (BASE_URL) in headless Chromium, waits for
// trunk's `window.wasmBindings` to expose the web crate's export
//   bench_run(scenario_toml: string, duration_s: number) -> string (JSON
//   {"events", "arrivals_departures", "wall_s", "events_per_s"} or {"error"}),
// runs it REPEATS times on the scenario file and prints one JSON line with
// the best run. Exit code 3 means the export is missing.
//
// With TURNS=1 it then stays open for turns with the native build: for each
// line `run` on stdin it makes one more run and prints its JSON line; it
// exits at the end of stdin. `cargo xtask bench` alternates these runs with
// native ones, so each pair sees the same spell of this shared machine.
//
// Before the timed runs it warms up, as a live page does in its first
// seconds. V8 runs WebAssembly first on code from its baseline compiler and
// optimises a function that runs hot in the background, for the function's
// next call; the engine's event loop is one call per run. Without a warm-up
// the first runs measured V8's tiering, not the engine: on this machine
// 4 to 7 M events/s, where warmed-up runs give 10 to 11 (and one bench
// printed ten runs all near 6). So: WARMUP_S simulated seconds (default a
// tenth of a run), a pause of one second for the background compile, then
// the runs.
//
//   BASE_URL=http://127.0.0.1:PORT SCENARIO=../../assets/scenarios/mmc.toml \
//   DURATION_S=111111.1 REPEATS=3 node bench.mjs

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { launchBrowser } from './chromium.mjs';

const baseUrl = process.env.BASE_URL;
const scenarioPath = process.env.SCENARIO;
const durationS = Number(process.env.DURATION_S ?? '111111.111');
const repeats = Number(process.env.REPEATS ?? '3');
const warmupS = Number(process.env.WARMUP_S ?? String(durationS / 10));
const turns = process.env.TURNS === '1';
if (!baseUrl || !scenarioPath) {
  console.error('bench.mjs: set BASE_URL and SCENARIO');
  process.exit(2);
}
const scenario = readFileSync(scenarioPath, 'utf8');

const browser = await launchBrowser();
let code = 0;
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(baseUrl + '/');
  try {
    await page.waitForFunction(
      () => typeof window.wasmBindings?.bench_run === 'function',
      null,
      { timeout: 60_000 },
    );
  } catch {
    const keys = await page.evaluate(() => Object.keys(window.wasmBindings ?? {}));
    console.error(
      `bench.mjs: window.wasmBindings.bench_run is missing (exports seen: ${keys.join(', ') || 'none'})` +
        (errors.length ? `; page errors: ${errors.join(' | ')}` : ''),
    );
    code = 3;
  }
  if (code === 0) {
    // One `bench_run` of `d` simulated seconds: its parsed JSON; an error
    // reply is printed as it came and thrown.
    const benchRun = async (d, what) => {
      // The engine's web worker runs it: a promise, which evaluate awaits.
      const raw = await page.evaluate(
        ([toml, d]) => window.wasmBindings.bench_run(toml, d),
        [scenario, d],
      );
      const run = JSON.parse(raw);
      if (run.error !== undefined) {
        console.log(raw);
        throw new Error(`bench_run failed in ${what}: ${run.error}`);
      }
      return run;
    };
    const t0 = Date.now();
    await benchRun(warmupS, 'the warm-up');
    await page.waitForTimeout(1000);
    console.error(
      `bench.mjs: warm-up: ${warmupS} simulated s, then 1 s for the optimising compiler` +
        ` (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    const runs = [];
    for (let i = 0; i < repeats; i++) {
      const run = await benchRun(durationS, `run ${i + 1}`);
      runs.push(run);
      console.error(
        `bench.mjs: run ${i + 1}/${repeats}: ${run.arrivals_departures ?? run.events} arrivals+departures` +
          ` in ${run.wall_s.toFixed(3)} s` +
          ` = ${(run.events_per_s / 1e6).toFixed(2)} M events/s`,
      );
    }
    const best = runs.reduce((a, b) => (b.events_per_s > a.events_per_s ? b : a));
    console.log(JSON.stringify({ ...best, runs }));
    if (turns) {
      let turn = 0;
      for await (const line of createInterface({ input: process.stdin })) {
        if (line.trim() !== 'run') {
          throw new Error(`bench.mjs: expected \`run\` on stdin, got \`${line}\``);
        }
        turn += 1;
        console.log(JSON.stringify(await benchRun(durationS, `turn ${turn}`)));
      }
    }
  }
} finally {
  await browser.close();
}
process.exit(code);
