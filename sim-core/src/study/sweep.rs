//! What-if sweeps: a grid of scenario variants, the same seeds at every
//! point (common random numbers), every (point, seed) run in parallel, and
//! per point the runs' metrics, their means with confidence intervals and
//! the pooled latency percentiles. [`super::table`] writes them as tidy rows.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

use super::grid::{Grid, Shard};
use super::provenance::Provenance;
use super::{
    for_each_point, scenario_hash, Base, Exec, Prepared, Progress, StudyError, Warmup, VERSION,
};
use crate::analysis::metrics::{
    default_metrics, is_path, measure, pooled_field, pooled_value, scalars,
};
use crate::analysis::{mser5, Interval, Pooled};
use crate::sim::Sim;

/// A sweep as asked for.
#[derive(Clone, Debug)]
pub struct SweepSpec {
    pub base: Base,
    pub grid: Grid,
    pub seeds: Vec<u64>,
    /// Report paths or lesson expressions; `None`: [`default_metrics`].
    pub metrics: Option<Vec<String>>,
    pub confidence: f64,
    pub shard: Option<Shard>,
}

/// One replication of one point: its metrics in the sweep's metric order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub replication: usize,
    pub seed: u64,
    pub values: Vec<f64>,
}

/// Everything a sweep measured at one point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Position in the whole grid.
    pub index: usize,
    /// One value per varied parameter.
    pub params: Vec<Value>,
    pub warmup_s: f64,
    /// In replication order.
    pub runs: Vec<RunResult>,
    /// Per metric: the mean over replications and its interval.
    pub summary: Vec<Interval>,
    /// Per metric: the pooled value for end-to-end latency metrics.
    pub pooled: Vec<Option<f64>>,
    /// Requests in the pooled histogram.
    pub pooled_requests: u64,
}

/// A validated sweep, ready to run: every point's scenario builds.
pub struct Plan {
    pub provenance: Provenance,
    pub grid: Grid,
    pub metrics: Vec<String>,
    seeds: Vec<u64>,
    confidence: f64,
    warmup: Warmup,
    shard: Option<Shard>,
    /// Per grid point in the shard (others `None`).
    prepared: Vec<Option<Prepared>>,
}

/// What running a plan found besides the numbers.
#[derive(Clone, Debug, Default)]
pub struct Notes {
    /// Runs whose conservation check failed (an engine bug; name the seed).
    pub conservation: Vec<String>,
    /// Points where MSER-5 found no reliable warm-up.
    pub unreliable_warmup: Vec<usize>,
}

impl Plan {
    /// Checks everything that can be checked before running: the paths and
    /// values of every point (each point's scenario is built), the seeds, the
    /// confidence, the metrics' node names.
    pub fn new(spec: SweepSpec) -> Result<Plan, StudyError> {
        spec.base.check()?;
        super::check_seeds(&spec.seeds)?;
        super::check_confidence(spec.confidence)?;
        for v in &spec.grid.vary {
            check_path_exists(&spec.base.doc, &v.path)?;
        }
        let base = spec.base.prepare(&[]).map_err(|e| sc_err("", e))?;
        let probe = Sim::new(&base.scenario, spec.seeds[0])
            .map_err(|e| sc_err("", e))?
            .report();
        let metrics = match spec.metrics {
            Some(m) if m.is_empty() => {
                return Err(StudyError::option(
                    "--metric",
                    "the list of metrics is empty",
                ))
            }
            Some(m) => m,
            None => default_metrics(&probe),
        };
        check_metrics(&metrics, &probe)?;
        let mut prepared = Vec::with_capacity(spec.grid.len());
        for k in 0..spec.grid.len() {
            if spec.shard.is_some_and(|s| !s.holds(k)) {
                prepared.push(None);
                continue;
            }
            let over = spec.grid.overrides(k);
            let context = || point_context(&over);
            let point = spec
                .base
                .prepare(&over)
                .map_err(|e| sc_err(&context(), e))?;
            prepared.push(Some(point));
        }
        let provenance = Provenance {
            tailsim: VERSION.into(),
            study: "sweep".into(),
            scenario: base.scenario.name.clone(),
            scenario_sha256: scenario_hash(&base.scenario),
            sets: spec.base.sets.clone(),
            seeds: spec.seeds.clone(),
            duration_s: base.duration_s(),
            warmup_rule: warmup_rule(&spec.base.warmup),
            warmup_s: match spec.base.warmup {
                Warmup::Auto { .. } => None,
                _ => Some(base.warmup_s()),
            },
            confidence: Some(spec.confidence),
            vary: spec.grid.vary.clone(),
            zip: spec.grid.zip,
            metrics: metrics.clone(),
            shard: spec.shard.map(|s| s.text()),
        };
        Ok(Plan {
            provenance,
            grid: spec.grid,
            metrics,
            seeds: spec.seeds,
            confidence: spec.confidence,
            warmup: spec.base.warmup,
            shard: spec.shard,
            prepared,
        })
    }

    /// The grid points this plan runs (its shard's).
    pub fn points(&self) -> Vec<usize> {
        (0..self.grid.len())
            .filter(|&k| self.shard.is_none_or(|s| s.holds(k)))
            .collect()
    }

    /// Runs the points of the shard not in `skip`, handing each finished
    /// point to `on_point` (in whatever order they finish).
    pub fn run(
        &self,
        exec: &Exec,
        skip: &BTreeSet<usize>,
        on_point: &(dyn Fn(PointResult) -> Result<(), StudyError> + Sync),
        progress: &dyn Progress,
    ) -> Result<Notes, StudyError> {
        let todo: Vec<usize> = self
            .points()
            .into_iter()
            .filter(|k| !skip.contains(k))
            .collect();
        let notes = std::sync::Mutex::new(Notes::default());
        let auto = matches!(self.warmup, Warmup::Auto { .. });
        let runs = (todo.len() * self.seeds.len()) as u64;
        progress.add_total(if auto { 2 * runs } else { runs });
        let warmups = self.warmups(exec, &todo, &notes, progress)?;
        progress.phase("replications");
        let prepared = (0..self.grid.len())
            .map(|k| match (&self.prepared[k], warmups.get(&k)) {
                (Some(p), Some(w)) => p.with_warmup(*w).map(Some).map_err(|e| sc_err("", e)),
                (p, _) => Ok(p.clone()),
            })
            .collect::<Result<Vec<Option<Prepared>>, StudyError>>()?;
        let run = |k: usize, seed: u64| {
            let p = prepared[k].as_ref().expect("a point of this shard");
            let (r, hist) = p.run(seed)?;
            if !r.conservation.ok {
                notes.lock().unwrap().conservation.push(format!(
                    "point {k}, seed {seed}: {}",
                    r.conservation.violations.join("; ")
                ));
            }
            let (values, _) = measure(&self.metrics, r)?;
            Ok((values, hist))
        };
        let done = |k: usize, pr: super::PointRuns<Vec<f64>>| {
            let p = prepared[k].as_ref().expect("a point of this shard");
            on_point(self.point_result(k, p.warmup_s(), pr))
        };
        for_each_point(exec, &todo, &self.seeds, &run, &done, progress)?;
        Ok(notes.into_inner().unwrap())
    }

    fn point_result(&self, k: usize, warmup_s: f64, pr: super::PointRuns<Vec<f64>>) -> PointResult {
        let pooled_all = Pooled::of(&pr.hist);
        let summary = (0..self.metrics.len())
            .map(|m| {
                let xs: Vec<f64> = pr.runs.iter().map(|r| r[m]).collect();
                Interval::student_t(&xs, self.confidence)
            })
            .collect();
        let pooled = self
            .metrics
            .iter()
            .map(|m| pooled_field(m).map(|f| pooled_value(&pooled_all.latency_s, f)))
            .collect();
        PointResult {
            index: k,
            params: self.grid.point(k),
            warmup_s,
            runs: pr
                .runs
                .into_iter()
                .enumerate()
                .map(|(i, values)| RunResult {
                    replication: i,
                    seed: self.seeds[i],
                    values,
                })
                .collect(),
            summary,
            pooled,
            pooled_requests: pooled_all.requests,
        }
    }

    /// With `--warmup auto`, MSER-5 per point on pilot runs.
    fn warmups(
        &self,
        exec: &Exec,
        todo: &[usize],
        notes: &std::sync::Mutex<Notes>,
        progress: &dyn Progress,
    ) -> Result<std::collections::BTreeMap<usize, f64>, StudyError> {
        let Warmup::Auto { series } = &self.warmup else {
            return Ok(Default::default());
        };
        progress.phase("pilot runs for MSER-5");
        let out = std::sync::Mutex::new(std::collections::BTreeMap::new());
        let run = |k: usize, seed: u64| {
            let p = self.prepared[k].as_ref().expect("a point of this shard");
            Ok((p.pilot(seed, series)?, crate::metrics::LatencyHist::new(3)))
        };
        let done = |k: usize, pr: super::PointRuns<super::Pilot>| {
            let (w, reliable) = auto_warmup(&pr.runs)?;
            if !reliable {
                notes.lock().unwrap().unreliable_warmup.push(k);
            }
            out.lock().unwrap().insert(k, w);
            Ok(())
        };
        for_each_point(exec, todo, &self.seeds, &run, &done, progress)?;
        Ok(out.into_inner().unwrap())
    }
}

/// The warm-up MSER-5 picks on the mean over replications of their pilot
/// series (window by window, in replication order), and whether it is in
/// the first half of the run.
pub(crate) fn auto_warmup(pilots: &[super::Pilot]) -> Result<(f64, bool), StudyError> {
    let len = pilots.iter().map(|p| p.series.len()).min().unwrap_or(0);
    let mean: Vec<f64> = (0..len)
        .map(|i| pilots.iter().map(|p| p.series[i]).sum::<f64>() / pilots.len() as f64)
        .collect();
    let t = mser5(&mean).ok_or_else(|| {
        StudyError::option(
            "warmup",
            format!("MSER-5 needs at least 10 finite windows; the pilot runs gave {len}"),
        )
    })?;
    // The pilot's windows start at 0 and are all `window_s` long.
    Ok((t.cut_values() as f64 * pilots[0].window_s, t.reliable))
}

pub(crate) fn warmup_rule(w: &Warmup) -> String {
    match w {
        Warmup::Scenario => "scenario".into(),
        Warmup::Fixed(_) => "fixed".into(),
        Warmup::Auto { series } => format!("MSER-5 on {series}"),
    }
}

fn sc_err(context: &str, e: crate::ScenarioError) -> StudyError {
    StudyError::Scenario {
        context: context.to_string(),
        error: e,
    }
}

fn point_context(over: &[(String, Value)]) -> String {
    let parts: Vec<String> = over
        .iter()
        .map(|(p, v)| format!("{p}={}", super::grid::value_text(v)))
        .collect();
    format!("--vary point {}", parts.join(" "))
}

/// Every table on the way to a varied field must exist in the scenario:
/// `--vary nodes.apii.workers` names a node that is not there. (The field
/// itself may be absent: many have defaults; building the scenario checks
/// its name.)
pub(crate) fn check_path_exists(doc: &crate::ScenarioDoc, path: &str) -> Result<(), StudyError> {
    let segs: Vec<&str> = path.split('.').collect();
    for i in 1..segs.len() {
        let prefix = segs[..i].join(".");
        if doc.get(&prefix).is_none() {
            let hint = match (segs[0], i) {
                ("nodes", 2) => {
                    let names: Vec<String> = doc
                        .get("nodes")
                        .and_then(Value::as_object)
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default();
                    format!(" (nodes: {})", names.join(", "))
                }
                _ => String::new(),
            };
            return Err(StudyError::option(
                format!("--vary {path}"),
                format!("the scenario has no {prefix}{hint}"),
            ));
        }
    }
    Ok(())
}

/// The report's top-level sections a metric path can start with (`edges`
/// and `slo` exist only with traffic or an SLO).
const REPORT_SECTIONS: [&str; 9] = [
    "end_to_end",
    "nodes",
    "sources",
    "edges",
    "slo",
    "conservation",
    "sim_time_s",
    "warmup_s",
    "events",
];

/// Metrics naming a node must name one that exists; plain paths under
/// `end_to_end` must exist. (Other paths and expressions are checked by the
/// first run: edges appear only once they carry traffic.)
fn check_metrics(metrics: &[String], probe: &crate::Report) -> Result<(), StudyError> {
    let s = scalars(probe);
    for m in metrics {
        let plain = is_path(m);
        let known = |prefix: &str| m.starts_with(prefix) && plain;
        let bad = if let Some(rest) = m.strip_prefix("nodes.").filter(|_| plain) {
            let node = rest.split('.').next().unwrap_or("");
            if !probe.nodes.contains_key(node) {
                Some(format!(
                    "no node {node:?} (nodes: {})",
                    probe.nodes.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            } else {
                (!s.contains_key(m)).then(|| "no such field in the report".to_string())
            }
        } else if known("end_to_end.") && !s.contains_key(m) {
            Some("no such field in the report".into())
        } else if plain && !REPORT_SECTIONS.contains(&m.split('.').next().unwrap_or("")) {
            Some(format!(
                "not a report path (they start with {})",
                REPORT_SECTIONS.join(", ")
            ))
        } else {
            None
        };
        if let Some(msg) = bad {
            return Err(StudyError::option(format!("--metric {m}"), msg));
        }
    }
    Ok(())
}
