//! Cross-field validation of a typed scenario. Every error names the dotted
//! path of the offending field.

use crate::dist::DistSpec;
use crate::scenario::{ArrivalSpec, NodeKind, NodeSpec, Scenario, ScenarioError};
use crate::spec::*;
use std::collections::BTreeMap;

type R = Result<(), ScenarioError>;

fn err(path: impl Into<String>, msg: impl Into<String>) -> ScenarioError {
    ScenarioError::new(path, msg)
}

fn finite_pos(path: &str, v: f64) -> R {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(err(path, format!("must be a finite number > 0, got {v}")))
    }
}

fn nonneg(path: &str, v: f64) -> R {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(err(path, format!("must be a finite number >= 0, got {v}")))
    }
}

fn prob(path: &str, v: f64) -> R {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(err(
            path,
            format!("must be a probability in [0, 1], got {v}"),
        ))
    }
}

fn int_range(path: &str, v: u64, lo: u64, hi: u64) -> R {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(err(path, format!("must be between {lo} and {hi}, got {v}")))
    }
}

/// Joins a "field: message" error from a spec's own `validate` onto `path`.
fn sub(path: &str, e: String) -> ScenarioError {
    match e.split_once(": ") {
        Some((f, m)) if !f.contains(' ') => err(format!("{path}.{f}"), m),
        _ => err(path, e),
    }
}

fn dist(path: &str, d: &DistSpec) -> R {
    d.validate().map_err(|e| sub(path, e))
}

fn rate(path: &str, r: f64) -> R {
    if r.is_finite() && r > 0.0 && r <= 1e7 {
        Ok(())
    } else {
        Err(err(
            path,
            format!("must be a rate in requests/s between 0 (exclusive) and 1e7, got {r}"),
        ))
    }
}

pub fn validate(sc: &Scenario) -> R {
    finite_pos("duration_s", sc.duration_s)?;
    if !(sc.warmup_s.is_finite() && sc.warmup_s >= 0.0 && sc.warmup_s < sc.duration_s) {
        return Err(err(
            "warmup_s",
            format!(
                "must be >= 0 and less than duration_s ({}), got {}",
                sc.duration_s, sc.warmup_s
            ),
        ));
    }
    finite_pos("metrics.window_s", sc.metrics.window_s)?;
    int_range(
        "metrics.max_windows",
        sc.metrics.max_windows as u64,
        1,
        100_000,
    )?;
    int_range("traces.keep", sc.traces.keep as u64, 0, 10_000)?;
    if let Some(slo) = &sc.slo {
        finite_pos("slo.latency_s", slo.latency_s)?;
        if !(slo.target > 0.0 && slo.target < 1.0) {
            return Err(err(
                "slo.target",
                format!("must be in (0, 1), e.g. 0.99, got {}", slo.target),
            ));
        }
    }
    if sc.nodes.is_empty() {
        return Err(err("nodes", "a scenario needs at least one node"));
    }
    for (name, pos) in &sc.layout {
        if !sc.nodes.contains_key(name) {
            return Err(err(
                format!("layout.{name}"),
                "names no node of this scenario",
            ));
        }
        if !(pos.x.is_finite() && pos.y.is_finite()) {
            return Err(err(
                format!("layout.{name}"),
                format!("x and y must be finite numbers, got ({}, {})", pos.x, pos.y),
            ));
        }
    }
    if !sc.nodes.values().any(|n| matches!(n, NodeSpec::Source(_))) {
        return Err(err(
            "nodes",
            "a scenario needs at least one source node (kind = \"source\")",
        ));
    }
    let v = Validator { sc };
    for (name, node) in &sc.nodes {
        let p = format!("nodes.{name}");
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(err(
                &p,
                "node names use letters, digits, '_' and '-' (1 to 64 characters)",
            ));
        }
        v.node(&p, name, node)?;
    }
    for (i, f) in sc.faults.iter().enumerate() {
        v.fault(&format!("faults[{i}]"), f)?;
    }
    v.acyclic()
}

struct Validator<'a> {
    sc: &'a Scenario,
}

impl Validator<'_> {
    fn kind_of(&self, name: &str) -> Option<NodeKind> {
        self.sc.nodes.get(name).map(|n| n.kind())
    }

    /// `name` must exist and be one of `kinds`.
    fn target(&self, path: &str, name: &str, kinds: &[NodeKind]) -> R {
        match self.kind_of(name) {
            None => {
                let known: Vec<&str> = self
                    .sc
                    .nodes
                    .iter()
                    .filter(|(_, n)| kinds.contains(&n.kind()))
                    .map(|(k, _)| k.as_str())
                    .collect();
                Err(err(
                    path,
                    format!("unknown node {name:?} (candidates: {})", known.join(", ")),
                ))
            }
            Some(k) if !kinds.contains(&k) => {
                let want: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                Err(err(
                    path,
                    format!(
                        "{name:?} is a {}; expected a {}",
                        k.as_str(),
                        want.join(" or ")
                    ),
                ))
            }
            Some(_) => Ok(()),
        }
    }

    fn endpoint(&self, path: &str, to: &str, ep: &Option<String>) -> R {
        let Some(ep) = ep else { return Ok(()) };
        match self.sc.nodes.get(to) {
            Some(NodeSpec::Service(s)) if s.endpoints.contains_key(ep) => Ok(()),
            Some(NodeSpec::Service(s)) => Err(err(
                path,
                format!(
                    "{to:?} has no endpoint {ep:?} (endpoints: {})",
                    s.endpoints.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
            Some(NodeSpec::LoadBalancer(lb)) => {
                for b in &lb.backends {
                    self.endpoint(path, b, &Some(ep.clone()))?;
                }
                Ok(())
            }
            _ => Err(err(path, "only services have endpoints")),
        }
    }

    fn count(&self, path: &str, c: &Count, allow_table: bool) -> R {
        c.validate(allow_table).map_err(|e| sub(path, e))
    }

    fn key(&self, path: &str, k: &KeySpec) -> R {
        k.validate().map_err(|e| sub(path, e))
    }

    fn policy(&self, p: &str, c: &CallPolicy, caller: Option<&str>) -> R {
        if let Some(h) = &c.hop {
            dist(&format!("{p}.hop"), h)?;
        }
        if let Some(b) = c.bandwidth_mbps {
            finite_pos(&format!("{p}.bandwidth_mbps"), b)?;
        }
        if let Some(b) = c.request_kb {
            nonneg(&format!("{p}.request_kb"), b)?;
        }
        if let Some(b) = c.response_kb {
            nonneg(&format!("{p}.response_kb"), b)?;
        }
        if let Some(cm) = &c.compression {
            if !(cm.ratio.is_finite() && cm.ratio >= 1.0) {
                return Err(err(
                    format!("{p}.compression.ratio"),
                    format!("must be >= 1, got {}", cm.ratio),
                ));
            }
            nonneg(&format!("{p}.compression.cpu_s_per_mb"), cm.cpu_s_per_mb)?;
        }
        if let Some(t) = c.timeout_s {
            finite_pos(&format!("{p}.timeout_s"), t)?;
        }
        if let Some(r) = &c.retries {
            int_range(&format!("{p}.retries.max"), r.max as u64, 0, 20)?;
            if let Some(b) = &r.backoff {
                b.validate()
                    .map_err(|e| sub(&format!("{p}.retries.backoff"), e))?;
            }
            if let Some(b) = &r.budget {
                b.validate()
                    .map_err(|e| sub(&format!("{p}.retries.budget"), e))?;
            }
        }
        if let Some(b) = &c.breaker {
            b.validate().map_err(|e| sub(&format!("{p}.breaker"), e))?;
        }
        if let Some(f) = &c.fallback {
            if let Some(l) = &f.latency {
                dist(&format!("{p}.fallback.latency"), l)?;
            }
        }
        if let Some(h) = &c.hedge {
            finite_pos(&format!("{p}.hedge.after_s"), h.after_s)?;
        }
        if let Some(pool) = &c.pool {
            let pools = match caller.and_then(|c| self.sc.nodes.get(c)) {
                Some(NodeSpec::Service(s)) => &s.pools,
                _ => {
                    return Err(err(
                        format!("{p}.pool"),
                        "only calls made by a service can use a pool",
                    ))
                }
            };
            if !pools.contains_key(pool) {
                return Err(err(
                    format!("{p}.pool"),
                    format!(
                        "no pool {pool:?} in nodes.{}.pools (pools: {})",
                        caller.unwrap_or(""),
                        pools.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        if c.idempotency_key && !c.side_effect {
            return Err(err(
                format!("{p}.idempotency_key"),
                "only meaningful with side_effect = true",
            ));
        }
        Ok(())
    }

    fn steps(&self, p: &str, caller: &str, steps: &[StepSpec], depth: u32, locks: u32) -> R {
        if depth > 4 {
            return Err(err(
                p,
                "steps nest too deeply (at most 4 levels of repeat/locked/choose/on_miss)",
            ));
        }
        if steps.len() > 1000 {
            return Err(err(p, "at most 1000 steps"));
        }
        for (i, st) in steps.iter().enumerate() {
            self.step(&format!("{p}[{i}]"), caller, st, depth, locks)?;
        }
        Ok(())
    }

    fn step(&self, p: &str, caller: &str, st: &StepSpec, depth: u32, locks: u32) -> R {
        const SERVING: &[NodeKind] = &[
            NodeKind::Service,
            NodeKind::External,
            NodeKind::LoadBalancer,
        ];
        match st {
            StepSpec::Compute(d) => dist(&format!("{p}.compute"), d),
            StepSpec::Call(c) => {
                let cp = format!("{p}.call");
                self.target(&format!("{cp}.to"), &c.to, SERVING)?;
                self.endpoint(&format!("{cp}.endpoint"), &c.to, &c.endpoint)?;
                if let Some(n) = &c.count {
                    self.count(&format!("{cp}.count"), n, false)?;
                }
                self.policy(&cp, &c.policy, Some(caller))
            }
            StepSpec::Query(q) => {
                let qp = format!("{p}.query");
                self.target(&format!("{qp}.db"), &q.db, &[NodeKind::Database])?;
                if let Some(NodeSpec::Database(db)) = self.sc.nodes.get(&q.db) {
                    if !db.tables.contains_key(&q.table) {
                        return Err(err(
                            format!("{qp}.table"),
                            format!(
                                "no table {:?} in nodes.{} (tables: {})",
                                q.table,
                                q.db,
                                db.tables.keys().cloned().collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                }
                if let Some(n) = &q.rows {
                    self.count(&format!("{qp}.rows"), n, true)?;
                }
                if let Some(n) = &q.count {
                    self.count(&format!("{qp}.count"), n, false)?;
                }
                if q.page_size == Some(0) {
                    return Err(err(format!("{qp}.page_size"), "must be >= 1"));
                }
                if let Some(k) = &q.key {
                    self.key(&format!("{qp}.key"), k)?;
                }
                self.policy(&qp, &q.policy, Some(caller))
            }
            StepSpec::CacheRead(c) => {
                let cp = format!("{p}.cache_read");
                self.target(&format!("{cp}.cache"), &c.cache, &[NodeKind::Cache])?;
                self.key(&format!("{cp}.key"), &c.key)?;
                nonneg(&format!("{cp}.size_kb"), c.size_kb)?;
                self.policy(&cp, &c.policy, Some(caller))?;
                self.steps(
                    &format!("{cp}.on_miss"),
                    caller,
                    &c.on_miss,
                    depth + 1,
                    locks,
                )
            }
            StepSpec::Write(w) => {
                let wp = format!("{p}.write");
                self.key(&format!("{wp}.key"), &w.key)?;
                if let Some(c) = &w.cache {
                    self.target(&format!("{wp}.cache"), c, &[NodeKind::Cache])?;
                } else if w.invalidate != Invalidate::None {
                    return Err(err(
                        format!("{wp}.cache"),
                        "invalidation needs the cache to invalidate",
                    ));
                }
                Ok(())
            }
            StepSpec::Publish(pb) => {
                let pp = format!("{p}.publish");
                self.target(&format!("{pp}.broker"), &pb.broker, &[NodeKind::Broker])?;
                if let Some(k) = &pb.key {
                    self.key(&format!("{pp}.key"), k)?;
                }
                self.policy(&pp, &pb.policy, Some(caller))
            }
            StepSpec::Repeat(r) => {
                let rp = format!("{p}.repeat");
                self.count(&format!("{rp}.count"), &r.count, false)?;
                self.steps(&format!("{rp}.steps"), caller, &r.steps, depth + 1, locks)
            }
            StepSpec::Parallel(branches) => {
                let pp = format!("{p}.parallel");
                if branches.is_empty() || branches.len() > 32 {
                    return Err(err(&pp, "needs 1 to 32 calls"));
                }
                for (i, b) in branches.iter().enumerate() {
                    let bp = format!("{pp}[{i}]");
                    match b {
                        StepSpec::Call(c) if c.count.is_none() => {}
                        StepSpec::Query(q) if q.count.is_none() => {}
                        StepSpec::Publish(_) => {}
                        _ => return Err(err(&bp, "each branch of `parallel` is a single call, query or publish (no count)")),
                    }
                    self.step(&bp, caller, b, depth, locks)?;
                }
                Ok(())
            }
            StepSpec::Locked(l) => {
                let lp = format!("{p}.locked");
                if locks >= 2 {
                    return Err(err(&lp, "at most 2 nested locks"));
                }
                if l.lock.is_empty() {
                    return Err(err(format!("{lp}.lock"), "must name a lock"));
                }
                if let Some(k) = &l.key {
                    self.key(&format!("{lp}.key"), k)?;
                }
                self.steps(
                    &format!("{lp}.steps"),
                    caller,
                    &l.steps,
                    depth + 1,
                    locks + 1,
                )
            }
            StepSpec::Choose(bs) => {
                let cp = format!("{p}.choose");
                if bs.is_empty() {
                    return Err(err(&cp, "needs at least one branch"));
                }
                let mut total = 0.0;
                for (i, b) in bs.iter().enumerate() {
                    prob(&format!("{cp}[{i}].p"), b.p)?;
                    total += b.p;
                    self.steps(
                        &format!("{cp}[{i}].steps"),
                        caller,
                        &b.steps,
                        depth + 1,
                        locks,
                    )?;
                }
                if (total - 1.0).abs() > 1e-9 {
                    return Err(err(
                        &cp,
                        format!("branch probabilities must add up to 1, got {total}"),
                    ));
                }
                Ok(())
            }
        }
    }

    fn queue(&self, p: &str, q: &QueueSpec) -> R {
        if let Some(c) = q.capacity {
            int_range(&format!("{p}.queue.capacity"), c, 0, 100_000_000)?;
        }
        Ok(())
    }

    fn node(&self, p: &str, name: &str, node: &NodeSpec) -> R {
        const ENTRY: &[NodeKind] = &[
            NodeKind::Service,
            NodeKind::External,
            NodeKind::LoadBalancer,
            NodeKind::Database,
            NodeKind::Cache,
            NodeKind::Broker,
        ];
        match node {
            NodeSpec::Source(s) => {
                self.target(
                    &format!("{p}.target"),
                    &s.target,
                    &[
                        NodeKind::Service,
                        NodeKind::External,
                        NodeKind::LoadBalancer,
                    ],
                )?;
                let _ = ENTRY;
                self.endpoint(&format!("{p}.endpoint"), &s.target, &s.endpoint)?;
                if s.policy.pool.is_some() {
                    return Err(err(format!("{p}.pool"), "sources have no pools"));
                }
                self.policy(p, &s.policy, None)?;
                if let Some(u) = &s.users {
                    int_range(&format!("{p}.users.count"), u.count, 1, 100_000_000)?;
                    if !(u.zipf.is_finite() && (0.0..=5.0).contains(&u.zipf)) {
                        return Err(err(format!("{p}.users.zipf"), "must be between 0 and 5"));
                    }
                }
                if let Some(i) = &s.items {
                    self.count(&format!("{p}.items"), i, false)?;
                    if matches!(i, Count::Dist(CountDist::Items { .. })) {
                        return Err(err(
                            format!("{p}.items"),
                            "a source draws the item count; it cannot refer to it",
                        ));
                    }
                }
                let ap = format!("{p}.arrival");
                match &s.arrival {
                    ArrivalSpec::Poisson { rate: r } | ArrivalSpec::Constant { rate: r } => {
                        rate(&format!("{ap}.rate"), *r)
                    }
                    ArrivalSpec::Schedule { points, .. } => {
                        if points.is_empty() {
                            return Err(err(format!("{ap}.points"), "needs at least one point"));
                        }
                        let mut last = -1.0;
                        for (i, pt) in points.iter().enumerate() {
                            let pp = format!("{ap}.points[{i}]");
                            if !(pt.at_s.is_finite() && pt.at_s >= 0.0 && pt.at_s > last) {
                                return Err(err(
                                    format!("{pp}.at_s"),
                                    "points must have increasing times >= 0",
                                ));
                            }
                            last = pt.at_s;
                            if !(pt.rate.is_finite() && pt.rate >= 0.0 && pt.rate <= 1e7) {
                                return Err(err(
                                    format!("{pp}.rate"),
                                    format!(
                                        "must be between 0 and 1e7 requests/s, got {}",
                                        pt.rate
                                    ),
                                ));
                            }
                        }
                        if points.iter().all(|p| p.rate == 0.0) {
                            return Err(err(format!("{ap}.points"), "every rate is 0: no traffic"));
                        }
                        Ok(())
                    }
                    ArrivalSpec::Closed { users, think } => {
                        int_range(&format!("{ap}.users"), *users as u64, 1, 1_000_000)?;
                        dist(&format!("{ap}.think"), think)
                    }
                }
            }
            NodeSpec::Service(s) => {
                int_range(&format!("{p}.workers"), s.workers as u64, 1, 100_000)?;
                int_range(&format!("{p}.replicas"), s.replicas as u64, 1, 1000)?;
                self.queue(p, &s.queue)?;
                if s.service.is_some() && !s.steps.is_empty() {
                    return Err(err(
                        format!("{p}.service"),
                        "give either `service` (one compute step) or `steps`, not both",
                    ));
                }
                if let Some(d) = &s.service {
                    dist(&format!("{p}.service"), d)?;
                }
                if s.service.is_none() && s.steps.is_empty() && s.endpoints.is_empty() {
                    return Err(err(
                        format!("{p}.service"),
                        "a service needs `service = { dist = ... }`, a list of `steps`, or `endpoints`",
                    ));
                }
                self.steps(&format!("{p}.steps"), name, &s.steps, 0, 0)?;
                for (en, e) in &s.endpoints {
                    if e.steps.is_empty() {
                        return Err(err(
                            format!("{p}.endpoints.{en}.steps"),
                            "an endpoint needs steps",
                        ));
                    }
                    self.steps(&format!("{p}.endpoints.{en}.steps"), name, &e.steps, 0, 0)?;
                }
                if let Some(c) = &s.contention {
                    int_range(&format!("{p}.contention.cores"), c.cores as u64, 1, 100_000)?;
                    nonneg(&format!("{p}.contention.penalty"), c.penalty)?;
                }
                if let Some(m) = s.max_in_flight {
                    int_range(&format!("{p}.max_in_flight"), m as u64, 1, 10_000_000)?;
                }
                if let Some(r) = &s.rate_limit {
                    let rp = format!("{p}.rate_limit");
                    match r {
                        RateLimitSpec::TokenBucket { rate: r, burst, .. } => {
                            rate(&format!("{rp}.rate"), *r)?;
                            if !(burst.is_finite() && *burst >= 1.0) {
                                return Err(err(
                                    format!("{rp}.burst"),
                                    format!("must be >= 1, got {burst}"),
                                ));
                            }
                        }
                        RateLimitSpec::LeakyBucket {
                            rate: r, capacity, ..
                        } => {
                            rate(&format!("{rp}.rate"), *r)?;
                            int_range(&format!("{rp}.capacity"), *capacity as u64, 0, 10_000_000)?;
                        }
                    }
                }
                if let Some(m) = &s.memory {
                    nonneg(&format!("{p}.memory.base_mb"), m.base_mb)?;
                    nonneg(&format!("{p}.memory.per_request_mb"), m.per_request_mb)?;
                    if let Some(l) = m.limit_mb {
                        finite_pos(&format!("{p}.memory.limit_mb"), l)?;
                        if l <= m.base_mb {
                            return Err(err(format!("{p}.memory.limit_mb"), "must exceed base_mb"));
                        }
                    }
                    finite_pos(&format!("{p}.memory.restart_s"), m.restart_s)?;
                }
                for (pn, pool) in &s.pools {
                    let pp = format!("{p}.pools.{pn}");
                    int_range(&format!("{pp}.size"), pool.size as u64, 1, 100_000)?;
                    if let Some(t) = pool.acquire_timeout_s {
                        finite_pos(&format!("{pp}.acquire_timeout_s"), t)?;
                    }
                }
                if let Some(a) = &s.autoscale {
                    let ap = format!("{p}.autoscale");
                    finite_pos(&format!("{ap}.target"), a.target)?;
                    int_range(&format!("{ap}.min"), a.min as u64, 1, 1000)?;
                    int_range(&format!("{ap}.max"), a.max as u64, a.min as u64, 1000)?;
                    finite_pos(&format!("{ap}.interval_s"), a.interval_s)?;
                    nonneg(&format!("{ap}.cooldown_s"), a.cooldown_s)?;
                    nonneg(&format!("{ap}.boot_s"), a.boot_s)?;
                }
                prob(&format!("{p}.error_rate"), s.error_rate)
            }
            NodeSpec::External(e) => {
                dist(&format!("{p}.latency"), &e.latency)?;
                prob(&format!("{p}.error_rate"), e.error_rate)?;
                if let Some(m) = e.max_concurrency {
                    int_range(&format!("{p}.max_concurrency"), m as u64, 1, 10_000_000)?;
                }
                Ok(())
            }
            NodeSpec::Database(d) => {
                int_range(&format!("{p}.cores"), d.cores as u64, 1, 100_000)?;
                int_range(&format!("{p}.shards"), d.shards as u64, 1, 1000)?;
                self.queue(p, &d.queue)?;
                let c = &d.cost;
                for (f, v) in [
                    ("base_s", c.base_s),
                    ("per_log_row_s", c.per_log_row_s),
                    ("per_row_scanned_s", c.per_row_scanned_s),
                    ("per_row_returned_s", c.per_row_returned_s),
                    ("write_s", c.write_s),
                ] {
                    nonneg(&format!("{p}.cost.{f}"), v)?;
                }
                if d.tables.is_empty() {
                    return Err(err(
                        format!("{p}.tables"),
                        "a database needs at least one table",
                    ));
                }
                for (tn, t) in &d.tables {
                    let tp = format!("{p}.tables.{tn}");
                    if !(t.rows.is_finite() && t.rows >= 0.0 && t.rows <= 1e12) {
                        return Err(err(format!("{tp}.rows"), "must be between 0 and 1e12"));
                    }
                    nonneg(&format!("{tp}.growth_per_s"), t.growth_per_s)?;
                    nonneg(&format!("{tp}.row_bytes"), t.row_bytes)?;
                }
                if let Some(r) = &d.read_replicas {
                    int_range(&format!("{p}.read_replicas.count"), r.count as u64, 0, 100)?;
                    nonneg(&format!("{p}.read_replicas.lag_s"), r.lag_s)?;
                }
                if d.reads == ReadRouting::Replicas
                    && d.read_replicas.as_ref().is_none_or(|r| r.count == 0)
                {
                    return Err(err(
                        format!("{p}.reads"),
                        "reads = \"replicas\" needs read_replicas with count >= 1",
                    ));
                }
                prob(&format!("{p}.error_rate"), d.error_rate)
            }
            NodeSpec::Cache(c) => {
                if let Some(n) = c.capacity_entries {
                    int_range(&format!("{p}.capacity_entries"), n, 1, 100_000_000)?;
                }
                if let Some(m) = c.capacity_mb {
                    finite_pos(&format!("{p}.capacity_mb"), m)?;
                }
                if let Some(t) = c.ttl_s {
                    finite_pos(&format!("{p}.ttl_s"), t)?;
                }
                if !(0.0..1.0).contains(&c.ttl_jitter) {
                    return Err(err(format!("{p}.ttl_jitter"), "must be in [0, 1)"));
                }
                dist(&format!("{p}.latency"), &c.latency)?;
                if let Some(w) = c.workers {
                    int_range(&format!("{p}.workers"), w as u64, 1, 100_000)?;
                }
                if let Some(w) = c.warm {
                    int_range(&format!("{p}.warm"), w, 0, 10_000_000)?;
                }
                Ok(())
            }
            NodeSpec::Broker(b) => {
                int_range(&format!("{p}.partitions"), b.partitions as u64, 1, 10_000)?;
                int_range(&format!("{p}.consumers"), b.consumers as u64, 0, 10_000)?;
                if let Some(c) = b.capacity {
                    int_range(&format!("{p}.capacity"), c, 1, 100_000_000)?;
                }
                match (&b.process, &b.handler) {
                    (Some(d), None) => dist(&format!("{p}.process"), d)?,
                    (None, Some(h)) => {
                        self.target(
                            &format!("{p}.handler.to"),
                            &h.to,
                            &[
                                NodeKind::Service,
                                NodeKind::External,
                                NodeKind::LoadBalancer,
                            ],
                        )?;
                        self.endpoint(&format!("{p}.handler.endpoint"), &h.to, &h.endpoint)?;
                        if h.policy.pool.is_some() {
                            return Err(err(
                                format!("{p}.handler.pool"),
                                "consumers have no pools",
                            ));
                        }
                        self.policy(&format!("{p}.handler"), &h.policy, None)?;
                    }
                    _ => {
                        return Err(err(
                            format!("{p}.process"),
                            "give either `process` (a duration) or `handler` (a call)",
                        ))
                    }
                }
                prob(&format!("{p}.poison_rate"), b.poison_rate)?;
                if let Some(m) = b.max_attempts {
                    int_range(&format!("{p}.max_attempts"), m as u64, 1, 1000)?;
                }
                if b.dlq && b.max_attempts.is_none() {
                    return Err(err(
                        format!("{p}.dlq"),
                        "a dead-letter queue needs max_attempts",
                    ));
                }
                nonneg(&format!("{p}.redelivery_s"), b.redelivery_s)
            }
            NodeSpec::LoadBalancer(lb) => {
                if lb.backends.is_empty() {
                    return Err(err(format!("{p}.backends"), "needs at least one backend"));
                }
                for (i, b) in lb.backends.iter().enumerate() {
                    self.target(
                        &format!("{p}.backends[{i}]"),
                        b,
                        &[NodeKind::Service, NodeKind::External],
                    )?;
                }
                if let Some(h) = &lb.health_check {
                    finite_pos(&format!("{p}.health_check.interval_s"), h.interval_s)?;
                    int_range(
                        &format!("{p}.health_check.unhealthy_after"),
                        h.unhealthy_after as u64,
                        1,
                        100,
                    )?;
                }
                if let Some(l) = &lb.latency {
                    dist(&format!("{p}.latency"), l)?;
                }
                Ok(())
            }
        }
    }

    fn fault(&self, p: &str, f: &FaultSpec) -> R {
        nonneg(&format!("{p}.at_s"), f.at_s)?;
        if let Some(d) = f.duration_s {
            finite_pos(&format!("{p}.duration_s"), d)?;
        }
        let kind = self.kind_of(&f.target);
        if kind.is_none() && !matches!(f.action, FaultAction::Spike { .. }) {
            return Err(err(
                format!("{p}.target"),
                format!("unknown node {:?}", f.target),
            ));
        }
        let reps = |k: Option<NodeKind>| match self.sc.nodes.get(&f.target) {
            Some(NodeSpec::Service(s)) => s
                .autoscale
                .as_ref()
                .map_or(s.replicas, |a| a.max.max(s.replicas)),
            Some(NodeSpec::Database(d)) => {
                d.shards + d.read_replicas.as_ref().map_or(0, |r| r.count)
            }
            _ => {
                let _ = k;
                1
            }
        };
        if let Some(r) = f.replica {
            if r >= reps(kind) {
                return Err(err(
                    format!("{p}.replica"),
                    format!("{:?} has only {} replicas", f.target, reps(kind)),
                ));
            }
        }
        let stationed = [
            NodeKind::Service,
            NodeKind::External,
            NodeKind::Database,
            NodeKind::Cache,
        ];
        match &f.action {
            FaultAction::Crash | FaultAction::Hang | FaultAction::Restart { .. } => {
                if !kind.is_some_and(|k| stationed.contains(&k)) {
                    return Err(err(format!("{p}.target"), "crash, hang and restart apply to services, externals, databases and caches"));
                }
                if let FaultAction::Restart { down_s, .. } = &f.action {
                    nonneg(&format!("{p}.down_s"), *down_s)?;
                }
                Ok(())
            }
            FaultAction::Slow { factor } => {
                finite_pos(&format!("{p}.factor"), *factor)?;
                if !kind.is_some_and(|k| stationed.contains(&k)) {
                    return Err(err(
                        format!("{p}.target"),
                        "slow applies to services, externals, databases and caches",
                    ));
                }
                Ok(())
            }
            FaultAction::Errors { p: pr } => prob(&format!("{p}.p"), *pr),
            FaultAction::NoisyNeighbour { steal } => {
                if !(0.0..0.95).contains(steal) {
                    return Err(err(format!("{p}.steal"), "must be in [0, 0.95)"));
                }
                Ok(())
            }
            FaultAction::Partition { peer } => {
                if peer == "replicas" {
                    if kind != Some(NodeKind::Database) {
                        return Err(err(
                            format!("{p}.peer"),
                            "peer = \"replicas\" partitions a database from its read replicas",
                        ));
                    }
                    Ok(())
                } else if self.kind_of(peer).is_none() {
                    Err(err(format!("{p}.peer"), format!("unknown node {peer:?}")))
                } else {
                    Ok(())
                }
            }
            FaultAction::Flush => {
                if kind != Some(NodeKind::Cache) {
                    return Err(err(format!("{p}.target"), "flush applies to caches"));
                }
                Ok(())
            }
            FaultAction::Scale { replicas } => {
                if kind != Some(NodeKind::Service) {
                    return Err(err(format!("{p}.target"), "scale applies to services"));
                }
                int_range(&format!("{p}.replicas"), *replicas as u64, 1, 1000)
            }
            FaultAction::Spike { factor } => finite_pos(&format!("{p}.factor"), *factor),
        }
    }

    /// Calls must not form a cycle (a request would recurse forever).
    fn acyclic(&self) -> R {
        fn callees<'a>(steps: &'a [StepSpec], out: &mut Vec<&'a str>) {
            for st in steps {
                match st {
                    StepSpec::Call(c) => out.push(&c.to),
                    StepSpec::Query(q) => out.push(&q.db),
                    StepSpec::CacheRead(c) => {
                        out.push(&c.cache);
                        callees(&c.on_miss, out);
                    }
                    StepSpec::Publish(p) => out.push(&p.broker),
                    StepSpec::Repeat(r) => callees(&r.steps, out),
                    StepSpec::Parallel(b) => callees(b, out),
                    StepSpec::Locked(l) => callees(&l.steps, out),
                    StepSpec::Choose(bs) => {
                        for b in bs {
                            callees(&b.steps, out);
                        }
                    }
                    StepSpec::Compute(_) | StepSpec::Write(_) => {}
                }
            }
        }
        let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, n) in &self.sc.nodes {
            let mut out = Vec::new();
            match n {
                NodeSpec::Service(s) => {
                    callees(&s.steps, &mut out);
                    for e in s.endpoints.values() {
                        callees(&e.steps, &mut out);
                    }
                }
                NodeSpec::LoadBalancer(lb) => out.extend(lb.backends.iter().map(|s| s.as_str())),
                NodeSpec::Broker(b) => {
                    // Consumers call asynchronously: a cycle through a broker
                    // does not recurse within one request.
                    let _ = b;
                }
                _ => {}
            }
            graph.insert(name, out);
        }
        let mut state: BTreeMap<&str, u8> = BTreeMap::new();
        fn visit<'a>(
            g: &BTreeMap<&'a str, Vec<&'a str>>,
            n: &'a str,
            state: &mut BTreeMap<&'a str, u8>,
            stack: &mut Vec<&'a str>,
        ) -> R {
            match state.get(n) {
                Some(2) => return Ok(()),
                Some(1) => {
                    let start = stack.iter().position(|s| *s == n).unwrap_or(0);
                    let mut cyc: Vec<&str> = stack[start..].to_vec();
                    cyc.push(n);
                    return Err(err(
                        format!("nodes.{n}"),
                        format!("calls form a cycle: {}", cyc.join(" -> ")),
                    ));
                }
                _ => {}
            }
            state.insert(n, 1);
            stack.push(n);
            for c in g.get(n).map(|v| v.as_slice()).unwrap_or(&[]) {
                visit(g, c, state, stack)?;
            }
            stack.pop();
            state.insert(n, 2);
            Ok(())
        }
        for name in graph.keys() {
            visit(&graph, name, &mut state, &mut Vec::new())?;
        }
        Ok(())
    }
}
