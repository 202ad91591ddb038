//! What a live reconfiguration may change, and what it did change.

use super::super::config::{BodyCfg, Config};
use crate::scenario::{Scenario, ScenarioError};
use std::fmt;

fn live_err(path: impl Into<String>, why: impl fmt::Display) -> ScenarioError {
    ScenarioError::new(path, format!("{why}: cannot change live; restart"))
}

/// Refuses what cannot change live, naming the field.
pub(super) fn live(old: &Config, fresh: &Config) -> Result<(), ScenarioError> {
    let (a, b) = (&old.spec, &fresh.spec);
    if a.metrics.window_s != b.metrics.window_s {
        return Err(live_err(
            "metrics.window_s",
            "the time series' window width is fixed for a run",
        ));
    }
    if a.metrics != b.metrics {
        return Err(live_err(
            "metrics",
            "the time series' shape is fixed for a run",
        ));
    }
    if a.warmup_s != b.warmup_s {
        return Err(live_err("warmup_s", "the warm-up is fixed for a run"));
    }
    let names = |c: &Config| c.links.iter().map(|l| l.name.clone()).collect::<Vec<_>>();
    if names(old) != names(fresh) {
        return Err(live_err("links", "links were added, removed or renamed"));
    }
    nodes(old, fresh)?;
    edges(old, fresh)?;
    faults(a, b)
}

fn nodes(old: &Config, fresh: &Config) -> Result<(), ScenarioError> {
    let names_old: Vec<&str> = old.nodes.iter().map(|n| n.name.as_str()).collect();
    let names_new: Vec<&str> = fresh.nodes.iter().map(|n| n.name.as_str()).collect();
    if names_old != names_new {
        let which = names_old
            .iter()
            .find(|n| !names_new.contains(n))
            .or(names_new.iter().find(|n| !names_old.contains(n)))
            .map_or(String::new(), |n| format!(".{n}"));
        return Err(live_err(
            format!("nodes{which}"),
            "nodes were added, removed or renamed",
        ));
    }
    for (o, n) in old.nodes.iter().zip(&fresh.nodes) {
        let p = format!("nodes.{}", o.name);
        if o.kind != n.kind {
            return Err(live_err(format!("{p}.kind"), "the node's kind changed"));
        }
        if o.serverless.is_some() != n.serverless.is_some() {
            return Err(live_err(
                format!("{p}.serverless"),
                "a service became a serverless function or stopped being one",
            ));
        }
        if o.pool_names != n.pool_names {
            return Err(live_err(
                format!("{p}.pools"),
                "pools were added, removed or renamed",
            ));
        }
        body(old, fresh, &p, &o.body, &n.body)?;
    }
    Ok(())
}

fn body(
    old: &Config,
    fresh: &Config,
    p: &str,
    a: &BodyCfg,
    b: &BodyCfg,
) -> Result<(), ScenarioError> {
    match (a, b) {
        (BodyCfg::Source(a), BodyCfg::Source(b)) => {
            if a.arrival.closed() != b.arrival.closed() {
                return Err(live_err(
                    format!("{p}.arrival.process"),
                    "switching between open and closed loop",
                ));
            }
            if a.client != b.client {
                return Err(live_err(
                    format!("{p}.client"),
                    "the client identity changed",
                ));
            }
        }
        (BodyCfg::Service(a), BodyCfg::Service(b)) => {
            if a.programs.len() != b.programs.len() {
                return Err(live_err(
                    format!("{p}.endpoints"),
                    "endpoints were added or removed",
                ));
            }
            for (k, (pa, pb)) in a.programs.iter().zip(&b.programs).enumerate() {
                let shape_a = pa.ops.iter().map(|x| x.shape(&old.locks));
                let shape_b = pb.ops.iter().map(|y| y.shape(&fresh.locks));
                if pa.ops.len() == pb.ops.len() && shape_a.clone().eq(shape_b.clone()) {
                    continue;
                }
                let first =
                    shape_a
                        .zip(shape_b)
                        .position(|(x, y)| x != y)
                        .map_or(String::new(), |i| {
                            format!(
                                " (first difference: {} became {})",
                                pa.ops[i].kind(),
                                pb.ops[i].kind()
                            )
                        });
                return Err(live_err(
                    format!("{p}.steps"),
                    format!("the steps of program {k} were added, removed or reordered{first}"),
                ));
            }
        }
        (BodyCfg::Database(a), BodyCfg::Database(b)) => {
            if a.shards != b.shards {
                return Err(live_err(format!("{p}.shards"), "resharding"));
            }
            if a.table_names != b.table_names {
                return Err(live_err(
                    format!("{p}.tables"),
                    "tables were added, removed or renamed",
                ));
            }
        }
        (BodyCfg::Cache(a), BodyCfg::Cache(b)) if a.policy != b.policy => {
            return Err(live_err(format!("{p}.policy"), "the eviction policy"));
        }
        (BodyCfg::Balancer(a), BodyCfg::Balancer(b)) if a.backends != b.backends => {
            return Err(live_err(
                format!("{p}.backends"),
                "the backend list changed",
            ));
        }
        _ => {}
    }
    Ok(())
}

fn edges(old: &Config, fresh: &Config) -> Result<(), ScenarioError> {
    let original = old.edges.len() - old.retired.len();
    if original != fresh.edges.len() {
        return Err(live_err(
            "nodes",
            format!(
                "the number of calls changed ({original} -> {})",
                fresh.edges.len()
            ),
        ));
    }
    for (a, b) in old.edges.iter().zip(&fresh.edges) {
        if a.from != b.from || a.task.kind() != b.task.kind() {
            return Err(live_err(
                b.site.clone(),
                "a call was added, removed or reordered",
            ));
        }
        if a.to != b.to && !matches!(b.task, super::super::config::EdgeTask::Handler { .. }) {
            return Err(live_err(
                b.site.clone(),
                "only service calls can be retargeted",
            ));
        }
    }
    Ok(())
}

fn faults(a: &Scenario, b: &Scenario) -> Result<(), ScenarioError> {
    if a.faults.len() != b.faults.len() {
        return Err(live_err("faults", "faults were added or removed"));
    }
    for (i, (a, b)) in a.faults.iter().zip(&b.faults).enumerate() {
        if a == b {
            continue;
        }
        let same_kind = std::mem::discriminant(&a.action) == std::mem::discriminant(&b.action);
        let peer = |f: &crate::spec::FaultSpec| match &f.action {
            crate::spec::FaultAction::Partition { peer } => Some(peer.clone()),
            _ => None,
        };
        if a.at_s != b.at_s
            || a.duration_s != b.duration_s
            || a.target != b.target
            || a.replica != b.replica
            || !same_kind
            || peer(a) != peer(b)
        {
            return Err(live_err(
                format!("faults[{i}]"),
                "a fault's timing, target or kind (only its parameters may change)",
            ));
        }
    }
    Ok(())
}

/// The fields that changed (as dotted paths), and notes on those that
/// change nothing live.
pub(super) fn changes(old: &Scenario, new: &Scenario) -> (Vec<String>, Vec<String>) {
    let mut changed = Vec::new();
    diff(
        "",
        &serde_json::to_value(old).unwrap_or_default(),
        &serde_json::to_value(new).unwrap_or_default(),
        &mut changed,
    );
    let mut notes = Vec::new();
    for p in &changed {
        if p.ends_with(".warm") {
            notes.push(format!(
                "{p}: caches are warmed at the start only; the running cache keeps its contents"
            ));
        } else if p == "duration_s" || p == "seed" || p.starts_with("layout") {
            notes.push(format!("{p}: no effect on a running simulation"));
        }
    }
    (changed, notes)
}

/// Leaf paths where two JSON documents differ (`a.b[2].c`).
fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    if a == b {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let n = Value::Null;
                diff(
                    &join(k),
                    x.get(k).unwrap_or(&n),
                    y.get(k).unwrap_or(&n),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ => out.push(path.to_string()),
    }
}
