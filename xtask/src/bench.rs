//! `cargo xtask bench`: events per second of the engine, natively and in the
//! browser, against SimPy running the same M/M/10 model (in rounds, and by
//! turns with SimPy slices: [`by_turns`]; the browser's runs by turns with
//! native ones too), and beside the floor: the same model hand-written as
//! one Rust loop (`sim_core::reference`, timed by the example `mmc_loop`),
//! which draws the same random numbers and so reports the engine's mean
//! wait exactly.
//!
//! What the other crates must provide (the contract this file relies on):
//! - sim-core, feature `cli`, binary `tailsim`:
//!   `tailsim run assets/scenarios/mmc.toml --duration <seconds> --format json`
//!   prints one JSON document with `wall_s` (float, seconds of wall time),
//!   `events` (engine event count), `end_to_end.arrived` (customers that
//!   arrived) and per-node completions (`nodes[].completed`, or a map of
//!   nodes). An event in the figures below is one arrival or one departure:
//!   `end_to_end.arrived + sum of node completions`.
//! - web: `#[wasm_bindgen] pub fn bench_run(scenario_toml: &str, duration_s: f64) -> String`
//!   returning `{"events":..,"arrivals_departures":..,"wall_s":..,"events_per_s":..}`
//!   (or `{"error":..}`), `arrivals_departures` counted as above and the wall
//!   time taken with `performance.now()`. Trunk exposes it as
//!   `window.wasmBindings.bench_run`; `tests/e2e/bench.mjs` calls it.
//! - `assets/scenarios/mmc.toml`: M/M/10, Poisson arrivals at 9/s, exponential
//!   service with mean 1 s.
//!
//! Then today's engine against the one before its rebuild, by turns on
//! M/M/10 and the multi-tier case study, with instructions per customer
//! (`bench_before`). It ends with the sweep speed-up, `--jobs 2` over
//! `--jobs 1` (`bench_sweep`).
//!
//! No timed assertions: the figures are printed, never checked.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::pgo;
use crate::server::Server;
use crate::setup::{self, CHROMIUM};
use crate::site;
use crate::util::{self, bail, cargo, root, run, Error, Result};

#[derive(Clone, Debug)]
pub struct Options {
    pub customers: u64,
    /// Native and loop runs per round (wasm: as many as native in all).
    pub repeats: u32,
    /// Rounds: `repeats` native runs, then one SimPy run.
    pub rounds: u32,
    pub skip_simpy: bool,
    pub skip_wasm: bool,
    /// Turns of the sweep speed-up (`bench_sweep`); 0 skips it.
    pub sweep_turns: u32,
    /// Only the sweep speed-up.
    pub sweep_only: bool,
    /// Skip the comparison with the engine before its rebuild.
    pub skip_before: bool,
    /// Only that comparison.
    pub before_only: bool,
}

/// Arrival rate of `mmc.toml`, per second.
const ARRIVAL_RATE: f64 = 9.0;

#[derive(Clone, Copy, Debug)]
pub struct Figure {
    pub events: f64,
    pub wall_s: f64,
}

impl Figure {
    pub fn per_s(&self) -> f64 {
        self.events / self.wall_s
    }
}

pub fn scenario() -> PathBuf {
    root().join("assets").join("scenarios").join("mmc.toml")
}

pub fn bench(opts: Options) -> Result {
    setup::setup(setup::Options {
        bench: !opts.skip_simpy && !opts.before_only,
        ..setup::Options::default()
    })?;
    let scenario = scenario();
    if !scenario.is_file() {
        bail!("{} is missing", scenario.display());
    }
    // Simulated time in which `customers` arrive on average.
    let duration_s = opts.customers as f64 / ARRIVAL_RATE;
    println!(
        "bench: M/M/10, {} customers ≈ {duration_s:.1} simulated seconds; {} rounds of \
         {} native runs then one SimPy run (interleaved, so both see the same machine)",
        opts.customers,
        opts.rounds.max(1),
        opts.repeats.max(1)
    );

    let exe = build_native()?;
    if opts.sweep_only {
        return crate::bench_sweep::speedup(&exe, &scenario, opts.sweep_turns);
    }
    let before_turns = opts.repeats.max(1) * opts.rounds.max(1);
    if opts.before_only {
        return crate::bench_before::compare(&exe, opts.customers, before_turns);
    }
    let pgo_exe = match pgo::build() {
        Ok(p) => {
            same_report(&exe, &p, &scenario)?;
            Some(p)
        }
        Err(e) => {
            println!("bench: no PGO build ({e}); timing the plain release build only");
            None
        }
    };
    let floor_exe = build_floor()?;
    let mut natives = Vec::new();
    let mut pgos = Vec::new();
    let mut floors = Vec::new();
    let mut simpys = Vec::new();
    let mut same = true;
    for round in 0..opts.rounds.max(1) {
        let (runs, wait) = native("native", &exe, &scenario, duration_s, opts.repeats, round)?;
        natives.extend(runs);
        if let Some(p) = &pgo_exe {
            let (runs, _) = native("pgo", p, &scenario, duration_s, opts.repeats, round)?;
            pgos.extend(runs);
        }
        let (runs, floor_wait) = floor(&floor_exe, duration_s, opts.repeats, round)?;
        floors.extend(runs);
        same &= wait == floor_wait;
        if !opts.skip_simpy {
            match simpy(opts.customers) {
                Ok(f) => simpys.push(f),
                Err(e) => {
                    println!("bench: SimPy peer failed: {e}");
                    break;
                }
            }
        }
    }
    let native = Stats::of(&natives).expect("at least one native run");
    let pgo = Stats::of(&pgos);
    let floor = Stats::of(&floors).expect("at least one loop run");
    let peer = Stats::of(&simpys);

    // Paired rounds: two builds at once, one per CPU. The bench's other
    // ratios compare runs made seconds apart, and on a shared machine a
    // CPU's speed drifts by tens of per cent over seconds; runs made at the
    // same time see the same spell.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rounds = opts.repeats.max(1) * opts.rounds.max(1);
    let plain = Job::Cli(&exe, &scenario, duration_s);
    let pairs = if cpus < 2 {
        println!("bench: paired rounds skipped: one CPU");
        Vec::new()
    } else {
        let mut pairs = Vec::new();
        if let Some(p) = &pgo_exe {
            let what = "PGO build / plain build, events/s";
            let r = paired(what, plain, Job::Cli(p, &scenario, duration_s), rounds)?;
            pairs.push((what, r));
        }
        let what = "loop / engine (plain build), events/s";
        let r = paired(what, plain, Job::Loop(&floor_exe, duration_s), rounds)?;
        pairs.push((what, r));
        pairs
    };
    // The headline build: PGO as `cargo xtask cli` builds it, else plain.
    let (name, headline) = match &pgo_exe {
        Some(p) => ("PGO build", Job::Cli(p, &scenario, duration_s)),
        None => ("plain build", plain),
    };
    // The same for the SimPy ratio, by turns rather than at once: one run
    // of the engine, then one SimPy slice (a tenth of the customers, about a
    // second), and so on. At once, the two slow each other down (measured
    // on this virtual machine: the engine ran at about two thirds of its
    // speed with SimPy on the other CPU). And a full SimPy run lasts about
    // 14 s, long enough to average over the machine's fast and slow spells,
    // while a 0.15 s engine run sits in one of them. Runs a second apart
    // see the same spell, so each turn compares like with like.
    let turns = if opts.skip_simpy || simpys.is_empty() {
        None
    } else {
        let slice = (opts.customers / 10).max(1000);
        let header = format!(
            "by turns with SimPy: one run of the {name}, then one SimPy slice of {slice} \
             customers, {rounds} times\n  (its events/s over the same turn's SimPy slice's; \
             target >= 100x):"
        );
        match by_turns(
            ("engine", "SimPy"),
            rounds,
            || headline.run(),
            || simpy(slice),
        ) {
            Ok(r) => Some((header, r)),
            Err(e) => {
                println!("bench: the turns with SimPy failed: {e}");
                None
            }
        }
    };

    let (wasm, wasm_turns, page) = if opts.skip_wasm {
        (None, None, None)
    } else {
        // As many wasm runs as native ones: a best-of over fewer runs would
        // be more exposed to a busy spell of this shared machine. Then the
        // wasm/native ratio by turns too, for the same reason as SimPy's,
        // against the plain build: the same compiler settings as the wasm
        // build (PGO has no wasm32 runtime), so the ratio is what running in
        // the browser costs. The table gives it against both builds.
        match wasm(&scenario, duration_s, rounds, ("plain build", plain)) {
            Ok((f, turns, page)) => (Some(f), turns, page),
            Err(e) => {
                println!("bench: wasm run failed: {e}");
                (None, None, None)
            }
        }
    };

    print_table(native, pgo, peer, wasm);
    print_floor(native, floor, peer, same);
    print_pairs(&pairs);
    for (header, r) in turns.iter().chain(&wasm_turns) {
        print_turns(header, r);
    }
    if let Some(p) = page {
        print_page(&p);
    }
    if !opts.skip_before {
        crate::bench_before::compare(&exe, opts.customers, before_turns)?;
    }
    if opts.sweep_turns > 0 {
        crate::bench_sweep::speedup(&exe, &scenario, opts.sweep_turns)?;
    }
    Ok(())
}

/// The live page's figures from `tests/e2e/bench_page.mjs`.
fn print_page(v: &Value) {
    let f = |v: &Value, path: &[&str]| {
        path.iter()
            .try_fold(v, |v, k| v.get(k))
            .and_then(Value::as_f64)
            .map_or_else(|| "-".to_string(), |x| format!("{x}"))
    };
    let scenario = v.get("scenario").and_then(Value::as_str).unwrap_or("?");
    println!();
    println!("  live page, {scenario}, engine in a web worker:");
    let m = &v["max_speed"];
    println!(
        "    max speed: {} simulated requests/s (every node), {} end-to-end arrivals/s, {} sim s per wall s",
        f(m, &["requests_per_wall_s"]),
        f(m, &["arrivals_per_wall_s"]),
        f(m, &["sim_s_per_wall_s"])
    );
    println!(
        "               main-thread frames p50 {} ms, p95 {} ms, p99 {} ms, max {} ms ({} fps)",
        f(m, &["frames", "p50_ms"]),
        f(m, &["frames", "p95_ms"]),
        f(m, &["frames", "p99_ms"]),
        f(m, &["frames", "max_ms"]),
        f(m, &["frames", "fps"])
    );
    let x = &v["speed_1x"];
    println!(
        "    real time: frames p50 {} ms, p95 {} ms, p99 {} ms, max {} ms ({} fps); {} sim s per wall s",
        f(x, &["frames", "p50_ms"]),
        f(x, &["frames", "p95_ms"]),
        f(x, &["frames", "p99_ms"]),
        f(x, &["frames", "max_ms"]),
        f(x, &["frames", "fps"]),
        f(x, &["sim_s_per_wall_s"])
    );
    let e = &v["embed"];
    if e.is_object() {
        println!(
            "    light embed (<tailsim-embed> in a post, 600x400, {} Mbit/s, {} ms RTT, nothing cached): first chart in {} s (target <= 1.5 s);\n               \
             {} KB transferred (gzip; target <= 700 KB): wasm {} KB, js {} KB, other {} KB",
            f(e, &["net_mbit"]),
            f(e, &["rtt_ms"]),
            f(e, &["first_chart_s"]),
            f(e, &["kb", "total"]),
            f(e, &["kb", "wasm"]),
            f(e, &["kb", "js"]),
            f(e, &["kb", "other"])
        );
    }
}

fn print_table(native: Stats, pgo: Option<Stats>, simpy: Option<Stats>, wasm: Option<Figure>) {
    let row = |name: &str, f: Option<Figure>, vs: &str| match f {
        Some(f) => println!(
            "  {name:<26} {:>12.0} {:>9.3} {:>14.3}  {vs}",
            f.events,
            f.wall_s,
            f.per_s() / 1e6
        ),
        None => println!("  {name:<26} {:>12} {:>9} {:>14}  {vs}", "-", "-", "n/a"),
    };
    println!();
    println!(
        "  {:<26} {:>12} {:>9} {:>14}  ratio",
        "engine", "events", "wall s", "M events/s"
    );
    let ratio = |n: Figure, s: Option<Figure>, what: &str| {
        s.map(|s| format!("{:.0}x SimPy {what}", n.per_s() / s.per_s()))
            .unwrap_or_default()
    };
    let (sb, sm) = (simpy.map(|s| s.best), simpy.map(|s| s.median));
    // The headline is the CLI as `cargo xtask cli` builds it (PGO), or the
    // plain release build when PGO is unavailable.
    let target = "(best vs best; target >= 100x)";
    if let Some(p) = pgo {
        row(
            &format!("tailsim native PGO best/{}", p.runs),
            Some(p.best),
            &ratio(p.best, sb, target),
        );
        row(
            "tailsim native PGO median",
            Some(p.median),
            &ratio(p.median, sm, "(median vs median)"),
        );
    }
    row(
        &format!("tailsim native best/{}", native.runs),
        Some(native.best),
        &ratio(
            native.best,
            sb,
            if pgo.is_some() {
                "(plain release build, best vs best)"
            } else {
                target
            },
        ),
    );
    row(
        "tailsim native median",
        Some(native.median),
        &ratio(native.median, sm, "(median vs median)"),
    );
    row(
        &format!("SimPy best/{}", simpy.map_or(0, |s| s.runs)),
        sb,
        "",
    );
    row("SimPy median", sm, "");
    if let Some(p) = pgo {
        println!(
            "  PGO build / plain build: {:.2}x the events/s (best vs best; {:.2}x median vs median)",
            p.best.per_s() / native.best.per_s(),
            p.median.per_s() / native.median.per_s()
        );
    }
    let wasm_ratio = wasm
        .map(|w| {
            format!(
                "wasm/native = {:.2} (vs the plain build; {} vs best; target >= 0.5)",
                w.per_s() / native.best.per_s(),
                pgo.map_or(String::from("best"), |p| format!(
                    "{:.2} vs the PGO build; best",
                    w.per_s() / p.best.per_s()
                ))
            )
        })
        .unwrap_or_default();
    row("tailsim wasm best", wasm, &wasm_ratio);
}

/// The engine beside the hand-written loop: what the general engine costs.
fn print_floor(native: Stats, floor: Stats, simpy: Option<Stats>, same: bool) {
    println!();
    println!(
        "  floor: the same model hand-written as one loop (sim_core::reference), best of {}: \
         {:.2} M events/s{}",
        floor.runs,
        floor.best.per_s() / 1e6,
        simpy
            .map(|s| format!(
                " = {:.0}x SimPy's best",
                floor.best.per_s() / s.best.per_s()
            ))
            .unwrap_or_default()
    );
    println!(
        "         the engine takes {:.2}x the loop's time (best vs best; {:.2}x median vs median); \
         the loop's mean wait {} the engine's",
        floor.best.per_s() / native.best.per_s(),
        floor.median.per_s() / native.median.per_s(),
        if same { "equals" } else { "DIFFERS FROM" }
    );
}

/// The paired ratios: median and quartiles of the per-round ratios.
fn print_pairs(pairs: &[(&str, Vec<f64>)]) {
    if pairs.is_empty() {
        return;
    }
    println!();
    println!("  paired: both builds at once, one per CPU (median of per-round ratios [q25, q75]):");
    for (what, r) in pairs {
        println!(
            "    {what:<38} {:.2}x  [{:.2}, {:.2}]  ({} rounds)",
            quantile(r, 0.5),
            quantile(r, 0.25),
            quantile(r, 0.75),
            r.len()
        );
    }
}

/// `header` (what ran, by turns), then the per-turn ratios and the
/// ratios of the medians and of the bests.
fn print_turns(header: &str, r: &Turns) {
    println!();
    println!("  {header}");
    println!(
        "    median of the per-turn ratios {}  [q25 {}, q75 {}]",
        times(quantile(&r.ratios, 0.5)),
        times(quantile(&r.ratios, 0.25)),
        times(quantile(&r.ratios, 0.75))
    );
    println!(
        "    medians {:.3} M events/s / {:.3} M events/s = {};  bests {:.3} / {:.3} = {}",
        r.a.median.per_s() / 1e6,
        r.b.median.per_s() / 1e6,
        times(r.a.median.per_s() / r.b.median.per_s()),
        r.a.best.per_s() / 1e6,
        r.b.best.per_s() / 1e6,
        times(r.a.best.per_s() / r.b.best.per_s())
    );
}

/// The `q` quantile of sorted values (nearest rank).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[i - 1]
}

/// A timed run: the CLI on a scenario, or the hand-written loop.
#[derive(Clone, Copy)]
pub(crate) enum Job<'a> {
    Cli(&'a Path, &'a Path, f64),
    Loop(&'a Path, f64),
}

impl Job<'_> {
    /// The command line of the run (the CLI as `native` runs it, the loop
    /// as `floor` runs it).
    pub(crate) fn command(self) -> Command {
        match self {
            Job::Cli(exe, scenario, duration_s) => {
                let mut c = util::cmd(exe);
                c.arg("run").arg(scenario).args([
                    "--duration",
                    &format!("{duration_s:.3}"),
                    "--format",
                    "json",
                ]);
                c
            }
            Job::Loop(exe, duration_s) => {
                let mut c = util::cmd(exe);
                c.arg(format!("{duration_s:.3}"));
                c
            }
        }
    }

    fn start(self) -> Result<std::process::Child> {
        let mut c = self.command();
        let shown = util::display(&c);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error(format!("could not start `{shown}`: {e}")))
    }

    /// One run, start to finish.
    fn run(self) -> Result<Figure> {
        self.start().and_then(|c| self.figure(c))
    }

    fn figure(self, child: std::process::Child) -> Result<Figure> {
        let out = child.wait_with_output()?;
        let v = parse_output(&util::display(&self.command()), &out)?;
        match self {
            Job::Cli(..) => native_figure(&v),
            Job::Loop(..) => loop_figure(&v),
        }
    }
}

/// `rounds` rounds of `a` and `b` started together (which starts first
/// alternates); returns the per-round ratios of b's events/s to a's, sorted.
fn paired(what: &str, a: Job, b: Job, rounds: u32) -> Result<Vec<f64>> {
    let mut ratios = Vec::new();
    for i in 0..rounds {
        let (ca, cb) = if i % 2 == 0 {
            let ca = a.start()?;
            (ca, b.start()?)
        } else {
            let cb = b.start()?;
            (a.start()?, cb)
        };
        let (fa, fb) = (a.figure(ca)?, b.figure(cb)?);
        ratios.push(fb.per_s() / fa.per_s());
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "bench: paired, {what}: {}",
        ratios
            .iter()
            .map(|r| format!("{r:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(ratios)
}

// ------------------------------------------------------------------ native

/// Builds one release target of sim-core; returns its path under `target/release`.
fn build_sim_core(target: &[&str], path: &[&str]) -> Result<PathBuf> {
    run(cargo()
        .args(["build", "--release", "-p", "sim-core"])
        .args(target))?;
    let mut p = root().join("target").join("release");
    p.extend(path);
    Ok(p.with_extension(std::env::consts::EXE_EXTENSION))
}

fn build_native() -> Result<PathBuf> {
    build_sim_core(&["--features", "cli", "--bin", "tailsim"], &["tailsim"])
}

/// Checks that the PGO build prints exactly the plain build's report
/// (`wall_s` aside) for 100,000 customers of the benchmark scenario: PGO
/// may change how fast the code runs, never what it computes.
fn same_report(plain: &Path, pgo: &Path, scenario: &Path) -> Result {
    let report = |exe: &Path| -> Result<Value> {
        let mut c = Job::Cli(exe, scenario, 11111.111).command();
        c.stderr(Stdio::inherit());
        let mut v = json_output(&mut c)?;
        if let Some(m) = v.as_object_mut() {
            m.remove("wall_s");
        }
        Ok(v)
    };
    if report(plain)? != report(pgo)? {
        bail!(
            "the PGO build's report differs from the plain build's ({} vs {})",
            pgo.display(),
            plain.display()
        );
    }
    println!("bench: the PGO build's report equals the plain build's (wall_s aside)");
    Ok(())
}

fn build_floor() -> Result<PathBuf> {
    build_sim_core(&["--example", "mmc_loop"], &["examples", "mmc_loop"])
}

/// `repeats` runs of the hand-written loop; also its mean wait.
fn floor(exe: &Path, duration_s: f64, repeats: u32, round: u32) -> Result<(Vec<Figure>, f64)> {
    runs("loop", repeats, round, || {
        let mut c = Job::Loop(exe, duration_s).command();
        c.stderr(Stdio::inherit());
        let v = json_output(&mut c)?;
        Ok((loop_figure(&v)?, loop_number(&v, "wait_mean_s")?))
    })
}

/// Events and wall time from `mmc_loop`'s JSON.
fn loop_figure(v: &Value) -> Result<Figure> {
    Ok(Figure {
        events: loop_number(v, "events")?,
        wall_s: loop_number(v, "wall_s")?,
    })
}

fn loop_number(v: &Value, k: &str) -> Result<f64> {
    v.get(k)
        .and_then(Value::as_f64)
        .ok_or_else(|| Error(format!("mmc_loop printed no numeric `{k}`: {v}")))
}

/// `repeats` runs of the CLI on the benchmark scenario; also the service's
/// mean wait.
fn native(
    what: &str,
    exe: &Path,
    scenario: &Path,
    duration_s: f64,
    repeats: u32,
    round: u32,
) -> Result<(Vec<Figure>, f64)> {
    runs(what, repeats, round, || {
        let mut c = Job::Cli(exe, scenario, duration_s).command();
        c.stderr(Stdio::inherit());
        let json = json_output(&mut c)?;
        let wait = json
            .pointer("/nodes/server/wait_s/mean")
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN);
        Ok((native_figure(&json)?, wait))
    })
}

/// `repeats` runs of `one` (a figure and a mean wait each), printed as they
/// come; returns the figures and the last mean wait (every run draws the
/// same numbers).
fn runs(
    what: &str,
    repeats: u32,
    round: u32,
    mut one: impl FnMut() -> Result<(Figure, f64)>,
) -> Result<(Vec<Figure>, f64)> {
    let mut out = Vec::new();
    let mut wait = f64::NAN;
    for i in 0..repeats.max(1) {
        let (f, w) = one()?;
        println!(
            "bench: {what} round {} run {}/{}: {:.0} events in {:.3} s = {:.2} M events/s",
            round + 1,
            i + 1,
            repeats,
            f.events,
            f.wall_s,
            f.per_s() / 1e6
        );
        out.push(f);
        wait = w;
    }
    Ok((out, wait))
}

/// Best and median of repeated runs (this machine is shared: a run can
/// only be slowed down by its neighbours, so the best run is the closest
/// to the engine's own speed, and the median shows the spread).
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub best: Figure,
    pub median: Figure,
    pub runs: usize,
}

impl Stats {
    pub fn of(runs: &[Figure]) -> Option<Stats> {
        let mut v = runs.to_vec();
        v.sort_by(|a, b| b.per_s().total_cmp(&a.per_s()));
        Some(Stats {
            best: *v.first()?,
            median: v[v.len() / 2],
            runs: v.len(),
        })
    }
}

/// Arrivals + departures and wall time from the CLI's JSON report.
pub fn native_figure(v: &Value) -> Result<Figure> {
    let wall_s = v
        .get("wall_s")
        .and_then(Value::as_f64)
        .ok_or_else(|| Error("the CLI's JSON has no numeric `wall_s`".into()))?;
    let arrived = v
        .pointer("/end_to_end/arrived")
        .and_then(Value::as_f64)
        .ok_or_else(|| Error("the CLI's JSON has no `end_to_end.arrived`".into()))?;
    let nodes: Vec<&Value> = match v.get("nodes") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Object(m)) => m.values().collect(),
        _ => bail!("the CLI's JSON has no `nodes`"),
    };
    let mut completed = 0.0;
    // Sources generate arrivals; only the nodes that serve requests depart them.
    for n in nodes
        .into_iter()
        .filter(|n| n.get("kind").and_then(Value::as_str) != Some("source"))
    {
        completed += ["completed", "completions", "departed"]
            .iter()
            .find_map(|k| n.get(*k).and_then(Value::as_f64))
            .ok_or_else(|| Error(format!("a node in the CLI's JSON has no `completed`: {n}")))?;
    }
    if wall_s <= 0.0 {
        bail!("the CLI reported wall_s = {wall_s}");
    }
    Ok(Figure {
        events: arrived + completed,
        wall_s,
    })
}

/// Run a command and parse the last JSON object line of its stdout.
fn json_output(c: &mut Command) -> Result<Value> {
    let shown = util::display(c);
    println!("$ {shown}");
    let out = c
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error(format!("could not start `{shown}`: {e}")))?;
    parse_output(&shown, &out)
}

/// The JSON a finished command printed: the whole of stdout, or else its
/// last line that starts with `{`.
fn parse_output(shown: &str, out: &std::process::Output) -> Result<Value> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("`{shown}` failed ({}):\n{stdout}", out.status);
    }
    // A whole-document parse first (pretty-printed JSON), then the last line.
    if let Ok(v) = serde_json::from_str::<Value>(stdout.trim()) {
        return Ok(v);
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| Error(format!("`{shown}` printed no JSON:\n{stdout}")))?;
    Ok(serde_json::from_str(line)?)
}

// ------------------------------------------------------------------ SimPy

fn simpy_command(customers: u64) -> Command {
    let script = root().join("xtask").join("bench").join("mmc_simpy.py");
    let mut c = util::cmd(setup::venv_python());
    c.arg(&script)
        .args(["--customers", &customers.to_string()])
        .stderr(Stdio::inherit());
    c
}

fn simpy(customers: u64) -> Result<Figure> {
    simpy_figure(&json_output(&mut simpy_command(customers))?)
}

/// SimPy's figure from its JSON line (and a line saying so).
fn simpy_figure(v: &Value) -> Result<Figure> {
    let events = v["events"]
        .as_f64()
        .ok_or_else(|| Error("no events".into()))?;
    let wall_s = v["wall_s"]
        .as_f64()
        .ok_or_else(|| Error("no wall_s".into()))?;
    println!(
        "bench: SimPy {}: {events:.0} events in {wall_s:.1} s; mean wait {:.4} s (Erlang C {:.4} s)",
        v["simpy_version"].as_str().unwrap_or("?"),
        v["mean_wait_s"].as_f64().unwrap_or(f64::NAN),
        v["erlang_c_wait_s"].as_f64().unwrap_or(f64::NAN),
    );
    Ok(Figure { events, wall_s })
}

/// Turns and the header that says what ran in them.
type Headed = (String, Turns);

/// What [`by_turns`] measured.
struct Turns {
    /// Per turn, a's events/s over b's, sorted.
    ratios: Vec<f64>,
    a: Stats,
    b: Stats,
}

/// `turns` turns of one run of `a` and one of `b` (which goes first
/// alternates), one after the other so that neither slows the other down
/// and both see the same spell of the machine. `names` label the runs.
fn by_turns(
    names: (&str, &str),
    turns: u32,
    mut a: impl FnMut() -> Result<Figure>,
    mut b: impl FnMut() -> Result<Figure>,
) -> Result<Turns> {
    let (mut ratios, mut fa, mut fb) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..turns.max(1) {
        let (x, y) = if i % 2 == 0 {
            let x = a()?;
            (x, b()?)
        } else {
            let y = b()?;
            (a()?, y)
        };
        let r = x.per_s() / y.per_s();
        println!(
            "bench: turn {}/{turns}: {} {:.3} M events/s, {} {:.3} = {}",
            i + 1,
            names.0,
            x.per_s() / 1e6,
            names.1,
            y.per_s() / 1e6,
            times(r)
        );
        ratios.push(r);
        fa.push(x);
        fb.push(y);
    }
    ratios.sort_by(f64::total_cmp);
    Ok(Turns {
        ratios,
        a: Stats::of(&fa).expect("at least one turn"),
        b: Stats::of(&fb).expect("at least one turn"),
    })
}

/// A ratio as the bench prints it: whole numbers from 10x up, else two
/// decimals.
pub(crate) fn times(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}x")
    } else {
        format!("{r:.2}x")
    }
}

// ------------------------------------------------------------------ wasm

/// The engine in WebAssembly (`bench_run`): the best of `runs` runs, then
/// `runs` turns of one wasm run and one run of the `native` job (named
/// `name`); then the live page with the case study at max speed and in real
/// time (`bench_page.mjs`).
fn wasm(
    scenario: &Path,
    duration_s: f64,
    runs: u32,
    (name, native): (&str, Job),
) -> Result<(Figure, Option<Headed>, Option<Value>)> {
    let dist = site::build_release()?;
    let server = Server::start(&dist, "127.0.0.1:0")?;
    let res: Result<(Figure, Option<Headed>)> = (|| {
        let mut b = WasmBench::start(&server, scenario, duration_s, runs)?;
        let best = wasm_figure(&b.next()?)?;
        let header = format!(
            "by turns with the native {name}: one wasm run, then one native run, {runs} times\n  \
             (wasm events/s over the same turn's native run's; target >= 0.5):"
        );
        let turns = match by_turns(("wasm", "native"), runs, || b.run(), || native.run()) {
            Ok(r) => {
                b.finish()?;
                Some((header, r))
            }
            // The best of the first runs stands; dropping `b` ends it.
            Err(e) => {
                println!("bench: the turns of wasm and native runs failed: {e}");
                None
            }
        };
        Ok((best, turns))
    })();
    let mut p = util::cmd("node");
    p.current_dir(util::e2e_dir())
        .arg("bench_page.mjs")
        .env("BASE_URL", server.url())
        .env("CHROMIUM_PATH", CHROMIUM)
        .stderr(Stdio::inherit());
    let mut page = match json_output(&mut p) {
        Ok(v) => Some(v),
        Err(e) => {
            println!("bench: page benchmark failed: {e}");
            None
        }
    };
    let mut e = util::cmd("node");
    e.current_dir(util::e2e_dir())
        .arg("bench_embed.mjs")
        .env("BASE_URL", server.url())
        .env("CHROMIUM_PATH", CHROMIUM)
        .stderr(Stdio::inherit());
    match (json_output(&mut e), page.as_mut()) {
        (Ok(v), Some(Value::Object(m))) => {
            m.insert("embed".into(), v);
        }
        (Ok(v), _) => page = Some(serde_json::json!({ "embed": v })),
        (Err(e), _) => println!("bench: embed benchmark failed: {e}"),
    }
    server.stop();
    let (best, turns) = res?;
    Ok((best, turns, page))
}

/// `tests/e2e/bench.mjs` running in turns mode: it prints the best of its
/// first runs, then one more run for each `run` line on its stdin.
struct WasmBench {
    shown: String,
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl WasmBench {
    fn start(server: &Server, scenario: &Path, duration_s: f64, runs: u32) -> Result<WasmBench> {
        let mut c = util::cmd("node");
        c.current_dir(util::e2e_dir())
            .arg("bench.mjs")
            .env("BASE_URL", server.url())
            .env("SCENARIO", scenario)
            .env("DURATION_S", format!("{duration_s:.3}"))
            .env("REPEATS", runs.max(1).to_string())
            .env("TURNS", "1")
            .env("CHROMIUM_PATH", CHROMIUM)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let shown = util::display(&c);
        println!("$ {shown}");
        let mut child = c
            .spawn()
            .map_err(|e| Error(format!("could not start `{shown}`: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        Ok(WasmBench {
            shown,
            child,
            stdin,
            lines,
        })
    }

    /// The next JSON line it prints (other lines are passed through).
    fn next(&mut self) -> Result<Value> {
        for line in self.lines.by_ref() {
            let line = line?;
            if line.trim_start().starts_with('{') {
                return Ok(serde_json::from_str(&line)?);
            }
            println!("{line}");
        }
        let status = self.child.wait()?;
        bail!(
            "`{}` stopped ({status}) before it printed a result",
            self.shown
        )
    }

    /// One more run.
    fn run(&mut self) -> Result<Figure> {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("open until `finish`");
        writeln!(stdin, "run")?;
        stdin.flush()?;
        wasm_figure(&self.next()?)
    }

    /// Ends the turns (end of stdin) and checks that it exited cleanly.
    fn finish(mut self) -> Result {
        self.stdin = None;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("`{}` failed ({status})", self.shown);
        }
        Ok(())
    }
}

impl Drop for WasmBench {
    /// On an early return: end of stdin, so that it closes the browser.
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.wait();
    }
}

/// Arrivals + departures and wall time from `bench_run`'s JSON.
pub fn wasm_figure(v: &Value) -> Result<Figure> {
    if let Some(e) = v.get("error") {
        bail!("bench_run reported an error: {e}");
    }
    let events = v
        .get("arrivals_departures")
        .or_else(|| v.get("events"))
        .and_then(Value::as_f64)
        .ok_or_else(|| Error(format!("bench_run returned no `arrivals_departures`: {v}")))?;
    let wall_s = v
        .get("wall_s")
        .and_then(Value::as_f64)
        .ok_or_else(|| Error(format!("bench_run returned no `wall_s`: {v}")))?;
    if wall_s <= 0.0 {
        bail!("bench_run reported wall_s = {wall_s}");
    }
    Ok(Figure { events, wall_s })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_print_whole_from_ten_up() {
        // SimPy ratios are about 100: whole numbers. wasm/native is about
        // 0.6: two decimals, or it would print as "1x".
        assert_eq!(times(96.4), "96x");
        assert_eq!(times(10.0), "10x");
        assert_eq!(times(9.996), "10.00x");
        assert_eq!(times(0.583), "0.58x");
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        // Nearest rank: the ceil(q n)-th smallest value, at least the first.
        let v = [0.9, 1.0, 1.1, 1.2, 1.3];
        assert_eq!(quantile(&v, 0.5), 1.1); // ceil(2.5) = 3rd
        assert_eq!(quantile(&v, 0.25), 1.0); // ceil(1.25) = 2nd
        assert_eq!(quantile(&v, 0.75), 1.2); // ceil(3.75) = 4th
        assert_eq!(quantile(&v, 0.0), 0.9);
        assert_eq!(quantile(&v, 1.0), 1.3);
        assert_eq!(quantile(&[2.0], 0.25), 2.0);
    }

    #[test]
    fn reads_a_cli_report() {
        let v: Value = serde_json::from_str(
            r#"{"events": 2500000, "wall_s": 0.5,
                "end_to_end": {"arrived": 1000000, "completed": 999990},
                "nodes": [{"name": "app", "completed": 999990}]}"#,
        )
        .unwrap();
        let f = native_figure(&v).unwrap();
        assert_eq!(f.events, 1_999_990.0);
        assert_eq!(f.per_s(), 3_999_980.0);

        let v: Value = serde_json::from_str(
            r#"{"wall_s": 1.0, "end_to_end": {"arrived": 10},
                "nodes": {"a": {"completed": 4}, "b": {"completed": 5},
                          "src": {"kind": "source", "completed": 10}}}"#,
        )
        .unwrap();
        assert_eq!(native_figure(&v).unwrap().events, 19.0);

        let v: Value = serde_json::from_str(r#"{"wall_s": 1.0}"#).unwrap();
        assert!(native_figure(&v).is_err());
    }

    #[test]
    fn reads_a_bench_run_result() {
        let v: Value = serde_json::from_str(
            r#"{"events": 3000, "arrivals_departures": 2000, "wall_s": 0.001, "events_per_s": 2e6}"#,
        )
        .unwrap();
        let f = wasm_figure(&v).unwrap();
        assert_eq!((f.events, f.wall_s), (2000.0, 0.001));
        let v: Value = serde_json::from_str(r#"{"error": "bad toml"}"#).unwrap();
        assert!(wasm_figure(&v).is_err());
    }

    #[test]
    fn best_is_the_fastest_run_and_median_the_middle_one() {
        // Events/s: 100, 400, 200, 300, 50 -> best 400, median 200.
        let runs: Vec<Figure> = [100.0, 400.0, 200.0, 300.0, 50.0]
            .iter()
            .map(|&e| Figure {
                events: e,
                wall_s: 1.0,
            })
            .collect();
        let s = Stats::of(&runs).unwrap();
        assert_eq!(
            (s.best.per_s(), s.median.per_s(), s.runs),
            (400.0, 200.0, 5)
        );
        assert!(Stats::of(&[]).is_none());
    }
}
