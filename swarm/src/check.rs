//! A case from input to verdict.
//!
//! 1. The input is parsed and validated (`Scenario::from_value`, the text
//!    parsers, `ScenarioDoc::set`, `Lesson::from_toml_str`). An error must
//!    name the field (and the right one, for invalid inputs made on
//!    purpose); input that can never be valid must be rejected.
//! 2. An accepted scenario must survive the round trips a user makes
//!    (document, TOML, JSON) unchanged.
//! 3. It runs three times: A (the plan; decides where runs stop), B (the
//!    actions A applied, observed at other instants: byte-identical report,
//!    so runs are deterministic, refused actions change nothing and
//!    observing changes nothing), C (B plus a reconfiguration to the
//!    running scenario itself: byte-identical again). Each run checks
//!    conservation where it observes and at the end, non-finite numbers,
//!    stalls and memory; debug assertions check conservation at every
//!    window inside the engine.

use crate::case::{Action, Case, Input, Op, Plan};
use crate::run::{ns, Limits, Point, Ran, Runner};
use crate::verdict::{check_message, non_finite, non_finite_words, Failure, Kind};
use serde_json::Value;
use sim_core::lesson::{Lesson, State};
use sim_core::{Report, Scenario, ScenarioDoc, ScenarioError};

/// How a case ended.
#[derive(Debug)]
pub enum Verdict {
    /// Ran and passed every check.
    Ran {
        events: u64,
        budget_hit: bool,
        /// The engine stopped the run early with this message.
        halted: Option<String>,
        /// Live actions (faults, reconfigurations) applied and refused.
        applied: usize,
        refused: usize,
    },
    /// Rejected with a good message (this one).
    Rejected(String),
    Failed(Failure),
}

/// Runs every check of `case`.
pub fn check(case: &Case, limits: Limits) -> Verdict {
    match check_inner(case, limits) {
        Ok(v) => v,
        Err(f) => Verdict::Failed(f),
    }
}

fn check_inner(case: &Case, limits: Limits) -> Result<Verdict, Failure> {
    let (sc, extra) = match accept(case)? {
        Ok(ok) => ok,
        Err(e) => return Ok(Verdict::Rejected(e.to_string())),
    };
    bounds(&sc)?;
    let mut plan = case.plan.clone();
    plan.actions.extend(extra);
    let max_work = plan.max_work.unwrap_or(limits.max_work);
    let verdict = runs(&sc, case.seed, &plan, Limits { max_work, ..limits })?;
    // Last: a round-trip failure must not hide what the runs would find.
    if matches!(case.input, Input::Doc(_) | Input::Text { .. }) {
        roundtrip(&sc)?;
    }
    Ok(verdict)
}

/// The validated scenario (and actions the input implies), or the error
/// it was rightly rejected with.
type Accepted = Result<(Scenario, Vec<Action>), ScenarioError>;

fn accept(case: &Case) -> Result<Accepted, Failure> {
    let expect = case.expect.as_ref();
    let written = |doc: &Value| expect.and_then(|x| value_at(doc, &x.path)).cloned();
    let (res, written, toml) = match &case.input {
        Input::Doc(doc) => {
            crate::phase("Scenario::from_value");
            (
                Scenario::from_value(doc).map(|s| (s, vec![])),
                written(doc),
                false,
            )
        }
        Input::Text { json, text } => {
            crate::phase("Scenario::from_*_str");
            let r = if *json {
                Scenario::from_json_str(text)
            } else {
                Scenario::from_toml_str(text)
            };
            (r.map(|s| (s, vec![])), None, !json)
        }
        Input::Sets { doc, sets } => (apply_sets(doc, sets).map(|s| (s, vec![])), None, false),
        Input::Lesson { text, file } => (
            lesson(text, file.as_deref(), case.plan.horizon_s),
            None,
            false,
        ),
    };
    match res {
        Ok(ok) => {
            if let Some(x) = expect.filter(|x| x.must_reject) {
                return Err(Failure::new(
                    Kind::Accepted,
                    crate::verdict::generalise(&case.note),
                    format!(
                        "accepted although it can never be valid ({}): {}",
                        x.path, case.note
                    ),
                ));
            }
            Ok(Ok(ok))
        }
        Err(e) => match check_message(&e, expect, written.as_ref(), toml) {
            Some(f) => Err(f),
            None => Ok(Err(e)),
        },
    }
}

fn value_at<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = doc;
    for seg in path
        .replace('[', ".")
        .replace(']', "")
        .split('.')
        .filter(|s| !s.is_empty())
    {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn apply_sets(doc: &Value, sets: &[(String, String)]) -> Result<Scenario, ScenarioError> {
    crate::phase("ScenarioDoc::set");
    let mut d = ScenarioDoc(doc.clone());
    for (path, raw) in sets {
        // A set error names the user's own path (it may be malformed on
        // purpose): it is judged by its message alone.
        d.set(path, raw)
            .map_err(|e| ScenarioError::new("--set", format!("{path}={raw}: {e}")))?;
    }
    crate::phase("ScenarioDoc::build");
    d.build()
}

/// A lesson file: both states must build; the run toggles to the fix.
fn lesson(
    text: &str,
    file: Option<&str>,
    horizon_s: f64,
) -> Result<(Scenario, Vec<Action>), ScenarioError> {
    crate::phase("Lesson::from_toml_str");
    let l = Lesson::from_toml_str(text)?;
    crate::phase("Lesson::scenario");
    let mistake = l.scenario(State::Mistake, file)?;
    let fix = l.scenario(State::Fix, file)?;
    for v in l.variants.keys() {
        l.scenario_variant(v, file)?;
    }
    let at_s = horizon_s / 2.0;
    Ok((
        mistake,
        vec![Action {
            at_s,
            op: Op::Reconfigure(fix.to_doc().0),
        }],
    ))
}

/// What is written reads back the same: document, TOML, JSON.
fn roundtrip(sc: &Scenario) -> Result<(), Failure> {
    crate::phase("round trips");
    let via_doc = sc.to_doc().build();
    let via_toml = Scenario::from_toml_str(&sc.to_toml());
    let via_json = Scenario::from_json_str(&sc.to_doc().0.to_string());
    for (what, r) in [
        ("to_doc().build()", via_doc),
        ("to_toml() then from_toml_str", via_toml),
        ("JSON text", via_json),
    ] {
        match r {
            Ok(back) if back == *sc => {}
            Ok(back) => {
                let (a, b) = (sc.to_doc().0, back.to_doc().0);
                let (at, x, y) = first_difference("", &a, &b).unwrap_or_default();
                return Err(Failure::new(
                    Kind::Roundtrip,
                    format!("{what} changes {}", crate::verdict::generalise(&at)),
                    format!("{what} gives a different scenario: {at} was {x}, reads back as {y}"),
                ));
            }
            Err(e) => {
                return Err(Failure::new(
                    Kind::Roundtrip,
                    format!("{what} refused at {}", crate::verdict::generalise(&e.path)),
                    format!("{what} refuses what validated: {e}"),
                ));
            }
        }
    }
    Ok(())
}

/// The first path where two documents differ, with both values.
fn first_difference(at: &str, a: &Value, b: &Value) -> Option<(String, String, String)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_difference(&p, v, w) {
                            return Some(d);
                        }
                    }
                    None => return Some((p, v.to_string(), "absent".into())),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| (format!("{at}.{k}"), "absent".into(), y[k].to_string()))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(&format!("{at}[{i}]"), v, w)),
        _ if a == b => None,
        _ => Some((at.to_string(), a.to_string(), b.to_string())),
    }
}

/// Numbers that validate but cannot mean what they say.
fn bounds(sc: &Scenario) -> Result<(), Failure> {
    if ns(sc.duration_s) == 0 {
        return Err(Failure::new(
            Kind::Bounds,
            "duration_s rounds to 0 ns",
            format!(
                "duration_s = {} validates but is less than 1 ns: the run is empty",
                sc.duration_s
            ),
        ));
    }
    Ok(())
}

/// The points of a run in time order: actions, then observations, then
/// the same-scenario reconfiguration at equal instants.
fn timeline(
    plan: &Plan,
    applied: Option<&[bool]>,
    observe: &[f64],
    same: bool,
) -> Vec<(f64, Point)> {
    let mut pts: Vec<(f64, u8, Point)> = Vec::new();
    for (i, a) in plan.actions.iter().enumerate() {
        if applied.map_or(true, |ok| ok[i]) {
            pts.push((a.at_s, 0, Point::Act(i)));
        }
    }
    pts.extend(observe.iter().map(|t| (*t, 1, Point::Observe)));
    if same {
        pts.push((plan.same_at_s, 2, Point::Same));
    }
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    pts.into_iter().map(|(t, _, p)| (t, p)).collect()
}

/// One run along a timeline.
fn drive(
    sc: &Scenario,
    seed: u64,
    plan: &Plan,
    pts: &[(f64, Point)],
    limits: Limits,
    stop: Option<u64>,
) -> Result<Ran, Failure> {
    let mut r = Runner::new(sc, seed, &plan.actions, limits, stop)?;
    for (t, p) in pts {
        if !r.advance(ns(*t))? {
            break;
        }
        match p {
            Point::Act(i) => r.act(*i)?,
            Point::Observe => r.observe()?,
            Point::Same => r.same()?,
        }
    }
    // A repeated run goes on to its stop instant and through the events at
    // it: an action at the very instant the first run stopped (a crash
    // that starts a zero-time loop there) must be followed by the same
    // events, or the repeat reports the instant half done (found by the
    // swarm as a "side effect" of 100,001 events).
    if r.stop.is_none_or(|s| r.sim.now() <= s) {
        r.advance(ns(plan.horizon_s))?;
    }
    r.finish()
}

fn runs(sc: &Scenario, seed: u64, plan: &Plan, limits: Limits) -> Result<Verdict, Failure> {
    let a = drive(
        sc,
        seed,
        plan,
        &timeline(plan, None, &plan.observe_a, false),
        limits,
        None,
    )?;
    for e in &a.refusals {
        if let Some(f) = check_message(e, None, None, false) {
            return Err(f);
        }
    }
    checks_on_report(a.report.as_ref().expect("report"), sc, &a)?;
    let applied = Some(a.applied.as_slice());
    // A repeated run does the first one's work to the same stop, and the
    // first may pass its budget finishing its last instant.
    let limits = Limits {
        max_work: limits.max_work.max(a.work),
        ..limits
    };
    let b = drive(
        sc,
        seed,
        plan,
        &timeline(plan, applied, &plan.observe_b, false),
        limits,
        Some(a.stop),
    )?;
    if b.json != a.json {
        let again = drive(
            sc,
            seed,
            plan,
            &timeline(plan, None, &plan.observe_a, false),
            limits,
            Some(a.stop),
        )?;
        let (kind, what) = if again.json != a.json {
            (Kind::Nondeterminism, "the same run twice")
        } else {
            (Kind::SideEffect, "a refused action or an observation")
        };
        return Err(differ(
            kind,
            what,
            &a.json,
            if again.json != a.json {
                &again.json
            } else {
                &b.json
            },
        ));
    }
    let c = drive(
        sc,
        seed,
        plan,
        &timeline(plan, applied, &plan.observe_b, true),
        limits,
        Some(a.stop),
    )?;
    if c.json != a.json {
        return Err(differ(
            Kind::ReconfigureSame,
            "reconfiguring to the running scenario",
            &a.json,
            &c.json,
        ));
    }
    let applied = a.applied.iter().filter(|ok| **ok).count();
    Ok(Verdict::Ran {
        events: a.events,
        budget_hit: a.budget_hit,
        halted: a.halted.clone(),
        applied,
        refused: a.refusals.len(),
    })
}

/// Report-level checks: numbers, and runs that can never finish.
fn checks_on_report(r: &Report, sc: &Scenario, a: &Ran) -> Result<(), Failure> {
    crate::phase("report checks");
    if let Some(f) = non_finite::<Report>("report", &a.json) {
        return Err(f);
    }
    if let Some(f) =
        non_finite_words("table", &r.to_table()).or_else(|| non_finite_words("csv", &r.to_csv()))
    {
        return Err(f);
    }
    if !a.budget_hit {
        return Ok(());
    }
    let t = r.sim_time_s;
    let mut ticks: Vec<(f64, String)> = vec![(
        t / sc.metrics.window_s,
        format!("metrics.window_s = {}", sc.metrics.window_s),
    )];
    for (name, n) in &sc.nodes {
        if let sim_core::NodeSpec::Service(s) = n {
            if let Some(a) = &s.autoscale {
                ticks.push((
                    t / a.interval_s,
                    format!("nodes.{name}.autoscale.interval_s = {}", a.interval_s),
                ));
            }
        }
    }
    ticks.sort_by(|x, y| x.0.total_cmp(&y.0));
    // Against work, as the budget counts it: a run whose events are few
    // but make many calls each is busy with calls, not with its timers.
    if let Some((n, what)) = ticks.last().filter(|(n, _)| *n > 0.5 * a.work as f64) {
        return Err(Failure::new(
            Kind::Runaway,
            format!(
                "periodic timer {}",
                crate::verdict::generalise(what.split(" =").next().unwrap_or(""))
            ),
            format!(
                "{what}: {n:.0} ticks in {t} s take most of the {} units of work",
                a.work
            ),
        ));
    }
    // Arrivals at a legal rate (up to 1e7/s) against requests that take
    // long (legal too) can fill the budget on their own: that is load, not a
    // runaway, and the engine's in-flight budget bounds it (tested in
    // sim-core's guards). A runaway is events that arrivals do not explain.
    // A request may also cost up to its work estimate in steps (retries
    // over layers: 21^3 attempts), each a few events.
    let work = sim_core::scenario::work_per_request(sc).min(1e9) as u64;
    let unexplained = a.events > ARRIVAL_EVENTS * a.arrived.saturating_mul(work.max(1));
    if a.arrived > 0 && a.finished == 0 && a.budget_hit && unexplained {
        return Err(Failure::new(
            Kind::Runaway,
            "no request finished within the event budget",
            format!(
                "{} events, {} requests arrived, none finished by t = {t} s",
                a.events, a.arrived
            ),
        ));
    }
    Ok(())
}

/// Events a request may account for, per step of its work estimate, before
/// it finishes (its arrival, hops, timers) without the run counting as a
/// runaway.
const ARRIVAL_EVENTS: u64 = 16;

fn differ(kind: Kind, what: &str, a: &str, b: &str) -> Failure {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = la
        .iter()
        .zip(&lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()));
    // The nearest enclosing keys, for a readable location.
    let ctx: Vec<&str> = la[..i]
        .iter()
        .rev()
        .filter(|l| l.trim_end().ends_with('{'))
        .take(3)
        .map(|l| l.trim())
        .collect();
    let at = ctx.into_iter().rev().collect::<Vec<_>>().join(" ");
    let first = la.get(i).map_or("", |l| l.trim());
    let second = lb.get(i).map_or("", |l| l.trim());
    let field = first
        .split(':')
        .next()
        .unwrap_or("")
        .trim_matches(|c| c == '"' || c == ' ');
    Failure::new(
        kind,
        format!("{what} changed {field}"),
        format!("{what} changed the report at line {i} ({at}): {first} vs {second}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen;

    #[test]
    fn shipped_scenarios_pass_every_check() {
        let a = gen::assets::assets();
        assert!(a.scenarios.len() > 10);
        for s in a.scenarios.iter().take(3) {
            let case = Case {
                seed: 1,
                origin: "asset".into(),
                note: s.name.clone(),
                input: Input::Doc(s.doc.clone()),
                expect: None,
                plan: Plan {
                    horizon_s: 5.0,
                    observe_a: vec![1.0],
                    observe_b: vec![2.0],
                    same_at_s: 3.0,
                    ..Plan::default()
                },
            };
            let v = check(
                &case,
                Limits {
                    max_work: 50_000,
                    ..Limits::default()
                },
            );
            assert!(matches!(v, Verdict::Ran { .. }), "{}: {v:?}", s.name);
        }
    }

    #[test]
    fn a_dangling_target_is_rejected_with_its_path() {
        // The first generated case from seed 3 on that validates as it is
        // (the valid generator's cases are sometimes refused, rightly).
        let valid = |c: &Case| match &c.input {
            Input::Doc(d) => sim_core::Scenario::from_value(d).is_ok(),
            _ => false,
        };
        let mut case = (3..)
            .map(|seed| gen::case(seed, Some("valid")))
            .find(valid)
            .expect("a valid case");
        let Input::Doc(doc) = &mut case.input else {
            panic!()
        };
        doc["nodes"]["src0"]["target"] = "nope".into();
        case.expect = Some(crate::case::Expect {
            path: "nodes.src0.target".into(),
            exact: true,
            must_reject: true,
        });
        let v = check(&case, Limits::default());
        assert!(matches!(v, Verdict::Rejected(_)), "{v:?}");
    }
}
