//! `cargo xtask cli`: the research CLI built with profile-guided
//! optimisation (PGO), the way CPython, rustc and Chromium ship.
//!
//! Three steps, each skipped by cargo when nothing changed:
//! 1. an instrumented build of `tailsim` (`-Cprofile-generate`) in
//!    `target/pgo/gen`;
//! 2. training: that binary runs every scenario shipped in
//!    `assets/scenarios` (the catalogue included) at its own settings, about
//!    four seconds in all; `llvm-profdata` (rustup's `llvm-tools`, installed
//!    if missing) merges the counts into `target/pgo/tailsim.profdata`;
//! 3. the optimised build (`-Cprofile-use`) in `target/pgo/use`.
//!
//! PGO changes which code LLVM lays out hot and inlines, never what the
//! program computes: `cargo xtask bench` checks that both builds print the
//! same report. The training set is the shipped scenarios as they are, not
//! the benchmark's own run.
//!
//! Not `-Ctarget-cpu=native`: on top of PGO it gained nothing measurable
//! here (CPU time ratio 1.02), and the binary would only run on CPUs like
//! the one that built it.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use crate::util::{self, bail, cargo, probe, root, run, Error, Result};

/// Where the PGO builds, raw profiles and merged profile live.
fn dir() -> PathBuf {
    root().join("target").join("pgo")
}

/// Builds the PGO'd CLI and returns the path of its binary.
pub fn build() -> Result<PathBuf> {
    let profdata = llvm_profdata()?;
    let dir = dir();
    let exe_name = format!("tailsim{}", std::env::consts::EXE_SUFFIX);

    // 1. Instrumented build.
    let raw = dir.join("profiles");
    let gen = dir.join("gen");
    build_with(&gen, &format!("-Cprofile-generate={}", raw.display()))?;
    let gen_exe = gen.join("release").join(&exe_name);

    // 2. Training on every shipped scenario, unless the profile is newer
    //    than the instrumented binary and every scenario. (The merged
    //    profile is not byte-identical from one training to the next, so
    //    retraining would always rebuild step 3.)
    let merged = dir.join("tailsim.profdata");
    let scenarios = training_set(&root().join("assets").join("scenarios"))?;
    let stale = match mtime(&merged) {
        None => true,
        Some(m) => std::iter::once(gen_exe.as_path())
            .chain(scenarios.iter().map(PathBuf::as_path))
            .any(|p| mtime(p).map_or(true, |t| t >= m)),
    };
    if stale {
        train(&gen_exe, &scenarios, &raw)?;
        run(util::cmd(&profdata)
            .arg("merge")
            .arg("-o")
            .arg(&merged)
            .arg(&raw))?;
    } else {
        println!("pgo: {} is up to date", merged.display());
    }

    // 3. Optimised build.
    let used = dir.join("use");
    build_with(&used, &format!("-Cprofile-use={}", merged.display()))?;
    Ok(used.join("release").join(exe_name))
}

/// Runs the instrumented `exe` on every scenario, raw profiles into `raw`.
fn train(exe: &Path, scenarios: &[PathBuf], raw: &Path) -> Result {
    if raw.exists() {
        fs::remove_dir_all(raw)?;
    }
    fs::create_dir_all(raw)?;
    println!(
        "pgo: training on {} shipped scenarios ({})",
        scenarios.len(),
        util::display(util::cmd(exe).args(["run", "FILE", "--format", "json"]))
    );
    for s in scenarios {
        let out = util::cmd(exe)
            .arg("run")
            .arg(s)
            .args(["--format", "json"])
            .env("LLVM_PROFILE_FILE", raw.join("tailsim-%p-%m.profraw"))
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Error(format!("could not start {}: {e}", exe.display())))?;
        if !out.status.success() {
            bail!(
                "pgo: training run on {} failed ({}):\n{}",
                s.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    Ok(())
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// `cargo build --release -p sim-core --features cli --bin tailsim` into
/// `target_dir`, with `flag` added to the caller's rustflags.
fn build_with(target_dir: &Path, flag: &str) -> Result {
    run(cargo()
        .args([
            "build",
            "--release",
            "-p",
            "sim-core",
            "--features",
            "cli",
            "--bin",
            "tailsim",
        ])
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            encoded_rustflags(
                std::env::var_os("CARGO_ENCODED_RUSTFLAGS"),
                std::env::var_os("RUSTFLAGS"),
                flag,
            ),
        ))
}

/// The caller's rustflags (encoded, or else whitespace-separated) with
/// `flag` appended, in cargo's encoding (fields separated by 0x1f), so a
/// path with spaces stays one flag.
fn encoded_rustflags(encoded: Option<OsString>, plain: Option<OsString>, flag: &str) -> String {
    let mut flags: Vec<String> = match (encoded, plain) {
        (Some(e), _) if !e.is_empty() => e
            .to_string_lossy()
            .split('\x1f')
            .map(str::to_string)
            .collect(),
        (_, Some(p)) => p
            .to_string_lossy()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    flags.push(flag.to_string());
    flags.join("\x1f")
}

/// Every `.toml` scenario under `dir`, recursively, in a fixed order.
fn training_set(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in
            fs::read_dir(&d).map_err(|e| Error(format!("cannot read {}: {e}", d.display())))?
        {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        bail!("pgo: no scenarios under {}", dir.display());
    }
    Ok(out)
}

/// `llvm-profdata` of the active toolchain (its LLVM must match rustc's),
/// from rustup's `llvm-tools` component, added when missing.
fn llvm_profdata() -> Result<PathBuf> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let find = || -> Option<PathBuf> {
        let sysroot = probe(&rustc, &["--print", "sysroot"])?;
        let vv = probe(&rustc, &["-vV"])?;
        let host = vv.lines().find_map(|l| l.strip_prefix("host: "))?.trim();
        let p = Path::new(&sysroot)
            .join("lib")
            .join("rustlib")
            .join(host)
            .join("bin")
            .join(format!("llvm-profdata{}", std::env::consts::EXE_SUFFIX));
        p.is_file().then_some(p)
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    println!("pgo: llvm-profdata is missing; adding rustup's llvm-tools component");
    run(util::cmd("rustup").args(["component", "add", "llvm-tools"]))?;
    find().ok_or_else(|| {
        Error(
            "llvm-profdata is still missing after `rustup component add llvm-tools`; \
             build the CLI without PGO: cargo build --release -p sim-core --features cli"
                .into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustflags_keep_the_callers_and_add_the_flag_as_one_field() {
        let f = "-Cprofile-use=/a dir/x.profdata";
        assert_eq!(encoded_rustflags(None, None, f), f);
        assert_eq!(
            encoded_rustflags(None, Some("-Ctarget-cpu=native  -g".into()), f),
            format!("-Ctarget-cpu=native\x1f-g\x1f{f}")
        );
        // The encoded form wins over RUSTFLAGS, as in cargo.
        assert_eq!(
            encoded_rustflags(Some("-a\x1f-b c".into()), Some("-z".into()), f),
            format!("-a\x1f-b c\x1f{f}")
        );
    }

    #[test]
    fn the_training_set_is_every_shipped_scenario() {
        let set = training_set(&root().join("assets").join("scenarios")).unwrap();
        let names: Vec<String> = set
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        // The benchmark's scenario, the first models and the catalogue.
        for want in ["mmc.toml", "mm1.toml", "chain.toml", "RES-RETRY-STORM.toml"] {
            assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
        }
        assert!(set.len() > 40, "only {} scenarios", set.len());
        let mut sorted = set.clone();
        sorted.sort();
        assert_eq!(set, sorted, "a fixed order");
    }
}
