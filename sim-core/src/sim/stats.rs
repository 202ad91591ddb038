//! Statistics: warm-up, time-series windows, conservation, the report and
//! live snapshots.

use super::*;
use crate::metrics::{NodeWindow, Summary};
use crate::report::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Live state at one instant (cheap to take; for the page).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub t_s: f64,
    pub events: u64,
    pub end_to_end: E2eSnapshot,
    /// Non-source nodes, in name order (the order of window nodes).
    pub nodes: Vec<NodeSnapshot>,
    /// Cumulative counters per call edge (the page differences them into
    /// rates), in the order of [`Sim::topology`]'s edges.
    pub edges: Vec<EdgeSnapshot>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EdgeSnapshot {
    pub calls: u64,
    pub attempts: u64,
    pub retries: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub failed_calls: u64,
}

/// The static shape of the topology (for drawing it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    /// Every node: (name, kind).
    pub nodes: Vec<(String, String)>,
    /// Every call edge: (from, to).
    pub edges: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct E2eSnapshot {
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    pub rejected: u64,
    pub in_flight: u64,
    pub latency_s: Summary,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeSnapshot {
    pub name: String,
    pub kind: String,
    pub workers: u32,
    pub replicas: u32,
    pub busy: u32,
    pub queue_len: u64,
    pub in_flight: u64,
    pub utilisation: f64,
    pub queue_len_mean: f64,
    pub throughput_rps: f64,
    pub arrival_rate_rps: f64,
    /// Cache hit rate so far (caches).
    pub hit_rate: Option<f64>,
    /// Messages waiting (brokers).
    pub backlog: Option<u64>,
    /// Pool connections in use / size, summed over pools (services).
    pub pool_in_use: Option<(u32, u32)>,
}

impl Sim {
    pub(super) fn on_warmup(&mut self) {
        let now = self.now();
        for n in &mut self.nodes {
            for st in &mut n.reps {
                st.lv.touch(&mut st.c, now);
                st.at_warm = st.c;
            }
            if let Body::Source(s) = &mut n.body {
                s.e2e.at_warm = s.e2e.c;
            }
        }
        self.e2e_at_warm = self.e2e;
    }

    fn node_counters(&self, n: &Node) -> (Counters, Counters, Counters) {
        let now = self.now();
        let (mut c, mut w, mut win) = (
            Counters::default(),
            Counters::default(),
            Counters::default(),
        );
        for st in &n.reps {
            let mut sc = st.c;
            st.lv.touch(&mut sc, now);
            add(&mut c, &sc);
            add(&mut w, &st.at_warm);
            add(&mut win, &st.at_window);
        }
        (c, w, win)
    }

    pub(super) fn on_window(&mut self) {
        let now = self.now();
        let len = now - self.window_start;
        let len_s = ns_to_secs(len);
        let mut nodes = Vec::with_capacity(self.servers.len());
        for &i in &self.servers {
            let n = &mut self.nodes[i as usize];
            let mut d = Counters::default();
            for st in &mut n.reps {
                st.lv.touch(&mut st.c, now);
                add(&mut d, &st.c.minus(&st.at_window));
                st.at_window = st.c;
            }
            nodes.push(NodeWindow {
                utilisation: if n.unlimited { 0.0 } else { d.utilisation() },
                queue_len: d.queue_area / len as f64,
                in_flight: d.insys_area / len as f64,
                throughput_rps: d.completed as f64 / len_s,
                failed: d.failed,
                rejected: d.rejected,
                replicas: n.reps.iter().filter(|s| s.state == RState::Up).count() as u32,
            });
        }
        let e = self.e2e;
        let w = self.e2e_at_window;
        self.e2e_at_window = e;
        let completed = e.completed - w.completed;
        let heat = std::mem::replace(&mut self.win_heat, [0; HEAT_BUCKETS]);
        let [p50_s, p95_s, p99_s] = self.win_latency.p50_p95_p99_s();
        self.windows.push_back(Window {
            t_start_s: ns_to_secs(self.window_start),
            t_end_s: ns_to_secs(now),
            arrived: e.arrived - w.arrived,
            completed,
            failed: (e.failed + e.rejected) - (w.failed + w.rejected),
            in_flight: e.arrived - e.completed - e.failed - e.rejected,
            throughput_rps: completed as f64 / len_s,
            p50_s,
            p95_s,
            p99_s,
            heat: heat.to_vec(),
            slo_good: self.slo.map(|_| std::mem::take(&mut self.win_slo_good)),
            nodes,
        });
        self.win_latency.reset();
        while self.windows.len() > self.max_windows {
            self.windows.pop_front();
        }
        self.window_start = now;
        self.cal.schedule(now + self.window, Event::Window);
        #[cfg(debug_assertions)]
        {
            let v = self.conservation();
            debug_assert!(
                v.ok,
                "conservation violated at t={now} (seed {}): {:?}",
                self.seed, v.violations
            );
        }
    }

    /// Completed windows of the time series, oldest first.
    pub fn windows(&self) -> Vec<Window> {
        self.windows.iter().cloned().collect()
    }

    /// The kept windows that end after `t_s` (simulated seconds), oldest
    /// first: what a live view has not seen yet. At most `max` (the newest).
    pub fn windows_after(&self, t_s: f64, max: usize) -> Vec<Window> {
        let n = self
            .windows
            .iter()
            .rev()
            .take_while(|w| w.t_end_s > t_s)
            .take(max)
            .count();
        self.windows
            .iter()
            .skip(self.windows.len() - n)
            .cloned()
            .collect()
    }

    /// How many windows are kept now.
    pub fn windows_len(&self) -> usize {
        self.windows.len()
    }

    /// Checks that every request is accounted for: arrived = completed +
    /// failed + rejected + in flight, per replica and end to end, with "in
    /// flight" counted independently from the live jobs and calls; and that
    /// every broker message is published = processed + dead-lettered +
    /// discarded + waiting + in processing.
    pub fn conservation(&self) -> Conservation {
        let mut violations = Vec::new();
        let mut live: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        for (_, j) in self.jobs.live() {
            if j.state != JobState::Transit {
                *live.entry((j.node, j.rep)).or_default() += 1;
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            for (r, st) in n.reps.iter().enumerate() {
                let c = &st.c;
                let l = live.get(&(i as u32, r as u32)).copied().unwrap_or(0);
                if c.arrived != c.completed + c.failed + c.rejected + l {
                    violations.push(format!(
                        "node {} replica {r}: arrived {} != completed {} + failed {} + rejected {} + in flight {l}",
                        n.name, c.arrived, c.completed, c.failed, c.rejected
                    ));
                }
                if st.lv.insys() != l {
                    violations.push(format!(
                        "node {} replica {r}: {} requests by level, {l} live jobs",
                        n.name,
                        st.lv.insys()
                    ));
                }
            }
            if let Body::Broker(b) = &n.body {
                let waiting: u64 = b.parts.iter().map(|p| p.q.len() as u64).sum();
                let busy = b.consumers.iter().filter(|c| c.busy.is_some()).count() as u64;
                let accounted =
                    b.processed + b.dead_lettered + b.discarded + b.dropped + waiting + busy;
                if b.published != accounted {
                    violations.push(format!(
                        "broker {}: published {} != processed {} + dead-lettered {} + discarded {} + dropped {} + waiting {waiting} + in processing {busy}",
                        n.name, b.published, b.processed, b.dead_lettered, b.discarded, b.dropped
                    ));
                }
                if b.depth != waiting {
                    violations.push(format!(
                        "broker {}: depth {} != waiting {waiting}",
                        n.name, b.depth
                    ));
                }
            }
        }
        let mut live_roots = vec![0u64; self.nodes.len()];
        for (_, c) in self.calls.live() {
            if let (Origin::Root { src, .. }, false) = (c.origin, c.resolved) {
                live_roots[src as usize] += 1;
            }
        }
        // Root requests whose call is deferred (`Sim::call_of`).
        for (_, j) in self.jobs.live() {
            if j.call_deferred() {
                live_roots[j.root.src as usize] += 1;
            }
        }
        let total: u64 = live_roots.iter().sum();
        let e = &self.e2e;
        if e.arrived != e.completed + e.failed + e.rejected + total {
            violations.push(format!(
                "end to end: arrived {} != completed {} + failed {} + rejected {} + in flight {total}",
                e.arrived, e.completed, e.failed, e.rejected
            ));
        }
        for &s in &self.sources {
            if let Body::Source(src) = &self.nodes[s as usize].body {
                let c = &src.e2e.c;
                let l = live_roots[s as usize];
                if c.arrived != c.completed + c.failed + c.rejected + l {
                    violations.push(format!(
                        "source {}: arrived {} != completed + failed + rejected + in flight {l}",
                        self.nodes[s as usize].name, c.arrived
                    ));
                }
            }
        }
        Conservation {
            ok: violations.is_empty(),
            violations,
        }
    }

    fn stat_secs(&self) -> f64 {
        ns_to_secs(self.now().saturating_sub(self.warmup))
    }

    /// A node's counters over the whole run, and over the measured period
    /// (after warm-up; zero before it ends).
    fn measured(&self, n: &Node) -> (Counters, Counters) {
        let (c, w, _) = self.node_counters(n);
        let st = if self.now() < self.warmup {
            Counters::default()
        } else {
            c.minus(&w)
        };
        (c, st)
    }

    fn node_report(&self, ni: usize) -> NodeReport {
        let n = &self.nodes[ni];
        let now = self.now();
        let secs = self.stat_secs();
        let (c, st) = self.measured(n);
        let per_s = |x: f64| if secs > 0.0 { x / secs } else { 0.0 };
        let insys: u64 = n.reps.iter().map(|s| s.lv.insys()).sum();
        let replica_utilisation = n
            .reps
            .iter()
            .map(|s| {
                let mut c = s.c;
                s.lv.touch(&mut c, now);
                c.minus(&s.at_warm).utilisation()
            })
            .collect();
        let mut pools = BTreeMap::new();
        for (pi, name) in n.pool_names.iter().enumerate() {
            let (mut size, mut area, mut acquired, mut timeouts, mut rejected) =
                (0u32, 0.0, 0, 0, 0);
            let mut wait = LatencyHist::new(2);
            for s in &n.reps {
                let p = &s.pools[pi];
                size = p.size;
                area += p.area + (now - p.last) as f64 * p.in_use as f64;
                acquired += p.acquired;
                timeouts += p.timeouts;
                rejected += p.rejected;
                wait.add(&p.wait);
            }
            let cap = size as f64 * n.reps.len() as f64 * now.max(1) as f64;
            pools.insert(
                name.clone(),
                PoolReport {
                    size,
                    occupancy: area / cap,
                    acquired,
                    timeouts,
                    rejected,
                    wait_s: wait.summary(),
                },
            );
        }
        let cache = match &n.body {
            Body::Cache(c) => {
                let s = c.store.stats();
                let lookups = c.hits + c.misses;
                Some(CacheReport {
                    hits: c.hits,
                    misses: c.misses,
                    hit_rate: if lookups > 0 {
                        c.hits as f64 / lookups as f64
                    } else {
                        0.0
                    },
                    stale_reads: c.stale,
                    stale_fraction: if c.hits > 0 {
                        c.stale as f64 / c.hits as f64
                    } else {
                        0.0
                    },
                    evictions: s.evictions,
                    expirations: s.expirations,
                    entries: c.store.len(),
                    memory_mb: c.store.bytes() as f64 / 1e6,
                    coalesced: c.coalesced,
                    fills: c.fills,
                    flushes: c.flushes,
                })
            }
            _ => None,
        };
        let database = match &n.body {
            Body::Database(d) => {
                let names: Vec<String> = match self.table_names.get(&n.name) {
                    Some(v) => v.clone(),
                    None => Vec::new(),
                };
                Some(DbReport {
                    queries: d.queries,
                    reads: d.reads_n,
                    writes: d.writes_n,
                    stale_reads: d.stale_reads,
                    rows_per_query: if d.queries > 0 {
                        d.rows_returned as f64 / d.queries as f64
                    } else {
                        0.0
                    },
                    kb_per_query: if d.queries > 0 {
                        d.bytes_returned / d.queries as f64 / 1000.0
                    } else {
                        0.0
                    },
                    table_rows: names
                        .into_iter()
                        .zip(d.tables.iter())
                        .map(|(k, t)| (k, (t.rows0 + t.growth * ns_to_secs(now)).round()))
                        .collect(),
                })
            }
            _ => None,
        };
        let broker = match &n.body {
            Body::Broker(b) => {
                let backlog: Vec<u64> = b.parts.iter().map(|p| p.q.len() as u64).collect();
                let oldest = b
                    .parts
                    .iter()
                    .filter_map(|p| p.q.iter().map(|m| m.t_pub).min())
                    .min();
                let area = b.depth_area + (now - b.last) as f64 * b.depth as f64;
                Some(BrokerReport {
                    published: b.published,
                    processed: b.processed,
                    dead_lettered: b.dead_lettered,
                    discarded: b.discarded,
                    dropped: b.dropped,
                    rejected: b.rejected,
                    failed_attempts: b.failed_attempts,
                    backlog: backlog.iter().sum(),
                    backlog_mean: area / now.max(1) as f64,
                    backlog_max_partition: b.parts.iter().map(|p| p.max_depth).max().unwrap_or(0),
                    oldest_age_s: oldest.map_or(0.0, |t| ns_to_secs(now - t)),
                    partition_backlog: backlog,
                    latency_s: b.latency.summary(),
                })
            }
            _ => None,
        };
        let balancer = match &n.body {
            Body::Balancer(lb) => Some(BalancerReport {
                routed: lb.routed,
                to_dead: lb.to_dead,
            }),
            _ => None,
        };
        let inst = n.instance_area
            + (now - n.inst_last) as f64
                * n.reps
                    .iter()
                    .filter(|s| matches!(s.state, RState::Up | RState::Booting | RState::Draining))
                    .count() as f64;
        NodeReport {
            kind: n.kind.as_str().to_string(),
            workers: if n.unlimited { 0 } else { n.workers_spec },
            arrived: c.arrived,
            completed: c.completed,
            failed: c.failed,
            rejected: c.rejected,
            in_flight: insys,
            late_responses: n.late,
            utilisation: if n.unlimited { 0.0 } else { st.utilisation() },
            queue_len_mean: per_s(st.queue_area / 1e9),
            in_system_mean: per_s(st.insys_area / 1e9),
            arrival_rate_rps: per_s(st.arrived as f64),
            throughput_rps: per_s(st.completed as f64),
            p_wait: n.wait.fraction_above(0),
            wait_s: n.wait.summary(),
            sojourn_s: self.sojourn(ni).summary(),
            replicas: n.reps.iter().filter(|s| s.state == RState::Up).count() as u32,
            replica_utilisation,
            expired: n.expired,
            side_effects: n.side_effects,
            duplicates: n.duplicates,
            restarts: n.reps.iter().map(|s| s.restarts).sum(),
            oom_kills: n.reps.iter().map(|s| s.oom_kills).sum(),
            rate_limited: n.rate.as_ref().map_or(0, |r| r.limited),
            instance_seconds: inst / 1e9,
            scale_actions: n.autoscale.as_ref().map_or(0, |a| a.actions),
            lock_wait_s: n.lock_wait.summary(),
            pools,
            cache,
            database,
            broker,
            balancer,
        }
    }

    /// The report of the run so far. `wall_s` is 0: the library has no clock;
    /// callers that time the run fill it in.
    pub fn report(&self) -> Report {
        let secs = self.stat_secs();
        let warm = self.now() >= self.warmup;
        let e = self.e2e;
        let ew = if warm { self.e2e_at_warm } else { e };
        let completed_stat = e.completed - ew.completed;
        let failed_stat = (e.failed + e.rejected) - (ew.failed + ew.rejected);
        let finished_stat = completed_stat + failed_stat;
        let mut nodes = BTreeMap::new();
        for &i in &self.servers {
            let n = &self.nodes[i as usize];
            nodes.insert(n.name.clone(), self.node_report(i as usize));
        }
        let mut sources = BTreeMap::new();
        for &i in &self.sources {
            let n = &self.nodes[i as usize];
            if let Body::Source(s) = &n.body {
                let c = s.e2e.c;
                let w = if warm { s.e2e.at_warm } else { c };
                sources.insert(
                    n.name.clone(),
                    SourceReport {
                        arrived: c.arrived,
                        completed: c.completed,
                        failed: c.failed,
                        rejected: c.rejected,
                        timed_out: c.timed_out,
                        throughput_rps: if secs > 0.0 {
                            (c.completed - w.completed) as f64 / secs
                        } else {
                            0.0
                        },
                        latency_s: if self.sources.len() > 1 {
                            s.e2e.latency.summary()
                        } else {
                            self.latency.summary()
                        },
                    },
                );
            }
        }
        let edges = self
            .edges
            .iter()
            .filter(|e| e.stats.calls > 0)
            .map(|e| EdgeReport {
                from: self.nodes[e.from as usize].name.clone(),
                to: self.nodes[e.to as usize].name.clone(),
                calls: e.stats.calls,
                attempts: e.stats.attempts,
                retries: e.stats.retries,
                retries_denied: e.stats.retries_denied,
                hedges: e.stats.hedges,
                timeouts: e.stats.timeouts,
                errors: e.stats.errors,
                fallbacks: e.stats.fallbacks,
                breaker_rejects: e.stats.breaker_rejects,
                breaker_opened: e.breaker.as_ref().map_or(0, |b| b.opened()),
                failed_calls: e.stats.failed_calls,
                amplification: e.stats.attempts as f64 / e.stats.calls as f64,
            })
            .collect();
        Report {
            scenario: self.scenario.clone(),
            seed: self.seed,
            sim_time_s: self.now_s(),
            warmup_s: ns_to_secs(self.warmup),
            events: self.events,
            wall_s: 0.0,
            end_to_end: E2eReport {
                arrived: e.arrived,
                completed: e.completed,
                failed: e.failed,
                rejected: e.rejected,
                timed_out: e.timed_out,
                in_flight: e.arrived - e.completed - e.failed - e.rejected,
                throughput_rps: if secs > 0.0 {
                    completed_stat as f64 / secs
                } else {
                    0.0
                },
                error_rate: if finished_stat > 0 {
                    failed_stat as f64 / finished_stat as f64
                } else {
                    0.0
                },
                latency_s: self.latency.summary(),
            },
            nodes,
            sources,
            edges,
            slo: self.slo.map(|(limit, target)| {
                let (good, total) = self.slo_counts;
                let compliance = if total > 0 {
                    good as f64 / total as f64
                } else {
                    1.0
                };
                SloReport {
                    latency_s: ns_to_secs(limit),
                    target,
                    requests: total,
                    compliance,
                    burn_rate: (1.0 - compliance) / (1.0 - target),
                }
            }),
            conservation: self.conservation(),
            series: Series {
                window_s: ns_to_secs(self.window),
                nodes: self
                    .servers
                    .iter()
                    .map(|&i| self.nodes[i as usize].name.clone())
                    .collect(),
                windows: self.windows(),
            },
            slowest_traces: self.slowest_traces(),
        }
    }

    /// The histogram of measured end-to-end latencies (successful root
    /// requests after warm-up), which `report().end_to_end.latency_s`
    /// summarises. Replications merge these exactly (`LatencyHist::add`) for
    /// pooled percentiles, rather than averaging per-run percentiles.
    pub fn latency_histogram(&self) -> &crate::metrics::LatencyHist {
        &self.latency
    }

    /// The topology's nodes and call edges.
    pub fn topology(&self) -> Topology {
        Topology {
            nodes: self
                .nodes
                .iter()
                .map(|n| (n.name.clone(), n.kind.as_str().to_string()))
                .collect(),
            edges: self
                .edges
                .iter()
                .map(|e| {
                    (
                        self.nodes[e.from as usize].name.clone(),
                        self.nodes[e.to as usize].name.clone(),
                    )
                })
                .collect(),
        }
    }

    /// Live state (for the page).
    pub fn snapshot(&self) -> Snapshot {
        let e = self.e2e;
        let secs = self.stat_secs();
        Snapshot {
            t_s: self.now_s(),
            events: self.events,
            end_to_end: E2eSnapshot {
                arrived: e.arrived,
                completed: e.completed,
                failed: e.failed,
                rejected: e.rejected,
                in_flight: e.arrived - e.completed - e.failed - e.rejected,
                latency_s: self.latency.summary(),
            },
            nodes: self
                .servers
                .iter()
                .map(|&i| {
                    let n = &self.nodes[i as usize];
                    let (_, st) = self.measured(n);
                    let per_s = |x: f64| if secs > 0.0 { x / secs } else { 0.0 };
                    let pools = if n.pool_names.is_empty() {
                        None
                    } else {
                        Some(
                            n.reps
                                .iter()
                                .flat_map(|s| s.pools.iter())
                                .fold((0, 0), |(u, t), p| (u + p.in_use, t + p.size)),
                        )
                    };
                    NodeSnapshot {
                        name: n.name.clone(),
                        kind: n.kind.as_str().to_string(),
                        workers: if n.unlimited { 0 } else { n.workers_spec },
                        replicas: n.reps.iter().filter(|s| s.state == RState::Up).count() as u32,
                        busy: n.reps.iter().map(|s| s.lv.busy()).sum(),
                        queue_len: n.reps.iter().map(|s| s.queue.len() as u64).sum(),
                        in_flight: n.reps.iter().map(|s| s.lv.insys()).sum(),
                        utilisation: if n.unlimited { 0.0 } else { st.utilisation() },
                        queue_len_mean: per_s(st.queue_area / 1e9),
                        throughput_rps: per_s(st.completed as f64),
                        arrival_rate_rps: per_s(st.arrived as f64),
                        hit_rate: match &n.body {
                            Body::Cache(c) if c.hits + c.misses > 0 => {
                                Some(c.hits as f64 / (c.hits + c.misses) as f64)
                            }
                            Body::Cache(_) => Some(0.0),
                            _ => None,
                        },
                        backlog: match &n.body {
                            Body::Broker(b) => Some(b.depth),
                            _ => None,
                        },
                        pool_in_use: pools,
                    }
                })
                .collect(),
            edges: self
                .edges
                .iter()
                .map(|e| EdgeSnapshot {
                    calls: e.stats.calls,
                    attempts: e.stats.attempts,
                    retries: e.stats.retries,
                    errors: e.stats.errors,
                    timeouts: e.stats.timeouts,
                    failed_calls: e.stats.failed_calls,
                })
                .collect(),
        }
    }
}

fn add(a: &mut Counters, b: &Counters) {
    a.arrived += b.arrived;
    a.completed += b.completed;
    a.failed += b.failed;
    a.rejected += b.rejected;
    a.busy_area += b.busy_area;
    a.cap_area += b.cap_area;
    a.queue_area += b.queue_area;
    a.insys_area += b.insys_area;
}
