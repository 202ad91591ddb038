//! Hostile shapes: small documents that are legal (or nearly) and aim at
//! the host rather than the simulated system, one family per failure that
//! issue #17 lists: deep call chains, thousands of nodes, huge caches,
//! products of legal numbers, zero-time loops, time overflow, overflowing
//! distribution parameters. Sizes are drawn around each known threshold
//! so a fix shows up as the threshold moving.

use super::live;
use crate::case::Plan;
use crate::rng::Gen;
use serde_json::{json, Map, Value};

fn doc(nodes: Map<String, Value>, extra: &[(&str, Value)]) -> Value {
    let mut d = Map::new();
    d.insert("version".into(), json!(1));
    d.insert("name".into(), json!("hostile"));
    d.insert("duration_s".into(), json!(30));
    for (k, v) in extra {
        d.insert(k.to_string(), v.clone());
    }
    d.insert("nodes".into(), Value::Object(nodes));
    Value::Object(d)
}

fn source(target: &str, arrival: Value) -> Value {
    json!({ "kind": "source", "target": target, "arrival": arrival })
}

fn poisson(rate: f64) -> Value {
    json!({ "process": "poisson", "rate": rate })
}

fn exp(mean_s: f64) -> Value {
    json!({ "dist": "exponential", "mean_s": mean_s })
}

/// The families, by name, for `--only hostile:NAME` and the notes.
pub const FAMILIES: [&str; 14] = [
    "amdahl-partition",
    "zero-duration",
    "deep-chain",
    "many-nodes",
    "warm-cache",
    "overload",
    "nested-repeat",
    "fan-out",
    "retry-layers",
    "poison-loop",
    "closed-zero",
    "breaker-timeout",
    "time-overflow",
    "lognormal-cv",
];

/// A hostile case: (document, note, plan adjustments).
pub fn case(g: &mut Gen) -> (Value, String, Option<u64>) {
    let family = *g.pick(&FAMILIES);
    family_case(g, family)
}

pub fn family_case(g: &mut Gen, family: &str) -> (Value, String, Option<u64>) {
    let mut nodes = Map::new();
    match family {
        "deep-chain" => {
            let n = *g.pick(&[1_000u64, 5_000, 28_000, 32_000, 60_000, 100_000, 200_000]);
            for i in 0..n {
                let next = if i + 1 < n {
                    json!([ { "call": { "to": format!("s{}", i + 1) } } ])
                } else {
                    json!([ { "compute": exp(0.001) } ])
                };
                nodes.insert(format!("s{i}"), json!({ "kind": "service", "steps": next }));
            }
            nodes.insert("src".into(), source("s0", poisson(10.0)));
            (
                doc(nodes, &[]),
                format!("deep-chain: a call chain of {n} services"),
                None,
            )
        }
        "many-nodes" => {
            let n = *g.pick(&[500u64, 1_000, 3_000, 10_000]);
            let calls: Vec<Value> = (0..n.min(32))
                .map(|i| json!({ "call": { "to": format!("n{i}") } }))
                .collect();
            for i in 0..n {
                nodes.insert(
                    format!("n{i}"),
                    json!({ "kind": "service", "service": exp(0.001) }),
                );
            }
            nodes.insert(
                "api".into(),
                json!({ "kind": "service", "steps": [ { "parallel": calls } ] }),
            );
            nodes.insert("src".into(), source("api", poisson(10.0)));
            (
                doc(nodes, &[]),
                format!("many-nodes: {n} idle services"),
                None,
            )
        }
        "warm-cache" => {
            let warm = *g.pick(&[100_000u64, 1_000_000, 3_000_000, 10_000_000]);
            let read = json!({ "cache_read": { "cache": "c", "key": { "space": "k", "n": 100_000_000 },
                "on_miss": [ { "compute": exp(0.001) } ] } });
            nodes.insert("c".into(), json!({ "kind": "cache", "warm": warm }));
            nodes.insert(
                "api".into(),
                json!({ "kind": "service", "workers": 8, "steps": [read] }),
            );
            nodes.insert("src".into(), source("api", poisson(10.0)));
            (
                doc(nodes, &[]),
                format!("warm-cache: a cache warmed with {warm} keys"),
                None,
            )
        }
        "overload" => {
            let rate = *g.pick(&[1e4, 1e5, 1e6]);
            nodes.insert(
                "api".into(),
                json!({ "kind": "service", "workers": 1, "service": exp(1.0) }),
            );
            nodes.insert("src".into(), source("api", poisson(rate)));
            let d = doc(nodes, &[("duration_s", json!(600))]);
            let note = format!("overload: {rate}/s into one worker of 1 s, unbounded queue");
            (d, note, Some(20_000_000))
        }
        "nested-repeat" => {
            let n = *g.pick(&[1_000u64, 100_000, 1_000_000]);
            let inner = json!({ "repeat": { "count": n, "steps": [ { "compute": { "dist": "constant", "value_s": 1e-6 } } ] } });
            let outer = json!({ "repeat": { "count": n, "steps": [inner] } });
            nodes.insert("api".into(), json!({ "kind": "service", "steps": [outer] }));
            nodes.insert("src".into(), source("api", poisson(1.0)));
            (
                doc(nodes, &[]),
                format!("nested-repeat: repeat {n} x repeat {n} of a compute"),
                None,
            )
        }
        "fan-out" => {
            let n = *g.pick(&[10_000u64, 100_000, 1_000_000]);
            let call = json!({ "call": { "to": "dep", "count": n, "parallel": true } });
            nodes.insert("api".into(), json!({ "kind": "service", "steps": [call] }));
            nodes.insert(
                "dep".into(),
                json!({ "kind": "external", "latency": exp(0.01) }),
            );
            nodes.insert("src".into(), source("api", poisson(1.0)));
            (
                doc(nodes, &[]),
                format!("fan-out: one request calls {n} in parallel"),
                None,
            )
        }
        "retry-layers" => retry_layers(g),
        _ => loops_and_numbers(g, family),
    }
}

fn retry_layers(g: &mut Gen) -> (Value, String, Option<u64>) {
    let layers = g.int(2, 4);
    let mut nodes = Map::new();
    for i in 0..layers {
        let call = json!({ "call": { "to": format!("l{}", i + 1), "retries": { "max": 20 } } });
        nodes.insert(
            format!("l{i}"),
            json!({ "kind": "service", "workers": 64, "steps": [call] }),
        );
    }
    nodes.insert(
        format!("l{layers}"),
        json!({ "kind": "external", "latency": exp(0.001), "error_rate": 1.0 }),
    );
    nodes.insert("src".into(), source("l0", poisson(10.0)));
    let note = format!("retry-layers: {layers} layers of 20 retries over a failing dependency (21^{layers} attempts)");
    (doc(nodes, &[]), note, None)
}

fn loops_and_numbers(g: &mut Gen, family: &str) -> (Value, String, Option<u64>) {
    let mut nodes = Map::new();
    let zero = json!({ "dist": "constant", "value_s": 0 });
    match family {
        "poison-loop" => {
            let publish = json!({ "publish": { "broker": "q" } });
            nodes.insert(
                "api".into(),
                json!({ "kind": "service", "steps": [publish] }),
            );
            nodes.insert(
                "q".into(),
                json!({ "kind": "broker", "process": zero,
                "poison_rate": 1.0, "redelivery_s": 0 }),
            );
            nodes.insert("src".into(), source("api", poisson(1.0)));
            (
                doc(nodes, &[]),
                "poison-loop: poison messages redelivered after 0 s, processed in 0 s".into(),
                None,
            )
        }
        "closed-zero" => {
            let users = *g.pick(&[1u64, 10, 100]);
            nodes.insert("dep".into(), json!({ "kind": "external", "latency": zero }));
            nodes.insert(
                "src".into(),
                source(
                    "dep",
                    json!({ "process": "closed", "users": users, "think": zero }),
                ),
            );
            (
                doc(nodes, &[]),
                format!("closed-zero: {users} users, 0 s think time, a 0 s dependency"),
                None,
            )
        }
        "breaker-timeout" => {
            let mut src = source("api", poisson(*g.pick(&[10.0, 100.0])));
            src["timeout_s"] = json!(0.01);
            src["breaker"] = json!({ "failure_ratio": 0.5, "min_calls": 5, "window": 20, "open_s": 1, "half_open_calls": 1 });
            nodes.insert("src".into(), src);
            nodes.insert(
                "api".into(),
                json!({ "kind": "service", "workers": 4, "service": exp(0.02) }),
            );
            (
                doc(nodes, &[]),
                "breaker-timeout: a source with timeout_s = 0.01 and a breaker, no fault".into(),
                None,
            )
        }
        "time-overflow" => time_overflow(g),
        "amdahl-partition" => {
            let a = super::assets::assets();
            let doc = a
                .scenarios
                .iter()
                .find(|s| s.name.ends_with("THEORY-AMDAHL.toml"));
            let mut d = doc.map_or(Value::Null, |s| s.doc.clone());
            d["faults"] =
                json!([ { "kind": "partition", "target": "clients", "peer": "api", "at_s": 1 } ]);
            d["duration_s"] = json!(30);
            (
                d,
                "amdahl-partition: THEORY-AMDAHL with a partition between clients and api".into(),
                None,
            )
        }
        "zero-duration" => {
            let tiny = *g.pick(&[1e-10, 1e-12]);
            nodes.insert(
                "api".into(),
                json!({ "kind": "service", "service": exp(0.01) }),
            );
            nodes.insert("src".into(), source("api", poisson(10.0)));
            (
                doc(nodes, &[("duration_s", json!(tiny))]),
                format!("zero-duration: duration_s = {tiny:e}"),
                None,
            )
        }
        _ => {
            let cv = *g.pick(&[1e10, 1e100, 1e155, 1e300]);
            let svc = json!({ "kind": "service", "service": { "dist": "lognormal", "mean_s": 0.01, "cv": cv } });
            nodes.insert("api".into(), svc);
            nodes.insert("src".into(), source("api", poisson(10.0)));
            (
                doc(nodes, &[]),
                format!("lognormal-cv: a lognormal service time with cv = {cv:e}"),
                None,
            )
        }
    }
}

fn time_overflow(g: &mut Gen) -> (Value, String, Option<u64>) {
    let mut nodes = Map::new();
    nodes.insert(
        "api".into(),
        json!({ "kind": "service", "workers": 2, "service": exp(0.01) }),
    );
    nodes.insert("src".into(), source("api", poisson(10.0)));
    let big = *g.pick(&[1.8e10, 1.85e10, 1e12, 1e300]);
    let tiny = *g.pick(&[1e-9, 1e-10, 1e-12]);
    let (mut d, note) = match g.int(0, 4) {
        0 => (
            doc(nodes, &[("duration_s", json!(big))]),
            format!("duration_s = {big:e}"),
        ),
        1 => (
            doc(nodes, &[("metrics", json!({ "window_s": tiny }))]),
            format!("metrics.window_s = {tiny:e}"),
        ),
        2 => {
            nodes.get_mut("api").unwrap()["autoscale"] = json!({ "metric": "utilisation",
                "target": 0.5, "min": 1, "max": 4, "interval_s": tiny });
            (doc(nodes, &[]), format!("autoscale.interval_s = {tiny:e}"))
        }
        3 => {
            let f = json!([ { "kind": "slow", "target": "api", "at_s": 1, "duration_s": big, "factor": 2 } ]);
            (
                doc(nodes, &[("faults", f)]),
                format!("faults[0].duration_s = {big:e}"),
            )
        }
        _ => {
            nodes.get_mut("src").unwrap()["timeout_s"] = json!(big);
            (doc(nodes, &[]), format!("src.timeout_s = {big:e}"))
        }
    };
    if g.chance(0.3) {
        live::schedule_faults(&mut super::values::Values { g, edge: 0.0 }, &mut d, 30.0);
    }
    (d, format!("time-overflow: {note}"), None)
}

/// A plan for a hostile case: short, no live edits (the shape is the test).
pub fn plan(horizon_s: f64, max_work: Option<u64>) -> Plan {
    Plan {
        horizon_s,
        actions: Vec::new(),
        observe_a: vec![horizon_s / 2.0],
        observe_b: vec![horizon_s / 3.0],
        same_at_s: horizon_s / 4.0,
        max_work,
    }
}
