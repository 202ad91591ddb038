//! The research CLI end to end (feature `cli`): sweeps, shards and merge,
//! resuming, bad input, standard input, the built-in lessons.

use crate::support::repo_root;
use std::borrow::BorrowMut;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn tailsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tailsim"))
}

/// A fresh, empty directory for one test, removed when the test ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

fn scratch(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("tailsim-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

fn run(mut cmd: impl BorrowMut<Command>) -> Output {
    cmd.borrow_mut()
        .stdin(Stdio::null())
        .output()
        .expect("tailsim starts")
}

fn ok(cmd: impl BorrowMut<Command>) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "tailsim failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not a terminal: no progress bar, nothing at all on standard error.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    String::from_utf8(out.stdout).unwrap()
}

fn mmc() -> PathBuf {
    repo_root().join("assets/scenarios/mmc.toml")
}

/// A small sweep of mmc.toml: 3 rates x 2 worker counts, 3 replications.
fn sweep(dir: &Path, extra: &[&str]) -> Command {
    let mut c = tailsim();
    c.current_dir(dir).arg("sweep").arg(mmc()).args([
        "--vary",
        "nodes.clients.arrival.rate=7:9:1",
        "--vary",
        "nodes.server.workers=10,11",
        "--replications",
        "3",
        "--duration",
        "1500",
        "--warmup",
        "100",
    ]);
    c.args(extra);
    c
}

#[test]
fn sharded_then_merged_equals_unsharded_byte_for_byte() {
    let d = scratch("shards");
    ok(sweep(&d, &["--out", "whole.csv", "--jobs", "2"]));
    for i in 1..=3 {
        ok(sweep(
            &d,
            &[
                "--shard",
                &format!("{i}/3"),
                "--out",
                &format!("s{i}.csv"),
                "--jobs",
                "1",
            ],
        ));
    }
    ok(tailsim().current_dir(&d).args([
        "merge",
        "s3.csv",
        "s1.csv",
        "s2.csv",
        "--out",
        "merged.csv",
    ]));
    let whole = std::fs::read(d.join("whole.csv")).unwrap();
    assert_eq!(std::fs::read(d.join("merged.csv")).unwrap(), whole);
    // JSON Lines too, through standard output.
    let jsonl = ok(&mut sweep(&d, &["--format", "jsonl"]));
    for i in 1..=2 {
        ok(sweep(
            &d,
            &[
                "--shard",
                &format!("{i}/2"),
                "--out",
                &format!("s{i}.jsonl"),
            ],
        ));
    }
    let merged = ok(tailsim()
        .current_dir(&d)
        .args(["merge", "s1.jsonl", "s2.jsonl"]));
    assert_eq!(merged, jsonl);
    // A shard missing is an error, and writes nothing.
    let out =
        run(tailsim()
            .current_dir(&d)
            .args(["merge", "s1.csv", "s2.csv", "--out", "partial.csv"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of 6 points are missing"));
    assert!(!d.join("partial.csv").exists());
}

#[test]
fn a_rerun_resumes_and_a_grown_grid_reuses_the_points_done() {
    let d = scratch("resume");
    ok(sweep(&d, &["--out", "r.csv"]));
    let first = std::fs::read_to_string(d.join("r.csv")).unwrap();
    // The same sweep again: every point is there, nothing runs, same bytes.
    let out = run(&mut sweep(&d, &["--out", "r.csv"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("resuming: 6 of 6 points"));
    assert_eq!(std::fs::read_to_string(d.join("r.csv")).unwrap(), first);
    // One more rate: 6 points reused, 2 run; the result is what a fresh
    // sweep of the grown grid writes.
    let grown = |c: &mut Command| {
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut n = tailsim();
        n.current_dir(&d);
        n.args(args.iter().map(|a| a.replace("7:9:1", "7:10:1")));
        n
    };
    let out = run(&mut grown(&mut sweep(&d, &["--out", "r.csv"])));
    assert!(String::from_utf8_lossy(&out.stderr).contains("resuming: 6 of 8 points"));
    ok(&mut grown(&mut sweep(&d, &["--out", "fresh.csv"])));
    assert_eq!(
        std::fs::read(d.join("r.csv")).unwrap(),
        std::fs::read(d.join("fresh.csv")).unwrap()
    );
    assert!(!d.join("r.csv.partial").exists());
    // Another study in the same file is refused, not mixed in.
    let out = run(&mut sweep(&d, &["--out", "r.csv", "--seed", "100"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("different seeds"));
}

#[test]
fn bad_sweep_input_names_the_problem_and_writes_nothing() {
    let d = scratch("bad");
    for (args, want) in [
        (
            vec!["--vary", "nodes.srv.workers=1,2"],
            "the scenario has no nodes.srv (nodes: clients, server)",
        ),
        (
            vec!["--vary", "nodes.server.workers=10:1:1"],
            "empty range: start 10 is above end 1",
        ),
        (
            vec!["--vary", "nodes.server.workers=10", "--shard", "3/2"],
            "--shard 3/2: the shard index must be between 1 and 2",
        ),
        (
            vec!["--vary", "nodes.server.workers=4,eight"],
            "nodes.server.workers: invalid type: string \"eight\"",
        ),
        (
            vec!["--vary", "nodes.server.workers=4:x:8"],
            "\"x\" is not a number",
        ),
        (
            vec![
                "--vary",
                "nodes.server.workers=4",
                "--metric",
                "nodes.api.utilisation",
            ],
            "no node \"api\"",
        ),
        (
            vec!["--vary", "nodes.server.workers=4", "--confidence", "95"],
            "--confidence: must be between 0 and 1",
        ),
        (
            vec![
                "--vary",
                "nodes.server.workers=4,8",
                "--vary",
                "nodes.clients.arrival.rate=1",
                "--zip",
            ],
            "same length",
        ),
    ] {
        let mut c = tailsim();
        c.current_dir(&d)
            .arg("sweep")
            .arg(mmc())
            .args(&args)
            .args(["--out", "o.csv", "--plot", "o.svg"]);
        let out = run(&mut c);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(want),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left files behind");
    }
}

#[test]
fn replications_report_intervals_pooled_latency_and_provenance() {
    let d = scratch("reps");
    let json = |jobs: &str| {
        ok(tailsim().current_dir(&d).arg("run").arg(mmc()).args([
            "--replications",
            "4",
            "--seed",
            "7",
            "--duration",
            "1500",
            "--warmup",
            "100",
            "--set",
            "nodes.server.workers=11",
            "--format",
            "json",
            "--jobs",
            jobs,
        ]))
    };
    let text = json("2");
    assert_eq!(text, json("1"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let p = &v["provenance"];
    assert_eq!(p["seeds"], serde_json::json!([7, 8, 9, 10]));
    assert_eq!(p["sets"], serde_json::json!(["nodes.server.workers=11"]));
    assert_eq!(p["tailsim"], env!("CARGO_PKG_VERSION"));
    assert_eq!(p["scenario_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(
        (p["duration_s"].as_f64(), p["warmup_s"].as_f64()),
        (Some(1500.0), Some(100.0))
    );
    let m = &v["metrics"]["end_to_end.latency_s.p99"];
    assert!(m["lo"].as_f64().unwrap() <= m["mean"].as_f64().unwrap());
    assert_eq!(m["values"].as_array().unwrap().len(), 4);
    assert!(v["pooled"]["requests"].as_u64().unwrap() > 10_000);
    // The table and CSV carry the intervals too.
    let csv = ok(tailsim().current_dir(&d).arg("run").arg(mmc()).args([
        "--replications",
        "3",
        "--duration",
        "1500",
        "--warmup",
        "100",
        "--format",
        "csv",
    ]));
    assert!(csv.starts_with("# tailsim replications {"));
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("kind,metric,n,mean,sd,half_width,lo,hi"));
    assert!(csv.contains("\npooled,end_to_end.latency_s.p99,"));
    let table = ok(tailsim().current_dir(&d).arg("run").arg(mmc()).args([
        "--replications",
        "3",
        "--duration",
        "1500",
        "--warmup",
        "100",
        "--confidence",
        "0.9",
    ]));
    assert!(
        table.contains("90% confidence interval (Student t, 2 df)"),
        "{table}"
    );
    assert!(table.contains("pooled over all"), "{table}");
}

#[test]
fn run_reads_standard_input_and_records_its_provenance() {
    let text = std::fs::read_to_string(mmc()).unwrap();
    let mut child = tailsim()
        .args(["run", "-", "--duration", "1000", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["scenario"], "M/M/10 at 90% load");
    assert_eq!(v["provenance"]["study"], "run");
    assert_eq!(v["provenance"]["seeds"], serde_json::json!([1]));
}

#[test]
fn lessons_work_from_any_directory_and_check_json_is_only_json() {
    let d = scratch("lessons");
    let list = ok(tailsim().current_dir(&d).args(["lessons", "list"]));
    assert!(list.contains("DATA-N+1"), "{list}");
    let show = ok(tailsim()
        .current_dir(&d)
        .args(["lessons", "show", "RES-RETRY-STORM"]));
    assert!(show.contains("Retries without backoff"));
    let out = run(tailsim().current_dir(&d).args([
        "lessons",
        "check",
        "THEORY-LITTLE",
        "--seeds",
        "1",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON alone ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(v[0]["id"], "THEORY-LITTLE");
}

#[test]
fn sweep_plots_are_svg_or_png() {
    let d = scratch("plot");
    ok(sweep(
        &d,
        &[
            "--out",
            "p.csv",
            "--plot",
            "p.svg",
            "--plot-metric",
            "nodes.server.utilisation",
        ],
    ));
    let svg = std::fs::read_to_string(d.join("p.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("workers = 11"),
        "{}",
        &svg[..200]
    );
    ok(tailsim().current_dir(&d).args(["plot", "p.csv", "p.png"]));
    assert_eq!(&std::fs::read(d.join("p.png")).unwrap()[1..4], b"PNG");
    let out = run(tailsim().current_dir(&d).args(["plot", "p.csv", "p.gif"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".svg or .png"));
}

#[test]
fn the_memory_budget_is_a_flag_and_an_outgrown_budget_names_the_node() {
    // An api of one 1 s worker offered 1,000 requests/s with an unbounded
    // queue: its backlog grows by ~999 a second, so a budget of 500
    // requests is passed within the first second.
    let dir = scratch("budget");
    let file = dir.join("overload.toml");
    std::fs::write(
        &file,
        r#"
        version = 1
        name = "overload"
        duration_s = 10
        [nodes.src]
        kind = "source"
        target = "api"
        arrival = { process = "poisson", rate = 1000 }
        [nodes.api]
        kind = "service"
        workers = 1
        service = { dist = "constant", value_s = 1 }
        "#,
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = run(tailsim().args(["run", f, "--max-in-flight", "500"]));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("over its budget of 500 requests"), "{err}");
    assert!(err.contains("node api holds"), "{err}");
    // The default budget (a million) holds ten seconds of it.
    ok(tailsim().args(["run", f, "--format", "json"]));
    // Zero is refused by the flag's parser, naming the flag.
    let out = run(tailsim().args(["run", f, "--max-in-flight", "0"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--max-in-flight"),
        "{err}"
    );
}
