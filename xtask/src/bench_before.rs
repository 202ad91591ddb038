//! The engine before its rebuild, timed beside today's: the yardstick of
//! the engine core's second edition. The research CLI is built from
//! [`BEFORE_REBUILD`] (the last commit before the rebuild; its source comes
//! out of this clone's history with `git archive`, into
//! `target/before-rebuild/`) and run by turns with today's plain release
//! build (one run of each, which goes first alternating: a shared machine's
//! speed drifts over seconds, and a turn's two runs see the same spell), on
//! - M/M/10 (`assets/scenarios/mmc.toml`, unchanged since), the bench's
//!   customers;
//! - the multi-tier case study as that commit shipped it (its
//!   `case-study-checkout.toml`: the same model and simulated time for both
//!   builds; today's file has writes the old one lacks).
//!
//! On M/M/10 it also times that commit's engine with its express lane off
//! (the old CLI patched to call `Sim::set_express(false)`, in
//! `target/before-rebuild/one-path-src/`): its one request path, so the
//! figures say how much of the old speed was the hand-kept second copy
//! the rebuild removed and how much the design.
//!
//! It prints the median and quartiles of the per-turn wall-time ratios
//! (before / today: above 1, today is faster) and, when valgrind is
//! installed, instructions per customer under callgrind, which a busy
//! machine cannot disturb (a long run less a short one, so start-up and
//! warm-up are left out, and the report too where both runs keep as many
//! windows: see [`Case::counted_s`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::bench::{quantile, times, Job};
use crate::util::{self, bail, cargo, root, run, Error, Result};

/// The last commit before the engine's rebuild.
pub const BEFORE_REBUILD: &str = "4b7a044aa4363f505dbd6d9293a645846e245157";

/// Arrival rate of `mmc.toml`, per second.
const MMC_RATE: f64 = 9.0;

/// One scenario both builds run.
struct Case {
    name: &'static str,
    scenario: PathBuf,
    duration_s: f64,
    /// Simulated seconds of the callgrind runs: the instructions between
    /// the short run's end and the long one's, per customer arrived
    /// between them (start-up and warm-up cancel out, and so does the
    /// report when both runs keep as many windows of the time series: the
    /// CLI keeps 1000 over a run of 1000 s or more, one a second below).
    counted_s: (f64, f64),
    target: &'static str,
    /// The old engine's express lane takes this scenario's requests, so
    /// its one path (the lane off) is timed too.
    express: bool,
}

/// Builds the old CLI and compares it with `today` (the plain release
/// build) over `turns` turns per scenario.
pub fn compare(today: &Path, customers: u64, turns: u32) -> Result {
    let Some(before) = build_before()? else {
        return Ok(());
    };
    let cases = [
        Case {
            name: "M/M/10",
            scenario: root().join("assets/scenarios/mmc.toml"),
            duration_s: customers as f64 / MMC_RATE,
            // Both runs over 1000 s: 1000 windows each. (Until 2026-12-07
            // the short run kept 444, and the long run's 556 windows more,
            // printed, added 455 to 570 instructions per customer to the
            // counts: before 1,839, today 2,459 then; before 1,384, today
            // 1,890 counted this way, at the same commit.)
            counted_s: (10_000.0 / MMC_RATE, 30_000.0 / MMC_RATE),
            target: "target >= 1.00x: at least as fast",
            express: true,
        },
        Case {
            name: "case study (multi-tier, as it shipped then)",
            scenario: before.1.join("assets/scenarios/case-study-checkout.toml"),
            duration_s: 240.0,
            // 30 and 90 one-second windows: the 60 more printed add about
            // 500 instructions per customer to both builds' counts (1%);
            // runs of 1000 s would take minutes under callgrind to save it.
            counted_s: (30.0, 90.0),
            target: "target >= 1.50x",
            // (Its calls have timeouts, pools and breakers: the lane took
            // none of them; 58,704 instructions per customer with it off,
            // 58,449 on.)
            express: false,
        },
    ];
    let one_path = build_one_path().unwrap_or_else(|e| {
        println!("bench: the old engine's one path is not timed: {e}");
        None
    });
    let mut lines = Vec::new();
    for case in &cases {
        let ratios = wall_turns(case, "before", &before.0, today, turns)?;
        let ir = callgrind(case, &before.0, today);
        lines.push(summary(case, &ratios, ir));
        if let (true, Some(old)) = (case.express, &one_path) {
            let ratios = wall_turns(case, "one path", old, today, turns)?;
            let ir = ir.and_then(|(_, t)| Some((per_customer(case, old)?, t)));
            lines.push(one_path_summary(&ratios, ir));
        }
    }
    println!();
    println!(
        "  today's engine against the one before the rebuild ({}, by turns, plain release builds):",
        &BEFORE_REBUILD[..7]
    );
    for l in lines {
        println!("{l}");
    }
    Ok(())
}

fn summary(case: &Case, ratios: &[f64], ir: Option<(f64, f64)>) -> String {
    let mut s = format!(
        "    {}: wall time before / today, median {}  [q25 {}, q75 {}] over {} turns ({})",
        case.name,
        times(quantile(ratios, 0.5)),
        times(quantile(ratios, 0.25)),
        times(quantile(ratios, 0.75)),
        ratios.len(),
        case.target
    );
    if let Some((b, t)) = ir {
        s.push_str(&format!(
            "\n      instructions per customer (callgrind): {b:.0} before, {t:.0} today (before / today = {})",
            times(b / t)
        ));
    }
    s
}

/// The old CLI and its source tree, built once; `None` (said why) when
/// this clone lacks the commit (a shallow clone).
fn build_before() -> Result<Option<(PathBuf, PathBuf)>> {
    let dir = root().join("target").join("before-rebuild");
    let src = dir.join("src");
    let has = Command::new("git")
        .args(["cat-file", "-e", &format!("{BEFORE_REBUILD}^{{commit}}")])
        .current_dir(root())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has {
        println!(
            "bench: the comparison with the engine before its rebuild is skipped: commit {} is \
             not in this clone (a shallow clone? `git fetch --unshallow`)",
            &BEFORE_REBUILD[..7]
        );
        return Ok(None);
    }
    extract_once(&src)?;
    let exe = build_old_cli(&src, &dir.join("target"))?;
    Ok(Some((exe, src)))
}

/// Builds the research CLI of the old tree in `src` into `target`; returns
/// its path.
fn build_old_cli(src: &Path, target: &Path) -> Result<PathBuf> {
    run(cargo()
        .args(["build", "--release", "--locked", "-p", "sim-core"])
        .args(["--features", "cli", "--bin", "tailsim", "--manifest-path"])
        .arg(src.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target))?;
    let exe = target.join("release/tailsim");
    Ok(exe.with_extension(std::env::consts::EXE_EXTENSION))
}

/// The line printed under M/M/10's summary for the old engine's one path.
fn one_path_summary(ratios: &[f64], ir: Option<(f64, f64)>) -> String {
    let mut s = format!(
        "      against that engine's one request path (its express lane off): wall time one \
         path / today, median {}  [q25 {}, q75 {}] over {} turns",
        times(quantile(ratios, 0.5)),
        times(quantile(ratios, 0.25)),
        times(quantile(ratios, 0.75)),
        ratios.len(),
    );
    if let Some((b, t)) = ir {
        s.push_str(&format!(
            "; {b:.0} instructions per customer there, {t:.0} today (= {})",
            times(b / t)
        ));
    }
    s
}

/// Where the old CLI builds the engine it runs.
const ONE_PATH_ANCHOR: &str = "let mut sim = Sim::new(&sc, seed).map_err(|e| e.to_string())?;";

/// The old CLI with the express lane turned off (`Sim::set_express(false)`,
/// as that commit's own tests ran it) after it builds the engine: its one
/// request path, without the hand-kept second copy (express lane, deferred
/// call, mirrored histogram) that the rebuild removed. It shows how much
/// of the old speed on M/M/10 was the copy and how much the design. Built
/// once beside the old CLI; `None` (said why) if the source is not as
/// expected.
fn build_one_path() -> Result<Option<PathBuf>> {
    let dir = root().join("target").join("before-rebuild");
    let src = dir.join("one-path-src");
    let main = src.join("sim-core/src/bin/tailsim.rs");
    extract_once(&src)?;
    let text =
        std::fs::read_to_string(&main).map_err(|e| Error(format!("{}: {e}", main.display())))?;
    let off = format!("{ONE_PATH_ANCHOR}\n    sim.set_express(false);");
    if !text.contains(&off) {
        if text.matches(ONE_PATH_ANCHOR).count() != 1 {
            println!("bench: the old engine's one path is not timed: its CLI changed shape");
            return Ok(None);
        }
        std::fs::write(&main, text.replace(ONE_PATH_ANCHOR, &off))?;
    }
    Ok(Some(build_old_cli(&src, &dir.join("one-path-target"))?))
}

/// The old commit's tree in `src`, unpacked once: a tree whose unpacking
/// was cut short (no marker file) is unpacked again from scratch.
fn extract_once(src: &Path) -> Result {
    let marker = src.join(".tailsim-unpacked");
    if marker.is_file() {
        return Ok(());
    }
    if src.exists() {
        std::fs::remove_dir_all(src)
            .map_err(|e| Error(format!("could not clear {}: {e}", src.display())))?;
    }
    std::fs::create_dir_all(src)?;
    extract(src)?;
    std::fs::write(&marker, BEFORE_REBUILD)?;
    Ok(())
}

/// `git archive BEFORE_REBUILD | tar -x -C src`.
fn extract(src: &Path) -> Result {
    let mut git = Command::new("git")
        .args(["archive", "--format=tar", BEFORE_REBUILD])
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error(format!("could not start git archive: {e}")))?;
    let out = git.stdout.take().expect("piped");
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(src)
        .stdin(out)
        .status()?;
    let git = git.wait()?;
    if !git.success() || !tar.success() {
        bail!("could not unpack {BEFORE_REBUILD} into {}", src.display());
    }
    Ok(())
}

/// The CLI as the rest of the bench runs it (`bench::Job::Cli`).
fn cli(exe: &Path, scenario: &Path, duration_s: f64) -> Command {
    let mut c = Job::Cli(exe, scenario, duration_s).command();
    c.stdin(Stdio::null()).stderr(Stdio::inherit());
    c
}

/// One run's wall time (the engine's own `wall_s`).
fn wall(exe: &Path, case: &Case) -> Result<f64> {
    let mut c = cli(exe, &case.scenario, case.duration_s);
    let out = c.output()?;
    if !out.status.success() {
        bail!("`{}` failed ({})", util::display(&c), out.status);
    }
    let v: Value = serde_json::from_slice(&out.stdout)?;
    v.get("wall_s")
        .and_then(Value::as_f64)
        .ok_or_else(|| Error("the CLI's JSON has no numeric `wall_s`".into()))
}

/// Per-turn ratios of an old build's wall time (`label`: which) to
/// today's, sorted.
fn wall_turns(
    case: &Case,
    label: &str,
    before: &Path,
    today: &Path,
    turns: u32,
) -> Result<Vec<f64>> {
    let mut ratios = Vec::new();
    for i in 0..turns.max(1) {
        let (b, t) = if i % 2 == 0 {
            let b = wall(before, case)?;
            (b, wall(today, case)?)
        } else {
            let t = wall(today, case)?;
            (wall(before, case)?, t)
        };
        println!(
            "bench: {} turn {}/{}: {label} {b:.3} s, today {t:.3} s = {}",
            case.name,
            i + 1,
            turns.max(1),
            times(b / t)
        );
        ratios.push(b / t);
    }
    ratios.sort_by(f64::total_cmp);
    Ok(ratios)
}

/// Instructions per customer of both builds, or `None` without valgrind.
fn callgrind(case: &Case, before: &Path, today: &Path) -> Option<(f64, f64)> {
    match (per_customer(case, before), per_customer(case, today)) {
        (Some(b), Some(t)) => Some((b, t)),
        _ => {
            println!("bench: no instruction counts (valgrind missing or failed)");
            None
        }
    }
}

/// Instructions per customer of one build (`None` without valgrind).
fn per_customer(case: &Case, exe: &Path) -> Option<f64> {
    let (ir0, arrived0) = counted(exe, &case.scenario, case.counted_s.0)?;
    let (ir, arrived) = counted(exe, &case.scenario, case.counted_s.1)?;
    Some((ir - ir0) / (arrived - arrived0).max(1.0))
}

/// Instructions (callgrind's total) and customers of one run.
fn counted(exe: &Path, scenario: &Path, duration_s: f64) -> Option<(f64, f64)> {
    let mut c = Command::new("valgrind");
    c.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .arg("run")
        .arg(scenario)
        .args([
            "--duration",
            &format!("{duration_s:.3}"),
            "--format",
            "json",
        ])
        .stdin(Stdio::null());
    let out = c.output().ok()?;
    if !out.status.success() {
        return None;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let ir: f64 = err
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))?
        .trim()
        .parse()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let arrived = v.pointer("/end_to_end/arrived")?.as_f64()?;
    Some((ir, arrived))
}
