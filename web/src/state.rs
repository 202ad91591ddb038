//! The page's whole state and its one reducer. Components only read the
//! state and dispatch [`Action`]s; the engine lives behind an `Rc<RefCell>`
//! so that the reducer (not the components) is the one place that drives it.

use std::cell::RefCell;
use std::rc::Rc;

use crate::clock;
use crate::engine::Engine;
use crate::model::{
    recent_p99, ChartData, NodeRow, Prediction, Speed, CHART_WINDOWS, FRAME_BUDGET_MS,
    RECENT_WINDOWS,
};
use crate::scenarios::{self, FaultButton, LiveControls};
use crate::traces::{self, SLOW_LIST_LEN, TRACE_REFRESH_MS};

/// At high speeds the read-outs would flicker at 60 Hz: refresh them (and the
/// charts) at most this often while playing.
pub const VIEW_REFRESH_MS: f64 = 120.0;
/// A frame longer than this (tab in the background, debugger) counts as this.
pub const MAX_FRAME_DT_MS: f64 = 100.0;

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// One animation frame; `wall_dt_ms` since the previous one.
    Frame {
        wall_dt_ms: f64,
    },
    TogglePlay,
    Play,
    Pause,
    Reset,
    SetSpeed(Speed),
    SetRate(f64),
    SetWorkers(u32),
    DismissError,
    /// Switch to an embedded scenario (its id, see [`scenarios::find`]).
    SelectScenario(String),
    /// Switch to a scenario given as text (TOML or JSON).
    LoadScenario {
        id: String,
        text: String,
    },
    DismissScenarioError,
    SetFaultTarget(String),
    InjectFault(FaultButton),
}

/// Numbers the stat panel shows, taken from a snapshot and the recent windows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewData {
    pub t_s: f64,
    pub events: u64,
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    pub rejected: u64,
    pub in_flight: u64,
    /// Whole-run utilisation of the focus node (the first service).
    pub utilisation: f64,
    /// Whole-run time-average queue length of the focus node.
    pub queue_len_mean: f64,
    /// Current queue length, busy workers and worker slots of the focus node.
    pub queue_len: u64,
    pub busy: u32,
    pub slots: u32,
    /// Whole-run end-to-end latency quantiles, seconds.
    pub p50_s: f64,
    pub p95_s: f64,
    pub p99_s: f64,
    pub mean_s: f64,
    /// p99 of the requests completed in the last `RECENT_WINDOWS` windows.
    pub recent_p99_s: Option<f64>,
    /// Simulated seconds those windows cover.
    pub recent_span_s: f64,
    /// Simulated seconds per wall second over the last refresh (0 when paused).
    pub effective_speed: f64,
    /// The last frame ran out of budget before reaching its target.
    pub behind: bool,
    /// One row per non-source node, in name order.
    pub nodes: Rc<Vec<NodeRow>>,
}

#[derive(Clone)]
pub struct AppState {
    pub engine: Option<Rc<RefCell<Engine>>>,
    /// Set when the first scenario cannot be loaded: the page shows it instead of the sandbox.
    pub load_error: Option<String>,
    /// An inline, dismissable error (e.g. a rejected parameter or fault).
    pub error: Option<String>,
    /// A scenario the user picked that failed to load (the previous one keeps running).
    pub scenario_error: Option<String>,
    /// The running scenario's id (`"mmc.toml"`, `"catalogue/CACHE-NONE.toml"`).
    pub scenario_id: String,
    pub controls: Rc<LiveControls>,
    pub playing: bool,
    pub speed: Speed,
    /// Current slider values (meaningful when the control exists).
    pub rate: f64,
    pub workers: u32,
    /// The Erlang C prediction, for a single M/M/c only.
    pub prediction: Option<Prediction>,
    /// Nodes the fault buttons apply to, `(name, kind)`, and the selected one.
    pub fault_targets: Rc<Vec<(String, String)>>,
    pub fault_target: Option<String>,
    /// The last fault injected, for the node table's header.
    pub fault_note: Option<String>,
    pub view: ViewData,
    pub chart: Rc<ChartData>,
    /// Bumped whenever `chart` changes (the chart effect keys on it).
    pub chart_version: u64,
    /// The slowest of the recent traced requests, slowest first (refreshed
    /// at most every [`TRACE_REFRESH_MS`]).
    pub slow_traces: Rc<Vec<sim_core::Trace>>,
    last_traces_ms: f64,
    last_refresh_ms: f64,
    last_refresh_t_s: f64,
    last_behind: bool,
}

impl PartialEq for AppState {
    fn eq(&self, other: &Self) -> bool {
        self.load_error == other.load_error
            && self.error == other.error
            && self.scenario_error == other.scenario_error
            && self.scenario_id == other.scenario_id
            && self.playing == other.playing
            && self.speed == other.speed
            && self.rate == other.rate
            && self.workers == other.workers
            && self.prediction == other.prediction
            && self.fault_target == other.fault_target
            && self.fault_note == other.fault_note
            && self.view == other.view
            && self.chart_version == other.chart_version
            && Rc::ptr_eq(&self.slow_traces, &other.slow_traces)
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("scenario_id", &self.scenario_id)
            .field("playing", &self.playing)
            .field("speed", &self.speed)
            .field("rate", &self.rate)
            .field("workers", &self.workers)
            .field("view", &self.view)
            .field("error", &self.error)
            .field("scenario_error", &self.scenario_error)
            .field("load_error", &self.load_error)
            .finish()
    }
}

pub const DEFAULT_SPEED: Speed = Speed::X(10);

impl Default for AppState {
    fn default() -> Self {
        let default =
            scenarios::find(scenarios::DEFAULT_ID).expect("the default scenario is embedded");
        AppState::from_text(default.id, default.text)
    }
}

impl AppState {
    /// Builds the state for a scenario; a scenario error becomes `load_error`.
    pub fn from_toml(toml: &str) -> AppState {
        AppState::from_text(scenarios::DEFAULT_ID, toml)
    }

    /// Builds the state for a scenario (TOML or JSON) with id `id`.
    pub fn from_text(id: &str, text: &str) -> AppState {
        let mut st = AppState {
            engine: None,
            load_error: None,
            error: None,
            scenario_error: None,
            scenario_id: id.to_string(),
            controls: Rc::new(LiveControls {
                name: String::new(),
                description: String::new(),
                rate: None,
                workers: None,
                theory: None,
                focus: None,
            }),
            playing: true,
            speed: DEFAULT_SPEED,
            rate: 0.0,
            workers: 0,
            prediction: None,
            fault_targets: Rc::new(Vec::new()),
            fault_target: None,
            fault_note: None,
            view: ViewData::default(),
            chart: Rc::new(ChartData::default()),
            chart_version: 0,
            slow_traces: Rc::new(Vec::new()),
            last_traces_ms: f64::NEG_INFINITY,
            last_refresh_ms: f64::NEG_INFINITY,
            last_refresh_t_s: 0.0,
            last_behind: false,
        };
        match Engine::new(text) {
            Ok(engine) => st.install(id, engine, clock::now_ms()),
            Err(e) => {
                st.playing = false;
                st.load_error = Some(e);
            }
        }
        st
    }

    /// Makes `engine` the running scenario and adapts the controls to it.
    fn install(&mut self, id: &str, engine: Engine, now_ms: f64) {
        let controls = engine.controls.clone();
        self.rate = controls.rate.as_ref().map_or(0.0, |c| c.base);
        self.workers = controls.workers.as_ref().map_or(0, |c| c.base);
        self.fault_targets = Rc::new(scenarios::fault_targets(&engine.topology.nodes));
        self.fault_target = controls
            .focus
            .clone()
            .filter(|f| self.fault_targets.iter().any(|(n, _)| n == f))
            .or_else(|| self.fault_targets.first().map(|(n, _)| n.clone()));
        self.controls = Rc::new(controls);
        self.scenario_id = id.to_string();
        self.engine = Some(Rc::new(RefCell::new(engine)));
        self.error = None;
        self.scenario_error = None;
        self.load_error = None;
        self.fault_note = None;
        self.update_prediction();
        self.last_refresh_t_s = 0.0;
        self.last_behind = false;
        self.last_traces_ms = f64::NEG_INFINITY;
        self.refresh(now_ms);
    }

    /// Re-reads the snapshot and windows into `view` and `chart`.
    fn refresh(&mut self, now_ms: f64) {
        let Some(engine) = self.engine.clone() else {
            return;
        };
        let engine = engine.borrow();
        let snap = engine.snapshot();
        let e2e = &snap.end_to_end;
        let node = engine.focus_idx.and_then(|i| snap.nodes.get(i));
        let windows = engine.windows();
        let recent_start = windows.len().saturating_sub(RECENT_WINDOWS);
        let recent_span_s = match (windows.get(recent_start), windows.last()) {
            (Some(a), Some(b)) => b.t_end_s - a.t_start_s,
            _ => 0.0,
        };
        let wall_s = (now_ms - self.last_refresh_ms) / 1e3;
        let effective_speed = if self.playing && wall_s.is_finite() && wall_s > 0.0 {
            ((snap.t_s - self.last_refresh_t_s) / wall_s).max(0.0)
        } else {
            0.0
        };
        let rows: Vec<NodeRow> = snap.nodes.iter().map(NodeRow::from_snapshot).collect();
        let nodes = if *self.view.nodes == rows {
            self.view.nodes.clone()
        } else {
            Rc::new(rows)
        };
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
            recent_p99_s: recent_p99(&windows, RECENT_WINDOWS),
            recent_span_s,
            effective_speed,
            behind: self.last_behind,
            nodes,
        };
        let chart = ChartData::from_windows(&windows, engine.focus_idx, CHART_WINDOWS);
        if *self.chart != chart {
            self.chart = Rc::new(chart);
            self.chart_version += 1;
        }
        if now_ms - self.last_traces_ms >= TRACE_REFRESH_MS || !self.playing {
            let slow = traces::slowest(engine.sim().recent_traces(), SLOW_LIST_LEN);
            if *self.slow_traces != slow {
                self.slow_traces = Rc::new(slow);
            }
            self.last_traces_ms = now_ms;
        }
        self.last_refresh_ms = now_ms;
        self.last_refresh_t_s = snap.t_s;
    }

    fn update_prediction(&mut self) {
        self.prediction = self
            .controls
            .theory
            .map(|t| Prediction::new(self.workers, self.rate, t.mu));
    }

    /// Switches scenario; on error the running one stays and the error is shown.
    fn load_scenario(&mut self, id: &str, text: &str, now_ms: f64) -> bool {
        match Engine::new(text) {
            Ok(engine) => {
                self.install(id, engine, now_ms);
                // a fresh chart: bump even if both are empty
                self.chart_version += 1;
            }
            Err(e) => {
                self.scenario_error = Some(format!("{id}: {e}"));
            }
        }
        true
    }

    /// The reducer, on a plain `&mut`: returns whether anything visible changed.
    pub fn apply(&mut self, action: Action, now_ms: f64) -> bool {
        let Some(engine) = self.engine.clone() else {
            return false;
        };
        match action {
            Action::Frame { wall_dt_ms } => {
                if !self.playing {
                    return false;
                }
                let dt_s = wall_dt_ms.clamp(0.0, MAX_FRAME_DT_MS) / 1e3;
                let out = engine
                    .borrow_mut()
                    .advance(self.speed, dt_s, FRAME_BUDGET_MS);
                self.last_behind = !out.reached && self.speed != Speed::Max;
                if now_ms - self.last_refresh_ms < VIEW_REFRESH_MS {
                    return false;
                }
                self.refresh(now_ms);
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
                self.playing = true;
                // don't count the paused time in the effective speed
                self.last_refresh_ms = now_ms;
                true
            }
            Action::Pause => {
                if !self.playing {
                    return false;
                }
                self.playing = false;
                self.last_behind = false;
                self.refresh(now_ms);
                true
            }
            Action::Reset => {
                let rate = self.controls.rate.as_ref().map(|_| self.rate);
                let workers = self.controls.workers.as_ref().map(|_| self.workers);
                let res = engine.borrow_mut().reset(rate, workers);
                if let Err(e) = res {
                    self.error = Some(e);
                }
                self.fault_note = None;
                self.last_refresh_t_s = 0.0;
                self.last_traces_ms = f64::NEG_INFINITY;
                self.refresh(now_ms);
                true
            }
            Action::SetSpeed(speed) => {
                if speed == self.speed {
                    return false;
                }
                self.speed = speed;
                true
            }
            Action::SetRate(rate) => {
                let Some(c) = self.controls.rate.clone() else {
                    self.error =
                        Some("this scenario has no Poisson or constant source to drive".into());
                    return true;
                };
                if !c.contains(rate) {
                    self.error = Some(format!(
                        "arrival rate must be between {} and {} req/s (got {rate})",
                        c.min, c.max
                    ));
                    return true;
                }
                let rate = c.snap(rate);
                let res = engine.borrow_mut().set_rate(rate);
                match res {
                    Ok(()) => {
                        self.rate = rate;
                        self.update_prediction();
                        self.error = None;
                    }
                    Err(e) => self.error = Some(e),
                }
                true
            }
            Action::SetWorkers(workers) => {
                let Some(c) = self.controls.workers.clone() else {
                    self.error = Some("this scenario has no service to size".into());
                    return true;
                };
                if !c.contains(workers) {
                    self.error = Some(format!(
                        "workers must be between {} and {} (got {workers})",
                        c.min, c.max
                    ));
                    return true;
                }
                let res = engine.borrow_mut().set_workers(workers);
                match res {
                    Ok(()) => {
                        self.workers = workers;
                        self.update_prediction();
                        self.error = None;
                        if !self.playing {
                            self.refresh(now_ms);
                        }
                    }
                    Err(e) => self.error = Some(e),
                }
                true
            }
            Action::DismissError => {
                let had = self.error.is_some();
                self.error = None;
                had
            }
            Action::SelectScenario(id) => {
                if id == self.scenario_id && self.scenario_error.is_none() {
                    return false;
                }
                match scenarios::find(&id) {
                    Some(e) => self.load_scenario(e.id, e.text, now_ms),
                    None => {
                        self.scenario_error = Some(format!("{id}: no such scenario in this build"));
                        true
                    }
                }
            }
            Action::LoadScenario { id, text } => self.load_scenario(&id, &text, now_ms),
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
                let Some(target) = self.fault_target.clone() else {
                    self.error = Some("this scenario has no node that takes faults".into());
                    return true;
                };
                let res = engine.borrow_mut().inject(button, &target);
                match res {
                    Ok(()) => {
                        self.error = None;
                        let t = engine.borrow().sim().now_s();
                        self.fault_note =
                            Some(format!("{} on {target} at t = {t:.1} s", button.label()));
                    }
                    Err(e) => self.error = Some(e),
                }
                self.refresh(now_ms);
                true
            }
        }
    }

    /// The kind of the selected fault target.
    pub fn fault_target_kind(&self) -> Option<&str> {
        let t = self.fault_target.as_deref()?;
        self.fault_targets
            .iter()
            .find(|(n, _)| n == t)
            .map(|(_, k)| k.as_str())
    }
}

impl yew::Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        if next.apply(action, clock::now_ms()) {
            Rc::new(next)
        } else {
            // same Rc: Yew skips the re-render
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_frames(st: &mut AppState, n: usize, dt_ms: f64) {
        let mut now = 0.0;
        for _ in 0..n {
            now += 1_000.0; // far apart: every frame refreshes the view
            st.apply(Action::Frame { wall_dt_ms: dt_ms }, now);
        }
    }

    #[test]
    fn starts_playing_with_scenario_defaults() {
        let st = AppState::default();
        assert!(st.load_error.is_none(), "{:?}", st.load_error);
        assert!(st.playing);
        assert_eq!(st.rate, 9.0);
        assert_eq!(st.workers, 10);
        assert_eq!(st.view.t_s, 0.0);
        assert!(matches!(st.prediction, Some(Prediction::Stable { .. })));
    }

    #[test]
    fn frames_advance_the_clock_and_fill_the_charts() {
        let mut st = AppState::default();
        st.apply(Action::SetSpeed(Speed::X(100)), 0.0);
        run_frames(&mut st, 60, 50.0); // 60 frames x 50 ms x 100 = 300 s
        assert!((st.view.t_s - 300.0).abs() < 1e-6, "{}", st.view.t_s);
        assert!(st.view.completed > 2_000, "{:?}", st.view);
        assert!(
            st.view.utilisation > 0.7 && st.view.utilisation < 1.0,
            "{:?}",
            st.view
        );
        assert!(st.view.recent_p99_s.unwrap() > 1.0);
        assert!((st.view.recent_span_s - 30.0).abs() < 1e-6);
        assert_eq!(st.chart.points.len(), CHART_WINDOWS);
        assert!(st.chart_version > 0);
    }

    #[test]
    fn long_frames_are_clamped() {
        let mut st = AppState::default();
        st.apply(Action::SetSpeed(Speed::X(1)), 0.0);
        st.apply(
            Action::Frame {
                wall_dt_ms: 60_000.0,
            },
            1e6,
        );
        assert!(
            (st.view.t_s - MAX_FRAME_DT_MS / 1e3).abs() < 1e-9,
            "{}",
            st.view.t_s
        );
    }

    #[test]
    fn pause_freezes_the_clock() {
        let mut st = AppState::default();
        run_frames(&mut st, 5, 16.0);
        assert!(st.apply(Action::TogglePlay, 10_000.0));
        assert!(!st.playing);
        let t = st.view.t_s;
        let sim_now = st.engine.as_ref().unwrap().borrow().sim().now();
        run_frames(&mut st, 10, 16.0);
        assert_eq!(st.view.t_s, t);
        assert_eq!(st.engine.as_ref().unwrap().borrow().sim().now(), sim_now);
        assert!(st.apply(Action::TogglePlay, 20_000.0));
        assert!(st.playing);
    }

    #[test]
    fn throttles_view_refreshes() {
        let mut st = AppState::default();
        assert!(st.apply(Action::Frame { wall_dt_ms: 16.0 }, 1e9));
        // a frame right after a refresh advances the sim but reports no visible change
        let changed = st.apply(Action::Frame { wall_dt_ms: 16.0 }, st.last_refresh_ms + 1.0);
        assert!(!changed);
        assert!(st.engine.as_ref().unwrap().borrow().sim().now() > 0);
    }

    #[test]
    fn rate_and_workers_change_the_prediction_live() {
        let mut st = AppState::default();
        let p0 = st.prediction.unwrap().p99_s().unwrap();
        st.apply(Action::SetRate(9.8), 0.0);
        assert_eq!(st.rate, 9.8);
        assert!(st.prediction.unwrap().p99_s().unwrap() > p0);
        st.apply(Action::SetWorkers(9), 0.0);
        assert!(matches!(st.prediction, Some(Prediction::Unstable { .. })));
        st.apply(Action::SetWorkers(20), 0.0);
        assert_eq!(st.workers, 20);
        assert!(st.prediction.unwrap().p99_s().unwrap() < p0);
        assert!(st.error.is_none());
    }

    #[test]
    fn out_of_range_settings_show_an_inline_error() {
        let mut st = AppState::default();
        st.apply(Action::SetWorkers(0), 0.0);
        assert!(st.error.is_some());
        assert_eq!(st.workers, 10);
        assert!(st.apply(Action::DismissError, 0.0));
        assert!(st.error.is_none());
        st.apply(Action::SetRate(f64::NAN), 0.0);
        assert!(st.error.is_some());
        assert_eq!(st.rate, 9.0);
    }

    #[test]
    fn reset_goes_back_to_zero_and_keeps_settings() {
        let mut st = AppState::default();
        st.apply(Action::SetRate(12.0), 0.0);
        run_frames(&mut st, 10, 16.0);
        assert!(st.view.t_s > 0.0);
        st.apply(Action::Reset, 0.0);
        assert_eq!(st.view.t_s, 0.0);
        assert_eq!(st.view.arrived, 0);
        assert_eq!(st.rate, 12.0);
    }

    #[test]
    fn speed_changes() {
        let mut st = AppState::default();
        assert!(st.apply(Action::SetSpeed(Speed::Max), 0.0));
        assert!(!st.apply(Action::SetSpeed(Speed::Max), 0.0));
        run_frames(&mut st, 3, 16.0);
        assert!(st.view.t_s > 0.0);
    }

    #[test]
    fn a_broken_scenario_is_a_load_error() {
        let st = AppState::from_toml("nonsense = [");
        assert!(st.load_error.is_some());
        assert!(!st.playing);
        let mut st = st;
        assert!(!st.apply(Action::Frame { wall_dt_ms: 16.0 }, 0.0));
    }

    fn select(st: &mut AppState, id: &str) {
        assert!(st.apply(Action::SelectScenario(id.into()), 0.0));
        assert!(st.scenario_error.is_none(), "{:?}", st.scenario_error);
        assert_eq!(st.scenario_id, id);
    }

    #[test]
    fn selecting_chain_adapts_the_controls_and_fills_the_node_table() {
        let mut st = AppState::default();
        select(&mut st, "chain.toml");
        assert_eq!(st.rate, 200.0);
        assert_eq!(st.workers, 16);
        assert_eq!(st.prediction, None, "no Erlang C for a chain");
        assert_eq!(st.fault_target.as_deref(), Some("api"));
        assert_eq!(st.fault_target_kind(), Some("service"));
        assert_eq!(st.view.t_s, 0.0);
        st.apply(Action::SetSpeed(Speed::X(20)), 0.0);
        run_frames(&mut st, 20, 50.0); // 20 simulated seconds
        let names: Vec<_> = st.view.nodes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["api", "db"]);
        assert!(st.view.nodes.iter().all(|r| r.utilisation.unwrap() > 0.0));
        assert!(st.view.utilisation > 0.0, "{:?}", st.view);
        assert!(st.chart.points.iter().any(|p| p.utilisation > 0.0));
        // the sliders drive this scenario's own nodes
        st.apply(Action::SetRate(300.0), 0.0);
        assert_eq!((st.rate, st.error.as_deref()), (300.0, None));
        st.apply(Action::SetRate(900.0), 0.0);
        assert!(st.error.as_deref().unwrap().contains("between 20 and 600"));
        st.apply(Action::SetWorkers(4), 0.0);
        assert_eq!(st.workers, 4);
        // back to the default: M/M/c again
        select(&mut st, "mmc.toml");
        assert_eq!((st.rate, st.workers), (9.0, 10));
        assert!(st.prediction.is_some());
        let names: Vec<_> = st.view.nodes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["server"]);
    }

    #[test]
    fn slow_traces_refresh_at_most_every_500_ms() {
        let mut st = AppState::default();
        select(&mut st, "chain.toml");
        st.apply(Action::SetSpeed(Speed::X(20)), 0.0);
        run_frames(&mut st, 10, 50.0); // frames 1 s apart: every one refreshes
        assert!(!st.slow_traces.is_empty());
        let s = &st.slow_traces;
        assert!(s.len() <= crate::traces::SLOW_LIST_LEN);
        assert!(s.windows(2).all(|w| w[0].latency_s >= w[1].latency_s));
        // frames 150 ms apart: the read-outs refresh, the list only every 500 ms
        let mut now = 100_000.0;
        let mut changes = 0;
        let mut refreshes = 0;
        for _ in 0..20 {
            now += 150.0;
            let before = st.slow_traces.clone();
            if st.apply(Action::Frame { wall_dt_ms: 50.0 }, now) {
                refreshes += 1;
            }
            if !Rc::ptr_eq(&before, &st.slow_traces) {
                changes += 1;
            }
        }
        assert_eq!(refreshes, 20);
        assert!(
            (1..=6).contains(&changes),
            "{changes} list refreshes in 3 s"
        );
        // a reset empties the list at once
        st.apply(Action::Reset, now + 1.0);
        assert!(st.slow_traces.is_empty());
    }

    #[test]
    fn every_embedded_scenario_runs_a_few_frames() {
        for e in crate::scenarios::all() {
            let mut st = AppState::default();
            if e.id != crate::scenarios::DEFAULT_ID {
                select(&mut st, e.id);
            }
            st.apply(Action::SetSpeed(Speed::X(5)), 0.0);
            run_frames(&mut st, 3, 50.0);
            assert!(st.view.t_s > 0.0, "{}", e.id);
            assert_eq!(
                st.view.nodes.len(),
                st.engine.as_ref().unwrap().borrow().snapshot().nodes.len()
            );
            assert!(st.error.is_none(), "{}: {:?}", e.id, st.error);
        }
    }

    #[test]
    fn a_bad_scenario_keeps_the_previous_one_running() {
        let mut st = AppState::default();
        run_frames(&mut st, 5, 16.0);
        let t = st.view.t_s;
        let bad = MMC_BAD.to_string();
        assert!(st.apply(
            Action::LoadScenario {
                id: "bad.toml".into(),
                text: bad
            },
            0.0
        ));
        let err = st.scenario_error.clone().unwrap();
        assert!(err.starts_with("bad.toml: scenario: nodes.server"), "{err}");
        assert_eq!(st.scenario_id, "mmc.toml");
        assert!(st.playing);
        let sim_t = |st: &AppState| st.engine.as_ref().unwrap().borrow().sim().now_s();
        assert_eq!(sim_t(&st), t);
        run_frames(&mut st, 5, 16.0);
        assert!(sim_t(&st) > t, "the previous scenario keeps running");
        assert!(st.apply(Action::DismissScenarioError, 0.0));
        assert!(st.scenario_error.is_none());
        assert!(st.apply(Action::SelectScenario("nope.toml".into()), 0.0));
        assert!(st.scenario_error.is_some());
        assert_eq!(st.scenario_id, "mmc.toml");
    }

    const MMC_BAD: &str = "version = 1\nname = \"bad\"\n[nodes.clients]\nkind = \"source\"\ntarget = \"server\"\narrival = { process = \"poisson\", rate = 1.0 }\n[nodes.server]\nkind = \"service\"\nworkers = \"many\"\n";

    #[test]
    fn fault_buttons_inject_and_report_errors_inline() {
        let mut st = AppState::default();
        select(&mut st, "chain.toml");
        st.apply(Action::SetSpeed(Speed::X(20)), 0.0);
        run_frames(&mut st, 5, 50.0);
        assert!(
            !st.apply(Action::SetFaultTarget("clients".into()), 0.0),
            "sources take no faults"
        );
        assert!(st.apply(Action::SetFaultTarget("db".into()), 0.0));
        assert!(st.apply(Action::InjectFault(FaultButton::Crash), 0.0));
        assert!(st.error.is_none(), "{:?}", st.error);
        assert!(st
            .fault_note
            .as_deref()
            .unwrap()
            .starts_with("Crash 10 s on db at t = "));
        run_frames(&mut st, 5, 50.0);
        assert!(st.view.failed > 0, "{:?}", st.view);
        let db = st.view.nodes.iter().find(|r| r.name == "db").unwrap();
        assert!(db.is_down(), "{db:?}");
        st.apply(Action::InjectFault(FaultButton::Flush), 0.0);
        assert!(
            st.error.as_deref().unwrap().contains("Flush cache on db"),
            "{:?}",
            st.error
        );
        // the crash lasts 10 s
        run_frames(&mut st, 15, 50.0);
        assert!(!st
            .view
            .nodes
            .iter()
            .find(|r| r.name == "db")
            .unwrap()
            .is_down());
    }

    #[test]
    fn catalogue_cache_scenario_offers_flush() {
        let mut st = AppState::default();
        select(&mut st, "catalogue/CACHE-NONE.toml");
        assert!(st
            .fault_targets
            .iter()
            .any(|(n, k)| n == "cache" && k == "cache"));
        st.apply(Action::SetFaultTarget("cache".into()), 0.0);
        assert_eq!(st.fault_target_kind(), Some("cache"));
        st.apply(Action::InjectFault(FaultButton::Flush), 0.0);
        assert!(st.error.is_none(), "{:?}", st.error);
    }
}
