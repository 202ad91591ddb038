//! Observing a run: the warm-up mark, time-series windows, conservation,
//! the report, live snapshots, the topology and traces. Nothing here
//! changes what the simulation does next.

use super::config::BodyCfg;
use super::event::Event;
use super::job::JobState;
use super::node::{BodyState, NodeState};
use super::Sim;
use crate::calendar::ns_to_secs;
use crate::metrics::{Counters, LatencyHist, NodeWindow, Summary, Window};
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

impl Sim {
    pub(super) fn on_warmup(&mut self) {
        let now = self.now();
        for n in &mut self.nodes {
            for st in &mut n.stations {
                st.mark_warm(now);
            }
            match &mut n.body {
                BodyState::Cache(c) => c.mark_warm(now),
                BodyState::Database(d) => d.mark_warm(),
                BodyState::Broker(b) => b.mark_warm(now),
                _ => {}
            }
        }
        for l in &mut self.links {
            l.mark_warm(now);
        }
        self.stats.mark_warm();
    }

    pub(super) fn on_window(&mut self) {
        let now = self.now();
        let len = (now - self.stats.window_start()) as f64;
        let len_s = ns_to_secs(now - self.stats.window_start());
        let mut nodes = Vec::with_capacity(self.cfg.servers.len());
        for &i in &self.cfg.servers {
            let n = &mut self.nodes[i as usize];
            let mut d = Counters::default();
            for st in &mut n.stations {
                add(&mut d, &st.close_window(now));
            }
            let unlimited = self.cfg.nodes[i as usize].unlimited;
            nodes.push(NodeWindow {
                arrival_rate_rps: d.arrived as f64 / len_s,
                utilisation: if unlimited { 0.0 } else { d.utilisation() },
                queue_len: d.queue_area / len,
                in_flight: d.insys_area / len,
                throughput_rps: d.completed as f64 / len_s,
                failed: d.failed,
                rejected: d.rejected,
                replicas: n.up(),
            });
        }
        let keep = self.cfg.max_windows;
        let slo = self.cfg.slo.is_some();
        self.stats.close_window(now, nodes, slo, keep);
        self.feed_alerts(now);
        self.cal
            .schedule(now.saturating_add(self.cfg.window), Event::Window);
        #[cfg(debug_assertions)]
        {
            let v = self.conservation();
            debug_assert!(
                v.ok,
                "conservation violated at t={now} (seed {}): {:?}",
                self.cfg.seed, v.violations
            );
        }
    }

    /// The alert rules see the window that just closed.
    fn feed_alerts(&mut self, now: super::Time) {
        if self.cfg.alerts.is_empty() {
            return;
        }
        let w = self.stats.windows().back().expect("the window just closed");
        let counts = alert_counts(w);
        (self.alerts).close_window(&self.cfg.alerts, self.cfg.window, now, counts);
    }

    /// The kept windows' (bad, ended) counts, oldest first: what a changed
    /// alert rule looks back over.
    pub(super) fn alert_history(&self) -> Vec<(u64, u64)> {
        self.stats.windows().iter().map(alert_counts).collect()
    }

    /// Completed windows of the time series, oldest first.
    pub fn windows(&self) -> Vec<Window> {
        self.stats.windows().iter().cloned().collect()
    }

    /// The kept windows that end after `t_s` (simulated seconds), oldest
    /// first: what a live view has not seen yet. At most `max` (the newest).
    pub fn windows_after(&self, t_s: f64, max: usize) -> Vec<Window> {
        let w = self.stats.windows();
        let n = w
            .iter()
            .rev()
            .take_while(|w| w.t_end_s > t_s)
            .take(max)
            .count();
        w.iter().skip(w.len() - n).cloned().collect()
    }

    /// How many windows are kept now.
    pub fn windows_len(&self) -> usize {
        self.stats.windows().len()
    }

    /// Checks that every request is accounted for: arrived = completed +
    /// failed + rejected + in flight, per replica and end to end, with "in
    /// flight" counted independently from the live jobs and calls; and that
    /// every broker message is published = processed + dead-lettered +
    /// discarded + waiting + in processing.
    pub fn conservation(&self) -> Conservation {
        let now = self.now();
        let mut violations = Vec::new();
        let mut live: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        for (_, j) in self.jobs.live() {
            if j.state != JobState::Transit {
                *live.entry((j.node, j.rep)).or_default() += 1;
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            let name = &self.cfg.nodes[i].name;
            for (r, st) in n.stations.iter().enumerate() {
                let c = st.counters(now);
                let l = live.get(&(i as u32, r as u32)).copied().unwrap_or(0);
                if c.arrived != c.completed + c.failed + c.rejected + l {
                    violations.push(format!(
                        "node {name} replica {r}: arrived {} != completed {} + failed {} + rejected {} + in flight {l}",
                        c.arrived, c.completed, c.failed, c.rejected
                    ));
                }
                if st.in_system() != l {
                    violations.push(format!(
                        "node {name} replica {r}: {} requests by level, {l} live jobs",
                        st.in_system()
                    ));
                }
            }
            if let BodyState::Broker(b) = &n.body {
                if let Some(v) = b.conservation() {
                    violations.push(format!("broker {name}: {v}"));
                }
            }
            if let Some(v) = self.connections_held(i) {
                violations.push(format!("database {name}: {v}"));
            }
        }
        let mut live_roots = vec![0u64; self.nodes.len()];
        for (_, c) in self.calls.live() {
            if let (super::call::Origin::Root { src, .. }, false) = (c.origin, c.resolved) {
                live_roots[src as usize] += 1;
            }
        }
        let total: u64 = live_roots.iter().sum();
        let e = self.stats.totals();
        if e.arrived != e.completed + e.failed + e.rejected + total {
            violations.push(format!(
                "end to end: arrived {} != completed {} + failed {} + rejected {} + in flight {total}",
                e.arrived, e.completed, e.failed, e.rejected
            ));
        }
        for &s in &self.cfg.sources {
            let c = self.stats.source(s);
            let l = live_roots[s as usize];
            if c.arrived != c.completed + c.failed + c.rejected + l {
                violations.push(format!(
                    "source {}: arrived {} != completed + failed + rejected + in flight {l}",
                    self.cfg.nodes[s as usize].name, c.arrived
                ));
            }
        }
        Conservation {
            ok: violations.is_empty(),
            violations,
        }
    }

    /// A database that limits its connections counts exactly those the
    /// pools of every replica hold open.
    fn connections_held(&self, db: usize) -> Option<String> {
        let BodyState::Database(d) = &self.nodes[db].body else {
            return None;
        };
        let mut held = 0u32;
        for (ni, n) in self.nodes.iter().enumerate() {
            for (p, pc) in self.cfg.nodes[ni].pools.iter().enumerate() {
                if pc.limited_db == Some(db as u32) {
                    held += n.stations.iter().map(|s| s.pools()[p].open()).sum::<u32>();
                }
            }
        }
        (held != d.open_connections()).then(|| {
            format!(
                "{} connections open, the pools hold {held}",
                d.open_connections()
            )
        })
    }

    /// Seconds measured (after the warm-up).
    fn stat_secs(&self) -> f64 {
        ns_to_secs(self.now().saturating_sub(self.cfg.warmup))
    }

    /// A node's counters over the whole run, and over the measured period
    /// (after warm-up; zero before it ends).
    fn measured(&self, n: &NodeState) -> (Counters, Counters) {
        let now = self.now();
        let (mut c, mut w) = (Counters::default(), Counters::default());
        for st in &n.stations {
            add(&mut c, &st.counters(now));
            add(&mut w, &st.at_warm());
        }
        let st = if now < self.cfg.warmup {
            Counters::default()
        } else {
            c.minus(&w)
        };
        (c, st)
    }

    fn pools_report(&self, ni: usize) -> BTreeMap<String, PoolReport> {
        let now = self.now();
        let warm = now >= self.cfg.warmup;
        let (ncfg, n) = (&self.cfg.nodes[ni], &self.nodes[ni]);
        let mut pools = BTreeMap::new();
        for (pi, name) in ncfg.pool_names.iter().enumerate() {
            let (mut area, mut acquired, mut timeouts, mut rejected) = (0.0, 0, 0, 0);
            let mut wait = LatencyHist::new(2);
            for s in &n.stations {
                let p = &s.pools()[pi];
                let c = p.measured(now, warm);
                area += c.area;
                acquired += c.acquired;
                timeouts += c.timeouts;
                rejected += c.rejected;
                wait.add(p.wait_hist());
            }
            let size = ncfg.pools[pi].size;
            let span = now.saturating_sub(self.cfg.warmup).max(1);
            let cap = size as f64 * n.stations.len() as f64 * span as f64;
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
        pools
    }

    fn node_report(&self, ni: usize) -> NodeReport {
        let now = self.now();
        let warm = now >= self.cfg.warmup;
        let (ncfg, n) = (&self.cfg.nodes[ni], &self.nodes[ni]);
        let secs = self.stat_secs();
        let (c, st) = self.measured(n);
        let per_s = |x: f64| if secs > 0.0 { x / secs } else { 0.0 };
        let replica_utilisation = n
            .stations
            .iter()
            .map(|s| s.counters(now).minus(&s.at_warm()).utilisation())
            .collect();
        NodeReport {
            kind: ncfg.kind.as_str().to_string(),
            workers: if ncfg.unlimited { 0 } else { ncfg.workers },
            arrived: c.arrived,
            completed: c.completed,
            failed: c.failed,
            rejected: c.rejected,
            in_flight: n.stations.iter().map(|s| s.in_system()).sum(),
            late_responses: n.late,
            utilisation: if ncfg.unlimited {
                0.0
            } else {
                st.utilisation()
            },
            queue_len_mean: per_s(st.queue_area / 1e9),
            in_system_mean: per_s(st.insys_area / 1e9),
            arrival_rate_rps: per_s(st.arrived as f64),
            throughput_rps: per_s(st.completed as f64),
            p_wait: n.wait.fraction_above(0),
            wait_s: n.wait.summary(),
            sojourn_s: n.sojourn.summary(),
            replicas: n.up(),
            replica_utilisation,
            expired: n.expired,
            side_effects: n.side_effects,
            duplicates: n.duplicates,
            restarts: n.stations.iter().map(|s| s.restarts()).sum(),
            oom_kills: n.stations.iter().map(|s| s.oom_kills()).sum(),
            rate_limited: if ncfg.rate_limit.is_some() {
                n.rate.limited()
            } else {
                0
            },
            instance_seconds: n.instance_area(now) / 1e9,
            scale_actions: n.autoscale.as_ref().map_or(0, |a| a.actions),
            cold_starts: ncfg.serverless.map(|_| n.cold_starts),
            lock_wait_s: n.lock_wait.summary(),
            pools: self.pools_report(ni),
            cache: match &n.body {
                BodyState::Cache(c) => Some(c.report(now, warm)),
                _ => None,
            },
            database: match (&n.body, &ncfg.body) {
                (BodyState::Database(d), BodyCfg::Database(dc)) => Some(d.report(dc, now, warm)),
                _ => None,
            },
            broker: match &n.body {
                BodyState::Broker(b) => Some(b.report(now, warm)),
                _ => None,
            },
            balancer: match &n.body {
                BodyState::Balancer(lb) => Some(BalancerReport {
                    routed: lb.routed,
                    to_dead: lb.to_dead,
                }),
                _ => None,
            },
        }
    }

    /// The report of the run so far. `wall_s` is 0: the library has no clock;
    /// callers that time the run fill it in.
    pub fn report(&self) -> Report {
        let cfg = &*self.cfg;
        let secs = self.stat_secs();
        let warm = self.now() >= cfg.warmup;
        let name = |i: u32| cfg.nodes[i as usize].name.clone();
        let nodes = cfg
            .servers
            .iter()
            .map(|&i| (name(i), self.node_report(i as usize)))
            .collect();
        let sources = cfg
            .sources
            .iter()
            .map(|&i| (name(i), self.stats.source_report(i, warm, secs)))
            .collect();
        let edges = cfg
            .edges
            .iter()
            .zip(&self.edges)
            .filter(|(_, s)| s.stats.calls > 0)
            .map(|(e, s)| s.report(name(e.from), name(e.to)))
            .collect();
        Report {
            scenario: cfg.spec.name.clone(),
            seed: cfg.seed,
            sim_time_s: self.now_s(),
            warmup_s: ns_to_secs(cfg.warmup),
            events: self.events,
            wall_s: 0.0,
            end_to_end: self.stats.e2e_report(warm, secs),
            nodes,
            sources,
            edges,
            links: cfg
                .links
                .iter()
                .zip(&self.links)
                .map(|(c, l)| {
                    (
                        c.name.clone(),
                        l.report(self.now(), cfg.warmup, c.bandwidth_mbps),
                    )
                })
                .collect(),
            slo: self.stats.slo_report(cfg.slo),
            alerts: self.alerts.report(&cfg.alerts, self.now()),
            conservation: self.conservation(),
            series: Series {
                window_s: ns_to_secs(cfg.window),
                nodes: cfg.servers.iter().map(|&i| name(i)).collect(),
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
        self.stats.latency()
    }

    /// The topology's nodes and call edges.
    pub fn topology(&self) -> Topology {
        let cfg = &*self.cfg;
        let name = |i: u32| cfg.nodes[i as usize].name.clone();
        Topology {
            nodes: cfg
                .nodes
                .iter()
                .map(|n| (n.name.clone(), n.kind.as_str().to_string()))
                .collect(),
            edges: cfg
                .edges
                .iter()
                .map(|e| (name(e.from), name(e.to)))
                .collect(),
        }
    }

    /// Live state (for the page).
    pub fn snapshot(&self) -> Snapshot {
        let cfg = &*self.cfg;
        let e = self.stats.totals();
        let secs = self.stat_secs();
        let per_s = |x: f64| if secs > 0.0 { x / secs } else { 0.0 };
        Snapshot {
            t_s: self.now_s(),
            events: self.events,
            end_to_end: E2eSnapshot {
                arrived: e.arrived,
                completed: e.completed,
                failed: e.failed,
                rejected: e.rejected,
                in_flight: e.in_flight(),
                latency_s: self.stats.latency().summary(),
            },
            nodes: cfg
                .servers
                .iter()
                .map(|&i| {
                    let (ncfg, n) = (&cfg.nodes[i as usize], &self.nodes[i as usize]);
                    let (_, st) = self.measured(n);
                    let pools = (!ncfg.pool_names.is_empty()).then(|| {
                        n.stations
                            .iter()
                            .flat_map(|s| s.pools().iter().zip(&ncfg.pools))
                            .fold((0, 0), |(u, t), (p, pc)| (u + p.in_use(), t + pc.size))
                    });
                    NodeSnapshot {
                        name: ncfg.name.clone(),
                        kind: ncfg.kind.as_str().to_string(),
                        workers: if ncfg.unlimited { 0 } else { ncfg.workers },
                        replicas: n.up(),
                        busy: n.stations.iter().map(|s| s.busy()).sum(),
                        queue_len: n.stations.iter().map(|s| s.queue_len() as u64).sum(),
                        in_flight: n.stations.iter().map(|s| s.in_system()).sum(),
                        utilisation: if ncfg.unlimited {
                            0.0
                        } else {
                            st.utilisation()
                        },
                        queue_len_mean: per_s(st.queue_area / 1e9),
                        throughput_rps: per_s(st.completed as f64),
                        arrival_rate_rps: per_s(st.arrived as f64),
                        hit_rate: match &n.body {
                            BodyState::Cache(c) => Some(c.hit_rate(self.now())),
                            _ => None,
                        },
                        backlog: match &n.body {
                            BodyState::Broker(b) => Some(b.backlog()),
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

    /// The most recent finished traces, oldest first.
    pub fn recent_traces(&self) -> Vec<Trace> {
        self.tracer
            .recent(&|n| self.cfg.nodes[n as usize].name.clone())
    }

    /// The slowest finished traces, slowest first.
    pub fn slowest_traces(&self) -> Vec<Trace> {
        self.tracer
            .slowest(&|n| self.cfg.nodes[n as usize].name.clone())
    }
}

/// A window's root requests that ended, and how many of them were bad for
/// the SLO (failed, or slower than its latency).
fn alert_counts(w: &Window) -> (u64, u64) {
    let ended = w.completed + w.failed;
    (ended.saturating_sub(w.slo_good.unwrap_or(ended)), ended)
}
