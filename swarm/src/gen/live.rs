//! Faults (docs/SCENARIOS.md, "Faults"), scheduled in the document or
//! injected live, and the run plan: live faults, reconfigurations to an
//! edited copy of the same topology, and the instants at which the runs
//! observe the simulation.

use super::mutate;
use super::values::Values;
use crate::case::{Action, Op, Plan};
use crate::rng::Gen;
use serde_json::{json, Map, Value};

/// (name, kind, replicas a fault may name) of every node of a document.
pub fn nodes_of(doc: &Value) -> Vec<(String, String, u64)> {
    let Some(nodes) = doc.get("nodes").and_then(|n| n.as_object()) else {
        return Vec::new();
    };
    nodes
        .iter()
        .map(|(name, n)| {
            let kind = n
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or("")
                .to_string();
            let int = |f: &str| n.get(f).and_then(|x| x.as_u64());
            let reps = match kind.as_str() {
                "service" => {
                    let r = int("replicas").unwrap_or(1);
                    let max = n
                        .pointer("/autoscale/max")
                        .and_then(|x| x.as_u64())
                        .unwrap_or(0);
                    r.max(max)
                }
                "database" => {
                    let rr = n.pointer("/read_replicas/count").and_then(|x| x.as_u64());
                    int("shards").unwrap_or(1).saturating_add(rr.unwrap_or(0))
                }
                _ => 1,
            };
            (name.clone(), kind, reps)
        })
        .collect()
}

const STATIONED: [&str; 4] = ["service", "external", "database", "cache"];

/// One fault table aimed at a node that it applies to, starting within
/// `horizon_s`.
pub fn fault(v: &mut Values, nodes: &[(String, String, u64)], horizon_s: f64) -> Option<Value> {
    let kinds = [
        "crash",
        "restart",
        "hang",
        "slow",
        "errors",
        "noisy_neighbour",
        "partition",
        "flush",
        "scale",
        "spike",
    ];
    let kind = *v.g.pick(&kinds);
    let fits = |k: &str| match kind {
        "crash" | "restart" | "hang" | "slow" | "errors" => STATIONED.contains(&k),
        "noisy_neighbour" | "scale" => k == "service",
        "flush" => k == "cache",
        "spike" => k == "source" || k == "service",
        _ => true,
    };
    let cands: Vec<&(String, String, u64)> = nodes.iter().filter(|(_, k, _)| fits(k)).collect();
    if cands.is_empty() {
        return None;
    }
    let (target, tkind, reps) = cands[v.g.index(cands.len())].clone();
    let mut m = Map::new();
    m.insert("kind".into(), json!(kind));
    m.insert("target".into(), json!(target));
    m.insert(
        "at_s".into(),
        json!(Gen::round3(v.g.uniform(0.0, horizon_s))),
    );
    if v.g.chance(0.7) {
        m.insert("duration_s".into(), json!(v.secs(0.1, horizon_s.max(0.2))));
    }
    if reps > 1 && kind != "scale" && v.g.chance(0.4) {
        m.insert("replica".into(), json!(v.g.int(0, reps - 1)));
    }
    match kind {
        "restart" => {
            m.insert("drain".into(), json!(v.g.chance(0.5)));
            m.insert("down_s".into(), json!(v.secs0(0.1, 10.0, 0.1)));
        }
        "slow" => {
            m.insert("factor".into(), json!(v.g.magnitude(0.1, 20.0)));
        }
        "errors" => {
            m.insert("p".into(), json!(v.prob(1.0)));
        }
        "noisy_neighbour" => {
            m.insert("steal".into(), json!(Gen::round3(v.g.uniform(0.0, 0.94))));
        }
        "partition" => {
            let peer = if tkind == "database" && v.g.chance(0.5) {
                "replicas".to_string()
            } else {
                nodes[v.g.index(nodes.len())].0.clone()
            };
            m.insert("peer".into(), json!(peer));
        }
        "scale" => {
            m.insert("replicas".into(), json!(v.int(1, 5, 1000)));
        }
        "spike" => {
            m.insert("factor".into(), json!(v.g.magnitude(0.1, 5.0)));
        }
        _ => {}
    }
    Some(Value::Object(m))
}

/// Adds 0 to 3 scheduled faults to the document.
pub fn schedule_faults(v: &mut Values, doc: &mut Value, horizon_s: f64) {
    let nodes = nodes_of(doc);
    let n = v.g.weighted(&[4, 3, 2, 1]);
    let faults: Vec<Value> = (0..n).filter_map(|_| fault(v, &nodes, horizon_s)).collect();
    if !faults.is_empty() {
        doc["faults"] = Value::Array(faults);
    }
}

/// The run plan of a document: live faults and reconfigurations to edited
/// copies (each edit applies to the document of the previous one), and
/// observation instants.
pub fn plan(g: &mut Gen, doc: &Value, edge: f64) -> Plan {
    let horizon_s = doc
        .get("duration_s")
        .and_then(|d| d.as_f64())
        .filter(|d| d.is_finite() && *d > 0.0)
        .unwrap_or(600.0)
        .min(600.0);
    let nodes = nodes_of(doc);
    let mut v = Values { g, edge };
    let mut actions = Vec::new();
    let mut current = doc.clone();
    // Early enough that a run stopped by its event budget still gets there
    // (shipped scenarios last minutes; generated ones at most a minute).
    let live_s = horizon_s.min(60.0);
    for _ in 0..v.g.weighted(&[3, 3, 2, 1]) {
        let at_s = Gen::round3(v.g.uniform(0.0, live_s));
        if v.g.chance(0.5) {
            if let Some(f) = fault(&mut v, &nodes, live_s) {
                actions.push(Action {
                    at_s,
                    op: Op::Fault(f),
                });
            }
        } else {
            current = mutate::reconfigure(v.g, &current);
            actions.push(Action {
                at_s,
                op: Op::Reconfigure(current.clone()),
            });
        }
    }
    actions.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    let instants = |g: &mut Gen| {
        let mut t: Vec<f64> = (0..g.int(1, 4))
            .map(|_| Gen::round3(g.uniform(0.0, live_s)))
            .collect();
        t.sort_by(f64::total_cmp);
        t
    };
    let observe_a = instants(v.g);
    let observe_b = instants(v.g);
    let same_at_s = Gen::round3(v.g.uniform(0.0, live_s));
    Plan {
        horizon_s,
        actions,
        observe_a,
        observe_b,
        same_at_s,
        max_work: None,
    }
}
