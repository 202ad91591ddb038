//! Databases that limit their connections (`max_connections`). Their
//! connections are the ones the callers' pools hold open, so every call to
//! such a database takes its connection from a pool, and a pool that
//! reaches one reaches nothing else: its open connections are that
//! database's.

use super::{at, err, R};
use crate::scenario::spec::{NodeSpec, Scenario};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn check(sc: &Scenario) -> R {
    let limited: BTreeSet<&str> = sc
        .nodes
        .iter()
        .filter(|(_, n)| matches!(n, NodeSpec::Database(d) if d.max_connections.is_some()))
        .map(|(name, _)| name.as_str())
        .collect();
    if limited.is_empty() {
        return Ok(());
    }
    // (caller, pool) -> the first node it reaches, and where.
    let mut reach: BTreeMap<(&str, &str), (&str, String)> = BTreeMap::new();
    for e in sc.call_edges() {
        let pool = e.policy.and_then(|p| p.pool.as_deref());
        let Some(pool) = pool else {
            if limited.contains(e.to) {
                return Err(err(
                    at(&e.path, "pool"),
                    format!(
                        "{} limits its connections (max_connections), and connections come \
                         from pools: name a pool of nodes.{}.pools",
                        e.to, e.from
                    ),
                ));
            }
            continue;
        };
        match reach.get(&(e.from, pool)) {
            Some((first, where_)) if *first != e.to => {
                if limited.contains(first) || limited.contains(e.to) {
                    return Err(err(
                        at(&e.path, "pool"),
                        format!(
                            "pool {pool:?} already reaches {first} (at {where_}); a pool that \
                             reaches a database with max_connections reaches nothing else \
                             (its open connections are that database's): give this call a \
                             pool of its own"
                        ),
                    ));
                }
            }
            Some(_) => {}
            None => {
                reach.insert((e.from, pool), (e.to, e.path.clone()));
            }
        }
    }
    Ok(())
}
