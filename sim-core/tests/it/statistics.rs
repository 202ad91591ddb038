//! What the report's statistics cover: the measured period after the
//! warm-up for every node kind, windows that say when they hold no
//! answer, the offered load per window, and time-averaged cache occupancy.

use sim_core::{secs_to_ns, Report, Scenario, Sim};

/// A service with a cache-aside read (misses query a database through a
/// pool) and a publish to a broker: every kind whose counters the warm-up
/// must cut.
const DATA: &str = r#"
version = 1
duration_s = 300
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 20 }
[nodes.api]
kind = "service"
workers = 8
pools.db = { size = 3 }
steps = [
  { cache_read = { cache = "cache", key = { space = "items", n = 2000, zipf = 0.9 }, on_miss = [
      { query = { db = "db", table = "items", kind = "pk", pool = "db", hop = { dist = "constant", value_s = 0.001 } } } ] } },
  { publish = { broker = "bus" } },
]
[nodes.cache]
kind = "cache"
capacity_entries = 300
[nodes.db]
kind = "database"
cores = 2
tables = { items = { rows = 2000 } }
[nodes.bus]
kind = "broker"
partitions = 2
consumers = 2
process = { dist = "exponential", mean_s = 0.02 }
"#;

fn run(warmup_s: f64, end_s: f64) -> Report {
    let mut sc = Scenario::from_toml_str(DATA).unwrap();
    sc.warmup_s = warmup_s;
    let mut sim = Sim::new(&sc, 4).unwrap();
    sim.run_until(secs_to_ns(end_s)).unwrap();
    sim.report()
}

#[test]
fn data_node_counters_cover_the_measured_period() {
    // The warm-up changes no draw, so the run with a warm-up of W counts
    // exactly what the run without one counts between W and the end: the
    // whole run's count minus the count at W.
    let (w, end) = (100.0, 300.0);
    let (cut, all, head) = (run(w, end), run(0.0, end), run(0.0, w));
    let cache = |r: &Report| r.nodes["cache"].cache.clone().unwrap();
    let (c, a, h) = (cache(&cut), cache(&all), cache(&head));
    assert_eq!(c.hits, a.hits - h.hits);
    assert_eq!(c.misses, a.misses - h.misses);
    assert_eq!(c.fills, a.fills - h.fills);
    assert_eq!(c.evictions, a.evictions - h.evictions);
    // A cold cache misses more at first: the measured hit rate is higher
    // than the whole run's.
    assert!(c.hit_rate > a.hit_rate, "{} vs {}", c.hit_rate, a.hit_rate);
    let db = |r: &Report| r.nodes["db"].database.clone().unwrap();
    assert_eq!(db(&cut).queries, db(&all).queries - db(&head).queries);
    assert_eq!(db(&cut).reads, db(&all).reads - db(&head).reads);
    let bus = |r: &Report| r.nodes["bus"].broker.clone().unwrap();
    assert_eq!(
        bus(&cut).published,
        bus(&all).published - bus(&head).published
    );
    assert_eq!(
        bus(&cut).processed,
        bus(&all).processed - bus(&head).processed
    );
    let pool = |r: &Report| r.nodes["api"].pools["db"].clone();
    assert_eq!(
        pool(&cut).acquired,
        pool(&all).acquired - pool(&head).acquired
    );
    // Whole-run node counts still balance (conservation).
    assert!(cut.conservation.ok);
    assert_eq!(cut.nodes["api"].arrived, all.nodes["api"].arrived);
}

#[test]
fn before_the_warm_up_ends_data_counters_are_zero() {
    let r = run(200.0, 100.0);
    assert_eq!(r.nodes["cache"].cache.as_ref().unwrap().hits, 0);
    assert_eq!(r.nodes["db"].database.as_ref().unwrap().queries, 0);
    assert_eq!(r.nodes["bus"].broker.as_ref().unwrap().processed, 0);
    assert_eq!(r.nodes["api"].pools["db"].acquired, 0);
}

#[test]
fn cache_occupancy_is_time_averaged() {
    // The cache holds at most 300 entries and is full long before 100 s
    // (2,000 lookups over 2,000 keys): from then on its average is its
    // capacity, exactly; from the start, the filling lowers the average.
    let full = run(100.0, 300.0).nodes["cache"].cache.clone().unwrap();
    assert_eq!(full.entries, 300);
    assert_eq!(full.entries_mean, 300.0);
    let from_start = run(0.0, 300.0).nodes["cache"].cache.clone().unwrap();
    assert!(
        from_start.entries_mean < 300.0 && from_start.entries_mean > 250.0,
        "{}",
        from_start.entries_mean
    );
}

/// One server that crashes for 20 s: windows in the outage answer nothing.
const OUTAGE: &str = r#"
version = 1
duration_s = 60
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 50 }
retries = { max = 2 }
[nodes.api]
kind = "service"
workers = 4
service = { dist = "exponential", mean_s = 0.02 }
[[faults]]
at_s = 20
duration_s = 20
target = "api"
kind = "crash"
"#;

#[test]
fn a_window_without_answers_has_no_percentiles_and_shows_the_offered_load() {
    let sc = Scenario::from_toml_str(OUTAGE).unwrap();
    let r = Sim::new(&sc, 9).unwrap().run_for(60.0).unwrap();
    let (mut empty, mut full) = (0, 0);
    for w in &r.series.windows {
        if w.completed == 0 {
            empty += 1;
            assert_eq!((w.p50_s, w.p95_s, w.p99_s), (None, None, None), "{w:?}");
            // While the server is down each request is refused at once and
            // retried at once (no backoff): three attempts, all in the
            // window the request arrived in (the crash's first window also
            // retries the requests the crash killed).
            if w.t_start_s >= 21.0 {
                assert_eq!(w.attempts, 3 * w.arrived, "{w:?}");
            }
        } else {
            full += 1;
            assert!(w.p99_s.is_some() && w.p50_s <= w.p99_s);
        }
        assert!(w.attempts >= w.arrived, "{w:?}");
    }
    assert!(
        empty >= 18 && full >= 38,
        "{empty} empty, {full} with answers"
    );
    // The windows' attempts add up to the client edge's.
    let total: u64 = r.series.windows.iter().map(|w| w.attempts).sum();
    assert_eq!(
        total,
        r.edges
            .iter()
            .find(|e| e.from == "clients")
            .unwrap()
            .attempts
    );
    // A node's arrival rate over the windows adds up to its arrivals.
    let arrived: f64 = r
        .series
        .windows
        .iter()
        .map(|w| w.nodes[0].arrival_rate_rps * (w.t_end_s - w.t_start_s))
        .sum();
    assert!(
        (arrived - r.nodes["api"].arrived as f64).abs() < 1e-6,
        "{arrived}"
    );
}
