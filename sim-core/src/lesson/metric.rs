//! Claims, measured: the metric language over reports (`nodes.db.arrived /
//! end_to_end.arrived`, `window(p99_s, 100, 160, max)`,
//! `recovery(p99_s, 120, 0.5)`), the judgement of one claim, and `check`,
//! which runs every state a lesson needs over several seeds.

use super::{Claim, Compare, Lesson, LessonError, Op, State};
use crate::report::Report;
use crate::Scenario;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
enum Term {
    Num(f64),
    Path(String),
    Window {
        field: String,
        t0: f64,
        t1: f64,
        agg: String,
    },
    Recovery {
        field: String,
        t0: f64,
        threshold: f64,
    },
}

/// Parses `a / b * 2 - c` (left to right, no precedence; keep it simple).
/// Whether `s` is a metric expression (the error says what is wrong).
pub(super) fn check_metric(s: &str) -> Result<(), String> {
    parse_metric(s).map(|_| ())
}

fn parse_metric(s: &str) -> Result<Vec<(char, Term)>, String> {
    let mut out = Vec::new();
    let mut op = '+';
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err("empty metric".into());
    }
    loop {
        let (term, after) = parse_term(rest)?;
        out.push((op, term));
        rest = after.trim_start();
        if rest.is_empty() {
            return Ok(out);
        }
        op = rest.chars().next().unwrap();
        if !"+-*/".contains(op) {
            return Err(format!("expected + - * / at {rest:?}"));
        }
        rest = rest[1..].trim_start();
    }
}

fn parse_term(s: &str) -> Result<(Term, &str), String> {
    for (name, n) in [("window(", 4), ("recovery(", 3)] {
        if let Some(r) = s.strip_prefix(name) {
            let close = r.find(')').ok_or("missing ')'")?;
            let args: Vec<&str> = r[..close].split(',').map(|a| a.trim()).collect();
            if args.len() != n {
                return Err(format!("{name}...) takes {n} arguments"));
            }
            let num = |x: &str| {
                x.parse::<f64>()
                    .map_err(|_| format!("{x:?} is not a number"))
            };
            let term = if n == 4 {
                if !["mean", "max", "min", "sum"].contains(&args[3]) {
                    return Err(format!(
                        "window aggregate must be mean, max, min or sum, got {:?}",
                        args[3]
                    ));
                }
                Term::Window {
                    field: args[0].to_string(),
                    t0: num(args[1])?,
                    t1: num(args[2])?,
                    agg: args[3].to_string(),
                }
            } else {
                Term::Recovery {
                    field: args[0].to_string(),
                    t0: num(args[1])?,
                    threshold: num(args[2])?,
                }
            };
            return Ok((term, &r[close + 1..]));
        }
    }
    let end = s
        .find(|c: char| c.is_whitespace() || "+*/()".contains(c))
        .unwrap_or(s.len());
    // A '-' inside a path (node names may contain '-') is part of it; a
    // subtraction must be surrounded by spaces.
    let tok = &s[..end];
    if tok.is_empty() {
        return Err(format!("expected a number or a report path at {s:?}"));
    }
    let term = match tok.parse::<f64>() {
        Ok(x) => Term::Num(x),
        Err(_) => Term::Path(tok.to_string()),
    };
    Ok((term, &s[end..]))
}

fn lookup(v: &Value, path: &str) -> Result<f64, String> {
    let mut cur = v;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(m) => m
                .get(seg)
                .ok_or_else(|| format!("{path}: no field {seg:?} in the report"))?,
            Value::Array(a) => a
                .get(
                    seg.parse::<usize>()
                        .map_err(|_| format!("{path}: {seg:?} is not an index"))?,
                )
                .ok_or_else(|| format!("{path}: index {seg} out of range"))?,
            _ => return Err(format!("{path}: {seg:?} is inside a number")),
        };
    }
    cur.as_f64().ok_or_else(|| format!("{path}: not a number"))
}

/// The per-window values of `field`: an end-to-end field (`p99_s`,
/// `throughput_rps`...) or `nodes.NAME.FIELD`.
fn series(r: &Report, field: &str) -> Result<Vec<(f64, f64, f64)>, String> {
    let get: Box<dyn Fn(&crate::metrics::Window) -> Option<Value>> =
        if let Some(rest) = field.strip_prefix("nodes.") {
            let (node, f) = rest
                .split_once('.')
                .ok_or_else(|| format!("{field}: expected nodes.NAME.FIELD"))?;
            let i = r
                .series
                .nodes
                .iter()
                .position(|n| n == node)
                .ok_or_else(|| format!("{field}: no node {node:?} in the series"))?;
            let f = f.to_string();
            Box::new(move |w| {
                let nw = w.nodes.get(i)?;
                let v = serde_json::to_value(nw).ok()?;
                v.get(&f).cloned()
            })
        } else {
            let f = field.to_string();
            Box::new(move |w| {
                let v = serde_json::to_value(w).ok()?;
                v.get(&f).cloned()
            })
        };
    // A window without a value (a percentile of a window that answered
    // nothing) is left out; a name that is no window field is an error.
    let mut out = Vec::new();
    for w in &r.series.windows {
        match get(w) {
            None => return Err(format!("{field}: not a window field")),
            Some(Value::Null) => {}
            Some(v) => {
                let x = v.as_f64().ok_or_else(|| format!("{field}: not a number"))?;
                out.push((w.t_start_s, w.t_end_s, x));
            }
        }
    }
    Ok(out)
}

/// Evaluates a metric on one report.
pub fn eval_metric(metric: &str, r: &Report) -> Result<f64, String> {
    let terms = parse_metric(metric)?;
    let json = serde_json::to_value(r).map_err(|e| e.to_string())?;
    let mut acc = 0.0;
    for (op, t) in terms {
        let x = match t {
            Term::Num(x) => x,
            Term::Path(p) => lookup(&json, &p)?,
            Term::Window { field, t0, t1, agg } => {
                let xs: Vec<f64> = series(r, &field)?
                    .into_iter()
                    .filter(|(a, b, _)| *a >= t0 && *b <= t1)
                    .map(|(_, _, x)| x)
                    .collect();
                if xs.is_empty() {
                    return Err(format!(
                        "window({field}, {t0}, {t1}): no complete window in that range"
                    ));
                }
                match agg.as_str() {
                    "mean" => xs.iter().sum::<f64>() / xs.len() as f64,
                    "max" => xs.iter().cloned().fold(f64::MIN, f64::max),
                    "min" => xs.iter().cloned().fold(f64::MAX, f64::min),
                    _ => xs.iter().sum(),
                }
            }
            Term::Recovery {
                field,
                t0,
                threshold,
            } => {
                let s = series(r, &field)?;
                let after: Vec<&(f64, f64, f64)> = s.iter().filter(|w| w.0 >= t0).collect();
                let end = after.last().map_or(t0, |w| w.1);
                // The first window from which every later one is at or below
                // the threshold.
                let mut rec = end;
                for w in after.iter().rev() {
                    if w.2 <= threshold {
                        rec = w.0;
                    } else {
                        break;
                    }
                }
                rec - t0
            }
        };
        acc = match op {
            '+' => acc + x,
            '-' => acc - x,
            '*' => acc * x,
            _ => acc / x,
        };
    }
    Ok(acc)
}

/// Everything `lessons check` measured for one lesson.
#[derive(Clone, Debug, Serialize)]
pub struct Checked {
    pub id: String,
    pub claims: Vec<ClaimResult>,
    /// Variants ranked by `rank_by` (best first): (name, mean value,
    /// improvement over the mistake as a ratio mistake / variant).
    pub ranking: Vec<(String, f64, f64)>,
}

/// Runs every state a lesson needs over seeds 1..=`seeds` and judges its
/// claims. Conservation is checked on every run (a violation is reported as
/// a failed claim naming the seed).
pub fn check(lesson: &Lesson, file_text: Option<&str>, seeds: u64) -> Result<Checked, LessonError> {
    let runs = |sc: &Scenario| -> Result<Vec<Report>, String> {
        (1..=seeds)
            .map(|seed| {
                let r = crate::Sim::new(sc, seed)
                    .map_err(|e| e.to_string())?
                    .run_for(sc.duration_s)
                    .map_err(|e| e.to_string())?;
                if r.conservation.ok {
                    Ok(r)
                } else {
                    Err(format!(
                        "conservation violated with seed {seed}: {:?}",
                        r.conservation.violations
                    ))
                }
            })
            .collect()
    };
    let broken = |e: String| Checked {
        id: lesson.id.clone(),
        claims: vec![ClaimResult {
            text: "every run conserves requests".into(),
            pass: false,
            measured: f64::NAN,
            expected: String::new(),
            mistake: vec![],
            fix: vec![],
            error: Some(e),
        }],
        ranking: vec![],
    };
    let mistake = match runs(&lesson.scenario(State::Mistake, file_text)?) {
        Ok(r) => r,
        Err(e) => return Ok(broken(e)),
    };
    let fix = if lesson.toggle.is_some() {
        match runs(&lesson.scenario(State::Fix, file_text)?) {
            Ok(r) => r,
            Err(e) => return Ok(broken(e)),
        }
    } else {
        mistake.clone()
    };
    let mut variants: BTreeMap<&str, Vec<Report>> = BTreeMap::new();
    for name in lesson.variants.keys() {
        match runs(&lesson.scenario_variant(name, file_text)?) {
            Ok(r) => {
                variants.insert(name, r);
            }
            Err(e) => return Ok(broken(e)),
        }
    }
    let claims = lesson
        .claims
        .iter()
        .map(|c| match &c.variant {
            Some(v) => judge(c, &mistake, &variants[v.as_str()]),
            None => judge(c, &mistake, &fix),
        })
        .collect();
    let mut ranking = Vec::new();
    if let Some(m) = &lesson.rank_by {
        let avg = |rs: &[Report]| {
            rs.iter()
                .filter_map(|r| eval_metric(m, r).ok())
                .sum::<f64>()
                / rs.len().max(1) as f64
        };
        let base = avg(&mistake);
        for (name, rs) in &variants {
            let v = avg(rs);
            ranking.push((name.to_string(), v, base / v));
        }
        ranking.sort_by(|a, b| a.1.total_cmp(&b.1));
    }
    Ok(Checked {
        id: lesson.id.clone(),
        claims,
        ranking,
    })
}

/// The result of checking one claim.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClaimResult {
    pub text: String,
    pub pass: bool,
    /// The judged value (ratio, difference, or mean of the state).
    pub measured: f64,
    /// What it was judged against.
    pub expected: String,
    pub mistake: Vec<f64>,
    pub fix: Vec<f64>,
    pub error: Option<String>,
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// Judges a claim from the metric's per-seed values in both states.
pub fn judge(c: &Claim, mistake: &[Report], fix: &[Report]) -> ClaimResult {
    let vals = |rs: &[Report]| -> Result<Vec<f64>, String> {
        rs.iter().map(|r| eval_metric(&c.metric, r)).collect()
    };
    let (m, f) = match (vals(mistake), vals(fix)) {
        (Ok(m), Ok(f)) => (m, f),
        (Err(e), _) | (_, Err(e)) => {
            return ClaimResult {
                text: c.text.clone(),
                pass: false,
                measured: f64::NAN,
                expected: String::new(),
                mistake: vec![],
                fix: vec![],
                error: Some(e),
            }
        }
    };
    let (mm, fm) = (mean(&m), mean(&f));
    let cmp = |x: f64, op: Op, v: f64| match op {
        Op::Ge => x >= v,
        Op::Le => x <= v,
        Op::Gt => x > v,
        Op::Lt => x < v,
    };
    let sym = |op: Op| match op {
        Op::Ge => ">=",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Lt => "<",
    };
    let (measured, pass, expected) = match c.compare {
        Compare::Theory => {
            let th = c
                .expect
                .as_ref()
                .and_then(|e| e.eval().ok())
                .unwrap_or(f64::NAN);
            let x = if c.state == Some(State::Mistake) {
                mm
            } else {
                fm
            };
            let tol = c
                .tolerance
                .unwrap_or(0.0)
                .max(c.rel_tolerance.unwrap_or(0.0) * th.abs());
            (
                x,
                (x - th).abs() <= tol,
                format!("{th:.6} ± {tol:.6} (theory)"),
            )
        }
        other => {
            let (op, v) = (c.op.unwrap_or(Op::Ge), c.value.unwrap_or(0.0));
            let x = match other {
                Compare::Ratio => mm / fm,
                Compare::Difference => mm - fm,
                Compare::Mistake => mm,
                _ => fm,
            };
            (
                x,
                x.is_finite() && cmp(x, op, v),
                format!("{} {v}", sym(op)),
            )
        }
    };
    ClaimResult {
        text: c.text.clone(),
        pass,
        measured,
        expected,
        mistake: m,
        fix: f,
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_language() {
        assert!(parse_metric("a.b / c.d * 2").is_ok());
        assert!(parse_metric("window(p99_s, 0, 10, max)").is_ok());
        assert!(parse_metric("window(p99_s, 0, 10, median)").is_err());
        assert!(parse_metric("recovery(p99_s, 60, 0.5) - 1").is_ok());
        assert!(parse_metric("").is_err());
        assert!(parse_metric("a.b % 2").is_err());
    }
}
