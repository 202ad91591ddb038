//! Studies (feature `research`): independent replications of a scenario
//! with confidence intervals ([`replicate`]), and what-if sweeps over a grid
//! of parameters ([`sweep`]), run on all cores with rayon. The CLI and the
//! Python package both call these functions, so their numbers are the same
//! by construction.
//!
//! Determinism: a run depends only on its scenario and seed; results are
//! kept by (point, replication) index and reduced in that order, so the
//! output is byte-identical whatever the number of threads or the order in
//! which runs finish. Every point of a sweep uses the same seeds: common
//! random numbers, so differences between points are the parameters', not
//! the dice's.

pub mod grid;
pub mod provenance;
mod render;
pub mod replicate;
pub mod sweep;
pub mod table;

pub use render::{seed_text, sig};

use crate::calendar::secs_to_ns;
use crate::metrics::LatencyHist;
use crate::report::Report;
use crate::scenario::{Format, Scenario, ScenarioDoc, ScenarioError};
use crate::sim::Sim;
use rayon::prelude::*;
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// What went wrong in a study, with the field or option it concerns.
#[derive(Clone, Debug, PartialEq)]
pub enum StudyError {
    /// The scenario is invalid at `error.path` once `context` (an override,
    /// a sweep point) is applied.
    Scenario {
        context: String,
        error: ScenarioError,
    },
    /// A study option is wrong: `option` names it (`--vary`, `--shard`...).
    Option { option: String, message: String },
    /// A run could not be measured (a metric that does not evaluate...).
    Run(String),
    /// A file to resume from or merge is unusable.
    File(String),
}

impl StudyError {
    pub fn option(option: impl Into<String>, message: impl Into<String>) -> StudyError {
        StudyError::Option {
            option: option.into(),
            message: message.into(),
        }
    }

    fn scenario(context: impl Into<String>, error: ScenarioError) -> StudyError {
        StudyError::Scenario {
            context: context.into(),
            error,
        }
    }

    /// The dotted path of the scenario field or the option at fault.
    pub fn path(&self) -> Option<&str> {
        match self {
            StudyError::Scenario { error, .. } => Some(&error.path),
            StudyError::Option { option, .. } => Some(option),
            _ => None,
        }
    }
}

impl fmt::Display for StudyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StudyError::Scenario { context, error } if context.is_empty() => write!(f, "{error}"),
            StudyError::Scenario { context, error } => write!(f, "{context}: {error}"),
            StudyError::Option { option, message } => write!(f, "{option}: {message}"),
            StudyError::Run(m) | StudyError::File(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for StudyError {}

/// How the warm-up (the stretch excluded from statistics) is chosen.
#[derive(Clone, Debug, PartialEq)]
pub enum Warmup {
    /// The scenario's `warmup_s`.
    Scenario,
    /// This many seconds.
    Fixed(f64),
    /// MSER-5 on a windowed series (see [`crate::analysis::metrics::window_series`])
    /// of pilot runs: each replication is run once without warm-up, the
    /// series is averaged over replications window by window, MSER-5 cuts
    /// it, and the replications run again with that warm-up.
    Auto { series: String },
}

/// What every study starts from: a scenario document with its `--set`
/// overrides applied, and the run length.
#[derive(Clone, Debug)]
pub struct Base {
    pub doc: ScenarioDoc,
    /// The overrides, as given (`PATH=VALUE`), for the provenance.
    pub sets: Vec<String>,
    pub duration_s: Option<f64>,
    pub warmup: Warmup,
    /// The run's budget of requests in flight (its statistics may take
    /// 300 bytes a request): the engine's default when `None`.
    pub max_in_flight: Option<u64>,
}

impl Base {
    /// Parses scenario text (TOML or JSON, sniffed) and applies `--set`
    /// overrides (`PATH=VALUE`, the value JSON or a bare string).
    pub fn parse(text: &str, sets: &[String]) -> Result<Base, StudyError> {
        let doc = ScenarioDoc::parse(text, Format::sniff(text))
            .map_err(|e| StudyError::scenario("", e))?;
        let mut base = Base::new(doc);
        for s in sets {
            base.set(s)?;
        }
        Ok(base)
    }

    pub fn new(doc: ScenarioDoc) -> Base {
        Base {
            doc,
            sets: Vec::new(),
            duration_s: None,
            warmup: Warmup::Scenario,
            max_in_flight: None,
        }
    }

    /// Applies one `PATH=VALUE` override.
    pub fn set(&mut self, s: &str) -> Result<(), StudyError> {
        let edit =
            crate::Edit::parse(s).map_err(|e| StudyError::scenario(format!("--set {s}"), e))?;
        self.doc
            .apply(&edit)
            .map_err(|e| StudyError::scenario(format!("--set {s}"), e))?;
        self.sets.push(s.to_string());
        Ok(())
    }

    /// Applies one override with a typed value (from Python); recorded as
    /// `PATH=<JSON>`.
    pub fn set_value(&mut self, path: &str, value: Value) -> Result<(), StudyError> {
        let shown = format!("{path}={value}");
        self.doc
            .set_value(path, value)
            .map_err(|e| StudyError::scenario(format!("set {shown}"), e))?;
        self.sets.push(shown);
        Ok(())
    }

    /// Checks the options that do not need a run.
    pub fn check(&self) -> Result<(), StudyError> {
        if let Some(d) = self.duration_s {
            if !(d.is_finite() && d > 0.0) {
                return Err(StudyError::option(
                    "duration",
                    format!("must be > 0 seconds, got {d}"),
                ));
            }
        }
        if let Warmup::Fixed(w) = self.warmup {
            if !(w.is_finite() && w >= 0.0) {
                return Err(StudyError::option(
                    "warmup",
                    format!("must be >= 0 seconds, got {w}"),
                ));
            }
        }
        if self.max_in_flight == Some(0) {
            return Err(StudyError::option(
                "max-in-flight",
                "must be at least 1 request",
            ));
        }
        Ok(())
    }

    /// The scenario a point runs (`params` set), ready to run.
    pub(crate) fn prepare(&self, params: &[(String, Value)]) -> Result<Prepared, ScenarioError> {
        let mut p = Prepared::new(self.point_doc(params)?)?;
        p.max_in_flight = self
            .max_in_flight
            .unwrap_or(crate::sim::DEFAULT_MAX_IN_FLIGHT);
        Ok(p)
    }

    /// The document a point runs: the base with `params` set, then the
    /// duration and a fixed warm-up.
    fn point_doc(&self, params: &[(String, Value)]) -> Result<ScenarioDoc, ScenarioError> {
        let mut doc = self.doc.clone();
        for (p, v) in params {
            doc.set_value(p, v.clone())?;
        }
        if let Some(d) = self.duration_s {
            doc.set_value("duration_s", d.into())?;
        }
        if let Warmup::Fixed(w) = self.warmup {
            doc.set_value("warmup_s", w.into())?;
        }
        Ok(doc)
    }
}

/// A scenario ready to run, as `tailsim run` runs it: about 1000 windows
/// over the run unless the scenario sets `metrics.window_s`.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    doc: ScenarioDoc,
    pub(crate) scenario: Scenario,
    window_given: bool,
    max_in_flight: u64,
}

impl Prepared {
    pub(crate) fn new(doc: ScenarioDoc) -> Result<Prepared, ScenarioError> {
        let scenario = doc.build()?;
        let window_given = doc.get("metrics.window_s").is_some();
        Ok(Prepared {
            doc,
            scenario,
            window_given,
            max_in_flight: crate::sim::DEFAULT_MAX_IN_FLIGHT,
        })
    }

    /// The same scenario with another warm-up.
    fn with_warmup(&self, warmup_s: f64) -> Result<Prepared, ScenarioError> {
        let mut doc = self.doc.clone();
        doc.set_value("warmup_s", warmup_s.into())?;
        let mut p = Prepared::new(doc)?;
        p.window_given = self.window_given;
        p.max_in_flight = self.max_in_flight;
        Ok(p)
    }

    pub(crate) fn duration_s(&self) -> f64 {
        self.scenario.duration_s
    }

    pub(crate) fn warmup_s(&self) -> f64 {
        self.scenario.warmup_s
    }

    /// One replication: the report and the end-to-end latency histogram.
    pub(crate) fn run(&self, seed: u64) -> Result<(Report, LatencyHist), String> {
        self.run_windowed(seed, !self.window_given)
    }

    fn run_windowed(&self, seed: u64, auto: bool) -> Result<(Report, LatencyHist), String> {
        let mut sim = Sim::new(&self.scenario, seed).map_err(|e| e.to_string())?;
        sim.set_max_in_flight(self.max_in_flight);
        if auto {
            sim.auto_window(self.scenario.duration_s);
        }
        sim.run_until(secs_to_ns(self.scenario.duration_s))
            .map_err(|e| format!("seed {seed}: the run stopped: {e}"))?;
        Ok((sim.report(), sim.latency_histogram().clone()))
    }

    /// A pilot run for warm-up detection: no warm-up, and windows over the
    /// whole run (never a ring that dropped the first ones).
    fn pilot(&self, seed: u64, series: &str) -> Result<Pilot, String> {
        let pilot = self.with_warmup(0.0).map_err(|e| e.to_string())?;
        let (r, _) = pilot.run_windowed(seed, true)?;
        Ok(Pilot {
            series: crate::analysis::metrics::window_series(&r, series)?,
            window_s: r.series.window_s,
        })
    }
}

/// A pilot run's windowed series, windows from time 0 on.
pub(crate) struct Pilot {
    pub(crate) series: Vec<f64>,
    pub(crate) window_s: f64,
}

/// One run of the base scenario under `seed`, set up as every study run is
/// (about 1000 windows unless the scenario sets `metrics.window_s`), with
/// its provenance. `--warmup auto` needs replications: use [`replicate`].
pub fn run_once(base: &Base, seed: u64) -> Result<(Report, provenance::Provenance), StudyError> {
    base.check()?;
    if let Warmup::Auto { .. } = base.warmup {
        return Err(StudyError::option(
            "warmup",
            "auto needs replications (replicate)",
        ));
    }
    let sc_err = |e| StudyError::scenario("", e);
    let p = base.prepare(&[]).map_err(sc_err)?;
    let (report, _) = p.run(seed).map_err(StudyError::Run)?;
    let provenance = provenance::Provenance {
        tailsim: VERSION.into(),
        study: "run".into(),
        scenario: p.scenario.name.clone(),
        scenario_sha256: scenario_hash(&p.scenario),
        sets: base.sets.clone(),
        seeds: vec![seed],
        duration_s: p.duration_s(),
        warmup_rule: sweep::warmup_rule(&base.warmup),
        warmup_s: Some(p.warmup_s()),
        confidence: None,
        vary: Vec::new(),
        zip: false,
        metrics: Vec::new(),
        shard: None,
    };
    Ok((report, provenance))
}

/// The scenario's own seed (`seed` in the file; 1 when absent).
pub fn scenario_seed(base: &Base) -> Result<u64, StudyError> {
    let sc = base.doc.build().map_err(|e| StudyError::scenario("", e))?;
    Ok(sc.seed)
}

/// Receives progress: how many runs there are (it can grow, when a
/// precision target adds replications) and each one that finishes.
pub trait Progress: Sync {
    fn add_total(&self, _runs: u64) {}
    fn finished(&self) {}
    /// A new phase starts (pilot runs, replications...).
    fn phase(&self, _what: &str) {}
}

/// Progress nobody watches.
pub struct Quiet;
impl Progress for Quiet {}

/// A pool of worker threads for a study (`--jobs`).
pub struct Exec {
    pool: rayon::ThreadPool,
}

impl Exec {
    /// `jobs` threads (default: one per CPU).
    pub fn new(jobs: Option<usize>) -> Result<Exec, StudyError> {
        if jobs == Some(0) {
            return Err(StudyError::option("jobs", "must be at least 1"));
        }
        let n = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| StudyError::Run(format!("cannot start {n} worker threads: {e}")))?;
        Ok(Exec { pool })
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }
}

/// The runs of one point, in seed order, and their merged latency histogram.
pub(crate) struct PointRuns<T> {
    pub(crate) runs: Vec<T>,
    pub(crate) hist: LatencyHist,
}

struct Slot<T> {
    runs: Vec<Option<T>>,
    hist: Option<LatencyHist>,
}

/// Runs `run(point, seed)` for every point in `points` and every seed, in
/// parallel, and hands each point to `done` once all its runs are in, with
/// the runs in seed order (so what `done` computes never depends on which
/// run finished first). Histograms are merged as runs finish: bucket counts
/// add up the same in any order. Stops at the first error.
pub(crate) fn for_each_point<T: Send>(
    exec: &Exec,
    points: &[usize],
    seeds: &[u64],
    run: &(dyn Fn(usize, u64) -> Result<(T, LatencyHist), String> + Sync),
    done: &(dyn Fn(usize, PointRuns<T>) -> Result<(), StudyError> + Sync),
    progress: &dyn Progress,
) -> Result<(), StudyError> {
    let ns = seeds.len();
    let slots: Vec<Mutex<Slot<T>>> = points
        .iter()
        .map(|_| {
            Mutex::new(Slot {
                runs: (0..ns).map(|_| None).collect(),
                hist: None,
            })
        })
        .collect();
    let left: Vec<AtomicUsize> = points.iter().map(|_| AtomicUsize::new(ns)).collect();
    exec.pool.install(|| {
        (0..points.len() * ns).into_par_iter().try_for_each(|job| {
            let (i, r) = (job / ns, job % ns);
            let (point, seed) = (points[i], seeds[r]);
            let (value, hist) = run(point, seed)
                .map_err(|e| StudyError::Run(format!("point {point}, seed {seed}: {e}")))?;
            {
                let mut slot = slots[i].lock().expect("no panics while held");
                slot.runs[r] = Some(value);
                match &mut slot.hist {
                    Some(h) => h.add(&hist),
                    None => slot.hist = Some(hist),
                }
            }
            progress.finished();
            if left[i].fetch_sub(1, Ordering::AcqRel) == 1 {
                let slot = std::mem::replace(
                    &mut *slots[i].lock().expect("no panics while held"),
                    Slot {
                        runs: Vec::new(),
                        hist: None,
                    },
                );
                let runs = slot.runs.into_iter().map(|x| x.expect("all in")).collect();
                let hist = slot.hist.expect("at least one run");
                done(point, PointRuns { runs, hist })?;
            }
            Ok(())
        })
    })
}

/// The hex SHA-256 of the scenario as it runs (typed, after overrides):
/// formatting, comments and key order do not change it.
pub fn scenario_hash(sc: &Scenario) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_string(sc).expect("a scenario serialises");
    let digest = Sha256::digest(json.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seeds `first..first + n`.
pub fn consecutive_seeds(first: u64, n: usize) -> Result<Vec<u64>, StudyError> {
    (0..n as u64)
        .map(|i| {
            first
                .checked_add(i)
                .ok_or_else(|| StudyError::option("seed", "seed + replications overflows u64"))
        })
        .collect()
}

/// Checks an explicit seed list: not empty, no repeats (a repeated seed is
/// the same run twice, not an independent replication).
pub fn check_seeds(seeds: &[u64]) -> Result<(), StudyError> {
    if seeds.is_empty() {
        return Err(StudyError::option("seeds", "at least one seed is needed"));
    }
    let mut sorted = seeds.to_vec();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(StudyError::option(
            "seeds",
            format!(
                "seed {} appears twice: replications must be independent",
                w[0]
            ),
        ));
    }
    Ok(())
}

/// Checks a confidence level.
pub fn check_confidence(c: f64) -> Result<(), StudyError> {
    if c.is_finite() && c > 0.0 && c < 1.0 {
        Ok(())
    } else {
        Err(StudyError::option(
            "confidence",
            format!("must be between 0 and 1 (0.95 for 95%), got {c}"),
        ))
    }
}

/// The tailsim version that wrote an output.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::*;

    const MM1: &str = r#"
        version = 1
        name = "mm1"
        duration_s = 100
        [nodes.clients]
        kind = "source"
        target = "server"
        arrival = { process = "poisson", rate = 0.5 }
        [nodes.server]
        kind = "service"
        workers = 1
        service = { dist = "exponential", mean_s = 1.0 }
    "#;

    #[test]
    fn set_errors_name_the_override_and_the_field() {
        let e = Base::parse(MM1, &["nodes.server.workers".into()]).unwrap_err();
        assert!(e.to_string().contains("expected PATH=VALUE"), "{e}");
        let mut b = Base::parse(MM1, &["nodes.server.workers=3".into()]).unwrap();
        assert_eq!(b.sets, vec!["nodes.server.workers=3"]);
        b.set_value("nodes.server.workers", Value::from("many"))
            .unwrap();
        let e = Prepared::new(b.point_doc(&[]).unwrap()).unwrap_err();
        assert_eq!(e.path, "nodes.server.workers");
    }

    #[test]
    fn hash_ignores_formatting_but_not_values() {
        let a = Scenario::from_toml_str(MM1).unwrap();
        let b = Scenario::from_toml_str(&format!("# a comment\n{MM1}")).unwrap();
        assert_eq!(scenario_hash(&a), scenario_hash(&b));
        let c = Scenario::from_toml_str(&MM1.replace("0.5", "0.6")).unwrap();
        assert_ne!(scenario_hash(&a), scenario_hash(&c));
        assert_eq!(scenario_hash(&a).len(), 64);
    }

    #[test]
    fn seeds_and_confidence_are_checked() {
        assert_eq!(consecutive_seeds(7, 3).unwrap(), vec![7, 8, 9]);
        assert!(consecutive_seeds(u64::MAX, 2).is_err());
        assert!(check_seeds(&[]).is_err());
        assert!(check_seeds(&[3, 7, 3])
            .unwrap_err()
            .to_string()
            .contains("seed 3"));
        assert!(check_confidence(0.95).is_ok());
        for c in [0.0, 1.0, 95.0, f64::NAN] {
            assert!(check_confidence(c).is_err(), "{c}");
        }
    }

    #[test]
    fn points_come_back_whole_and_in_seed_order_whatever_the_threads() {
        let base = Base::parse(MM1, &[]).unwrap();
        let p = Prepared::new(base.point_doc(&[]).unwrap()).unwrap();
        let seeds = [5, 6, 7, 8, 9];
        let collect = |threads| {
            let out = Mutex::new(Vec::new());
            let run = |point: usize, seed: u64| {
                let (r, h) = p.run(seed)?;
                Ok(((point, seed, r.end_to_end.completed), h))
            };
            let done = |point: usize, pr: PointRuns<(usize, u64, u64)>| {
                out.lock().unwrap().push((point, pr.runs, pr.hist.count()));
                Ok(())
            };
            let exec = Exec::new(Some(threads)).unwrap();
            for_each_point(&exec, &[0, 3], &seeds, &run, &done, &Quiet).unwrap();
            let mut v = out.into_inner().unwrap();
            v.sort_by_key(|x| x.0);
            v
        };
        let one = collect(1);
        assert_eq!(one, collect(2));
        assert_eq!(one.len(), 2);
        let seeds_back: Vec<u64> = one[0].1.iter().map(|x| x.1).collect();
        assert_eq!(seeds_back, seeds);
        let completed: u64 = one[0].1.iter().map(|x| x.2).sum();
        assert_eq!(one[0].2, completed, "pooled histogram counts every request");
    }
}
