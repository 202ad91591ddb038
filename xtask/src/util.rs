//! Small helpers shared by the xtask commands: paths, running tools, errors.

use std::ffi::OsString;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Error type of every xtask command: a message for the terminal.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error(format!("invalid JSON: {e}"))
    }
}

pub type Result<T = ()> = std::result::Result<T, Error>;

/// `Err(Error(format!(...)))` in one word.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::util::Error(format!($($arg)*)))
    };
}
pub(crate) use bail;

/// The workspace root (the parent of the `xtask` crate).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// `tests/e2e`, the npm + Playwright harness.
pub fn e2e_dir() -> PathBuf {
    root().join("tests").join("e2e")
}

/// Where `cargo install` puts binaries (`$CARGO_HOME/bin`, default `~/.cargo/bin`).
pub fn cargo_bin_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(home).join("bin"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo").join("bin"))
}

/// Put `tests/e2e/node_modules/.bin` (the working `wasm-opt` from npm's
/// `binaryen`) and cargo's bin dir (trunk, wasm-bindgen) in front of `PATH`
/// for every tool this process starts. Called once, first thing in `main`.
pub fn prepare_path() {
    let mut dirs: Vec<PathBuf> = vec![e2e_dir().join("node_modules").join(".bin")];
    dirs.extend(cargo_bin_dir());
    let old = std::env::var_os("PATH").unwrap_or_default();
    let mut all: Vec<PathBuf> = dirs;
    all.extend(std::env::split_paths(&old));
    // Keep the first occurrence of each entry.
    let mut seen = std::collections::HashSet::new();
    all.retain(|p| seen.insert(p.clone()));
    let joined: OsString = std::env::join_paths(all).unwrap_or(old);
    // Single-threaded at this point (called before anything is spawned).
    std::env::set_var("PATH", joined);
}

/// The cargo that runs us (`$CARGO`), so nested builds use the same toolchain.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root());
    cmd
}

/// A command for `program`, run from the workspace root.
pub fn cmd(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(root());
    cmd
}

/// Render a command the way a person would type it.
pub fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(char::is_whitespace) {
            s.push_str(&format!(" '{a}'"));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        if dir != root() {
            let rel = dir.strip_prefix(root()).unwrap_or(dir);
            s = format!("(cd {} && {s})", rel.display());
        }
    }
    s
}

/// Run a command with inherited stdio (its output streams to the terminal);
/// error if it cannot start or exits non-zero.
pub fn run(cmd: &mut Command) -> Result {
    let shown = display(cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .map_err(|e| Error(format!("could not start `{shown}`: {e}")))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Run a command, stream its stdout line by line to our stdout and hand each
/// line (without ANSI colour codes) to `on_line`. stderr is inherited.
pub fn run_streaming(cmd: &mut Command, mut on_line: impl FnMut(&str)) -> Result {
    let shown = display(cmd);
    println!("$ {shown}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error(format!("could not start `{shown}`: {e}")))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        print!("{line}");
        if !line.ends_with('\n') {
            println!();
        }
        on_line(&strip_ansi(line.trim_end_matches(['\r', '\n'])));
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Run a command quietly and return its trimmed stdout, or `None` if it could
/// not start or failed. Used for the quick "is it there?" checks.
pub fn probe(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Remove ANSI escape sequences (colours) from a line of tool output.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // CSI: parameters then one final byte in '@'..='~'.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Seconds since `start`, for the summaries.
pub fn secs(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colour_codes() {
        assert_eq!(
            strip_ansi("\u{1b}[32mtest result: ok\u{1b}[0m. 3 passed"),
            "test result: ok. 3 passed"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn root_holds_the_workspace_manifest() {
        assert!(root().join("Cargo.toml").is_file());
        assert!(root().join("xtask").is_dir());
    }
}
