//! The WebAssembly build must produce byte-for-byte the report that the
//! native build pins in `sim-core/tests/fixtures/determinism.json` (checked
//! natively by sim-core's `native_report_matches_fixture`).
#![cfg(target_arch = "wasm32")]

use sim_core::{Scenario, Sim};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const SCENARIO: &str = include_str!("../../sim-core/tests/fixtures/determinism.toml");
const NATIVE_REPORT: &str = include_str!("../../sim-core/tests/fixtures/determinism.json");

fn first_difference(a: &str, b: &str) -> String {
    let i = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let ctx = |s: &str| {
        s.get(i.saturating_sub(80)..(i + 80).min(s.len()))
            .unwrap_or("")
            .to_string()
    };
    format!(
        "first difference at byte {i} (wasm {} bytes, native {} bytes)\nwasm:   …{}…\nnative: …{}…",
        a.len(),
        b.len(),
        ctx(a),
        ctx(b)
    )
}

#[wasm_bindgen_test]
fn wasm_report_matches_native_fixture() {
    let sc = Scenario::from_toml_str(SCENARIO).expect("fixture scenario builds");
    let mut sim = Sim::new(&sc, sc.seed).expect("fixture scenario lowers");
    let report = sim.run_for(sc.duration_s).unwrap();
    assert!(
        report.conservation.ok,
        "{:?}",
        report.conservation.violations
    );
    let got = report.to_json();
    assert!(
        got == NATIVE_REPORT,
        "{}",
        first_difference(&got, NATIVE_REPORT)
    );
}

#[wasm_bindgen_test]
fn same_seed_same_bytes_in_the_browser() {
    let sc = Scenario::from_toml_str(SCENARIO).unwrap();
    let a = Sim::new(&sc, 7).unwrap().run_for(30.0).unwrap().to_json();
    let b = Sim::new(&sc, 7).unwrap().run_for(30.0).unwrap().to_json();
    assert_eq!(a, b);
}
