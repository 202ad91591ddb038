//! Where an attempt goes: a replica of the callee, chosen by a load
//! balancer node, a database's shard and read routing, or a service's own
//! balancing over its replicas.

use super::config::BodyCfg;
use super::job::{Attrs, Task};
use super::node::BodyState;
use super::station::Lifecycle;
use super::Sim;
use crate::calendar::Time;
use crate::spec::ReadRouting;

impl Sim {
    /// Routes a call to `to`: a (node, replica) and any balancer latency.
    /// A service or cache of one replica (not serverless) is its own
    /// answer, found here; the rest is each kind's business.
    #[inline(always)]
    pub(super) fn route(
        &mut self,
        to: u32,
        task: &Task,
        attrs: &Attrs,
    ) -> Option<(u32, u32, Time)> {
        let ti = to as usize;
        let node = &self.cfg.nodes[ti];
        match &node.body {
            BodyCfg::Cache(_) | BodyCfg::Service(_) => {
                if node.serverless.is_none() && self.nodes[ti].stations.len() == 1 {
                    return Some((to, 0, 0));
                }
                self.route_replicas(to, attrs)
            }
            BodyCfg::Balancer(_) => self.route_balancer(to, attrs),
            BodyCfg::Database(_) => Some(self.route_database(to, task)),
            BodyCfg::Broker(_) => Some((to, 0, 0)),
            BodyCfg::Source(_) => None,
        }
    }

    /// A load balancer node: its latency, then a backend replica that its
    /// health checks still show.
    fn route_balancer(&mut self, to: u32, attrs: &Attrs) -> Option<(u32, u32, Time)> {
        let now = self.now();
        let cfg = &*self.cfg;
        let node = &cfg.nodes[to as usize];
        let BodyCfg::Balancer(lb) = &node.body else {
            unreachable!()
        };
        let d = lb
            .latency
            .as_ref()
            .map_or(0, |l| l.sample(self.streams.get(lb.stream)));
        if let BodyState::Balancer(s) = &mut self.nodes[to as usize].body {
            s.routed += 1;
        }
        let mut cands = std::mem::take(&mut self.cands);
        cands.clear();
        for &b in &lb.backends {
            for (r, st) in self.nodes[b as usize].stations.iter().enumerate() {
                let visible = match st.life() {
                    Lifecycle::Up => true,
                    Lifecycle::Booting | Lifecycle::Retired => false,
                    Lifecycle::Draining => lb.detect.is_none(),
                    Lifecycle::Down => match lb.detect {
                        None => true,
                        Some(_) if st.drained() => false,
                        Some(dt) => now < st.down_since().saturating_add(dt),
                    },
                };
                if visible {
                    cands.push((b, r as u32, st.in_system()));
                }
            }
        }
        let n = &mut self.nodes[to as usize];
        let pick = n.balancer.pick(
            node.balance,
            self.streams.get(node.balance_stream),
            &cands,
            attrs.user,
        );
        self.cands = cands;
        let (b, r) = pick?;
        if !self.nodes[b as usize].stations[r as usize].is_up() {
            if let BodyState::Balancer(s) = &mut self.nodes[to as usize].body {
                s.to_dead += 1;
            }
        }
        Some((b, r, d))
    }

    /// A database: writes and unkeyed reads go to a shard by key; reads may
    /// go to a read replica that is up, round robin.
    fn route_database(&mut self, to: u32, task: &Task) -> (u32, u32, Time) {
        let BodyCfg::Database(db) = &self.cfg.nodes[to as usize].body else {
            unreachable!()
        };
        let (write, key) = match task {
            Task::Query { write, key, .. } => (*write, *key),
            _ => (true, None),
        };
        let shard = key.map_or(0, |(_, k)| (k % db.shards as u64) as u32);
        if !write && db.reads == ReadRouting::Replicas && db.replicas > 0 {
            let (base, n) = (db.shards, db.replicas);
            let node = &mut self.nodes[to as usize];
            let BodyState::Database(d) = &mut node.body else {
                unreachable!()
            };
            let start = d.next_replica_start();
            for k in 0..n {
                let r = base + start.wrapping_add(k) % n;
                if node.stations[r as usize].is_up() {
                    return (to, r, 0);
                }
            }
        }
        (to, shard, 0)
    }

    /// A service or cache: its one replica, or one of those up by its
    /// balancing policy (a dead one when none is up).
    #[inline(never)]
    fn route_replicas(&mut self, to: u32, attrs: &Attrs) -> Option<(u32, u32, Time)> {
        let ti = to as usize;
        if self.cfg.nodes[ti].serverless.is_some() {
            return self.route_serverless(to);
        }
        let n = self.nodes[ti].stations.len();
        if n == 1 {
            return Some((to, 0, 0));
        }
        let mut cands = std::mem::take(&mut self.cands);
        cands.clear();
        cands.extend(
            self.nodes[ti]
                .stations
                .iter()
                .enumerate()
                .filter(|(_, st)| st.is_up())
                .map(|(r, st)| (to, r as u32, st.in_system())),
        );
        if cands.is_empty() {
            self.cands = cands;
            // Nothing up: the request hits a dead replica.
            let r = self.nodes[ti]
                .stations
                .iter()
                .position(|s| s.life() != Lifecycle::Retired)
                .unwrap_or(0);
            return Some((to, r as u32, 0));
        }
        let node = &self.cfg.nodes[ti];
        let pick = self.nodes[ti].balancer.pick(
            node.balance,
            self.streams.get(node.balance_stream),
            &cands,
            attrs.user,
        );
        self.cands = cands;
        let p = pick?;
        Some((p.0, p.1, 0))
    }
}
