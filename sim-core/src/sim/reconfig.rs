//! Live reconfiguration: a running simulation takes a new scenario (the same
//! topology with different parameters) at the current instant, the way the
//! sandbox page flips a lesson's toggle mid-run.
//!
//! The new scenario is lowered by the ordinary builder (same root seed), its
//! shape is checked against the running one, and then its *configuration* is
//! moved into the running simulation while every piece of *state* stays:
//! queues, jobs and calls in flight, cache contents, key versions, tables,
//! broker backlogs, counters, histograms, windows, breaker and budget state
//! (when their spec is unchanged), and the position of every random stream.
//! A stream that did not exist before (a key draw that appears) starts where
//! the builder starts it, so "mistake, then fix at T" draws exactly what a
//! fresh run of the fix would draw for that step from its first use on.
//!
//! Four parameters the page can also move live with [`Sim::set_param`]
//! (a source's rate or users, workers, replicas) are applied only when the
//! scenario's value changes, so a slider setting survives a toggle that does
//! not touch it, and the autoscaler keeps its replica count.
//!
//! Anything that cannot be carried over (nodes added, removed or renamed, a
//! step added or removed, a call retargeted to another kind of task, shards,
//! table lists, the cache's eviction policy, an open/closed-loop switch, the
//! window width, warm-up, fault timings) is refused with a [`ScenarioError`]
//! naming the field, and the simulation is left untouched.

use super::*;
use crate::scenario::{ArrivalSpec, NodeSpec};
use crate::spec::CallPolicy;
use serde::Serialize;

/// What live reconfiguration needs to know about how the running
/// simulation was built.
pub(super) struct Meta {
    /// The scenario in force.
    pub(super) spec: Scenario,
    /// Per edge: its call policy and where it was declared.
    pub(super) edges: Vec<(CallPolicy, String)>,
    /// Key-space and lock names, by index.
    pub(super) spaces: Vec<String>,
    pub(super) locks: Vec<String>,
    /// Edges set aside when a call was retargeted: (edge, slot of the old
    /// version, which keeps serving the calls already made on it).
    pub(super) retired: Vec<(u32, u32)>,
}

/// What a live reconfiguration changed (for the page to show).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Reconfigured {
    /// Simulated time it took effect (s).
    pub at_s: f64,
    /// Scenario fields whose value changed, as dotted paths
    /// (`nodes.api.steps[1].query.count`).
    pub changed: Vec<String>,
    /// Changes accepted without a live effect, with the reason.
    pub notes: Vec<String>,
}

fn live_err(path: impl Into<String>, why: impl fmt::Display) -> ScenarioError {
    ScenarioError::new(path, format!("{why}: cannot change live; restart"))
}

fn edge_kind(t: &EdgeTask) -> &'static str {
    match t {
        EdgeTask::Handler { .. } => "call",
        EdgeTask::Query { .. } => "query",
        EdgeTask::CacheGet => "cache get",
        EdgeTask::CacheSet => "cache put",
        EdgeTask::Publish { .. } => "publish",
    }
}

fn op_kind(o: &Op) -> &'static str {
    match o {
        Op::Compute { .. } => "compute",
        Op::Call { .. } => "call",
        Op::Fork { .. } => "parallel",
        Op::CacheGet { .. } => "cache_read",
        Op::CachePut { .. } => "cache fill",
        Op::Write { .. } => "write",
        Op::RepeatBegin { .. } => "repeat",
        Op::RepeatEnd { .. } => "end of repeat",
        Op::LockAcquire { .. } => "locked",
        Op::LockRelease { .. } => "end of locked",
        Op::Choose { .. } => "choose",
        Op::Jump { .. } => "end of branch",
    }
}

/// The structural part of an op (what running jobs depend on): equal for
/// ops of the same shape.
fn op_shape(o: &Op, locks: &[String]) -> (u32, Vec<u32>, String) {
    let lock = |l: &u32| locks.get(*l as usize).cloned().unwrap_or_default();
    match o {
        Op::Compute { .. } => (0, vec![], String::new()),
        Op::Call { edge, .. } => (1, vec![*edge], String::new()),
        Op::Fork { edges, .. } => (2, edges.clone(), String::new()),
        Op::CacheGet { edge, miss_end, .. } => (3, vec![*edge, *miss_end], String::new()),
        Op::CachePut { edge, .. } => (4, vec![*edge], String::new()),
        Op::Write { cache, .. } => (5, vec![*cache], String::new()),
        Op::RepeatBegin { end, .. } => (6, vec![*end], String::new()),
        Op::RepeatEnd { begin } => (7, vec![*begin], String::new()),
        Op::LockAcquire { lock: l, .. } => (8, vec![], lock(l)),
        Op::LockRelease { lock: l } => (9, vec![], lock(l)),
        Op::Choose { targets, .. } => (10, targets.clone(), String::new()),
        Op::Jump { to } => (11, vec![*to], String::new()),
    }
}

/// The scenario's concurrency setting of a node, if it has one.
fn workers_of(s: &NodeSpec) -> Option<Option<u32>> {
    match s {
        NodeSpec::Service(s) => Some(Some(s.workers)),
        NodeSpec::Database(d) => Some(Some(d.cores)),
        NodeSpec::External(e) => Some(e.max_concurrency),
        NodeSpec::Cache(c) => Some(c.workers),
        _ => None,
    }
}

fn remap_key(k: &mut KeySrc, spaces: &[u32]) {
    k.space = spaces[k.space as usize];
}

/// Keeps the running key draw's stream; takes everything else.
fn merge_key(old: &mut Option<KeySrc>, new: Option<KeySrc>) {
    match (old.as_mut(), new) {
        (Some(o), Some(n)) => merge_key_src(o, n),
        (_, n) => *old = n,
    }
}

fn merge_key_src(o: &mut KeySrc, n: KeySrc) {
    o.space = n.space;
    o.n = n.n;
    o.per_user = n.per_user;
    o.sampler = n.sampler;
}

fn merge_op(o: &mut Op, n: Op) {
    match (o, n) {
        (Op::Compute { dist, .. }, Op::Compute { dist: d, .. }) => *dist = d,
        (
            Op::Call {
                count,
                parallel,
                release,
                ..
            },
            Op::Call {
                count: c,
                parallel: p,
                release: r,
                ..
            },
        ) => {
            count.kind = c.kind;
            *parallel = p;
            *release = r;
        }
        (Op::Fork { release, .. }, Op::Fork { release: r, .. }) => *release = r,
        (
            Op::CacheGet {
                key,
                single_flight,
                versioned,
                release,
                ..
            },
            Op::CacheGet {
                key: k,
                single_flight: s,
                versioned: v,
                release: r,
                ..
            },
        ) => {
            merge_key_src(key, k);
            *single_flight = s;
            *versioned = v;
            *release = r;
        }
        (
            Op::CachePut {
                size,
                versioned,
                release,
                ..
            },
            Op::CachePut {
                size: s,
                versioned: v,
                release: r,
                ..
            },
        ) => {
            *size = s;
            *versioned = v;
            *release = r;
        }
        (
            Op::Write {
                key, invalidate, ..
            },
            Op::Write {
                key: k,
                invalidate: i,
                ..
            },
        ) => {
            merge_key_src(key, k);
            *invalidate = i;
        }
        (Op::RepeatBegin { count, .. }, Op::RepeatBegin { count: c, .. }) => count.kind = c.kind,
        (Op::LockAcquire { lock, key }, Op::LockAcquire { lock: l, key: k }) => {
            *lock = l;
            merge_key(key, k);
        }
        (Op::LockRelease { lock }, Op::LockRelease { lock: l }) => *lock = l,
        (Op::Choose { cum, .. }, Op::Choose { cum: c, .. }) => *cum = c,
        // Same shape was checked; jumps and loop ends carry no parameters.
        _ => {}
    }
}

fn merge_task(o: &mut EdgeTask, n: EdgeTask) {
    match (o, n) {
        (EdgeTask::Handler { endpoint }, EdgeTask::Handler { endpoint: e }) => *endpoint = e,
        (
            EdgeTask::Query {
                table,
                kind,
                rows,
                page,
                write,
                key,
            },
            EdgeTask::Query {
                table: t,
                kind: k,
                rows: r,
                page: p,
                write: w,
                key: ky,
            },
        ) => {
            *table = t;
            *kind = k;
            rows.kind = r.kind;
            *page = p;
            *write = w;
            merge_key(key, ky);
        }
        (EdgeTask::Publish { key, .. }, EdgeTask::Publish { key: k, .. }) => merge_key(key, k),
        _ => {}
    }
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

impl Sim {
    /// Applies `sc` (the same topology with different parameters) at the
    /// current time, keeping all state; see the module docs for what
    /// carries over. On error nothing has changed.
    pub fn reconfigure(&mut self, sc: &Scenario) -> Result<Reconfigured, ScenarioError> {
        let r = self.reconfigure_inner(sc);
        self.refresh_express();
        r
    }

    fn reconfigure_inner(&mut self, sc: &Scenario) -> Result<Reconfigured, ScenarioError> {
        let mut fresh = build::build(sc, self.seed)?;
        self.check_live(sc, &fresh)?;
        let now = self.now();
        let old_spec = std::mem::replace(&mut self.meta.spec, sc.clone());
        let mut changed = Vec::new();
        diff(
            "",
            &serde_json::to_value(&old_spec).unwrap_or_default(),
            &serde_json::to_value(sc).unwrap_or_default(),
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

        // Key spaces and locks: the fresh build's indices -> the running ones
        // (new names are appended, so cache keys and held locks stay valid).
        let mut space_map = Vec::new();
        for name in &fresh.meta.spaces {
            let i = match self.meta.spaces.iter().position(|n| n == name) {
                Some(i) => i,
                None => {
                    self.meta.spaces.push(name.clone());
                    self.spaces.push(KeySpace::default());
                    self.spaces.len() - 1
                }
            };
            space_map.push(i as u32);
        }
        let mut lock_map = Vec::new();
        for name in &fresh.meta.locks {
            let i = match self.meta.locks.iter().position(|n| n == name) {
                Some(i) => i,
                None => {
                    self.meta.locks.push(name.clone());
                    self.locks.push(LockSpace::default());
                    self.locks.len() - 1
                }
            };
            lock_map.push(i as u32);
        }
        for e in fresh.edges.iter_mut() {
            match &mut e.task {
                EdgeTask::Query { key: Some(k), .. } | EdgeTask::Publish { key: Some(k), .. } => {
                    remap_key(k, &space_map)
                }
                _ => {}
            }
        }
        for n in fresh.nodes.iter_mut() {
            let Body::Service(s) = &mut n.body else {
                continue;
            };
            for op in s.programs.iter_mut().flatten() {
                match op {
                    Op::CacheGet { key, .. } | Op::Write { key, .. } => remap_key(key, &space_map),
                    Op::LockAcquire { lock, key } => {
                        *lock = lock_map[*lock as usize];
                        if let Some(k) = key {
                            remap_key(k, &space_map);
                        }
                    }
                    Op::LockRelease { lock } => *lock = lock_map[*lock as usize],
                    _ => {}
                }
            }
        }

        // Edges.
        let fresh_edges = std::mem::take(&mut fresh.edges);
        let fresh_meta = std::mem::take(&mut fresh.meta.edges);
        let mut migrations = Vec::new();
        for (i, (fe, fm)) in fresh_edges.into_iter().zip(fresh_meta).enumerate() {
            let iu = i as u32;
            if fe.to != self.edges[i].to {
                // Retargeted: the old version keeps serving calls already
                // made on it; the edge continues to the new callee.
                let found = self
                    .meta
                    .retired
                    .iter()
                    .find(|(o, k)| *o == iu && self.edges[*k as usize].to == fe.to)
                    .map(|x| x.1);
                match found {
                    Some(k) => {
                        self.edges.swap(i, k as usize);
                        self.meta.edges.swap(i, k as usize);
                        for c in self.calls.items.iter_mut().filter(|c| c.live) {
                            if c.edge == iu {
                                c.edge = k;
                            } else if c.edge == k {
                                c.edge = iu;
                            }
                        }
                    }
                    None => {
                        let k = self.edges.len() as u32;
                        let old = std::mem::replace(&mut self.edges[i], fe);
                        self.edges.push(old);
                        let om = std::mem::replace(&mut self.meta.edges[i], fm);
                        self.meta.edges.push(om);
                        self.meta.retired.push((iu, k));
                        for c in self.calls.items.iter_mut().filter(|c| c.live) {
                            if c.edge == iu {
                                c.edge = k;
                            }
                        }
                        continue;
                    }
                }
            }
            let (op, _) = &self.meta.edges[i];
            let keep_breaker = op.breaker == fm.0.breaker;
            let keep_budget = op.retries.as_ref().and_then(|r| r.budget.as_ref())
                == fm.0.retries.as_ref().and_then(|r| r.budget.as_ref());
            let e = &mut self.edges[i];
            e.hop = fe.hop;
            e.bandwidth = fe.bandwidth;
            e.req_bytes = fe.req_bytes;
            e.resp_bytes = fe.resp_bytes;
            e.compress = fe.compress;
            e.timeout = fe.timeout;
            e.deadline_prop = fe.deadline_prop;
            let mut retries = fe.retries;
            if let (Some(new), Some(old)) = (retries.as_mut(), e.retries.as_mut()) {
                if keep_budget {
                    new.2 = old.2.take();
                }
            }
            e.retries = retries;
            if !keep_breaker {
                e.breaker = fe.breaker;
            }
            e.fallback = fe.fallback;
            e.hedge = fe.hedge;
            if e.pool != fe.pool {
                migrations.push((i, e.pool, fe.pool));
            }
            e.pool = fe.pool;
            e.side_effect = fe.side_effect;
            e.idempotent = fe.idempotent;
            merge_task(&mut e.task, fe.task);
            self.meta.edges[i] = fm;
        }

        // Nodes.
        let fresh_nodes = std::mem::take(&mut fresh.nodes);
        let mut pools_changed = !migrations.is_empty();
        for (ni, f) in fresh_nodes.into_iter().enumerate() {
            let soj = {
                let h = self.sojourn(ni);
                (h.sum_ns(), h.count())
            };
            let name = f.name.clone();
            let (Some(os), Some(ns)) = (old_spec.nodes.get(&name), sc.nodes.get(&name)) else {
                continue;
            };
            let node = &mut self.nodes[ni];
            let same_rate = node.rate.as_ref().map(|r| &r.spec) == f.rate.as_ref().map(|r| &r.spec);
            if !same_rate {
                let limited = node.rate.as_ref().map_or(0, |r| r.limited);
                node.rate = f.rate;
                if let Some(r) = &mut node.rate {
                    r.limited = limited;
                }
            }
            node.max_in_flight = f.max_in_flight;
            node.memory = f.memory;
            node.contention = f.contention;
            node.error_rate = f.error_rate;
            node.queue_cap = f.queue_cap;
            node.lifo = f.lifo;
            node.balancer.policy = f.balancer.policy;
            for st in node.reps.iter_mut() {
                for (p, fp) in st.pools.iter_mut().zip(&f.reps[0].pools) {
                    if (p.size, p.acquire_timeout, p.max_waiters)
                        != (fp.size, fp.acquire_timeout, fp.max_waiters)
                    {
                        pools_changed = true;
                    }
                    p.size = fp.size;
                    p.acquire_timeout = fp.acquire_timeout;
                    p.max_waiters = fp.max_waiters;
                }
            }
            // The autoscaler keeps its history; a new one starts measuring now.
            match (&mut node.autoscale, f.autoscale) {
                (Some(a), Some(b)) => a.spec = b.spec,
                (a @ None, Some(mut b)) => {
                    let (mut busy, mut cap, mut queue) = (0.0, 0.0, 0.0);
                    for st in node.reps.iter_mut() {
                        st.lv.touch(&mut st.c, now);
                        busy += st.c.busy_area;
                        cap += st.c.cap_area;
                        queue += st.c.queue_area;
                    }
                    b.prev_busy = busy;
                    b.prev_cap = cap;
                    b.prev_queue = queue;
                    b.prev_t = now;
                    b.prev_soj = soj;
                    let iv = secs_to_ns(b.spec.interval_s);
                    *a = Some(b);
                    if !node.autoscale_armed {
                        node.autoscale_armed = true;
                        self.cal
                            .schedule(now + iv, Event::Autoscale { node: ni as u32 });
                    }
                }
                (a, None) => *a = None,
            }
            if workers_of(os) != workers_of(ns) {
                self.set_workers(ni, f.workers_spec, f.unlimited);
            }
            if let (NodeSpec::Service(o), NodeSpec::Service(n)) = (os, ns) {
                if o.replicas != n.replicas {
                    self.set_replicas(ni, n.replicas);
                }
            }
            match (&mut self.nodes[ni].body, f.body) {
                (Body::Source(s), Body::Source(fs)) => {
                    s.users = fs.users;
                    match (s.items.as_mut(), fs.items) {
                        (Some(o), Some(n)) => o.kind = n.kind,
                        (_, n) => s.items = n,
                    }
                    let (NodeSpec::Source(o), NodeSpec::Source(n)) = (os, ns) else {
                        continue;
                    };
                    if o.arrival != n.arrival {
                        match (&mut s.arrival, fs.arrival) {
                            (
                                Arrival::Closed { think, .. },
                                Arrival::Closed {
                                    think: t, users, ..
                                },
                            ) => {
                                *think = t;
                                if let ArrivalSpec::Closed { users: u0, .. } = &o.arrival {
                                    if u0 != &users {
                                        self.set_param(
                                            &format!("nodes.{name}.arrival.users"),
                                            users as f64,
                                        )
                                        .map_err(|e| {
                                            ScenarioError::new(
                                                format!("nodes.{name}.arrival.users"),
                                                e.0,
                                            )
                                        })?;
                                    }
                                }
                            }
                            (a, fa) => {
                                *a = fa;
                                self.rearm_source(ni as u32);
                            }
                        }
                    }
                }
                (Body::Service(s), Body::Service(fs)) => {
                    for (p, fp) in s.programs.iter_mut().zip(fs.programs) {
                        for (o, n) in p.iter_mut().zip(fp) {
                            merge_op(o, n);
                        }
                    }
                }
                (Body::Database(db), Body::Database(fdb)) => {
                    for (t, ft) in db.tables.iter_mut().zip(fdb.tables) {
                        *t = ft;
                    }
                    db.cost = fdb.cost;
                    db.lag = fdb.lag;
                    db.reads = fdb.reads;
                    db.on_partition = fdb.on_partition;
                    if db.replicas != fdb.replicas {
                        self.set_db_replicas(ni, fdb.replicas);
                    }
                }
                (Body::Cache(c), Body::Cache(fc)) => {
                    c.latency = fc.latency;
                    c.ttl = fc.ttl;
                    c.jitter = fc.jitter;
                    let (cfg, fcfg) = (*c.store.config(), *fc.store.config());
                    if (cfg.capacity_entries, cfg.capacity_bytes)
                        != (fcfg.capacity_entries, fcfg.capacity_bytes)
                    {
                        c.store
                            .set_capacity(fcfg.capacity_entries, fcfg.capacity_bytes);
                    }
                }
                (Body::Broker(b), Body::Broker(fb)) => {
                    b.capacity = fb.capacity;
                    b.overflow = fb.overflow;
                    b.process = fb.process;
                    b.poison_rate = fb.poison_rate;
                    b.max_attempts = fb.max_attempts;
                    b.dlq_on = fb.dlq_on;
                    b.redelivery = fb.redelivery;
                    if b.parts.len() != fb.parts.len() || b.active != fb.active {
                        self.repartition(ni, fb.parts.len(), fb.active);
                    }
                }
                (Body::Balancer(lb), Body::Balancer(flb)) => {
                    lb.detect = flb.detect;
                    lb.latency = flb.latency;
                }
                _ => {}
            }
        }
        for (i, old, new) in migrations {
            self.migrate_pool(i, old, new);
        }
        if pools_changed {
            for ni in 0..self.nodes.len() {
                for ri in 0..self.nodes[ni].reps.len() {
                    for p in 0..self.nodes[ni].reps[ri].pools.len() {
                        self.grant_pool(ni as u32, ri as u32, p as u32);
                    }
                }
            }
        }

        // Faults (only their parameters may change; checked), SLO, traces.
        for (i, f) in sc.faults.iter().enumerate() {
            self.faults[i].spec = f.clone();
        }
        self.slo = sc.slo.as_ref().map(|s| (secs_to_ns(s.latency_s), s.target));
        self.tracer.set_sampling(sc.traces.every, sc.traces.keep);
        self.scenario = sc.name.clone();
        Ok(Reconfigured {
            at_s: ns_to_secs(now),
            changed,
            notes,
        })
    }

    /// Refuses what cannot change live, naming the field.
    fn check_live(&self, sc: &Scenario, fresh: &Sim) -> Result<(), ScenarioError> {
        let old = &self.meta.spec;
        if old.metrics.window_s != sc.metrics.window_s {
            return Err(live_err(
                "metrics.window_s",
                "the time series' window width is fixed for a run",
            ));
        }
        if old.metrics != sc.metrics {
            return Err(live_err(
                "metrics",
                "the time series' shape is fixed for a run",
            ));
        }
        if old.warmup_s != sc.warmup_s {
            return Err(live_err("warmup_s", "the warm-up is fixed for a run"));
        }
        let names_old: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
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
        for (o, n) in self.nodes.iter().zip(&fresh.nodes) {
            let p = format!("nodes.{}", o.name);
            if o.kind != n.kind {
                return Err(live_err(format!("{p}.kind"), "the node's kind changed"));
            }
            if o.pool_names != n.pool_names {
                return Err(live_err(
                    format!("{p}.pools"),
                    "pools were added, removed or renamed",
                ));
            }
            match (&o.body, &n.body) {
                (Body::Source(a), Body::Source(b)) => {
                    let closed = |x: &Arrival| matches!(x, Arrival::Closed { .. });
                    if closed(&a.arrival) != closed(&b.arrival) {
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
                (Body::Service(a), Body::Service(b)) => {
                    if a.programs.len() != b.programs.len() {
                        return Err(live_err(
                            format!("{p}.endpoints"),
                            "endpoints were added or removed",
                        ));
                    }
                    for (k, (pa, pb)) in a.programs.iter().zip(&b.programs).enumerate() {
                        let same = pa.len() == pb.len()
                            && pa.iter().zip(pb).all(|(x, y)| {
                                op_shape(x, &self.meta.locks) == op_shape(y, &fresh.meta.locks)
                            });
                        if !same {
                            let first = pa
                                .iter()
                                .zip(pb)
                                .position(|(x, y)| {
                                    op_shape(x, &self.meta.locks) != op_shape(y, &fresh.meta.locks)
                                })
                                .map_or(String::new(), |i| {
                                    format!(
                                        " (first difference: {} became {})",
                                        op_kind(&pa[i]),
                                        op_kind(&pb[i])
                                    )
                                });
                            return Err(live_err(
                                format!("{p}.steps"),
                                format!("the steps of program {k} were added, removed or reordered{first}"),
                            ));
                        }
                    }
                }
                (Body::Database(a), Body::Database(b)) => {
                    if a.shards != b.shards {
                        return Err(live_err(format!("{p}.shards"), "resharding"));
                    }
                    if self.table_names.get(&o.name) != fresh.table_names.get(&o.name) {
                        return Err(live_err(
                            format!("{p}.tables"),
                            "tables were added, removed or renamed",
                        ));
                    }
                }
                (Body::Cache(a), Body::Cache(b))
                    if a.store.config().policy != b.store.config().policy =>
                {
                    return Err(live_err(format!("{p}.policy"), "the eviction policy"));
                }
                (Body::Balancer(a), Body::Balancer(b)) if a.backends != b.backends => {
                    return Err(live_err(
                        format!("{p}.backends"),
                        "the backend list changed",
                    ));
                }
                _ => {}
            }
        }
        let original = self.edges.len() - self.meta.retired.len();
        if original != fresh.edges.len() {
            return Err(live_err(
                "nodes",
                format!(
                    "the number of calls changed ({original} -> {})",
                    fresh.edges.len()
                ),
            ));
        }
        for (i, (a, b)) in self.edges.iter().zip(&fresh.edges).enumerate() {
            let site = &fresh.meta.edges[i].1;
            if a.from != b.from || edge_kind(&a.task) != edge_kind(&b.task) {
                return Err(live_err(
                    site.clone(),
                    "a call was added, removed or reordered",
                ));
            }
            if a.to != b.to && !matches!(b.task, EdgeTask::Handler { .. }) {
                return Err(live_err(
                    site.clone(),
                    "only service calls can be retargeted",
                ));
            }
        }
        if old.faults.len() != sc.faults.len() {
            return Err(live_err("faults", "faults were added or removed"));
        }
        for (i, (a, b)) in old.faults.iter().zip(&sc.faults).enumerate() {
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

    /// Sets every replica's workers (as `set_param` does).
    fn set_workers(&mut self, ni: usize, workers: u32, unlimited: bool) {
        let now = self.now();
        let node = &mut self.nodes[ni];
        node.workers_spec = workers;
        node.unlimited = unlimited;
        for ri in 0..node.reps.len() {
            let st = &mut self.nodes[ni].reps[ri];
            st.workers = workers;
            if matches!(st.state, RState::Up | RState::Draining) {
                st.lv.set_capacity(now, workers);
            }
            self.drain_queue(ni, ri);
        }
    }

    /// A database's read replicas: new ones come up now (empty queues),
    /// surplus ones drain and retire.
    fn set_db_replicas(&mut self, ni: usize, n: u32) {
        let Body::Database(db) = &mut self.nodes[ni].body else {
            return;
        };
        let base = db.shards as usize;
        db.replicas = n;
        let n = n as usize;
        for r in base..base + n {
            if r >= self.nodes[ni].reps.len() {
                let node = &mut self.nodes[ni];
                let mut st = build::new_station(node);
                st.state = RState::Retired;
                st.replica = true;
                st.partitioned = node.reps[base.min(node.reps.len() - 1)..]
                    .iter()
                    .any(|s| s.replica && s.partitioned);
                st.lv = Levels::default();
                node.reps.push(st);
            }
            let st = &mut self.nodes[ni].reps[r];
            if matches!(st.state, RState::Retired | RState::Draining) {
                st.drain_down = None;
                self.set_state(ni, r, RState::Up);
                self.drain_queue(ni, r);
            }
        }
        for r in base + n..self.nodes[ni].reps.len() {
            match self.nodes[ni].reps[r].state {
                RState::Up => {
                    self.set_state(ni, r, RState::Draining);
                    self.maybe_finish_drain(ni, r);
                }
                RState::Down | RState::Booting => self.set_state(ni, r, RState::Retired),
                RState::Draining | RState::Retired => {}
            }
        }
    }

    /// A broker's partitions and consumer group change size. The backlog of
    /// removed partitions moves (in order) to partition `p % n`; consumers
    /// beyond the new count finish their message and retire.
    fn repartition(&mut self, ni: usize, np: usize, nc: u32) {
        let Body::Broker(b) = &mut self.nodes[ni].body else {
            return;
        };
        while b.parts.len() < np {
            b.parts.push(Partition {
                q: VecDeque::new(),
                blocked: VecDeque::new(),
                max_depth: 0,
            });
        }
        if b.parts.len() > np {
            let extra: Vec<Partition> = b.parts.drain(np..).collect();
            for (k, p) in extra.into_iter().enumerate() {
                let to = &mut b.parts[(np + k) % np];
                to.q.extend(p.q);
                to.blocked.extend(p.blocked);
                to.max_depth = to.max_depth.max(p.max_depth).max(to.q.len() as u64);
            }
            for c in b.consumers.iter_mut() {
                if let Some((pi, _)) = &mut c.busy {
                    *pi %= np as u32;
                }
            }
        }
        while (b.consumers.len() as u32) < nc {
            b.consumers.push(Consumer {
                parts: Vec::new(),
                next: 0,
                busy: None,
                wake_at: NEVER,
            });
        }
        b.active = nc;
        for (c, cons) in b.consumers.iter_mut().enumerate() {
            cons.parts = if (c as u32) < nc {
                (0..np as u32).filter(|p| p % nc == c as u32).collect()
            } else {
                Vec::new()
            };
            cons.next = 0;
        }
        for c in 0..nc {
            self.consumer_poll(ni as u32, c);
        }
    }

    /// Moves the pool connections held and awaited by calls on edge `i`
    /// from pool `old` to pool `new` of their caller (none: waiters go now).
    fn migrate_pool(&mut self, i: usize, old: Option<u32>, new: Option<u32>) {
        let now = self.now();
        let iu = i as u32;
        for c in self
            .calls
            .items
            .iter_mut()
            .filter(|c| c.live && c.edge == iu)
        {
            let k = c.pooled.count_ones();
            let (node, rep) = c.caller;
            if k == 0 || node == NONE {
                continue;
            }
            let st = &mut self.nodes[node as usize].reps[rep as usize];
            if let Some(p) = old {
                let pool = &mut st.pools[p as usize];
                pool.touch(now);
                pool.in_use = pool.in_use.saturating_sub(k);
            }
            match new {
                Some(p) => {
                    let pool = &mut st.pools[p as usize];
                    pool.touch(now);
                    pool.in_use += k;
                }
                None => c.pooled = 0,
            }
        }
        let Some(op) = old else { return };
        let from = self.edges[i].from as usize;
        let mut go_now = Vec::new();
        for ri in 0..self.nodes[from].reps.len() {
            let q = std::mem::take(&mut self.nodes[from].reps[ri].pools[op as usize].waiters);
            type Waiters = VecDeque<(Ref, u8)>;
            let (moved, kept): (Waiters, Waiters) = q
                .into_iter()
                .partition(|(call, _)| self.calls.get(*call).is_some_and(|c| c.edge == iu));
            let st = &mut self.nodes[from].reps[ri];
            st.pools[op as usize].waiters = kept;
            match new {
                Some(np) => st.pools[np as usize].waiters.extend(moved),
                None => {
                    for (call, a) in moved {
                        if let Some(c) = self.calls.get_mut(call) {
                            let bit = 1u32 << a;
                            if !c.resolved && c.pool_wait & bit != 0 {
                                c.pool_wait &= !bit;
                                go_now.push(call);
                            }
                        }
                    }
                }
            }
        }
        for call in go_now {
            if self.calls.get(call).is_some() {
                self.dispatch(call);
            }
        }
    }
}
