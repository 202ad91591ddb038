//! The page's whole state and its one reducer. Components only read the
//! state and dispatch [`Action`]s. The simulations live in the engine host
//! (a web worker): the reducer sends it [`ToHost`] commands through
//! [`Sender`] and folds its [`FromHost`] replies back in (`Action::Host`).

use std::rc::Rc;

use sim_core::lesson::{State, Toggle};
use sim_core::{Edit, Report, ScenarioDoc, Snapshot, Trace, Window};

use crate::clock;
use crate::lessons::{self, LessonToggle};
use crate::model::{
    recent_p99, ChartData, NodeRow, Prediction, Speed, CHART_WINDOWS, RECENT_WINDOWS,
};
use crate::protocol::{FromHost, Lane, LaneFrame, LaneInfo, ToHost};
use crate::scenarios::{self, FaultButton, LiveControls};
use crate::seed_check::SeedCheckView;
use crate::share::{PageRoute, Route, SharePayload};

/// The scenario id of a scenario opened from a share link.
pub const SHARED_ID: &str = "shared link";

/// At high speeds the read-outs would flicker at 60 Hz: refresh them (and the
/// charts) at most this often while playing.
pub const VIEW_REFRESH_MS: f64 = 120.0;
/// At max speed the charts redraw less often, leaving the page's thread free.
pub const VIEW_REFRESH_MAX_MS: f64 = 300.0;
/// A frame longer than this (tab in the background, debugger) counts as this.
pub const MAX_FRAME_DT_MS: f64 = 100.0;
/// Compute budget the worker spends per frame: at fixed speeds it needs far
/// less; at `max` it is what keeps frames flowing.
#[cfg(not(test))]
pub const WORKER_BUDGET_MS: f64 = 30.0;
/// At max speed the worker works longer per frame (fewer snapshots to send).
#[cfg(not(test))]
pub const WORKER_BUDGET_MAX_MS: f64 = 50.0;
// The reducer's unit tests run the host in-process on a shared machine: a
// wall-clock budget there would make what a frame reaches depend on the
// machine's load (a test saw A/B lanes short of their simulated time). The
// budget's own behaviour is tested in `host.rs` with explicit budgets.
#[cfg(test)]
pub const WORKER_BUDGET_MS: f64 = 60_000.0;
#[cfg(test)]
pub const WORKER_BUDGET_MAX_MS: f64 = 60_000.0;
/// Traces are re-sent at most this often.
pub const TRACE_REFRESH_MS: f64 = 500.0;
/// Windows each lane keeps for the charts (the heatmap and burn charts
/// show the whole run up to this many).
pub const KEEP_WINDOWS: usize = 600;
/// An advance without reply for this long means the worker died.
pub const WATCHDOG_MS: f64 = 10_000.0;

/// The reducer's way to the engine host.
#[derive(Clone)]
pub struct Sender(pub Rc<dyn Fn(ToHost)>);

impl Sender {
    pub fn send(&self, m: ToHost) {
        (self.0)(m)
    }
}

impl PartialEq for Sender {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// What the page is showing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One simulation: build, toggle, break things.
    Sandbox,
    /// Mistake (A) and fix (B) side by side, same seed.
    Ab,
    /// A guided lesson (runs A = mistake and B = fix).
    Lesson,
}

/// Where a lesson is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The narrative and question; nothing runs until the guess is in.
    Predict,
    /// Running to the lesson's duration; claims update live.
    Running,
    /// The answer is beside the guess.
    Revealed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LessonState {
    pub id: String,
    pub phase: Phase,
    pub guess: Option<f64>,
    pub answer: Option<f64>,
    /// The run length the answer is read at (simulated seconds).
    pub duration_s: f64,
    pub claims: Rc<Vec<lessons::ClaimLive>>,
    /// The check over the lesson's seeds, once asked for.
    pub check: SeedCheckView,
}

/// Each lane's full report.
pub type LaneReports = Vec<(Lane, Box<Report>)>;

/// Why reports were asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportPurpose {
    Claims,
    ExportJson,
    ExportCsv,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// One animation frame; `wall_dt_ms` since the previous one.
    Frame {
        wall_dt_ms: f64,
    },
    /// A reply from the engine host.
    Host(FromHost),
    /// The worker did not answer: run the engine on the main thread.
    WorkerFallback(String),
    /// The worker has not answered its hello in time (it may still be
    /// loading on a slow network).
    WorkerSlow,
    TogglePlay,
    Play,
    Pause,
    Step,
    Reset,
    SetSpeed(Speed),
    SetSeed(u64),
    SetRate(f64),
    SetWorkers(u32),
    DismissError,
    SelectScenario(String),
    LoadScenario {
        id: String,
        text: String,
    },
    /// An edited scenario (topology editor, inspector) for lane A.
    ApplyText {
        text: String,
        reason: String,
    },
    DismissScenarioError,
    SetFaultTarget(String),
    InjectFault(FaultButton),
    /// Flip anti-pattern toggle `i` of the scenario to fixed (true) or not.
    SetToggle {
        index: usize,
        fixed: bool,
    },
    SetMode(Mode),
    OpenLesson(String),
    CloseLesson,
    Guess(f64),
    /// The lesson panel's run/reveal button: runs a lesson that has nothing
    /// to predict; after the run, shows the answer.
    Reveal,
    /// Check the open lesson over its seeds (in the engine host, one run
    /// at a time).
    CheckLesson,
    RequestReports(ReportPurpose),
    /// Select a trace in "why is it slow" (by index in the lane's list).
    ShowError(String),
    /// The address changed under the open page (a pasted link, back or
    /// forward): open what it names, or say why it cannot be opened.
    OpenAddress(String),
    /// A file opened or dropped onto the page: a scenario or a lesson (see
    /// `files::kind_of`), or why it could not be read.
    OpenFile {
        name: String,
        text: Result<String, String>,
    },
}

/// Numbers the read-outs show for one lane.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewData {
    pub t_s: f64,
    pub events: u64,
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    pub rejected: u64,
    pub in_flight: u64,
    pub utilisation: f64,
    pub queue_len_mean: f64,
    pub queue_len: u64,
    pub busy: u32,
    pub slots: u32,
    pub p50_s: f64,
    pub p95_s: f64,
    pub p99_s: f64,
    pub mean_s: f64,
    /// Requests answered over the whole run (what `p50_s`..`p99_s` rest on).
    pub latency_n: u64,
    pub recent_p99_s: Option<f64>,
    pub recent_span_s: f64,
    /// Recent throughput, errors per second and the busiest node's
    /// utilisation (the difference panel compares them).
    pub recent_throughput: f64,
    pub recent_errors: f64,
    pub max_utilisation: f64,
    pub busiest: Option<String>,
    pub effective_speed: f64,
    pub requests_per_s: f64,
    /// Requests handled so far by every node (arrivals plus downstream calls).
    pub requests: u64,
    pub behind: bool,
    pub nodes: Rc<Vec<NodeRow>>,
}

/// One simulation as the page sees it.
#[derive(Clone, Debug)]
pub struct LaneView {
    pub info: Rc<LaneInfo>,
    /// `info.topology`, shared (the topology canvas compares by pointer).
    pub topology: Rc<sim_core::Topology>,
    pub snapshot: Rc<Snapshot>,
    pub prev_snapshot: Option<Rc<Snapshot>>,
    pub windows: Rc<Vec<Window>>,
    /// Bumped whenever `windows` changes (chart effects key on it).
    pub version: u64,
    pub traces: Rc<Vec<Trace>>,
    pub view: ViewData,
    pub chart: Rc<ChartData>,
    requests: u64,
    last_refresh_ms: f64,
    last_refresh_t_s: f64,
    last_requests: u64,
    pending_windows: Vec<Window>,
    pending_snapshot: Option<Snapshot>,
    pending_traces: Option<Vec<Trace>>,
}

/// What the page shows of a lane (the pending data and refresh bookkeeping
/// do not count: the reducer keeps them without re-rendering).
impl PartialEq for LaneView {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.info, &o.info)
            && Rc::ptr_eq(&self.topology, &o.topology)
            && Rc::ptr_eq(&self.snapshot, &o.snapshot)
            && Rc::ptr_eq(&self.windows, &o.windows)
            && self.version == o.version
            && Rc::ptr_eq(&self.traces, &o.traces)
            && self.view == o.view
    }
}

impl LaneView {
    fn new(info: LaneInfo) -> LaneView {
        LaneView {
            topology: Rc::new(info.topology.clone()),
            info: Rc::new(info),
            snapshot: Rc::new(Snapshot {
                t_s: 0.0,
                events: 0,
                end_to_end: sim_core::sim::E2eSnapshot {
                    arrived: 0,
                    completed: 0,
                    failed: 0,
                    rejected: 0,
                    in_flight: 0,
                    latency_s: Default::default(),
                },
                nodes: Vec::new(),
                edges: Vec::new(),
            }),
            prev_snapshot: None,
            windows: Rc::new(Vec::new()),
            version: 0,
            traces: Rc::new(Vec::new()),
            view: ViewData::default(),
            chart: Rc::new(ChartData::default()),
            requests: 0,
            last_refresh_ms: f64::NEG_INFINITY,
            last_refresh_t_s: 0.0,
            last_requests: 0,
            pending_windows: Vec::new(),
            pending_snapshot: None,
            pending_traces: None,
        }
    }

    fn focus_idx(&self) -> Option<usize> {
        let f = self.info.controls.focus.as_ref()?;
        self.info.node_names.iter().position(|n| n == f)
    }

    /// Takes a frame in; `refresh` publishes it to the view.
    fn absorb(&mut self, f: LaneFrame) {
        if f.snapshot.t_s < self.snapshot.t_s
            || self
                .pending_snapshot
                .as_ref()
                .is_some_and(|p| f.snapshot.t_s < p.t_s)
        {
            // a restart: drop the old run's series
            self.pending_windows.clear();
            self.windows = Rc::new(Vec::new());
            self.traces = Rc::new(Vec::new());
            self.prev_snapshot = None;
            self.last_refresh_t_s = 0.0;
            self.last_requests = 0;
            self.version += 1;
        }
        self.pending_windows.extend(f.windows);
        if let Some(t) = f.traces {
            self.pending_traces = Some(t);
        }
        self.requests = f.requests;
        self.pending_snapshot = Some(f.snapshot);
    }

    fn refresh(&mut self, now_ms: f64, playing: bool, behind: bool) {
        if let Some(s) = self.pending_snapshot.take() {
            let old = std::mem::replace(&mut self.snapshot, Rc::new(s));
            if old.t_s <= self.snapshot.t_s {
                self.prev_snapshot = Some(old);
            }
        }
        if !self.pending_windows.is_empty() {
            let mut w: Vec<Window> = (*self.windows).clone();
            w.append(&mut self.pending_windows);
            let excess = w.len().saturating_sub(KEEP_WINDOWS);
            w.drain(..excess);
            self.windows = Rc::new(w);
            self.version += 1;
        }
        if let Some(t) = self.pending_traces.take() {
            if *self.traces != t {
                self.traces = Rc::new(t);
            }
        }
        let snap = &self.snapshot;
        let e2e = &snap.end_to_end;
        let focus = self.focus_idx();
        let node = focus.and_then(|i| snap.nodes.get(i));
        let windows = &self.windows;
        let recent = &windows[windows.len().saturating_sub(RECENT_WINDOWS)..];
        let recent_span_s = match (recent.first(), recent.last()) {
            (Some(a), Some(b)) => b.t_end_s - a.t_start_s,
            _ => 0.0,
        };
        let per_s = |n: u64| {
            if recent_span_s > 0.0 {
                n as f64 / recent_span_s
            } else {
                0.0
            }
        };
        let wall_s = (now_ms - self.last_refresh_ms) / 1e3;
        let (effective_speed, requests_per_s) = if playing && wall_s.is_finite() && wall_s > 0.0 {
            (
                ((snap.t_s - self.last_refresh_t_s) / wall_s).max(0.0),
                self.requests.saturating_sub(self.last_requests) as f64 / wall_s,
            )
        } else {
            (0.0, 0.0)
        };
        let rows: Vec<NodeRow> = snap.nodes.iter().map(NodeRow::from_snapshot).collect();
        let nodes = if *self.view.nodes == rows {
            self.view.nodes.clone()
        } else {
            Rc::new(rows)
        };
        // The busiest node over the recent windows.
        let mut busiest: Option<(String, f64)> = None;
        for (i, name) in self.info.node_names.iter().enumerate() {
            let u = recent
                .iter()
                .filter_map(|w| w.nodes.get(i).map(|n| n.utilisation))
                .sum::<f64>()
                / recent.len().max(1) as f64;
            if !busiest.as_ref().is_some_and(|(_, b)| u <= *b) {
                busiest = Some((name.clone(), u));
            }
        }
        self.view = ViewData {
            t_s: snap.t_s,
            events: snap.events,
            arrived: e2e.arrived,
            completed: e2e.completed,
            failed: e2e.failed,
            rejected: e2e.rejected,
            in_flight: e2e.in_flight,
            utilisation: node.map_or(0.0, |n| n.utilisation),
            queue_len_mean: node.map_or(0.0, |n| n.queue_len_mean),
            queue_len: node.map_or(0, |n| n.queue_len),
            busy: node.map_or(0, |n| n.busy),
            slots: node.map_or(0, |n| n.workers * n.replicas),
            p50_s: e2e.latency_s.p50,
            p95_s: e2e.latency_s.p95,
            p99_s: e2e.latency_s.p99,
            mean_s: e2e.latency_s.mean,
            latency_n: e2e.latency_s.count,
            recent_p99_s: recent_p99(windows, RECENT_WINDOWS),
            recent_span_s,
            recent_throughput: per_s(recent.iter().map(|w| w.completed).sum()),
            recent_errors: per_s(recent.iter().map(|w| w.failed).sum()),
            max_utilisation: busiest.as_ref().map_or(0.0, |b| b.1),
            busiest: busiest.map(|b| b.0),
            effective_speed,
            requests_per_s,
            requests: self.requests,
            behind,
            nodes,
        };
        let chart = ChartData::from_windows(windows, focus, CHART_WINDOWS);
        if *self.chart != chart {
            self.chart = Rc::new(chart);
        }
        self.last_refresh_ms = now_ms;
        self.last_refresh_t_s = snap.t_s;
        self.last_requests = self.requests;
    }
}

#[derive(Clone)]
pub struct AppState {
    sender: Sender,
    /// The engine runs in a web worker (false: on the main thread).
    pub worker: Option<bool>,
    /// Set when nothing could be loaded: the page shows it instead of the sandbox.
    pub load_error: Option<String>,
    /// An inline, dismissable error (a rejected parameter, fault or edit).
    pub error: Option<String>,
    /// A scenario the user picked that failed to load (the previous one keeps running).
    pub scenario_error: Option<String>,
    /// The scenario id (`"mmc.toml"`, `"catalogue/CACHE-NONE.toml"`, `"edited"`).
    pub scenario_id: String,
    /// The scenario text lane A runs (what the editor edits and links share).
    pub scenario_text: Rc<String>,
    pub mode: Mode,
    pub lanes: [Option<LaneView>; 2],
    pub playing: bool,
    pub speed: Speed,
    pub seed: u64,
    /// The sliders' values: the running scenario's, or what the user just
    /// set while the edit is on its way (see `rate_pending`).
    pub rate: f64,
    pub workers: u32,
    /// A slider value sent as an edit and not confirmed yet: replies about
    /// older edits do not move the slider back under the pointer.
    rate_pending: Option<f64>,
    workers_pending: Option<u32>,
    pub prediction: Option<Prediction>,
    pub fault_targets: Rc<Vec<(String, String)>>,
    pub fault_target: Option<String>,
    /// The last fault or live change, for the notes line.
    pub note: Option<String>,
    /// The scenario's anti-pattern toggles and whether each is fixed (lane A
    /// in sandbox mode, lane B in A/B mode).
    pub toggles: Rc<Vec<LessonToggle>>,
    pub toggle_fixed: Rc<Vec<bool>>,
    pub lesson: Option<LessonState>,
    /// `?embed`: the compact layout for an iframe.
    pub embed: bool,
    /// Reports that came back for an export (lane, report).
    pub reports: Option<(ReportPurpose, Rc<LaneReports>)>,
    pub reports_version: u64,
    /// Worker compute per frame and frame count (for the performance line).
    pub compute_ms: f64,
    /// Advances sent and not answered yet, and since when the oldest waits.
    in_flight: u32,
    waiting_since: Option<f64>,
    wall_acc_ms: f64,
    last_traces_ms: f64,
    last_refresh_ms: f64,
    last_reached: bool,
    last_claims_ms: f64,
    report_purpose: Option<ReportPurpose>,
}

impl PartialEq for AppState {
    fn eq(&self, other: &Self) -> bool {
        self.worker == other.worker
            && self.load_error == other.load_error
            && self.error == other.error
            && self.scenario_error == other.scenario_error
            && self.scenario_id == other.scenario_id
            && Rc::ptr_eq(&self.scenario_text, &other.scenario_text)
            && self.mode == other.mode
            && self.lanes == other.lanes
            && self.playing == other.playing
            && self.speed == other.speed
            && self.seed == other.seed
            && self.rate == other.rate
            && self.workers == other.workers
            && self.prediction == other.prediction
            && self.fault_target == other.fault_target
            && self.note == other.note
            && self.toggle_fixed == other.toggle_fixed
            && self.lesson == other.lesson
            && self.embed == other.embed
            && self.reports_version == other.reports_version
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("scenario_id", &self.scenario_id)
            .field("mode", &self.mode)
            .field("playing", &self.playing)
            .field("speed", &self.speed)
            .field("seed", &self.seed)
            .field("error", &self.error)
            .field("scenario_error", &self.scenario_error)
            .field("load_error", &self.load_error)
            .finish()
    }
}

pub const DEFAULT_SPEED: Speed = Speed::X(10);

/// The text of scenario `text` with toggle `t` in `state`, as TOML (the
/// toggle's own `apply`, then validation).
pub fn with_toggle(text: &str, t: &Toggle, state: State) -> Result<String, String> {
    let mut doc =
        ScenarioDoc::parse(text, sim_core::Format::sniff(text)).map_err(|e| e.to_string())?;
    t.apply(&mut doc, state).map_err(|e| e.to_string())?;
    doc.build().map_err(|e| e.to_string())?;
    Ok(doc.to_toml())
}

/// Whether `text` already is in toggle `t`'s fixed state.
pub fn is_fixed(text: &str, t: &Toggle) -> bool {
    ScenarioDoc::parse(text, sim_core::Format::sniff(text))
        .is_ok_and(|doc| t.state_of(&doc) == Some(State::Fix))
}

/// The edits that turn the document of `from` into that of `to` (both
/// TOML or JSON): what an editor's new text changes.
pub fn edits_between(from: &str, to: &str) -> Result<Vec<Edit>, String> {
    let parse = |t: &str| {
        ScenarioDoc::parse(t, sim_core::Format::sniff(t)).map_err(|e| format!("scenario: {e}"))
    };
    Ok(parse(from)?.diff(&parse(to)?))
}

impl AppState {
    /// A fresh state that loads scenario `id` (`text`) into lane A.
    pub fn new(sender: Sender, id: &str, text: &str) -> AppState {
        AppState::new_seeded(sender, id, text, None)
    }

    /// The state a page address asks for: the sandbox, a lesson, a shared
    /// scenario, or (for a broken link) nothing but the error.
    pub fn from_route(sender: Sender, page: PageRoute) -> AppState {
        let (id, text) = default_scenario();
        let mut st = match page.route {
            Route::Sandbox => AppState::new(sender, id, text),
            Route::Lesson(lesson) => {
                let mut st = AppState::new(sender, id, text);
                st.apply(Action::OpenLesson(lesson), 0.0);
                st
            }
            Route::Shared(p) => {
                let id =
                    p.id.as_deref()
                        .filter(|id| scenarios::find(id).is_some())
                        .unwrap_or(SHARED_ID);
                let mut st = AppState::new_seeded(sender, id, &p.scenario, Some(p.seed));
                st.seed = p.seed;
                let added = st.add_linked_lesson(&p);
                if let Some(lesson) = p.lesson.filter(|_| added) {
                    st.apply(Action::OpenLesson(lesson), 0.0);
                }
                st
            }
            Route::BadLink(e) => AppState::failed(sender, e.to_string()),
        };
        st.embed = page.embed;
        if st.embed {
            // An embed plays when it is scrolled into view (`embed::watch`).
            st.playing = false;
        }
        st
    }

    /// What a share link of the current state carries.
    pub fn share_payload(&self) -> SharePayload {
        let mut p = SharePayload::new(self.scenario_text.to_string(), self.seed);
        p.lesson = self.lesson.as_ref().map(|l| l.id.clone());
        p.lesson_text = p
            .lesson
            .as_deref()
            .and_then(lessons::user_text)
            .map(str::to_string);
        p.id = scenarios::find(&self.scenario_id).map(|e| e.id.to_string());
        p
    }

    fn new_seeded(sender: Sender, id: &str, text: &str, seed: Option<u64>) -> AppState {
        let mut st = AppState {
            sender,
            worker: None,
            load_error: None,
            error: None,
            scenario_error: None,
            scenario_id: id.to_string(),
            scenario_text: Rc::new(text.to_string()),
            mode: Mode::Sandbox,
            lanes: [None, None],
            playing: true,
            speed: DEFAULT_SPEED,
            seed: 1,
            rate: 0.0,
            workers: 0,
            rate_pending: None,
            workers_pending: None,
            prediction: None,
            fault_targets: Rc::new(Vec::new()),
            fault_target: None,
            note: None,
            toggles: Rc::new(Vec::new()),
            toggle_fixed: Rc::new(Vec::new()),
            lesson: None,
            embed: false,
            reports: None,
            reports_version: 0,
            compute_ms: 0.0,
            in_flight: 0,
            waiting_since: None,
            wall_acc_ms: 0.0,
            last_traces_ms: f64::NEG_INFINITY,
            last_refresh_ms: f64::NEG_INFINITY,
            last_reached: true,
            last_claims_ms: f64::NEG_INFINITY,
            report_purpose: None,
        };
        st.set_scenario_toggles(id);
        st.load(Lane::A, id, text, seed);
        st
    }

    /// A state that opens nothing and shows `error` (a broken share link).
    pub fn failed(sender: Sender, error: String) -> AppState {
        let mut st = AppState::new_empty(sender);
        st.load_error = Some(error);
        st.playing = false;
        st
    }

    fn new_empty(sender: Sender) -> AppState {
        let mut st = AppState::new(Sender(Rc::new(|_| {})), "", "");
        st.sender = sender;
        st.lanes = [None, None];
        st.scenario_id.clear();
        st
    }

    pub fn lane(&self, lane: Lane) -> Option<&LaneView> {
        self.lanes[lane.index()].as_ref()
    }

    pub fn controls(&self) -> Option<&LiveControls> {
        self.lane(Lane::A).map(|l| &l.info.controls)
    }

    fn send(&self, m: ToHost) {
        self.sender.send(m)
    }

    fn load(&mut self, lane: Lane, id: &str, text: &str, seed: Option<u64>) {
        self.send(ToHost::Load {
            lane,
            id: id.to_string(),
            text: text.to_string(),
            seed,
        });
    }

    /// The lane the anti-pattern panel drives.
    fn toggle_lane(&self) -> Lane {
        match self.mode {
            Mode::Sandbox => Lane::A,
            Mode::Ab | Mode::Lesson => Lane::B,
        }
    }

    fn lane_text(&self, lane: Lane) -> Option<String> {
        self.lane(lane).map(|l| l.info.text.clone())
    }

    /// Reads the toggles' positions from the text the toggle lane runs.
    fn sync_toggles(&mut self) {
        let text = self
            .lane_text(self.toggle_lane())
            .unwrap_or_else(|| self.scenario_text.to_string());
        let fixed: Vec<bool> = self
            .toggles
            .iter()
            .map(|t| is_fixed(&text, &t.toggle))
            .collect();
        if *self.toggle_fixed != fixed {
            self.toggle_fixed = Rc::new(fixed);
        }
    }

    fn on_loaded(&mut self, info: LaneInfo, now_ms: f64) {
        let lane = info.lane;
        if lane == Lane::A {
            let new_scenario = self.scenario_id != info.id
                || !self.lane(Lane::A).is_some_and(|l| l.info.text == info.text);
            self.scenario_id = info.id.clone();
            if *self.scenario_text != info.text {
                self.scenario_text = Rc::new(info.text.clone());
            }
            self.seed = info.seed;
            self.follow_controls(&info.controls);
            let c = &info.controls;
            if new_scenario {
                self.fault_targets = Rc::new(scenarios::fault_targets(&info.topology.nodes));
                if !self
                    .fault_target
                    .as_ref()
                    .is_some_and(|t| self.fault_targets.iter().any(|(n, _)| n == t))
                {
                    self.fault_target = c
                        .focus
                        .clone()
                        .filter(|f| self.fault_targets.iter().any(|(n, _)| n == f))
                        .or_else(|| self.fault_targets.first().map(|(n, _)| n.clone()));
                }
            }
            self.load_error = None;
            self.scenario_error = None;
        }
        let prev_version = self.lane(lane).map_or(0, |l| l.version);
        let mut view = match self.lanes[lane.index()].take() {
            Some(mut v) if v.info.id == info.id => {
                if *v.topology != info.topology {
                    v.topology = Rc::new(info.topology.clone());
                }
                v.info = Rc::new(info);
                v
            }
            _ => LaneView::new(info),
        };
        view.version = prev_version + 1;
        self.lanes[lane.index()] = Some(view);
        self.update_prediction();
        self.sync_toggles();
        self.last_traces_ms = f64::NEG_INFINITY;
        let _ = now_ms;
    }

    /// The sliders show the running scenario's values, except one whose
    /// edit is still on its way.
    fn follow_controls(&mut self, c: &LiveControls) {
        let rate = c.rate.as_ref().map_or(0.0, |c| c.value);
        if self.rate_pending.is_none_or(|p| p == rate) {
            self.rate = rate;
            self.rate_pending = None;
        }
        let workers = c.workers.as_ref().map_or(0, |c| c.value);
        if self.workers_pending.is_none_or(|p| p == workers) {
            self.workers = workers;
            self.workers_pending = None;
        }
    }

    /// An edit was refused: the sliders and toggles show what runs.
    fn resync(&mut self) {
        self.rate_pending = None;
        self.workers_pending = None;
        if let Some(c) = self.controls().cloned() {
            self.follow_controls(&c);
        }
        self.update_prediction();
        self.sync_toggles();
    }

    /// Sends `edits` of the running scenario (see `ToHost::Edit`).
    fn send_edits(&mut self, lane: Option<Lane>, edits: Vec<Edit>, reason: String) {
        self.send(ToHost::Edit {
            lane,
            edits,
            reason,
        });
    }

    fn update_prediction(&mut self) {
        let theory = if self.mode == Mode::Sandbox {
            self.controls().and_then(|c| c.theory)
        } else {
            None
        };
        self.prediction = theory.map(|t| Prediction::new(self.workers, self.rate, t.mu));
    }

    fn refresh_lanes(&mut self, now_ms: f64) {
        let behind = !self.last_reached && self.speed != Speed::Max;
        let playing = self.playing;
        for l in self.lanes.iter_mut().flatten() {
            l.refresh(now_ms, playing, behind);
        }
        self.last_refresh_ms = now_ms;
    }

    fn on_frame(
        &mut self,
        lanes: Vec<LaneFrame>,
        reached: bool,
        compute_ms: f64,
        now_ms: f64,
    ) -> bool {
        self.last_reached = reached;
        self.compute_ms = compute_ms;
        for f in lanes {
            if let Some(l) = self.lanes[f.lane.index()].as_mut() {
                l.absorb(f);
            }
        }
        // Lessons: stop at the lesson's length and read the answer.
        if let Some(lesson) = &self.lesson {
            if lesson.phase == Phase::Running {
                let t = self.lane(Lane::A).map_or(0.0, |l| {
                    l.pending_snapshot
                        .as_ref()
                        .map_or(l.snapshot.t_s, |s| s.t_s)
                });
                if t >= lesson.duration_s - 1e-9 {
                    self.playing = false;
                    self.request_reports(ReportPurpose::Claims);
                } else if now_ms - self.last_claims_ms >= 1_000.0 {
                    self.last_claims_ms = now_ms;
                    self.request_reports(ReportPurpose::Claims);
                }
            }
        }
        let every = if self.speed == Speed::Max {
            VIEW_REFRESH_MAX_MS
        } else {
            VIEW_REFRESH_MS
        };
        if self.playing && now_ms - self.last_refresh_ms < every {
            return false;
        }
        self.refresh_lanes(now_ms);
        true
    }

    /// Advances kept in flight: one at fixed speeds (each frame's target
    /// depends on wall time), two at max (the worker never waits for the page).
    fn advance_depth(&self) -> u32 {
        if self.speed == Speed::Max {
            2
        } else {
            1
        }
    }

    /// Asks the host for the next frame.
    fn send_advance(&mut self, now_ms: f64) {
        let dt = self.wall_acc_ms.min(MAX_FRAME_DT_MS);
        self.wall_acc_ms = 0.0;
        let traces = now_ms - self.last_traces_ms >= TRACE_REFRESH_MS;
        if traces {
            self.last_traces_ms = now_ms;
        }
        self.in_flight += 1;
        self.waiting_since.get_or_insert(now_ms);
        let until_s = self
            .lesson
            .as_ref()
            .filter(|l| l.phase == Phase::Running)
            .map(|l| l.duration_s);
        self.send(ToHost::Advance {
            wall_dt_ms: dt,
            speed: self.speed,
            budget_ms: if self.speed == Speed::Max {
                WORKER_BUDGET_MAX_MS
            } else {
                WORKER_BUDGET_MS
            },
            traces,
            until_s,
        });
    }

    /// The check of lesson `id` has made progress: ask for the next run
    /// while the lesson that asked is still open, else drop the check.
    fn on_check_progress(&mut self, id: &str, done: usize, total: usize) -> bool {
        match self.lesson.as_mut().filter(|l| l.id == id) {
            Some(l) if matches!(l.check, SeedCheckView::Running { .. }) => {
                l.check = SeedCheckView::Running { done, total };
                self.send(ToHost::CheckStep { id: id.to_string() });
                true
            }
            _ => {
                self.send(ToHost::CheckCancel { id: id.to_string() });
                false
            }
        }
    }

    /// The check of lesson `id` is done: shown if that lesson is open.
    fn on_checked(&mut self, id: &str, result: sim_core::lesson::Checked) -> bool {
        let Some(l) = self.lesson.as_mut().filter(|l| l.id == id) else {
            return false;
        };
        l.check = SeedCheckView::Done(Rc::new(result));
        true
    }

    /// The check of lesson `id` could not run: the button comes back and
    /// the error panel says why.
    fn on_check_failed(&mut self, id: &str, message: &str) -> bool {
        let Some(l) = self.lesson.as_mut().filter(|l| l.id == id) else {
            return false;
        };
        l.check = SeedCheckView::Idle;
        self.error = Some(format!("Checking {id} over its seeds: {message}"));
        true
    }

    fn request_reports(&mut self, purpose: ReportPurpose) {
        self.report_purpose = Some(purpose);
        self.send(ToHost::Report);
    }

    fn on_reports(&mut self, reports: Vec<(Lane, Box<Report>)>) -> bool {
        let Some(purpose) = self.report_purpose.take() else {
            return false;
        };
        match purpose {
            ReportPurpose::Claims => {
                let Some(lesson) = self.lesson.as_mut() else {
                    return false;
                };
                let Some(l) = lessons::find(&lesson.id) else {
                    return false;
                };
                let get = |lane: Lane| reports.iter().find(|(l, _)| *l == lane).map(|r| &*r.1);
                let (Some(a), b) = (get(Lane::A), get(Lane::B)) else {
                    return false;
                };
                let b = b.unwrap_or(a);
                lesson.claims = Rc::new(lessons::live_claims(l, a, b));
                let t = a.sim_time_s;
                if t >= lesson.duration_s - 1e-9 && lesson.phase == Phase::Running {
                    let fix = lessons::predicted_state(l) == Some(State::Fix);
                    lesson.answer = lessons::answer(l, if fix { b } else { a });
                    lesson.phase = Phase::Revealed;
                }
                true
            }
            ReportPurpose::ExportJson | ReportPurpose::ExportCsv => {
                self.reports = Some((purpose, Rc::new(reports)));
                self.reports_version += 1;
                true
            }
        }
    }

    fn set_scenario_toggles(&mut self, id: &str) {
        self.rate_pending = None;
        self.workers_pending = None;
        self.toggles = Rc::new(lessons::toggles_for_scenario(id));
        self.toggle_fixed = Rc::new(vec![false; self.toggles.len()]);
    }

    /// Loads a scenario into lane A (B too in A/B mode) from scratch.
    fn switch_scenario(&mut self, id: &str, text: &str) {
        // Validate here first, so a bad pick changes nothing.
        if let Err(e) = crate::engine::Engine::parse(text) {
            self.scenario_error = Some(format!("{id}: {e}"));
            return;
        }
        self.lesson = None;
        self.set_scenario_toggles(id);
        self.scenario_id = id.to_string();
        self.scenario_text = Rc::new(text.to_string());
        self.note = None;
        self.error = None;
        if self.mode == Mode::Lesson {
            self.mode = Mode::Sandbox;
        }
        if self.mode == Mode::Ab && !self.toggles.is_empty() {
            self.start_ab();
        } else {
            if self.mode == Mode::Ab {
                self.mode = Mode::Sandbox;
                self.send(ToHost::Drop { lane: Lane::B });
                self.lanes[1] = None;
            }
            self.load(Lane::A, id, text, Some(self.seed));
        }
        self.playing = true;
    }

    /// A = every toggle on the mistake, B = every toggle fixed; same seed.
    fn start_ab(&mut self) {
        let base = self.scenario_text.to_string();
        let all = |state: State| -> Result<String, String> {
            let mut text = base.clone();
            for t in self.toggles.iter() {
                text = with_toggle(&text, &t.toggle, state)?;
            }
            Ok(text)
        };
        match (all(State::Mistake), all(State::Fix)) {
            (Ok(a), Ok(b)) => {
                self.mode = Mode::Ab;
                let id = self.scenario_id.clone();
                self.load(Lane::A, &id, &a, Some(self.seed));
                self.load(Lane::B, &id, &b, Some(self.seed));
                self.playing = true;
            }
            (Err(e), _) | (_, Err(e)) => self.error = Some(format!("A/B mode: {e}")),
        }
    }

    fn open_lesson(&mut self, id: &str) {
        let Some(l) = lessons::find(id) else {
            self.error = Some(format!("no lesson {id:?} in this build"));
            return;
        };
        let texts = lessons::scenario_text(l, State::Mistake).and_then(|a| {
            let b = match l.toggle {
                Some(_) => Some(lessons::scenario_text(l, State::Fix)?),
                None => None,
            };
            Ok((a, b))
        });
        let (a, b) = match texts {
            Ok(t) => t,
            Err(e) => {
                self.error = Some(format!("lesson {id}: {e}"));
                return;
            }
        };
        let duration_s = lessons::scenario(l, State::Mistake).map_or(300.0, |sc| sc.duration_s);
        let scenario_id = l
            .scenario_file
            .clone()
            .unwrap_or_else(|| format!("lesson/{id}"));
        self.set_scenario_toggles(&scenario_id);
        self.mode = Mode::Lesson;
        self.scenario_text = Rc::new(a.clone());
        self.load(Lane::A, &scenario_id, &a, Some(self.seed));
        match b {
            Some(b) => self.load(Lane::B, &scenario_id, &b, Some(self.seed)),
            None => {
                self.send(ToHost::Drop { lane: Lane::B });
                self.lanes[1] = None;
            }
        }
        self.lesson = Some(LessonState {
            id: id.to_string(),
            phase: Phase::Predict,
            // A guess made before a reload comes back (still to be confirmed).
            guess: crate::persist::load_guess(id),
            answer: None,
            duration_s,
            claims: Rc::new(Vec::new()),
            check: SeedCheckView::Idle,
        });
        self.playing = false;
        self.note = None;
        self.error = None;
    }

    /// The reducer, on a plain `&mut`: returns whether anything visible changed.
    pub fn apply(&mut self, action: Action, now_ms: f64) -> bool {
        match action {
            Action::Frame { wall_dt_ms } => {
                if !self.playing || self.lanes[0].is_none() {
                    return false;
                }
                self.wall_acc_ms += wall_dt_ms.max(0.0);
                if let Some(sent) = self.waiting_since {
                    if now_ms - sent > WATCHDOG_MS && self.load_error.is_none() {
                        self.load_error = Some(format!(
                            "The simulation engine stopped answering ({} s without a reply). \
                             Reload the page to start again.",
                            (WATCHDOG_MS / 1e3) as u64
                        ));
                        self.playing = false;
                        return true;
                    }
                }
                if self.in_flight < self.advance_depth() {
                    self.send_advance(now_ms);
                }
                false
            }
            Action::Host(msg) => match msg {
                // The page's bench bridge takes these before the reducer.
                FromHost::Bench { .. } => false,
                FromHost::Ready { .. } => {
                    let changed = self.worker.is_none();
                    if self.worker.is_none() {
                        self.worker = Some(true);
                    }
                    changed
                }
                FromHost::Loaded(info) => {
                    self.on_loaded(*info, now_ms);
                    true
                }
                FromHost::Error {
                    lane,
                    context,
                    message,
                } => {
                    let text = format!("{context}: {message}");
                    if lane == Some(Lane::A) && self.lanes[0].is_none() {
                        // nothing runs yet: this is the page's first scenario
                        self.load_error = Some(text);
                        self.playing = false;
                    } else {
                        self.error = Some(text);
                        self.resync();
                    }
                    true
                }
                FromHost::Applied {
                    lane, live, note, ..
                } => {
                    let _ = (lane, live);
                    self.note = Some(note);
                    true
                }
                FromHost::Frame {
                    advance,
                    lanes,
                    reached,
                    compute_ms,
                    note,
                } => {
                    if advance {
                        self.in_flight = self.in_flight.saturating_sub(1);
                        self.waiting_since = (self.in_flight > 0).then_some(now_ms);
                    }
                    // Frames that answer a command (load, reset, edit, fault)
                    // rather than an advance show at once.
                    let forced = !advance || note.is_some() || !self.playing;
                    if let Some(n) = note {
                        self.note = Some(n);
                    }
                    let changed = self.on_frame(lanes, reached, compute_ms, now_ms);
                    // At max speed the worker always has the next frame in
                    // hand: it never idles while the page draws.
                    if self.playing && self.speed == Speed::Max && self.lanes[0].is_some() {
                        while self.in_flight < self.advance_depth() {
                            self.send_advance(now_ms);
                        }
                    }
                    if forced && !changed {
                        self.refresh_lanes(now_ms);
                        return true;
                    }
                    changed
                }
                FromHost::Reports(r) => self.on_reports(r),
                FromHost::CheckProgress { id, done, total } => {
                    self.on_check_progress(&id, done, total)
                }
                FromHost::Checked { id, result } => self.on_checked(&id, *result),
                FromHost::CheckFailed { id, message } => self.on_check_failed(&id, &message),
            },
            Action::WorkerSlow => {
                if self.worker.is_some() {
                    return false;
                }
                self.note = Some(
                    "The simulator is still starting (its web worker has not answered yet). \
                     If nothing moves, reload the page."
                        .into(),
                );
                true
            }
            Action::WorkerFallback(why) => {
                self.worker = Some(false);
                self.note = Some(format!("The engine runs on the page's thread: {why}"));
                self.in_flight = 0;
                self.waiting_since = None;
                true
            }
            Action::TogglePlay => {
                let playing = !self.playing;
                self.apply(if playing { Action::Play } else { Action::Pause }, now_ms)
            }
            Action::Play => {
                if self.playing {
                    return false;
                }
                if let Some(l) = &self.lesson {
                    if l.phase == Phase::Predict {
                        self.error = Some("Make your prediction first: it unlocks the run.".into());
                        return true;
                    }
                }
                self.playing = true;
                for l in self.lanes.iter_mut().flatten() {
                    l.last_refresh_ms = now_ms;
                }
                true
            }
            Action::Pause => {
                if !self.playing {
                    return false;
                }
                self.playing = false;
                self.refresh_lanes(now_ms);
                true
            }
            Action::Step => {
                if self.playing {
                    self.playing = false;
                }
                self.send(ToHost::Step);
                true
            }
            Action::Reset => {
                self.send(ToHost::Reset {
                    seed: Some(self.seed),
                });
                self.note = None;
                if let Some(l) = self.lesson.as_mut() {
                    if l.phase != Phase::Predict {
                        l.phase = Phase::Running;
                        l.answer = None;
                        self.playing = true;
                    }
                }
                true
            }
            Action::SetSpeed(speed) => {
                if speed == self.speed {
                    return false;
                }
                self.speed = speed;
                true
            }
            Action::SetSeed(seed) => {
                self.seed = seed;
                self.send(ToHost::Reset { seed: Some(seed) });
                true
            }
            Action::SetRate(rate) => {
                let Some(c) = self.controls().and_then(|c| c.rate.clone()) else {
                    self.error =
                        Some("this scenario has no Poisson or constant source to drive".into());
                    return true;
                };
                let rate = c.snap(rate);
                match Edit::number(c.param(), rate) {
                    Ok(edit) => {
                        self.rate = rate;
                        self.rate_pending = Some(rate);
                        self.send_edits(None, vec![edit], "arrival rate".into());
                        self.update_prediction();
                        self.error = None;
                    }
                    Err(e) => self.error = Some(e.to_string()),
                }
                true
            }
            Action::SetWorkers(workers) => {
                let Some(c) = self.controls().and_then(|c| c.workers.clone()) else {
                    self.error = Some("this scenario has no service to size".into());
                    return true;
                };
                self.workers = workers;
                self.workers_pending = Some(workers);
                let edit = Edit::set(c.param(), workers.into());
                self.send_edits(None, vec![edit], "workers".into());
                self.update_prediction();
                self.error = None;
                true
            }
            Action::DismissError => {
                let had = self.error.is_some();
                self.error = None;
                had
            }
            Action::ShowError(e) => {
                self.error = Some(e);
                true
            }
            Action::SelectScenario(id) => match scenarios::find(&id) {
                Some(e) => {
                    self.switch_scenario(e.id, e.text);
                    true
                }
                None => {
                    self.scenario_error = Some(format!("{id}: no such scenario in this build"));
                    true
                }
            },
            Action::LoadScenario { id, text } => {
                self.switch_scenario(&id, &text);
                true
            }
            Action::ApplyText { text, reason } => {
                let from = self.lane_text(Lane::A).unwrap_or_default();
                match edits_between(&from, &text) {
                    Ok(edits) if edits.is_empty() => return false,
                    Ok(edits) => self.send_edits(Some(Lane::A), edits, reason),
                    Err(e) => self.error = Some(format!("{reason}: {e}")),
                }
                true
            }
            Action::DismissScenarioError => {
                let had = self.scenario_error.is_some();
                self.scenario_error = None;
                had
            }
            Action::SetFaultTarget(name) => {
                if self.fault_target.as_deref() == Some(name.as_str())
                    || !self.fault_targets.iter().any(|(n, _)| *n == name)
                {
                    return false;
                }
                self.fault_target = Some(name);
                true
            }
            Action::InjectFault(button) => {
                let target = if button.targeted() {
                    let Some(t) = self.fault_target.clone() else {
                        self.error = Some("this scenario has no node that takes faults".into());
                        return true;
                    };
                    Some(t)
                } else {
                    None
                };
                self.send(ToHost::Inject { button, target });
                true
            }
            Action::SetToggle { index, fixed } => {
                let Some(t) = self.toggles.get(index).cloned() else {
                    return false;
                };
                let lane = self.toggle_lane();
                if self.lane(lane).is_none() {
                    return false;
                }
                let state = if fixed { State::Fix } else { State::Mistake };
                let mut f = (*self.toggle_fixed).clone();
                if let Some(x) = f.get_mut(index) {
                    *x = fixed;
                }
                self.toggle_fixed = Rc::new(f);
                let what = if fixed { "fixed" } else { "mistake on" };
                let reason = format!("{} {what}", t.label());
                self.send_edits(Some(lane), t.toggle.edits(state), reason);
                true
            }
            Action::SetMode(mode) => {
                if mode == self.mode {
                    return false;
                }
                match mode {
                    Mode::Ab => {
                        if self.toggles.is_empty() {
                            self.error = Some(
                                "A/B mode needs a scenario with a mistake to toggle: pick one from the catalogue or a lesson."
                                    .into(),
                            );
                            return true;
                        }
                        self.lesson = None;
                        self.start_ab();
                    }
                    Mode::Sandbox => {
                        self.lesson = None;
                        self.mode = Mode::Sandbox;
                        self.send(ToHost::Drop { lane: Lane::B });
                        self.lanes[1] = None;
                        self.update_prediction();
                        self.sync_toggles();
                    }
                    Mode::Lesson => {
                        self.error = Some("Pick a lesson from the lesson browser.".into());
                    }
                }
                true
            }
            Action::OpenLesson(id) => {
                self.open_lesson(&id);
                true
            }
            Action::CloseLesson => self.apply(Action::SetMode(Mode::Sandbox), now_ms),
            Action::Guess(g) => {
                let Some(l) = self.lesson.as_mut() else {
                    return false;
                };
                if !g.is_finite() {
                    self.error = Some("Your guess must be a number.".into());
                    return true;
                }
                l.guess = Some(g);
                crate::persist::save_guess(&l.id, g);
                if l.phase == Phase::Predict {
                    l.phase = Phase::Running;
                    self.playing = true;
                    self.error = None;
                    // Watchable in the page; an embed (no speed picker) runs it through.
                    self.speed = if self.embed {
                        Speed::Max
                    } else {
                        lesson_pace(l.duration_s)
                    };
                }
                true
            }
            Action::Reveal => {
                let Some(l) = self.lesson.as_mut() else {
                    return false;
                };
                match l.phase {
                    Phase::Predict => {
                        l.phase = Phase::Running;
                        self.playing = true;
                        // Watchable in the page; an embed (no speed picker) runs it through.
                        self.speed = if self.embed {
                            Speed::Max
                        } else {
                            lesson_pace(l.duration_s)
                        };
                        self.error = None;
                    }
                    Phase::Running if l.answer.is_some() => l.phase = Phase::Revealed,
                    Phase::Running | Phase::Revealed => return false,
                }
                true
            }
            Action::CheckLesson => {
                let Some(l) = self.lesson.as_mut() else {
                    return false;
                };
                if matches!(l.check, SeedCheckView::Running { .. }) {
                    return false;
                }
                l.check = SeedCheckView::Running { done: 0, total: 0 };
                let id = l.id.clone();
                self.send(ToHost::CheckStart { id });
                true
            }
            Action::RequestReports(p) => {
                self.request_reports(p);
                false
            }
            Action::OpenAddress(href) => self.open_address(&href),
            Action::OpenFile { name, text } => self.open_file(&name, text),
        }
    }

    /// Opens a file: a lesson the user wrote (checked as `lessons check`
    /// reads one) or a scenario (validated as the CLI validates it). What
    /// runs keeps running when it cannot be opened; the error names the
    /// file and the field.
    fn open_file(&mut self, name: &str, text: Result<String, String>) -> bool {
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                self.scenario_error = Some(format!("{name}: {e}"));
                return true;
            }
        };
        match crate::files::kind_of(&text) {
            crate::files::FileKind::Lesson => match lessons::add_user(&text) {
                Ok(l) => {
                    self.scenario_error = None;
                    let id = l.id.clone();
                    self.open_lesson(&id);
                }
                Err(e) => self.scenario_error = Some(format!("{name}: lesson: {e}")),
            },
            crate::files::FileKind::Scenario => {
                if let Err(e) = crate::engine::Engine::parse(&text) {
                    self.scenario_error = Some(format!("{name}: {e}"));
                    return true;
                }
                self.scenario_error = None;
                // (Never a shipped scenario's id: it would bring that
                // scenario's toggles along.)
                self.switch_scenario(&format!("file/{name}"), &text);
            }
        }
        true
    }

    /// Registers the user-written lesson a link carries; false (and the
    /// error says why) when it does not open.
    fn add_linked_lesson(&mut self, p: &SharePayload) -> bool {
        match p.lesson_text.as_deref().map(lessons::add_user) {
            Some(Err(e)) => {
                self.error = Some(format!("the link's lesson: {e}"));
                false
            }
            _ => true,
        }
    }

    /// Opens what a changed address names. The running scenario keeps
    /// running when the address names nothing new or cannot be opened (the
    /// error says why).
    fn open_address(&mut self, href: &str) -> bool {
        match crate::share::parse_route(href).route {
            Route::Sandbox => false,
            Route::Lesson(id) => {
                if self.lesson.as_ref().is_some_and(|l| l.id == id) {
                    return false;
                }
                self.open_lesson(&id);
                true
            }
            Route::Shared(p) => {
                if self.share_payload() == p {
                    return false;
                }
                let id =
                    p.id.as_deref()
                        .filter(|id| scenarios::find(id).is_some())
                        .unwrap_or(SHARED_ID)
                        .to_string();
                let seed = self.seed;
                self.seed = p.seed;
                self.switch_scenario(&id, &p.scenario);
                if self.scenario_error.is_some() {
                    self.seed = seed;
                    return true;
                }
                let added = self.add_linked_lesson(&p);
                if let Some(lesson) = p.lesson.filter(|_| added) {
                    self.open_lesson(&lesson);
                }
                true
            }
            Route::BadLink(e) => {
                self.scenario_error =
                    Some(format!("The link in the address could not be opened: {e}"));
                true
            }
        }
    }
}

/// The speed a lesson plays at: its whole run in about a minute of wall
/// time (a 240 s lesson at 5×, rounded up to the picker's next speed), so
/// that a student can watch it happen; the picker still changes it.
pub fn lesson_pace(duration_s: f64) -> Speed {
    let want = (duration_s / LESSON_WALL_S).max(1.0);
    Speed::ALL
        .into_iter()
        .find(|s| matches!(s, Speed::X(k) if f64::from(*k) >= want - 1e-9))
        .unwrap_or(Speed::Max)
}

/// About how long a lesson's run lasts on screen (wall seconds).
pub const LESSON_WALL_S: f64 = 60.0;

/// What the page's link starts with (see `share::Route`).
pub fn default_scenario() -> (&'static str, &'static str) {
    let e = scenarios::find(scenarios::DEFAULT_ID).expect("the default scenario is embedded");
    (e.id, e.text)
}

impl yew::Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        // Always a new value (the bookkeeping of in-flight frames must be
        // kept); the app uses `use_reducer_eq`, so a frame that changed
        // nothing visible (see the PartialEq impls) does not re-render.
        let mut next = (*self).clone();
        next.apply(action, clock::now_ms());
        Rc::new(next)
    }
}

/// Drives an [`AppState`] against an in-process [`crate::host::Host`],
/// synchronously (native and in-browser tests).
#[doc(hidden)]
pub mod harness {
    use super::*;
    use std::cell::RefCell;

    pub struct Harness {
        pub st: AppState,
        pub host: crate::host::Host,
        queue: Rc<RefCell<Vec<ToHost>>>,
        pub now: f64,
    }

    impl Harness {
        pub fn new(id: &str, text: &str) -> Harness {
            let queue: Rc<RefCell<Vec<ToHost>>> = Rc::default();
            let q = queue.clone();
            let st = AppState::new(Sender(Rc::new(move |m| q.borrow_mut().push(m))), id, text);
            let mut h = Harness {
                st,
                host: crate::host::Host::new(),
                queue,
                now: 0.0,
            };
            h.pump();
            h
        }

        #[allow(clippy::should_implement_trait)]
        pub fn default() -> Harness {
            let (id, text) = default_scenario();
            Harness::new(id, text)
        }

        /// Delivers every queued command and folds the replies in.
        pub fn pump(&mut self) {
            loop {
                let msgs: Vec<ToHost> = self.queue.borrow_mut().drain(..).collect();
                if msgs.is_empty() {
                    break;
                }
                for m in msgs {
                    for r in self.host.handle(m) {
                        self.st.apply(Action::Host(r), self.now);
                    }
                }
            }
        }

        /// The commands queued and not delivered yet (delivered by the caller).
        pub fn queue_drain(&mut self) -> Vec<ToHost> {
            self.queue.borrow_mut().drain(..).collect()
        }

        pub fn act(&mut self, a: Action) -> bool {
            let changed = self.st.apply(a, self.now);
            self.pump();
            changed
        }

        /// `n` frames of `dt_ms`, one second of wall time apart (each refreshes).
        pub fn frames(&mut self, n: usize, dt_ms: f64) {
            for _ in 0..n {
                self.now += 1_000.0;
                self.act(Action::Frame { wall_dt_ms: dt_ms });
            }
        }

        pub fn a(&self) -> &LaneView {
            self.st.lane(Lane::A).expect("lane A")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::harness::Harness;
    use super::*;

    #[test]
    fn starts_playing_with_scenario_defaults() {
        let h = Harness::default();
        let st = &h.st;
        assert!(st.load_error.is_none(), "{:?}", st.load_error);
        assert!(st.playing);
        assert_eq!(st.rate, 9.0);
        assert_eq!(st.workers, 10);
        assert_eq!(h.a().view.t_s, 0.0);
        assert!(matches!(st.prediction, Some(Prediction::Stable { .. })));
    }

    #[test]
    fn frames_advance_the_clock_and_fill_the_charts() {
        let mut h = Harness::default();
        h.act(Action::SetSpeed(Speed::X(100)));
        h.frames(60, 50.0); // 60 frames x 50 ms x 100 = 300 s
        let v = &h.a().view;
        assert!((v.t_s - 300.0).abs() < 1e-6, "{}", v.t_s);
        assert!(v.completed > 2_000, "{v:?}");
        assert!(v.utilisation > 0.7 && v.utilisation < 1.0, "{v:?}");
        assert!(v.recent_p99_s.unwrap() > 1.0);
        assert!((v.recent_span_s - 30.0).abs() < 1e-6);
        assert_eq!(h.a().chart.points.len(), CHART_WINDOWS);
        assert_eq!(h.a().windows.len(), 300);
        assert!(h.a().version > 0);
        assert!(
            v.recent_throughput > 7.0 && v.recent_throughput < 11.0,
            "{v:?}"
        );
        assert_eq!(v.busiest.as_deref(), Some("server"));
    }

    #[test]
    fn long_frames_are_clamped() {
        let mut h = Harness::default();
        h.act(Action::SetSpeed(Speed::X(1)));
        h.now = 1e6;
        h.act(Action::Frame {
            wall_dt_ms: 60_000.0,
        });
        h.act(Action::Pause);
        assert!(
            (h.a().view.t_s - MAX_FRAME_DT_MS / 1e3).abs() < 1e-9,
            "{}",
            h.a().view.t_s
        );
    }

    #[test]
    fn pause_freezes_the_clock_and_step_moves_one_window() {
        let mut h = Harness::default();
        h.frames(5, 16.0);
        assert!(h.act(Action::TogglePlay));
        assert!(!h.st.playing);
        let t = h.a().view.t_s;
        h.frames(10, 16.0);
        assert_eq!(h.a().view.t_s, t);
        h.act(Action::Step);
        assert!((h.a().view.t_s - (t + 1.0)).abs() < 1e-9);
        assert!(h.act(Action::TogglePlay));
        assert!(h.st.playing);
    }

    #[test]
    fn one_advance_at_a_time() {
        let (id, text) = default_scenario();
        let queue: Rc<std::cell::RefCell<Vec<ToHost>>> = Rc::default();
        let q = queue.clone();
        let mut st = AppState::new(Sender(Rc::new(move |m| q.borrow_mut().push(m))), id, text);
        let mut host = crate::host::Host::new();
        for m in queue.borrow_mut().drain(..).collect::<Vec<_>>() {
            for r in host.handle(m) {
                st.apply(Action::Host(r), 0.0);
            }
        }
        st.apply(Action::Frame { wall_dt_ms: 16.0 }, 1.0);
        st.apply(Action::Frame { wall_dt_ms: 16.0 }, 2.0);
        st.apply(Action::Frame { wall_dt_ms: 16.0 }, 3.0);
        let advances = queue
            .borrow()
            .iter()
            .filter(|m| matches!(m, ToHost::Advance { .. }))
            .count();
        assert_eq!(advances, 1, "the worker has one frame in hand at most");
        // At max speed it keeps two, so it never waits for the page.
        st.apply(Action::SetSpeed(Speed::Max), 3.5);
        st.apply(Action::Frame { wall_dt_ms: 16.0 }, 4.0);
        st.apply(Action::Frame { wall_dt_ms: 16.0 }, 5.0);
        let advances = queue
            .borrow()
            .iter()
            .filter(|m| matches!(m, ToHost::Advance { .. }))
            .count();
        assert_eq!(advances, 2);
        // No reply for long: the watchdog shows an error instead of a dead page.
        assert!(st.apply(Action::Frame { wall_dt_ms: 16.0 }, 1.0 + WATCHDOG_MS + 1.0));
        assert!(st
            .load_error
            .as_deref()
            .unwrap()
            .contains("stopped answering"));
    }

    #[test]
    fn rate_and_workers_change_the_prediction_live() {
        let mut h = Harness::default();
        let p0 = h.st.prediction.unwrap().p99_s().unwrap();
        h.act(Action::SetRate(9.8));
        assert_eq!(h.st.rate, 9.8);
        assert!(h.st.prediction.unwrap().p99_s().unwrap() > p0);
        h.act(Action::SetWorkers(9));
        assert!(matches!(h.st.prediction, Some(Prediction::Unstable { .. })));
        h.act(Action::SetWorkers(20));
        assert_eq!(h.st.workers, 20);
        assert!(h.st.prediction.unwrap().p99_s().unwrap() < p0);
        assert!(h.st.error.is_none());
        h.frames(2, 16.0);
        assert_eq!(h.a().snapshot.nodes[0].workers, 20);
    }

    #[test]
    fn out_of_range_settings_show_an_inline_error() {
        let mut h = Harness::default();
        h.act(Action::SetWorkers(0));
        assert!(h.st.error.is_some());
        assert_eq!(h.st.workers, 10);
        assert!(h.act(Action::DismissError));
        assert!(h.st.error.is_none());
        h.act(Action::SetRate(f64::NAN));
        assert!(h.st.error.is_some());
        assert_eq!(h.st.rate, 9.0);
    }

    #[test]
    fn reset_goes_back_to_zero_and_a_seed_changes_the_run() {
        let mut h = Harness::default();
        h.act(Action::SetSpeed(Speed::X(100)));
        h.frames(5, 50.0);
        let a = h.a().view.arrived;
        h.act(Action::Reset);
        assert_eq!(h.a().view.t_s, 0.0);
        assert!(h.a().windows.is_empty());
        h.frames(5, 50.0);
        assert_eq!(h.a().view.arrived, a, "same seed, same run");
        h.act(Action::SetSeed(7));
        assert_eq!(h.st.seed, 7);
        h.frames(5, 50.0);
        assert_ne!(h.a().view.arrived, a, "another seed, another run");
    }

    #[test]
    fn a_broken_first_scenario_is_a_load_error() {
        let h = Harness::new("bad", "nonsense = [");
        assert!(h.st.load_error.is_some());
        assert!(!h.st.playing);
    }

    #[test]
    fn selecting_chain_adapts_the_controls() {
        let mut h = Harness::default();
        h.act(Action::SelectScenario("chain.toml".into()));
        assert_eq!(h.st.scenario_id, "chain.toml");
        assert_eq!(h.st.rate, 200.0);
        assert_eq!(h.st.workers, 16);
        assert_eq!(h.st.prediction, None, "no Erlang C for a chain");
        assert_eq!(h.st.fault_target.as_deref(), Some("api"));
        h.act(Action::SetSpeed(Speed::X(20)));
        h.frames(20, 50.0);
        let names: Vec<_> = h.a().view.nodes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["api", "db"]);
        assert!(!h.a().traces.is_empty());
        h.act(Action::SelectScenario("mmc.toml".into()));
        assert_eq!((h.st.rate, h.st.workers), (9.0, 10));
        assert!(h.st.prediction.is_some());
    }

    #[test]
    fn a_bad_scenario_keeps_the_previous_one_running() {
        let mut h = Harness::default();
        h.frames(5, 16.0);
        h.act(Action::LoadScenario {
            id: "bad.toml".into(),
            text: "version = 1\n[nodes.s]\nkind = \"service\"\nworkers = \"many\"\n".into(),
        });
        let err = h.st.scenario_error.clone().unwrap();
        assert!(err.starts_with("bad.toml: scenario: nodes.s"), "{err}");
        assert_eq!(h.st.scenario_id, "mmc.toml");
        let t = h.a().view.t_s;
        h.frames(5, 16.0);
        assert!(h.a().view.t_s > t);
        assert!(h.act(Action::SelectScenario("nope.toml".into())));
        assert!(h.st.scenario_error.is_some());
    }

    #[test]
    fn fault_buttons_inject_and_report_errors_inline() {
        let mut h = Harness::default();
        h.act(Action::SelectScenario("chain.toml".into()));
        h.act(Action::SetSpeed(Speed::X(20)));
        h.frames(5, 50.0);
        assert!(!h.act(Action::SetFaultTarget("clients".into())));
        assert!(h.act(Action::SetFaultTarget("db".into())));
        h.act(Action::InjectFault(FaultButton::Crash));
        assert!(h.st.error.is_none(), "{:?}", h.st.error);
        assert!(h
            .st
            .note
            .as_deref()
            .unwrap()
            .starts_with("Crash 10 s on db at t = "));
        h.frames(5, 50.0);
        assert!(h.a().view.failed > 0);
        h.act(Action::InjectFault(FaultButton::Flush));
        assert!(h.st.error.as_deref().unwrap().contains("Flush cache"));
        h.act(Action::InjectFault(FaultButton::Spike));
        assert!(h.st.note.as_deref().unwrap().starts_with("Load spike"));
    }

    #[test]
    fn edits_apply_and_bad_edits_are_refused() {
        let mut h = Harness::default();
        h.frames(3, 16.0);
        let text = h.st.scenario_text.replace("workers = 10", "workers = 13");
        h.act(Action::ApplyText {
            text,
            reason: "inspector".into(),
        });
        assert!(h.st.note.as_deref().unwrap().starts_with("inspector"));
        assert_eq!(h.a().snapshot.nodes[0].workers, 13);
        h.act(Action::ApplyText {
            text: "version = 1".into(),
            reason: "inspector".into(),
        });
        let e = h.st.error.clone().unwrap();
        assert!(
            e.starts_with("inspector: scenario:") && e.contains("nodes"),
            "{e}"
        );
        assert_eq!(h.a().snapshot.nodes[0].workers, 13);
    }

    #[test]
    fn ab_mode_needs_toggles() {
        let mut h = Harness::default();
        h.act(Action::SetMode(Mode::Ab));
        assert_eq!(h.st.mode, Mode::Sandbox);
        assert!(h.st.error.as_deref().unwrap().contains("A/B mode needs"));
    }

    #[test]
    fn every_embedded_scenario_runs_a_few_frames() {
        for e in crate::scenarios::all() {
            let mut h = Harness::new(e.id, e.text);
            h.act(Action::SetSpeed(Speed::X(5)));
            h.frames(3, 50.0);
            assert!(h.a().view.t_s > 0.0, "{}", e.id);
            assert!(h.st.error.is_none(), "{}: {:?}", e.id, h.st.error);
        }
    }

    #[test]
    fn toggles_apply_live_and_read_back() {
        let mut h = Harness::new(
            "catalogue/DATA-N+1.toml",
            crate::scenarios::find("catalogue/DATA-N+1.toml")
                .unwrap()
                .text,
        );
        assert_eq!(h.st.toggles.len(), 1);
        assert_eq!(*h.st.toggle_fixed, vec![false]);
        h.act(Action::SetSpeed(Speed::X(20)));
        h.frames(10, 100.0); // 20 simulated seconds
        let t0 = h.a().view.t_s;
        h.act(Action::SetToggle {
            index: 0,
            fixed: true,
        });
        assert_eq!(*h.st.toggle_fixed, vec![true]);
        let note = h.st.note.clone().unwrap();
        assert!(note.contains("applied live"), "{note}");
        // live: the clock did not go back
        assert!(h.a().view.t_s >= t0, "{} < {t0}", h.a().view.t_s);
        h.act(Action::SetToggle {
            index: 0,
            fixed: false,
        });
        assert_eq!(*h.st.toggle_fixed, vec![false]);
    }

    /// What the page shows, shares and exports is the scenario that runs:
    /// after the sliders move, the scenario text, a share link made from the
    /// page and the TOML export all carry the sliders' values.
    #[test]
    fn share_links_and_exports_carry_the_sliders_values() {
        use crate::share::{encode, parse_route};
        use sim_core::{NodeSpec, Scenario};
        let values = |text: &str| {
            let sc = Scenario::from_str_any(text).unwrap();
            let rate = match &sc.nodes["clients"] {
                NodeSpec::Source(s) => match s.arrival {
                    sim_core::scenario::ArrivalSpec::Poisson { rate } => rate,
                    _ => unreachable!(),
                },
                _ => unreachable!(),
            };
            let workers = match &sc.nodes["server"] {
                NodeSpec::Service(s) => s.workers,
                _ => unreachable!(),
            };
            (rate, workers)
        };
        let mut h = Harness::default();
        h.frames(3, 16.0);
        assert_eq!(values(&h.st.scenario_text), (9.0, 10));
        h.act(Action::SetRate(9.8));
        h.act(Action::SetWorkers(12));
        assert!(h.st.error.is_none(), "{:?}", h.st.error);
        assert_eq!((h.st.rate, h.st.workers), (9.8, 12));
        // the page's scenario text is the running one...
        assert_eq!(values(&h.st.scenario_text), (9.8, 12));
        assert_eq!(h.a().snapshot.nodes[0].workers, 12);
        // ...a share link carries it...
        let link = format!("http://x/{}", encode(&h.st.share_payload()));
        let q: Rc<std::cell::RefCell<Vec<ToHost>>> = Rc::default();
        let q2 = q.clone();
        let shared = AppState::from_route(
            Sender(Rc::new(move |m| q2.borrow_mut().push(m))),
            parse_route(&link),
        );
        assert_eq!(values(&shared.scenario_text), (9.8, 12));
        // ...and so does the TOML export (the dialog exports the page's text).
        let sc = Scenario::from_str_any(&h.st.scenario_text).unwrap();
        let f = crate::export::scenario_toml(&sc, h.st.seed);
        assert_eq!(values(std::str::from_utf8(&f.bytes).unwrap()), (9.8, 12));
        // A reset keeps them: they are in the document, not beside it.
        h.act(Action::Reset);
        assert_eq!(values(&h.st.scenario_text), (9.8, 12));
        assert_eq!(h.a().snapshot.nodes[0].workers, 12);
        assert_eq!((h.st.rate, h.st.workers), (9.8, 12));
    }

    /// The page's anti-pattern switch and `tailsim lessons check` run the
    /// same fix: the lane's scenario after the toggle is the lesson's fix
    /// state, slider edits made before it included.
    #[test]
    fn a_toggle_on_the_page_runs_the_state_the_cli_checks() {
        let id = "catalogue/DATA-N+1.toml";
        let file = crate::scenarios::find(id).unwrap().text;
        let l = lessons::find("DATA-N+1").unwrap();
        let mut h = Harness::new(id, file);
        h.act(Action::SetToggle {
            index: 0,
            fixed: true,
        });
        assert!(h.st.error.is_none(), "{:?}", h.st.error);
        let mut page = sim_core::Scenario::from_str_any(&h.st.scenario_text).unwrap();
        let cli = l.scenario(State::Fix, Some(file)).unwrap();
        page.duration_s = cli.duration_s;
        assert_eq!(page, cli);
        assert_eq!(*h.st.toggle_fixed, vec![true]);
        // a slider edit and a toggle compose in the one document
        h.act(Action::SetWorkers(7));
        h.act(Action::SetToggle {
            index: 0,
            fixed: false,
        });
        let page = ScenarioDoc::parse(&h.st.scenario_text, sim_core::Format::Toml).unwrap();
        let w = h.st.controls().unwrap().workers.clone().unwrap();
        assert_eq!(page.get(&w.param()), Some(&7.into()));
        assert_eq!(h.st.toggles[0].toggle.state_of(&page), Some(State::Mistake));
    }

    #[test]
    fn a_refused_slider_edit_puts_the_slider_back() {
        let mut h = Harness::default();
        h.act(Action::SetWorkers(0));
        let e = h.st.error.clone().unwrap();
        assert!(
            e.contains("nodes.server.workers: must be an integer between 1 and 100000"),
            "{e}"
        );
        assert_eq!(h.st.workers, 10);
        // replies about an older edit do not move a newer value back
        h.st.apply(Action::SetWorkers(11), 0.0);
        h.st.apply(Action::SetWorkers(12), 0.0);
        let msgs: Vec<ToHost> = h.queue_drain();
        for (i, m) in msgs.into_iter().enumerate() {
            for r in h.host.handle(m) {
                h.st.apply(Action::Host(r), 0.0);
            }
            if i == 0 {
                assert_eq!(h.st.workers, 12, "the reply for 11 left the slider at 12");
            }
        }
        assert_eq!(h.st.workers, 12);
    }

    #[test]
    fn ab_mode_runs_mistake_and_fix_side_by_side() {
        let id = "catalogue/DATA-N+1.toml";
        let mut h = Harness::new(id, crate::scenarios::find(id).unwrap().text);
        h.act(Action::SetMode(Mode::Ab));
        assert_eq!(h.st.mode, Mode::Ab);
        h.act(Action::SetSpeed(Speed::X(50)));
        h.frames(10, 100.0); // 50 simulated seconds
        let b = h.st.lane(Lane::B).unwrap();
        assert_eq!(h.a().view.t_s, b.view.t_s);
        // the same arrivals (same seed), but N+1 is far slower
        assert_eq!(h.a().view.arrived, b.view.arrived);
        let (pa, pb) = (
            h.a().view.recent_p99_s.unwrap(),
            b.view.recent_p99_s.unwrap(),
        );
        assert!(pa > 2.0 * pb, "A p99 {pa} vs B p99 {pb}");
        assert!(h.st.prediction.is_none());
        h.act(Action::SetMode(Mode::Sandbox));
        assert!(h.st.lane(Lane::B).is_none());
    }

    #[test]
    fn lessons_play_in_about_a_minute() {
        // duration / 60 s, rounded up to the picker's next speed
        assert_eq!(lesson_pace(30.0), Speed::X(1));
        assert_eq!(lesson_pace(120.0), Speed::X(2));
        assert_eq!(lesson_pace(240.0), Speed::X(5));
        assert_eq!(lesson_pace(300.0), Speed::X(5));
        assert_eq!(lesson_pace(1_000.0), Speed::X(20));
        assert_eq!(lesson_pace(1e9), Speed::Max);
    }

    #[test]
    fn a_pasted_link_opens_its_scenario_and_a_broken_one_says_why() {
        let mut h = Harness::default();
        let e = scenarios::find("catalogue/DATA-N+1.toml").unwrap();
        let mut p = SharePayload::new(e.text, 9);
        p.id = Some(e.id.to_string());
        let link = format!("http://h/{}", crate::share::encode(&p));
        assert!(h.act(Action::OpenAddress(link.clone())));
        assert_eq!(h.st.scenario_id, "catalogue/DATA-N+1.toml");
        assert_eq!(h.st.seed, 9);
        assert!(h.st.scenario_error.is_none());
        // The same address again (e.g. our own replaceState) changes nothing.
        assert!(!h.act(Action::OpenAddress(link)));
        assert!(h.act(Action::OpenAddress("http://h/#s=1.garbage".into())));
        let err = h.st.scenario_error.clone().unwrap();
        assert!(err.contains("link"), "{err}");
        assert_eq!(
            h.st.scenario_id, "catalogue/DATA-N+1.toml",
            "the old one keeps running"
        );
    }

    #[test]
    fn a_seed_check_of_a_closed_lesson_is_cancelled_not_continued() {
        let mut h = Harness::default();
        h.act(Action::OpenLesson("DATA-N+1".into()));
        h.queue_drain();
        h.st.apply(Action::CheckLesson, 0.0);
        let start = h.queue_drain();
        assert!(
            matches!(&start[..], [ToHost::CheckStart { id }] if id == "DATA-N+1"),
            "{start:?}"
        );
        // A second press while it runs asks nothing more.
        assert!(!h.st.apply(Action::CheckLesson, 0.0));
        assert!(h.queue_drain().is_empty());
        // Progress while the lesson is open: the next run is asked for.
        let progress = |h: &mut Harness| {
            h.st.apply(
                Action::Host(FromHost::CheckProgress {
                    id: "DATA-N+1".into(),
                    done: 1,
                    total: 20,
                }),
                0.0,
            )
        };
        assert!(progress(&mut h));
        let step = h.queue_drain();
        assert!(matches!(&step[..], [ToHost::CheckStep { .. }]), "{step:?}");
        // The student leaves the lesson: the next progress cancels the check.
        h.st.apply(Action::CloseLesson, 0.0);
        h.queue_drain();
        assert!(!progress(&mut h));
        let cancel = h.queue_drain();
        assert!(
            matches!(&cancel[..], [ToHost::CheckCancel { id }] if id == "DATA-N+1"),
            "{cancel:?}"
        );
        // A late result or failure of that check changes nothing.
        let failed = FromHost::CheckFailed {
            id: "DATA-N+1".into(),
            message: "x".into(),
        };
        assert!(!h.st.apply(Action::Host(failed), 0.0));
        assert!(h.st.error.is_none());
    }

    #[test]
    fn a_lesson_waits_for_the_guess_then_reveals_the_answer() {
        let mut h = Harness::default();
        h.act(Action::OpenLesson("DATA-N+1".into()));
        assert_eq!(h.st.mode, Mode::Lesson);
        let l = h.st.lesson.clone().unwrap();
        assert_eq!(l.phase, Phase::Predict);
        assert!(!h.st.playing);
        h.act(Action::Play);
        assert!(!h.st.playing, "no run before the prediction");
        assert!(h.st.error.is_some());
        h.act(Action::Guess(120.0));
        assert!(h.st.playing);
        // A 120 s lesson plays at 2×: about a minute to watch.
        assert_eq!(h.st.speed, Speed::X(2));
        h.act(Action::SetSpeed(Speed::Max));
        for _ in 0..400 {
            h.frames(1, 16.0);
            if h.st.lesson.as_ref().unwrap().phase == Phase::Revealed {
                break;
            }
        }
        let l = h.st.lesson.clone().unwrap();
        assert_eq!(l.phase, Phase::Revealed, "t = {}", h.a().view.t_s);
        assert_eq!(
            h.a().view.t_s,
            l.duration_s,
            "stops exactly at the lesson's length"
        );
        let answer = l.answer.expect("an answer");
        assert!(answer > 50.0, "p99 with N+1 in ms: {answer}");
        assert_eq!(l.guess, Some(120.0));
        assert!(!l.claims.is_empty());
        assert!(!h.st.playing, "stops at the lesson's length");
        h.act(Action::CloseLesson);
        assert_eq!(h.st.mode, Mode::Sandbox);
    }

    #[test]
    fn routes_open_the_sandbox_a_lesson_a_shared_state_or_only_an_error() {
        use crate::share::{encode, parse_route};
        let sender = || {
            let q: Rc<std::cell::RefCell<Vec<ToHost>>> = Rc::default();
            (q.clone(), Sender(Rc::new(move |m| q.borrow_mut().push(m))))
        };
        let (_, s) = sender();
        let st = AppState::from_route(s, parse_route("http://x/?lesson=DATA-N%2B1&embed"));
        assert!(st.embed);
        assert_eq!(st.lesson.as_ref().unwrap().id, "DATA-N+1");
        // A shared state round trip: the same scenario text and seed.
        let mut h = Harness::default();
        h.act(Action::SetSeed(42));
        let link = format!("http://x/{}", encode(&h.st.share_payload()));
        let (q, s) = sender();
        let st = AppState::from_route(s, parse_route(&link));
        assert_eq!(st.seed, 42);
        assert_eq!(st.scenario_text, h.st.scenario_text);
        assert!(st.load_error.is_none());
        assert!(matches!(
            &q.borrow()[0],
            ToHost::Load { seed: Some(42), .. }
        ));
        // The link names the shipped scenario: its toggles come along.
        let id = "catalogue/DATA-N+1.toml";
        let mut h = Harness::new(id, crate::scenarios::find(id).unwrap().text);
        h.act(Action::SetToggle {
            index: 0,
            fixed: true,
        });
        let link = format!("http://x/{}", encode(&h.st.share_payload()));
        let (_, s) = sender();
        let st = AppState::from_route(s, parse_route(&link));
        assert_eq!(st.scenario_id, id);
        assert_eq!(st.toggles.len(), 1);
        assert_eq!(st.scenario_text, h.st.scenario_text);
        // A broken link opens nothing.
        let (q, s) = sender();
        let st = AppState::from_route(s, parse_route("http://x/#s=1.!!!"));
        assert!(
            st.load_error.as_deref().unwrap().starts_with("share link"),
            "{:?}",
            st.load_error
        );
        assert!(q.borrow().is_empty(), "nothing half-loaded");
        assert!(st.lane(Lane::A).is_none());
    }
}
