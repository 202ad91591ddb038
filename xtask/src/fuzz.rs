//! `cargo xtask fuzz [ARGS]`: the swarm tester (`swarm/`), built with the
//! `fuzz` profile (optimised, with debug assertions and overflow checks)
//! and run with ARGS (`--seed`, `--minutes`, `--cases`, `--jobs`, ...;
//! `cargo xtask fuzz --help` lists them). It needs no browser, so it runs
//! no setup. `cargo xtask test` runs a short fixed-seed swarm ([`SHORT`]).

use std::path::PathBuf;

use crate::util::{self, cargo, root, Result};

/// The short swarm of `cargo xtask test`: fixed seed and count, so every
/// run checks the same cases (the corpus is replayed first); a time cap
/// keeps a slow machine within the test budget. A case may take 15 s of
/// CPU: the heaviest corpus case (a zero-time publish loop on a broker of
/// 10,000 partitions, stopped by the stall guard) takes about 5 s here, and
/// took over 50 s before partitions were indexed.
pub const SHORT: [&str; 8] = [
    "--seed",
    "1",
    "--cases",
    "1000",
    "--minutes",
    "2",
    "--case-timeout",
    "15",
];

/// Builds the swarm tester and returns its path.
pub fn build() -> Result<PathBuf> {
    util::run(cargo().args([
        "build",
        "--profile",
        "fuzz",
        "-p",
        "swarm",
        "--bin",
        "swarm",
    ]))?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    Ok(target.join("fuzz").join("swarm"))
}

/// `cargo xtask fuzz ARGS`.
pub fn fuzz(args: &[String]) -> Result {
    let exe = build()?;
    util::run(util::cmd(exe).current_dir(root()).args(args))
}
