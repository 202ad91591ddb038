//! The live engine: a `Sim` built from a scenario, advanced frame by frame
//! within a wall-clock budget, with the parameters the page changes mid-run.

use sim_core::{Scenario, Sim, Snapshot, Topology, Window};

use crate::clock;
use crate::model::Speed;
use crate::scenarios::{FaultButton, LiveControls};

/// The scenario the live page opens with.
pub const MMC_TOML: &str = include_str!("../../assets/scenarios/mmc.toml");

/// Events per `run_until_bounded` call between two looks at the clock.
const CHUNK_EVENTS: u64 = 2_048;
/// At `max` speed, the furthest one frame may move the clock (simulated ns).
const MAX_HORIZON_NS: u64 = 3_600 * 1_000_000_000;

/// What one frame did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameOutcome {
    /// The clock reached the frame's target (false: the budget ran out first).
    pub reached: bool,
    pub sim_advanced_ns: u64,
    pub compute_ms: f64,
}

/// How an edit took effect.
#[derive(Clone, Debug, PartialEq)]
pub enum Applied {
    /// Mid-run, with the state carried over.
    Live,
    /// The run restarted at t = 0 (the reason the change could not be live).
    Restarted(String),
}

pub struct Engine {
    scenario: Scenario,
    seed: u64,
    sim: Sim,
    /// The controls this scenario gets (sliders, theory, chart node).
    pub controls: LiveControls,
    /// Nodes and call edges (static for a scenario).
    pub topology: Topology,
    /// Index of `controls.focus` in `Snapshot::nodes` / `Window::nodes`.
    pub focus_idx: Option<usize>,
}

impl Engine {
    /// Builds the live engine from TOML or JSON. The live page shows
    /// statistics from t = 0, so the scenario's warm-up (meant for batch
    /// runs) is dropped. Errors carry the field path.
    pub fn new(text: &str) -> Result<Engine, String> {
        Engine::with_seed(text, None)
    }

    /// Like [`Engine::new`], with the root seed overridden.
    pub fn with_seed(text: &str, seed: Option<u64>) -> Result<Engine, String> {
        let scenario = Engine::parse(text)?;
        let controls = LiveControls::from_scenario(&scenario);
        let seed = seed.unwrap_or(scenario.seed);
        let sim = Sim::new(&scenario, seed).map_err(|e| format!("scenario: {e}"))?;
        let topology = sim.topology();
        let focus_idx = controls
            .focus
            .as_ref()
            .and_then(|f| sim.snapshot().nodes.iter().position(|n| &n.name == f));
        Ok(Engine {
            scenario,
            seed,
            sim,
            controls,
            topology,
            focus_idx,
        })
    }

    /// Parses a scenario for live use: errors carry the field path, and the
    /// warm-up (meant for batch runs) is dropped.
    pub fn parse(text: &str) -> Result<Scenario, String> {
        let mut scenario = Scenario::from_str_any(text).map_err(|e| format!("scenario: {e}"))?;
        scenario.warmup_s = 0.0;
        Ok(scenario)
    }

    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    pub fn sim_mut(&mut self) -> &mut Sim {
        &mut self.sim
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Restarts at t = 0 with another root seed.
    pub fn reseed(&mut self, seed: u64) -> Result<(), String> {
        self.seed = seed;
        self.sim = Sim::new(&self.scenario, seed).map_err(|e| format!("scenario: {e}"))?;
        Ok(())
    }

    /// Applies an edited scenario: live (state carried over) when the engine
    /// can reconfigure the running simulation, else by restarting at t = 0.
    /// Returns whether the change was live, and why not.
    pub fn apply(&mut self, text: &str) -> Result<Applied, String> {
        let scenario = Engine::parse(text)?;
        let live = self.sim.reconfigure(&scenario);
        let applied = match live {
            Ok(_) => Applied::Live,
            Err(why) => {
                let sim = Sim::new(&scenario, self.seed).map_err(|e| format!("scenario: {e}"))?;
                self.sim = sim;
                Applied::Restarted(why.to_string())
            }
        };
        self.controls = LiveControls::from_scenario(&scenario);
        self.topology = self.sim.topology();
        self.focus_idx = self
            .controls
            .focus
            .as_ref()
            .and_then(|f| self.sim.snapshot().nodes.iter().position(|n| &n.name == f));
        self.scenario = scenario;
        Ok(applied)
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Restarts from t = 0 with the same seed, then applies the slider
    /// settings that differ from the file.
    pub fn reset(&mut self, rate: Option<f64>, workers: Option<u32>) -> Result<(), String> {
        self.sim = Sim::new(&self.scenario, self.seed).map_err(|e| format!("scenario: {e}"))?;
        if let (Some(rate), Some(c)) = (rate, &self.controls.rate) {
            if rate != c.base {
                self.set_rate(rate)?;
            }
        }
        if let (Some(workers), Some(c)) = (workers, &self.controls.workers) {
            if workers != c.base {
                self.set_workers(workers)?;
            }
        }
        Ok(())
    }

    pub fn set_rate(&mut self, rate: f64) -> Result<(), String> {
        let c = self
            .controls
            .rate
            .as_ref()
            .ok_or("arrival rate: this scenario has no Poisson or constant source")?;
        self.sim
            .set_param(&c.param(), rate)
            .map_err(|e| format!("arrival rate: {e}"))
    }

    pub fn set_workers(&mut self, workers: u32) -> Result<(), String> {
        let c = self
            .controls
            .workers
            .as_ref()
            .ok_or("workers: this scenario has no service")?;
        self.sim
            .set_param(&c.param(), workers as f64)
            .map_err(|e| format!("workers: {e}"))
    }

    /// Injects a live fault on `target` now.
    pub fn inject(&mut self, button: FaultButton, target: &str) -> Result<(), String> {
        self.sim
            .inject_fault(button.spec(target))
            .map_err(|e| format!("{} on {target}: {e}", button.label()))
    }

    /// Advances the clock for one animation frame of `wall_dt_s` wall seconds
    /// at `speed`, spending at most about `budget_ms` of compute.
    pub fn advance(&mut self, speed: Speed, wall_dt_s: f64, budget_ms: f64) -> FrameOutcome {
        let start_ms = clock::now_ms();
        let t0 = self.sim.now();
        let target = match speed.sim_advance_ns(wall_dt_s) {
            Some(d) => t0.saturating_add(d),
            None => t0.saturating_add(MAX_HORIZON_NS),
        };
        let reached = loop {
            if self.sim.run_until_bounded(target, CHUNK_EVENTS) {
                break true;
            }
            if clock::now_ms() - start_ms >= budget_ms {
                break false;
            }
        };
        FrameOutcome {
            reached,
            sim_advanced_ns: self.sim.now().saturating_sub(t0),
            compute_ms: clock::now_ms() - start_ms,
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        self.sim.snapshot()
    }

    pub fn windows(&self) -> Vec<Window> {
        self.sim.windows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_mmc_scenario() {
        let e = Engine::new(MMC_TOML).expect("mmc.toml builds");
        assert_eq!(e.controls.rate.as_ref().unwrap().base, 9.0);
        assert_eq!(e.controls.workers.as_ref().unwrap().base, 10);
        assert!((e.controls.theory.unwrap().mu - 1.0).abs() < 1e-12);
        let snap = e.snapshot();
        assert_eq!(snap.nodes[e.focus_idx.unwrap()].name, "server");
    }

    #[test]
    fn bad_scenario_is_an_error_not_a_panic() {
        assert!(Engine::new("this is = not [a scenario").is_err());
        assert!(Engine::new("").is_err());
    }

    #[test]
    fn fixed_speed_moves_the_clock_by_wall_time_times_speed() {
        let mut e = Engine::new(MMC_TOML).unwrap();
        let out = e.advance(Speed::X(10), 0.5, 1_000.0);
        assert!(out.reached);
        assert_eq!(out.sim_advanced_ns, 5_000_000_000);
        assert_eq!(e.sim().now(), 5_000_000_000);
    }

    #[test]
    fn max_speed_stops_at_the_budget() {
        let mut e = Engine::new(MMC_TOML).unwrap();
        let out = e.advance(Speed::Max, 0.016, 5.0);
        assert!(out.sim_advanced_ns > 0);
        // the loop looks at the clock between chunks: allow one chunk of slack
        assert!(out.compute_ms < 200.0, "{out:?}");
    }

    #[test]
    fn reset_restarts_and_reapplies_settings() {
        let mut e = Engine::new(MMC_TOML).unwrap();
        e.advance(Speed::X(100), 1.0, 1_000.0);
        e.reset(Some(12.0), Some(15)).unwrap();
        assert_eq!(e.sim().now(), 0);
        assert_eq!(e.snapshot().nodes[e.focus_idx.unwrap()].workers, 15);
    }

    #[test]
    fn pooled_window_p99_agrees_with_the_whole_run_histogram() {
        // The read-out beside the prediction pools per-window quantiles; over
        // windows that cover the whole run it must agree with the p99 of the
        // run's own histogram.
        for (rate, workers) in [(9.0, 10), (9.8, 10), (4.0, 5), (1.0, 2), (20.0, 20)] {
            let mut e = Engine::new(MMC_TOML).unwrap();
            e.set_rate(rate).unwrap();
            e.set_workers(workers).unwrap();
            e.sim.run_until(600 * 1_000_000_000);
            let windows = e.windows();
            assert_eq!(windows.len(), 600);
            let pooled = crate::model::recent_p99(&windows, windows.len()).unwrap();
            let whole = e.snapshot().end_to_end.latency_s.p99;
            let rel = (pooled - whole).abs() / whole;
            eprintln!(
                "λ={rate} c={workers}: pooled {pooled:.3} vs whole-run {whole:.3} ({:+.1} %)",
                100.0 * (pooled - whole) / whole
            );
            assert!(
                rel < 0.05,
                "λ={rate} c={workers}: pooled {pooled} vs whole-run {whole}"
            );
        }
    }

    #[test]
    fn invalid_worker_count_is_reported() {
        let mut e = Engine::new(MMC_TOML).unwrap();
        assert!(e.set_workers(0).is_err());
        assert!(e.set_rate(12.5).is_ok());
    }

    #[test]
    fn chain_focuses_the_api_and_takes_faults() {
        let text = crate::scenarios::find("chain.toml").unwrap().text;
        let mut e = Engine::new(text).unwrap();
        assert_eq!(e.sim().snapshot().nodes[e.focus_idx.unwrap()].name, "api");
        e.set_rate(300.0).unwrap();
        e.set_workers(4).unwrap();
        e.advance(Speed::X(100), 0.1, 1_000.0);
        e.inject(FaultButton::Crash, "db").unwrap();
        let err = e.inject(FaultButton::Flush, "db").unwrap_err();
        assert!(err.contains("Flush cache on db"), "{err}");
        e.advance(Speed::X(100), 0.05, 1_000.0);
        assert!(e.snapshot().end_to_end.failed > 0);
        e.reset(Some(300.0), Some(4)).unwrap();
        assert_eq!(e.sim().now(), 0);
    }

    #[test]
    fn scenario_errors_name_the_field() {
        let bad = MMC_TOML.replace("workers = 10", "workers = \"ten\"");
        let err = Engine::new(&bad).err().unwrap();
        assert!(err.contains("nodes.server"), "{err}");
        // JSON is accepted too.
        let json = r#"{"version": 1, "name": "j", "nodes": {
            "c": {"kind": "source", "target": "s", "arrival": {"process": "poisson", "rate": 1.0}},
            "s": {"kind": "service", "workers": 1, "service": {"dist": "exponential", "mean_s": 0.5}}}}"#;
        let e = Engine::new(json).unwrap();
        assert!(e.controls.theory.is_some());
    }
}
