//! A case: one input to the engine and, when it is accepted, one run plan.
//! Cases are plain data (serde), so a failing case is written to a file and
//! committed to the corpus as it was, independent of later changes to the
//! generators.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One generated test case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The case seed: the generator's seed and the simulation's root seed.
    pub seed: u64,
    /// Which generator made it: `valid`, `edge`, `invalid`, `asset`,
    /// `lesson`, `text`, `set`, `hostile`.
    pub origin: String,
    /// What is special about it, in words (the mutated field, the shape).
    pub note: String,
    pub input: Input,
    /// For inputs that are invalid on purpose: where the error must point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// How to run the scenario if it is accepted.
    pub plan: Plan,
}

/// What the case feeds to sim-core.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// A scenario document (`Scenario::from_value`).
    Doc(Value),
    /// Scenario text (`Scenario::from_toml_str` / `from_json_str`).
    Text { json: bool, text: String },
    /// `ScenarioDoc::set` edits applied in order to a document, then built.
    Sets {
        doc: Value,
        sets: Vec<(String, String)>,
    },
    /// A lesson file and the text of its scenario file.
    Lesson {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<String>,
    },
}

/// Where an invalid input's error must point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expect {
    /// The dotted path that was broken (`nodes.api.workers`).
    pub path: String,
    /// The error may point at the path or inside it only (a wrong type);
    /// otherwise a sibling field is acceptable too (cross-field rules such
    /// as `max_s >= min_s`).
    pub exact: bool,
    /// The input can never be valid (a wrong type, a dangling name): it
    /// must be rejected. Otherwise acceptance is fine and the case runs.
    pub must_reject: bool,
}

/// How an accepted scenario is run and what happens during the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Simulated seconds to run (capped by the event budget).
    pub horizon_s: f64,
    /// Live operations, in time order.
    pub actions: Vec<Action>,
    /// Instants (simulated seconds) at which to check conservation and take
    /// a snapshot in the first run; the second run uses `observe_b`.
    pub observe_a: Vec<f64>,
    pub observe_b: Vec<f64>,
    /// When the third run reconfigures to the running scenario itself.
    pub same_at_s: f64,
    /// Work (events handled and calls made) one run may do (default: the
    /// runner's budget). Larger for cases about growth over time, such as
    /// an overloaded queue. (Older corpus files call it `max_events`.)
    #[serde(default, alias = "max_events", skip_serializing_if = "Option::is_none")]
    pub max_work: Option<u64>,
}

/// A live operation at a simulated instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub at_s: f64,
    pub op: Op,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `Sim::inject_fault` with this fault table (a `[[faults]]` entry).
    Fault(Value),
    /// `Sim::reconfigure` to this document (the same topology, edited).
    Reconfigure(Value),
}

impl Case {
    /// An empty case (stands in for a case file that cannot be read).
    pub fn default_for(seed: u64) -> Case {
        Case {
            seed,
            origin: "file".into(),
            note: String::new(),
            input: Input::Doc(Value::Null),
            expect: None,
            plan: Plan::default(),
        }
    }

    /// A one-line summary: origin, note and the shape of the plan.
    pub fn describe(&self) -> String {
        let faults = self
            .plan
            .actions
            .iter()
            .filter(|a| matches!(a.op, Op::Fault(_)))
            .count();
        let reconf = self.plan.actions.len() - faults;
        let nodes = match &self.input {
            Input::Doc(v) | Input::Sets { doc: v, .. } => v
                .get("nodes")
                .and_then(|n| n.as_object())
                .map_or(0, |n| n.len()),
            _ => 0,
        };
        let mut s = format!("{}: {}", self.origin, self.note);
        if nodes > 0 {
            s.push_str(&format!(" [{nodes} nodes"));
            if faults + reconf > 0 {
                s.push_str(&format!(
                    ", {faults} live faults, {reconf} reconfigurations"
                ));
            }
            s.push(']');
        }
        s
    }
}
