//! The Python package (`python/`): its test venv (`target/py-venv`, from
//! `python/requirements-test.txt`) and its wheel (maturin, offline, profile
//! `wheel`) installed into that venv, both part of the set-up; and its
//! pytest suite, which runs the Dask example on a LocalCluster of worker
//! processes.
//!
//! Each step skips what is already there: the venv keeps a copy of the
//! requirements it was made from, and the installed wheel is reinstalled
//! only when the built one differs.

use std::fs;
use std::path::{Path, PathBuf};

use crate::test::Counts;
use crate::util::{self, bail, cargo, root, run, Result};

/// The venv the Python tests run in.
pub fn venv_dir() -> PathBuf {
    root().join("target").join("py-venv")
}

fn venv_bin(name: &str) -> PathBuf {
    venv_dir().join("bin").join(name)
}

fn requirements() -> PathBuf {
    root().join("python").join("requirements-test.txt")
}

/// Makes `target/py-venv` with the pinned test requirements unless it holds
/// exactly them already. Returns whether it installed anything.
pub fn ensure_venv() -> Result<bool> {
    let wanted = fs::read_to_string(requirements())
        .map_err(|e| util::Error(format!("cannot read {}: {e}", requirements().display())))?;
    let stamp = venv_dir().join(".tailsim-requirements");
    let python = venv_bin("python");
    if python.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(false);
    }
    if !python.exists() {
        run(util::cmd("python3").args(["-m", "venv"]).arg(venv_dir()))?;
    }
    run(util::cmd(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(requirements()))?;
    fs::write(&stamp, wanted)?;
    Ok(true)
}

/// The set-up of the Python package: the venv, then the wheel built and
/// installed into it. Returns whether anything was installed.
pub fn ensure() -> Result<bool> {
    let venv = ensure_venv()?;
    let wheel = install_wheel()?;
    Ok(venv || wheel)
}

/// Builds the wheel with maturin from the crates cargo has fetched, and
/// installs it into the venv if it changed. Returns whether it installed.
pub fn install_wheel() -> Result<bool> {
    // maturin reads the whole workspace's metadata offline: fetch every
    // crate of the lockfile (a no-op when they are there).
    run(cargo().arg("fetch"))?;
    let out = root().join("target").join("wheels");
    let _ = fs::remove_dir_all(&out);
    run(util::cmd(venv_bin("maturin"))
        .args(["build", "--offline", "--profile", "wheel", "--quiet", "-m"])
        .arg(root().join("python").join("Cargo.toml"))
        .arg("-o")
        .arg(&out))?;
    let wheel = only_wheel(&out)?;
    let bytes = fs::read(&wheel)?;
    let stamp = venv_dir().join(".tailsim-wheel");
    let digest = format!("{}:{}", bytes.len(), fnv1a(&bytes));
    if fs::read_to_string(&stamp).ok().as_deref() == Some(digest.as_str()) {
        return Ok(false);
    }
    run(util::cmd(venv_bin("python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-deps", "--force-reinstall"])
        .arg(&wheel))?;
    fs::write(&stamp, digest)?;
    Ok(true)
}

fn only_wheel(dir: &Path) -> Result<PathBuf> {
    let wheels: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    match wheels.as_slice() {
        [w] => Ok(w.clone()),
        _ => bail!(
            "expected one wheel in {}, found {}",
            dir.display(),
            wheels.len()
        ),
    }
}

/// A 64-bit FNV-1a hash: enough to tell two builds of a wheel apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The CLI binary the Python tests compare against: the one `cargo test
/// --workspace` built (the same profile and features, so this is a no-op
/// after the native step).
fn cli_binary() -> Result<PathBuf> {
    run(cargo().args([
        "test",
        "-p",
        "sim-core",
        "--features",
        "cli",
        "--no-run",
        "--quiet",
    ]))?;
    let exe = root().join("target").join("debug").join("tailsim");
    if !exe.exists() {
        bail!("{} is missing after building the tests", exe.display());
    }
    Ok(exe)
}

/// The step of `cargo xtask test` (after the set-up built and installed
/// the wheel): pytest.
pub fn tests() -> Result<Counts> {
    let cli = cli_binary()?;
    let mut c = util::cmd(venv_bin("python"));
    // From the workspace root, not python/: the tests must import the
    // installed wheel, not the source folder.
    c.args([
        "-m",
        "pytest",
        "python/tests",
        "-p",
        "no:cacheprovider",
        "-q",
    ])
    .env("TAILSIM_CLI", &cli)
    .env("PYTHONDONTWRITEBYTECODE", "1");
    let mut counts = Counts::default();
    let res = util::run_streaming(&mut c, |line| {
        if let Some(x) = parse_pytest_summary(line) {
            counts = x;
        }
    });
    res?;
    if counts.passed == 0 {
        bail!("pytest ran no test");
    }
    Ok(counts)
}

/// pytest's last line: `19 passed in 27.9s`, `1 failed, 18 passed, 2
/// warnings in 30.1s`, or the same between `=` rules.
pub fn parse_pytest_summary(line: &str) -> Option<Counts> {
    let body = line.trim().trim_matches('=').trim();
    let (counts, time) = body.rsplit_once(" in ")?;
    if !time.trim_end().ends_with('s') {
        return None;
    }
    let mut c = Counts::default();
    let mut any = false;
    for part in counts.split(", ") {
        let (n, what) = part.trim().split_once(' ')?;
        let n: u64 = n.parse().ok()?;
        any = true;
        match what {
            "passed" => c.passed += n,
            "failed" | "error" | "errors" => c.failed += n,
            "skipped" | "xfailed" | "deselected" => c.skipped += n,
            "xpassed" | "warning" | "warnings" | "rerun" => {}
            _ => return None,
        }
    }
    any.then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pytest_summaries() {
        let c = parse_pytest_summary("19 passed in 27.93s").unwrap();
        assert_eq!((c.passed, c.failed), (19, 0));
        let c =
            parse_pytest_summary("========= 1 failed, 18 passed, 11 warnings in 29.06s =========")
                .unwrap();
        assert_eq!((c.passed, c.failed), (18, 1));
        let c = parse_pytest_summary("2 passed, 1 skipped, 1 error in 3.00s").unwrap();
        assert_eq!((c.passed, c.failed, c.skipped), (2, 1, 1));
        assert!(parse_pytest_summary("tests/test_run.py ....  [ 40%]").is_none());
        assert!(parse_pytest_summary("the model ran in 3s").is_none());
    }
}
