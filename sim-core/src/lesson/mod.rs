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
//! seeds = 10
//! bands = [ { name = "load", paths = ["nodes.clients.arrival.rate"], rel = 0.15 } ]
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
//! end_to_end.arrived`), numbers, parentheses and window functions, with
//! the usual precedence (see `metric.rs`).
//!
//! How a claim is judged (`check.rs`, `judge.rs`): per seed, over seeds
//! 1..=`seeds` (at least 10), with common random numbers; it must hold on
//! the means and on its `holds_in` fraction of the seeds (default all).
//! `bands` name what a student is likely to move (load, pool size, cache
//! size) and by how much: every claim is checked again at both ends of
//! every band. A fix made of several mechanisms lists them as `variants`
//! (parts): the check runs each part alone and the full fix with each part
//! left out (the ablation table), and a claim can judge either
//! (`variant`, `without`).

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
    /// Seeds per state for `lessons check` (10 to 50).
    #[serde(default = "default_seeds")]
    pub seeds: u64,
    /// What a student is likely to move, and by how much: every claim must
    /// hold at both ends of every band too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<Band>,
    /// What to look at.
    #[serde(default)]
    pub focus: Focus,
    /// Fields that flip between mistake and fix; absent for lessons that
    /// are not a toggle (theory rows compare with a formula).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toggle: Option<Toggle>,
    /// The parts of a fix that combines mechanisms (the case study: one
    /// per fix; backoff, jitter and a budget), named; `toggle.fix` is all
    /// of them. Each maps some of the toggle's field paths to their fix
    /// values. The check runs each part alone (the mistake plus that part)
    /// and the full fix with that part left out: the ablation table.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variants: BTreeMap<String, BTreeMap<String, Value>>,
    /// The metric of the ablation table (lower is better), e.g.
    /// "end_to_end.latency_s.p99". Required with `variants`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank_by: Option<String>,
    #[serde(default)]
    pub claims: Vec<Claim>,
    /// How the product shows a row that cannot be a toggle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demonstrated_by: Option<String>,
}

fn default_seeds() -> u64 {
    10
}

/// A parameter a student is likely to move (the load slider, a pool or
/// cache size) and how far: the ends of the band are the scenario's value
/// × (1 - `rel`) and × (1 + `rel`), in both states. Integer fields are
/// rounded outwards (down at the low end, up at the high end), so the band
/// is never narrower than it says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// What the student moves: "load", "pool size".
    pub name: String,
    /// The fields moved together (every source's rate, say).
    pub paths: Vec<String>,
    /// Relative half-width, in (0, 0.5].
    pub rel: f64,
}

impl Band {
    /// The factor of each end: low, high.
    pub fn factors(&self) -> [f64; 2] {
        [1.0 - self.rel, 1.0 + self.rel]
    }

    /// "load -15%", "load +15%".
    pub fn end_label(&self, end: usize) -> String {
        let sign = if end == 0 { '-' } else { '+' };
        format!("{} {sign}{}%", self.name, fmt_pct(self.rel))
    }
}

fn fmt_pct(rel: f64) -> String {
    let p = rel * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}", p.round() as i64)
    } else {
        format!("{p:.1}")
    }
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
    /// Judge against this part of the fix alone instead of the full fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Judge against the full fix with this part left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without: Option<String>,
    /// The fraction of seeds the claim must hold on (default 1: every
    /// seed). Below 1 only with a reason in the claim's text or the
    /// narrative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds_in: Option<f64>,
}

impl Claim {
    /// The fraction of seeds the claim must hold on.
    pub fn required_fraction(&self) -> f64 {
        self.holds_in.unwrap_or(1.0)
    }
}

/// A closed form from [`crate::theory`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Formula {
    /// erlang_c, mmc_mean_wait, mmc_sojourn_quantile, mmc_wait_quantile,
    /// pk_mean_wait, mmck_blocking, fanout_slow, amdahl_speedup,
    /// little (args: lambda, w), che_zipf (n, s, capacity), constant (x).
    pub r#fn: String,
    /// Numbers, or paths of the judged state's scenario
    /// (`"nodes.clients.arrival.rate"`), read where the claim is judged: so
    /// the formula follows the scenario to the ends of a band.
    pub args: Vec<Arg>,
}

/// A formula's argument.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Arg {
    Num(f64),
    /// A numeric field of the scenario.
    Path(String),
}

impl Formula {
    /// The arguments each formula takes.
    fn arity(name: &str) -> Option<usize> {
        Some(match name {
            "erlang_c" | "mmc_mean_wait" | "pk_mean_wait" | "che_zipf" => 3,
            "mmc_wait_quantile" | "mmc_sojourn_quantile" | "mmck_blocking" => 4,
            "fanout_slow" | "amdahl_speedup" | "little" => 2,
            "constant" => 1,
            _ => return None,
        })
    }

    /// The formula's shape: a known function with its number of arguments.
    pub fn check_shape(&self) -> Result<(), String> {
        let n = Formula::arity(&self.r#fn).ok_or(format!("unknown formula {:?}", self.r#fn))?;
        if self.args.len() != n {
            return Err(format!(
                "{} takes {n} arguments, got {}",
                self.r#fn,
                self.args.len()
            ));
        }
        Ok(())
    }

    /// The same formula with every path argument read from `doc`.
    pub fn resolve(&self, doc: &ScenarioDoc) -> Result<Formula, String> {
        let args = self
            .args
            .iter()
            .map(|a| match a {
                Arg::Num(x) => Ok(Arg::Num(*x)),
                Arg::Path(p) => doc
                    .get(p)
                    .and_then(Value::as_f64)
                    .map(Arg::Num)
                    .ok_or_else(|| format!("{p}: not a number in the scenario")),
            })
            .collect::<Result<_, String>>()?;
        Ok(Formula {
            r#fn: self.r#fn.clone(),
            args,
        })
    }

    /// The formula's value (every argument must be a number: see
    /// [`Formula::resolve`]).
    pub fn eval(&self) -> Result<f64, String> {
        use crate::theory as t;
        self.check_shape()?;
        let a: Vec<f64> = self
            .args
            .iter()
            .map(|a| match a {
                Arg::Num(x) => Ok(*x),
                Arg::Path(p) => Err(format!(
                    "{p}: a scenario field, read only where the claim is judged"
                )),
            })
            .collect::<Result<_, String>>()?;
        // A count argument (servers, capacity, fan-out, catalogue size) is
        // a whole number within what the formulas can evaluate quickly:
        // erlang_c sums over the servers, che_zipf allocates the catalogue.
        let whole = |i: usize, max: f64| -> Result<u32, String> {
            let x = a[i];
            if x.fract() == 0.0 && (1.0..=max).contains(&x) {
                Ok(x as u32)
            } else {
                Err(format!(
                    "{}: argument {} must be a whole number from 1 to {max:e}, got {x}",
                    self.r#fn,
                    i + 1
                ))
            }
        };
        const SERVERS: f64 = 1e5;
        let v = match self.r#fn.as_str() {
            "erlang_c" => t::erlang_c(whole(0, SERVERS)?, a[1], a[2]),
            "mmc_mean_wait" => t::mmc_mean_wait(whole(0, SERVERS)?, a[1], a[2]),
            "mmc_wait_quantile" => t::mmc_wait_quantile(whole(0, SERVERS)?, a[1], a[2], a[3]),
            "mmc_sojourn_quantile" => t::mmc_sojourn_quantile(whole(0, SERVERS)?, a[1], a[2], a[3]),
            "pk_mean_wait" => t::pk_mean_wait(a[0], a[1], a[2]),
            "mmck_blocking" => t::mmck_blocking(whole(0, SERVERS)?, whole(1, 1e6)?, a[2], a[3]),
            "fanout_slow" => t::fanout_slow(a[0], whole(1, 1e6)?),
            "amdahl_speedup" => t::amdahl_speedup(a[0], a[1]),
            "little" => a[0] * a[1],
            "che_zipf" => {
                t::che_hit_ratio(&t::zipf_popularities(whole(0, 1e7)?.into(), a[1]), a[2])
            }
            _ => a[0],
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
        let l: Lesson =
            serde_path_to_error::deserialize(&v).map_err(|e| crate::scenario::path_err("", e))?;
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
        if self.seeds < 10 || self.seeds > 50 {
            return e(
                "seeds",
                "must be between 10 and 50 (claims are checked seed by seed)",
            );
        }
        if self.claims.is_empty() && self.demonstrated_by.is_none() {
            return e("claims", "a lesson needs at least one claim (or `demonstrated_by` for rows that are not a toggle)");
        }
        self.check_claims()?;
        self.check_toggles()?;
        self.check_bands()?;
        if let Some(r) = &self.rank_by {
            check_metric(r).map_err(|m| ScenarioError::new("rank_by", m))?;
        } else if !self.variants.is_empty() {
            return e(
                "rank_by",
                "a fix in parts needs the metric of its ablation table (lower is better)",
            );
        }
        if let Some(p) = &self.predict {
            check_metric(&p.metric).map_err(|m| ScenarioError::new("predict.metric", m))?;
        }
        Ok(())
    }

    fn check_claims(&self) -> Result<(), LessonError> {
        let e = |p: &str, m: &str| Err(ScenarioError::new(p, m));
        for (i, c) in self.claims.iter().enumerate() {
            let p = format!("claims[{i}]");
            check_metric(&c.metric).map_err(|m| ScenarioError::new(format!("{p}.metric"), m))?;
            match c.compare {
                Compare::Theory => {
                    let Some(f) = &c.expect else {
                        return e(&format!("{p}.expect"), "a theory claim needs `expect`");
                    };
                    f.check_shape()
                        .map_err(|m| ScenarioError::new(format!("{p}.expect"), m))?;
                    if f.args.iter().all(|a| matches!(a, Arg::Num(_))) {
                        f.eval()
                            .map_err(|m| ScenarioError::new(format!("{p}.expect"), m))?;
                    }
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
            for (field, part) in [("variant", &c.variant), ("without", &c.without)] {
                if part
                    .as_ref()
                    .is_some_and(|v| !self.variants.contains_key(v))
                {
                    return e(
                        &format!("claims[{i}].{field}"),
                        "no such part in `variants`",
                    );
                }
            }
            if c.variant.is_some() && c.without.is_some() {
                return e(
                    &format!("claims[{i}]"),
                    "give `variant` (a part alone) or `without` (the fix less a part), not both",
                );
            }
            if let Some(h) = c.holds_in {
                if !(h > 0.0 && h <= 1.0) {
                    return e(
                        &format!("claims[{i}].holds_in"),
                        "must be a fraction of the seeds in (0, 1]",
                    );
                }
            }
        }
        Ok(())
    }

    fn check_bands(&self) -> Result<(), LessonError> {
        let e = |p: String, m: &str| Err(ScenarioError::new(p, m));
        for (i, b) in self.bands.iter().enumerate() {
            if b.name.trim().is_empty() {
                return e(format!("bands[{i}].name"), "must not be empty");
            }
            if b.paths.is_empty() {
                return e(format!("bands[{i}].paths"), "name at least one field");
            }
            for (j, p) in b.paths.iter().enumerate() {
                crate::scenario::split_path(p)
                    .map_err(|x| x.under(&format!("bands[{i}].paths[{j}]")))?;
            }
            if !(b.rel > 0.0 && b.rel <= 0.5) {
                return e(
                    format!("bands[{i}].rel"),
                    "must be in (0, 0.5]: a relative half-width",
                );
            }
        }
        Ok(())
    }

    /// The toggle's and the variants' own rules.
    fn check_toggles(&self) -> Result<(), LessonError> {
        if let Some(t) = &self.toggle {
            t.check().map_err(|e| e.under("toggle"))?;
        }
        if self.variants.is_empty() {
            return Ok(());
        }
        let Some(t) = &self.toggle else {
            return Err(ScenarioError::new(
                "variants",
                "variants are partial fixes of a [toggle]: add one",
            ));
        };
        let paths = t.paths();
        for (name, sets) in &self.variants {
            if let Some(p) = sets.keys().find(|p| !paths.contains(p.as_str())) {
                return Err(ScenarioError::new(
                    format!("variants.{name}.{p}"),
                    "not a field of the [toggle]: a variant fixes some of the toggle's fields",
                ));
            }
        }
        Ok(())
    }

    /// The scenario document as the lesson gives it, before any toggle:
    /// the inline scenario, or `file_text` (the referenced file's text).
    pub fn base_doc(&self, file_text: Option<&str>) -> Result<ScenarioDoc, LessonError> {
        match (&self.scenario, file_text) {
            (Some(v), _) => ScenarioDoc::from_value(v.clone()).map_err(|e| e.under("scenario")),
            (None, Some(t)) => ScenarioDoc::parse(t, crate::Format::sniff(t)),
            (None, None) => Err(ScenarioError::new(
                "scenario_file",
                "the referenced file's text is needed",
            )),
        }
    }

    /// The lesson's switches: its [toggle] (id: the lesson's id), or for a
    /// lesson with variants (the case study) one per variant (id:
    /// `LESSON/variant`), whose fix is the variant's fields and whose
    /// mistake is the same fields in the toggle's mistake. What the page's
    /// anti-pattern panel shows; [`Lesson::scenario`] and
    /// [`Lesson::scenario_variant`] apply the same toggles.
    pub fn toggles(&self) -> Vec<(String, Toggle)> {
        let Some(t) = &self.toggle else {
            return Vec::new();
        };
        if self.variants.is_empty() {
            return vec![(self.id.clone(), t.clone())];
        }
        self.variants
            .keys()
            .filter_map(|v| Some((format!("{}/{v}", self.id), self.variant_toggle(v)?)))
            .collect()
    }

    fn variant_toggle(&self, name: &str) -> Option<Toggle> {
        let t = self.toggle.as_ref()?;
        let fix = self.variants.get(name)?.clone();
        let mistake = fix
            .keys()
            .filter_map(|p| Some((p.clone(), t.value(State::Mistake, p)?.clone())))
            .collect();
        Some(Toggle {
            label: self.variant_label(name),
            mistake,
            fix,
        })
    }

    /// A variant's name as a label: the claim that judges it alone
    /// ("JOIN alone: ..." -> "JOIN"), else the name with spaces
    /// ("bulk_coupon_call" -> "Bulk coupon call").
    pub fn variant_label(&self, name: &str) -> String {
        let from_claim = self
            .claims
            .iter()
            .filter(|c| c.variant.as_deref() == Some(name))
            .find_map(|c| {
                c.text
                    .split_once(" alone")
                    .map(|(h, _)| h.trim().to_string())
            })
            .filter(|h| !h.is_empty());
        from_claim.unwrap_or_else(|| {
            let s = name.replace('_', " ");
            let mut cs = s.chars();
            match cs.next() {
                Some(c) => c.to_uppercase().chain(cs).collect(),
                None => s,
            }
        })
    }

    /// The document in one state: the base with the toggle applied, then
    /// (for a variant) the variant's fix; without the run-length override.
    pub fn state_doc(
        &self,
        state: State,
        variant: Option<&str>,
        file_text: Option<&str>,
    ) -> Result<ScenarioDoc, LessonError> {
        let mut doc = self.base_doc(file_text)?;
        if let Some(t) = &self.toggle {
            if let Some((path, only)) = t.drops_from(&doc) {
                let (named, missing) = match only {
                    State::Mistake => ("mistake", "fix"),
                    State::Fix => ("fix", "mistake"),
                };
                return Err(ScenarioError::new(
                    format!("toggle.{missing}"),
                    format!("{path}: the scenario sets it but only `{named}` names it, so the {missing} state would remove it; give its value in `{missing}`"),
                ));
            }
            t.apply(&mut doc, state).map_err(|e| e.under("toggle"))?;
        }
        if let Some(name) = variant {
            let v = self
                .variant_toggle(name)
                .ok_or_else(|| ScenarioError::new("variants", format!("no variant {name:?}")))?;
            v.apply(&mut doc, State::Fix)
                .map_err(|e| e.under(&format!("variants.{name}")))?;
        }
        Ok(doc)
    }

    /// The scenario in one state, with the lesson's run length. `file_text`
    /// is the referenced file's text when the lesson uses `scenario_file`.
    pub fn scenario(&self, state: State, file_text: Option<&str>) -> Result<Scenario, LessonError> {
        self.build_state(state, None, file_text)
    }

    /// The mistake state with one variant's fix applied.
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
        let mut doc = self.state_doc(state, variant, file_text)?;
        self.with_duration(&mut doc)?;
        doc.build().map_err(|e| e.under("scenario"))
    }
}

mod catalogue;
mod check;
mod judge;
mod metric;
mod toggle;

pub use catalogue::CATALOGUE;
pub use check::{
    apply_band, check, check_plans, Ablation, AblationRow, Arm, Checked, Job, Outcome, Plan,
    PointResult,
};
pub use judge::{judge, judge_values, ClaimResult, Worst};
use metric::check_metric;
pub use metric::{eval_metric, eval_metrics};
pub use toggle::{State, Toggle};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_top_level_field_is_named() {
        let text = LESSON.replace("narrative = \"n\"\n", "");
        let e = Lesson::from_toml_str(&text).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("narrative", "missing (required)")
        );
    }

    #[test]
    fn formula_counts_are_bounded_whole_numbers() {
        let f = |name: &str, args: &[f64]| Formula {
            r#fn: name.into(),
            args: args.iter().map(|x| Arg::Num(*x)).collect(),
        };
        // 1e300 servers summed term by term never finished; a 1e300-item
        // catalogue allocated without limit.
        let e = f("mmc_sojourn_quantile", &[1e300, 28.0, 10.0, 0.99]).eval();
        assert!(e
            .unwrap_err()
            .contains("argument 1 must be a whole number from 1 to 1e5"));
        assert!(f("che_zipf", &[1e300, 0.9, 100.0]).eval().is_err());
        assert!(f("erlang_c", &[2.5, 1.0, 1.0]).eval().is_err());
        assert!(f("mmck_blocking", &[1.0, 0.0, 0.9, 1.0]).eval().is_err());
        // Ordinary arguments still evaluate: M/M/1 at rho = 0.5 waits with
        // probability rho.
        assert!((f("erlang_c", &[1.0, 0.5, 1.0]).eval().unwrap() - 0.5).abs() < 1e-12);
    }
    use crate::report::Report;

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
            crate::Sim::new(&sc, seed)
                .unwrap()
                .run_for(sc.duration_s)
                .unwrap()
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
