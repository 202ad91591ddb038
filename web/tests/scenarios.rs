//! Every scenario the page embeds must build into a running `Sim` inside the
//! browser (wasm32), and the reducer must switch between them there.
#![cfg(target_arch = "wasm32")]

use sim_core::{Edit, Format, Scenario, ScenarioDoc, Sim};
use wasm_bindgen_test::*;

use web::model::Speed;
use web::scenarios::{self, Group, LiveControls};
use web::state::harness::Harness;
use web::state::Action;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn every_embedded_scenario_builds_and_runs_in_the_browser() {
    assert!(scenarios::all().len() > 10, "{}", scenarios::all().len());
    for g in Group::ALL {
        assert!(scenarios::in_group(g).count() > 0, "{g:?}");
    }
    for e in scenarios::all() {
        let mut sc = Scenario::from_str_any(e.text).unwrap_or_else(|err| panic!("{}: {err}", e.id));
        sc.warmup_s = 0.0;
        let mut sim = Sim::new(&sc, sc.seed).unwrap_or_else(|err| panic!("{}: {err}", e.id));
        // two simulated seconds, bounded so that a heavy one cannot hang the test
        sim.run_until_bounded(2_000_000_000, 2_000_000)
            .unwrap_or_else(|err| panic!("{}: {err}", e.id));
        let snap = sim.snapshot();
        assert!(!snap.nodes.is_empty(), "{}: no nodes", e.id);
        assert!(
            snap.end_to_end.arrived > 0 || snap.events > 0,
            "{}: nothing happened",
            e.id
        );
        // The sliders' far ends, as the page applies them: document edits,
        // validated, then a live reconfiguration.
        let c = LiveControls::from_scenario(&sc);
        let mut edits = Vec::new();
        if let Some(r) = &c.rate {
            edits.push(Edit::number(r.param(), r.max).unwrap());
        }
        if let Some(w) = &c.workers {
            edits.push(Edit::set(w.param(), w.max.into()));
        }
        let mut doc = ScenarioDoc::parse(e.text, Format::sniff(e.text)).unwrap();
        doc.apply_all(&edits)
            .unwrap_or_else(|err| panic!("{}: {err}", e.id));
        let mut edited = doc.build().unwrap_or_else(|err| panic!("{}: {err}", e.id));
        edited.warmup_s = 0.0;
        sim.reconfigure(&edited)
            .unwrap_or_else(|err| panic!("{}: {err}", e.id));
    }
}

#[wasm_bindgen_test]
fn reducer_switches_scenarios_in_the_browser() {
    let mut h = Harness::default();
    h.act(Action::SelectScenario("chain.toml".into()));
    assert_eq!(h.st.scenario_id, "chain.toml");
    assert!(h.st.prediction.is_none());
    h.act(Action::SetSpeed(Speed::X(20)));
    h.frames(10, 50.0);
    let names: Vec<_> = h.a().view.nodes.iter().map(|r| r.name.clone()).collect();
    assert_eq!(names, ["api", "db"]);
    assert!(h.a().view.completed > 0);
}
