//! The classroom server (`classroom/`, binary `tailsim-classroom`) for
//! `cargo xtask serve --classroom`, the end-to-end tests and
//! `cargo xtask bench --only classroom` (its load test).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::util::{self, bail, cargo, root, run, Result};

/// Builds `tailsim-classroom` with `profile` and returns its path.
/// `server` (release speed, panics unwind) for people and the bench;
/// `test` in the test run, which reuses the native step's build.
pub fn build(profile: &str) -> Result<PathBuf> {
    run(cargo().args([
        "build",
        "--profile",
        profile,
        "-p",
        "classroom",
        "--bin",
        "tailsim-classroom",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let dir = match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        p => p,
    };
    let exe = target.join(dir).join("tailsim-classroom");
    if !exe.is_file() {
        bail!(
            "cargo built the classroom server but {} is missing",
            exe.display()
        );
    }
    Ok(exe)
}

/// A running classroom server; stopped when dropped.
pub struct Running {
    child: Child,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
}

impl Running {
    /// Starts `exe` and waits for the line that names its address. The rest
    /// of its output goes to this terminal.
    pub fn start(
        exe: &Path,
        dist: Option<&Path>,
        host: &str,
        port: u16,
        extra: &[String],
    ) -> Result<Running> {
        let mut cmd = Command::new(exe);
        cmd.args(["--host", host, "--port", &port.to_string()])
            .args(extra);
        if let Some(d) = dist {
            cmd.arg("--dist").arg(d);
        }
        let mut child = cmd.stdout(Stdio::piped()).spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().transpose()?.unwrap_or_default();
        let Some(url) = first
            .strip_prefix("tailsim classroom: listening on ")
            .map(|u| u.trim_end_matches('/').to_string())
        else {
            let _ = child.kill();
            bail!("the classroom server did not start: {first:?}");
        };
        println!("{first}");
        std::thread::spawn(move || {
            for line in lines.map_while(|l| l.ok()) {
                println!("{line}");
            }
        });
        Ok(Running { child, url })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Until it exits (Ctrl-C reaches it too).
    pub fn wait(mut self) -> Result {
        self.child.wait()?;
        Ok(())
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cargo xtask serve --classroom`: the site and the rooms, one server.
pub fn serve(dist: &Path, host: &str, port: u16) -> Result {
    let exe = build("server")?;
    let server = Running::start(&exe, Some(dist), host, port, &[])
        .map_err(|e| util::Error(format!("{e} (another server on port {port}? try --port)")))?;
    server.wait()
}

/// Options of the load test.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub students: usize,
    pub rounds: usize,
}

/// `cargo xtask bench --only classroom`: N students in one room on
/// loopback; prints the server's memory and the latency percentiles.
pub fn bench(o: &LoadOptions) -> Result {
    let exe = build("server")?;
    let room = ["--max-students".to_string(), o.students.to_string()];
    let server = Running::start(&exe, None, "127.0.0.1", 0, &room)?;
    println!(
        "classroom: {} students join one room, then {} rounds by turns of a ping each \
         (the yardstick: a round trip that touches no room) and a prediction each",
        o.students, o.rounds
    );
    let out = Command::new(&exe)
        .args(["load", "--addr", server.addr()])
        .args(["--students", &o.students.to_string()])
        .args(["--rounds", &o.rounds.to_string()])
        .args(["--pid", &server.pid().to_string()])
        .stderr(Stdio::inherit())
        .output()?;
    drop(server);
    if !out.status.success() {
        bail!("the load test failed ({})", out.status);
    }
    let report: Value = serde_json::from_slice(&out.stdout)?;
    print_report(&report);
    if report["distribution_exact"] != Value::Bool(true) {
        bail!("the teacher's distribution was not exactly the class's predictions");
    }
    Ok(())
}

fn print_report(r: &Value) {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let kb = |v: &Value| {
        v.as_u64()
            .map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
    };
    let students = f(&r["students"]);
    println!(
        "\nclassroom load test ({} students, one room, loopback)",
        r["students"]
    );
    println!(
        "  every student joined in        {:>8.2} s",
        f(&r["join_s"])
    );
    println!(
        "  server memory (RSS), no student{:>10}",
        kb(&r["rss_idle_kb"])
    );
    println!(
        "  server memory (RSS), all in    {:>10}",
        kb(&r["rss_full_kb"])
    );
    if let (Some(a), Some(b)) = (r["rss_idle_kb"].as_u64(), r["rss_full_kb"].as_u64()) {
        println!(
            "  per student                    {:>8.1} KiB",
            (b.saturating_sub(a)) as f64 / students
        );
    }
    println!("  round trips (ms)       p50      p95      p99      max");
    for (name, key) in [
        ("predict -> ack", "predict"),
        ("ping -> pong", "ping"),
        ("reveal -> all", "reveal_broadcast"),
    ] {
        let l = &r[key];
        println!(
            "  {name:<16} {:>8.2} {:>8.2} {:>8.2} {:>8.2}  (n = {})",
            f(&l["p50_ms"]),
            f(&l["p95_ms"]),
            f(&l["p99_ms"]),
            f(&l["max_ms"]),
            l["n"]
        );
    }
    let mut ratios: Vec<f64> = r["ratio_p50_by_round"]
        .as_array()
        .map(|a| a.iter().map(f).collect())
        .unwrap_or_default();
    ratios.sort_by(f64::total_cmp);
    if let Some(m) = ratios.get(ratios.len() / 2) {
        println!(
            "  predict/ping p50, by turns: median {m:.2} over {} rounds (min {:.2}, max {:.2})",
            ratios.len(),
            ratios[0],
            ratios[ratios.len() - 1]
        );
    }
    println!(
        "  the last round's predictions -> the teacher's exact distribution: {:.0} ms",
        f(&r["teacher_tally_ms"])
    );
    println!("  distribution exact: {}", r["distribution_exact"]);
}
