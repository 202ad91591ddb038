//! Live reconfiguration: a running simulation takes a new scenario (the same
//! topology with different parameters) at the current instant, the way the
//! sandbox page flips a lesson's toggle or moves a slider.
//!
//! It is "build the new configuration, migrate the state": the new scenario
//! is lowered by the ordinary builder (same root seed), its shape is checked
//! against the running one (`check.rs`), and the configuration is swapped
//! whole, while every piece of state stays: queues, jobs and calls in
//! flight, cache contents, key versions, broker backlogs, counters,
//! histograms, windows, breaker and budget state (when their spec is
//! unchanged), and the position of every random stream whose name survives
//! (`streams.rs`). Then what the new values imply happens, in node order:
//! workers and replicas change (queued work starts), brokers repartition,
//! sources redraw their next arrival, pools hand out connections.
//!
//! Anything that cannot be carried over (nodes added, removed or renamed, a
//! step added or removed, a call retargeted to another kind of task, shards,
//! table lists, the cache's eviction policy, an open/closed-loop switch, the
//! window width, warm-up, fault timings) is refused with a [`ScenarioError`]
//! naming the field, and the simulation is left untouched.

mod check;

use super::build;
use super::config::{ArrivalCfg, BodyCfg, Config, EdgeTask, Op};
use super::edge::EdgeState;
use super::event::Event;
use super::node::{Autoscaler, BodyState};
use super::station::{Lifecycle, Station};
use super::Sim;
use crate::calendar::ns_to_secs;
use crate::scenario::{Scenario, ScenarioError};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;

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

impl Sim {
    /// Applies `sc` (the same topology with different parameters) at the
    /// current time, keeping all state; see the module docs for what
    /// carries over. On error nothing has changed.
    pub fn reconfigure(&mut self, sc: &Scenario) -> Result<Reconfigured, ScenarioError> {
        let mut fresh = build::build(sc, self.cfg.seed)?;
        check::live(&self.cfg, &fresh)?;
        let (changed, notes) = check::changes(&self.cfg.spec, sc);
        self.adopt_names(&mut fresh);
        let pool_moves = self.merge_edges(&mut fresh);
        let old = std::mem::replace(&mut self.cfg, Arc::new(fresh));
        self.streams
            .migrate(self.cfg.seed, &old.streams, &self.cfg.streams);
        let mut pools_changed = !pool_moves.is_empty();
        for ni in 0..self.nodes.len() {
            pools_changed |= self.migrate_node(&old, ni);
        }
        for (i, from, to) in pool_moves {
            self.move_pool(i, from, to);
        }
        self.migrate_links(&old);
        let history = self.alert_history();
        let (window, now) = (self.cfg.window, self.now());
        (self.alerts).migrate(&old.alerts, &self.cfg.alerts, window, now, &history);
        if pools_changed || limits_changed(&old, &self.cfg) {
            self.reconnect_pools();
        }
        if pools_changed {
            self.grant_all_pools();
        }
        let (every, keep) = (self.cfg.trace_every, self.cfg.trace_keep);
        self.retune_faults();
        self.tracer.set_sampling(every, keep);
        Ok(Reconfigured {
            at_s: ns_to_secs(self.now()),
            changed,
            notes,
        })
    }

    /// Key spaces and locks: the fresh build's indices become the running
    /// ones (new names are appended, so cache keys and held locks stay
    /// valid).
    fn adopt_names(&mut self, fresh: &mut Config) {
        let mut spaces = self.cfg.spaces.clone();
        let space_map: Vec<u32> = fresh
            .spaces
            .iter()
            .map(|name| index_or_push(&mut spaces, name, || self.spaces.push()))
            .collect();
        let mut locks = self.cfg.locks.clone();
        let lock_map: Vec<u32> = fresh
            .locks
            .iter()
            .map(|name| index_or_push(&mut locks, name, || self.locks.push()))
            .collect();
        (fresh.spaces, fresh.locks) = (spaces, locks);
        for e in fresh.edges.iter_mut() {
            match &mut e.task {
                EdgeTask::Query { key: Some(k), .. } | EdgeTask::Publish { key: Some(k) } => {
                    k.space = space_map[k.space as usize]
                }
                _ => {}
            }
        }
        for n in fresh.nodes.iter_mut() {
            let BodyCfg::Service(s) = &mut n.body else {
                continue;
            };
            for op in s.programs.iter_mut().flat_map(|p| p.ops.iter_mut()) {
                match op {
                    Op::CacheGet { key, .. } | Op::Write { key, .. } => {
                        key.space = space_map[key.space as usize]
                    }
                    Op::LockAcquire { lock, key } => {
                        *lock = lock_map[*lock as usize];
                        if let Some(k) = key {
                            k.space = space_map[k.space as usize];
                        }
                    }
                    Op::LockRelease { lock } => *lock = lock_map[*lock as usize],
                    _ => {}
                }
            }
        }
    }

    /// The fresh edges take over the running ones: an edge's state (counts,
    /// breaker, budget) stays while its spec does; a call retargeted to
    /// another callee keeps its old version beside it (the calls already
    /// made on it finish there), and a retarget back revives that version.
    /// Returns the pool moves: (edge, old pool, new pool).
    fn merge_edges(&mut self, fresh: &mut Config) -> Vec<(usize, Option<u32>, Option<u32>)> {
        let old = &*self.cfg;
        let n = fresh.edges.len();
        // Final edge list: the fresh ones, then the set-aside ones.
        let mut set_aside: Vec<super::config::EdgeCfg> = old.edges[n..].to_vec();
        let mut retired = old.retired.clone();
        let mut pool_moves = Vec::new();
        for i in 0..n {
            if fresh.edges[i].to == old.edges[i].to {
                let (a, b) = (&old.edges[i].policy, &fresh.edges[i].policy);
                let keep_breaker = a.breaker == b.breaker;
                let budget =
                    |p: &crate::spec::CallPolicy| p.retries.as_ref().and_then(|r| r.budget.clone());
                let keep_budget =
                    budget(a) == budget(b) && a.retries.is_some() && b.retries.is_some();
                let es = &mut self.edges[i];
                if !keep_breaker {
                    es.breaker = fresh.edges[i].breaker.as_ref().map(|b| b.build());
                }
                if !keep_budget {
                    es.budget = EdgeState::new(&fresh.edges[i]).budget;
                }
                if old.edges[i].pool != fresh.edges[i].pool {
                    pool_moves.push((i, old.edges[i].pool, fresh.edges[i].pool));
                }
                continue;
            }
            // Retargeted: the old version keeps serving calls already made.
            let iu = i as u32;
            let back = retired
                .iter()
                .find(|(o, k)| *o == iu && set_aside[*k as usize - n].to == fresh.edges[i].to)
                .map(|x| x.1);
            match back {
                Some(k) => {
                    let slot = k as usize - n;
                    let mut revived = std::mem::replace(&mut set_aside[slot], old.edges[i].clone());
                    // The revived edge's stream is the fresh edge's name.
                    revived.stream = fresh.edges[i].stream;
                    fresh.edges[i] = revived;
                    self.edges.swap(i, k as usize);
                    for c in self.calls.live_mut() {
                        if c.edge == iu {
                            c.edge = k;
                        } else if c.edge == k {
                            c.edge = iu;
                        }
                    }
                }
                None => {
                    let k = (n + set_aside.len()) as u32;
                    set_aside.push(old.edges[i].clone());
                    retired.push((iu, k));
                    let fresh_state = EdgeState::new(&fresh.edges[i]);
                    let old_state = std::mem::replace(&mut self.edges[i], fresh_state);
                    self.edges.push(old_state);
                    for c in self.calls.live_mut() {
                        if c.edge == iu {
                            c.edge = k;
                        }
                    }
                }
            }
        }
        // Set-aside edges keep their streams under their own names.
        for e in set_aside.iter_mut() {
            let (node, purpose) = old.streams.name(e.stream);
            e.stream = fresh.streams.add(node, purpose);
        }
        fresh.edges.extend(set_aside);
        fresh.retired = retired;
        build::mark_side_effects(&mut fresh.nodes, &fresh.edges);
        pool_moves
    }

    /// Node `ni` takes its new settings; what they imply happens now.
    /// Returns whether its pools changed.
    fn migrate_node(&mut self, old: &Config, ni: usize) -> bool {
        let now = self.now();
        let cfg = self.cfg.clone();
        let (o, f) = (&old.nodes[ni], &cfg.nodes[ni]);
        let node = &mut self.nodes[ni];
        if o.rate_limit != f.rate_limit {
            node.rate.reset_buckets(f.rate_limit.is_some());
        }
        let pools_changed = o.pools != f.pools;
        let soj = (node.sojourn.sum_ns(), node.sojourn.count());
        match (&mut node.autoscale, &f.autoscale) {
            (Some(_), Some(_)) => {}
            (a @ None, Some(spec)) => {
                // A new autoscaler starts measuring now.
                let (mut busy, mut cap, mut queue) = (0.0, 0.0, 0.0);
                for st in node.stations.iter_mut() {
                    let c = st.touch(now);
                    busy += c.busy_area;
                    cap += c.cap_area;
                    queue += c.queue_area;
                }
                *a = Some(Autoscaler {
                    prev_busy: busy,
                    prev_cap: cap,
                    prev_queue: queue,
                    prev_t: now,
                    prev_soj: soj,
                    ..Autoscaler::default()
                });
                if !node.autoscale_armed {
                    node.autoscale_armed = true;
                    let at = now.saturating_add(crate::calendar::secs_to_ns(spec.interval_s));
                    self.cal.schedule(at, Event::Autoscale { node: ni as u32 });
                }
            }
            (a, None) => *a = None,
        }
        if (o.workers, o.unlimited) != (f.workers, f.unlimited) {
            self.set_workers(ni, f.workers);
        }
        if o.serverless != f.serverless {
            self.migrate_instances(ni);
        }
        if let (Some(a), Some(b)) = (
            service_replicas(&old.spec, &o.name),
            service_replicas(&cfg.spec, &f.name),
        ) {
            if a != b {
                self.set_replicas(ni, b);
            }
        }
        self.migrate_body(old, ni);
        pools_changed
    }

    /// What a node kind's new settings imply: a source's next arrival or
    /// new users, a database's read replicas, a cache's capacity, a
    /// broker's partitions and consumers.
    fn migrate_body(&mut self, old: &Config, ni: usize) {
        let cfg = self.cfg.clone();
        let (o, f) = (&old.nodes[ni], &cfg.nodes[ni]);
        match (&o.body, &f.body) {
            (BodyCfg::Source(a), BodyCfg::Source(b)) => {
                let spec = |c: &Config| match c.spec.nodes.get(&f.name) {
                    Some(crate::scenario::NodeSpec::Source(s)) => Some(s.arrival.clone()),
                    _ => None,
                };
                if spec(old) == spec(&cfg) {
                    return;
                }
                match (&a.arrival, &b.arrival) {
                    (
                        ArrivalCfg::Closed { users: u0, .. },
                        ArrivalCfg::Closed { users: u1, .. },
                    ) => {
                        if u1 > u0 {
                            self.start_users(ni as u32, *u0, *u1);
                        }
                    }
                    _ => self.rearm_source(ni as u32),
                }
            }
            (BodyCfg::Database(a), BodyCfg::Database(b)) if a.replicas != b.replicas => {
                self.set_db_replicas(ni, b.replicas)
            }
            (BodyCfg::Cache(_), BodyCfg::Cache(b)) => {
                if let BodyState::Cache(c) = &mut self.nodes[ni].body {
                    c.set_capacity(b.capacity_entries, b.capacity_bytes, self.cal.now());
                }
            }
            (BodyCfg::Broker(a), BodyCfg::Broker(b))
                if (a.partitions, a.consumers) != (b.partitions, b.consumers) =>
            {
                let BodyState::Broker(s) = &mut self.nodes[ni].body else {
                    unreachable!()
                };
                let (np, nc) = (b.partitions as usize, b.consumers);
                if s.partitions() as usize != np || s.active() != nc {
                    s.resize(np, nc);
                    for c in 0..nc {
                        self.consumer_poll(ni as u32, c);
                    }
                }
            }
            _ => {}
        }
    }

    /// A link whose bandwidth changed serves its transfers at the new
    /// speed from now on.
    fn migrate_links(&mut self, old: &Config) {
        let now = self.now();
        for (i, (o, n)) in old.links.iter().zip(&self.cfg.links).enumerate() {
            if o.bytes_per_ns == n.bytes_per_ns {
                continue;
            }
            if let Some((at, gen)) = self.links[i].set_capacity(now, n.bytes_per_ns) {
                let link = i as u32;
                self.cal.schedule(at, Event::LinkDone { link, gen });
            }
        }
    }

    /// Sets every replica's workers; queued work starts on new ones.
    fn set_workers(&mut self, ni: usize, workers: u32) {
        let now = self.now();
        for ri in 0..self.nodes[ni].stations.len() {
            self.nodes[ni].stations[ri].set_workers(now, workers);
            self.drain_queue(ni, ri);
        }
    }

    /// A database's read replicas: new ones come up now (empty queues),
    /// surplus ones drain and retire.
    fn set_db_replicas(&mut self, ni: usize, n: u32) {
        let cfg = self.cfg.clone();
        let (ncfg, BodyCfg::Database(db)) = (&cfg.nodes[ni], &cfg.nodes[ni].body) else {
            return;
        };
        let base = db.shards as usize;
        let n = n as usize;
        for r in base..base + n {
            let stations = &mut self.nodes[ni].stations;
            if r >= stations.len() {
                let partitioned = stations[base.min(stations.len() - 1)..]
                    .iter()
                    .any(|s| s.read_replica() && s.partitioned());
                let mut st = Station::unborn(ncfg.workers, &ncfg.pools);
                st.make_read_replica();
                st.set_partitioned(partitioned);
                stations.push(st);
            }
            if matches!(
                self.nodes[ni].stations[r].life(),
                Lifecycle::Retired | Lifecycle::Draining
            ) {
                self.nodes[ni].stations[r].set_drain_down(None);
                self.set_life(ni, r, Lifecycle::Up);
                self.drain_queue(ni, r);
            }
        }
        for r in base + n..self.nodes[ni].stations.len() {
            match self.nodes[ni].stations[r].life() {
                Lifecycle::Up => {
                    self.set_life(ni, r, Lifecycle::Draining);
                    self.maybe_finish_drain(ni, r);
                }
                Lifecycle::Down | Lifecycle::Booting => self.set_life(ni, r, Lifecycle::Retired),
                Lifecycle::Draining | Lifecycle::Retired => {}
            }
        }
    }

    /// Moves the pool connections held and awaited by calls on edge `i`
    /// from pool `old` to pool `new` of their caller (none: waiters go now).
    fn move_pool(&mut self, i: usize, old: Option<u32>, new: Option<u32>) {
        let now = self.now();
        let iu = i as u32;
        for c in self.calls.live_mut().filter(|c| c.edge == iu) {
            let k = c.pooled.count_ones();
            let (node, rep) = c.caller;
            if k == 0 || node == super::ids::NONE {
                continue;
            }
            let st = &mut self.nodes[node as usize].stations[rep as usize];
            if let Some(p) = old {
                st.pool(p).release(now, k);
            }
            match new {
                Some(p) => st.pool(p).adopt(now, k),
                None => c.pooled = 0,
            }
        }
        let Some(op) = old else { return };
        let from = self.cfg.edges[i].from as usize;
        let mut go_now = Vec::new();
        for ri in 0..self.nodes[from].stations.len() {
            let q = self.nodes[from].stations[ri].pool(op).take_waiters();
            let calls = &self.calls;
            let (moved, kept): (VecDeque<_>, VecDeque<_>) = q
                .into_iter()
                .partition(|(call, _)| calls.get(*call).is_some_and(|c| c.edge == iu));
            let st = &mut self.nodes[from].stations[ri];
            st.pool(op).add_waiters(kept);
            match new {
                Some(np) => st.pool(np).add_waiters(moved),
                None => {
                    for (call, a) in moved {
                        if let Some(c) = self.calls.get_mut(call) {
                            if c.waits_pool(a) {
                                c.pool_wait &= !(1u32 << a);
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

    /// Every pool hands free connections to its waiters (sizes changed).
    fn grant_all_pools(&mut self) {
        for ni in 0..self.nodes.len() {
            for ri in 0..self.nodes[ni].stations.len() {
                for p in 0..self.cfg.nodes[ni].pools.len() {
                    self.grant_pool(ni as u32, ri as u32, p as u32);
                }
            }
        }
    }
}

/// The index of `name` in `names`, appending it (and calling `grow`) if new.
fn index_or_push(names: &mut Vec<String>, name: &str, grow: impl FnOnce()) -> u32 {
    match names.iter().position(|n| n == name) {
        Some(i) => i as u32,
        None => {
            names.push(name.to_string());
            grow();
            (names.len() - 1) as u32
        }
    }
}

/// A database's connection limit changed.
fn limits_changed(old: &Config, new: &Config) -> bool {
    let limit = |c: &Config, i: usize| match &c.nodes[i].body {
        BodyCfg::Database(d) => d.max_connections,
        _ => None,
    };
    (0..new.nodes.len()).any(|i| limit(old, i) != limit(new, i))
}

/// A service's replica count in a scenario.
fn service_replicas(sc: &Scenario, name: &str) -> Option<u32> {
    match sc.nodes.get(name) {
        Some(crate::scenario::NodeSpec::Service(s)) => Some(s.replicas),
        _ => None,
    }
}
