//! Checking a lesson: every state it needs, at the lesson as written and at
//! both ends of every band, over seeds 1..=n, then every claim judged seed
//! by seed (`judge.rs`) and, for a fix in parts, the ablation table.
//!
//! A [`Plan`] lists the runs as independent [`Job`]s, so a caller with
//! threads (the CLI, the test suite) spreads them over its cores; each run
//! is reduced at once to the metrics the lesson reads, so no report is
//! kept. [`check`] runs a plan on the calling thread.

use super::judge::{judge_values, unmeasured, ClaimResult};
use super::{Band, Claim, Compare, Lesson, LessonError, State};
use crate::scenario::{ScenarioDoc, ScenarioError};
use crate::Scenario;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One state of a lesson.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Arm {
    Mistake,
    Fix,
    /// The mistake with one part of the fix.
    Alone(String),
    /// The full fix less one part.
    Without(String),
}

impl Arm {
    /// "mistake", "fix", "only retry_budget", "all but retry_budget".
    pub fn label(&self) -> String {
        match self {
            Arm::Mistake => "mistake".into(),
            Arm::Fix => "fix".into(),
            Arm::Alone(v) => format!("only {v}"),
            Arm::Without(v) => format!("all but {v}"),
        }
    }

    /// The state a claim compares the mistake with.
    fn of_claim(c: &Claim) -> Arm {
        match (&c.variant, &c.without) {
            (Some(v), _) => Arm::Alone(v.clone()),
            (_, Some(v)) => Arm::Without(v.clone()),
            _ => Arm::Fix,
        }
    }
}

impl Lesson {
    /// The document of one arm, before any band and without the run-length
    /// override.
    pub fn arm_doc(&self, arm: &Arm, file_text: Option<&str>) -> Result<ScenarioDoc, LessonError> {
        match arm {
            Arm::Mistake => self.state_doc(State::Mistake, None, file_text),
            Arm::Fix => self.state_doc(State::Fix, None, file_text),
            Arm::Alone(v) => self.state_doc(State::Mistake, Some(v), file_text),
            Arm::Without(v) => {
                let mut doc = self.state_doc(State::Fix, None, file_text)?;
                let t = self
                    .variant_toggle(v)
                    .ok_or_else(|| ScenarioError::new("variants", format!("no part {v:?}")))?;
                t.apply(&mut doc, State::Mistake)
                    .map_err(|e| e.under(&format!("variants.{v}")))?;
                Ok(doc)
            }
        }
    }

    /// The scenario of the full fix with one part left out.
    pub fn scenario_without(
        &self,
        part: &str,
        file_text: Option<&str>,
    ) -> Result<Scenario, LessonError> {
        let mut doc = self.arm_doc(&Arm::Without(part.to_string()), file_text)?;
        self.with_duration(&mut doc)?;
        doc.build().map_err(|e| e.under("scenario"))
    }

    pub(super) fn with_duration(&self, doc: &mut ScenarioDoc) -> Result<(), LessonError> {
        if let Some(d) = self.duration_s {
            doc.set_value("duration_s", d.into())?;
        }
        Ok(())
    }
}

/// Moves a band's fields to one end (factor), in place. Integers round
/// outwards and stay at least 1 when they were.
pub fn apply_band(doc: &mut ScenarioDoc, band: &Band, factor: f64) -> Result<(), ScenarioError> {
    for p in &band.paths {
        let v = doc.get(p).cloned().ok_or_else(|| {
            ScenarioError::new(
                p,
                format!("band {:?}: the scenario has no such field", band.name),
            )
        })?;
        let new: Value = if let Some(i) = v.as_i64().filter(|_| v.is_i64() || v.is_u64()) {
            let x = i as f64 * factor;
            let r = if factor < 1.0 { x.floor() } else { x.ceil() };
            let r = if i >= 1 { r.max(1.0) } else { r };
            Value::from(r as i64)
        } else if let Some(x) = v.as_f64() {
            Value::from(x * factor)
        } else {
            return Err(ScenarioError::new(
                p,
                format!("band {:?}: not a number", band.name),
            ));
        };
        doc.set_value(p, new)?;
    }
    Ok(())
}

/// Where a lesson is checked: as written, or at one end of one band.
#[derive(Clone, Debug)]
struct Point {
    label: String,
    arms: Vec<ArmRuns>,
    /// The claims, their formulas read from this point's scenarios.
    claims: Vec<Result<Claim, String>>,
}

#[derive(Clone, Debug)]
struct ArmRuns {
    arm: Arm,
    scenario: Scenario,
}

/// One run: a point, an arm, a seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    pub point: usize,
    pub arm: usize,
    pub seed: u64,
}

/// What one run gives: each metric of [`Plan::metrics`], or the reason
/// the run does not count (conservation violated).
pub type Outcome = Result<Vec<Result<f64, String>>, String>;

/// Per arm, per metric: the values seed by seed, or the first error.
type ArmValues = Vec<Vec<Result<Vec<f64>, String>>>;

/// Every run a lesson's check needs.
#[derive(Clone, Debug)]
pub struct Plan {
    lesson: Lesson,
    seeds: u64,
    points: Vec<Point>,
    /// The distinct metrics read from each run: every claim's, then the
    /// ablation table's.
    metrics: Vec<String>,
}

impl Plan {
    /// Plans the check of `lesson` over seeds 1..=`seeds`: every state at
    /// the lesson as written (with every part alone and left out when the
    /// fix has parts), and at each band end the states its claims compare.
    pub fn new(lesson: &Lesson, file_text: Option<&str>, seeds: u64) -> Result<Plan, LessonError> {
        Plan::build(lesson, file_text, seeds, true)
    }

    /// The runs at the lesson as written only (no band ends): every state,
    /// and each part of a fix alone and left out. The page runs this when a
    /// student checks a lesson over its seeds; the claims and the ablation
    /// table are judged exactly as `lessons check` judges them.
    pub fn as_written(
        lesson: &Lesson,
        file_text: Option<&str>,
        seeds: u64,
    ) -> Result<Plan, LessonError> {
        Plan::build(lesson, file_text, seeds, false)
    }

    fn build(
        lesson: &Lesson,
        file_text: Option<&str>,
        seeds: u64,
        bands: bool,
    ) -> Result<Plan, LessonError> {
        let mut metrics: Vec<String> = Vec::new();
        for m in lesson
            .claims
            .iter()
            .map(|c| &c.metric)
            .chain(&lesson.rank_by)
        {
            if !metrics.contains(m) {
                metrics.push(m.clone());
            }
        }
        let mut all_arms = vec![Arm::Mistake];
        if lesson.toggle.is_some() {
            all_arms.push(Arm::Fix);
        }
        for v in lesson.variants.keys() {
            all_arms.push(Arm::Alone(v.clone()));
            all_arms.push(Arm::Without(v.clone()));
        }
        let mut judged: Vec<Arm> = vec![Arm::Mistake];
        for c in &lesson.claims {
            let a = if lesson.toggle.is_some() {
                Arm::of_claim(c)
            } else {
                Arm::Mistake
            };
            if !judged.contains(&a) {
                judged.push(a);
            }
        }
        let mut points = vec![Point::new(
            lesson,
            file_text,
            "as written".into(),
            None,
            &all_arms,
        )?];
        for (i, b) in lesson.bands.iter().enumerate().filter(|_| bands) {
            for (end, f) in b.factors().into_iter().enumerate() {
                let p = Point::new(lesson, file_text, b.end_label(end), Some((i, f)), &judged)
                    .map_err(|e| e.under(&format!("bands[{i}]")))?;
                points.push(p);
            }
        }
        Ok(Plan {
            lesson: lesson.clone(),
            seeds: seeds.max(1),
            points,
            metrics,
        })
    }

    /// Every run, point by point, arm by arm, seed by seed.
    pub fn jobs(&self) -> Vec<Job> {
        let mut out = Vec::new();
        for (p, pt) in self.points.iter().enumerate() {
            for a in 0..pt.arms.len() {
                for seed in 1..=self.seeds {
                    out.push(Job {
                        point: p,
                        arm: a,
                        seed,
                    });
                }
            }
        }
        out
    }

    /// The metrics each run is reduced to.
    pub fn metrics(&self) -> &[String] {
        &self.metrics
    }

    /// Runs one job and reads the lesson's metrics from its report.
    pub fn run(&self, job: Job) -> Outcome {
        let sc = &self.points[job.point].arms[job.arm].scenario;
        let r = crate::Sim::new(sc, job.seed)
            .map_err(|e| e.to_string())?
            .run_for(sc.duration_s)
            .map_err(|e| format!("seed {}: the run stopped: {e}", job.seed))?;
        if !r.conservation.ok {
            return Err(format!(
                "conservation violated with seed {} ({}, {}): {:?}",
                job.seed,
                self.points[job.point].label,
                self.points[job.point].arms[job.arm].arm.label(),
                r.conservation.violations
            ));
        }
        let ms: Vec<&str> = self.metrics.iter().map(String::as_str).collect();
        Ok(super::metric::eval_metrics(&ms, &r))
    }

    /// Judges every claim at every point from the outcomes of
    /// [`Plan::jobs`], in the same order.
    pub fn judge(&self, outcomes: &[Outcome]) -> Checked {
        let jobs = self.jobs();
        assert_eq!(jobs.len(), outcomes.len(), "one outcome per job");
        // values[point][arm][metric] = per-seed values, or the first error
        let mut values: Vec<ArmValues> = self
            .points
            .iter()
            .map(|p| vec![vec![Ok(Vec::new()); self.metrics.len()]; p.arms.len()])
            .collect();
        let mut broken: Option<String> = None;
        for (job, out) in jobs.iter().zip(outcomes) {
            let slot = &mut values[job.point][job.arm];
            match out {
                Err(e) => {
                    broken.get_or_insert_with(|| e.clone());
                }
                Ok(ms) => {
                    for (k, m) in ms.iter().enumerate() {
                        match (&mut slot[k], m) {
                            (Ok(v), Ok(x)) => v.push(*x),
                            (s @ Ok(_), Err(e)) => *s = Err(format!("seed {}: {e}", job.seed)),
                            (Err(_), _) => {}
                        }
                    }
                }
            }
        }
        let points = self
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| PointResult {
                label: p.label.clone(),
                claims: self.judge_point(p, &values[i], broken.as_deref()),
            })
            .collect();
        Checked {
            id: self.lesson.id.clone(),
            seeds: self.seeds,
            points,
            ablation: self.ablation(&values[0]),
        }
    }

    fn judge_point(
        &self,
        p: &Point,
        values: &[Vec<Result<Vec<f64>, String>>],
        broken: Option<&str>,
    ) -> Vec<ClaimResult> {
        let arm_of = |a: &Arm| p.arms.iter().position(|r| &r.arm == a);
        self.lesson
            .claims
            .iter()
            .zip(&p.claims)
            .map(|(orig, resolved)| {
                if let Some(e) = broken {
                    return unmeasured(orig, e.to_string());
                }
                let c = match resolved {
                    Ok(c) => c,
                    Err(e) => return unmeasured(orig, e.clone()),
                };
                let k = self
                    .metrics
                    .iter()
                    .position(|m| *m == c.metric)
                    .expect("planned");
                let other = if self.lesson.toggle.is_some() {
                    Arm::of_claim(c)
                } else {
                    Arm::Mistake
                };
                let (Some(mi), Some(oi)) = (arm_of(&Arm::Mistake), arm_of(&other)) else {
                    return unmeasured(c, "a state this claim needs was not run".into());
                };
                // A claim on one state reads only that state: its metric
                // may not exist in the other (a trace recorded only with
                // tracing on).
                let (m, f) = match judged_state(c) {
                    Some(State::Mistake) => (&values[mi][k], &values[mi][k]),
                    Some(State::Fix) => (&values[oi][k], &values[oi][k]),
                    None => (&values[mi][k], &values[oi][k]),
                };
                match (m, f) {
                    (Ok(m), Ok(f)) => judge_values(c, 1, m, f),
                    (Err(e), _) | (_, Err(e)) => unmeasured(c, e.clone()),
                }
            })
            .collect()
    }

    fn ablation(&self, values: &[Vec<Result<Vec<f64>, String>>]) -> Option<Ablation> {
        let metric = self.lesson.rank_by.as_ref()?;
        if self.lesson.variants.is_empty() {
            return None;
        }
        let k = self.metrics.iter().position(|m| m == metric)?;
        let arms = &self.points[0].arms;
        let mean_of = |a: &Arm| -> f64 {
            arms.iter()
                .position(|r| &r.arm == a)
                .and_then(|i| values[i][k].as_ref().ok())
                .map_or(f64::NAN, |v| v.iter().sum::<f64>() / v.len().max(1) as f64)
        };
        let (mistake, fix) = (mean_of(&Arm::Mistake), mean_of(&Arm::Fix));
        let share = |x: f64| (mistake - x) / (mistake - fix);
        let parts = self
            .lesson
            .variants
            .keys()
            .map(|v| {
                let alone = mean_of(&Arm::Alone(v.clone()));
                let without = mean_of(&Arm::Without(v.clone()));
                AblationRow {
                    part: v.clone(),
                    label: self.lesson.variant_label(v),
                    alone,
                    without,
                    alone_share: share(alone),
                    without_share: share(without),
                }
            })
            .collect();
        Some(Ablation {
            metric: metric.clone(),
            mistake,
            fix,
            parts,
        })
    }
}

impl Point {
    fn new(
        lesson: &Lesson,
        file_text: Option<&str>,
        label: String,
        band: Option<(usize, f64)>,
        arms: &[Arm],
    ) -> Result<Point, LessonError> {
        let mut runs = Vec::new();
        let mut docs = Vec::new();
        for arm in arms {
            let mut doc = lesson.arm_doc(arm, file_text)?;
            if let Some((i, f)) = band {
                apply_band(&mut doc, &lesson.bands[i], f)?;
            }
            lesson.with_duration(&mut doc)?;
            let scenario = doc.build().map_err(|e| e.under("scenario"))?;
            runs.push(ArmRuns {
                arm: arm.clone(),
                scenario,
            });
            docs.push((arm.clone(), doc));
        }
        let claims = lesson
            .claims
            .iter()
            .map(|c| resolve_claim(lesson, c, &docs))
            .collect();
        Ok(Point {
            label,
            arms: runs,
            claims,
        })
    }
}

/// The one state a claim reads, if it reads only one.
fn judged_state(c: &Claim) -> Option<State> {
    match c.compare {
        Compare::Mistake => Some(State::Mistake),
        Compare::Fix => Some(State::Fix),
        Compare::Theory => Some(c.state.unwrap_or(State::Fix)),
        Compare::Ratio | Compare::Difference => None,
    }
}

/// The claim with its formula's scenario fields read from the document
/// of the state it judges.
fn resolve_claim(lesson: &Lesson, c: &Claim, docs: &[(Arm, ScenarioDoc)]) -> Result<Claim, String> {
    let Some(f) = &c.expect else {
        return Ok(c.clone());
    };
    let arm = match (c.compare, c.state) {
        (Compare::Theory, Some(State::Mistake)) => Arm::Mistake,
        _ if lesson.toggle.is_none() => Arm::Mistake,
        _ => Arm::of_claim(c),
    };
    let doc = &docs
        .iter()
        .find(|(a, _)| *a == arm)
        .ok_or("the judged state was not run")?
        .1;
    let mut out = c.clone();
    out.expect = Some(f.resolve(doc)?);
    Ok(out)
}

/// Everything `lessons check` measured for one lesson.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    pub id: String,
    pub seeds: u64,
    /// The lesson as written first, then each band's low and high end.
    pub points: Vec<PointResult>,
    /// For a fix in parts: each part alone and left out.
    pub ablation: Option<Ablation>,
}

impl Checked {
    /// The claims at the lesson as written.
    pub fn claims(&self) -> &[ClaimResult] {
        &self.points[0].claims
    }

    /// Whether every claim holds at every point.
    pub fn pass(&self) -> bool {
        self.points.iter().all(|p| p.claims.iter().all(|c| c.pass))
    }

    /// (point label, claim) of every claim that does not hold.
    pub fn failures(&self) -> Vec<(&str, &ClaimResult)> {
        self.points
            .iter()
            .flat_map(|p| {
                p.claims
                    .iter()
                    .filter(|c| !c.pass)
                    .map(move |c| (p.label.as_str(), c))
            })
            .collect()
    }
}

/// The claims at one point of the check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// "as written", "load -15%".
    pub label: String,
    pub claims: Vec<ClaimResult>,
}

/// Which part of a combined fix does the work: the ablation metric's mean
/// over seeds with no fix, the full fix, each part alone and each left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ablation {
    pub metric: String,
    pub mistake: f64,
    pub fix: f64,
    pub parts: Vec<AblationRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AblationRow {
    /// The part's name in `variants`.
    pub part: String,
    pub label: String,
    /// The metric with only this part.
    pub alone: f64,
    /// The metric with every part but this one.
    pub without: f64,
    /// Share of the full fix's gain this part gives alone:
    /// (mistake - alone) / (mistake - fix).
    pub alone_share: f64,
    /// Share of the full fix's gain kept without it.
    pub without_share: f64,
}

/// Runs a lesson's check on this thread (see [`Plan`] to spread it).
pub fn check(lesson: &Lesson, file_text: Option<&str>, seeds: u64) -> Result<Checked, LessonError> {
    let plan = Plan::new(lesson, file_text, seeds)?;
    Ok(check_plans(std::slice::from_ref(&plan), 1).remove(0))
}

/// Runs every job of every plan on `threads` threads (the jobs of all the
/// lessons in one pool, so a long lesson does not leave a core idle) and
/// judges each plan; results in the plans' order. The work is the same
/// whatever the thread count: each job is a seeded run.
pub fn check_plans(plans: &[Plan], threads: usize) -> Vec<Checked> {
    let jobs: Vec<(usize, usize, Job)> = plans
        .iter()
        .enumerate()
        .flat_map(|(p, plan)| {
            plan.jobs()
                .into_iter()
                .enumerate()
                .map(move |(k, j)| (p, k, j))
        })
        .collect();
    let mut outcomes: Vec<Vec<Option<Outcome>>> =
        plans.iter().map(|p| vec![None; p.jobs().len()]).collect();
    let mut store = |done: Vec<(usize, usize, Outcome)>| {
        for (p, k, o) in done {
            outcomes[p][k] = Some(o);
        }
    };
    if threads <= 1 {
        store(
            jobs.iter()
                .map(|&(p, k, j)| (p, k, plans[p].run(j)))
                .collect(),
        );
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done = std::sync::Mutex::new(Vec::with_capacity(jobs.len()));
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(p, k, j)) = jobs.get(i) else { break };
                    let o = plans[p].run(j);
                    done.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((p, k, o));
                });
            }
        });
        store(done.into_inner().unwrap_or_else(|e| e.into_inner()));
    }
    plans
        .iter()
        .zip(outcomes)
        .map(|(plan, os)| {
            let os: Vec<Outcome> = os
                .into_iter()
                .map(|o| o.unwrap_or_else(|| Err("the run did not finish".into())))
                .collect();
            plan.judge(&os)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An M/M/c lesson whose fix has two parts: a faster service and a
    /// third worker. Arrivals 1/s; service 0.5 s on 2 workers in the
    /// mistake (rho = 0.25, mean sojourn ~0.53 s), 0.1 s on 3 in the fix
    /// (~0.1 s). The faster service alone gives ~0.1 s too (nearly all
    /// the gain); the third worker alone leaves ~0.5 s (almost none).
    const LESSON: &str = r#"
id = "T"
title = "t"
section = "s"
narrative = "n"
question = "q"
seeds = 10
bands = [ { name = "load", paths = ["nodes.c.arrival.rate"], rel = 0.2 }, { name = "workers", paths = ["nodes.s.workers"], rel = 0.2 } ]
rank_by = "end_to_end.latency_s.mean"
[toggle]
label = "slow service, two workers"
mistake = { "nodes.s.service.mean_s" = 0.5, "nodes.s.workers" = 2 }
fix = { "nodes.s.service.mean_s" = 0.1, "nodes.s.workers" = 3 }
[variants]
fast = { "nodes.s.service.mean_s" = 0.1 }
more = { "nodes.s.workers" = 3 }
[[claims]]
text = "Faster service alone: the mean is at least 2x lower"
metric = "end_to_end.latency_s.mean"
compare = "ratio"
op = ">="
value = 2.0
variant = "fast"
[scenario]
version = 1
duration_s = 500
[scenario.nodes.c]
kind = "source"
target = "s"
arrival = { process = "poisson", rate = 1.0 }
[scenario.nodes.s]
kind = "service"
workers = 2
service = { dist = "exponential", mean_s = 0.5 }
"#;

    #[test]
    fn a_band_moves_its_fields_and_rounds_integers_outwards() {
        let l = Lesson::from_toml_str(LESSON).unwrap();
        let base = l.arm_doc(&Arm::Mistake, None).unwrap();
        let at = |band: usize, f: f64, path: &str| {
            let mut d = base.clone();
            apply_band(&mut d, &l.bands[band], f).unwrap();
            d.get(path).cloned().unwrap()
        };
        assert_eq!(at(0, 0.8, "nodes.c.arrival.rate").as_f64(), Some(0.8));
        // 2 workers x 0.8 = 1.6 -> 1; x 1.2 = 2.4 -> 3: never narrower
        // than the band says.
        assert_eq!(at(1, 0.8, "nodes.s.workers").as_i64(), Some(1));
        assert_eq!(at(1, 1.2, "nodes.s.workers").as_i64(), Some(3));
    }

    #[test]
    fn the_check_runs_every_band_end_and_the_ablation_names_the_part_that_works() {
        let l = Lesson::from_toml_str(LESSON).unwrap();
        let c = check(&l, None, 10).unwrap();
        let labels: Vec<&str> = c.points.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "as written",
                "load -20%",
                "load +20%",
                "workers -20%",
                "workers +20%"
            ]
        );
        assert!(c.pass(), "{:?}", c.failures());
        let a = c.ablation.expect("a fix in parts has an ablation table");
        let row = |p: &str| a.parts.iter().find(|r| r.part == p).unwrap();
        assert!(row("fast").alone_share > 0.8, "{a:?}");
        assert!(row("more").alone_share < 0.3, "{a:?}");
        // Left out, the faster service takes most of the gain with it.
        assert!(row("fast").without_share < 0.3, "{a:?}");
        assert_eq!(row("fast").label, "Faster service");
        // The same claim with a threshold no seed reaches fails, and names
        // its worst seed.
        let mut hard = l.clone();
        hard.claims[0].value = Some(50.0);
        let c = check(&hard, None, 10).unwrap();
        let w = c.claims()[0].worst.expect("a worst seed");
        assert!(!c.pass() && w.margin < 0.0 && (1..=10).contains(&w.seed));
    }

    #[test]
    fn the_plan_as_written_is_the_first_point_of_the_full_check() {
        let l = Lesson::from_toml_str(LESSON).unwrap();
        let full = Plan::new(&l, None, 3).unwrap();
        let plan = Plan::as_written(&l, None, 3).unwrap();
        // mistake, fix, and two parts each alone and left out: 6 arms x 3 seeds
        assert_eq!(plan.jobs().len(), 18);
        assert!(plan.jobs().iter().all(|j| j.point == 0));
        let outcomes: Vec<Outcome> = plan.jobs().into_iter().map(|j| plan.run(j)).collect();
        let c = plan.judge(&outcomes);
        assert_eq!(c.points.len(), 1);
        // The same runs judged the same way as the full check's first point.
        let all: Vec<Outcome> = full.jobs().into_iter().map(|j| full.run(j)).collect();
        let f = full.judge(&all);
        assert_eq!(c.points[0], f.points[0]);
        assert_eq!(c.ablation, f.ablation);
    }
}
