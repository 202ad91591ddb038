//! The messages between the page (main thread) and the engine host (a web
//! worker, or the same thread as a fallback). The page never touches a
//! `Sim`: it sends [`ToHost`] commands and renders the [`FromHost`] replies.
//!
//! The host runs up to two *lanes* (independent simulations of the same or
//! different scenarios): lane A always, lane B in A/B and lesson modes. Both
//! lanes advance together to the same simulated time, so the difference
//! panel compares like with like.

use serde::{Deserialize, Serialize};
use sim_core::{Edit, Report, Snapshot, Topology, Trace, Window};

use crate::model::Speed;
use crate::scenarios::{FaultButton, LiveControls};

/// Which simulation a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lane {
    A,
    B,
}

impl Lane {
    pub const ALL: [Lane; 2] = [Lane::A, Lane::B];

    pub fn index(self) -> usize {
        match self {
            Lane::A => 0,
            Lane::B => 1,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Lane::A => "A",
            Lane::B => "B",
        }
    }
}

/// A command for the engine host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToHost {
    /// Asks for [`FromHost::Ready`] (the page's check that the worker runs).
    Hello,
    /// Runs the engine benchmark (`bench_run`) on `scenario` for
    /// `duration_s` simulated seconds: [`FromHost::Bench`].
    Bench { scenario: String, duration_s: f64 },
    /// Builds `lane` from a scenario (TOML or JSON) and starts it at t = 0.
    /// `seed` overrides the file's seed.
    Load {
        lane: Lane,
        id: String,
        text: String,
        seed: Option<u64>,
    },
    /// Removes lane B (back to one simulation).
    Drop { lane: Lane },
    /// Advances every lane for one animation frame.
    Advance {
        wall_dt_ms: f64,
        speed: Speed,
        budget_ms: f64,
        /// Also send the slowest recent traces.
        traces: bool,
        /// Never move past this simulated time (seconds): a lesson stops
        /// exactly at its length.
        until_s: Option<f64>,
    },
    /// Advances every lane by one window of simulated time (while paused).
    Step,
    /// Restarts every lane at t = 0 with `seed` (None: keep the current one).
    Reset { seed: Option<u64> },
    /// Changes the running scenario: `edits` to the scenario document of
    /// `lane` (None: every lane), validated, then live when the engine can
    /// (same topology, see `Sim::reconfigure`), else by restarting that lane.
    /// The one way the page changes a running simulation: sliders,
    /// toggles, the inspector and the topology editor all send it, so the
    /// document the lane runs is always what the page shows and shares.
    Edit {
        lane: Option<Lane>,
        edits: Vec<Edit>,
        /// Why (shown in the page's note): "N+1 fixed", "inspector".
        reason: String,
    },
    /// Injects a live fault on every lane.
    Inject {
        button: FaultButton,
        target: Option<String>,
    },
    /// Asks for each lane's full report (exports, lesson claims).
    Report,
    /// Checks lesson `id` over its seeds at the lesson as written (every
    /// state, each part of a fix alone and left out): the host plans it
    /// and answers [`FromHost::CheckProgress`]; each [`ToHost::CheckStep`]
    /// then runs one seeded run, so the host keeps answering in between.
    CheckStart { id: String },
    /// Runs the next run of the check of lesson `id` (ignored when another
    /// lesson's check, or none, is in progress).
    CheckStep { id: String },
    /// Forgets the check of lesson `id`.
    CheckCancel { id: String },
}

/// What a lane is running (sent when it is built).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaneInfo {
    pub lane: Lane,
    pub id: String,
    /// The scenario text the lane runs (after any applied edits).
    pub text: String,
    pub seed: u64,
    pub controls: LiveControls,
    pub topology: Topology,
    /// Non-source node names, in the order of `Window::nodes`.
    pub node_names: Vec<String>,
    /// SLO latency (s) and target, when the scenario has one.
    pub slo: Option<(f64, f64)>,
    /// Window width, simulated seconds.
    pub window_s: f64,
}

/// One lane's progress in a frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaneFrame {
    pub lane: Lane,
    pub snapshot: Snapshot,
    /// Windows closed since the previous frame (at most the chart's span).
    pub windows: Vec<Window>,
    /// The slowest recent traced requests, slowest first (when asked).
    pub traces: Option<Vec<Trace>>,
    /// Requests handled so far by every node: end-to-end arrivals plus
    /// every call edge's calls (the benchmark's "simulated requests").
    pub requests: u64,
}

/// A reply from the engine host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromHost {
    Ready {
        version: String,
    },
    /// A benchmark's JSON (`bench_run`'s answer).
    Bench {
        json: String,
    },
    Loaded(Box<LaneInfo>),
    /// A lane could not be built or a command failed; `lane` None: general.
    Error {
        lane: Option<Lane>,
        context: String,
        message: String,
    },
    /// An applied change: `live` true when it took effect mid-run, false when
    /// the lane restarted at t = 0 (with the reason).
    Applied {
        lane: Lane,
        live: bool,
        note: String,
        text: String,
    },
    /// Every lane's state after an Advance, Step, Reset, Edit or Inject.
    Frame {
        /// This frame answers an `Advance` (false: another command).
        advance: bool,
        lanes: Vec<LaneFrame>,
        /// The clock reached the frame's target (false: the budget ran out).
        reached: bool,
        compute_ms: f64,
        /// A fault or parameter note to show ("Crash 10 s on db at t = 12 s").
        note: Option<String>,
    },
    Reports(Vec<(Lane, Box<Report>)>),
    /// A lesson check's progress: `done` of `total` runs.
    CheckProgress {
        id: String,
        done: usize,
        total: usize,
    },
    /// A lesson check's result, judged as `tailsim lessons check` judges.
    Checked {
        id: String,
        result: Box<sim_core::lesson::Checked>,
    },
    /// A lesson check could not be planned.
    CheckFailed {
        id: String,
        message: String,
    },
}
