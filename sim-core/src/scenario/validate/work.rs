//! The work estimate: each number of a scenario is bounded, but not their
//! product. A request that fans out to a million calls, loops a million
//! times inside a loop of a million, or retries at every layer of a deep
//! chain (21^4 attempts) never finishes in a run anyone can wait for. This
//! multiplies counts, repeats, retry and hedge attempts along every call
//! path and refuses a scenario whose request can cost more than
//! [`MAX_WORK`] steps, naming the path that costs the most.

use super::{err, R};
use crate::scenario::spec::*;
use crate::scenario::visit::EdgeKind;
use std::collections::BTreeMap;

/// The most steps (computes, calls and their attempts) one request may
/// cost, at worst. The heaviest shipped scenario costs a few hundred; a
/// request of 10^5 steps takes longer to simulate than a lesson's run.
pub const MAX_WORK: f64 = 1e5;

/// What every count of the estimate needs beside its own numbers: the
/// most items a request can carry (the largest `items` of any source; a
/// source without one sends 1), which `{ dist = "items" }` counts multiply.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    costs: &'a BTreeMap<&'a str, Cost>,
    items: f64,
}

/// A node's cost per request it serves, and where its costliest step is:
/// `via` (the steps inside the node, `nodes.api.steps[0].repeat x1000 >
/// ...call x20`) and `next` (the node that step calls, if any).
#[derive(Clone, Default)]
struct Cost {
    work: f64,
    via: String,
    next: String,
}

/// The most steps one request of `sc` can cost, over its sources (the
/// estimate [`check`] bounds). The swarm tester uses it to tell a heavy
/// request from a runaway.
pub fn work_per_request(sc: &Scenario) -> f64 {
    let costs = node_costs(sc);
    sc.nodes
        .values()
        .filter_map(|node| match node {
            NodeSpec::Source(s) => {
                Some(attempts(&s.policy) * costs.get(s.target.as_str()).map_or(1.0, |c| c.work))
            }
            _ => None,
        })
        .fold(1.0, f64::max)
}

/// Refuses a scenario whose requests can cost more than [`MAX_WORK`]. The
/// call graph is acyclic (checked first), so nodes are costed callees
/// first, without recursion over the chain.
pub(super) fn check(sc: &Scenario) -> R {
    let costs = node_costs(sc);
    for (name, node) in &sc.nodes {
        let NodeSpec::Source(s) = node else { continue };
        let attempts = attempts(&s.policy);
        let work = attempts * costs.get(s.target.as_str()).map_or(1.0, |c| c.work);
        if work > MAX_WORK {
            return Err(err(
                format!("nodes.{name}"),
                format!(
                    "one request can cost {} steps (at most {}): {}. Lower a count, a repeat \
                     or the retries on this path",
                    show(work),
                    show(MAX_WORK),
                    trail(name, attempts, &s.target, &costs)
                ),
            ));
        }
    }
    Ok(())
}

/// Every node's cost, callees first (the call graph is acyclic, checked
/// before this runs, so no recursion over the chain).
fn node_costs(sc: &Scenario) -> BTreeMap<&str, Cost> {
    let items = sc
        .nodes
        .values()
        .map(|node| match node {
            NodeSpec::Source(s) => count(s.items.as_ref(), 1.0),
            _ => 1.0,
        })
        .fold(1.0, f64::max);
    let mut costs: BTreeMap<&str, Cost> = BTreeMap::new();
    for n in callees_first(sc) {
        let cost = node_cost(
            sc,
            n,
            Ctx {
                costs: &costs,
                items,
            },
        );
        costs.insert(n, cost);
    }
    costs
}

/// The costliest path from a source, step by step.
fn trail(src: &str, attempts: f64, target: &str, costs: &BTreeMap<&str, Cost>) -> String {
    let mut out = format!("{src} -> {target}");
    if attempts > 1.0 {
        out += &format!(" ({} attempts)", show(attempts));
    }
    let mut at = target;
    for _ in 0..costs.len() {
        let Some(c) = costs.get(at).filter(|c| !c.via.is_empty()) else {
            break;
        };
        out += &format!(": {}", c.via);
        if c.next.is_empty() {
            break;
        }
        out += &format!(" -> {}", c.next);
        at = &c.next;
    }
    out
}

fn show(x: f64) -> String {
    if x < 1e6 {
        format!("{x:.0}")
    } else {
        format!("{x:.2e}")
    }
}

/// Nodes in an order where every synchronous callee comes before its
/// callers (Kahn's algorithm on the reversed call graph).
fn callees_first(sc: &Scenario) -> Vec<&str> {
    let mut callers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut pending: BTreeMap<&str, usize> = sc.nodes.keys().map(|n| (n.as_str(), 0)).collect();
    for e in sc.call_edges() {
        if e.kind.synchronous() && e.kind != EdgeKind::Target && pending.contains_key(e.to) {
            callers.entry(e.to).or_default().push(e.from);
            *pending.entry(e.from).or_default() += 1;
        }
    }
    let mut ready: Vec<&str> = pending
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut order = Vec::with_capacity(pending.len());
    while let Some(n) = ready.pop() {
        order.push(n);
        for c in callers.get(n).into_iter().flatten() {
            let left = pending.get_mut(c).expect("a node");
            *left -= 1;
            if *left == 0 {
                ready.push(c);
            }
        }
    }
    order
}

fn node_cost(sc: &Scenario, name: &str, cx: Ctx) -> Cost {
    let heavier = |a: Cost, c: Cost| if c.work > a.work { c } else { a };
    let mut cost = match &sc.nodes[name] {
        NodeSpec::Service(s) => s
            .handlers(name)
            .into_iter()
            .map(|(path, steps)| steps_cost(&path, steps, cx))
            .fold(Cost::default(), heavier),
        NodeSpec::LoadBalancer(lb) => lb
            .backends
            .iter()
            .map(|b| Cost {
                work: 1.0 + cx.costs.get(b.as_str()).map_or(1.0, |c| c.work),
                via: format!("nodes.{name}.backends"),
                next: b.clone(),
            })
            .fold(Cost::default(), heavier),
        _ => Cost::default(),
    };
    cost.work = cost.work.max(1.0);
    cost
}

/// The cost of a list of steps: their sum; `via` follows the costliest.
fn steps_cost(path: &str, steps: &[StepSpec], cx: Ctx) -> Cost {
    let mut total = Cost::default();
    let mut heaviest = 0.0;
    for (i, step) in steps.iter().enumerate() {
        let c = step_cost(&format!("{path}[{i}]"), step, cx);
        total.work += c.work;
        if c.work > heaviest {
            heaviest = c.work;
            (total.via, total.next) = (c.via, c.next);
        }
    }
    total
}

fn step_cost(path: &str, step: &StepSpec, cx: Ctx) -> Cost {
    let nested =
        |suffix: &str, steps: &[StepSpec]| steps_cost(&format!("{path}{suffix}"), steps, cx);
    let count = |c: Option<&Count>| count(c, cx.items);
    let call = |kind: &str, mult: f64, to: &str| Cost {
        work: 1.0 + mult * cx.costs.get(to).map_or(1.0, |c| c.work),
        via: format!("{path}.{kind} x{}", show(mult)),
        next: to.to_string(),
    };
    match step {
        StepSpec::Compute(_) | StepSpec::Write(_) | StepSpec::Publish(_) => Cost {
            work: 1.0,
            ..Cost::default()
        },
        StepSpec::Call(c) => call("call", count(c.count.as_ref()) * attempts(&c.policy), &c.to),
        StepSpec::Query(q) => call(
            "query",
            count(q.count.as_ref()) * attempts(&q.policy),
            &q.db,
        ),
        StepSpec::CacheRead(c) => {
            let miss = nested(".cache_read.on_miss", &c.on_miss);
            Cost {
                work: attempts(&c.policy) + miss.work,
                ..miss
            }
        }
        StepSpec::Repeat(r) => {
            let inner = nested(".repeat.steps", &r.steps);
            let mult = count(Some(&r.count));
            let own = format!("{path}.repeat x{}", show(mult));
            Cost {
                work: 1.0 + mult * inner.work,
                via: if inner.via.is_empty() {
                    own
                } else {
                    format!("{own} > {}", inner.via)
                },
                next: inner.next,
            }
        }
        StepSpec::Parallel(branches) => nested(".parallel", branches),
        StepSpec::Locked(l) => nested(".locked.steps", &l.steps),
        StepSpec::Choose(bs) => bs
            .iter()
            .enumerate()
            .map(|(i, b)| nested(&format!(".choose[{i}].steps"), &b.steps))
            .fold(Cost::default(), |a, c| if c.work > a.work { c } else { a }),
    }
}

/// Attempts a call may make: the first, its retries, a hedge.
fn attempts(p: &CallPolicy) -> f64 {
    let retries = p.retries.as_ref().map_or(0, |r| r.max);
    let hedge = u32::from(p.hedge.is_some());
    f64::from(1 + retries + hedge)
}

/// A count at its typical worst: a constant, a uniform's top, a mean; an
/// item count at the most `items` a request can carry.
fn count(c: Option<&Count>, items: f64) -> f64 {
    match c {
        None => 1.0,
        Some(Count::Constant(n)) => f64::from(*n),
        Some(Count::Dist(d)) => match d {
            CountDist::Constant { value } => f64::from(*value),
            CountDist::Uniform { max, .. } => f64::from(*max),
            CountDist::Poisson { mean } | CountDist::Geometric { mean } => *mean,
            CountDist::Items { plus, times } => f64::from(*times) * items + f64::from(*plus),
            CountDist::Table { .. } => 1.0,
        },
    }
    .max(1.0)
}
