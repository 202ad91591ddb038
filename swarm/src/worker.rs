//! The worker: a child process that reads one job per line on stdin (a case
//! seed, or a case file), runs it, and writes one result line (JSON) on
//! stdout. Panics are caught and reported with their message, location and
//! phase; stack overflows and failed allocations kill the process, and the
//! parent reports them from the exit and the last lines of stderr.
//!
//! The heap is capped (allocations past the hard cap fail) and so is the
//! address space (`RLIMIT_AS`, a backstop for anything the allocator does
//! not see). Cases run on a thread with an 8 MiB stack, the stack of the
//! CLI's main thread on Linux.

use crate::case::Case;
use crate::check::{check, Verdict};
use crate::run::Limits;
use crate::verdict::{Failure, Kind};
use crate::{gen, memory};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::sync::Mutex;
use std::time::Instant;

/// One job for a worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    /// Generate the case of this seed (restricted to a generator).
    Seed { seed: u64, only: Option<String> },
    /// Replay a case file.
    File { path: String },
}

impl Job {
    /// The case this job runs (also used by the parent to describe a case
    /// whose worker died).
    pub fn case(&self) -> Result<Case, String> {
        match self {
            Job::Seed { seed, only } => {
                // A generator bug must cost one case, not the run.
                let only = only.as_deref();
                std::panic::catch_unwind(|| gen::case(*seed, only))
                    .map_err(|_| format!("the generator panicked on seed {seed}"))
            }
            Job::File { path } => crate::corpus::read_case(path).map(|(c, _)| c),
        }
    }
}

/// One result line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    pub seed: u64,
    pub origin: String,
    pub note: String,
    /// `ran`, `rejected` or `failed`.
    pub verdict: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    pub events: u64,
    pub budget_hit: bool,
    pub ms: f64,
    pub peak_mb: f64,
}

static PANIC: Mutex<Option<String>> = Mutex::new(None);

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "(non-string payload)".into()
        };
        let at = info
            .location()
            .map_or(String::new(), |l| format!("{}:{}", l.file(), l.line()));
        *PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{at}\t{msg}"));
    }));
}

/// Caps the address space of this process.
fn limit_address_space(bytes: u64) {
    let lim = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: plain system call on a valid struct.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &lim);
    }
}

/// Runs one case, catching panics.
pub fn run_job(job: &Job, limits: Limits) -> Outcome {
    let start = Instant::now();
    memory::reset_peak();
    let case = match job.case() {
        Ok(c) => c,
        Err(e) => {
            let f = Failure::new(
                Kind::Panic,
                "no case: the generator or the case file failed",
                e,
            );
            return outcome_of(&Case::default_for(0), Verdict::Failed(f), start);
        }
    };
    crate::phase("start");
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&case, limits)));
    let verdict = res.unwrap_or_else(|_| {
        let raw = PANIC
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default();
        let (at, msg) = raw.split_once('\t').unwrap_or(("", &raw));
        let short: String = msg.lines().next().unwrap_or("").chars().take(100).collect();
        Verdict::Failed(Failure::new(
            Kind::Panic,
            format!("{at}: {}", crate::verdict::generalise(&short)),
            format!("panicked at {at} during {}: {msg}", crate::current_phase()),
        ))
    });
    outcome_of(&case, verdict, start)
}

fn outcome_of(case: &Case, v: Verdict, start: Instant) -> Outcome {
    let (verdict, failure, events, budget_hit) = match v {
        Verdict::Ran {
            events, budget_hit, ..
        } => ("ran", None, events, budget_hit),
        Verdict::Rejected(_) => ("rejected", None, 0, false),
        Verdict::Failed(f) => ("failed", Some(f), 0, false),
    };
    Outcome {
        seed: case.seed,
        origin: case.origin.clone(),
        note: case.describe(),
        verdict: verdict.into(),
        failure,
        events,
        budget_hit,
        ms: start.elapsed().as_secs_f64() * 1e3,
        peak_mb: memory::peak() as f64 / (1 << 20) as f64,
    }
}

/// The worker's main loop (`swarm worker`).
pub fn main(limits: Limits, hard_bytes: usize) {
    install_panic_hook();
    limit_address_space(hard_bytes as u64 + (4 << 30));
    memory::set_cap(hard_bytes);
    let t = std::thread::Builder::new()
        .name("case".into())
        .stack_size(8 << 20)
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut out = std::io::stdout().lock();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { break };
                let Ok(job) = serde_json::from_str::<Job>(&line) else {
                    continue;
                };
                let o = run_job(&job, limits);
                let text = serde_json::to_string(&o).unwrap_or_default();
                if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
                    break;
                }
            }
        })
        .expect("spawn the case thread");
    let _ = t.join();
}
