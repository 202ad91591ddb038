//! Hostile inputs (issue 17): a run ends with simulated time advancing and
//! within its budget of memory, or stops with a message naming the cause.

use sim_core::sim::{RunError, STALL_EVENTS};
use sim_core::{Scenario, Sim};

fn scenario(toml: &str) -> Scenario {
    Scenario::from_toml_str(toml).unwrap_or_else(|e| panic!("{e}"))
}

/// 100 closed-loop users with zero think time against a zero-latency
/// dependency: every request completes in the instant it is issued and the
/// user issues the next one, so simulated time never moves.
const ZERO_TIME_LOOP: &str = r#"
    version = 1
    name = "zero-time loop"
    duration_s = 30
    [nodes.src]
    kind = "source"
    target = "dep"
    arrival = { process = "closed", users = 100, think = { dist = "constant", value_s = 0 } }
    [nodes.dep]
    kind = "external"
    latency = { dist = "constant", value_s = 0 }
"#;

#[test]
fn a_zero_time_loop_stops_with_an_error_naming_the_loop_and_the_seed() {
    let sc = scenario(ZERO_TIME_LOOP);
    let mut sim = Sim::new(&sc, 77).unwrap();
    let err = sim.run_for(sc.duration_s).unwrap_err();
    let RunError::Stalled(stall) = &err else {
        panic!("expected a stall, got {err}");
    };
    assert_eq!(stall.at, 0, "the clock never moved");
    assert_eq!(stall.events, STALL_EVENTS);
    assert_eq!(stall.seed, 77);
    assert!(
        stall.looping.iter().any(|l| l.at.contains("src")),
        "{:?}",
        stall.looping
    );
    let msg = err.to_string();
    assert!(msg.contains("seed 77") && msg.contains("src"), "{msg}");
    // The run stays stopped: the same error, no more events.
    let events = sim.events();
    assert_eq!(sim.run_until(1).unwrap_err(), err);
    assert_eq!(sim.step().unwrap_err(), err);
    assert_eq!(sim.events(), events);
    // What ran so far is still accounted for.
    assert!(sim.report().conservation.ok);
}

#[test]
fn the_stall_threshold_is_adjustable_and_ordinary_runs_never_reach_it() {
    let sc = scenario(ZERO_TIME_LOOP);
    let mut sim = Sim::new(&sc, 1).unwrap();
    sim.set_stall_events(5_000);
    match sim.run_for(1.0) {
        Err(RunError::Stalled(s)) => assert_eq!(s.events, 5_000),
        other => panic!("expected a stall: {other:?}"),
    }
    // The same loop with a 1 ms think time advances: no error.
    let sc = scenario(&ZERO_TIME_LOOP.replace("value_s = 0 }", "value_s = 0.001 }"));
    let mut sim = Sim::new(&sc, 1).unwrap();
    sim.set_stall_events(5_000);
    assert!(sim.run_for(1.0).is_ok());
}

/// 1,000,000 requests per second into one worker of 1 s with an unbounded
/// queue: the backlog grows by ~10^6 a simulated second.
const OVERLOAD: &str = r#"
    version = 1
    name = "overload"
    duration_s = 30
    [nodes.src]
    kind = "source"
    target = "api"
    arrival = { process = "poisson", rate = 1000000 }
    [nodes.api]
    kind = "service"
    workers = 1
    service = { dist = "constant", value_s = 1 }
"#;

#[test]
fn an_unbounded_backlog_stops_at_the_in_flight_budget_naming_the_node() {
    let sc = scenario(OVERLOAD);
    let mut sim = Sim::new(&sc, 3).unwrap();
    sim.set_max_in_flight(20_000);
    let err = sim.run_for(sc.duration_s).unwrap_err();
    let RunError::OverBudget(o) = &err else {
        panic!("expected the budget, got {err}");
    };
    // Checked at every event: it stops as the budget is passed.
    assert_eq!(o.requests, 20_001, "{o:?}");
    assert_eq!(o.node, "api");
    assert!(o.node_held > 20_000, "{o:?}");
    assert!(sim.now_s() < 0.05, "stopped at {} s", sim.now_s());
    let msg = err.to_string();
    assert!(msg.contains("node api holds"), "{msg}");
    assert!(msg.contains("seed 3"), "{msg}");
    assert!(sim.report().conservation.ok);
}

/// An api that calls `n` services in turn, each with a lognormal service
/// time of mean 10 ms and cv 5 (its values spread over about five decades),
/// 20 requests/s.
fn spread_calls(n: usize) -> String {
    let calls: Vec<String> = (0..n)
        .map(|i| format!("{{ call = {{ to = \"s{i}\" }} }}"))
        .collect();
    let mut toml = format!(
        "version = 1\nname = \"spread\"\nduration_s = 20\n\
         [nodes.src]\nkind = \"source\"\ntarget = \"api\"\n\
         arrival = {{ process = \"poisson\", rate = 20 }}\n\
         [nodes.api]\nkind = \"service\"\nworkers = 1000\nsteps = [ {} ]\n",
        calls.join(", ")
    );
    for i in 0..n {
        toml += &format!(
            "[nodes.s{i}]\nkind = \"service\"\nworkers = 100\n\
             service = {{ dist = \"lognormal\", mean_s = 0.01, cv = 5 }}\n"
        );
    }
    toml
}

#[test]
fn latency_statistics_of_many_nodes_stop_at_the_budget_naming_the_largest() {
    // The budget's bytes are its requests times 300: 10,000 requests give
    // 3 MB. Each service's sojourn spreads over about five decades (a
    // lognormal of cv 5: sigma^2 = ln(1 + 25), its 0.1% and 99.9% points
    // e^(+-3.09 * 1.8) apart, a factor of 7e4), about 17 buckets of 8 KB at
    // 3 digits; 100 of them pass 3 MB within a few hundred requests.
    let sc = scenario(&spread_calls(100));
    let mut sim = Sim::new(&sc, 5).unwrap();
    sim.set_max_in_flight(10_000);
    let Err(err) = sim.run_for(sc.duration_s) else {
        panic!("expected the statistics budget to stop the run");
    };
    let RunError::StatisticsOverBudget(o) = &err else {
        panic!("expected the statistics budget, got {err}");
    };
    assert_eq!(o.limit, 3_000_000);
    assert!(o.bytes > o.limit, "{o:?}");
    assert!(o.nodes > 50, "{o:?}");
    assert!(o.node_bytes > 30_000, "{o:?}");
    let msg = err.to_string();
    assert!(msg.contains("latency statistics take"), "{msg}");
    assert!(msg.contains(&format!("node {} holds", o.node)), "{msg}");
    assert!(msg.contains("seed 5"), "{msg}");
    assert!(sim.report().conservation.ok);
    // The default budget (300 MB) holds the same run to its end.
    let mut sim = Sim::new(&sc, 5).unwrap();
    assert!(sim.run_for(sc.duration_s).is_ok());
}

/// Each request publishes 50,000 messages in a loop. A publish with no hop
/// is stored, and so acknowledged, in the instant it is sent, so the whole
/// loop happens in one instant. Before same-instant work was bounded
/// (`engine/event.rs`, `MAX_NESTING`), each acknowledgement continued the
/// loop one level deeper on the stack: about 2,000 iterations overflowed a
/// test thread's 2 MiB (and far fewer the browser's 1 MiB wasm stack).
const INSTANT_PUBLISH_LOOP: &str = r#"
    version = 1
    name = "instant publishes in a loop"
    duration_s = 1
    [nodes.src]
    kind = "source"
    target = "api"
    arrival = { process = "poisson", rate = 2 }
    [nodes.api]
    kind = "service"
    steps = [ { repeat = { count = 50000, steps = [ { publish = { broker = "q" } } ] } } ]
    [nodes.q]
    kind = "broker"
    capacity = 1000000
    process = { dist = "constant", value_s = 0.000001 }
"#;

#[test]
fn same_instant_work_of_any_length_runs_without_deep_recursion() {
    let sc = scenario(INSTANT_PUBLISH_LOOP);
    let mut sim = Sim::new(&sc, 5).unwrap();
    let report = sim.run_for(sc.duration_s).unwrap();
    assert!(report.conservation.ok);
    let api = &report.nodes["api"];
    assert!(api.completed > 0, "{api:?}");
    // Every request's 50,000 publishes were stored (none refused), each
    // request's all in its one instant.
    let q = report.nodes["q"].broker.as_ref().unwrap();
    assert_eq!(q.rejected, 0, "{q:?}");
    assert_eq!(q.published, 50_000 * api.completed, "{q:?}");
}

/// An event-loop service publishes (stored and acknowledged in the same
/// instant) and then computes for 1 ms. The publish's instant answer moved
/// the job on into its compute, and then the step that made the call gave
/// the job's worker back as if it were still waiting: the compute's end
/// found a parked job and was dropped, and every request stayed in flight
/// for good. Now a step lets go of the worker only while its calls are
/// outstanding. At 10 req/s for 10 s (warm-up 1 s), about 90 requests
/// complete, each in about 1 ms.
const EVENT_LOOP_INSTANT_CALL: &str = r#"
    version = 1
    name = "event loop, instant publish, then compute"
    duration_s = 10
    warmup_s = 1
    [nodes.src]
    kind = "source"
    target = "api"
    arrival = { process = "poisson", rate = 10 }
    [nodes.api]
    kind = "service"
    model = "event_loop"
    steps = [
      { publish = { broker = "q" } },
      { compute = { dist = "constant", value_s = 0.001 } },
    ]
    [nodes.q]
    kind = "broker"
    process = { dist = "constant", value_s = 0.000001 }
"#;

#[test]
fn an_event_loop_job_whose_call_ends_at_once_runs_on() {
    let sc = scenario(EVENT_LOOP_INSTANT_CALL);
    let report = Sim::new(&sc, 9).unwrap().run_for(sc.duration_s).unwrap();
    assert!(report.conservation.ok);
    let api = &report.nodes["api"];
    assert!(api.completed > 50, "{api:?}");
    assert!(api.in_flight <= 1, "{api:?}");
    assert!((api.sojourn_s.p50 - 0.001).abs() < 1e-4, "{api:?}");
}

/// A consumer whose handler takes 1 s a message while 5,000 messages a
/// second pile up for 5 s, then is cut off from it: each message now fails
/// at once (no replica to route to) and its fallback of 0 s answers at
/// once, so the consumer takes the next message in the same instant. That loop recursed once a
/// message (about 25,000 deep) and overflowed the stack; now it is bounded
/// like all same-instant work (`MAX_NESTING`).
const CONSUMER_DRAINS_AT_ONCE: &str = r#"
    version = 1
    name = "a backlog drained in one instant"
    duration_s = 8
    faults = [ { at_s = 5, duration_s = 3, kind = "partition", target = "q", peer = "worker" } ]
    [nodes.src]
    kind = "source"
    target = "api"
    arrival = { process = "poisson", rate = 5000 }
    [nodes.api]
    kind = "service"
    workers = 1000
    steps = [ { publish = { broker = "q" } } ]
    [nodes.q]
    kind = "broker"
    capacity = 1000000
    consumers = 1
    max_attempts = 1
    handler = { to = "worker", fallback = { latency = { dist = "constant", value_s = 0 } } }
    [nodes.worker]
    kind = "service"
    service = { dist = "constant", value_s = 1 }
"#;

#[test]
fn a_backlog_drained_in_one_instant_runs_without_deep_recursion() {
    let sc = scenario(CONSUMER_DRAINS_AT_ONCE);
    let report = Sim::new(&sc, 4).unwrap().run_for(sc.duration_s).unwrap();
    assert!(report.conservation.ok);
    let q = report.nodes["q"].broker.as_ref().unwrap();
    // The backlog of the first 5 s (about 25,000) was drained at the cut.
    assert!(q.processed > 20_000, "{q:?}");
    assert!(q.backlog < 100, "{q:?}");
}

/// Job W holds lock `l` in service w for 10 ms; job V (in v, 5 ms later)
/// waits for it. When W lets go, V runs on in the same instant: its lock
/// step is empty, and its call to w arrives in W's replica, whose memory
/// (10 MB a request, limit 15) it pushes over the limit: the replica is
/// OOM-killed, W with it. W's program went on to its next step after the
/// release and found itself gone ("live job" panic, found by the swarm);
/// now it stops there.
const LOCK_RELEASE_KILLS_THE_HOLDER: &str = r#"
    version = 1
    name = "the lock's next holder OOM-kills the releaser"
    duration_s = 3
    [nodes.src_w]
    kind = "source"
    target = "w"
    arrival = { process = "constant", rate = 1 }
    [nodes.src_v]
    kind = "source"
    target = "v"
    hop = { dist = "constant", value_s = 0.005 }
    arrival = { process = "constant", rate = 1 }
    [nodes.w]
    kind = "service"
    workers = 4
    memory = { per_request_mb = 10, limit_mb = 15, restart_s = 0.1 }
    steps = [ { locked = { lock = "l", steps = [ { compute = { dist = "constant", value_s = 0.01 } } ] } } ]
    [nodes.v]
    kind = "service"
    workers = 4
    steps = [ { locked = { lock = "l", steps = [] } }, { call = { to = "w" } } ]
"#;

#[test]
fn a_lock_released_to_a_waiter_that_kills_the_releaser_ends_it_cleanly() {
    let sc = scenario(LOCK_RELEASE_KILLS_THE_HOLDER);
    let report = Sim::new(&sc, 3).unwrap().run_for(sc.duration_s).unwrap();
    assert!(report.conservation.ok);
    let w = &report.nodes["w"];
    // Every W is killed by its V's call (2 x 10 MB > 15 MB).
    assert!(w.oom_kills >= 2, "{w:?}");
    assert_eq!(w.completed, 0, "{w:?}");
}

/// 20,000 requests a second with a 50 ms deadline, passed down, into one
/// worker of 1 s: about 20,000 requests queue behind each one served, and
/// all of them have expired by the time the worker frees. Each is dropped
/// as it gets the worker, and its drop gave the worker to the next: one
/// stack frame pair per expired request, which overflowed a browser's
/// 1 MiB stack in PLUS-DEADLINES (the page's engine stopped answering).
/// Now a run of drops is bounded like all same-instant work
/// (`MAX_NESTING`); the run here is on a 512 KiB stack.
const EXPIRED_QUEUE: &str = r#"
    version = 1
    name = "a queue of expired requests"
    duration_s = 5
    [nodes.src]
    kind = "source"
    target = "api"
    timeout_s = 0.05
    deadline_propagation = true
    arrival = { process = "poisson", rate = 20000 }
    [nodes.api]
    kind = "service"
    service = { dist = "constant", value_s = 1 }
"#;

#[test]
fn a_queue_of_expired_requests_drains_without_deep_recursion() {
    let sc = scenario(EXPIRED_QUEUE);
    let report = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || Sim::new(&sc, 2).unwrap().run_for(sc.duration_s).unwrap())
        .unwrap()
        .join()
        .unwrap();
    assert!(report.conservation.ok);
    let api = &report.nodes["api"];
    // Four seconds of the queue behind each served request were dropped.
    assert!(api.expired > 50_000, "{api:?}");
}

/// A bounded run counts work (events and calls), not events: one request
/// whose service fans out 2,000 parallel calls at one instant is a few
/// events but 2,000 calls, and a slice of a run (the page's, the swarm's,
/// the classroom server's) must stop after it, not after 2,000 such events.
#[test]
fn a_bounded_run_counts_the_calls_an_event_makes() {
    let sc = scenario(
        r#"
        version = 1
        name = "wide fan-out"
        duration_s = 10
        [nodes.src]
        kind = "source"
        target = "api"
        arrival = { process = "poisson", rate = 10 }
        [nodes.api]
        kind = "service"
        workers = 1
        steps = [ { call = { to = "dep", count = 2000, parallel = true } } ]
        [nodes.dep]
        kind = "external"
        latency = { dist = "constant", value_s = 0.001 }
        "#,
    );
    let mut sim = Sim::new(&sc, 5).unwrap();
    let reached = sim
        .run_until_bounded(sim_core::secs_to_ns(10.0), 100)
        .unwrap();
    assert!(!reached, "2,000 calls are past a bound of 100");
    // The slice stopped at the first event past the bound: the one that
    // made the fan-out (the source's arrival is one call, the delivery a
    // few events, then 2,000 calls at once).
    assert!(sim.work() >= 2_000 && sim.work() < 2_100, "{}", sim.work());
    assert!(sim.events() < 10, "{}", sim.events());
    // Work is events plus calls, and only grows.
    let before = sim.work();
    sim.run_until_bounded(sim_core::secs_to_ns(10.0), 1)
        .unwrap();
    assert!(sim.work() > before);
}

/// A zero-time loop whose every turn fans out 1,000 calls, 999 of them
/// refused at once by a pool of one connection that lets nobody wait (no
/// event each): the stall guard counts work too, so it stops after about
/// 10 x the threshold in work (50,000 units: some 50 turns), not after
/// the threshold's 5,000 events (about 1,700 turns, 1.7 million calls; at
/// the default threshold, 300 million).
#[test]
fn a_zero_time_loop_that_fans_out_stops_on_its_work() {
    let sc = scenario(
        r#"
        version = 1
        name = "zero-time fan-out loop"
        duration_s = 30
        [nodes.src]
        kind = "source"
        target = "api"
        arrival = { process = "closed", users = 10, think = { dist = "constant", value_s = 0 } }
        [nodes.api]
        kind = "service"
        workers = 100
        pools = { p = { size = 1, max_waiters = 0 } }
        steps = [ { call = { to = "dep", count = 1000, parallel = true, pool = "p" } } ]
        [nodes.dep]
        kind = "external"
        latency = { dist = "constant", value_s = 0 }
        "#,
    );
    let mut sim = Sim::new(&sc, 3).unwrap();
    sim.set_stall_events(5_000);
    let err = sim.run_for(sc.duration_s).unwrap_err();
    let RunError::Stalled(s) = &err else {
        panic!("expected a stall, got {err}");
    };
    assert_eq!(s.at, 0);
    assert!(s.events < 5_000, "{s:?}");
    assert!(s.events + s.calls >= 50_000 && s.calls > 40_000, "{s:?}");
    assert!(err.to_string().contains("calls"), "{err}");
    assert!(!s.looping.is_empty(), "the loop is named: {err}");
}
