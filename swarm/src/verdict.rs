//! What a case can fail with, and the checks on what sim-core gives back
//! that do not need a run: error messages, and numbers in reports.

use crate::case::Expect;
use serde::{Deserialize, Serialize};
use sim_core::ScenarioError;

/// Failure kinds, from the worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A Rust panic (caught in the worker; the CLI and the page abort).
    Panic,
    /// The worker died of a signal without a known cause.
    Abort,
    /// The worker's stack overflowed (recursion on input depth).
    StackOverflow,
    /// An allocation failed at the worker's hard memory cap.
    Oom,
    /// The case exceeded its wall-clock budget (the parent killed it).
    Hang,
    /// Simulated time stopped advancing while events kept coming.
    Stall,
    /// The heap outgrew the soft budget during a run.
    Memory,
    /// Periodic timers or one request's work swamp the run (a validated
    /// scenario that can never finish in reasonable time).
    Runaway,
    /// The same case twice gave different reports.
    Nondeterminism,
    /// A refused action or an observation changed the run.
    SideEffect,
    /// Reconfiguring to the running scenario changed the report.
    ReconfigureSame,
    /// Requests or messages not accounted for.
    Conservation,
    /// NaN or infinity in a report, snapshot, table or CSV.
    NonFinite,
    /// A validated scenario that the engine refused to build.
    Build,
    /// Parsing what was written gives something else.
    Roundtrip,
    /// Input that can never be valid was accepted.
    Accepted,
    /// Input that validates but means something else than written (a
    /// duration that rounds to 0 ns).
    Bounds,
    /// An error that does not name the field, or names the wrong one.
    Message,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Panic => "panic",
            Kind::Abort => "abort",
            Kind::StackOverflow => "stack_overflow",
            Kind::Oom => "oom",
            Kind::Hang => "hang",
            Kind::Stall => "stall",
            Kind::Memory => "memory",
            Kind::Runaway => "runaway",
            Kind::Nondeterminism => "nondeterminism",
            Kind::SideEffect => "side_effect",
            Kind::ReconfigureSame => "reconfigure_same",
            Kind::Conservation => "conservation",
            Kind::NonFinite => "non_finite",
            Kind::Build => "build",
            Kind::Roundtrip => "roundtrip",
            Kind::Accepted => "accepted",
            Kind::Bounds => "bounds",
            Kind::Message => "message",
        }
    }
}

/// A failed check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: Kind,
    /// Groups failures with one cause: the kind, the code location or the
    /// field, with names and numbers replaced (`nodes.*.steps[N]`).
    pub signature: String,
    /// Everything known about this instance.
    pub detail: String,
}

impl Failure {
    pub fn new(kind: Kind, signature: impl Into<String>, detail: impl Into<String>) -> Failure {
        Failure {
            kind,
            signature: format!("{}: {}", kind.name(), signature.into()),
            detail: detail.into(),
        }
    }
}

/// `nodes.api.steps[3].call` -> `nodes.*.steps[N].call`; digits -> N.
pub fn generalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let words = text.split('.');
    let mut first = true;
    let mut after_nodes = false;
    for w in words {
        if !first {
            out.push('.');
        }
        first = false;
        if after_nodes {
            let tail = w.find('[').map_or("", |i| &w[i..]);
            out.push('*');
            out.push_str(&digits(tail));
            after_nodes = false;
            continue;
        }
        after_nodes = w.ends_with("nodes");
        out.push_str(&digits(w));
    }
    out
}

fn digits(s: &str) -> String {
    let mut out = String::new();
    let mut in_num = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_num {
                out.push('N');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

/// Paths compared by segments: `a[1].b` == `a.1.b`.
fn segments(p: &str) -> Vec<String> {
    p.replace('[', ".")
        .replace(']', "")
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn syntax_level(e: &ScenarioError) -> bool {
    e.path.is_empty()
        && (e.message.starts_with("TOML syntax error")
            || e.message.starts_with("JSON syntax error")
            || e.message.starts_with("a scenario must be"))
}

/// Judges an error message. `written` is the value the input holds at the
/// expected path, when known; `toml` says the input was TOML text (which
/// has no null).
pub fn check_message(
    e: &ScenarioError,
    expect: Option<&Expect>,
    written: Option<&serde_json::Value>,
    toml: bool,
) -> Option<Failure> {
    let shown = e.to_string();
    let bad = |rule: &str, why: String| {
        let sig = format!(
            "{rule} at {}: {}",
            generalise(&e.path),
            generalise(&first_words(&e.message))
        );
        Some(Failure::new(
            Kind::Message,
            sig,
            format!("{why}; the error reads: {shown}"),
        ))
    };
    if e.message.trim().is_empty() {
        return bad("empty", "the message is empty".into());
    }
    if e.path.is_empty() && !syntax_level(e) {
        return bad("no-path", "the error names no field".into());
    }
    if e.path.contains("..") || e.path.starts_with('.') || e.path.ends_with('.') {
        return bad("broken-path", format!("the path {:?} is malformed", e.path));
    }
    if toml && e.message.contains("null") {
        return bad(
            "null-in-toml",
            "TOML has no null: the message hides what was written (nan or inf?)".into(),
        );
    }
    if e.message.contains("\"\"") && written.is_some_and(|w| w.as_str() != Some("")) {
        return bad(
            "empty-quote",
            format!(
                "the message quotes \"\" but the input holds {}",
                written.unwrap()
            ),
        );
    }
    let x = expect?;
    let (got, want) = (segments(&e.path), segments(&x.path));
    if got.starts_with(&want) {
        return None;
    }
    // An unknown field reported at its table, naming the field: fine.
    let last = want.last().cloned().unwrap_or_default();
    if got.len() + 1 == want.len()
        && want.starts_with(&got)
        && e.message.contains(&format!("`{last}`"))
    {
        return None;
    }
    // A rule between two fields, reported at the other one and naming this
    // one (`warmup_s: must be less than duration_s`): fine.
    if got.len() == want.len()
        && got[..got.len() - 1] == want[..want.len() - 1]
        && e.message.contains(last.as_str())
    {
        return None;
    }
    if !x.exact && got.len() >= 2 && want.len() >= 2 && got[..2] == want[..2] {
        return None;
    }
    // A limit another field sets, reported where it bites and naming that
    // field in full (`alerts.a.above: ... 1 / (1 - slo.target) ...`): fine.
    if !x.exact && e.message.contains(x.path.as_str()) {
        return None;
    }
    bad("wrong-path", format!("the problem is at {}", x.path))
}

fn first_words(m: &str) -> String {
    // Enough words to tell messages apart, not the values they quote.
    m.split(['"', '`', '(', ','])
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(60)
        .collect()
}

/// NaN or infinity where a report shows numbers: JSON turns them into
/// null, so a report read back into its own type fails at the field;
/// tables and CSV print them as words.
pub fn non_finite<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Option<Failure> {
    let mut de = serde_json::Deserializer::from_str(json);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => None,
        Err(e) => {
            let path = e.path().to_string();
            Some(Failure::new(
                Kind::NonFinite,
                format!("{what} {}", generalise(&path)),
                format!(
                    "{what} field {path} is not a finite number: {}",
                    e.into_inner()
                ),
            ))
        }
    }
}

/// NaN/inf written as words in a table or CSV.
pub fn non_finite_words(what: &str, text: &str) -> Option<Failure> {
    // The table's first line quotes the scenario's name: free text.
    for line in text.lines().filter(|l| !l.starts_with("scenario ")) {
        for tok in line.split(|c: char| c.is_whitespace() || c == ',' || c == '|') {
            let t = tok.trim_matches(|c: char| c == '%' || c == '(' || c == ')' || c == 's');
            if matches!(t, "NaN" | "inf" | "-inf" | "nan") {
                return Some(Failure::new(
                    Kind::NonFinite,
                    format!("{what} shows {t}"),
                    format!("{what} line: {}", line.trim()),
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalise_hides_names_and_numbers() {
        assert_eq!(
            generalise("nodes.api.steps[3].call.to"),
            "nodes.*.steps[N].call.to"
        );
        assert_eq!(generalise("faults[12].at_s"), "faults[N].at_s");
    }

    #[test]
    fn messages_must_point_at_the_field() {
        let x = Expect {
            path: "nodes.a.workers".into(),
            exact: true,
            must_reject: true,
        };
        let good = ScenarioError::new("nodes.a.workers", "must be between 1 and 100000, got 0");
        assert!(check_message(&good, Some(&x), None, false).is_none());
        let up = ScenarioError::new("nodes.a", "invalid type: string");
        assert_eq!(
            check_message(&up, Some(&x), None, false).unwrap().kind,
            Kind::Message
        );
        let none = ScenarioError::new("", "something is wrong");
        assert!(check_message(&none, None, None, false).is_some());
        let unknown = ScenarioError::new("nodes.a", "unknown field `workers`, expected ...");
        assert!(check_message(&unknown, Some(&x), None, false).is_none());
        // A limit set by the broken field, reported where it bites: fine if
        // the message names the broken field in full, and only then.
        let target = Expect {
            path: "slo.target".into(),
            exact: false,
            must_reject: false,
        };
        let named = ScenarioError::new(
            "alerts.a.above",
            "a burn rate this SLO can reach (1 / (1 - slo.target), with slo.target = 1e-300): below 1",
        );
        assert!(check_message(&named, Some(&target), None, false).is_none());
        let unnamed =
            ScenarioError::new("alerts.a.above", "a burn rate this SLO can reach: below 1");
        assert!(check_message(&unnamed, Some(&target), None, false).is_some());
    }

    #[test]
    fn words_nan_and_inf_are_found() {
        assert!(non_finite_words("table", "p99 NaN s").is_some());
        assert!(non_finite_words("table", "p99 0.2 s info").is_none());
    }
}
