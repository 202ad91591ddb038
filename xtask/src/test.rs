//! `cargo xtask test`: format check, native tests, a short fixed-seed swarm
//! (`cargo xtask fuzz`), the Python package's tests, in-browser wasm tests,
//! end-to-end Playwright tests against the release build. Stops at the first
//! failing step. Every tool's output streams to the terminal; the test counts
//! that cargo, wasm-bindgen-test and Playwright print are added up for the
//! closing line `tailsim: N passed, M failed`.

use std::process::Command;
use std::time::Instant;

use crate::server::Server;
use crate::setup::{CHROMEDRIVER, CHROMIUM};
use crate::util::{self, bail, cargo, root, Result};
use crate::{classroom, fuzz, setup, site};

/// Tests counted from the tools' own summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.passed += o.passed;
        self.failed += o.failed;
        self.skipped += o.skipped;
    }
}

/// `test result: ok. 12 passed; 0 failed; 1 ignored; ...` (cargo test and
/// wasm-bindgen-test-runner).
pub fn parse_cargo_summary(line: &str) -> Option<Counts> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let mut c = Counts::default();
    for part in rest.split(';') {
        let part = part
            .trim()
            .trim_start_matches("ok.")
            .trim_start_matches("FAILED.");
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => c.passed += n,
            "failed" => c.failed += n,
            "ignored" => c.skipped += n,
            _ => {}
        }
    }
    Some(c)
}

/// Playwright's `list` reporter ends with lines such as `  3 passed (4.1s)`,
/// `  1 failed`, `  1 flaky`, `  2 skipped`, `  1 did not run`.
pub fn parse_playwright_summary(line: &str) -> Option<Counts> {
    let mut words = line.split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    let what = words.next()?;
    let tail: Vec<&str> = words.collect();
    // Only the summary lines: nothing after the word but "(12.3s)" or "run".
    let tail_ok = match tail.as_slice() {
        [] => true,
        [t] => t.starts_with('(') && t.ends_with(')'),
        ["not", "run"] => what == "did",
        _ => false,
    };
    if !tail_ok {
        return None;
    }
    let mut c = Counts::default();
    match what {
        "passed" => c.passed = n,
        "failed" | "flaky" | "interrupted" => c.failed = n,
        "skipped" | "did" => c.skipped = n,
        _ => return None,
    }
    Some(c)
}

struct Step {
    name: &'static str,
    secs: f64,
    counts: Counts,
    ok: bool,
}

/// The steps, by the names `--skip` takes.
pub const STEPS: [&str; 6] = ["fmt", "native", "swarm", "python", "wasm", "e2e"];

pub fn test(skip: &[String]) -> Result {
    for s in skip {
        if !STEPS.contains(&s.as_str()) {
            bail!(
                "unknown step `{s}` for --skip (steps: {})",
                STEPS.join(", ")
            );
        }
    }
    let start = Instant::now();
    setup::setup(setup::Options {
        python: !skip.iter().any(|s| s == "python"),
        ..setup::Options::default()
    })?;

    let mut steps: Vec<Step> = Vec::new();
    let mut total = Counts::default();
    type StepFn = fn() -> Result<Counts>;
    let plan: [(&'static str, StepFn); 6] = [
        (
            "format and room sizes (cargo fmt --check, style)",
            fmt_check,
        ),
        ("native tests (cargo test --workspace)", native_tests),
        ("swarm (cargo xtask fuzz, fixed seed)", swarm),
        (
            "python package (pytest, Dask example)",
            crate::python::tests,
        ),
        ("wasm tests in headless Chromium", wasm_tests),
        ("end-to-end (Playwright, release build)", e2e_tests),
    ];
    let n = plan.len();
    let mut failure: Option<(usize, &str, String)> = None;
    for (i, (name, f)) in plan.into_iter().enumerate() {
        if skip.iter().any(|s| s == STEPS[i]) {
            println!(
                "\n==> [{}/{n}] {name}: skipped (--skip {})",
                i + 1,
                STEPS[i]
            );
            continue;
        }
        println!("\n==> [{}/{n}] {name}", i + 1);
        let t = Instant::now();
        let res = f();
        let mut step = Step {
            name,
            secs: util::secs(t),
            counts: Counts::default(),
            ok: res.is_ok(),
        };
        match res {
            Ok(c) => {
                step.counts = c;
                total.add(c);
                steps.push(step);
            }
            Err(e) => {
                steps.push(step);
                failure = Some((i, name, e.0));
                break;
            }
        }
    }

    println!("\n==> summary");
    for s in &steps {
        let tests = if s.counts == Counts::default() {
            String::new()
        } else {
            format!(
                "  {} passed, {} failed, {} skipped",
                s.counts.passed, s.counts.failed, s.counts.skipped
            )
        };
        println!(
            "  {:<4} {:<42} {:>7.1} s{tests}",
            if s.ok { "ok" } else { "FAIL" },
            s.name,
            s.secs
        );
    }
    println!("  total {:.1} s", util::secs(start));
    if let Some((i, name, msg)) = failure {
        println!("xtask test: FAILED at step {}/{n} ({name}): {msg}", i + 1);
        // A failing step that printed no test count (say, formatting) is one failure.
        println!(
            "tailsim: {} passed, {} failed",
            total.passed,
            total.failed.max(1)
        );
        bail!("step {}/{n} failed: {name}", i + 1);
    }
    if total.failed > 0 {
        // A tool exited 0 but reported failures: never call that green.
        println!("tailsim: {} passed, {} failed", total.passed, total.failed);
        bail!("{} test(s) reported as failed", total.failed);
    }
    println!("tailsim: {} passed, 0 failed", total.passed);
    Ok(())
}

fn counted(cmd: &mut Command, parse: fn(&str) -> Option<Counts>) -> Result<Counts> {
    let mut counts = Counts::default();
    let res = util::run_streaming(cmd, |line| {
        if let Some(c) = parse(line) {
            counts.add(c);
        }
    });
    res.map(|()| counts)
}

fn fmt_check() -> Result<Counts> {
    util::run(cargo().args(["fmt", "--all", "--", "--check"]))
        .map_err(|e| util::Error(format!("{e}\nformatting differs: run `cargo fmt --all`")))?;
    crate::style::check()?;
    Ok(Counts::default())
}

fn native_tests() -> Result<Counts> {
    counted(cargo().args(["test", "--workspace"]), parse_cargo_summary)
}

/// The short swarm: one check, passed when no failure is new (known-open
/// failures are printed, not counted) and the corpus replays as expected.
fn swarm() -> Result<Counts> {
    let exe = fuzz::build()?;
    util::run(util::cmd(exe).current_dir(root()).args(fuzz::SHORT))?;
    Ok(Counts {
        passed: 1,
        ..Counts::default()
    })
}

fn wasm_tests() -> Result<Counts> {
    let mut c = cargo();
    c.args(["test", "-p", "web", "--target", "wasm32-unknown-unknown"])
        // The tests run the engine on the page's thread (no worker script).
        .args(["--features", "main-thread-engine"])
        .env("CHROMEDRIVER", CHROMEDRIVER)
        // Root needs Chromium without its sandbox; the capabilities (binary,
        // flags) are in web/webdriver.json, which the runner reads from the
        // crate dir or from this variable.
        .env(
            "WASM_BINDGEN_TEST_WEBDRIVER_JSON",
            root().join("web").join("webdriver.json"),
        )
        // Test binaries without `wasm_bindgen_test_configure!` would run in
        // Node.js; run them in the browser too.
        .env("WASM_BINDGEN_USE_BROWSER", "1")
        .env("WASM_BINDGEN_TEST_TIMEOUT", "180");
    counted(&mut c, parse_cargo_summary)
}

fn e2e_tests() -> Result<Counts> {
    let dist = site::build_release()?;
    let server = Server::start(&dist, "127.0.0.1:0")
        .map_err(|e| util::Error(format!("cannot start the static server: {e}")))?;
    println!("e2e: serving {} on {}", dist.display(), server.url());
    // The classroom specs run against the classroom server (the same site,
    // and the rooms); the `test` profile reuses the native step's build.
    let exe = classroom::build("test")?;
    let class = classroom::Running::start(&exe, Some(&dist), "127.0.0.1", 0, &[])?;
    let mut c = util::cmd("npx");
    c.current_dir(util::e2e_dir())
        .args(["--no", "--", "playwright", "test"])
        .env("BASE_URL", server.url())
        .env("CLASSROOM_URL", &class.url)
        .env("CHROMIUM_PATH", CHROMIUM)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    let res = counted(&mut c, parse_playwright_summary);
    server.stop();
    drop(class);
    let counts = res?;
    if counts.passed == 0 && counts.failed == 0 {
        bail!("Playwright ran no test");
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cargo_summaries() {
        let c = parse_cargo_summary(
            "test result: ok. 12 passed; 0 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.01s",
        )
        .unwrap();
        assert_eq!(
            c,
            Counts {
                passed: 12,
                failed: 0,
                skipped: 3
            }
        );
        let c = parse_cargo_summary("test result: FAILED. 1 passed; 2 failed; 0 ignored").unwrap();
        assert_eq!((c.passed, c.failed), (1, 2));
        assert!(parse_cargo_summary("test foo ... ok").is_none());
    }

    #[test]
    fn parses_playwright_summaries() {
        assert_eq!(
            parse_playwright_summary("  3 passed (4.1s)")
                .unwrap()
                .passed,
            3
        );
        assert_eq!(parse_playwright_summary("  1 failed").unwrap().failed, 1);
        assert_eq!(parse_playwright_summary("  1 flaky").unwrap().failed, 1);
        assert_eq!(parse_playwright_summary("  2 skipped").unwrap().skipped, 2);
        assert_eq!(
            parse_playwright_summary("  1 did not run").unwrap().skipped,
            1
        );
        assert!(parse_playwright_summary("Running 3 tests using 1 worker").is_none());
        assert!(parse_playwright_summary("  1 passed the threshold of doom").is_none());
        assert!(
            parse_playwright_summary("  ✓  1 [chromium] › smoke.spec.ts:3:1 › loads (1.2s)")
                .is_none()
        );
    }
}
