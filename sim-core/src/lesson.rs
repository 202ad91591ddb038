//! Lessons: one mistake from the article as data — a scenario, a toggle that
//! flips it between "mistake" and "fix", a narrative, a question for the
//! student, and claims that are *measured* by running both states with the
//! same seeds (common random numbers: only the toggle differs).
//!
//! ```toml
//! id = "DATA-N+1"
//! title = "N+1 queries"
//! section = "Data-layer mistakes"
//! narrative = "..."
//! question = "How much faster is the page with one query instead of 1 + N?"
//! seeds = 5
//! [toggle]
//! label = "N+1 queries"
//! mistake = { "nodes.api.steps[0].query.count" = { dist = "items", plus = 1 } }
//! fix = { "nodes.api.steps[0].query.count" = 1 }
//! [[claims]]
//! text = "p99 is at least 3x higher with N+1"
//! metric = "end_to_end.latency_s.p99"
//! compare = "ratio"        # mistake / fix
//! op = ">="
//! value = 3.0
//! [scenario]               # or: scenario_file = "catalogue/DATA-N+1.toml"
//! version = 1
//! ...
//! ```
//!
//! A metric is an expression over report paths (`nodes.db.arrived /
//! end_to_end.arrived`), numbers, and window functions:
//! `window(p99_s, 100, 160, max)` over the end-to-end series,
//! `window(nodes.db.utilisation, 0, 60, mean)` over a node's series, and
//! `recovery(p99_s, 120, 0.5)`: seconds after t = 120 until the windowed
//! value stays at or below 0.5 for the rest of the run (the run's remaining
//! length if it never does).

use crate::report::Report;
use crate::scenario::{ScenarioDoc, ScenarioError};
use crate::Scenario;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A lesson file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// The catalogue id (file name).
    pub id: String,
    pub title: String,
    /// The article section it comes from.
    pub section: String,
    /// What the system is, what to watch, why it happens.
    pub narrative: String,
    /// Asked before running; the answer is shown beside the student's guess.
    pub question: String,
    /// What the student predicts: a metric to read after the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predict: Option<Prediction>,
    /// Inline scenario (the mistake state unless the toggle says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<Value>,
    /// Or a scenario file, relative to assets/scenarios/.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_file: Option<String>,
    /// Run length override (simulated seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// Seeds per state for `lessons check` (at least 5).
    #[serde(default = "default_seeds")]
    pub seeds: u64,
    /// What to look at.
    #[serde(default)]
    pub focus: Focus,
    /// Fields that flip between mistake and fix; absent for lessons that
    /// are not a toggle (theory rows compare with a formula, OPS-NO-IAC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toggle: Option<Toggle>,
    /// Named partial fixes (the case study: one per fix; `toggle.fix` is
    /// "all fixes"). Each maps field paths to values applied to the mistake
    /// state.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variants: BTreeMap<String, BTreeMap<String, Value>>,
    /// The metric variants are ranked by (lower is better), e.g.
    /// "end_to_end.latency_s.p99".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank_by: Option<String>,
    #[serde(default)]
    pub claims: Vec<Claim>,
    /// How the product shows a row that cannot be a toggle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demonstrated_by: Option<String>,
}

fn default_seeds() -> u64 {
    5
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Focus {
    #[serde(default)]
    pub nodes: Vec<String>,
    #[serde(default)]
    pub charts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    /// The metric whose value the student guesses (see module docs).
    pub metric: String,
    /// In which state: "mistake" or "fix".
    pub state: State,
    /// Unit shown beside the input, e.g. "s" or "%".
    #[serde(default)]
    pub unit: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    pub label: String,
    /// Field path -> value in the mistake state.
    pub mistake: BTreeMap<String, Value>,
    /// Field path -> value in the fixed state.
    pub fix: BTreeMap<String, Value>,
}

/// Which side of the toggle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Mistake,
    Fix,
}

/// How a claim's metric is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// mean(mistake) / mean(fix) `op` value.
    Ratio,
    /// mean(mistake) - mean(fix) `op` value.
    Difference,
    /// mean(mistake) `op` value.
    Mistake,
    /// mean(fix) `op` value.
    Fix,
    /// mean(state) within `tolerance` (absolute) or `rel_tolerance` of
    /// `expect` (a theory formula) in `state` (default fix).
    Theory,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<")]
    Lt,
}

/// A measurable statement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub text: String,
    pub metric: String,
    pub compare: Compare,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// For `theory`: the formula.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Formula>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel_tolerance: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// Judge against this variant instead of the full fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// A closed form from [`crate::theory`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Formula {
    /// erlang_c, mmc_mean_wait, mmc_sojourn_quantile, mmc_wait_quantile,
    /// pk_mean_wait, mmck_blocking, fanout_slow, amdahl_speedup,
    /// little (args: lambda, w), che_zipf (n, s, capacity), constant (x).
    pub r#fn: String,
    pub args: Vec<f64>,
}

impl Formula {
    pub fn eval(&self) -> Result<f64, String> {
        use crate::theory as t;
        let a = &self.args;
        let need = |n: usize| -> Result<(), String> {
            if a.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "{} takes {n} arguments, got {}",
                    self.r#fn,
                    a.len()
                ))
            }
        };
        let v = match self.r#fn.as_str() {
            "erlang_c" => {
                need(3)?;
                t::erlang_c(a[0] as u32, a[1], a[2])
            }
            "mmc_mean_wait" => {
                need(3)?;
                t::mmc_mean_wait(a[0] as u32, a[1], a[2])
            }
            "mmc_wait_quantile" => {
                need(4)?;
                t::mmc_wait_quantile(a[0] as u32, a[1], a[2], a[3])
            }
            "mmc_sojourn_quantile" => {
                need(4)?;
                t::mmc_sojourn_quantile(a[0] as u32, a[1], a[2], a[3])
            }
            "pk_mean_wait" => {
                need(3)?;
                t::pk_mean_wait(a[0], a[1], a[2])
            }
            "mmck_blocking" => {
                need(4)?;
                t::mmck_blocking(a[0] as u32, a[1] as u32, a[2], a[3])
            }
            "fanout_slow" => {
                need(2)?;
                t::fanout_slow(a[0], a[1] as u32)
            }
            "amdahl_speedup" => {
                need(2)?;
                t::amdahl_speedup(a[0], a[1])
            }
            "little" => {
                need(2)?;
                a[0] * a[1]
            }
            "che_zipf" => {
                need(3)?;
                t::che_hit_ratio(&t::zipf_popularities(a[0] as u64, a[1]), a[2])
            }
            "constant" => {
                need(1)?;
                a[0]
            }
            other => return Err(format!("unknown formula {other:?}")),
        };
        if v.is_finite() {
            Ok(v)
        } else {
            Err(format!("{} gives no finite value for {:?}", self.r#fn, a))
        }
    }
}

/// A lesson error: the field path and what is wrong.
pub type LessonError = ScenarioError;

impl Lesson {
    /// Parses a lesson file (TOML).
    pub fn from_toml_str(text: &str) -> Result<Lesson, LessonError> {
        let v: Value = toml::from_str(text)
            .map_err(|e| ScenarioError::new("", format!("TOML syntax error: {}", e.message())))?;
        let l: Lesson = serde_path_to_error::deserialize(&v)
            .map_err(|e| ScenarioError::new(e.path().to_string(), e.into_inner().to_string()))?;
        l.validate_shape()?;
        Ok(l)
    }

    fn validate_shape(&self) -> Result<(), LessonError> {
        let e = |p: &str, m: &str| Err(ScenarioError::new(p, m));
        if self.id.is_empty() {
            return e("id", "must not be empty");
        }
        if self.scenario.is_some() == self.scenario_file.is_some() {
            return e(
                "scenario",
                "give exactly one of `scenario` (inline) or `scenario_file`",
            );
        }
        if self.seeds < 5 || self.seeds > 50 {
            return e(
                "seeds",
                "must be between 5 and 50 (claims are checked over several seeds)",
            );
        }
        if self.claims.is_empty() && self.demonstrated_by.is_none() {
            return e("claims", "a lesson needs at least one claim (or `demonstrated_by` for rows that are not a toggle)");
        }
        for (i, c) in self.claims.iter().enumerate() {
            let p = format!("claims[{i}]");
            parse_metric(&c.metric).map_err(|m| ScenarioError::new(format!("{p}.metric"), m))?;
            match c.compare {
                Compare::Theory => {
                    let Some(f) = &c.expect else {
                        return e(&format!("{p}.expect"), "a theory claim needs `expect`");
                    };
                    f.eval()
                        .map_err(|m| ScenarioError::new(format!("{p}.expect"), m))?;
                    if c.tolerance.is_none() && c.rel_tolerance.is_none() {
                        return e(
                            &format!("{p}.tolerance"),
                            "a theory claim needs `tolerance` or `rel_tolerance`",
                        );
                    }
                }
                _ => {
                    if c.op.is_none() || c.value.is_none() {
                        return e(&p, "needs `op` and `value`");
                    }
                    if matches!(c.compare, Compare::Ratio | Compare::Difference)
                        && self.toggle.is_none()
                    {
                        return e(
                            &format!("{p}.compare"),
                            "ratio and difference compare the two toggle states: add a [toggle]",
                        );
                    }
                }
            }
        }
        for (i, c) in self.claims.iter().enumerate() {
            if let Some(v) = &c.variant {
                if !self.variants.contains_key(v) {
                    return e(
                        &format!("claims[{i}].variant"),
                        "no such variant in `variants`",
                    );
                }
            }
        }
        if let Some(r) = &self.rank_by {
            parse_metric(r).map_err(|m| ScenarioError::new("rank_by", m))?;
        }
        if let Some(p) = &self.predict {
            parse_metric(&p.metric).map_err(|m| ScenarioError::new("predict.metric", m))?;
        }
        Ok(())
    }

    /// The scenario in one state: the base document with the toggle's
    /// fields for that state applied. `file_text` is the referenced file's
    /// text when the lesson uses `scenario_file`.
    pub fn scenario(&self, state: State, file_text: Option<&str>) -> Result<Scenario, LessonError> {
        self.build_state(state, None, file_text)
    }

    /// The mistake state with one variant's fields applied.
    pub fn scenario_variant(
        &self,
        variant: &str,
        file_text: Option<&str>,
    ) -> Result<Scenario, LessonError> {
        self.build_state(State::Mistake, Some(variant), file_text)
    }

    fn build_state(
        &self,
        state: State,
        variant: Option<&str>,
        file_text: Option<&str>,
    ) -> Result<Scenario, LessonError> {
        let mut doc = match (&self.scenario, file_text) {
            (Some(v), _) => ScenarioDoc(v.clone()),
            (None, Some(t)) => ScenarioDoc::parse(t, crate::Format::sniff(t))?,
            (None, None) => {
                return Err(ScenarioError::new(
                    "scenario_file",
                    "the referenced file's text is needed",
                ))
            }
        };
        if let Some(t) = &self.toggle {
            let sets = match state {
                State::Mistake => &t.mistake,
                State::Fix => &t.fix,
            };
            for (path, v) in sets {
                doc.set_value(path, v.clone())
                    .map_err(|e| ScenarioError::new(format!("toggle.{path}"), e.to_string()))?;
            }
        }
        if let Some(name) = variant {
            let sets = self
                .variants
                .get(name)
                .ok_or_else(|| ScenarioError::new("variants", format!("no variant {name:?}")))?;
            for (path, v) in sets {
                doc.set_value(path, v.clone()).map_err(|e| {
                    ScenarioError::new(format!("variants.{name}.{path}"), e.to_string())
                })?;
            }
        }
        if let Some(d) = self.duration_s {
            doc.set_value("duration_s", d.into())?;
        }
        doc.build()
            .map_err(|e| ScenarioError::new(format!("scenario.{}", e.path), e.message))
    }
}

// ----- metrics --------------------------------------------------------------------

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
                    .run_for(sc.duration_s);
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

    const LESSON: &str = r#"
id = "TEST"
title = "t"
section = "s"
narrative = "n"
question = "q"
[toggle]
label = "slow server"
mistake = { "nodes.s.service.mean_s" = 0.5 }
fix = { "nodes.s.service.mean_s" = 0.1 }
[[claims]]
text = "mean latency is higher with the slow server"
metric = "end_to_end.latency_s.mean / 1"
compare = "ratio"
op = ">="
value = 2.0
[[claims]]
text = "utilisation of the fast server matches lambda / mu (Little)"
metric = "nodes.s.utilisation"
compare = "theory"
expect = { fn = "little", args = [1.0, 0.1] }
rel_tolerance = 0.2
[scenario]
version = 1
duration_s = 2000
[scenario.nodes.c]
kind = "source"
target = "s"
arrival = { process = "poisson", rate = 1.0 }
[scenario.nodes.s]
kind = "service"
workers = 1
service = { dist = "exponential", mean_s = 0.5 }
"#;

    #[test]
    fn claims_are_measured_not_written() {
        let l = Lesson::from_toml_str(LESSON).unwrap();
        let run = |st: State, seed: u64| {
            let sc = l.scenario(st, None).unwrap();
            crate::Sim::new(&sc, seed).unwrap().run_for(sc.duration_s)
        };
        let m: Vec<Report> = (1..=5).map(|s| run(State::Mistake, s)).collect();
        let f: Vec<Report> = (1..=5).map(|s| run(State::Fix, s)).collect();
        // M/M/1 mean response 1/(mu - lambda): 1/(2-1) = 1 s vs 1/(10-1) = 0.111 s: ratio ~9.
        let r = judge(&l.claims[0], &m, &f);
        assert!(r.pass && r.measured > 5.0, "{r:?}");
        let r = judge(&l.claims[1], &m, &f);
        assert!(r.pass, "{r:?}");
        // The same claim with an impossible threshold fails: nothing is hard-coded.
        let mut c = l.claims[0].clone();
        c.value = Some(100.0);
        assert!(!judge(&c, &m, &f).pass);
    }

    #[test]
    fn metric_language() {
        assert!(parse_metric("a.b / c.d * 2").is_ok());
        assert!(parse_metric("window(p99_s, 0, 10, max)").is_ok());
        assert!(parse_metric("window(p99_s, 0, 10, median)").is_err());
        assert!(parse_metric("recovery(p99_s, 60, 0.5) - 1").is_ok());
        assert!(parse_metric("").is_err());
        assert!(parse_metric("a.b % 2").is_err());
    }

    #[test]
    fn bad_lessons_name_the_field() {
        let e =
            Lesson::from_toml_str(&LESSON.replace("compare = \"ratio\"", "compare = \"ratoi\""))
                .unwrap_err();
        assert!(
            e.path.starts_with("claims[0].compare") || e.path.starts_with("claims"),
            "{e}"
        );
        let e = Lesson::from_toml_str(&LESSON.replace(
            "metric = \"nodes.s.utilisation\"",
            "metric = \"window(x, 1)\"",
        ))
        .unwrap_err();
        assert_eq!(e.path, "claims[1].metric");
    }
}
/// Every row of the anti-pattern catalogue: (id, article section, title).
pub const CATALOGUE: &[(&str, &str, &str)] = &[
    (
        "ARCH-MONOLITH",
        "Architecture and design (article section 1)",
        "monolith scaled as one unit",
    ),
    (
        "ARCH-CHATTY-MICRO",
        "Architecture and design (article section 1)",
        "premature microservices",
    ),
    (
        "ARCH-SPOF",
        "Architecture and design (article section 1)",
        "single point of failure",
    ),
    (
        "ARCH-STICKY",
        "Architecture and design (article section 1)",
        "sticky sessions, stateful nodes",
    ),
    ("DATA-N+1", "Data layer (section 2)", "N+1 queries"),
    ("DATA-NO-INDEX", "Data layer (section 2)", "missing index"),
    (
        "DATA-UNBOUNDED",
        "Data layer (section 2)",
        "unbounded result sets, no pagination",
    ),
    (
        "DATA-LONG-TX",
        "Data layer (section 2)",
        "long transactions and locks",
    ),
    (
        "DATA-NO-REPLICAS",
        "Data layer (section 2)",
        "single primary for all reads",
    ),
    (
        "DATA-LOOP-CALLS",
        "Data layer (section 2)",
        "synchronous remote calls in a tight loop",
    ),
    ("CACHE-NONE", "Caching (section 3)", "no caching"),
    (
        "CACHE-STALE",
        "Caching (section 3)",
        "cache-aside without invalidation",
    ),
    (
        "CACHE-PER-USER",
        "Caching (section 3)",
        "caching unique per-user data",
    ),
    (
        "CACHE-BIG-OBJECTS",
        "Caching (section 3)",
        "large objects / whole sessions in one key",
    ),
    (
        "CACHE-TTL-ONLY",
        "Caching (section 3)",
        "relying on TTL alone",
    ),
    (
        "CACHE-STAMPEDE",
        "Caching (section 3)",
        "expiry or flush under load",
    ),
    (
        "CONC-BLOCKING-LOOP",
        "Concurrency and resources (section 4)",
        "blocking the event loop",
    ),
    (
        "CONC-POOL-EXHAUSTION",
        "Concurrency and resources (section 4)",
        "exhausted thread or connection pool",
    ),
    (
        "CONC-NO-TIMEOUT",
        "Concurrency and resources (section 4)",
        "no timeouts, no circuit breaker",
    ),
    (
        "CONC-UNBOUNDED",
        "Concurrency and resources (section 4)",
        "unlimited concurrency",
    ),
    (
        "API-CHATTY",
        "API and traffic (section 5)",
        "many small calls",
    ),
    (
        "API-BIG-PAYLOAD",
        "API and traffic (section 5)",
        "large payloads, no compression or streaming",
    ),
    (
        "API-NO-RATE-LIMIT",
        "API and traffic (section 5)",
        "no rate limiting",
    ),
    (
        "OPS-NO-AUTOSCALE",
        "Operations and infrastructure (section 6)",
        "no or badly tuned autoscaling",
    ),
    (
        "OPS-SLOW-DEPLOY",
        "Operations and infrastructure (section 6)",
        "slow builds and deploys",
    ),
    (
        "OPS-LIMITS",
        "Operations and infrastructure (section 6)",
        "wrong container limits",
    ),
    (
        "OPS-NO-IAC",
        "Operations and infrastructure (section 6)",
        "infrastructure not as code",
    ),
    (
        "OBS-AVERAGES",
        "Observability and testing (section 7)",
        "no percentiles / tracing",
    ),
    (
        "OBS-NO-LOADTEST",
        "Observability and testing (section 7)",
        "no load testing",
    ),
    (
        "OBS-UNREALISTIC",
        "Observability and testing (section 7)",
        "unrealistic tests",
    ),
    (
        "SEC-SYNC-AUTH",
        "Security and third parties (section 8)",
        "synchronous external auth per request",
    ),
    (
        "SEC-HEAVY-CRYPTO",
        "Security and third parties (section 8)",
        "heavy crypto per request",
    ),
    (
        "SEC-3P-NO-FALLBACK",
        "Security and third parties (section 8)",
        "third-party outage without degradation",
    ),
    (
        "DIST-2PC",
        "Distributed systems (section 9)",
        "distributed transactions",
    ),
    (
        "DIST-GLOBAL-LOCK",
        "Distributed systems (section 9)",
        "distributed locks, global coordination",
    ),
    (
        "DIST-SYNC-COUPLING",
        "Distributed systems (section 9)",
        "tight synchronous coupling",
    ),
    (
        "EVT-UNBOUNDED-QUEUE",
        "Event-driven systems (section 10)",
        "unbounded backlog",
    ),
    (
        "EVT-NO-PARALLELISM",
        "Event-driven systems (section 10)",
        "no consumer parallelism, hot partition",
    ),
    (
        "EVT-POISON",
        "Event-driven systems (section 10)",
        "poison message without DLQ",
    ),
    (
        "RES-RETRY-STORM",
        "Resilience patterns (mitigation section)",
        "retries without backoff or jitter",
    ),
    (
        "RES-NO-IDEMPOTENCY",
        "Resilience patterns (mitigation section)",
        "retrying unsafe operations",
    ),
    (
        "RES-NO-BULKHEAD",
        "Resilience patterns (mitigation section)",
        "no bulkheads",
    ),
    (
        "RES-NO-HEALTHCHECK",
        "Resilience patterns (mitigation section)",
        "no health checks, abrupt shutdown",
    ),
    (
        "THEORY-KNEE",
        "Theory (key concepts section)",
        "utilisation vs latency",
    ),
    (
        "THEORY-LITTLE",
        "Theory (key concepts section)",
        "Little's law",
    ),
    (
        "THEORY-AMDAHL",
        "Theory (key concepts section)",
        "Amdahl's law",
    ),
    (
        "THEORY-FANOUT",
        "Theory (key concepts section)",
        "tail at scale",
    ),
    (
        "THEORY-CAP",
        "Theory (key concepts section)",
        "CAP, ACID vs BASE",
    ),
];
