//! The rules, and that every number is checked against the bounds table.

use super::*;
use crate::scenario::{bounds, Scenario, ScenarioDoc};

#[test]
fn resilience_specs_name_the_field() {
    let first = |r: Result<(), ScenarioError>| r.unwrap_err().path;
    let b = |base_s, max_s, multiplier| BackoffSpec {
        base_s,
        max_s,
        multiplier,
        jitter: Jitter::None,
    };
    assert!(b(0.01, 1.0, 2.0).validate().is_ok());
    assert_eq!(first(b(0.0, 1.0, 2.0).validate()), "backoff.base_s");
    assert_eq!(first(b(f64::NAN, 1.0, 2.0).validate()), "backoff.base_s");
    assert_eq!(first(b(0.1, 0.01, 2.0).validate()), "backoff.max_s");
    assert_eq!(first(b(0.1, 1.0, 0.5).validate()), "backoff.multiplier");

    let r = |ratio, min_per_s, ttl_s| RetryBudgetSpec {
        ratio,
        min_per_s,
        ttl_s,
    };
    assert!(r(0.1, 10.0, 10.0).validate().is_ok());
    assert!(r(0.0, 0.0, 10.0).validate().is_ok());
    assert_eq!(first(r(-0.1, 1.0, 10.0).validate()), "budget.ratio");
    assert_eq!(first(r(0.1, -1.0, 10.0).validate()), "budget.min_per_s");
    assert_eq!(first(r(0.1, 1.0, 0.0).validate()), "budget.ttl_s");

    let br = |failure_ratio, min_calls, window, open_s, half_open_calls| BreakerSpec {
        failure_ratio,
        min_calls,
        window,
        open_s,
        half_open_calls,
    };
    assert!(br(0.5, 5, 10, 1.0, 1).validate().is_ok());
    assert!(br(1.0, 1, 1, 0.0, 1).validate().is_ok());
    assert_eq!(
        first(br(0.0, 5, 10, 1.0, 1).validate()),
        "breaker.failure_ratio"
    );
    assert_eq!(
        first(br(1.5, 5, 10, 1.0, 1).validate()),
        "breaker.failure_ratio"
    );
    assert_eq!(
        first(br(0.5, 0, 10, 1.0, 1).validate()),
        "breaker.min_calls"
    );
    assert_eq!(
        first(br(0.5, 11, 10, 1.0, 1).validate()),
        "breaker.min_calls"
    );
    assert_eq!(first(br(0.5, 5, 0, 1.0, 1).validate()), "breaker.window");
    assert_eq!(first(br(0.5, 5, 10, -1.0, 1).validate()), "breaker.open_s");
    assert_eq!(
        first(br(0.5, 5, 10, 1.0, 0).validate()),
        "breaker.half_open_calls"
    );

    let t = |rate, burst| TokenBucketSpec { rate, burst };
    assert!(t(100.0, 1.0).validate().is_ok());
    assert_eq!(first(t(0.0, 1.0).validate()), "rate_limit.rate");
    assert_eq!(first(t(1e10, 1.0).validate()), "rate_limit.rate");
    assert_eq!(first(t(1.0, 0.5).validate()), "rate_limit.burst");
    assert_eq!(
        first(
            LeakyBucketSpec {
                rate: -1.0,
                capacity: 1
            }
            .validate()
        ),
        "rate_limit.rate"
    );
}

#[test]
fn distributions_name_the_field() {
    let e = DistSpec::exponential(-1.0).validate().unwrap_err();
    assert_eq!(e.path, "mean_s", "{e}");
    let e = DistSpec::Mixture {
        p_slow: 0.5,
        fast: Box::new(DistSpec::constant(1.0)),
        slow: Box::new(DistSpec::Uniform {
            min_s: 2.0,
            max_s: 1.0,
        }),
    }
    .validate()
    .unwrap_err();
    assert_eq!(e.path, "slow.max_s", "{e}");
}

const BASE: &str = r#"
version = 1
[nodes.c]
kind = "source"
target = "s"
arrival = { process = "poisson", rate = 1 }
[nodes.s]
kind = "service"
service = { dist = "constant", value_s = 0.01 }
"#;

fn refused(edits: &[(&str, &str)]) -> ScenarioError {
    let mut d = ScenarioDoc::parse(BASE, crate::Format::Toml).unwrap();
    for (p, v) in edits {
        d.set(p, v).unwrap();
    }
    d.build().unwrap_err()
}

#[test]
fn names_in_paths_are_plain() {
    let e = refused(&[("nodes.s.pools", r#"{"a.b": {"size": 2}}"#)]);
    assert_eq!(e.path, "nodes.s.pools.a.b", "{e}");
    assert!(e.message.contains("letters, digits"), "{e}");
    let e = refused(&[("nodes.s.endpoints", r#"{"x y": {"steps": []}}"#)]);
    assert_eq!(e.path, "nodes.s.endpoints.x y", "{e}");
}

#[test]
fn handlers_are_bounded_in_size_and_depth() {
    let step = r#"{"compute": {"dist": "constant", "value_s": 0.001}}"#;
    let many = format!("[{}]", vec![step; 1001].join(","));
    let e = refused(&[("nodes.s.service", "null"), ("nodes.s.steps", &many)]);
    assert_eq!(e.path, "nodes.s.steps", "{e}");
    assert!(e.message.contains("at most 1000 steps"), "{e}");
    // repeat inside repeat, five deep
    let mut nested = step.to_string();
    for _ in 0..5 {
        nested = format!(r#"{{"repeat": {{"count": 1, "steps": [{nested}]}}}}"#);
    }
    let e = refused(&[
        ("nodes.s.service", "null"),
        ("nodes.s.steps", &format!("[{nested}]")),
    ]);
    assert!(e.message.contains("nest too deeply"), "{e}");
    assert!(
        e.path.starts_with("nodes.s.steps[0].repeat.steps[0]"),
        "{e}"
    );
}

#[test]
fn every_number_is_checked_against_its_bounds_entry() {
    // One range check per field, with the table's words.
    for (path, value) in [
        ("nodes.s.workers", "0"),
        ("nodes.s.replicas", "1001"),
        ("nodes.c.arrival.rate", "0"),
        ("nodes.s.queue.capacity", "100000001"),
        ("nodes.s.service.value_s", "-1"),
        ("nodes.c.timeout_s", "0"),
    ] {
        let e = refused(&[(path, value)]);
        assert_eq!(e.path, path, "{e}");
        let b = bounds(path).unwrap();
        assert_eq!(
            e.message,
            format!(
                "must be {}, got {}",
                b.describe(),
                value.parse::<f64>().unwrap()
            )
        );
    }
    // The limits themselves are accepted.
    let mut d = ScenarioDoc::parse(BASE, crate::Format::Toml).unwrap();
    d.set("nodes.s.workers", "100000").unwrap();
    d.set("nodes.c.arrival.rate", "10000000").unwrap();
    let sc: Scenario = d.build().unwrap();
    assert_eq!(sc.nodes.len(), 2);
}

/// A chain of `n` services, `s0 -> s1 -> ... -> s{n-1}`, fed by a source;
/// with `cycle`, the last calls the first.
fn chain(n: usize, cycle: bool) -> String {
    let mut t = String::from(
        "version = 1\nname = \"chain\"\n[nodes.src]\nkind = \"source\"\ntarget = \"s0\"\n\
         arrival = { process = \"poisson\", rate = 1 }\n",
    );
    for i in 0..n {
        t += &format!("[nodes.s{i}]\nkind = \"service\"\n");
        if i + 1 < n {
            t += &format!("steps = [{{ call = {{ to = \"s{}\" }} }}]\n", i + 1);
        } else if cycle {
            t += "steps = [{ call = { to = \"s0\" } }]\n";
        } else {
            t += "service = { dist = \"constant\", value_s = 0.001 }\n";
        }
    }
    t
}

#[test]
fn a_long_call_chain_is_checked_for_cycles_without_recursion() {
    // 9,000 services on a 256 KiB stack: the recursive search this
    // replaced took a frame per service and overflowed here (and at
    // ~30,000 services on the main thread's 8 MiB).
    let text = chain(9_000, true);
    let res = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || Scenario::from_toml_str(&text).map(|_| ()))
        .unwrap()
        .join()
        .expect("no stack overflow");
    let e = res.unwrap_err();
    assert!(
        e.message.starts_with("calls form a cycle: s0 -> s1 -> s2"),
        "{e}"
    );
    assert!(e.message.ends_with("s8999 -> s0"), "{e}");
    Scenario::from_toml_str(&chain(9_000, false)).unwrap();
}

#[test]
fn a_scenario_holds_at_most_ten_thousand_nodes() {
    Scenario::from_toml_str(&chain(MAX_NODES - 1, false)).unwrap();
    let e = Scenario::from_toml_str(&chain(MAX_NODES, false)).unwrap_err();
    assert_eq!(e.path, "nodes");
    assert!(e.message.contains("at most 10000 nodes, got 10001"), "{e}");
}

#[test]
fn times_fit_integer_nanoseconds() {
    let base = r#"
        version = 1
        name = "t"
        [nodes.src]
        kind = "source"
        target = "api"
        arrival = { process = "poisson", rate = 1 }
        [nodes.api]
        kind = "service"
        service = { dist = "exponential", mean_s = 0.01 }
    "#;
    let with = |path: &str, v: f64| {
        let mut doc = ScenarioDoc::parse(base, crate::Format::Toml).unwrap();
        doc.set_value(path, v.into()).unwrap();
        doc.build().map(|_| ())
    };
    // (path, refused, accepted): below one tick, beyond 10^9 s, a periodic
    // timer faster than 1 ms, a lognormal whose variance overflows.
    for (path, bad, good) in [
        ("duration_s", 1e-12, 1e-9),
        ("duration_s", 1.85e10, 1e9),
        ("nodes.src.timeout_s", 1e-12, 1e-6),
        ("nodes.src.timeout_s", 1.85e10, 1e9),
        ("metrics.window_s", 1e-12, 1e-3),
        ("nodes.api.service.mean_s", 1e10, 1e3),
        ("nodes.src.connection.handshake_cpu_s", 11.0, 0.0),
    ] {
        assert!(with(path, good).is_ok(), "{path} = {good}");
        let e = with(path, bad).unwrap_err();
        assert_eq!(e.path, path, "{e}");
        assert!(e.message.contains("between"), "{e}");
    }
    // A count of round trips: at most 10 (TLS 1.2 over TCP is 3).
    let trips = |n: u32| {
        let mut doc = ScenarioDoc::parse(base, crate::Format::Toml).unwrap();
        let path = "nodes.src.connection.handshake_round_trips";
        doc.set_value(path, n.into()).unwrap();
        doc.build().map(|_| ())
    };
    assert!(trips(10).is_ok());
    let e = trips(11).unwrap_err();
    assert_eq!(e.path, "nodes.src.connection.handshake_round_trips", "{e}");
    let mut doc = ScenarioDoc::parse(base, crate::Format::Toml).unwrap();
    doc.set(
        "nodes.api.service",
        r#"{"dist": "lognormal", "mean_s": 0.01, "cv": 1e155}"#,
    )
    .unwrap();
    let e = doc.build().unwrap_err();
    assert_eq!(e.path, "nodes.api.service.cv", "{e}");
    assert!(e.message.contains("<= 1000"), "{e}");
}

#[test]
fn a_poison_message_redelivered_at_once_forever_is_refused() {
    let text = |redelivery: &str, extra: &str| {
        format!(
            r#"
            version = 1
            name = "poison"
            [nodes.src]
            kind = "source"
            target = "api"
            arrival = {{ process = "poisson", rate = 1 }}
            [nodes.api]
            kind = "service"
            steps = [{{ publish = {{ broker = "q" }} }}]
            [nodes.q]
            kind = "broker"
            poison_rate = 1.0
            process = {{ dist = "constant", value_s = 0 }}
            redelivery_s = {redelivery}
            {extra}
            "#
        )
    };
    let e = Scenario::from_toml_str(&text("0", "")).unwrap_err();
    assert_eq!(e.path, "nodes.q.redelivery_s", "{e}");
    assert!(e.message.contains("without simulated time moving"), "{e}");
    // Under a nanosecond is 0 in simulated time.
    let e = Scenario::from_toml_str(&text("1e-10", "")).unwrap_err();
    assert_eq!(e.path, "nodes.q.redelivery_s", "{e}");
    // A delay, or a bound on attempts, ends the loop.
    Scenario::from_toml_str(&text("0.1", "")).unwrap();
    Scenario::from_toml_str(&text("0", "max_attempts = 3")).unwrap();
    // No poison at all: a handler that is down (a crash fault, live) fails
    // every message at once, and the swarm found that loop too.
    let handler = text("0", "").replace(
        "poison_rate = 1.0\n            process = { dist = \"constant\", value_s = 0 }",
        "handler = { to = \"api\" }",
    );
    assert!(handler.contains("handler"), "{handler}");
    let e = Scenario::from_toml_str(&handler).unwrap_err();
    assert_eq!(e.path, "nodes.q.redelivery_s", "{e}");
}

#[test]
fn a_request_whose_work_multiplies_past_the_bound_is_refused_naming_the_path() {
    let with_api = |api_steps: &str, extra: &str| {
        format!(
            r#"
            version = 1
            name = "work"
            [nodes.src]
            kind = "source"
            target = "api"
            arrival = {{ process = "poisson", rate = 1 }}
            [nodes.api]
            kind = "service"
            steps = {api_steps}
            [nodes.dep]
            kind = "external"
            latency = {{ dist = "constant", value_s = 0.001 }}
            {extra}
            "#
        )
    };
    let refused = |text: String| Scenario::from_toml_str(&text).unwrap_err();
    // A 10^6-way fan-out.
    let e = refused(with_api(
        r#"[{ call = { to = "dep", count = 1000000, parallel = true } }]"#,
        "",
    ));
    assert_eq!(e.path, "nodes.src", "{e}");
    assert!(e.message.contains("1.00e6 steps"), "{e}");
    assert!(
        e.message
            .contains("src -> api: nodes.api.steps[0].call x1.00e6 -> dep"),
        "{e}"
    );
    // Nested repeats: 1000 x 1000 computes.
    let e = refused(with_api(
        r#"[{ repeat = { count = 1000, steps = [{ repeat = { count = 1000, steps = [
            { compute = { dist = "constant", value_s = 0.000001 } } ] } }] } }]"#,
        "",
    ));
    assert!(
        e.message
            .contains("steps[0].repeat x1000 > nodes.api.steps[0].repeat.steps[0].repeat x1000"),
        "{e}"
    );
    // Retries multiplied over layers: 21^2 attempts at each of src -> api
    // -> mid -> dep = 21^3 = 9261 calls of dep: accepted; one more layer
    // (21^4 = 194481) is refused.
    let layers = |n: usize| {
        let mut extra = String::new();
        for i in 0..n {
            let next = if i + 1 < n {
                format!("l{}", i + 1)
            } else {
                "dep".into()
            };
            extra += &format!(
                "[nodes.l{i}]\nkind = \"service\"\n\
                 steps = [{{ call = {{ to = \"{next}\", retries = {{ max = 20 }} }} }}]\n"
            );
        }
        with_api(
            r#"[{ call = { to = "l0", retries = { max = 20 } } }]"#,
            &extra,
        )
    };
    Scenario::from_toml_str(&layers(2)).unwrap();
    let e = refused(layers(3));
    assert!(
        e.message.contains("l2: nodes.l2.steps[0].call x21 -> dep"),
        "{e}"
    );
    // An ordinary N+1: 100 queries a request.
    Scenario::from_toml_str(&with_api(r#"[{ call = { to = "dep", count = 100 } }]"#, "")).unwrap();
    // A query's count multiplies too (the swarm found a 10^6-way parallel
    // query that took 2.9 GB before the in-flight budget could look).
    let db = "[nodes.db]\nkind = \"database\"\ntables.t = { rows = 10 }\n";
    let e = refused(with_api(
        r#"[{ query = { db = "db", table = "t", kind = "pk", count = 1000000, parallel = true } }]"#,
        db,
    ));
    assert!(
        e.message.contains("nodes.api.steps[0].query x1.00e6 -> db"),
        "{e}"
    );
}

/// A count of `items` multiplies by the most items a request can carry
/// (the swarm found 10^6 items x 3 + 1 queries a request estimated as 4
/// steps): 3 x 10^6 + 1 queries are refused, 3 x 50 + 1 accepted.
#[test]
fn an_item_count_costs_the_most_items_a_source_sends() {
    let with_items = |max_items: u32| {
        format!(
            r#"
            version = 1
            name = "items"
            [nodes.src]
            kind = "source"
            target = "api"
            arrival = {{ process = "poisson", rate = 1 }}
            items = {{ dist = "uniform", min = 1, max = {max_items} }}
            [nodes.api]
            kind = "service"
            steps = [{{ query = {{ db = "db", table = "t", kind = "pk", count = {{ dist = "items", times = 3, plus = 1 }} }} }}]
            [nodes.db]
            kind = "database"
            tables.t = {{ rows = 10 }}
            "#
        )
    };
    Scenario::from_toml_str(&with_items(50)).unwrap();
    let e = Scenario::from_toml_str(&with_items(1_000_000)).unwrap_err();
    assert_eq!(e.path, "nodes.src", "{e}");
    assert!(
        e.message.contains("nodes.api.steps[0].query x3.00e6 -> db"),
        "{e}"
    );
}

#[test]
fn a_fault_without_fields_refuses_unknown_ones() {
    let with_fault = |fault: &str| {
        format!(
            r#"
            version = 1
            name = "f"
            faults = [{fault}]
            [nodes.src]
            kind = "source"
            target = "api"
            arrival = {{ process = "poisson", rate = 1 }}
            [nodes.api]
            kind = "service"
            service = {{ dist = "exponential", mean_s = 0.01 }}
            "#
        )
    };
    for kind in ["crash", "hang"] {
        let ok = format!(r#"{{ at_s = 1, duration_s = 2, target = "api", kind = "{kind}" }}"#);
        Scenario::from_toml_str(&with_fault(&ok)).unwrap();
        // A misspelt duration_s silently did nothing.
        let bad = format!(r#"{{ at_s = 1, duraton_s = 2, target = "api", kind = "{kind}" }}"#);
        let e = Scenario::from_toml_str(&with_fault(&bad)).unwrap_err();
        assert!(e.message.contains("unknown field `duraton_s`"), "{e}");
    }
}

#[test]
fn a_number_where_a_variant_name_belongs_is_refused() {
    let base = r#"
        version = 1
        name = "t"
        faults = [{ at_s = 1, target = "c", kind = "flush" }]
        [nodes.src]
        kind = "source"
        target = "api"
        arrival = { process = "poisson", rate = 1 }
        [nodes.api]
        kind = "service"
        steps = [{ cache_read = { cache = "c", key = { space = "k", n = 10 } } }]
        [nodes.c]
        kind = "cache"
    "#;
    Scenario::from_toml_str(base).unwrap();
    // serde took an integer tag for the variant's index: 7 was `flush`.
    for (path, v) in [
        ("faults[0].kind", "7"),
        ("nodes.src.arrival.process", "0"),
        ("nodes.api.steps[0].cache_read.key.space", "1"),
    ] {
        let mut doc = ScenarioDoc::parse(base, crate::Format::Toml).unwrap();
        doc.set(path, v).unwrap();
        let e = doc.build().unwrap_err();
        assert_eq!(e.path, path, "{e}");
        if path != "nodes.api.steps[0].cache_read.key.space" {
            assert!(e.message.contains("must be a name in quotes, got"), "{e}");
        }
    }
}

/// A seed above 2^63 - 1 validated (JSON holds it) but could not be written
/// as TOML, so the page could neither export nor share the scenario.
#[test]
fn a_seed_must_fit_in_a_toml_integer() {
    let json = |seed: u64| {
        format!(
            r#"{{"version": 1, "name": "s", "seed": {seed}, "duration_s": 1,
                "nodes": {{"src": {{"kind": "source", "target": "e",
                                    "arrival": {{"process": "poisson", "rate": 1}}}},
                          "e": {{"kind": "external",
                                 "latency": {{"dist": "constant", "value_s": 0.01}}}}}}}}"#
        )
    };
    let sc = Scenario::from_json_str(&json(MAX_SEED)).unwrap();
    let back = Scenario::from_toml_str(&sc.to_toml()).unwrap();
    assert_eq!(back.seed, MAX_SEED);
    let e = Scenario::from_json_str(&json(MAX_SEED + 1)).unwrap_err();
    assert_eq!(e.path, "seed");
    assert!(e.message.contains("at most 9223372036854775807"), "{e}");
    // Any integer field: `traces.every = u64::MAX` could not be exported.
    let every = json(1).replacen(
        r#""duration_s": 1,"#,
        r#""duration_s": 1, "traces": {"every": 18446744073709551615},"#,
        1,
    );
    let e = Scenario::from_json_str(&every).unwrap_err();
    assert_eq!(e.path, "traces.every");
    assert!(
        e.message.contains("largest integer a TOML file can hold"),
        "{e}"
    );
}

/// A cache entry of 1e20 kB validated and then overflowed the cache's byte
/// count (found by the swarm): an entry is at most 1 GB.
#[test]
fn a_cache_entry_size_is_bounded() {
    let b = bounds("nodes.api.steps[0].cache_read.size_kb").unwrap();
    assert_eq!(b.max, 1e6);
    // Each value of 1 GB fits u64 bytes 4e9 times over.
    assert!(b.max * 1000.0 * f64::from(u32::MAX) < u64::MAX as f64);
}

#[test]
fn alert_rules_are_refused_without_an_slo_or_with_windows_out_of_step() {
    let text = |slo: &str, alert: &str| {
        format!(
            r#"version = 1
            name = "a"
            metrics = {{ window_s = 5 }}
            {slo}
            [alerts.page]
            {alert}
            [nodes.src]
            kind = "source"
            target = "api"
            arrival = {{ process = "poisson", rate = 10 }}
            [nodes.api]
            kind = "service"
            service = {{ dist = "exponential", mean_s = 0.01 }}
            "#
        )
    };
    let slo = "slo = { latency_s = 0.5 }";
    let ok = r#"kind = "burn_rate"
            long_s = 3600
            short_s = 300
            above = 14.4"#;
    assert!(Scenario::from_toml_str(&text(slo, ok)).is_ok());
    let refused = |slo: &str, alert: &str| Scenario::from_toml_str(&text(slo, alert)).unwrap_err();
    let e = refused("", ok);
    assert_eq!(e.path, "alerts.page", "{e}");
    assert!(e.message.contains("SLO"), "{e}");
    let e = refused(slo, &ok.replace("short_s = 300", "short_s = 7200"));
    assert_eq!(e.path, "alerts.page.short_s", "{e}");
    // A window shorter than one metrics window (5 s) cannot be evaluated.
    let e = refused(slo, &ok.replace("short_s = 300", "short_s = 1"));
    assert_eq!(e.path, "alerts.page.short_s", "{e}");
    assert!(e.message.contains("metrics windows"), "{e}");
    let e = refused(slo, "kind = \"threshold\"\nwindow_s = 60\nabove = 1.5");
    assert_eq!(e.path, "alerts.page.above", "{e}");
    // Not a whole number of 5 s windows.
    let e = refused(slo, &ok.replace("short_s = 300", "short_s = 12"));
    assert_eq!(e.path, "alerts.page.short_s", "{e}");
    assert!(e.message.contains("whole number"), "{e}");
    // A 99% SLO burns at most at 100x (every request bad): 150x never fires.
    let e = refused(slo, &ok.replace("above = 14.4", "above = 150"));
    assert_eq!(e.path, "alerts.page.above", "{e}");
    assert!(e.message.contains("never fire"), "{e}");
    // The limit comes from the SLO's target, so the message names it (with
    // its value as written, however small: the swarm's slo.target = 1e-300).
    assert!(e.message.contains("slo.target = 0.99"), "{e}");
    let tiny = "slo = { latency_s = 0.5, target = 1e-300 }";
    let e = refused(tiny, &ok.replace("above = 14.4", "above = 2.04"));
    assert!(e.message.contains("slo.target = 1e-300"), "{e}");
    let e = refused(slo, "kind = \"page_me\"\nwindow_s = 60\nabove = 0.1");
    assert!(e.path.starts_with("alerts.page"), "{e}");
}

#[test]
fn a_serverless_function_is_refused_with_what_contradicts_it() {
    let sl = r#"{"cold_start_s": 1.0, "min_instances": 3, "max_instances": 2}"#;
    let e = refused(&[("nodes.s.serverless", sl)]);
    assert_eq!(e.path, "nodes.s.serverless.min_instances", "{e}");
    assert!(e.message.contains("at most max_instances (2)"), "{e}");
    let sl = r#"{"cold_start_s": 1.0}"#;
    let e = refused(&[("nodes.s.serverless", sl), ("nodes.s.replicas", "3")]);
    assert_eq!(e.path, "nodes.s.replicas", "{e}");
    assert!(e.message.contains("min_instances"), "{e}");
    let scale = r#"{"metric": "utilisation", "target": 0.6, "min": 1, "max": 4}"#;
    let e = refused(&[("nodes.s.serverless", sl), ("nodes.s.autoscale", scale)]);
    assert_eq!(e.path, "nodes.s.autoscale", "{e}");
    let e = refused(&[("nodes.s.serverless", r#"{"cold_start_s": -1}"#)]);
    assert_eq!(e.path, "nodes.s.serverless.cold_start_s", "{e}");
    let e = refused(&[(
        "nodes.s.serverless",
        r#"{"cold_start_s": 1, "max_instances": 100000}"#,
    )]);
    assert_eq!(e.path, "nodes.s.serverless.max_instances", "{e}");
    let e = refused(&[(
        "nodes.s.serverless",
        r#"{"cold_start_s": 1, "idle_timeout_s": 0}"#,
    )]);
    assert_eq!(e.path, "nodes.s.serverless.idle_timeout_s", "{e}");
    // A load balancer cannot place requests on a function's instances.
    let e = refused(&[
        ("nodes.s.serverless", sl),
        (
            "nodes.lb",
            r#"{"kind": "load_balancer", "backends": ["s"]}"#,
        ),
        ("nodes.c.target", "\"lb\""),
    ]);
    assert_eq!(e.path, "nodes.lb.backends[0]", "{e}");
    assert!(e.message.contains("serverless"), "{e}");
}
