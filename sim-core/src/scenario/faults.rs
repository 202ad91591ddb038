//! Scheduled faults and operations, and what a run watches (the SLO,
//! request traces). Plain data, re-exported from `spec`.

use super::spec::default_restart;
use serde::{Deserialize, Serialize};

// ----- faults ----------------------------------------------------------------------

/// A scheduled fault or operation. (Unknown fields are caught by `FaultAction`,
/// whose field-less variants are `{}`: serde denies them only to struct variants.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub at_s: f64,
    /// Absent: the fault lasts until the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    pub target: String,
    /// Only this replica (default: all; `crash` defaults to replica 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<u32>,
    #[serde(flatten)]
    pub action: FaultAction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// The replica dies: its requests fail, arrivals are refused; it comes
    /// back when the fault ends.
    Crash {},
    /// Restart (a deploy): with `drain`, stop taking traffic, finish
    /// in-flight work, then restart; without, die at once.
    Restart {
        #[serde(default)]
        drain: bool,
        #[serde(default = "default_restart")]
        down_s: f64,
    },
    /// Requests vanish: no answer at all (only timeouts help).
    Hang {},
    /// Compute steps take `factor` times longer.
    Slow { factor: f64 },
    /// Requests fail with probability `p`.
    Errors { p: f64 },
    /// A noisy neighbour steals `steal` (0..1) of the CPU.
    NoisyNeighbour { steal: f64 },
    /// Calls between `target` and `peer` fail (a database's replicas: `peer`
    /// = "replicas").
    Partition { peer: String },
    /// Empty a cache.
    Flush {},
    /// Set the replica count of a service.
    Scale { replicas: u32 },
    /// Multiply every source's rate by `factor` (a load spike).
    Spike { factor: f64 },
}

impl FaultAction {
    /// The fault holds a level while in effect (a slowdown factor, an error
    /// probability, stolen CPU, a load factor), rather than doing something
    /// once at its start and end: editing it while in effect takes the new
    /// level at once.
    pub fn holds_a_level(&self) -> bool {
        matches!(
            self,
            FaultAction::Slow { .. }
                | FaultAction::Errors { .. }
                | FaultAction::NoisyNeighbour { .. }
                | FaultAction::Spike { .. }
        )
    }
}

/// A latency SLO: `target` of requests answered OK within `latency_s`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    pub latency_s: f64,
    #[serde(default = "default_slo_target")]
    pub target: f64,
}
fn default_slo_target() -> f64 {
    0.99
}

/// An alert rule on the SLO, evaluated as each metrics window closes (as a
/// monitoring system evaluates one over scraped counters). A request is
/// bad if it failed or took longer than the SLO's `latency_s`; a rule's
/// windows are whole metrics windows (`metrics.window_s`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlertSpec {
    /// Fires while the bad fraction of the requests that ended in the last
    /// `window_s` is above `above` (0..1).
    Threshold { window_s: f64, above: f64 },
    /// Fires while the error budget burns more than `above` times as fast
    /// as the SLO allows, over both the last `long_s` and the last
    /// `short_s` (the SRE workbook's multiwindow burn-rate alert; burn
    /// rate = bad fraction / (1 - SLO target)).
    BurnRate {
        long_s: f64,
        short_s: f64,
        above: f64,
    },
}

/// Per-request tracing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSpec {
    /// Trace one request in `every` (0: off).
    #[serde(default = "default_trace_every")]
    pub every: u64,
    /// Completed traces kept (most recent, plus as many slowest).
    #[serde(default = "default_trace_keep")]
    pub keep: usize,
}
fn default_trace_every() -> u64 {
    50
}
fn default_trace_keep() -> usize {
    32
}
impl Default for TraceSpec {
    fn default() -> Self {
        TraceSpec {
            every: default_trace_every(),
            keep: default_trace_keep(),
        }
    }
}
