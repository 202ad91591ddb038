//! The parent: fans jobs out to worker processes (one per core by
//! default), gives each case a wall-clock budget, restarts workers that
//! hang or die, and keeps the tally. A worker that dies takes only its
//! current case with it: that case is recorded as `hang`, `oom`,
//! `stack_overflow` or `abort`, and the run goes on.
//!
//! Jobs are the corpus files first (regressions and known-open cases),
//! then case seeds fanned out from the root seed until `--cases` or
//! `--minutes` is reached.

use crate::corpus::{self, KnownList};
use crate::rng::case_seed;
use crate::run::Limits;
use crate::verdict::{Failure, Kind};
use crate::worker::{Job, Outcome};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the parent was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    pub seed: u64,
    pub cases: Option<u64>,
    pub minutes: Option<f64>,
    pub jobs: usize,
    pub only: Option<String>,
    pub case_timeout: Duration,
    pub limits: Limits,
    pub hard_bytes: usize,
    /// Replay the corpus before the generated cases.
    pub corpus: bool,
    /// Replay only these case files.
    pub replay: Vec<String>,
    /// Where failing cases are written.
    pub out: PathBuf,
    /// How the run is invoked, for the reproduction lines.
    pub command: String,
}

/// From a worker's reader threads: (worker slot, generation, ...). A slot
/// whose worker was replaced ignores the old one's messages.
enum Msg {
    Line(usize, u64, String),
    Eof(usize, u64),
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stderr: Arc<Mutex<VecDeque<String>>>,
    generation: u64,
    /// The case in flight: its job, when it started (wall clock and the
    /// worker's CPU seconds) and, for corpus files, the expectation.
    job: Option<(Job, Instant, Option<String>)>,
    cpu_at_start: f64,
}

fn spawn(i: usize, o: &Options, tx: &Sender<Msg>) -> std::io::Result<Worker> {
    static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let generation = GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .arg("worker")
        .args(["--max-work", &o.limits.max_work.to_string()])
        .args(["--stall-events", &o.limits.stall_events.to_string()])
        .args(["--soft-mb", &(o.limits.soft_bytes >> 20).to_string()])
        .args(["--hard-mb", &(o.hard_bytes >> 20).to_string()])
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx2.send(Msg::Line(i, generation, line)).is_err() {
                return;
            }
        }
        let _ = tx2.send(Msg::Eof(i, generation));
    });
    let tail2 = tail.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut t = tail2.lock().unwrap_or_else(|e| e.into_inner());
            t.push_back(line);
            if t.len() > 20 {
                t.pop_front();
            }
        }
    });
    Ok(Worker {
        child,
        stdin,
        stderr: tail,
        generation,
        job: None,
        cpu_at_start: 0.0,
    })
}

/// A failure as recorded: the case, the failure and whether it is known.
#[derive(Clone)]
pub struct Found {
    pub outcome: Outcome,
    pub failure: Failure,
    pub known: Option<String>,
    pub job: Job,
    /// For corpus files: the expectation.
    pub expect: Option<String>,
}

/// The tally of a run.
#[derive(Default)]
pub struct Tally {
    pub by_origin: BTreeMap<String, [u64; 3]>,
    pub found: Vec<Found>,
    pub corpus_ok: u64,
    pub corpus_fixed: Vec<String>,
    pub corpus_broken: Vec<String>,
    pub events: u64,
    pub budget_hits: u64,
}

impl Tally {
    pub fn cases(&self) -> u64 {
        self.by_origin.values().map(|v| v.iter().sum::<u64>()).sum()
    }
}

/// Runs the swarm. Returns the tally (the caller prints and judges it).
pub fn run(o: &Options) -> Result<Tally, String> {
    let known = corpus::known()?;
    let mut queue: VecDeque<(Job, Option<String>)> = VecDeque::new();
    let files: Vec<String> = if !o.replay.is_empty() {
        o.replay.clone()
    } else if o.corpus {
        corpus::files()
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    } else {
        Vec::new()
    };
    for f in files {
        let (_, expect) = corpus::read_case(&f)?;
        queue.push_back((Job::File { path: f }, Some(expect)));
    }
    let (tx, rx) = channel();
    let mut workers: Vec<Worker> = Vec::new();
    for i in 0..o.jobs.max(1) {
        workers.push(spawn(i, o, &tx).map_err(|e| format!("cannot start a worker: {e}"))?);
    }
    let mut st = State {
        o,
        known,
        tally: Tally::default(),
        next: 0,
        start: Instant::now(),
        last_progress: Instant::now(),
    };
    let generated = o.replay.is_empty();
    loop {
        for w in workers.iter_mut().filter(|w| w.job.is_none()) {
            let job = queue
                .pop_front()
                .or_else(|| if generated { st.next_seed() } else { None });
            if let Some((job, expect)) = job {
                send(w, job, expect);
            }
        }
        if workers.iter().all(|w| w.job.is_none()) {
            break;
        }
        st.wait(&rx, &mut workers, &tx)?;
        st.progress();
    }
    for mut w in workers {
        drop(w.stdin);
        let _ = w.child.wait();
    }
    Ok(st.tally)
}

fn send(w: &mut Worker, job: Job, expect: Option<String>) {
    let line = serde_json::to_string(&job).unwrap_or_default();
    let _ = writeln!(w.stdin, "{line}").and_then(|_| w.stdin.flush());
    w.job = Some((job, Instant::now(), expect));
    w.cpu_at_start = cpu_seconds(w.child.id()).unwrap_or(0.0);
}

struct State<'o> {
    o: &'o Options,
    known: KnownList,
    tally: Tally,
    next: u64,
    start: Instant,
    last_progress: Instant,
}

impl State<'_> {
    fn next_seed(&mut self) -> Option<(Job, Option<String>)> {
        if self.o.cases.is_some_and(|n| self.next >= n) {
            return None;
        }
        if self
            .o
            .minutes
            .is_some_and(|m| self.start.elapsed().as_secs_f64() > m * 60.0)
        {
            return None;
        }
        let seed = case_seed(self.o.seed, self.next);
        self.next += 1;
        Some((
            Job::Seed {
                seed,
                only: self.o.only.clone(),
            },
            None,
        ))
    }

    /// Waits for a result, a dead worker or a timeout.
    fn wait(
        &mut self,
        rx: &Receiver<Msg>,
        workers: &mut [Worker],
        tx: &Sender<Msg>,
    ) -> Result<(), String> {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Msg::Line(i, g, _) | Msg::Eof(i, g)) if workers[i].generation != g => {}
            Ok(Msg::Line(i, _, line)) => {
                let Ok(out) = serde_json::from_str::<Outcome>(&line) else {
                    return Ok(());
                };
                if let Some((job, _, expect)) = workers[i].job.take() {
                    self.record(out, job, expect);
                }
            }
            Ok(Msg::Eof(i, _)) => {
                let status = workers[i].child.wait().ok();
                std::thread::sleep(Duration::from_millis(50)); // let stderr drain
                let tail: Vec<String> = workers[i]
                    .stderr
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .cloned()
                    .collect();
                if let Some((job, t0, expect)) = workers[i].job.take() {
                    let f = died(&tail, status);
                    self.record_dead(job, t0, f, expect);
                }
                workers[i] =
                    spawn(i, self.o, tx).map_err(|e| format!("cannot restart a worker: {e}"))?;
            }
            Err(_) => {}
        }
        for (i, w) in workers.iter_mut().enumerate() {
            // The budget is CPU time: on a shared machine a starved worker
            // is slow, not hung. Wall time only backs it up (10x).
            let cpu = cpu_seconds(w.child.id()).map(|c| c - w.cpu_at_start);
            let budget = self.o.case_timeout.as_secs_f64();
            let late = w.job.as_ref().is_some_and(|(_, t0, _)| {
                cpu.is_some_and(|c| c > budget) || t0.elapsed().as_secs_f64() > 10.0 * budget
            });
            if late {
                let _ = w.child.kill();
                let _ = w.child.wait();
                let (job, t0, expect) = w.job.take().expect("late job");
                let secs = self.o.case_timeout.as_secs_f64();
                let f = Failure::new(
                    Kind::Hang,
                    "the time budget ran out",
                    format!("no answer within {secs} s of CPU time"),
                );
                self.record_dead(job, t0, f, expect);
                // The killed worker's Eof carries an old generation.
                *w = spawn(i, self.o, tx).map_err(|e| format!("cannot restart a worker: {e}"))?;
            }
        }
        Ok(())
    }

    fn record_dead(&mut self, job: Job, t0: Instant, failure: Failure, expect: Option<String>) {
        let case = job
            .case()
            .unwrap_or_else(|_| crate::case::Case::default_for(0));
        let out = Outcome {
            seed: case.seed,
            origin: case.origin.clone(),
            note: case.describe(),
            verdict: "failed".into(),
            failure: Some(failure),
            events: 0,
            budget_hit: false,
            ms: t0.elapsed().as_secs_f64() * 1e3,
            peak_mb: 0.0,
        };
        self.record(out, job, expect);
    }

    fn record(&mut self, out: Outcome, job: Job, expect: Option<String>) {
        let slot = self.tally.by_origin.entry(out.origin.clone()).or_default();
        let idx = match out.verdict.as_str() {
            "ran" => 0,
            "rejected" => 1,
            _ => 2,
        };
        slot[idx] += 1;
        self.tally.events += out.events;
        self.tally.budget_hits += out.budget_hit as u64;
        let name = match &job {
            Job::File { path } => Some(path.clone()),
            Job::Seed { .. } => None,
        };
        let Some(failure) = out.failure.clone() else {
            if let (Some(n), Some(e)) = (&name, &expect) {
                if e.starts_with("open:") {
                    self.tally.corpus_fixed.push(format!(
                        "{n} ({e}) now passes: mark it \"pass\" and drop its known.toml entry"
                    ));
                } else {
                    self.tally.corpus_ok += 1;
                }
            }
            return;
        };
        let known = self
            .known
            .matching(&failure, out.seed, &out.note)
            .map(|k| k.id.clone());
        if let (Some(n), Some(e)) = (&name, &expect) {
            match (e.strip_prefix("open:"), &known) {
                (Some(ids), Some(k)) if ids.split('|').any(|id| id == k) => {
                    self.tally.corpus_ok += 1
                }
                _ => self
                    .tally
                    .corpus_broken
                    .push(format!("{n} (expects {e}): {}", failure.signature)),
            }
        }
        if name.is_none() {
            self.save(&out, &job, &failure);
        }
        self.tally.found.push(Found {
            outcome: out,
            failure,
            known,
            job,
            expect,
        });
    }

    /// Writes a failing generated case to the output directory.
    fn save(&self, out: &Outcome, job: &Job, f: &Failure) {
        if let Ok(case) = job.case() {
            let path = self
                .o
                .out
                .join(format!("{}-{}.json", f.kind.name(), out.seed));
            let _ = corpus::write_case(
                &path,
                &case,
                "pass",
                &format!("{}: {}", f.signature, f.detail),
            );
        }
    }

    fn progress(&mut self) {
        if self.last_progress.elapsed() < Duration::from_secs(10) {
            return;
        }
        self.last_progress = Instant::now();
        let n = self.tally.cases();
        let secs = self.start.elapsed().as_secs_f64();
        let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
        for f in &self.tally.found {
            let k = if f.known.is_some() {
                "known-open"
            } else {
                f.failure.kind.name()
            };
            *kinds.entry(k).or_default() += 1;
        }
        let k: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!(
            "swarm: {n} cases in {secs:.0} s ({:.0}/s); failures: {}",
            n as f64 / secs,
            if k.is_empty() {
                "none".into()
            } else {
                k.join(", ")
            }
        );
    }
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), 1-based from
    // field 3: utime is field 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(ticks / hz)
}

/// Why a worker died, from its exit and the end of its stderr.
fn died(tail: &[String], status: Option<std::process::ExitStatus>) -> Failure {
    let text = tail.join(" | ");
    let how = status.map_or("unknown exit".into(), |s| format!("{s}"));
    if text.contains("has overflowed its stack") {
        Failure::new(
            Kind::StackOverflow,
            "stack overflow",
            format!("{how}: {}", text.trim()),
        )
    } else if text.contains("memory allocation of") {
        Failure::new(
            Kind::Oom,
            "an allocation failed at the hard cap",
            format!("{how}: {}", text.trim()),
        )
    } else {
        let last = tail.last().cloned().unwrap_or_default();
        Failure::new(
            Kind::Abort,
            crate::verdict::generalise(&last),
            format!("{how}: {}", text.trim()),
        )
    }
}
