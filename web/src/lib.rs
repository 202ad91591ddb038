//! tailsim's browser front end: the live sandbox. It opens on the M/M/c
//! model and runs any shipped scenario ([`scenarios`]).
//!
//! Pure logic (reducer, formatting, chart data, theory overlay, benchmark)
//! compiles and is tested natively; the DOM parts are `wasm32`-only.
//!
//! Exports reachable from JavaScript as `window.wasmBindings.<name>` in the
//! trunk-built page: `bench_run` (a promise: the engine's worker runs
//! [`bench_run`]), [`tailsim_version`], and `tailsim_test_panic` (used by
//! the end-to-end test of the error panel). The page's own wasm has no
//! engine: the simulation runs in the worker (`tailsim-worker`), and on the
//! page's thread only in builds with the `main-thread-engine` feature (the
//! in-browser tests).

// `!(x > 0.0)` is deliberate throughout: it is also true for NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod charts;
pub mod classroom;
pub mod clock;
pub mod dashboard;
pub mod editor;
#[cfg(target_arch = "wasm32")]
pub mod embed;
pub mod engine;
pub mod export;
pub mod files;
pub mod host;
pub mod lessons;
pub mod model;
pub mod persist;
pub mod protocol;
pub mod scenarios;
pub mod seed_check;
pub mod share;
pub mod state;
pub mod teach;
pub mod traces;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod bench_bridge;
#[cfg(target_arch = "wasm32")]
pub mod panic;
#[cfg(target_arch = "wasm32")]
pub mod transport;

use sim_core::{Report, Scenario, Sim};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

/// Mounts the live page into `<div id="app">` (or `<body>`), after installing
/// the panic hook that replaces a dead page with an error panel.
#[cfg(target_arch = "wasm32")]
pub fn start() {
    start_with(app::StartOptions::default());
}

/// Mounts the page with explicit options (tests run the engine on the main
/// thread: their harness serves no worker script).
#[cfg(target_arch = "wasm32")]
pub fn start_with(options: app::StartOptions) {
    panic::install();
    let root = gloo::utils::document().get_element_by_id("app");
    // Workshops (`?workshop`, `#w=`, `?join`) mount the classroom instead.
    let href = gloo::utils::window().location().href().unwrap_or_default();
    if let (Some(route), Some(el)) = (classroom::route(&href), root.clone()) {
        classroom::mount(el, route);
        return;
    }
    let props = app::AppProps { options };
    match root {
        Some(el) => {
            el.set_inner_html("");
            yew::Renderer::<app::App>::with_root_and_props(el, props).render();
        }
        None => {
            yew::Renderer::<app::App>::with_props(props).render();
        }
    }
}

/// The crate version, for the page's diagnostics.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
pub fn tailsim_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Deliberately panics: lets the end-to-end test check that a panic shows
/// the error panel instead of a dead page.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
pub fn tailsim_test_panic(message: &str) {
    panic!("test panic requested: {message}");
}

/// Arrivals plus departures: the unit of "events" used to compare with other
/// simulators (one arrival or one departure), independent of how many
/// internal events (windows, warm-up) the engine schedules: end-to-end
/// arrivals plus every service node's completions, since t = 0.
pub fn arrivals_departures(report: &Report) -> u64 {
    let completions: u64 = report.nodes.values().map(|n| n.completed).sum();
    report.end_to_end.arrived + completions
}

/// Builds `scenario_toml`, runs it for `duration_s` simulated seconds and
/// times it with `performance.now()` (a monotonic clock natively). Returns
/// JSON: `{"events", "arrivals_departures", "wall_s", "events_per_s"}`, or
/// `{"error": "..."}` if the scenario is invalid. The page's JavaScript
/// export of the same name asks the engine's worker to run it
/// ([`bench_bridge`]).
pub fn bench_run(scenario_toml: &str, duration_s: f64) -> String {
    match bench(scenario_toml, duration_s) {
        Ok(v) => v.to_string(),
        Err(e) => serde_json::json!({ "error": e }).to_string(),
    }
}

fn bench(scenario_toml: &str, duration_s: f64) -> Result<serde_json::Value, String> {
    if !(duration_s.is_finite() && duration_s >= 0.0) {
        return Err(format!(
            "duration_s must be a finite number >= 0, got {duration_s}"
        ));
    }
    let sc = Scenario::from_toml_str(scenario_toml).map_err(|e| e.to_string())?;
    let t0 = clock::now_ms();
    let mut sim = Sim::new(&sc, sc.seed).map_err(|e| e.to_string())?;
    // The same windowing as the CLI (`tailsim run`), so both measure the
    // same work.
    sim.auto_window(duration_s);
    sim.run_until(sim_core::secs_to_ns(duration_s))
        .map_err(|e| e.to_string())?;
    let wall_s = (clock::now_ms() - t0) / 1e3;
    let report = sim.report();
    let ad = arrivals_departures(&report);
    let per_s = if wall_s > 0.0 {
        ad as f64 / wall_s
    } else {
        0.0
    };
    Ok(serde_json::json!({
        "events": report.events,
        "arrivals_departures": ad,
        "wall_s": wall_s,
        "events_per_s": per_s,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_run_reports_events_and_rate() {
        let out: serde_json::Value =
            serde_json::from_str(&bench_run(engine::MMC_TOML, 200.0)).unwrap();
        let ad = out["arrivals_departures"].as_u64().unwrap();
        // 9 req/s for 200 s: ~1800 arrivals and about as many departures
        assert!(ad > 3_000 && ad < 4_200, "{out}");
        assert!(out["events"].as_u64().unwrap() >= ad / 2, "{out}");
        assert!(out["wall_s"].as_f64().unwrap() >= 0.0);
        assert!(out["events_per_s"].as_f64().is_some());
    }

    #[test]
    fn bench_run_reports_bad_input_as_json() {
        let out: serde_json::Value = serde_json::from_str(&bench_run("garbage [", 1.0)).unwrap();
        assert!(out["error"].as_str().is_some(), "{out}");
        let out: serde_json::Value =
            serde_json::from_str(&bench_run(engine::MMC_TOML, f64::NAN)).unwrap();
        assert!(out["error"].as_str().is_some(), "{out}");
    }

    #[test]
    fn test_panic_export_panics() {
        let err = std::panic::catch_unwind(|| tailsim_test_panic("x")).unwrap_err();
        let msg = err
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(msg.contains("test panic requested"), "{msg}");
    }
}
