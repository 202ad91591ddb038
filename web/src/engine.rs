//! The live engine: a `Sim` built from a scenario, advanced frame by frame
//! within a wall-clock budget, with the parameters the page changes mid-run.

use sim_core::scenario::ArrivalSpec;
use sim_core::{NodeSpec, Scenario, Sim, Snapshot, Window};

use crate::clock;
use crate::model::{Speed, PARAM_RATE, PARAM_WORKERS};

/// The scenario the live page runs.
pub const MMC_TOML: &str = include_str!("../../assets/scenarios/mmc.toml");

/// Events per `run_until_bounded` call between two looks at the clock.
const CHUNK_EVENTS: u64 = 2_048;
/// At `max` speed, the furthest one frame may move the clock (simulated ns).
const MAX_HORIZON_NS: u64 = 3_600 * 1_000_000_000;

/// The settings of the M/M/c scenario the page exposes, read from the scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct MmcParams {
    pub rate: f64,
    pub workers: u32,
    /// Service rate per worker (1 / mean service time).
    pub mu: f64,
    /// Index of the service node in `Snapshot::nodes` / `Window::nodes`
    /// (these list the non-source nodes, in name order).
    pub service_idx: usize,
}

impl MmcParams {
    /// Reads arrival rate, workers and service rate of the `clients` -> `server` pair.
    pub fn from_scenario(sc: &Scenario) -> Result<MmcParams, String> {
        let source = match sc.nodes.get("clients") {
            Some(NodeSpec::Source(s)) => s,
            _ => return Err("scenario has no source node `clients`".into()),
        };
        let rate = match &source.arrival {
            ArrivalSpec::Poisson { rate } | ArrivalSpec::Constant { rate } => *rate,
            #[allow(unreachable_patterns)]
            _ => return Err("`clients` must have a fixed arrival rate".into()),
        };
        let server = match sc.nodes.get("server") {
            Some(NodeSpec::Service(s)) => s,
            _ => return Err("scenario has no service node `server`".into()),
        };
        let mean = server
            .service
            .as_ref()
            .map(|d| d.mean_s())
            .ok_or_else(|| "`server` needs a `service` distribution".to_string())?;
        if !(mean > 0.0) {
            return Err("`server` service time must have a positive mean".into());
        }
        let service_idx = sc
            .nodes
            .iter()
            .filter(|(_, n)| !matches!(n, NodeSpec::Source(_)))
            .position(|(k, _)| k == "server")
            .unwrap_or(0);
        Ok(MmcParams {
            rate,
            workers: server.workers,
            mu: 1.0 / mean,
            service_idx,
        })
    }
}

/// What one frame did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameOutcome {
    /// The clock reached the frame's target (false: the budget ran out first).
    pub reached: bool,
    pub sim_advanced_ns: u64,
    pub compute_ms: f64,
}

pub struct Engine {
    scenario: Scenario,
    seed: u64,
    sim: Sim,
    pub defaults: MmcParams,
}

impl Engine {
    /// Builds the live engine. The live page shows statistics from t = 0, so
    /// the scenario's warm-up (meant for batch runs) is dropped.
    pub fn new(toml: &str) -> Result<Engine, String> {
        let mut scenario = Scenario::from_toml_str(toml).map_err(|e| format!("scenario: {e}"))?;
        scenario.warmup_s = 0.0;
        let defaults = MmcParams::from_scenario(&scenario)?;
        let seed = scenario.seed;
        let sim = Sim::new(&scenario, seed).map_err(|e| format!("scenario: {e}"))?;
        Ok(Engine {
            scenario,
            seed,
            sim,
            defaults,
        })
    }

    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Restarts from t = 0 with the same seed, then applies `rate`/`workers`.
    pub fn reset(&mut self, rate: f64, workers: u32) -> Result<(), String> {
        self.sim = Sim::new(&self.scenario, self.seed).map_err(|e| format!("scenario: {e}"))?;
        if rate != self.defaults.rate {
            self.set_rate(rate)?;
        }
        if workers != self.defaults.workers {
            self.set_workers(workers)?;
        }
        Ok(())
    }

    pub fn set_rate(&mut self, rate: f64) -> Result<(), String> {
        self.sim
            .set_param(PARAM_RATE, rate)
            .map_err(|e| format!("arrival rate: {e}"))
    }

    pub fn set_workers(&mut self, workers: u32) -> Result<(), String> {
        self.sim
            .set_param(PARAM_WORKERS, workers as f64)
            .map_err(|e| format!("workers: {e}"))
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
        assert_eq!(e.defaults.rate, 9.0);
        assert_eq!(e.defaults.workers, 10);
        assert!((e.defaults.mu - 1.0).abs() < 1e-12);
        let snap = e.snapshot();
        assert_eq!(snap.nodes[e.defaults.service_idx].name, "server");
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
        e.reset(12.0, 15).unwrap();
        assert_eq!(e.sim().now(), 0);
        assert_eq!(e.snapshot().nodes[e.defaults.service_idx].workers, 15);
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
}
