//! What produced an output: enough to run it again and get the same bytes.

use serde::{Deserialize, Serialize};

use super::grid::Vary;

/// Recorded at the top of every study output (and in `tailsim run`'s JSON).
/// Deterministic: no wall time, host or date, so equal studies write equal
/// bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The tailsim version.
    pub tailsim: String,
    /// `run`, `replications` or `sweep`.
    pub study: String,
    /// The scenario's name.
    pub scenario: String,
    /// SHA-256 of the scenario as run, after `--set` (and, for a single run
    /// or replications, the duration and a fixed warm-up); for a sweep, of
    /// the base scenario before `--vary`.
    pub scenario_sha256: String,
    /// The `--set` overrides, in order.
    pub sets: Vec<String>,
    /// The seeds, one per replication.
    pub seeds: Vec<u64>,
    /// Simulated seconds per run.
    pub duration_s: f64,
    /// `scenario`, `fixed` or `MSER-5 on <series>`.
    pub warmup_rule: String,
    /// The warm-up in seconds when one value holds for every run (for a
    /// sweep with MSER-5 it differs by point: see each row's `warmup_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Sweeps: the varied parameters, whether they are zipped, the metrics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vary: Vec<Vary>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub zip: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
    /// `i/n` for one shard of a sweep; absent for the whole sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

impl Provenance {
    /// The fields on which two outputs of the same study must agree before
    /// their points can be combined: everything but the grid and the shard.
    pub fn same_study(&self, other: &Provenance) -> Result<(), String> {
        let pairs: [(&str, String, String); 10] = [
            (
                "tailsim version",
                self.tailsim.clone(),
                other.tailsim.clone(),
            ),
            ("study", self.study.clone(), other.study.clone()),
            ("scenario", self.scenario.clone(), other.scenario.clone()),
            (
                "scenario hash",
                self.scenario_sha256.clone(),
                other.scenario_sha256.clone(),
            ),
            (
                "--set list",
                format!("{:?}", self.sets),
                format!("{:?}", other.sets),
            ),
            (
                "seeds",
                format!("{:?}", self.seeds),
                format!("{:?}", other.seeds),
            ),
            (
                "duration",
                format!("{}", self.duration_s),
                format!("{}", other.duration_s),
            ),
            (
                "warm-up",
                format!("{} {:?}", self.warmup_rule, self.warmup_s),
                format!("{} {:?}", other.warmup_rule, other.warmup_s),
            ),
            (
                "confidence",
                format!("{:?}", self.confidence),
                format!("{:?}", other.confidence),
            ),
            (
                "metrics",
                format!("{:?}", self.metrics),
                format!("{:?}", other.metrics),
            ),
        ];
        for (what, a, b) in pairs {
            if a != b {
                return Err(format!(
                    "different {what}: {} there, {} here",
                    short(&b),
                    short(&a)
                ));
            }
        }
        Ok(())
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}
