//! Times the hand-written M/M/c loop of [`sim_core::reference`] on the model
//! of `assets/scenarios/mmc.toml`: the floor that `cargo xtask bench` sets
//! beside the engine (same streams, same numbers, none of the engine).
//!
//!     cargo run --release -p sim-core --example mmc_loop -- 111111.111
//!
//! Arguments: the duration in simulated seconds (default 111111.111, about
//! a million customers) and the warm-up (default 200, as in mmc.toml).
//! Prints one JSON line.

use sim_core::reference::Mmc;

fn arg(i: usize, default: f64, name: &str) -> f64 {
    match std::env::args().nth(i) {
        None => default,
        Some(s) => match s.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => x,
            _ => {
                eprintln!("mmc_loop: the {name} must be a number of seconds >= 0, not {s:?}");
                std::process::exit(2);
            }
        },
    }
}

fn main() {
    // mmc.toml: Poisson 9/s from `clients` into `server`, 10 workers,
    // exponential service of mean 1 s, seed 1.
    let model = Mmc {
        seed: 1,
        source: "clients",
        service: "server",
        rate: 9.0,
        workers: 10,
        service_mean_s: 1.0,
        duration_s: arg(1, 111_111.111, "duration"),
        warmup_s: arg(2, 200.0, "warm-up"),
    };
    let started = std::time::Instant::now();
    let r = model.run();
    let wall_s = started.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "peer": "hand-written loop",
        "customers": r.arrived,
        "events": r.events,
        "wall_s": wall_s,
        "events_per_s": r.events as f64 / wall_s,
        "wait_mean_s": r.wait_mean_s,
        "wait_p99_s": r.wait_p99_s,
        "latency_p99_s": r.latency_p99_s,
        "utilisation": r.utilisation,
    });
    println!("{out}");
}
