//! Determinism: same scenario and seed give byte-identical reports; streams
//! are independent per node; native output is pinned by a fixture that the
//! WebAssembly test (web/tests) compares against too.

use crate::support::*;
use sim_core::{Scenario, Sim};

fn fixture_path(name: &str) -> std::path::PathBuf {
    repo_root().join("sim-core/tests/fixtures").join(name)
}

/// The fixture report: the fixture scenario run with its own seed and
/// duration.
fn fixture_report_json() -> String {
    let text = std::fs::read_to_string(fixture_path("determinism.toml")).unwrap();
    let sc = Scenario::from_toml_str(&text).unwrap();
    let mut sim = Sim::new(&sc, sc.seed).unwrap();
    let r = sim.run_for(sc.duration_s).unwrap();
    assert!(r.conservation.ok, "{:?}", r.conservation.violations);
    r.to_json()
}

#[test]
fn same_seed_same_bytes() {
    let a = fixture_report_json();
    let b = fixture_report_json();
    assert_eq!(a, b);
}

#[test]
fn native_report_matches_fixture() {
    // The same bytes must come out of the wasm build (web/tests/determinism.rs).
    // Regenerate deliberately with UPDATE_FIXTURES=1 when the engine changes
    // on purpose, and say why in the commit.
    let got = fixture_report_json();
    let path = fixture_path("determinism.json");
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "report differs from {} (run with UPDATE_FIXTURES=1 if the change is intended)",
        path.display()
    );
}

#[test]
fn different_seeds_differ() {
    let sc = scenario_with(
        &asset("mmc.toml"),
        &[("duration_s", "200"), ("warmup_s", "0")],
    );
    assert_ne!(run(&sc, 1).to_json(), run(&sc, 2).to_json());
}

#[test]
fn changing_one_node_leaves_other_streams_alone() {
    // Change the db's service time and worker count: the clients' arrival
    // stream must be untouched, so arrivals per window are identical. (A
    // shared RNG would shift every later arrival.)
    let base = scenario_with(
        &asset("chain.toml"),
        &[("duration_s", "300"), ("nodes.clients.timeout_s", "1000")],
    );
    let changed = scenario_with(
        &asset("chain.toml"),
        &[
            ("duration_s", "300"),
            ("nodes.clients.timeout_s", "1000"),
            ("nodes.db.workers", "9"),
            (
                "nodes.db.service",
                r#"{"dist": "exponential", "mean_s": 0.02}"#,
            ),
        ],
    );
    let (a, b) = (run(&base, 5), run(&changed, 5));
    let arrivals = |r: &sim_core::Report| {
        r.series
            .windows
            .iter()
            .map(|w| w.arrived)
            .collect::<Vec<_>>()
    };
    assert_eq!(arrivals(&a), arrivals(&b));
    assert_eq!(a.nodes["api"].arrived, b.nodes["api"].arrived);
    // ... while the db really did change.
    assert_ne!(a.nodes["db"].sojourn_s, b.nodes["db"].sojourn_s);
}

#[test]
fn snapshot_mid_run_does_not_perturb() {
    // Reading snapshots (what the page does every frame) must not change the
    // run.
    let sc = scenario_with(&asset("chain.toml"), &[("duration_s", "100")]);
    let mut a = Sim::new(&sc, 1).unwrap();
    let mut b = Sim::new(&sc, 1).unwrap();
    for k in 1..=100u64 {
        a.run_until(k * 1_000_000_000).unwrap();
        let _ = a.snapshot();
        let _ = a.windows();
    }
    b.run_until(100 * 1_000_000_000).unwrap();
    assert_eq!(a.report().to_json(), b.report().to_json());
}
