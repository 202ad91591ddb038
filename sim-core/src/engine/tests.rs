//! Unit tests of the engine core (its parts have their own beside them).
use super::*;
use crate::calendar::secs_to_ns;
use crate::scenario::Scenario;

fn scenario(text: &str) -> Scenario {
    Scenario::from_toml_str(text).unwrap()
}

const CHAIN: &str = r#"
version = 1
duration_s = 200
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 5 }
[nodes.api]
kind = "service"
workers = 4
steps = [
  { compute = { dist = "exponential", mean_s = 0.01 } },
  { call = { to = "db", hop = { dist = "constant", value_s = 0.001 } } },
]
[nodes.db]
kind = "service"
workers = 2
service = { dist = "exponential", mean_s = 0.05 }
"#;

#[test]
fn chain_conserves_and_adds_hops() {
    let sc = scenario(CHAIN);
    let mut sim = Sim::new(&sc, 3).unwrap();
    let r = sim.run_for(200.0).unwrap();
    assert!(r.conservation.ok, "{:?}", r.conservation.violations);
    let api = &r.nodes["api"];
    let db = &r.nodes["db"];
    // Every api request makes exactly one db call.
    assert_eq!(api.arrived, db.arrived);
    // The api holds its worker for compute + 2 hops + db sojourn.
    let min = 0.01 + 0.002 + db.sojourn_s.mean;
    assert!(
        (api.sojourn_s.mean - min).abs() < 0.01,
        "{} vs {}",
        api.sojourn_s.mean,
        min
    );
}

#[test]
fn timeout_fails_client_but_server_finishes() {
    let text = r#"
version = 1
[nodes.clients]
kind = "source"
target = "slow"
timeout_s = 0.5
arrival = { process = "constant", rate = 1 }
[nodes.slow]
kind = "service"
workers = 1
service = { dist = "constant", value_s = 0.8 }
"#;
    let mut sim = Sim::new(&scenario(text), 1).unwrap();
    let r = sim.run_for(10.5).unwrap();
    // Arrivals at 1..=10 s; each times out after 0.5 s; the server still
    // works 0.8 s on each (utilisation ~0.8), all wasted.
    assert_eq!(r.end_to_end.arrived, 10);
    assert_eq!(r.end_to_end.timed_out, 10);
    assert_eq!(r.end_to_end.completed, 0);
    // The last request (arrived at 10 s) is still in service at 10.5 s.
    assert_eq!(r.nodes["slow"].completed, 9);
    assert_eq!(r.nodes["slow"].in_flight, 1);
    assert_eq!(r.nodes["slow"].late_responses, 9);
    assert!((r.nodes["slow"].utilisation - (9.0 * 0.8 + 0.5) / 10.5).abs() < 1e-9);
    assert!(r.conservation.ok);
}

#[test]
fn bounded_queue_rejects() {
    let text = r#"
version = 1
[nodes.clients]
kind = "source"
target = "s"
arrival = { process = "constant", rate = 10 }
[nodes.s]
kind = "service"
workers = 1
queue = { capacity = 2 }
service = { dist = "constant", value_s = 1.0 }
"#;
    let mut sim = Sim::new(&scenario(text), 1).unwrap();
    let r = sim.run_for(10.0).unwrap();
    assert!(r.end_to_end.rejected > 70, "{}", r.end_to_end.rejected);
    assert!(r.conservation.ok);
    assert_eq!(r.nodes["s"].rejected, r.end_to_end.rejected);
}

#[test]
fn lifo_serves_newest_first() {
    // Constant arrivals every 0.1 s, one worker, 1 s service: with LIFO
    // the oldest waiters starve, so the max wait far exceeds FIFO's.
    let base = r#"
version = 1
[nodes.clients]
kind = "source"
target = "s"
arrival = { process = "constant", rate = 0.95 }
[nodes.s]
kind = "service"
workers = 1
queue = { discipline = "DISC" }
service = { dist = "exponential", mean_s = 1.0 }
"#;
    let run = |d: &str| {
        let mut sim = Sim::new(&scenario(&base.replace("DISC", d)), 5).unwrap();
        sim.run_for(20_000.0).unwrap()
    };
    let (f, l) = (run("fifo"), run("lifo"));
    // Same mean wait (work conserving, same draws in a different order
    // would differ slightly; compare loosely), much larger max under LIFO.
    assert!(l.nodes["s"].wait_s.max > 2.0 * f.nodes["s"].wait_s.max);
}

#[test]
fn closed_loop_obeys_interactive_law() {
    // Interactive response time law: X = N / (R + Z). With N = 5 users,
    // Z = 1 s, a single constant 0.1 s server at low load (R ~ 0.1 s),
    // X ~ 5 / 1.1 = 4.5/s.
    let text = r#"
version = 1
[nodes.users]
kind = "source"
target = "s"
arrival = { process = "closed", users = 5, think = { dist = "exponential", mean_s = 1.0 } }
[nodes.s]
kind = "service"
workers = 10
service = { dist = "constant", value_s = 0.1 }
"#;
    let mut sim = Sim::new(&scenario(text), 9).unwrap();
    let r = sim.run_for(4000.0).unwrap();
    let x = r.end_to_end.throughput_rps;
    assert!((x - 5.0 / 1.1).abs() / (5.0 / 1.1) < 0.02, "{x}");
}

#[test]
fn schedule_steps_change_rate() {
    let text = r#"
version = 1
[nodes.c]
kind = "source"
target = "s"
arrival = { process = "schedule", points = [ { at_s = 0, rate = 10 }, { at_s = 100, rate = 50 }, { at_s = 200, rate = 10 } ] }
[nodes.s]
kind = "service"
workers = 100
service = { dist = "constant", value_s = 0.001 }
"#;
    let mut sim = Sim::new(&scenario(text), 2).unwrap();
    sim.run_until(secs_to_ns(300.0)).unwrap();
    let w = sim.windows();
    let sum = |a: usize, b: usize| w[a..b].iter().map(|w| w.arrived).sum::<u64>() as f64;
    // 100 s at 10/s: 1000 expected (sd ~32); at 50/s: 5000 (sd ~71).
    assert!((sum(0, 100) - 1000.0).abs() < 160.0);
    assert!((sum(100, 200) - 5000.0).abs() < 350.0);
    assert!((sum(200, 300) - 1000.0).abs() < 160.0);
}

#[test]
fn live_worker_change_takes_effect() {
    let text = r#"
version = 1
[nodes.c]
kind = "source"
target = "s"
arrival = { process = "poisson", rate = 9 }
[nodes.s]
kind = "service"
workers = 5
service = { dist = "exponential", mean_s = 1.0 }
"#;
    let mut sim = Sim::new(&scenario(text), 2).unwrap();
    sim.run_until(secs_to_ns(100.0)).unwrap();
    // Overloaded (9 > 5): the queue grows.
    let q = sim.snapshot().nodes[0].queue_len;
    assert!(q > 100, "{q}");
    // A live change is an edit of the scenario document, validated, then
    // reconfigured.
    let edited = |edit: &str| {
        let mut doc = crate::ScenarioDoc::parse(text, crate::Format::Toml).unwrap();
        doc.apply(&crate::Edit::parse(edit).unwrap())?;
        doc.build()
    };
    sim.reconfigure(&edited("nodes.s.workers=20").unwrap())
        .unwrap();
    sim.run_until(secs_to_ns(200.0)).unwrap();
    let s = sim.snapshot();
    assert!(s.nodes[0].queue_len < 5, "{}", s.nodes[0].queue_len);
    assert!(sim.conservation().ok);
    assert_eq!(
        edited("nodes.s.workers=0.5").unwrap_err().path,
        "nodes.s.workers"
    );
    assert!(edited("nodes.nope.workers=2").is_err());
    assert!(edited("nodes.c.workers=2").is_err());
}

#[test]
fn traces_show_where_time_went() {
    // Every request traced: the client's call (depth 0) to api, the api's
    // call to db (depth 1), with network, queue and compute spans that fit
    // inside the root call.
    let text = CHAIN.replace(
        "duration_s = 200",
        "duration_s = 20\ntraces = { every = 1, keep = 5 }",
    );
    let mut sim = Sim::new(&scenario(&text), 3).unwrap();
    let r = sim.run_for(20.0).unwrap();
    assert!(r.conservation.ok);
    let slow = sim.slowest_traces();
    assert_eq!(slow.len(), 5);
    assert!(slow.windows(2).all(|w| w[0].latency_s >= w[1].latency_s));
    let t = &slow[0];
    let root = t
        .spans
        .iter()
        .find(|s| s.kind == SpanKind::Call && s.depth == 0)
        .expect("root call span");
    assert!((root.end_s - t.latency_s).abs() < 1e-9);
    for kind in [
        SpanKind::Network,
        SpanKind::Queue,
        SpanKind::Compute,
        SpanKind::Job,
    ] {
        assert!(
            t.spans.iter().any(|s| s.kind == kind && s.node == "db"),
            "no {kind:?} span at db"
        );
    }
    assert!(t
        .spans
        .iter()
        .any(|s| s.kind == SpanKind::Call && s.node == "db" && s.depth == 1));
    for s in &t.spans {
        assert!(
            s.start_s >= 0.0 && s.end_s <= t.latency_s + 1e-9 && s.start_s <= s.end_s,
            "{s:?}"
        );
    }
    // The slowest traced request is at least as slow as the p99.
    assert!(t.latency_s >= r.end_to_end.latency_s.p99 * 0.99);
    assert_eq!(sim.recent_traces().len(), 5);
}

#[test]
fn windows_count_slo_good_requests_like_the_report() {
    // With no warm-up and a run that ends on a window boundary, the windows
    // cover every finished request, so the per-window good counts must add
    // up to the report's: compliance = Σ slo_good / Σ (completed + failed).
    let text = CHAIN.replacen(
        "duration_s = 200",
        "duration_s = 200\nslo = { latency_s = 0.08, target = 0.99 }",
        1,
    );
    let sc = scenario(&text);
    let mut sim = Sim::new(&sc, 5).unwrap();
    let r = sim.run_for(200.0).unwrap();
    let slo = r.slo.as_ref().expect("the scenario has an SLO");
    let ws = sim.windows();
    let good: u64 = ws.iter().map(|w| w.slo_good.unwrap()).sum();
    let done: u64 = ws.iter().map(|w| w.completed + w.failed).sum();
    assert_eq!(done, slo.requests);
    assert!((good as f64 / done as f64 - slo.compliance).abs() < 1e-12);
    // Some requests miss 80 ms (db mean 50 ms with queueing), most make it.
    assert!(slo.compliance > 0.5 && slo.compliance < 0.999, "{slo:?}");
    // Without an SLO the field is absent.
    let mut plain = Sim::new(&scenario(CHAIN), 5).unwrap();
    plain.run_for(10.0).unwrap();
    assert!(plain.windows().iter().all(|w| w.slo_good.is_none()));
}

#[test]
fn windows_after_returns_the_unseen_tail() {
    let mut sim = Sim::new(&scenario(CHAIN), 5).unwrap();
    sim.run_for(10.0).unwrap();
    let all = sim.windows();
    assert_eq!(all.len(), 10);
    assert_eq!(sim.windows_after(-1.0, usize::MAX), all);
    let tail = sim.windows_after(7.0, usize::MAX);
    assert_eq!(tail, all[7..].to_vec());
    assert_eq!(sim.windows_after(7.0, 2), all[8..].to_vec());
    assert!(sim.windows_after(10.0, 5).is_empty());
}
