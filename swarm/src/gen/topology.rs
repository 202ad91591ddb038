//! Random valid topologies: every node kind with every field
//! (docs/SCENARIOS.md, "Nodes"), wired so calls never form a cycle.
//!
//! Serving nodes (services, externals, balancers) are put in a random order;
//! a handler calls only nodes after its own service, and a balancer's
//! backends come after it, so the call graph is a DAG with fan-out and
//! depth. Brokers' consumers may call anything (a cycle through a broker is
//! asynchronous and legal).

use super::steps::{Steps, Targets};
use super::values::{policy, Values};
use crate::rng::Gen;
use serde_json::{json, Map, Value};

/// The shape of one generated topology.
pub struct Shape {
    pub sources: u64,
    pub services: u64,
    pub externals: u64,
    pub balancers: u64,
    pub databases: u64,
    pub caches: u64,
    pub brokers: u64,
    /// Typical size of counts (repeat, fan-out).
    pub count_typ: u64,
    /// Handler length.
    pub max_steps: u64,
}

impl Shape {
    pub fn random(g: &mut Gen) -> Shape {
        Shape {
            sources: g.int(1, 3),
            services: g.int(1, 6),
            externals: g.int(0, 2),
            balancers: g.int(0, 1),
            databases: g.int(0, 2),
            caches: g.int(0, 2),
            brokers: g.int(0, 2),
            count_typ: 5,
            max_steps: 5,
        }
    }
}

/// Serving nodes in call order: (name, kind).
fn serving_order(g: &mut Gen, s: &Shape) -> Vec<(String, &'static str)> {
    let mut order: Vec<(String, &'static str)> = Vec::new();
    order.extend((0..s.services).map(|i| (format!("svc{i}"), "service")));
    order.extend((0..s.externals).map(|i| (format!("ext{i}"), "external")));
    order.extend((0..s.balancers).map(|i| (format!("lb{i}"), "load_balancer")));
    for i in (1..order.len()).rev() {
        let j = g.index(i + 1);
        order.swap(i, j);
    }
    // The last must be a backend candidate for the balancers before it.
    if let Some(pos) = order.iter().rposition(|(_, k)| *k != "load_balancer") {
        let last = order.len() - 1;
        order.swap(pos, last);
    }
    order
}

/// A random valid scenario document.
pub fn scenario(v: &mut Values, s: &Shape) -> Value {
    let order = serving_order(v.g, s);
    let mut nodes = Map::new();
    let dbs: Vec<(String, Vec<String>)> = (0..s.databases)
        .map(|i| {
            let tables = (0..v.g.int(1, 3)).map(|t| format!("t{t}")).collect();
            (format!("db{i}"), tables)
        })
        .collect();
    let caches: Vec<String> = (0..s.caches).map(|i| format!("cache{i}")).collect();
    let brokers: Vec<String> = (0..s.brokers).map(|i| format!("q{i}")).collect();
    // Endpoints are decided first: callers refer to them.
    let endpoints: Vec<Vec<String>> = order
        .iter()
        .map(|(_, k)| match *k == "service" && v.g.chance(0.3) {
            true => (0..v.g.int(1, 2)).map(|e| format!("ep{e}")).collect(),
            false => Vec::new(),
        })
        .collect();
    for (i, (name, kind)) in order.iter().enumerate() {
        let later = &order[i + 1..];
        let node = match *kind {
            "service" => {
                let pools: Vec<String> = (0..v.g.int(0, 2)).map(|p| format!("pool{p}")).collect();
                let targets = Targets {
                    callable: later
                        .iter()
                        .zip(&endpoints[i + 1..])
                        .map(|((n, _), e)| (n.clone(), e.clone()))
                        .collect(),
                    dbs: dbs.clone(),
                    caches: caches.clone(),
                    brokers: brokers.clone(),
                    pools: pools.clone(),
                };
                let steps = Steps {
                    t: &targets,
                    count_typ: s.count_typ,
                };
                service(v, &steps, s, &pools, &endpoints[i])
            }
            "external" => external(v),
            _ => balancer(v, later),
        };
        nodes.insert(name.clone(), node);
    }
    for (name, tables) in &dbs {
        nodes.insert(name.clone(), database(v, tables));
    }
    for name in &caches {
        nodes.insert(name.clone(), cache(v));
    }
    let all: Vec<(String, Vec<String>)> = order
        .iter()
        .zip(&endpoints)
        .map(|((n, _), e)| (n.clone(), e.clone()))
        .collect();
    for name in &brokers {
        nodes.insert(name.clone(), broker(v, &all));
    }
    for i in 0..s.sources {
        nodes.insert(format!("src{i}"), source(v, &all));
    }
    limit_connections(v, &mut nodes);
    unserverless_backends(&mut nodes);
    top_level(v, nodes)
}

/// Some databases limit their connections (`max_connections`); every query
/// to one then takes its connection from a pool of its own in the caller
/// (`conn_DB`), as validation requires.
fn limit_connections(v: &mut Values, nodes: &mut Map<String, Value>) {
    let mut limited = Vec::new();
    for (name, node) in nodes.iter_mut() {
        if node["kind"] == "database" && v.g.chance(0.3) {
            node["max_connections"] = json!(v.int(1, 20, 1_000_000));
            limited.push(name.clone());
        }
    }
    for node in nodes.values_mut() {
        if node["kind"] != "service" {
            continue;
        }
        let mut used = Vec::new();
        pool_queries(node, &limited, &mut used);
        for db in used {
            if !node["pools"].is_object() {
                node["pools"] = json!({});
            }
            node["pools"][format!("conn_{db}")] = pool(v);
        }
    }
}

/// Points every query to a database in `limited` at pool `conn_DB`
/// (nested steps included); collects the databases it did.
fn pool_queries(x: &mut Value, limited: &[String], used: &mut Vec<String>) {
    match x {
        Value::Object(m) => {
            if let Some(Value::Object(q)) = m.get_mut("query") {
                if let Some(db) = q.get("db").and_then(|d| d.as_str()).map(String::from) {
                    if limited.contains(&db) {
                        q.insert("pool".into(), json!(format!("conn_{db}")));
                        if !used.contains(&db) {
                            used.push(db);
                        }
                    }
                }
            }
            for (_, y) in m.iter_mut() {
                pool_queries(y, limited, used);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|y| pool_queries(y, limited, used)),
        _ => {}
    }
}

fn top_level(v: &mut Values, nodes: Map<String, Value>) -> Value {
    let duration = Gen::round3(v.g.uniform(2.0, 60.0));
    let mut doc = Map::new();
    doc.insert("version".into(), json!(1));
    doc.insert("name".into(), json!("swarm"));
    doc.insert("duration_s".into(), json!(duration));
    if v.g.chance(0.5) {
        doc.insert(
            "warmup_s".into(),
            json!(Gen::round3(duration * v.g.uniform(0.0, 0.5))),
        );
    }
    let mut window_s = 1.0;
    if v.g.chance(0.5) {
        window_s = v.secs(0.05, 5.0);
        doc.insert(
            "metrics".into(),
            json!({ "window_s": window_s, "max_windows": v.int(1, 300, 100_000) }),
        );
    }
    if v.g.chance(0.5) {
        doc.insert(
            "traces".into(),
            json!({ "every": v.int(0, 20, 1_000_000), "keep": v.int(0, 40, 10_000) }),
        );
    }
    if v.g.chance(0.4) {
        let target = Gen::round3(v.g.uniform(0.5, 0.999));
        doc.insert(
            "slo".into(),
            json!({ "latency_s": v.secs(1e-3, 2.0), "target": target }),
        );
        if v.g.chance(0.5) {
            doc.insert("alerts".into(), alerts(v, window_s, target));
        }
    }
    if v.g.chance(0.2) {
        let mut layout = Map::new();
        for k in nodes.keys() {
            if v.g.chance(0.5) {
                layout.insert(
                    k.clone(),
                    json!({ "x": v.g.int(0, 800), "y": v.g.int(0, 600) }),
                );
            }
        }
        doc.insert("layout".into(), Value::Object(layout));
    }
    doc.insert("nodes".into(), Value::Object(nodes));
    Value::Object(doc)
}

/// Alert rules whose windows are whole metrics windows of `window_s`, on
/// an SLO of `target` (a burn rate can reach 1 / (1 - target)).
fn alerts(v: &mut Values, window_s: f64, target: f64) -> Value {
    let mut a = Map::new();
    for i in 0..v.g.int(1, 3) {
        let long = v.int(1, 60, 100_000);
        let short = v.g.int(1, long);
        let rule = if v.g.chance(0.5) {
            json!({ "kind": "threshold", "window_s": long as f64 * window_s, "above": v.prob(0.05) })
        } else {
            json!({
                "kind": "burn_rate",
                "long_s": long as f64 * window_s,
                "short_s": short as f64 * window_s,
                "above": Gen::round3(v.g.uniform(0.1, 0.95) / (1.0 - target)),
            })
        };
        a.insert(format!("alert{i}"), rule);
    }
    Value::Object(a)
}

fn queue(v: &mut Values, m: &mut Map<String, Value>) {
    if v.g.chance(0.4) {
        let mut q = Map::new();
        if v.g.chance(0.7) {
            q.insert("capacity".into(), json!(v.int(0, 100, 100_000_000)));
        }
        if v.g.chance(0.4) {
            q.insert("discipline".into(), json!(v.g.pick(&["fifo", "lifo"])));
        }
        m.insert("queue".into(), Value::Object(q));
    }
}

const BALANCE: [&str; 5] = [
    "round_robin",
    "random",
    "least_connections",
    "power_of_two",
    "sticky",
];

fn service(v: &mut Values, st: &Steps, s: &Shape, pools: &[String], eps: &[String]) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("service"));
    m.insert("workers".into(), json!(v.int(1, 16, 100_000)));
    if v.g.chance(0.4) {
        m.insert("replicas".into(), json!(v.int(1, 4, 1000)));
    }
    if v.g.chance(0.3) {
        m.insert("balance".into(), json!(v.g.pick(&BALANCE)));
    }
    if v.g.chance(0.25) {
        m.insert("model".into(), json!(v.g.pick(&["threads", "event_loop"])));
    }
    queue(v, &mut m);
    if eps.is_empty() || v.g.chance(0.5) {
        if v.g.chance(0.3) {
            m.insert("service".into(), v.dist(1e-3, 5e-2, 0.05, true));
        } else {
            m.insert("steps".into(), json!(st.handler(v, s.max_steps)));
        }
    }
    if !eps.is_empty() {
        let e: Map<String, Value> = eps
            .iter()
            .map(|n| (n.clone(), json!({ "steps": st.handler(v, s.max_steps) })))
            .collect();
        m.insert("endpoints".into(), Value::Object(e));
    }
    service_limits(v, &mut m);
    if !pools.is_empty() {
        let p: Map<String, Value> = pools.iter().map(|n| (n.clone(), pool(v))).collect();
        m.insert("pools".into(), Value::Object(p));
    }
    Value::Object(m)
}

fn pool(v: &mut Values) -> Value {
    let mut p = Map::new();
    let size = v.int(1, 16, 100_000);
    p.insert("size".into(), json!(size));
    if v.g.chance(0.3) {
        p.insert("min_idle".into(), json!(v.g.int(0, size.min(100_000))));
    }
    if v.g.chance(0.5) {
        p.insert("acquire_timeout_s".into(), json!(v.secs(1e-3, 2.0)));
    }
    if v.g.chance(0.3) {
        p.insert("max_waiters".into(), json!(v.int(0, 50, u32::MAX as u64)));
    }
    Value::Object(p)
}

/// Contention, shedding, rate limits, memory, autoscaling, errors.
fn service_limits(v: &mut Values, m: &mut Map<String, Value>) {
    if v.g.chance(0.15) {
        m.insert(
            "contention".into(),
            json!({ "cores": v.int(1, 8, 100_000), "penalty": v.secs0(1e-4, 1e-2, 0.3) }),
        );
    }
    if v.g.chance(0.15) {
        m.insert("max_in_flight".into(), json!(v.int(1, 50, 10_000_000)));
    }
    if v.g.chance(0.15) {
        let rl = if v.g.chance(0.5) {
            json!({ "algorithm": "token_bucket", "rate": v.rate(1.0, 500.0),
                    "burst": v.int(1, 50, 1_000_000), "per_client": v.g.chance(0.5) })
        } else {
            json!({ "algorithm": "leaky_bucket", "rate": v.rate(1.0, 500.0),
                    "capacity": v.int(0, 50, 10_000_000), "per_client": v.g.chance(0.5) })
        };
        m.insert("rate_limit".into(), rl);
    }
    if v.g.chance(0.15) {
        let base = Gen::round3(v.g.uniform(0.0, 500.0));
        let mut mem = Map::new();
        mem.insert("base_mb".into(), json!(base));
        mem.insert("per_request_mb".into(), json!(v.g.magnitude(0.1, 50.0)));
        if v.g.chance(0.7) {
            mem.insert(
                "limit_mb".into(),
                json!(Gen::round3(base + v.g.magnitude(10.0, 2000.0))),
            );
        }
        if v.g.chance(0.5) {
            mem.insert("restart_s".into(), json!(v.secs(0.1, 20.0)));
        }
        m.insert("memory".into(), Value::Object(mem));
    }
    if v.g.chance(0.15) {
        let min = v.int(1, 2, 1000);
        let max = v.int(min, min + 4, 1000).max(min);
        let metric = *v.g.pick(&["utilisation", "queue", "latency"]);
        m.insert(
            "autoscale".into(),
            json!({
                "metric": metric, "target": v.secs(0.01, 5.0), "min": min, "max": max,
                "interval_s": v.secs(0.5, 15.0), "cooldown_s": v.secs0(0.5, 30.0, 0.3),
                "boot_s": v.secs0(0.5, 30.0, 0.3),
            }),
        );
    }
    if v.g.chance(0.2) {
        m.insert("error_rate".into(), json!(v.prob(0.1)));
    }
    if !m.contains_key("autoscale") && v.g.chance(0.1) {
        // A serverless function: no fixed replicas.
        m.remove("replicas");
        let min = v.int(0, 2, 1000);
        let max = v.int(min.max(1), min + 20, 1000).max(min.max(1));
        m.insert(
            "serverless".into(),
            json!({
                "cold_start_s": v.secs0(0.01, 5.0, 0.2), "idle_timeout_s": v.secs(0.5, 60.0),
                "min_instances": min, "max_instances": max,
            }),
        );
    }
}

/// A load balancer cannot front a serverless function: its backends stay
/// plain services.
fn unserverless_backends(nodes: &mut Map<String, Value>) {
    let backends: Vec<String> = nodes
        .values()
        .filter_map(|n| n.get("backends").and_then(Value::as_array))
        .flatten()
        .filter_map(|b| b.as_str().map(str::to_string))
        .collect();
    for b in backends {
        if let Some(Value::Object(n)) = nodes.get_mut(&b) {
            n.remove("serverless");
        }
    }
}

fn external(v: &mut Values) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("external"));
    m.insert("latency".into(), v.dist(1e-3, 0.1, 0.05, true));
    if v.g.chance(0.4) {
        m.insert("error_rate".into(), json!(v.prob(0.1)));
    }
    if v.g.chance(0.3) {
        m.insert("max_concurrency".into(), json!(v.int(1, 20, 10_000_000)));
    }
    Value::Object(m)
}

fn balancer(v: &mut Values, later: &[(String, &'static str)]) -> Value {
    let cands: Vec<&String> = later
        .iter()
        .filter(|(_, k)| *k != "load_balancer")
        .map(|(n, _)| n)
        .collect();
    let mut backends: Vec<&String> = cands.iter().copied().filter(|_| v.g.chance(0.6)).collect();
    if backends.is_empty() {
        backends.push(cands[v.g.index(cands.len())]);
    }
    let mut m = Map::new();
    m.insert("kind".into(), json!("load_balancer"));
    m.insert("backends".into(), json!(backends));
    if v.g.chance(0.6) {
        m.insert("policy".into(), json!(v.g.pick(&BALANCE)));
    }
    if v.g.chance(0.4) {
        m.insert(
            "health_check".into(),
            json!({ "interval_s": v.secs(0.1, 5.0), "unhealthy_after": v.int(1, 3, 100) }),
        );
    }
    if v.g.chance(0.4) {
        m.insert("latency".into(), v.dist(1e-5, 1e-3, 0.2, false));
    }
    Value::Object(m)
}

fn database(v: &mut Values, tables: &[String]) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("database"));
    if v.g.chance(0.6) {
        m.insert("cores".into(), json!(v.int(1, 16, 100_000)));
    }
    queue(v, &mut m);
    if v.g.chance(0.4) {
        let mut c = Map::new();
        for (f, lo, hi) in [
            ("base_s", 1e-5, 1e-2),
            ("per_log_row_s", 1e-7, 1e-4),
            ("per_row_scanned_s", 1e-9, 1e-6),
            ("per_row_returned_s", 1e-7, 1e-4),
            ("write_s", 1e-5, 1e-2),
        ] {
            if v.g.chance(0.5) {
                c.insert(f.into(), json!(v.secs0(lo, hi, 0.2)));
            }
        }
        m.insert("cost".into(), Value::Object(c));
    }
    let t: Map<String, Value> = tables
        .iter()
        .map(|n| {
            let rows = if v.edge > 0.0 && v.g.chance(v.edge) {
                1e12
            } else {
                v.g.magnitude(1.0, 1e7).floor()
            };
            let mut tm = Map::new();
            tm.insert("rows".into(), json!(rows));
            if v.g.chance(0.3) {
                tm.insert("growth_per_s".into(), json!(v.g.magnitude(0.1, 1000.0)));
            }
            if v.g.chance(0.3) {
                tm.insert("row_bytes".into(), json!(v.g.magnitude(10.0, 10_000.0)));
            }
            (n.clone(), Value::Object(tm))
        })
        .collect();
    m.insert("tables".into(), Value::Object(t));
    database_layout(v, &mut m);
    Value::Object(m)
}

fn database_layout(v: &mut Values, m: &mut Map<String, Value>) {
    if v.g.chance(0.4) {
        let count = v.int(0, 3, 100);
        m.insert(
            "read_replicas".into(),
            json!({ "count": count, "lag_s": v.secs0(1e-3, 2.0, 0.2),
                    "on_partition": v.g.pick(&["available", "consistent"]) }),
        );
        if count > 0 && v.g.chance(0.6) {
            m.insert("reads".into(), json!("replicas"));
        }
    }
    if v.g.chance(0.3) {
        m.insert("shards".into(), json!(v.int(1, 4, 1000)));
    }
    if v.g.chance(0.2) {
        m.insert("error_rate".into(), json!(v.prob(0.1)));
    }
}

fn cache(v: &mut Values) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("cache"));
    if v.g.chance(0.6) {
        m.insert(
            "capacity_entries".into(),
            json!(v.int(1, 5000, 100_000_000)),
        );
    }
    if v.g.chance(0.3) {
        m.insert("capacity_mb".into(), json!(v.g.magnitude(0.01, 1000.0)));
    }
    if v.g.chance(0.4) {
        m.insert("ttl_s".into(), json!(v.secs(0.1, 60.0)));
    }
    if v.g.chance(0.3) {
        m.insert(
            "ttl_jitter".into(),
            json!(Gen::round3(v.g.uniform(0.0, 0.99))),
        );
    }
    if v.g.chance(0.3) {
        m.insert("policy".into(), json!(v.g.pick(&["lru", "fifo"])));
    }
    if v.g.chance(0.4) {
        m.insert("latency".into(), v.dist(1e-5, 1e-3, 0.2, false));
    }
    if v.g.chance(0.2) {
        m.insert("workers".into(), json!(v.int(1, 16, 100_000)));
    }
    if v.g.chance(0.2) {
        m.insert("warm".into(), json!(v.int(0, 500, 10_000_000)));
    }
    Value::Object(m)
}

fn broker(v: &mut Values, callable: &[(String, Vec<String>)]) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("broker"));
    m.insert("partitions".into(), json!(v.int(1, 8, 10_000)));
    if v.g.chance(0.4) {
        m.insert("capacity".into(), json!(v.int(1, 100, 100_000_000)));
        m.insert(
            "overflow".into(),
            json!(v.g.pick(&["reject", "drop", "block"])),
        );
    }
    m.insert("consumers".into(), json!(v.int(0, 4, 10_000)));
    if !callable.is_empty() && v.g.chance(0.5) {
        let (to, eps) = v.g.pick(callable).clone();
        let mut h = Map::new();
        h.insert("to".into(), json!(to));
        if !eps.is_empty() && v.g.chance(0.5) {
            h.insert("endpoint".into(), json!(v.g.pick(&eps)));
        }
        policy(v, &mut h, &[], 0.7);
        m.insert("handler".into(), Value::Object(h));
    } else {
        m.insert("process".into(), v.dist(1e-4, 2e-2, 0.05, true));
    }
    if v.g.chance(0.3) {
        m.insert("poison_rate".into(), json!(v.prob(0.1)));
    }
    if v.g.chance(0.4) {
        m.insert("max_attempts".into(), json!(v.int(1, 5, 1000)));
        if v.g.chance(0.5) {
            m.insert("dlq".into(), json!(true));
        }
    }
    if v.g.chance(0.4) {
        m.insert("redelivery_s".into(), json!(v.secs0(1e-3, 2.0, 0.2)));
    }
    Value::Object(m)
}

fn source(v: &mut Values, callable: &[(String, Vec<String>)]) -> Value {
    // Favour the head of the call order: deeper trees.
    let i = if v.g.chance(0.6) {
        0
    } else {
        v.g.index(callable.len())
    };
    let (target, eps) = callable[i].clone();
    let mut m = Map::new();
    m.insert("kind".into(), json!("source"));
    m.insert("target".into(), json!(target));
    if !eps.is_empty() && v.g.chance(0.6) {
        m.insert("endpoint".into(), json!(v.g.pick(&eps)));
    }
    m.insert("arrival".into(), arrival(v));
    if v.g.chance(0.2) {
        m.insert("client".into(), json!(v.g.pick(&["web", "mobile", "bot"])));
    }
    if v.g.chance(0.3) {
        let z = Gen::round3(v.g.uniform(0.0, 1.2));
        m.insert(
            "users".into(),
            json!({ "count": v.int(1, 1000, 100_000_000), "zipf": z }),
        );
    }
    if v.g.chance(0.3) {
        m.insert("items".into(), v.count(10, false, false));
    }
    policy(v, &mut m, &[], 0.8);
    Value::Object(m)
}

fn arrival(v: &mut Values) -> Value {
    match v.g.weighted(&[5, 2, 2, 2]) {
        0 => json!({ "process": "poisson", "rate": v.rate(1.0, 300.0) }),
        1 => json!({ "process": "constant", "rate": v.rate(1.0, 300.0) }),
        2 => {
            let n = v.g.int(1, 4);
            let mut at = 0.0;
            let mut points = Vec::new();
            for i in 0..n {
                if i > 0 {
                    at += Gen::round3(v.g.uniform(0.5, 20.0));
                }
                let rate = if v.g.chance(0.2) {
                    0.0
                } else {
                    v.rate(1.0, 300.0)
                };
                points.push(json!({ "at_s": at, "rate": rate }));
            }
            points.push(json!({ "at_s": Gen::round3(at + 1.0), "rate": v.rate(1.0, 300.0) }));
            json!({ "process": "schedule", "points": points,
                    "shape": v.g.pick(&["step", "linear"]), "poisson": v.g.chance(0.7) })
        }
        _ => json!({ "process": "closed", "users": v.int(1, 50, 1_000_000),
                     "think": v.dist(1e-3, 1.0, 0.05, false) }),
    }
}
