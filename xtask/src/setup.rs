//! `cargo xtask setup`: install whatever the build, the tests and the
//! benchmark need and is missing. Every check is a version probe or a file
//! test, so on a machine that has everything this takes well under a second
//! per tool.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::util::{self, bail, cargo, probe, root, run, Result};

/// The trunk release that builds with this toolchain (0.22 needs a newer rustc).
pub const TRUNK_VERSION: &str = "0.21.14";
/// SimPy release used as the benchmark peer.
pub const SIMPY_VERSION: &str = "4.1.2";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Also create the Python venv with SimPy (only `bench` needs it).
    pub bench: bool,
    /// Also the Python package: its test venv, and its wheel built and
    /// installed there (`test` needs them).
    pub python: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Present,
    Installed,
}

fn report(what: &str, outcome: Outcome, start: Instant) {
    match outcome {
        Outcome::Present => println!("setup: {what:<34} ok (present)"),
        Outcome::Installed => println!("setup: {what:<34} installed ({:.0} s)", util::secs(start)),
    }
}

pub fn setup(opts: Options) -> Result {
    let step = |what: &str, f: &dyn Fn() -> Result<Outcome>| -> Result {
        let start = Instant::now();
        let outcome = f().map_err(|e| util::Error(format!("setup of {what} failed: {e}")))?;
        report(what, outcome, start);
        Ok(())
    };
    step("rust target wasm32-unknown-unknown", &ensure_wasm_target)?;
    step(&format!("trunk {TRUNK_VERSION}"), &ensure_trunk)?;
    let bindgen = wasm_bindgen_version()?;
    step(&format!("wasm-bindgen-cli {bindgen}"), &|| {
        ensure_wasm_bindgen(&bindgen)
    })?;
    step("chromium + chromedriver", &ensure_chromium)?;
    step("npm tools (playwright, binaryen)", &ensure_npm)?;
    if opts.python {
        step("python package (venv + wheel)", &|| {
            crate::python::ensure().map(|installed| {
                if installed {
                    Outcome::Installed
                } else {
                    Outcome::Present
                }
            })
        })?;
    }
    if opts.bench {
        step(
            &format!("python venv + simpy {SIMPY_VERSION}"),
            &ensure_venv,
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------- rust target

fn ensure_wasm_target() -> Result<Outcome> {
    const TARGET: &str = "wasm32-unknown-unknown";
    if let Some(list) = probe("rustup", &["target", "list", "--installed"]) {
        if list.lines().any(|l| l.trim() == TARGET) {
            return Ok(Outcome::Present);
        }
        run(util::cmd("rustup").args(["target", "add", TARGET]))?;
        return Ok(Outcome::Installed);
    }
    // No rustup: a toolchain with the target's std in its sysroot still works.
    if let Some(sysroot) = probe("rustc", &["--print", "sysroot"]) {
        if Path::new(&sysroot)
            .join("lib/rustlib")
            .join(TARGET)
            .is_dir()
        {
            return Ok(Outcome::Present);
        }
    }
    bail!("rustup is not available and the toolchain has no {TARGET} std; install rustup")
}

// ---------------------------------------------------------------- trunk

fn ensure_trunk() -> Result<Outcome> {
    let want = format!("trunk {TRUNK_VERSION}");
    let present = || probe("trunk", &["--version"]).is_some_and(|v| v.trim() == want);
    if present() {
        return Ok(Outcome::Present);
    }
    if wait_for_other_install("trunk") && present() {
        return Ok(Outcome::Installed);
    }
    println!("setup: installing trunk {TRUNK_VERSION} from crates.io (about 9 minutes on 2 cores)");
    run(cargo().args(["install", "--locked", "trunk", "--version", TRUNK_VERSION]))?;
    if !present() {
        bail!("`trunk --version` still does not print {want} after the install; is cargo's bin dir on PATH?");
    }
    Ok(Outcome::Installed)
}

// ---------------------------------------------------------------- wasm-bindgen

/// The `wasm-bindgen` version in Cargo.lock (the CLI must match it exactly).
pub fn wasm_bindgen_version() -> Result<String> {
    let lock = root().join("Cargo.lock");
    if !lock.is_file() {
        // A fresh checkout without a lockfile: resolve (and download) first.
        run(cargo().arg("fetch"))?;
    }
    let text = fs::read_to_string(&lock)
        .map_err(|e| util::Error(format!("cannot read {}: {e}", lock.display())))?;
    let versions = lock_versions(&text, "wasm-bindgen");
    match versions.as_slice() {
        [v] => Ok(v.clone()),
        [] => bail!("Cargo.lock has no wasm-bindgen package; does the web crate depend on it?"),
        many => bail!(
            "Cargo.lock has several wasm-bindgen versions ({}); pin one in the workspace",
            many.join(", ")
        ),
    }
}

/// All versions of package `name` in the text of a Cargo.lock.
pub fn lock_versions(lock: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current_name: Option<&str> = None;
    for line in lock.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            current_name = None;
        } else if let Some(v) = toml_string(line, "name") {
            current_name = Some(v);
        } else if let Some(v) = toml_string(line, "version") {
            if current_name == Some(name) && !out.iter().any(|o: &String| o == v) {
                out.push(v.to_string());
            }
        }
    }
    out
}

/// `key = "value"` → `value`.
fn toml_string<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?.trim_start();
    let rest = rest.strip_prefix('=')?.trim();
    rest.strip_prefix('"')?.strip_suffix('"')
}

fn ensure_wasm_bindgen(version: &str) -> Result<Outcome> {
    let want = format!("wasm-bindgen {version}");
    let present = || probe("wasm-bindgen", &["--version"]).is_some_and(|v| v.trim() == want);
    if present() {
        return Ok(Outcome::Present);
    }
    if wait_for_other_install("wasm-bindgen-cli") && present() {
        return Ok(Outcome::Installed);
    }
    println!("setup: installing wasm-bindgen-cli {version} from crates.io (about 3 minutes)");
    // Without --locked: the CLI's own lockfile pins a crate version that the
    // registry does not have.
    run(cargo().args(["install", "wasm-bindgen-cli", "--version", version]))?;
    if !present() {
        bail!("`wasm-bindgen --version` still does not print {want} after the install");
    }
    Ok(Outcome::Installed)
}

/// If another process is already `cargo install`ing `krate` (say, a set-up
/// started by hand), wait for it rather than compiling the same thing twice
/// on two cores. Returns whether there was one to wait for.
fn wait_for_other_install(krate: &str) -> bool {
    let mut waited = false;
    let mut last_note = Instant::now() - Duration::from_secs(3600);
    while other_install_running(krate) {
        if last_note.elapsed() >= Duration::from_secs(60) {
            println!("setup: another `cargo install {krate}` is running; waiting for it to finish");
            last_note = Instant::now();
        }
        waited = true;
        std::thread::sleep(Duration::from_secs(2));
    }
    waited
}

fn other_install_running(krate: &str) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    let me = std::process::id().to_string();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == me || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(raw) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_cargo = args
            .first()
            .is_some_and(|a0| Path::new(a0).file_name().is_some_and(|f| f == "cargo"));
        if is_cargo && args.iter().any(|a| a == "install") && args.iter().any(|a| a == krate) {
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------- chromium

fn ensure_chromium() -> Result<Outcome> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(Outcome::Present);
    }
    let root_user = probe("id", &["-u"]).as_deref() == Some("0");
    let apt = |args: &[&str]| -> Result {
        let mut c = if root_user {
            util::cmd("apt-get")
        } else {
            let mut c = util::cmd("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut c)
    };
    apt(&["update"])?;
    apt(&["install", "-y", "chromium", "chromium-driver"])?;
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        bail!("apt-get finished but {CHROMIUM} or {CHROMEDRIVER} is still missing");
    }
    Ok(Outcome::Installed)
}

// ---------------------------------------------------------------- npm

fn mtime(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn ensure_npm() -> Result<Outcome> {
    let dir = util::e2e_dir();
    let lock = dir.join("package-lock.json");
    if !lock.is_file() {
        bail!(
            "{} is missing (it is committed with package.json)",
            lock.display()
        );
    }
    // npm writes node_modules/.package-lock.json on every install: it tells
    // when node_modules was last brought in line with the lockfile.
    let installed = dir.join("node_modules").join(".package-lock.json");
    let fresh = match (mtime(&installed), mtime(&lock)) {
        (Some(i), Some(l)) => i >= l,
        _ => false,
    };
    let wasm_opt = dir.join("node_modules").join(".bin").join("wasm-opt");
    if fresh && wasm_opt.exists() {
        return Ok(Outcome::Present);
    }
    let mut c = util::cmd("npm");
    c.current_dir(&dir)
        .args(["ci", "--no-audit", "--no-fund"])
        // Playwright must never fetch a browser: we use Debian's chromium.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    run(&mut c)?;
    if !wasm_opt.exists() {
        bail!("npm ci finished but {} is missing", wasm_opt.display());
    }
    Ok(Outcome::Installed)
}

// ---------------------------------------------------------------- python venv

pub fn venv_dir() -> PathBuf {
    root().join("target").join("bench-venv")
}

pub fn venv_python() -> PathBuf {
    venv_dir().join("bin").join("python")
}

fn ensure_venv() -> Result<Outcome> {
    let py = venv_python();
    let simpy = || {
        probe(&py, &["-c", "import simpy; print(simpy.__version__)"]).as_deref()
            == Some(SIMPY_VERSION)
    };
    if py.exists() && simpy() {
        return Ok(Outcome::Present);
    }
    if !py.exists() {
        let dir = venv_dir();
        run(util::cmd("python3").arg("-m").arg("venv").arg(&dir))?;
    }
    run(util::cmd(&py).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        &format!("simpy=={SIMPY_VERSION}"),
    ]))?;
    if !simpy() {
        bail!(
            "simpy {SIMPY_VERSION} is not importable from {}",
            py.display()
        );
    }
    Ok(Outcome::Installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_versions_from_a_lockfile() {
        let lock = r#"
version = 4

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "cfg-if",
]

[[package]]
name = "wasm-bindgen-backend"
version = "0.2.130"

[[package]]
name = "web"
version = "0.1.0"
dependencies = [
 "wasm-bindgen",
]
"#;
        assert_eq!(lock_versions(lock, "wasm-bindgen"), vec!["0.2.130"]);
        assert_eq!(lock_versions(lock, "web"), vec!["0.1.0"]);
        assert!(lock_versions(lock, "trunk").is_empty());
    }

    #[test]
    fn toml_string_parses_key_value_lines() {
        assert_eq!(toml_string(r#"name = "x""#, "name"), Some("x"));
        assert_eq!(toml_string(r#"name="x""#, "name"), Some("x"));
        assert_eq!(toml_string(r#"names = "x""#, "name"), None);
        assert_eq!(toml_string(r#"version = 4"#, "version"), None);
    }
}
