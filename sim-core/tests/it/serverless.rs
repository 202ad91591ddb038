//! Serverless functions: instances started on demand after a cold start,
//! reclaimed after the idle timeout, a warm minimum, a concurrency limit;
//! each checked against arithmetic on constant times.

use crate::support::run;
use sim_core::{Report, Scenario};

/// Requests at `rate` (evenly spaced) to a function whose handler takes
/// 0.1 s, one request per instance, cold start 2 s; `serverless` is the
/// rest of the function's instance rules.
fn function(rate: f64, serverless: &str) -> Scenario {
    Scenario::from_toml_str(&format!(
        r#"
version = 1
name = "serverless"
duration_s = 100
[nodes.clients]
kind = "source"
target = "fn"
arrival = {{ process = "constant", rate = {rate} }}
[nodes.fn]
kind = "service"
workers = 1
service = {{ dist = "constant", value_s = 0.1 }}
serverless = {{ cold_start_s = 2.0, {serverless} }}
"#
    ))
    .unwrap()
}

fn cold_starts(r: &Report) -> u64 {
    r.nodes["fn"]
        .cold_starts
        .expect("a serverless node reports cold starts")
}

#[test]
fn a_burst_of_cold_starts_then_one_warm_instance() {
    // One request a second. The first finds nothing warm: an instance
    // starts and the request waits 2 s. The second (1 s later) finds that
    // one still starting: a second cold start. The third arrives as the
    // first instance comes up, but its own request takes it: a third. From
    // the fourth on, the first instance is free (each request holds it
    // 0.1 s of every 1 s): warm. Latencies: three of 2 + 0.1 = 2.1 s, the
    // rest 0.1 s.
    let r = run(&function(1.0, "idle_timeout_s = 10"), 1);
    assert_eq!(cold_starts(&r), 3);
    let l = &r.end_to_end.latency_s;
    let n = r.end_to_end.completed as f64;
    assert!((l.max - 2.1).abs() < 1e-3, "{l:?}");
    assert!((l.p50 - 0.1).abs() < 1e-3, "{l:?}");
    let mean = (3.0 * 2.1 + (n - 3.0) * 0.1) / n;
    assert!((l.mean - mean).abs() < 1e-9, "{} against {mean}", l.mean);
    // Instance-seconds: the first instance from its start to the end; the
    // second and third each start (2 s), serve one request (0.1 s) and idle
    // 10 s before they are reclaimed: 12.1 s each.
    // Constant arrivals start one interval in: the first at 1 s.
    let first = 100.0 - 1.0;
    let paid = r.nodes["fn"].instance_seconds;
    assert!((paid - (first + 2.0 * 12.1)).abs() < 1e-6, "{paid}");
}

#[test]
fn the_idle_timeout_decides_whether_a_sparse_load_finds_a_warm_instance() {
    // One request every 15 s. An instance idle for 10 s is gone before the
    // next request: every request starts one (2.1 s each). With a 20 s
    // timeout only the first does.
    let rate = 1.0 / 15.0;
    let short = run(&function(rate, "idle_timeout_s = 10"), 1);
    let n = short.end_to_end.completed;
    assert!(n >= 6, "{n}");
    assert_eq!(cold_starts(&short), n);
    assert!((short.end_to_end.latency_s.mean - 2.1).abs() < 1e-6);
    let long = run(&function(rate, "idle_timeout_s = 20"), 1);
    assert_eq!(cold_starts(&long), 1);
    assert!((long.end_to_end.latency_s.p50 - 0.1).abs() < 1e-3);
    // One instance kept warm: no request waits, whatever the timeout.
    let warm = run(&function(rate, "idle_timeout_s = 10, min_instances = 1"), 1);
    assert_eq!(cold_starts(&warm), 0);
    assert!((warm.end_to_end.latency_s.max - 0.1).abs() < 1e-3);
    // ...and it is paid for the whole run.
    assert!((warm.nodes["fn"].instance_seconds - 100.0).abs() < 1e-6);
}

#[test]
fn at_the_concurrency_limit_requests_wait_or_are_throttled() {
    // One instance at most. The first request starts it (2.1 s). The
    // second, 1 s later, finds the limit reached and nothing warm yet to
    // wait at: throttled (an error). The third arrives as the instance
    // comes up and the first request takes it: it waits in that
    // instance's queue for 0.1 s (0.2 s in all). Then one request at a time
    // fits.
    let r = run(&function(1.0, "max_instances = 1"), 1);
    assert_eq!(cold_starts(&r), 1);
    assert_eq!(r.end_to_end.failed, 1, "{:?}", r.end_to_end);
    let l = &r.end_to_end.latency_s;
    assert!((l.max - 2.1).abs() < 1e-3, "{l:?}");
    assert_eq!(r.nodes["fn"].replicas, 1);
}

#[test]
fn a_live_warm_minimum_starts_instances_and_lowering_it_lets_them_go() {
    use sim_core::{secs_to_ns, Sim};
    // One request every 15 s with a 10 s idle timeout: each request finds
    // its instance reclaimed and starts a new one (arrivals at 15, 30 s:
    // 2 cold starts by 31 s).
    let cold = function(1.0 / 15.0, "idle_timeout_s = 10");
    let warm = function(1.0 / 15.0, "idle_timeout_s = 10, min_instances = 3");
    let mut sim = Sim::new(&cold, 1).unwrap();
    sim.run_until(secs_to_ns(31.0)).unwrap();
    assert_eq!(sim.report().nodes["fn"].cold_starts, Some(2));
    // Three kept warm from 31 s: they start (2 s, not a request's cold
    // start) and none is reclaimed; the requests at 45, 60, 75 s find one.
    sim.reconfigure(&warm).unwrap();
    sim.run_until(secs_to_ns(80.0)).unwrap();
    let r = sim.report();
    assert_eq!(r.nodes["fn"].cold_starts, Some(2));
    assert_eq!(r.nodes["fn"].replicas, 3);
    // Back to none kept warm at 80 s: the three were idle since 75.1 s at
    // the latest, so all are gone 10 s later, before the request at 90 s,
    // which starts one again.
    sim.reconfigure(&cold).unwrap();
    sim.run_until(secs_to_ns(89.0)).unwrap();
    assert_eq!(sim.report().nodes["fn"].replicas, 0);
    let r = sim.run_for(100.0).unwrap();
    assert_eq!(r.nodes["fn"].cold_starts, Some(3));
}

/// An api calls the function four times in parallel, 10 ms away, once
/// every 15 s; `serverless` is the function's instance rules.
fn fan_out(serverless: &str) -> Scenario {
    Scenario::from_toml_str(&format!(
        r#"
version = 1
name = "serverless fan-out"
duration_s = 100
[nodes.clients]
kind = "source"
target = "api"
arrival = {{ process = "constant", rate = {rate} }}
[nodes.api]
kind = "service"
workers = 1
steps = [ {{ call = {{ to = "fn", count = 4, parallel = true, hop = {{ dist = "constant", value_s = 0.01 }} }} }} ]
[nodes.fn]
kind = "service"
workers = 1
service = {{ dist = "constant", value_s = 0.1 }}
serverless = {{ cold_start_s = 2.0, {serverless} }}
"#,
        rate = 1.0 / 15.0
    ))
    .unwrap()
}

#[test]
fn requests_on_the_wire_claim_their_instances() {
    // The four calls leave together; each claims an instance when it is
    // routed, 10 ms before it arrives. With one instance warm the first
    // call takes it and the other three each start one: 3 cold starts, the
    // request waits 2 s + 0.1 s + 2 x 10 ms. The four then stay warm (idle
    // 14.9 s < 100 s): later requests find all four free.
    let r = run(&fan_out("idle_timeout_s = 100, min_instances = 1"), 1);
    assert_eq!(cold_starts(&r), 3);
    assert!((r.end_to_end.latency_s.max - 2.12).abs() < 1e-3);
    assert!((r.end_to_end.latency_s.p50 - 0.12).abs() < 1e-3);
    // An idle timeout (5 ms) shorter than the hop: an instance is never
    // reclaimed while its request is on the way, so nothing fails; every
    // call starts an instance.
    let r = run(&fan_out("idle_timeout_s = 0.005"), 1);
    assert_eq!(r.end_to_end.failed, 0, "{:?}", r.end_to_end);
    assert_eq!(cold_starts(&r), 4 * r.nodes["api"].completed);
}

#[test]
fn faults_act_on_instances_not_on_empty_slots() {
    use sim_core::spec::{FaultAction, FaultSpec};
    // Scaled to zero, a crash at 5 s (replica 0 by default) finds no
    // instance: nothing changes, no instance appears when it ends.
    let mut sc = function(1.0 / 15.0, "idle_timeout_s = 10");
    let plain = run(&sc, 1);
    sc.faults.push(FaultSpec {
        at_s: 5.0,
        duration_s: Some(1.0),
        target: "fn".into(),
        replica: None,
        action: FaultAction::Crash {},
    });
    let crashed = run(&sc, 1);
    assert_eq!(crashed.nodes["fn"].restarts, 0);
    assert_eq!(
        crashed.nodes["fn"].instance_seconds,
        plain.nodes["fn"].instance_seconds
    );
    // A scale fault has no replica count to act on: refused, naming it.
    sc.faults[0].action = FaultAction::Scale { replicas: 5 };
    let e = sc.validate().unwrap_err();
    assert!(e.path.starts_with("faults"), "{e}");
    assert!(e.message.contains("serverless"), "{e}");
}
