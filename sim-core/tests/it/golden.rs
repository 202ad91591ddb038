//! Golden reports: a broad corpus of runs (every shipped scenario, every
//! lesson state and live toggle, live faults of every kind, live edits)
//! whose JSON reports are pinned by hash in `tests/fixtures/golden.txt`.
//!
//! The engine may be restructured freely; its numbers may not move unless a
//! change means them to. Regenerate with `UPDATE_FIXTURES=1` only for such a
//! change, and say in the commit which runs moved and why. With
//! `GOLDEN_DUMP=DIR` every report is also written to `DIR/<name>.json`, so
//! two builds' reports can be diffed field by field.

use crate::support::{all_lessons, repo_root};
use sim_core::lesson::State;
use sim_core::spec::{FaultAction, FaultSpec};
use sim_core::{secs_to_ns, Format, Scenario, ScenarioDoc, Sim};

/// FNV-1a, 64 bits: stable across platforms and releases.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every scenario under `assets/scenarios`, with its file stem path.
fn shipped() -> Vec<(String, Scenario)> {
    let root = repo_root().join("assets/scenarios");
    let mut out = Vec::new();
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
                let name = p.strip_prefix(&root).unwrap().display().to_string();
                out.push((name.trim_end_matches(".toml").replace('/', "_"), sc));
            }
        }
    }
    out
}

/// Runs `states[0]`, switching live to each next state at equal intervals
/// (a refused switch ends the switching), to `end_s`.
fn live_run(states: &[Scenario], seed: u64, end_s: f64) -> String {
    let mut sim = Sim::new(&states[0], seed).unwrap();
    let step = end_s / states.len() as f64;
    for (i, sc) in states.iter().enumerate().skip(1) {
        sim.run_until(secs_to_ns(step * i as f64)).unwrap();
        if sim.reconfigure(sc).is_err() {
            break;
        }
    }
    sim.run_for(end_s).unwrap().to_json()
}

/// Runs `sc` to a third of `end_s`, injects `fault` live, runs to the end.
fn fault_run(sc: &Scenario, fault: FaultSpec, seed: u64, end_s: f64) -> String {
    let mut sim = Sim::new(sc, seed).unwrap();
    sim.run_until(secs_to_ns(end_s / 3.0)).unwrap();
    let _ = sim.inject_fault(fault);
    sim.run_for(end_s).unwrap().to_json()
}

/// The faults a page's buttons and a scenario can inject on `target`.
fn faults(target: &str, peer: &str) -> Vec<(&'static str, FaultAction)> {
    let _ = target;
    vec![
        ("crash", FaultAction::Crash {}),
        ("hang", FaultAction::Hang {}),
        (
            "restart",
            FaultAction::Restart {
                drain: true,
                down_s: 5.0,
            },
        ),
        ("slow", FaultAction::Slow { factor: 4.0 }),
        ("errors", FaultAction::Errors { p: 0.3 }),
        ("steal", FaultAction::NoisyNeighbour { steal: 0.5 }),
        (
            "partition",
            FaultAction::Partition {
                peer: peer.to_string(),
            },
        ),
        ("flush", FaultAction::Flush {}),
        ("scale", FaultAction::Scale { replicas: 3 }),
        ("spike", FaultAction::Spike { factor: 2.5 }),
    ]
}

/// (name, report JSON) for every run of the corpus.
fn corpus() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, sc) in shipped() {
        let end = sc.duration_s.min(300.0);
        for seed in [1, 7] {
            out.push((
                format!("scenario.{name}.seed{seed}"),
                live_run(std::slice::from_ref(&sc), seed, end),
            ));
        }
    }
    for (l, text) in all_lessons() {
        let mut states = vec![l.scenario(State::Mistake, text.as_deref()).unwrap()];
        if l.toggle.is_some() {
            states.push(l.scenario(State::Fix, text.as_deref()).unwrap());
        }
        for v in l.variants.keys() {
            states.push(l.scenario_variant(v, text.as_deref()).unwrap());
        }
        let end = states[0].duration_s.min(180.0);
        for (i, s) in states.iter().enumerate() {
            out.push((
                format!("lesson.{}.state{i}", l.id),
                live_run(std::slice::from_ref(s), 3, end),
            ));
        }
        if states.len() > 1 {
            let mut back = states.clone();
            back.push(states[0].clone());
            out.push((format!("lesson.{}.live", l.id), live_run(&back, 3, end)));
        }
    }
    // Live faults on every node of a few shipped topologies.
    for (name, sc) in shipped() {
        if !["chain", "case-study-checkout", "mmc"].contains(&name.as_str()) {
            continue;
        }
        let end = sc.duration_s.min(120.0);
        let names: Vec<String> = sc.nodes.keys().cloned().collect();
        for (k, target) in names.iter().enumerate() {
            let peer = &names[(k + 1) % names.len()];
            for (fname, action) in faults(target, peer) {
                let f = FaultSpec {
                    at_s: 0.0,
                    duration_s: Some(end / 3.0),
                    target: target.clone(),
                    replica: None,
                    action,
                };
                out.push((
                    format!("fault.{name}.{target}.{fname}"),
                    fault_run(&sc, f, 5, end),
                ));
            }
        }
    }
    // Live edits of the kind the page's sliders make, applied as documents.
    let text = std::fs::read_to_string(repo_root().join("assets/scenarios/mmc.toml")).unwrap();
    let edited = |sets: &[(&str, &str)]| {
        let mut d = ScenarioDoc::parse(&text, Format::Toml).unwrap();
        for (p, v) in sets {
            d.set(p, v).unwrap();
        }
        d.build().unwrap()
    };
    let states = vec![
        edited(&[]),
        edited(&[("nodes.clients.arrival.rate", "9.8")]),
        edited(&[
            ("nodes.clients.arrival.rate", "9.8"),
            ("nodes.server.workers", "12"),
        ]),
        edited(&[("nodes.server.workers", "8")]),
    ];
    out.push(("edits.mmc".to_string(), live_run(&states, 11, 400.0)));
    out
}

#[test]
fn reports_match_the_golden_hashes() {
    let dump = std::env::var_os("GOLDEN_DUMP").map(std::path::PathBuf::from);
    let mut lines = Vec::new();
    for (name, json) in corpus() {
        if let Some(dir) = &dump {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{name}.json")), &json).unwrap();
        }
        lines.push(format!("{name} {:016x}", fnv(json.as_bytes())));
    }
    let got = lines.join("\n") + "\n";
    let path = repo_root().join("sim-core/tests/fixtures/golden.txt");
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    let moved: Vec<&str> = got
        .lines()
        .zip(want.lines().chain(std::iter::repeat("")))
        .filter(|(g, w)| g != w)
        .map(|(g, _)| g.split(' ').next().unwrap())
        .collect();
    assert!(
        got == want,
        "{} of {} golden reports moved (first: {:?}); diff them with GOLDEN_DUMP=DIR, \
         or regenerate with UPDATE_FIXTURES=1 if the change is meant",
        moved.len().max(1),
        lines.len(),
        &moved[..moved.len().min(8)]
    );
}
