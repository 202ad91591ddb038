//! Judging one claim from its metric's values, seed by seed.
//!
//! Both states run with the same seeds (common random numbers), so seed
//! `s` of the mistake and seed `s` of the fix are a pair: a ratio claim is
//! judged on each pair's ratio, not only on the ratio of the means. A
//! claim holds when its value on the means holds *and* it holds on at
//! least the claim's fraction of the seeds (default: every seed). The
//! worst seed (the least margin) is kept, so a claim that passes on the
//! mean while one seed falls through says so.

use super::{Claim, Compare, Op, State};
use crate::report::Report;
use serde::{Deserialize, Serialize};

/// The result of checking one claim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    pub text: String,
    pub pass: bool,
    /// The value judged on the means over seeds: the ratio or difference
    /// of the two states' means, or the judged state's mean.
    pub measured: f64,
    /// What it was judged against (`>= 2`, `0.45 ± 0.05 (theory)`).
    pub expected: String,
    /// How far inside the claim `measured` is, relative to the threshold:
    /// (x - v) / |v| for `>=` (so 0.25 is 25% above it), (v - x) / |v| for
    /// `<=`, x - v when v is 0; for theory, 1 - |x - expect| / tolerance
    /// (1: exact, 0: on the edge). Negative: the claim fails there.
    pub margin: f64,
    /// The metric per seed (seed 1 first) in the mistake state.
    pub mistake: Vec<f64>,
    /// ... and in the state it is compared with (the fix, or a part of it).
    pub fix: Vec<f64>,
    /// The judged value per seed.
    pub per_seed: Vec<f64>,
    /// Seeds on which the claim holds.
    pub held: usize,
    /// The fraction of seeds it must hold on.
    pub required: f64,
    /// The seed with the least margin.
    pub worst: Option<Worst>,
    pub error: Option<String>,
}

/// The seed a claim holds worst on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Worst {
    pub seed: u64,
    pub value: f64,
    pub margin: f64,
}

impl ClaimResult {
    fn failed(c: &Claim, error: String) -> ClaimResult {
        ClaimResult {
            text: c.text.clone(),
            pass: false,
            measured: f64::NAN,
            expected: String::new(),
            margin: f64::NAN,
            mistake: vec![],
            fix: vec![],
            per_seed: vec![],
            held: 0,
            required: c.required_fraction(),
            worst: None,
            error: Some(error),
        }
    }

    /// "10/10 seeds", "9/10 seeds (needs 80%)".
    pub fn seeds_text(&self) -> String {
        let n = self.per_seed.len();
        if self.required >= 1.0 {
            format!("{}/{n} seeds", self.held)
        } else {
            format!(
                "{}/{n} seeds (needs {:.0}%)",
                self.held,
                self.required * 100.0
            )
        }
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

pub(super) fn op_symbol(op: Op) -> &'static str {
    match op {
        Op::Ge => ">=",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Lt => "<",
    }
}

/// The rule a claim's value is judged by.
enum Rule {
    Compare(Op, f64),
    /// theory value, tolerance
    Within(f64, f64),
}

impl Rule {
    fn of(c: &Claim) -> Rule {
        match c.compare {
            Compare::Theory => {
                let th = c
                    .expect
                    .as_ref()
                    .and_then(|e| e.eval().ok())
                    .unwrap_or(f64::NAN);
                let tol = c
                    .tolerance
                    .unwrap_or(0.0)
                    .max(c.rel_tolerance.unwrap_or(0.0) * th.abs());
                Rule::Within(th, tol)
            }
            _ => Rule::Compare(c.op.unwrap_or(Op::Ge), c.value.unwrap_or(0.0)),
        }
    }

    fn holds(&self, x: f64) -> bool {
        x.is_finite()
            && match *self {
                Rule::Compare(Op::Ge, v) => x >= v,
                Rule::Compare(Op::Gt, v) => x > v,
                Rule::Compare(Op::Le, v) => x <= v,
                Rule::Compare(Op::Lt, v) => x < v,
                Rule::Within(th, tol) => (x - th).abs() <= tol,
            }
    }

    fn margin(&self, x: f64) -> f64 {
        if !x.is_finite() {
            return f64::NEG_INFINITY;
        }
        let rel = |d: f64, v: f64| if v == 0.0 { d } else { d / v.abs() };
        match *self {
            Rule::Compare(Op::Ge | Op::Gt, v) => rel(x - v, v),
            Rule::Compare(Op::Le | Op::Lt, v) => rel(v - x, v),
            Rule::Within(th, tol) if tol > 0.0 => 1.0 - (x - th).abs() / tol,
            Rule::Within(th, _) => -(x - th).abs(),
        }
    }

    fn text(&self) -> String {
        match *self {
            Rule::Compare(op, v) => format!("{} {v}", op_symbol(op)),
            Rule::Within(th, tol) => format!(
                "{} ± {} (theory)",
                crate::report::sig_digits(th, 4),
                crate::report::sig_digits(tol, 4)
            ),
        }
    }
}

/// The judged value from the two states' values (per seed or means).
fn judged(c: &Claim, m: f64, f: f64) -> f64 {
    match c.compare {
        Compare::Ratio => m / f,
        Compare::Difference => m - f,
        Compare::Mistake => m,
        Compare::Fix => f,
        Compare::Theory if c.state == Some(State::Mistake) => m,
        Compare::Theory => f,
    }
}

/// Judges a claim from the metric's per-seed values in the mistake state
/// and in the state it is compared with (seed `first_seed` first).
pub fn judge_values(c: &Claim, first_seed: u64, mistake: &[f64], fix: &[f64]) -> ClaimResult {
    let rule = Rule::of(c);
    let per_seed: Vec<f64> = mistake
        .iter()
        .zip(fix)
        .map(|(&m, &f)| judged(c, m, f))
        .collect();
    let measured = judged(c, mean(mistake), mean(fix));
    let held = per_seed.iter().filter(|&&x| rule.holds(x)).count();
    let worst = per_seed
        .iter()
        .enumerate()
        .map(|(i, &x)| Worst {
            seed: first_seed + i as u64,
            value: x,
            margin: rule.margin(x),
        })
        .min_by(|a, b| a.margin.total_cmp(&b.margin));
    let required = c.required_fraction();
    let needed = (required * per_seed.len() as f64 - 1e-9).ceil() as usize;
    ClaimResult {
        text: c.text.clone(),
        pass: !per_seed.is_empty() && rule.holds(measured) && held >= needed,
        measured,
        expected: rule.text(),
        margin: rule.margin(measured),
        mistake: mistake.to_vec(),
        fix: fix.to_vec(),
        per_seed,
        held,
        required,
        worst,
        error: None,
    }
}

/// Judges a claim from reports of both states, one per seed from seed 1
/// (the page passes its two runs).
pub fn judge(c: &Claim, mistake: &[Report], fix: &[Report]) -> ClaimResult {
    let vals = |rs: &[Report]| -> Result<Vec<f64>, String> {
        rs.iter()
            .map(|r| super::eval_metric(&c.metric, r))
            .collect()
    };
    // A claim on one state reads only that state's reports.
    let one = match c.compare {
        Compare::Mistake => Some(mistake),
        Compare::Fix => Some(fix),
        Compare::Theory if c.state == Some(State::Mistake) => Some(mistake),
        Compare::Theory => Some(fix),
        Compare::Ratio | Compare::Difference => None,
    };
    let both = match one {
        Some(rs) => vals(rs).map(|v| (v.clone(), v)),
        None => vals(mistake).and_then(|m| Ok((m, vals(fix)?))),
    };
    match both {
        Ok((m, f)) => judge_values(c, 1, &m, &f),
        Err(e) => ClaimResult::failed(c, e),
    }
}

/// A claim whose metric could not be measured.
pub(super) fn unmeasured(c: &Claim, error: String) -> ClaimResult {
    ClaimResult::failed(c, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(compare: Compare, op: Op, value: f64) -> Claim {
        Claim {
            text: "t".into(),
            metric: "m".into(),
            compare,
            op: Some(op),
            value: Some(value),
            expect: None,
            tolerance: None,
            rel_tolerance: None,
            state: None,
            variant: None,
            without: None,
            holds_in: None,
        }
    }

    #[test]
    fn a_claim_that_holds_on_the_mean_but_not_on_every_seed_fails() {
        // Ratios per seed 4, 4, 1.5: the mean ratio (9.5 / 3 = 3.17) holds,
        // seed 3 does not.
        let c = claim(Compare::Ratio, Op::Ge, 2.0);
        let r = judge_values(&c, 1, &[4.0, 4.0, 1.5], &[1.0, 1.0, 1.0]);
        assert!((r.measured - 9.5 / 3.0).abs() < 1e-12);
        assert_eq!((r.held, r.pass), (2, false));
        let w = r.worst.unwrap();
        assert_eq!((w.seed, w.value), (3, 1.5));
        assert!((w.margin + 0.25).abs() < 1e-12, "{w:?}");
        // declared: two seeds in three are enough
        let mut c = c;
        c.holds_in = Some(0.6);
        assert!(judge_values(&c, 1, &[4.0, 4.0, 1.5], &[1.0, 1.0, 1.0]).pass);
        c.holds_in = Some(0.7);
        assert!(!judge_values(&c, 1, &[4.0, 4.0, 1.5], &[1.0, 1.0, 1.0]).pass);
    }

    #[test]
    fn margins_are_relative_to_the_threshold_in_the_claims_direction() {
        let ge = Rule::Compare(Op::Ge, 2.0);
        assert!((ge.margin(2.5) - 0.25).abs() < 1e-12);
        let le = Rule::Compare(Op::Le, 0.5);
        assert!((le.margin(0.4) - 0.2).abs() < 1e-12);
        assert!(le.margin(0.6) < 0.0 && !le.holds(0.6));
        assert_eq!(Rule::Compare(Op::Ge, 0.0).margin(0.3), 0.3);
        let th = Rule::Within(1.0, 0.1);
        assert!((th.margin(1.05) - 0.5).abs() < 1e-9);
        assert!(th.margin(1.2) < 0.0);
        assert!(!ge.holds(f64::NAN) && ge.margin(f64::NAN) < 0.0);
    }

    #[test]
    fn state_claims_judge_each_seed_of_their_state() {
        let c = claim(Compare::Fix, Op::Le, 0.1);
        let r = judge_values(&c, 5, &[9.0, 9.0], &[0.05, 0.2]);
        assert_eq!((r.held, r.pass), (1, false));
        assert_eq!(r.worst.unwrap().seed, 6);
        assert_eq!(r.seeds_text(), "1/2 seeds");
    }
}
