//! The page's whole state and its one reducer. Components only read the
//! state and dispatch [`Action`]s; the engine lives behind an `Rc<RefCell>`
//! so that the reducer (not the components) is the one place that drives it.

use std::cell::RefCell;
use std::rc::Rc;

use crate::clock;
use crate::engine::{Engine, MmcParams, MMC_TOML};
use crate::model::{
    recent_p99, ChartData, Prediction, Speed, CHART_WINDOWS, FRAME_BUDGET_MS, RATE_MAX, RATE_MIN,
    RECENT_WINDOWS, WORKERS_MAX, WORKERS_MIN,
};

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
    /// Whole-run utilisation of the service node.
    pub utilisation: f64,
    /// Whole-run time-average queue length of the service node.
    pub queue_len_mean: f64,
    /// Current queue length and busy workers of the service node.
    pub queue_len: u64,
    pub busy: u32,
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
}

#[derive(Clone)]
pub struct AppState {
    pub engine: Option<Rc<RefCell<Engine>>>,
    /// Set when the scenario cannot be loaded: the page shows it instead of the sandbox.
    pub load_error: Option<String>,
    /// An inline, dismissable error (e.g. a rejected parameter).
    pub error: Option<String>,
    pub playing: bool,
    pub speed: Speed,
    pub rate: f64,
    pub workers: u32,
    pub mu: f64,
    pub service_idx: usize,
    pub prediction: Prediction,
    pub view: ViewData,
    pub chart: Rc<ChartData>,
    /// Bumped whenever `chart` changes (the chart effect keys on it).
    pub chart_version: u64,
    last_refresh_ms: f64,
    last_refresh_t_s: f64,
    last_behind: bool,
}

impl PartialEq for AppState {
    fn eq(&self, other: &Self) -> bool {
        self.load_error == other.load_error
            && self.error == other.error
            && self.playing == other.playing
            && self.speed == other.speed
            && self.rate == other.rate
            && self.workers == other.workers
            && self.view == other.view
            && self.chart_version == other.chart_version
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("playing", &self.playing)
            .field("speed", &self.speed)
            .field("rate", &self.rate)
            .field("workers", &self.workers)
            .field("view", &self.view)
            .field("error", &self.error)
            .field("load_error", &self.load_error)
            .finish()
    }
}

pub const DEFAULT_SPEED: Speed = Speed::X(10);

impl Default for AppState {
    fn default() -> Self {
        AppState::from_toml(MMC_TOML)
    }
}

impl AppState {
    /// Builds the state for a scenario; a scenario error becomes `load_error`.
    pub fn from_toml(toml: &str) -> AppState {
        let mut st = AppState {
            engine: None,
            load_error: None,
            error: None,
            playing: true,
            speed: DEFAULT_SPEED,
            rate: 9.0,
            workers: 10,
            mu: 1.0,
            service_idx: 0,
            prediction: Prediction::new(10, 9.0, 1.0),
            view: ViewData::default(),
            chart: Rc::new(ChartData::default()),
            chart_version: 0,
            last_refresh_ms: f64::NEG_INFINITY,
            last_refresh_t_s: 0.0,
            last_behind: false,
        };
        match Engine::new(toml) {
            Ok(engine) => {
                let MmcParams {
                    rate,
                    workers,
                    mu,
                    service_idx,
                } = engine.defaults.clone();
                st.rate = rate;
                st.workers = workers;
                st.mu = mu;
                st.service_idx = service_idx;
                st.prediction = Prediction::new(workers, rate, mu);
                st.engine = Some(Rc::new(RefCell::new(engine)));
                st.refresh(clock::now_ms());
            }
            Err(e) => {
                st.playing = false;
                st.load_error = Some(e);
            }
        }
        st
    }

    /// Re-reads the snapshot and windows into `view` and `chart`.
    fn refresh(&mut self, now_ms: f64) {
        let Some(engine) = self.engine.clone() else {
            return;
        };
        let engine = engine.borrow();
        let snap = engine.snapshot();
        let e2e = &snap.end_to_end;
        let node = snap.nodes.get(self.service_idx);
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
            p50_s: e2e.latency_s.p50,
            p95_s: e2e.latency_s.p95,
            p99_s: e2e.latency_s.p99,
            mean_s: e2e.latency_s.mean,
            recent_p99_s: recent_p99(&windows, RECENT_WINDOWS),
            recent_span_s,
            effective_speed,
            behind: self.last_behind,
        };
        let chart = ChartData::from_windows(&windows, Some(self.service_idx), CHART_WINDOWS);
        if *self.chart != chart {
            self.chart = Rc::new(chart);
            self.chart_version += 1;
        }
        self.last_refresh_ms = now_ms;
        self.last_refresh_t_s = snap.t_s;
    }

    fn update_prediction(&mut self) {
        self.prediction = Prediction::new(self.workers, self.rate, self.mu);
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
                let res = engine.borrow_mut().reset(self.rate, self.workers);
                if let Err(e) = res {
                    self.error = Some(e);
                }
                self.last_refresh_t_s = 0.0;
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
                if !(RATE_MIN..=RATE_MAX).contains(&rate) {
                    self.error = Some(format!(
                        "arrival rate must be between {RATE_MIN} and {RATE_MAX} req/s (got {rate})"
                    ));
                    return true;
                }
                let rate = (rate * 100.0).round() / 100.0;
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
                if !(WORKERS_MIN..=WORKERS_MAX).contains(&workers) {
                    self.error = Some(format!(
                        "workers must be between {WORKERS_MIN} and {WORKERS_MAX} (got {workers})"
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
        }
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
        assert!(matches!(st.prediction, Prediction::Stable { .. }));
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
        let p0 = st.prediction.p99_s().unwrap();
        st.apply(Action::SetRate(9.8), 0.0);
        assert_eq!(st.rate, 9.8);
        assert!(st.prediction.p99_s().unwrap() > p0);
        st.apply(Action::SetWorkers(9), 0.0);
        assert!(matches!(st.prediction, Prediction::Unstable { .. }));
        st.apply(Action::SetWorkers(20), 0.0);
        assert_eq!(st.workers, 20);
        assert!(st.prediction.p99_s().unwrap() < p0);
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
}
