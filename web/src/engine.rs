//! One lane's engine: a `Sim` built from a scenario document for live use,
//! with its controls and topology, reseeding, and the one way to change it
//! while it runs: document edits (`sim_core::Edit`), validated, then applied
//! live through `Sim::reconfigure` (or by a restart when the engine refuses).
//! The host (`host.rs`) advances it frame by frame.

use sim_core::{Edit, Format, Scenario, ScenarioDoc, Sim, Snapshot, Topology, Window};

use crate::scenarios::{FaultButton, LiveControls};

/// The scenario the live page opens with.
pub const MMC_TOML: &str = include_str!("../../assets/scenarios/mmc.toml");

/// How an edit took effect.
#[derive(Clone, Debug, PartialEq)]
pub enum Applied {
    /// Mid-run, with the state carried over.
    Live,
    /// The run restarted at t = 0 (the reason the change could not be live).
    Restarted(String),
}

pub struct Engine {
    /// The scenario document as given and edited (what the page shows,
    /// shares and exports).
    doc: ScenarioDoc,
    /// The document typed for live use (no warm-up).
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
        let doc =
            ScenarioDoc::parse(text, Format::sniff(text)).map_err(|e| format!("scenario: {e}"))?;
        let scenario = Engine::live(&doc)?;
        let controls = LiveControls::from_scenario(&scenario);
        let seed = seed.unwrap_or(scenario.seed);
        let sim = Sim::new(&scenario, seed).map_err(|e| format!("scenario: {e}"))?;
        let mut e = Engine {
            doc,
            scenario,
            seed,
            topology: sim.topology(),
            sim,
            controls,
            focus_idx: None,
        };
        e.find_focus();
        Ok(e)
    }

    /// Parses a scenario for live use: errors carry the field path, and the
    /// warm-up (meant for batch runs) is dropped.
    pub fn parse(text: &str) -> Result<Scenario, String> {
        let doc =
            ScenarioDoc::parse(text, Format::sniff(text)).map_err(|e| format!("scenario: {e}"))?;
        Engine::live(&doc)
    }

    /// The document typed and validated for live use.
    fn live(doc: &ScenarioDoc) -> Result<Scenario, String> {
        let mut scenario = doc.build().map_err(|e| format!("scenario: {e}"))?;
        scenario.warmup_s = 0.0;
        Ok(scenario)
    }

    fn find_focus(&mut self) {
        let snap = self.sim.snapshot();
        self.focus_idx = self
            .controls
            .focus
            .as_ref()
            .and_then(|f| snap.nodes.iter().position(|n| &n.name == f));
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

    /// The scenario document the lane runs, edits included.
    pub fn doc(&self) -> &ScenarioDoc {
        &self.doc
    }

    /// Restarts at t = 0 with another root seed (edits are kept: they are
    /// in the document).
    pub fn reseed(&mut self, seed: u64) -> Result<(), String> {
        self.seed = seed;
        self.sim = Sim::new(&self.scenario, seed).map_err(|e| format!("scenario: {e}"))?;
        Ok(())
    }

    /// Applies edits to the running scenario: the edited document is
    /// validated (an edit that does not build changes nothing and the error
    /// names the field), then taken live when the engine can reconfigure the
    /// running simulation, else by restarting at t = 0.
    pub fn edit(&mut self, edits: &[Edit]) -> Result<Applied, String> {
        let mut doc = self.doc.clone();
        doc.apply_all(edits).map_err(|e| format!("scenario: {e}"))?;
        let scenario = Engine::live(&doc)?;
        let applied = match self.sim.reconfigure(&scenario) {
            Ok(_) => Applied::Live,
            Err(why) => {
                self.sim = Sim::new(&scenario, self.seed).map_err(|e| format!("scenario: {e}"))?;
                Applied::Restarted(why.to_string())
            }
        };
        self.controls = self.controls.follow(&scenario);
        self.topology = self.sim.topology();
        self.scenario = scenario;
        self.doc = doc;
        self.find_focus();
        Ok(applied)
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Injects a live fault on `target` now.
    pub fn inject(&mut self, button: FaultButton, target: &str) -> Result<(), String> {
        self.sim
            .inject_fault(button.spec(target))
            .map_err(|e| format!("{} on {target}: {e}", button.label()))
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
    fn pooled_window_p99_agrees_with_the_whole_run_histogram() {
        // The read-out beside the prediction pools per-window quantiles; over
        // windows that cover the whole run it must agree with the p99 of the
        // run's own histogram.
        for (rate, workers) in [(9.0, 10), (9.8, 10), (4.0, 5), (1.0, 2), (20.0, 20)] {
            let mut e = Engine::new(MMC_TOML).unwrap();
            e.edit(&[
                Edit::number("nodes.clients.arrival.rate", rate).unwrap(),
                Edit::set("nodes.server.workers", workers.into()),
            ])
            .unwrap();
            e.sim.run_until(600 * 1_000_000_000).unwrap();
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
    fn edits_change_the_document_and_the_run_or_nothing() {
        let mut e = Engine::new(MMC_TOML).unwrap();
        e.sim_mut().run_until(10 * 1_000_000_000).unwrap();
        let applied = e
            .edit(&[Edit::set("nodes.server.workers", 12.into())])
            .unwrap();
        assert_eq!(applied, Applied::Live);
        assert_eq!(e.doc().get("nodes.server.workers"), Some(&12.into()));
        assert_eq!(e.snapshot().nodes[0].workers, 12);
        assert_eq!(e.snapshot().t_s, 10.0, "live: the clock keeps running");
        assert_eq!(e.controls.workers.as_ref().unwrap().value, 12);
        // validation refuses, naming the field; nothing changes
        let err = e
            .edit(&[Edit::set("nodes.server.workers", 0.into())])
            .unwrap_err();
        assert!(err.contains("nodes.server.workers"), "{err}");
        assert_eq!(e.doc().get("nodes.server.workers"), Some(&12.into()));
        // the warm-up stays in the document (only the page's run drops it)
        assert_eq!(e.doc().get("warmup_s"), Some(&200.into()));
        assert_eq!(e.scenario().warmup_s, 0.0);
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
