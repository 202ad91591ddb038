//! The rules of each node kind, of faults, and of the call graph.

use super::{at, dist, err, name, num, opt, rate_limit, Validator, R, SERVING};
use crate::scenario::spec::*;
use crate::scenario::visit::EdgeKind;
use std::collections::BTreeMap;

impl Validator<'_> {
    pub(super) fn source(&self, p: &str, s: &SourceSpec) -> R {
        self.target(&at(p, "target"), &s.target, SERVING)?;
        self.endpoint(&at(p, "endpoint"), &s.target, &s.endpoint)?;
        if s.policy.pool.is_some() {
            return Err(err(at(p, "pool"), "sources have no pools"));
        }
        self.policy(p, &s.policy, None)?;
        if let Some(u) = &s.users {
            num(&at(p, "users.count"), u.count as f64)?;
            num(&at(p, "users.zipf"), u.zipf)?;
        }
        if let Some(i) = &s.items {
            super::count(&at(p, "items"), i, false)?;
            if matches!(i, Count::Dist(CountDist::Items { .. })) {
                return Err(err(
                    at(p, "items"),
                    "a source draws the item count; it cannot refer to it",
                ));
            }
        }
        arrival(&at(p, "arrival"), &s.arrival)
    }

    pub(super) fn service(&self, p: &str, name_: &str, s: &ServiceSpec) -> R {
        num(&at(p, "workers"), s.workers as f64)?;
        num(&at(p, "replicas"), s.replicas as f64)?;
        self.queue(p, &s.queue)?;
        if s.service.is_some() && !s.steps.is_empty() {
            return Err(err(
                at(p, "service"),
                "give either `service` (one compute step) or `steps`, not both",
            ));
        }
        if let Some(d) = &s.service {
            dist(&at(p, "service"), d)?;
        }
        if s.service.is_none() && s.steps.is_empty() && s.endpoints.is_empty() {
            return Err(err(
                at(p, "service"),
                "a service needs `service = { dist = ... }`, a list of `steps`, or `endpoints`",
            ));
        }
        for (e, ep) in &s.endpoints {
            name(&format!("{p}.endpoints.{e}"), e)?;
            if ep.steps.is_empty() {
                return Err(err(
                    format!("{p}.endpoints.{e}.steps"),
                    "an endpoint needs steps",
                ));
            }
        }
        for (path, steps) in s.handlers(name_) {
            self.handler(&path, name_, steps)?;
        }
        service_limits(p, s)
    }

    pub(super) fn database(&self, p: &str, d: &DatabaseSpec) -> R {
        num(&at(p, "cores"), d.cores as f64)?;
        num(&at(p, "shards"), d.shards as f64)?;
        if let Some(m) = d.max_connections {
            num(&at(p, "max_connections"), m as f64)?;
        }
        self.queue(p, &d.queue)?;
        let c = &d.cost;
        for (f, v) in [
            ("base_s", c.base_s),
            ("per_log_row_s", c.per_log_row_s),
            ("per_row_scanned_s", c.per_row_scanned_s),
            ("per_row_returned_s", c.per_row_returned_s),
            ("write_s", c.write_s),
        ] {
            num(&format!("{p}.cost.{f}"), v)?;
        }
        if d.tables.is_empty() {
            return Err(err(at(p, "tables"), "a database needs at least one table"));
        }
        for (tn, t) in &d.tables {
            let tp = format!("{p}.tables.{tn}");
            name(&tp, tn)?;
            num(&at(&tp, "rows"), t.rows)?;
            num(&at(&tp, "growth_per_s"), t.growth_per_s)?;
            num(&at(&tp, "row_bytes"), t.row_bytes)?;
        }
        if let Some(r) = &d.read_replicas {
            num(&at(p, "read_replicas.count"), r.count as f64)?;
            num(&at(p, "read_replicas.lag_s"), r.lag_s)?;
        }
        if d.reads == ReadRouting::Replicas && d.read_replicas.as_ref().is_none_or(|r| r.count == 0)
        {
            return Err(err(
                at(p, "reads"),
                "reads = \"replicas\" needs read_replicas with count >= 1",
            ));
        }
        num(&at(p, "error_rate"), d.error_rate)
    }

    pub(super) fn broker(&self, p: &str, b: &BrokerSpec) -> R {
        num(&at(p, "partitions"), b.partitions as f64)?;
        num(&at(p, "consumers"), b.consumers as f64)?;
        opt(&at(p, "capacity"), b.capacity.map(|c| c as f64))?;
        match (&b.process, &b.handler) {
            (Some(d), None) => dist(&at(p, "process"), d)?,
            (None, Some(h)) => {
                let hp = at(p, "handler");
                self.target(&at(&hp, "to"), &h.to, SERVING)?;
                self.endpoint(&at(&hp, "endpoint"), &h.to, &h.endpoint)?;
                if h.policy.pool.is_some() {
                    return Err(err(at(&hp, "pool"), "consumers have no pools"));
                }
                self.policy(&hp, &h.policy, None)?;
            }
            _ => {
                return Err(err(
                    at(p, "process"),
                    "give either `process` (a duration) or `handler` (a call)",
                ))
            }
        }
        num(&at(p, "poison_rate"), b.poison_rate)?;
        opt(&at(p, "max_attempts"), b.max_attempts.map(f64::from))?;
        if b.dlq && b.max_attempts.is_none() {
            return Err(err(at(p, "dlq"), "a dead-letter queue needs max_attempts"));
        }
        num(&at(p, "redelivery_s"), b.redelivery_s)?;
        // (Below a nanosecond is 0 in simulated time.)
        if crate::calendar::secs_to_ns(b.redelivery_s) == 0 && b.max_attempts.is_none() {
            // A message that fails at once (poison processed in 0 s, a
            // handler that is down or refuses) would be redelivered at once,
            // forever, in one instant.
            return Err(err(
                at(p, "redelivery_s"),
                "a failed message redelivered after 0 s and retried forever (no max_attempts) \
                 loops without simulated time moving when it fails at once (a poison message \
                 processed in 0 s, a handler that is down): give redelivery_s a duration, or \
                 set max_attempts",
            ));
        }
        Ok(())
    }

    pub(super) fn balancer(&self, p: &str, lb: &LoadBalancerSpec) -> R {
        if lb.backends.is_empty() {
            return Err(err(at(p, "backends"), "needs at least one backend"));
        }
        for (i, b) in lb.backends.iter().enumerate() {
            self.target(
                &format!("{p}.backends[{i}]"),
                b,
                &[NodeKind::Service, NodeKind::External],
            )?;
            if let Some(NodeSpec::Service(s)) = self.sc.nodes.get(b) {
                if s.serverless.is_some() {
                    return Err(err(
                        format!("{p}.backends[{i}]"),
                        format!("{b:?} is a serverless function, which places its own requests on instances: call it directly"),
                    ));
                }
            }
        }
        if let Some(h) = &lb.health_check {
            num(&at(p, "health_check.interval_s"), h.interval_s)?;
            num(
                &at(p, "health_check.unhealthy_after"),
                h.unhealthy_after as f64,
            )?;
        }
        lb.latency
            .as_ref()
            .map_or(Ok(()), |l| dist(&at(p, "latency"), l))
    }

    /// How many replicas a fault may name on its target.
    fn replicas_of(&self, target: &str) -> u32 {
        match self.sc.nodes.get(target) {
            Some(NodeSpec::Service(s)) => match (&s.autoscale, &s.serverless) {
                (_, Some(f)) => f.max_instances,
                (Some(a), None) => a.max.max(s.replicas),
                (None, None) => s.replicas,
            },
            Some(NodeSpec::Database(d)) => {
                d.shards + d.read_replicas.as_ref().map_or(0, |r| r.count)
            }
            _ => 1,
        }
    }

    pub(super) fn fault(&self, p: &str, f: &FaultSpec) -> R {
        num(&at(p, "at_s"), f.at_s)?;
        opt(&at(p, "duration_s"), f.duration_s)?;
        let kind = self.kind_of(&f.target);
        if kind.is_none() && !matches!(f.action, FaultAction::Spike { .. }) {
            return Err(err(at(p, "target"), format!("unknown node {:?}", f.target)));
        }
        let serverless = matches!(
            self.sc.nodes.get(&f.target),
            Some(NodeSpec::Service(s)) if s.serverless.is_some()
        );
        if serverless && matches!(f.action, FaultAction::Scale { .. }) {
            return Err(err(
                at(p, "target"),
                "a serverless function has no replica count to scale (set serverless.min_instances)",
            ));
        }
        if let Some(r) = f.replica {
            let n = self.replicas_of(&f.target);
            if r >= n {
                return Err(err(
                    at(p, "replica"),
                    format!("{:?} has only {n} replicas", f.target),
                ));
            }
        }
        self.fault_action(p, kind, &f.action)
    }

    fn fault_action(&self, p: &str, kind: Option<NodeKind>, a: &FaultAction) -> R {
        let stationed = kind.is_some_and(|k| {
            matches!(
                k,
                NodeKind::Service | NodeKind::External | NodeKind::Database | NodeKind::Cache
            )
        });
        let target = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(err(at(p, "target"), what))
            }
        };
        match a {
            FaultAction::Crash {} | FaultAction::Hang {} => target(
                stationed,
                "crash, hang and restart apply to services, externals, databases and caches",
            ),
            FaultAction::Restart { down_s, .. } => {
                target(
                    stationed,
                    "crash, hang and restart apply to services, externals, databases and caches",
                )?;
                num(&at(p, "down_s"), *down_s)
            }
            FaultAction::Slow { factor } => {
                num(&at(p, "factor"), *factor)?;
                target(
                    stationed,
                    "slow applies to services, externals, databases and caches",
                )
            }
            FaultAction::Errors { p: pr } => num(&at(p, "p"), *pr),
            FaultAction::NoisyNeighbour { steal } => num(&at(p, "steal"), *steal),
            FaultAction::Partition { peer } if peer == "replicas" => {
                if kind != Some(NodeKind::Database) {
                    return Err(err(
                        at(p, "peer"),
                        "peer = \"replicas\" partitions a database from its read replicas",
                    ));
                }
                Ok(())
            }
            FaultAction::Partition { peer } => match self.kind_of(peer) {
                None => Err(err(at(p, "peer"), format!("unknown node {peer:?}"))),
                Some(_) => Ok(()),
            },
            FaultAction::Flush {} => {
                target(kind == Some(NodeKind::Cache), "flush applies to caches")
            }
            FaultAction::Scale { replicas } => {
                target(kind == Some(NodeKind::Service), "scale applies to services")?;
                num(&at(p, "replicas"), *replicas as f64)
            }
            FaultAction::Spike { factor } => num(&at(p, "factor"), *factor),
        }
    }

    /// Calls must not form a cycle (a request would recurse forever). A
    /// broker's consumers call asynchronously, so a cycle through a broker
    /// does not recurse within one request.
    pub(super) fn acyclic(&self) -> R {
        let mut graph: BTreeMap<&str, Vec<&str>> = self
            .sc
            .nodes
            .keys()
            .map(|n| (n.as_str(), Vec::new()))
            .collect();
        for e in self.sc.call_edges() {
            if e.kind.synchronous() && e.kind != EdgeKind::Target {
                graph.entry(e.from).or_default().push(e.to);
            }
        }
        let mut state: BTreeMap<&str, u8> = BTreeMap::new();
        for n in graph.keys() {
            visit(&graph, n, &mut state, &mut Vec::new())?;
        }
        Ok(())
    }
}

/// Depth-first search for a cycle (state 1: on the stack, 2: done). The
/// stack is explicit, not the host's: a call chain of any length (tens of
/// thousands of services) is checked without recursion.
fn visit<'a>(
    g: &BTreeMap<&'a str, Vec<&'a str>>,
    root: &'a str,
    state: &mut BTreeMap<&'a str, u8>,
    stack: &mut Vec<&'a str>,
) -> R {
    if state.contains_key(root) {
        return Ok(());
    }
    // The path from the root, each node with its next child to visit.
    let mut next: Vec<usize> = Vec::new();
    state.insert(root, 1);
    stack.push(root);
    next.push(0);
    while let (Some(&n), Some(i)) = (stack.last(), next.last_mut()) {
        let children = g.get(n).map(|v| v.as_slice()).unwrap_or(&[]);
        let Some(&c) = children.get(*i) else {
            state.insert(n, 2);
            stack.pop();
            next.pop();
            continue;
        };
        *i += 1;
        match state.get(c) {
            Some(2) => {}
            Some(_) => {
                let start = stack.iter().position(|s| *s == c).unwrap_or(0);
                let mut cyc: Vec<&str> = stack[start..].to_vec();
                cyc.push(c);
                return Err(err(
                    format!("nodes.{c}"),
                    format!("calls form a cycle: {}", cyc.join(" -> ")),
                ));
            }
            None => {
                state.insert(c, 1);
                stack.push(c);
                next.push(0);
            }
        }
    }
    Ok(())
}

fn arrival(ap: &str, a: &ArrivalSpec) -> R {
    match a {
        ArrivalSpec::Poisson { rate } | ArrivalSpec::Constant { rate } => {
            num(&at(ap, "rate"), *rate)
        }
        ArrivalSpec::Schedule { points, .. } => {
            if points.is_empty() {
                return Err(err(at(ap, "points"), "needs at least one point"));
            }
            let mut last = -1.0;
            for (i, pt) in points.iter().enumerate() {
                let pp = format!("{ap}.points[{i}]");
                num(&at(&pp, "at_s"), pt.at_s)?;
                if pt.at_s <= last {
                    return Err(err(
                        at(&pp, "at_s"),
                        "points must have increasing times >= 0",
                    ));
                }
                last = pt.at_s;
                num(&at(&pp, "rate"), pt.rate)?;
            }
            if points.iter().all(|p| p.rate == 0.0) {
                return Err(err(at(ap, "points"), "every rate is 0: no traffic"));
            }
            Ok(())
        }
        ArrivalSpec::Closed { users, think } => {
            num(&at(ap, "users"), *users as f64)?;
            dist(&at(ap, "think"), think)
        }
    }
}

/// A service's limits: contention, concurrency, rate limit, memory, pools,
/// autoscaling, errors.
fn service_limits(p: &str, s: &ServiceSpec) -> R {
    if let Some(c) = &s.contention {
        num(&at(p, "contention.cores"), c.cores as f64)?;
        num(&at(p, "contention.penalty"), c.penalty)?;
    }
    opt(&at(p, "max_in_flight"), s.max_in_flight.map(f64::from))?;
    if let Some(r) = &s.rate_limit {
        rate_limit(&at(p, "rate_limit"), r)?;
    }
    if let Some(m) = &s.memory {
        num(&at(p, "memory.base_mb"), m.base_mb)?;
        num(&at(p, "memory.per_request_mb"), m.per_request_mb)?;
        if let Some(l) = m.limit_mb {
            num(&at(p, "memory.limit_mb"), l)?;
            if l <= m.base_mb {
                return Err(err(at(p, "memory.limit_mb"), "must exceed base_mb"));
            }
        }
        num(&at(p, "memory.restart_s"), m.restart_s)?;
    }
    for (pn, pool) in &s.pools {
        let pp = format!("{p}.pools.{pn}");
        name(&pp, pn)?;
        num(&at(&pp, "size"), pool.size as f64)?;
        num(&at(&pp, "min_idle"), pool.min_idle as f64)?;
        if pool.min_idle > pool.size {
            return Err(err(
                at(&pp, "min_idle"),
                format!(
                    "a pool opens at most its size ({}) at start, got {}",
                    pool.size, pool.min_idle
                ),
            ));
        }
        opt(&at(&pp, "acquire_timeout_s"), pool.acquire_timeout_s)?;
        opt(&at(&pp, "max_waiters"), pool.max_waiters.map(f64::from))?;
    }
    if let Some(a) = &s.autoscale {
        autoscale(&at(p, "autoscale"), a)?;
    }
    if let Some(f) = &s.serverless {
        serverless(p, s, f)?;
    }
    if let Some(l) = &s.load {
        num(&at(p, "load.per_request_s"), l.per_request_s)?;
    }
    num(&at(p, "error_rate"), s.error_rate)
}

/// A serverless function: its numbers, and what it cannot be combined
/// with (its instances come and go on demand, so neither a fixed replica
/// count nor an autoscaler applies).
fn serverless(p: &str, s: &ServiceSpec, f: &ServerlessSpec) -> R {
    let fp = at(p, "serverless");
    num(&at(&fp, "cold_start_s"), f.cold_start_s)?;
    num(&at(&fp, "idle_timeout_s"), f.idle_timeout_s)?;
    num(&at(&fp, "min_instances"), f.min_instances as f64)?;
    num(&at(&fp, "max_instances"), f.max_instances as f64)?;
    if f.min_instances > f.max_instances {
        return Err(err(
            at(&fp, "min_instances"),
            format!(
                "at most max_instances ({}), got {}",
                f.max_instances, f.min_instances
            ),
        ));
    }
    if s.autoscale.is_some() {
        return Err(err(
            at(p, "autoscale"),
            "a serverless function scales by itself (one instance per concurrent request): remove autoscale or serverless",
        ));
    }
    if s.replicas != 1 {
        return Err(err(
            at(p, "replicas"),
            format!(
                "a serverless function has no fixed replica count (its instances start on demand; serverless.min_instances keeps some warm), got {}",
                s.replicas
            ),
        ));
    }
    Ok(())
}

fn autoscale(ap: &str, a: &AutoscaleSpec) -> R {
    num(&at(ap, "target"), a.target)?;
    num(&at(ap, "min"), a.min as f64)?;
    num(&at(ap, "max"), a.max as f64)?;
    if a.max < a.min {
        return Err(err(
            at(ap, "max"),
            format!("must be >= min ({}), got {}", a.min, a.max),
        ));
    }
    num(&at(ap, "interval_s"), a.interval_s)?;
    num(&at(ap, "cooldown_s"), a.cooldown_s)?;
    opt(&at(ap, "scale_up_cooldown_s"), a.scale_up_cooldown_s)?;
    opt(&at(ap, "scale_down_cooldown_s"), a.scale_down_cooldown_s)?;
    num(&at(ap, "tolerance"), a.tolerance)?;
    num(&at(ap, "boot_s"), a.boot_s)
}
