//! A lesson's toggle: the one type that puts a scenario document in its
//! "mistake" or its "fix" state, used alike by `tailsim lessons`, the test
//! suite and the page's anti-pattern panel.

use crate::scenario::{split_path, Edit, ScenarioDoc, ScenarioError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Which side of the toggle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Mistake,
    Fix,
}

impl State {
    pub fn other(self) -> State {
        match self {
            State::Mistake => State::Fix,
            State::Fix => State::Mistake,
        }
    }
}

/// The fields a toggle flips and their value in each state. A field that
/// one state names and the other does not is *absent* in the other state:
/// applying that state removes it (`timeout_s` in the fix only: the mistake
/// has no timeout). So a state puts the same values in any document,
/// whatever it held before.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    /// What the switch is about, e.g. "One query per order item (N+1)".
    pub label: String,
    /// Field path -> value with the mistake in place.
    #[serde(default)]
    pub mistake: BTreeMap<String, Value>,
    /// Field path -> value with the fix in place.
    #[serde(default)]
    pub fix: BTreeMap<String, Value>,
}

impl Toggle {
    fn sets(&self, state: State) -> &BTreeMap<String, Value> {
        match state {
            State::Mistake => &self.mistake,
            State::Fix => &self.fix,
        }
    }

    /// Every field the toggle flips, in path order.
    pub fn paths(&self) -> BTreeSet<&str> {
        self.mistake
            .keys()
            .chain(self.fix.keys())
            .map(String::as_str)
            .collect()
    }

    /// The field's value in `state` (`None`: absent).
    pub fn value(&self, state: State, path: &str) -> Option<&Value> {
        self.sets(state).get(path).filter(|v| !v.is_null())
    }

    /// The document edits that put a scenario in `state`.
    pub fn edits(&self, state: State) -> Vec<Edit> {
        self.paths()
            .into_iter()
            .map(|p| match self.value(state, p) {
                Some(v) => Edit::set(p, v.clone()),
                None => Edit::remove(p),
            })
            .collect()
    }

    /// Puts `doc` in `state` (all edits or none).
    pub fn apply(&self, doc: &mut ScenarioDoc, state: State) -> Result<(), ScenarioError> {
        doc.apply_all(&self.edits(state))
    }

    /// Which state `doc` is in: the state whose edits change nothing in the
    /// scenario it builds (so defaults and number forms compare as the
    /// engine sees them); `None` if neither (a field was edited by hand) or
    /// the document does not build.
    pub fn state_of(&self, doc: &ScenarioDoc) -> Option<State> {
        let now = doc.build().ok()?;
        [State::Fix, State::Mistake].into_iter().find(|&st| {
            let mut d = doc.clone();
            self.apply(&mut d, st).is_ok() && d.build().ok().as_ref() == Some(&now)
        })
    }

    /// The toggle's own rules: the two states differ, every path parses,
    /// and no path lies inside another (their order would matter).
    pub fn check(&self) -> Result<(), ScenarioError> {
        if self.label.trim().is_empty() {
            return Err(ScenarioError::new("label", "must not be empty"));
        }
        if self.paths().is_empty() || self.mistake == self.fix {
            return Err(ScenarioError::new(
                "fix",
                "the fix must change at least one field of the mistake",
            ));
        }
        let paths: Vec<(&str, Vec<String>)> = self
            .paths()
            .into_iter()
            .map(|p| split_path(p).map(|s| (p, s)))
            .collect::<Result<_, _>>()?;
        for (a, sa) in &paths {
            if let Some((b, _)) = paths
                .iter()
                .find(|(b, sb)| b != a && sb.len() > sa.len() && sb.starts_with(sa))
            {
                return Err(ScenarioError::new(
                    *b,
                    format!("lies inside {a}, which the toggle also sets: name one of them"),
                ));
            }
        }
        Ok(())
    }

    /// Whether `doc` holds a field at a path that only one state names:
    /// the other state removes it, which its author may not mean. Returns
    /// the first such path and the state that names it.
    pub fn drops_from(&self, doc: &ScenarioDoc) -> Option<(&str, State)> {
        self.paths().into_iter().find_map(|p| {
            let named = |st| self.value(st, p).is_some();
            let only = match (named(State::Mistake), named(State::Fix)) {
                (true, false) => State::Mistake,
                (false, true) => State::Fix,
                _ => return None,
            };
            doc.get(p).is_some().then_some((p, only))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Format;
    use serde_json::json;

    const DOC: &str = r#"
version = 1
[nodes.c]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 10 }
[nodes.api]
kind = "service"
workers = 2
steps = [ { call = { to = "ext" } } ]
[nodes.ext]
kind = "external"
latency = { dist = "constant", value_s = 0.01 }
"#;

    fn toggle() -> Toggle {
        toml::from_str(
            r#"
label = "no timeout"
mistake = { "nodes.api.workers" = 2 }
fix = { "nodes.api.workers" = 8, "nodes.api.steps[0].call.timeout_s" = 0.5 }
"#,
        )
        .unwrap()
    }

    #[test]
    fn a_state_sets_and_removes_the_same_fields_from_either_side() {
        let t = toggle();
        t.check().unwrap();
        let mut d = ScenarioDoc::parse(DOC, Format::Toml).unwrap();
        assert_eq!(t.state_of(&d), Some(State::Mistake));
        t.apply(&mut d, State::Fix).unwrap();
        assert_eq!(
            d.get("nodes.api.steps[0].call.timeout_s"),
            Some(&json!(0.5))
        );
        assert_eq!(t.state_of(&d), Some(State::Fix));
        // back: the field the mistake does not name is removed
        t.apply(&mut d, State::Mistake).unwrap();
        assert_eq!(d.get("nodes.api.steps[0].call.timeout_s"), None);
        assert_eq!(d.get("nodes.api.workers"), Some(&json!(2)));
        assert_eq!(t.state_of(&d), Some(State::Mistake));
        assert_eq!(
            t.edits(State::Mistake),
            vec![
                Edit::remove("nodes.api.steps[0].call.timeout_s"),
                Edit::set("nodes.api.workers", json!(2)),
            ]
        );
        // edited by hand: neither state
        d.set("nodes.api.workers", "5").unwrap();
        assert_eq!(t.state_of(&d), None);
        // number forms compare as the engine sees them
        d.set("nodes.api.workers", "8").unwrap();
        d.set("nodes.api.steps[0].call.timeout_s", "0.50").unwrap();
        assert_eq!(t.state_of(&d), Some(State::Fix));
        d.set("nodes.api.steps[0].call.timeout_s", "5e-1").unwrap();
        assert_eq!(t.state_of(&d), Some(State::Fix));
    }

    #[test]
    fn the_toggle_refuses_what_would_be_ambiguous() {
        let mut t = toggle();
        t.fix
            .insert("nodes.api.steps[0].call".into(), json!({"to": "ext"}));
        let e = t.check().unwrap_err();
        assert_eq!(e.path, "nodes.api.steps[0].call.timeout_s");
        let mut t = toggle();
        t.fix = t.mistake.clone();
        assert_eq!(t.check().unwrap_err().path, "fix");
        let mut t = toggle();
        t.fix.insert("nodes..x".into(), json!(1));
        assert!(t.check().is_err());
        // a field the file sets but only one state names
        let mut d = ScenarioDoc::parse(DOC, Format::Toml).unwrap();
        let t = toggle();
        assert_eq!(t.drops_from(&d), None);
        d.set("nodes.api.steps[0].call.timeout_s", "3").unwrap();
        assert_eq!(
            t.drops_from(&d),
            Some(("nodes.api.steps[0].call.timeout_s", State::Fix))
        );
    }
}
