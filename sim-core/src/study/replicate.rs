//! Independent replications of one scenario: every scalar metric's mean
//! over replications with a Student-t confidence interval, pooled latency
//! percentiles, an optional MSER-5 warm-up, and an optional precision
//! target that adds replications until the interval is tight enough.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::provenance::Provenance;
use super::sweep::{auto_warmup, warmup_rule};
use super::{
    for_each_point, scenario_hash, Base, Exec, Pilot, PointRuns, Prepared, Progress, StudyError,
    Warmup, VERSION,
};
use crate::analysis::metrics::measure;
use crate::analysis::{merge_histograms, Interval, Pooled};
use crate::metrics::LatencyHist;
use crate::sim::Sim;

/// Replications as asked for.
#[derive(Clone, Debug)]
pub struct ReplicateSpec {
    pub base: Base,
    /// The first seeds (a precision target adds `max + 1`, `max + 2`, ...).
    pub seeds: Vec<u64>,
    pub confidence: f64,
    pub precision: Option<Precision>,
}

/// Keep adding replications until `target`'s interval is tight enough.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Precision {
    /// γ: the wanted relative error, 0.05 for 5%.
    pub relative: f64,
    /// A report path or lesson expression.
    pub target: String,
    pub max_replications: usize,
}

/// The result of `tailsim run --replications N`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Replicated {
    pub provenance: Provenance,
    pub replications: usize,
    pub confidence: f64,
    pub warmup: WarmupReport,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<PrecisionReport>,
    /// What the numbers are.
    pub notes: Vec<String>,
    /// Every scalar of the report: mean over replications with its
    /// interval, the extremes, and each replication's value (in seed
    /// order; null where a run lacks the metric).
    pub metrics: BTreeMap<String, MetricSummary>,
    /// End-to-end latency over every request of every replication.
    pub pooled: Pooled,
    pub conservation: ConservationReport,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    #[serde(flatten)]
    pub interval: Interval,
    pub min: f64,
    pub max: f64,
    pub values: Vec<Option<f64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarmupReport {
    pub rule: String,
    pub warmup_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mser: Option<MserReport>,
}

/// How MSER-5 chose the warm-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MserReport {
    /// The windowed series it read (averaged over the pilot replications).
    pub series: String,
    pub window_s: f64,
    /// Windows in the pilot series, and how many were cut.
    pub windows: usize,
    pub cut_windows: usize,
    /// False when the best cut lay in the second half of the run: run longer.
    pub reliable: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrecisionReport {
    pub target: String,
    pub relative: f64,
    pub criterion: String,
    /// Half-width over |mean| at the end.
    pub achieved: Option<f64>,
    pub met: bool,
    /// Replications it took (or the maximum, when not met).
    pub replications: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConservationReport {
    pub ok: bool,
    /// Per failing replication, with its seed.
    pub violations: Vec<String>,
}

/// One replication's numbers.
struct RunData {
    values: BTreeMap<String, f64>,
    violations: Vec<String>,
    /// Kept per run only while a precision target may discard it.
    hist: Option<LatencyHist>,
}

/// Runs the replications.
pub fn replicate(
    spec: &ReplicateSpec,
    exec: &Exec,
    progress: &dyn Progress,
) -> Result<Replicated, StudyError> {
    spec.base.check()?;
    super::check_seeds(&spec.seeds)?;
    super::check_confidence(spec.confidence)?;
    let sc_err = |e| StudyError::Scenario {
        context: String::new(),
        error: e,
    };
    let base = spec.base.prepare(&[]).map_err(sc_err)?;
    if let Some(p) = &spec.precision {
        check_precision(p, spec.seeds.len(), &base)?;
    }
    let (prepared, warmup) = warmup(&spec.base.warmup, base, &spec.seeds, exec, progress)?;
    let keep_hists = spec.precision.is_some();
    let target: Vec<String> = spec.precision.iter().map(|p| p.target.clone()).collect();
    let run = |_: usize, seed: u64| {
        let (r, hist) = prepared.run(seed)?;
        let violations = r
            .conservation
            .violations
            .iter()
            .map(|v| format!("seed {seed}: {v}"))
            .collect();
        let (target_value, mut values) =
            measure(&target, r).map_err(|e| format!("--target: {e}"))?;
        for (t, x) in target.iter().zip(target_value) {
            values.insert(t.clone(), x);
        }
        let kept = keep_hists.then(|| hist.clone());
        Ok((
            RunData {
                values,
                violations,
                hist: kept,
            },
            hist,
        ))
    };
    progress.phase("replications");
    let (runs, hist, seeds, precision) = match &spec.precision {
        None => {
            let (runs, hist) = run_batch(exec, &spec.seeds, &run, progress)?;
            (runs, hist, spec.seeds.clone(), None)
        }
        Some(p) => until_precise(p, spec, exec, &run, progress)?,
    };
    Ok(assemble(
        spec, &prepared, warmup, runs, &hist, seeds, precision,
    ))
}

type RunFn<'a> = dyn Fn(usize, u64) -> Result<(RunData, LatencyHist), String> + Sync + 'a;

fn run_batch(
    exec: &Exec,
    seeds: &[u64],
    run: &RunFn,
    progress: &dyn Progress,
) -> Result<(Vec<RunData>, LatencyHist), StudyError> {
    progress.add_total(seeds.len() as u64);
    let out = std::sync::Mutex::new(None);
    let done = |_: usize, pr: PointRuns<RunData>| {
        *out.lock().unwrap() = Some((pr.runs, pr.hist));
        Ok(())
    };
    for_each_point(exec, &[0], seeds, run, &done, progress)?;
    Ok(out.into_inner().unwrap().expect("the point finished"))
}

/// The replications kept, their merged histogram, their seeds, and how the
/// precision target went.
type Stopped = (Vec<RunData>, LatencyHist, Vec<u64>, Option<PrecisionReport>);

/// Law & Kelton's sequential procedure for a relative error γ: add
/// replications until half-width / |mean| <= γ / (1 + γ) (the adjustment
/// makes the relative error of the mean itself at most γ). Batches run in
/// parallel, but the stopping point is found by scanning the replications
/// in seed order, so it is the one a one-at-a-time loop would find.
fn until_precise(
    p: &Precision,
    spec: &ReplicateSpec,
    exec: &Exec,
    run: &RunFn,
    progress: &dyn Progress,
) -> Result<Stopped, StudyError> {
    let gamma = p.relative / (1.0 + p.relative);
    let n0 = spec.seeds.len();
    let mut seeds = spec.seeds.clone();
    let mut runs: Vec<RunData> = run_batch(exec, &seeds, run, progress)?.0;
    let mut next = seeds.iter().max().copied().unwrap_or(0);
    let value_of = |r: &RunData| r.values.get(&p.target).copied().unwrap_or(f64::NAN);
    let mut checked = n0 - 1;
    let stop = loop {
        let xs: Vec<f64> = runs.iter().map(value_of).collect();
        let hit = (checked + 1..=xs.len()).find(|&n| {
            Interval::student_t(&xs[..n], spec.confidence)
                .relative_half_width()
                .is_some_and(|r| r <= gamma)
        });
        checked = xs.len();
        if let Some(n) = hit {
            break n;
        }
        if runs.len() >= p.max_replications {
            break runs.len();
        }
        let more = batch_size(&xs, gamma, spec.confidence, exec.threads())
            .min(p.max_replications - runs.len());
        let batch = (0..more)
            .map(|_| {
                next = next
                    .checked_add(1)
                    .ok_or_else(|| StudyError::option("seed", "seeds overflow u64"))?;
                Ok(next)
            })
            .collect::<Result<Vec<u64>, StudyError>>()?;
        progress.phase("more replications for the precision target");
        runs.extend(run_batch(exec, &batch, run, progress)?.0);
        seeds.extend(batch);
    };
    runs.truncate(stop);
    seeds.truncate(stop);
    let hist = merge_histograms(runs.iter().filter_map(|r| r.hist.as_ref()));
    let xs: Vec<f64> = runs.iter().map(value_of).collect();
    let achieved = Interval::student_t(&xs, spec.confidence).relative_half_width();
    let report = PrecisionReport {
        target: p.target.clone(),
        relative: p.relative,
        criterion: format!(
            "half-width / |mean| <= {} / (1 + {}) = {gamma:.5} (Law & Kelton's relative error)",
            p.relative, p.relative
        ),
        achieved,
        met: achieved.is_some_and(|a| a <= gamma),
        replications: stop,
    };
    Ok((runs, hist, seeds, Some(report)))
}

/// How many replications to add: the estimate n* = (t s / (γ |mean|))²
/// from what is in, less what is in, at least one per thread and at most
/// four per thread (each holds its histogram until the stop is known).
fn batch_size(xs: &[f64], gamma: f64, confidence: f64, threads: usize) -> usize {
    let i = Interval::student_t(xs, confidence);
    let want = match (i.half_width, i.mean.abs()) {
        (Some(hw), m) if m > 0.0 && hw.is_finite() => {
            let ratio = hw / (gamma * m);
            (xs.len() as f64 * ratio * ratio).ceil() as usize
        }
        _ => xs.len() * 2,
    };
    want.saturating_sub(xs.len())
        .clamp(threads.max(1), 4 * threads.max(2))
}

fn check_precision(p: &Precision, n0: usize, base: &Prepared) -> Result<(), StudyError> {
    if !(p.relative.is_finite() && p.relative > 0.0 && p.relative < 1.0) {
        return Err(StudyError::option(
            "precision",
            format!(
                "a relative half-width between 0 and 1 (0.05 for 5%), got {}",
                p.relative
            ),
        ));
    }
    if n0 < 2 {
        return Err(StudyError::option(
            "precision",
            "start from at least 2 replications (10 is usual)",
        ));
    }
    if p.max_replications < n0 {
        return Err(StudyError::option(
            "max-replications",
            format!(
                "{} is fewer than the {n0} replications to start from",
                p.max_replications
            ),
        ));
    }
    let probe = Sim::new(&base.scenario, 1)
        .map_err(|e| StudyError::Scenario {
            context: String::new(),
            error: e,
        })?
        .report();
    if let Some(rest) = p.target.strip_prefix("nodes.") {
        let node = rest.split('.').next().unwrap_or("");
        if !probe.nodes.contains_key(node) {
            return Err(StudyError::option(
                format!("target {}", p.target),
                format!(
                    "no node {node:?} (nodes: {})",
                    probe.nodes.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The prepared scenario with its warm-up, and how it was chosen.
fn warmup(
    rule: &Warmup,
    base: Prepared,
    seeds: &[u64],
    exec: &Exec,
    progress: &dyn Progress,
) -> Result<(Prepared, WarmupReport), StudyError> {
    let Warmup::Auto { series } = rule else {
        let w = base.warmup_s();
        return Ok((
            base,
            WarmupReport {
                rule: warmup_rule(rule),
                warmup_s: w,
                mser: None,
            },
        ));
    };
    progress.phase("pilot runs for MSER-5");
    progress.add_total(seeds.len() as u64);
    let out = std::sync::Mutex::new(None);
    let run = |_: usize, seed: u64| Ok((base.pilot(seed, series)?, LatencyHist::new(3)));
    let done = |_: usize, pr: PointRuns<Pilot>| {
        let (w, reliable) = auto_warmup(&pr.runs)?;
        let p = &pr.runs[0];
        *out.lock().unwrap() = Some((w, reliable, p.window_s, p.series.len()));
        Ok(())
    };
    for_each_point(exec, &[0], seeds, &run, &done, progress)?;
    let (w, reliable, window_s, windows) = out.into_inner().unwrap().expect("the pilot finished");
    let prepared = base.with_warmup(w).map_err(|e| StudyError::Scenario {
        context: "MSER-5 warm-up".into(),
        error: e,
    })?;
    let mser = MserReport {
        series: series.clone(),
        window_s,
        windows,
        cut_windows: (w / window_s).round() as usize,
        reliable,
    };
    Ok((
        prepared,
        WarmupReport {
            rule: warmup_rule(rule),
            warmup_s: w,
            mser: Some(mser),
        },
    ))
}

fn assemble(
    spec: &ReplicateSpec,
    prepared: &Prepared,
    warmup: WarmupReport,
    runs: Vec<RunData>,
    hist: &LatencyHist,
    seeds: Vec<u64>,
    precision: Option<PrecisionReport>,
) -> Replicated {
    let mut names: Vec<&String> = runs.iter().flat_map(|r| r.values.keys()).collect();
    names.sort();
    names.dedup();
    let metrics = names
        .into_iter()
        .map(|name| {
            let values: Vec<Option<f64>> =
                runs.iter().map(|r| r.values.get(name).copied()).collect();
            let present: Vec<f64> = values.iter().flatten().copied().collect();
            let summary = MetricSummary {
                interval: Interval::student_t(&present, spec.confidence),
                min: present.iter().copied().fold(f64::INFINITY, f64::min),
                max: present.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                values,
            };
            (name.clone(), summary)
        })
        .collect();
    let violations: Vec<String> = runs
        .iter()
        .flat_map(|r| r.violations.iter().cloned())
        .collect();
    let n = runs.len();
    let provenance = Provenance {
        tailsim: VERSION.into(),
        study: "replications".into(),
        scenario: prepared.scenario.name.clone(),
        scenario_sha256: scenario_hash(&prepared.scenario),
        sets: spec.base.sets.clone(),
        seeds,
        duration_s: prepared.duration_s(),
        warmup_rule: warmup.rule.clone(),
        warmup_s: Some(warmup.warmup_s),
        confidence: Some(spec.confidence),
        vary: Vec::new(),
        zip: false,
        metrics: Vec::new(),
        shard: None,
    };
    Replicated {
        provenance,
        replications: n,
        confidence: spec.confidence,
        warmup,
        precision,
        notes: notes(spec.confidence, n),
        metrics,
        pooled: Pooled::of(hist),
        conservation: ConservationReport {
            ok: violations.is_empty(),
            violations,
        },
    }
}

fn notes(confidence: f64, n: usize) -> Vec<String> {
    vec![
        format!(
            "metrics: the mean over {n} independent replications (one value per run, seeds as listed) with a {}% Student-t confidence interval on {} degrees of freedom",
            confidence * 100.0,
            n.saturating_sub(1)
        ),
        "metrics.end_to_end.latency_s.p99 and the like: the mean of each run's own percentile".into(),
        "pooled: percentiles over every measured request of every replication, from the runs' latency histograms merged exactly (not an average of percentiles; no interval)".into(),
    ]
}
