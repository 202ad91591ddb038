//! A run's initial state: every node idle, caches warmed, and the first
//! events (warm-up, windows, sources, autoscalers, scheduled faults) on the
//! calendar, in that order.

use super::super::alerts::Alerts;
use super::super::config::{BodyCfg, Config, Op};
use super::super::draw::cache_key;
use super::super::edge::EdgeState;
use super::super::event::Event;
use super::super::ids::NEVER;
use super::super::node::{BodyState, NodeState};
use super::super::ops::FaultRt;
use super::super::stats::Stats;
use super::super::streams::Streams;
use super::super::trace::Tracer;
use super::super::{Calls, Jobs, KeySpaces, Locks, Sim};
use crate::calendar::{secs_to_ns, Calendar};
use crate::scenario::NodeSpec;
use crate::spec::FaultAction;
use std::sync::Arc;

impl Sim {
    /// A run of `cfg` at time 0, its first events scheduled.
    pub(in super::super) fn begin(cfg: Config) -> Sim {
        let faults = cfg
            .spec
            .faults
            .iter()
            .map(|f| FaultRt {
                spec: f.clone(),
                node: node_of(&cfg, &f.target),
                peer: match &f.action {
                    FaultAction::Partition { peer } => node_of(&cfg, peer),
                    _ => super::super::ids::NONE,
                },
            })
            .collect();
        let mut sim = Sim {
            cal: Calendar::new(),
            events: 0,
            streams: Streams::new(cfg.seed, &cfg.streams),
            nodes: cfg.nodes.iter().map(NodeState::new).collect(),
            edges: cfg.edges.iter().map(EdgeState::new).collect(),
            calls: Calls::new(),
            jobs: Jobs::new(),
            spaces: KeySpaces::with_len(cfg.spaces.len()),
            locks: Locks::with_len(cfg.locks.len()),
            faults,
            stats: Stats::new(cfg.nodes.len(), cfg.sources.len()),
            alerts: Alerts::new(&cfg.alerts),
            tracer: Tracer::new(cfg.trace_every, cfg.trace_keep),
            links: cfg
                .links
                .iter()
                .map(|l| super::super::link::LinkState::new(l.bytes_per_ns))
                .collect(),
            cands: Vec::new(),
            guard: Default::default(),
            nesting: 0,
            cfg: Arc::new(cfg),
        };
        sim.warm_caches();
        for ni in 0..sim.nodes.len() {
            for ri in 0..sim.nodes[ni].stations.len() {
                if sim.nodes[ni].stations[ri].is_up() {
                    sim.open_idle_connections(ni, ri);
                }
            }
        }
        sim.schedule_start();
        sim
    }

    /// Warms caches: the most popular keys of each key space read through
    /// them (shared keys only; per-user keys start cold).
    fn warm_caches(&mut self) {
        let cfg = &*self.cfg;
        // Per cache, in node order: the key spaces read through it, in the
        // order the programs read them.
        let mut reads: Vec<Vec<(u32, u64, bool)>> = vec![Vec::new(); cfg.nodes.len()];
        for n in &cfg.nodes {
            let BodyCfg::Service(s) = &n.body else {
                continue;
            };
            for op in s.programs.iter().flat_map(|p| &p.ops) {
                if let Op::CacheGet { edge, key, .. } = op {
                    let cache = cfg.edges[*edge as usize].to as usize;
                    reads[cache].push((key.space, key.n, key.per_user));
                }
            }
        }
        for (ci, spaces) in reads.into_iter().enumerate() {
            let (BodyCfg::Cache(cc), BodyState::Cache(c)) =
                (&cfg.nodes[ci].body, &mut self.nodes[ci].body)
            else {
                continue;
            };
            let Some(NodeSpec::Cache(spec)) = cfg.spec.nodes.get(&cfg.nodes[ci].name) else {
                continue;
            };
            let Some(n) = spec.warm else { continue };
            for (space, keys, per_user) in spaces {
                if per_user {
                    continue;
                }
                for k in 0..n.min(keys) {
                    c.warm(cache_key(space, k, None), cc.ttl.unwrap_or(NEVER));
                }
            }
        }
    }

    fn schedule_start(&mut self) {
        let cfg = self.cfg.clone();
        if cfg.warmup > 0 {
            self.cal.schedule(cfg.warmup, Event::Warmup);
        }
        self.cal.schedule(cfg.window, Event::Window);
        for (i, n) in cfg.nodes.iter().enumerate() {
            self.start_source(i as u32);
            if let Some(a) = &n.autoscale {
                let iv = secs_to_ns(a.interval_s);
                self.cal.schedule(iv, Event::Autoscale { node: i as u32 });
                self.nodes[i].autoscale_armed = true;
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            let idx = i as u32;
            self.cal
                .schedule(secs_to_ns(f.spec.at_s), Event::Fault { idx, start: true });
            if let Some(d) = f.spec.duration_s {
                self.cal.schedule(
                    secs_to_ns(f.spec.at_s + d),
                    Event::Fault { idx, start: false },
                );
            }
        }
    }
}

fn node_of(cfg: &Config, name: &str) -> u32 {
    cfg.nodes
        .iter()
        .position(|n| n.name == name)
        .map_or(super::super::ids::NONE, |i| i as u32)
}
