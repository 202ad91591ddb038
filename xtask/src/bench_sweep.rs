//! The sweep speed-up of `cargo xtask bench`: one 100-run sweep (10 points
//! of `mmc.toml` x 10 replications) with `--jobs 2` against the same sweep
//! with `--jobs 1`, by turns (which goes first alternates), so both runs of a
//! turn see the same spell of this shared machine. Target: at least 1.8x on
//! two cores. Both runs must write the same bytes (the output never depends
//! on the number of threads). No timed assertion: the ratios are printed.

use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use crate::bench::{quantile, times};
use crate::util::{self, bail, Result};

/// Simulated seconds per run: about 450,000 customers, a tenth of a second
/// or so natively, so that start-up and the output are noise.
const DURATION_S: &str = "50000";

/// One timed sweep: wall seconds and the CSV it wrote.
fn sweep(exe: &Path, scenario: &Path, jobs: u32) -> Result<(f64, Vec<u8>)> {
    let mut c = util::cmd(exe);
    c.arg("sweep")
        .arg(scenario)
        .args(["--vary", "nodes.clients.arrival.rate=5:9.5:0.5"])
        .args(["--replications", "10", "--duration", DURATION_S])
        .args(["--jobs", &jobs.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let shown = util::display(&c);
    let t0 = Instant::now();
    let out = c
        .output()
        .map_err(|e| util::Error(format!("could not start `{shown}`: {e}")))?;
    let wall = t0.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("`{shown}` failed ({})", out.status);
    }
    Ok((wall, out.stdout))
}

/// `turns` turns of `--jobs 2` and `--jobs 1`; prints the per-turn ratios.
pub fn speedup(exe: &Path, scenario: &Path, turns: u32) -> Result {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "\nbench: sweep of 100 runs (10 points x 10 replications of mmc.toml, {DURATION_S} s each), \
         --jobs 2 against --jobs 1, by turns ({cpus} CPUs here)"
    );
    let mut ratios = Vec::new();
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for i in 0..turns.max(1) {
        let ((w2, o2), (w1, o1)) = if i % 2 == 0 {
            let a = sweep(exe, scenario, 2)?;
            (a, sweep(exe, scenario, 1)?)
        } else {
            let b = sweep(exe, scenario, 1)?;
            (sweep(exe, scenario, 2)?, b)
        };
        if o1 != o2 {
            bail!("the sweep wrote different bytes with --jobs 1 and --jobs 2");
        }
        let r = w1 / w2;
        println!(
            "bench: turn {}/{turns}: --jobs 2 {w2:.2} s, --jobs 1 {w1:.2} s = {}",
            i + 1,
            times(r)
        );
        ratios.push(r);
        one.push(w1);
        two.push(w2);
    }
    ratios.sort_by(f64::total_cmp);
    one.sort_by(f64::total_cmp);
    two.sort_by(f64::total_cmp);
    println!();
    println!("  sweep speed-up, --jobs 2 over --jobs 1 (target >= 1.8x on 2 cores):");
    println!(
        "    median of the per-turn ratios {}  [q25 {}, q75 {}]  over {} turns",
        times(quantile(&ratios, 0.5)),
        times(quantile(&ratios, 0.25)),
        times(quantile(&ratios, 0.75)),
        ratios.len()
    );
    println!(
        "    best runs {:.2} s / {:.2} s = {};  identical output with 1 and 2 threads",
        one[0],
        two[0],
        times(one[0] / two[0])
    );
    Ok(())
}
