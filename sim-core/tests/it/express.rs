//! The express lane (plain requests to plain services take a shorter code
//! path) is an optimisation only: with it on or off, every shipped scenario,
//! every lesson state and every live toggle gives a byte-identical report.

use crate::support::{all_lessons, repo_root};
use sim_core::lesson::State;
use sim_core::{secs_to_ns, Scenario, Sim};

/// Every scenario under `assets/scenarios`, with its path.
fn shipped() -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    let root = repo_root().join("assets/scenarios");
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                let text = std::fs::read_to_string(&p).unwrap();
                let sc = Scenario::from_toml_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                out.push((p.display().to_string(), sc));
            }
        }
    }
    out
}

/// Every lesson's mistake, fix and variants (name, scenarios).
fn lesson_states() -> Vec<(String, Vec<Scenario>)> {
    all_lessons()
        .into_iter()
        .map(|(l, text)| {
            let mut states = vec![l.scenario(State::Mistake, text.as_deref()).unwrap()];
            if l.toggle.is_some() {
                states.push(l.scenario(State::Fix, text.as_deref()).unwrap());
            }
            for v in l.variants.keys() {
                states.push(l.scenario_variant(v, text.as_deref()).unwrap());
            }
            (l.id.clone(), states)
        })
        .collect()
}

/// Runs `states[0]`, switching live to each next state at equal intervals,
/// to `end_s`; returns the JSON report.
fn report(states: &[Scenario], seed: u64, end_s: f64, express: bool) -> String {
    let mut sim = Sim::new(&states[0], seed).unwrap();
    sim.set_express(express);
    let step = end_s / states.len() as f64;
    for (i, sc) in states.iter().enumerate().skip(1) {
        sim.run_until(secs_to_ns(step * i as f64));
        if sim.reconfigure(sc).is_err() {
            // Not live-changeable: the rest of the run stays as it is.
            break;
        }
    }
    sim.run_for(end_s).to_json()
}

#[test]
fn shipped_scenarios_are_identical_with_and_without_the_express_lane() {
    for (name, sc) in shipped() {
        let end = sc.duration_s.min(300.0);
        for seed in [1, 7] {
            let on = report(std::slice::from_ref(&sc), seed, end, true);
            let off = report(std::slice::from_ref(&sc), seed, end, false);
            assert!(
                on == off,
                "{name} (seed {seed}): the express lane changed the report"
            );
        }
    }
}

#[test]
fn lesson_states_and_live_toggles_are_identical_with_and_without_the_express_lane() {
    for (id, states) in lesson_states() {
        let end = states[0].duration_s.min(180.0);
        // Each state on its own, then all of them toggled live in turn.
        let mut runs: Vec<Vec<Scenario>> = states.iter().map(|s| vec![s.clone()]).collect();
        if states.len() > 1 {
            let mut back = states.clone();
            back.push(states[0].clone());
            runs.push(back);
        }
        for (i, run) in runs.iter().enumerate() {
            let on = report(run, 3, end, true);
            let off = report(run, 3, end, false);
            assert!(
                on == off,
                "{id} (run {i} of {}, seed 3): the express lane changed the report",
                runs.len()
            );
        }
    }
}
