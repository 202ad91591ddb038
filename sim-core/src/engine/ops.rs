//! The control plane: faults (scheduled and injected), crashes and
//! restarts, memory limits, draining, replica counts and the autoscaler.

use super::config::BodyCfg;
use super::event::Event;
use super::ids::{Outcome, Ref, NONE};
use super::job::JobState;
use super::node::BodyState;
use super::station::{Lifecycle, Station};
use super::Sim;
use crate::calendar::{ns_to_secs, secs_to_ns};
use crate::scenario::NodeKind;
use crate::spec::{FaultAction, FaultSpec, ScaleMetric};

/// A fault, scheduled or injected, with its target resolved.
pub(crate) struct FaultRt {
    pub spec: FaultSpec,
    pub node: u32,
    pub peer: u32,
}

/// An error from [`Sim::inject_fault`].
#[derive(Clone, Debug, PartialEq)]
pub struct FaultError(pub String);

impl std::fmt::Display for FaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for FaultError {}

impl Sim {
    /// Changes a replica's lifecycle, keeping capacity and cost accounting
    /// right.
    pub(super) fn set_life(&mut self, ni: usize, ri: usize, life: Lifecycle) {
        let now = self.now();
        self.nodes[ni].touch_instances(now);
        self.nodes[ni].stations[ri].set_life(now, life);
        match life {
            Lifecycle::Down | Lifecycle::Retired => self.close_connections(ni, ri),
            Lifecycle::Up => self.open_idle_connections(ni, ri),
            Lifecycle::Booting | Lifecycle::Draining => {}
        }
    }

    /// A replica that starts opens its pools' `min_idle` connections, as
    /// far as each database lets it (a refusal counts there).
    pub(super) fn open_idle_connections(&mut self, ni: usize, ri: usize) {
        for p in 0..self.cfg.nodes[ni].pools.len() as u32 {
            let pc = self.cfg.nodes[ni].pools[p as usize];
            if pc.limited_db.is_none() {
                continue;
            }
            let db = pc.limited_db.expect("limited") as usize;
            let pool = self.nodes[ni].stations[ri].pool(p);
            let want = pc.min_idle.saturating_sub(pool.open());
            let (BodyCfg::Database(dc), BodyState::Database(d)) =
                (&self.cfg.nodes[db].body, &mut self.nodes[db].body)
            else {
                continue;
            };
            let granted = d.open_many(dc.max_connections.unwrap_or(u32::MAX), want);
            self.nodes[ni].stations[ri].pool(p).opened_many(granted);
        }
    }

    /// A replica that died or retired closes the connections its pools
    /// held to databases that limit them.
    fn close_connections(&mut self, ni: usize, ri: usize) {
        for p in 0..self.cfg.nodes[ni].pools.len() {
            let Some(db) = self.cfg.nodes[ni].pools[p].limited_db else {
                continue;
            };
            let n = self.nodes[ni].stations[ri].pool(p as u32).close_all();
            if let BodyState::Database(d) = &mut self.nodes[db as usize].body {
                d.close_connections(n);
            }
        }
    }

    /// After a live reconfiguration that changed a pool, a pool's use or
    /// a connection limit: every pool reconnects. All connections close,
    /// then each serving replica's pools of limited databases open what
    /// their calls hold now (and `min_idle`), within their size, as far as
    /// each database lets them. (Counting the old connections against the
    /// new configuration could charge one database for another's.)
    pub(super) fn reconnect_pools(&mut self) {
        for n in self.nodes.iter_mut() {
            for st in n.stations.iter_mut() {
                for p in 0..st.pools().len() {
                    st.pool(p as u32).close_all();
                }
            }
            if let BodyState::Database(d) = &mut n.body {
                d.recount_connections(0);
            }
        }
        for ni in 0..self.nodes.len() {
            for ri in 0..self.nodes[ni].stations.len() {
                if self.nodes[ni].stations[ri].serving() {
                    self.reopen_connections(ni, ri);
                }
            }
        }
    }

    /// Replica `ri` of node `ni` opens what its pools' calls hold, and at
    /// least `min_idle`, within each pool's size.
    fn reopen_connections(&mut self, ni: usize, ri: usize) {
        for p in 0..self.cfg.nodes[ni].pools.len() as u32 {
            let pc = self.cfg.nodes[ni].pools[p as usize];
            let Some(db) = pc.limited_db else { continue };
            let pool = self.nodes[ni].stations[ri].pool(p);
            let want = pool.in_use().max(pc.min_idle).min(pc.size);
            let (BodyCfg::Database(dc), BodyState::Database(d)) = (
                &self.cfg.nodes[db as usize].body,
                &mut self.nodes[db as usize].body,
            ) else {
                continue;
            };
            let granted = d.open_many(dc.max_connections.unwrap_or(u32::MAX), want);
            self.nodes[ni].stations[ri].pool(p).opened_many(granted);
        }
    }

    /// Kills a replica: every request in it fails, its queue is lost.
    pub(super) fn kill_station(&mut self, ni: usize, ri: usize) {
        self.set_life(ni, ri, Lifecycle::Down);
        self.nodes[ni].stations[ri].count_restart();
        self.nodes[ni].stations[ri].forget_queue();
        self.fail_jobs(|j| {
            j.node as usize == ni && j.rep as usize == ri && j.state != JobState::Transit
        });
    }

    /// Fails every live job `which` picks. Failing one answers its caller,
    /// and that cascade may already have ended another (or be finishing
    /// it: a finishing job is in transit), so each is asked again first.
    fn fail_jobs(&mut self, which: impl Fn(&super::job::Job) -> bool) {
        let victims: Vec<Ref> = self
            .jobs
            .live()
            .filter(|(_, j)| which(j))
            .map(|(r, _)| r)
            .collect();
        for job in victims {
            if self.jobs.get(job).is_some_and(&which) {
                self.finish(job, Outcome::Failed);
            }
        }
    }

    /// Checks a replica's memory; over the limit it is OOM-killed and
    /// restarts later. Returns true if it was killed.
    pub(super) fn check_memory(&mut self, ni: usize, ri: usize) -> bool {
        let now = self.now();
        let Some(m) = &self.cfg.nodes[ni].memory else {
            return false;
        };
        let Some(limit) = m.limit_mb else {
            return false;
        };
        let st = &self.nodes[ni].stations[ri];
        let used = m.base_mb + m.per_request_mb * st.in_system() as f64;
        if used <= limit {
            return false;
        }
        let restart = secs_to_ns(m.restart_s);
        self.nodes[ni].stations[ri].count_oom_kill();
        self.kill_station(ni, ri);
        self.schedule_up(ni, ri, now.saturating_add(restart));
        true
    }

    /// A `ReplicaUp` for the replica's current epoch at `at`.
    pub(super) fn schedule_up(&mut self, ni: usize, ri: usize, at: super::Time) {
        let gen = self.nodes[ni].stations[ri].epoch();
        let (node, rep) = (ni as u32, ri as u32);
        self.cal.schedule(at, Event::ReplicaUp { node, rep, gen });
    }

    /// A draining replica that has emptied restarts or retires.
    pub(super) fn maybe_finish_drain(&mut self, ni: usize, ri: usize) {
        let now = self.now();
        let st = &mut self.nodes[ni].stations[ri];
        if st.life() != Lifecycle::Draining || st.in_system() > 0 {
            return;
        }
        match st.take_drain_down() {
            Some(d) => {
                st.count_restart();
                self.set_life(ni, ri, Lifecycle::Down);
                self.schedule_up(ni, ri, now.saturating_add(d));
            }
            None => self.set_life(ni, ri, Lifecycle::Retired),
        }
    }

    pub(super) fn on_replica_up(&mut self, node: u32, rep: u32, gen: u32) {
        let (ni, ri) = (node as usize, rep as usize);
        let st = &self.nodes[ni].stations[ri];
        if st.epoch() != gen || !matches!(st.life(), Lifecycle::Down | Lifecycle::Booting) {
            return;
        }
        self.set_life(ni, ri, Lifecycle::Up);
        self.drain_queue(ni, ri);
        self.instance_idle(ni, ri);
    }

    /// The replicas a fault applies to.
    fn fault_reps(&self, f: &FaultRt, default_first: bool) -> Vec<usize> {
        let n = self
            .nodes
            .get(f.node as usize)
            .map_or(0, |n| n.stations.len());
        let reps: Vec<usize> = match f.spec.replica {
            Some(r) => vec![r as usize],
            None if default_first => vec![0],
            None => (0..n).collect(),
        };
        let serverless = self
            .cfg
            .nodes
            .get(f.node as usize)
            .is_some_and(|c| c.serverless.is_some());
        reps.into_iter()
            .filter(|&r| r < n)
            .filter(|&r| {
                // A function's empty or starting slots are not instances.
                !serverless
                    || !matches!(
                        self.nodes[f.node as usize].stations[r].life(),
                        Lifecycle::Retired | Lifecycle::Booting
                    )
            })
            .collect()
    }

    pub(super) fn on_fault(&mut self, idx: u32, start: bool) {
        let f = &self.faults[idx as usize];
        let (ni, peer) = (f.node as usize, f.peer);
        let action = f.spec.action.clone();
        let first = matches!(
            action,
            FaultAction::Crash {} | FaultAction::Restart { .. } | FaultAction::Hang {}
        );
        let reps = self.fault_reps(&self.faults[idx as usize], first);
        match action {
            FaultAction::Crash {} => self.crash(ni, &reps, start),
            FaultAction::Restart { drain, down_s } if start => {
                self.restart(ni, &reps, drain, down_s)
            }
            FaultAction::Restart { .. } => {}
            FaultAction::Hang {} => self.hang(ni, &reps, start),
            FaultAction::Slow { factor } => {
                for r in reps {
                    self.nodes[ni].stations[r].faults_mut().slow = if start { factor } else { 1.0 };
                }
            }
            FaultAction::Errors { p } => {
                for r in reps {
                    self.nodes[ni].stations[r].faults_mut().err_p = if start { p } else { 0.0 };
                }
            }
            FaultAction::NoisyNeighbour { steal } => {
                for r in reps {
                    self.nodes[ni].stations[r].faults_mut().steal = if start { steal } else { 0.0 };
                }
            }
            FaultAction::Partition { .. } => self.partition(ni, peer, start),
            FaultAction::Flush {} => {
                if let (true, BodyState::Cache(c)) = (start, &mut self.nodes[ni].body) {
                    c.flush(self.cal.now());
                }
            }
            FaultAction::Scale { replicas } if start => self.set_replicas(ni, replicas),
            FaultAction::Scale { .. } => {}
            FaultAction::Spike { factor } => self.spike(ni, factor, start),
        }
    }

    /// After a live reconfiguration: each of the scenario's faults takes
    /// its new spec, and one in effect now whose level changed (`slow`,
    /// `errors`, `noisy_neighbour`, `spike`: levels, set absolutely)
    /// applies the new level at once, so an edit of a running fault acts
    /// when it is made, not at the fault's next start. Timing, target and
    /// kind cannot change live (`reconfig::check`).
    pub(super) fn retune_faults(&mut self) {
        let now = self.now();
        let n = self.cfg.spec.faults.len().min(self.faults.len());
        for i in 0..n {
            let new = self.cfg.spec.faults[i].clone();
            let old = std::mem::replace(&mut self.faults[i].spec, new);
            let f = &self.faults[i].spec;
            let started = secs_to_ns(f.at_s) <= now;
            let ended = f.duration_s.is_some_and(|d| secs_to_ns(f.at_s + d) <= now);
            if started && !ended && f.action.holds_a_level() && old.action != f.action {
                self.on_fault(i as u32, true);
            }
        }
    }

    fn crash(&mut self, ni: usize, reps: &[usize], start: bool) {
        for &r in reps {
            if start {
                if self.nodes[ni].stations[r].life() != Lifecycle::Down {
                    self.kill_station(ni, r);
                }
            } else {
                let epoch = self.nodes[ni].stations[r].epoch();
                self.on_replica_up(ni as u32, r as u32, epoch);
            }
        }
    }

    fn restart(&mut self, ni: usize, reps: &[usize], drain: bool, down_s: f64) {
        let now = self.now();
        let d = secs_to_ns(down_s);
        for &r in reps {
            if !self.nodes[ni].stations[r].is_up() {
                continue;
            }
            if drain {
                self.nodes[ni].stations[r].set_drain_down(Some(d));
                self.set_life(ni, r, Lifecycle::Draining);
                self.maybe_finish_drain(ni, r);
            } else {
                self.kill_station(ni, r);
                self.schedule_up(ni, r, now.saturating_add(d));
            }
        }
    }

    fn hang(&mut self, ni: usize, reps: &[usize], start: bool) {
        for &r in reps {
            self.nodes[ni].stations[r].faults_mut().hung = start;
            if start {
                continue;
            }
            // The vanished requests are dropped now.
            self.fail_jobs(|j| {
                j.node as usize == ni
                    && j.rep as usize == r
                    && j.state == JobState::Parked
                    && !j.started
            });
        }
    }

    fn partition(&mut self, ni: usize, peer: u32, start: bool) {
        if peer == NONE {
            // A database cut off from its read replicas.
            for st in self.nodes[ni]
                .stations
                .iter_mut()
                .filter(|s| s.read_replica())
            {
                st.set_partitioned(start);
            }
            return;
        }
        for (e, es) in self.cfg.edges.iter().zip(self.edges.iter_mut()) {
            if (e.from as usize == ni && e.to == peer) || (e.from == peer && e.to as usize == ni) {
                es.partitioned = start;
            }
        }
    }

    fn spike(&mut self, ni: usize, factor: f64, start: bool) {
        let targets: Vec<u32> =
            if ni < self.nodes.len() && self.cfg.nodes[ni].kind == NodeKind::Source {
                vec![ni as u32]
            } else {
                self.cfg.sources.clone()
            };
        for s in targets {
            if let BodyState::Source(src) = &mut self.nodes[s as usize].body {
                src.set_spike(if start { factor } else { 1.0 });
            }
            self.rearm_source(s);
        }
    }

    /// Scales a service to `n` active replicas: new ones boot (after the
    /// autoscaler's boot delay), surplus ones drain and retire.
    pub(super) fn set_replicas(&mut self, ni: usize, n: u32) {
        let now = self.now();
        let cfg = self.cfg.clone();
        let ncfg = &cfg.nodes[ni];
        let boot = ncfg.autoscale.as_ref().map_or(0, |a| secs_to_ns(a.boot_s));
        let active: Vec<usize> = self.nodes[ni]
            .stations
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                matches!(
                    s.life(),
                    Lifecycle::Up | Lifecycle::Booting | Lifecycle::Down
                )
            })
            .map(|(i, _)| i)
            .collect();
        let cur = active.len() as u32;
        if n <= cur {
            for &ri in active.iter().rev().take((cur - n) as usize) {
                if self.nodes[ni].stations[ri].is_up() {
                    self.set_life(ni, ri, Lifecycle::Draining);
                    self.maybe_finish_drain(ni, ri);
                } else {
                    self.set_life(ni, ri, Lifecycle::Retired);
                }
            }
            return;
        }
        for _ in cur..n {
            let stations = &mut self.nodes[ni].stations;
            let ri = match stations.iter().position(|s| s.life() == Lifecycle::Retired) {
                Some(r) => r,
                None => {
                    stations.push(Station::unborn(ncfg.workers, &ncfg.pools));
                    stations.len() - 1
                }
            };
            if boot == 0 {
                self.set_life(ni, ri, Lifecycle::Up);
            } else {
                self.set_life(ni, ri, Lifecycle::Booting);
                self.schedule_up(ni, ri, now.saturating_add(boot));
            }
        }
    }

    pub(super) fn on_autoscale(&mut self, node: u32) {
        let now = self.now();
        let ni = node as usize;
        let Some(spec) = self.cfg.nodes[ni].autoscale.clone() else {
            self.nodes[ni].autoscale_armed = false;
            return;
        };
        self.cal.schedule(
            now.saturating_add(secs_to_ns(spec.interval_s)),
            Event::Autoscale { node },
        );
        let soj = {
            let h = &self.nodes[ni].sojourn;
            (h.sum_ns(), h.count())
        };
        let n = &mut self.nodes[ni];
        let (mut busy, mut cap, mut queue) = (0.0, 0.0, 0.0);
        let mut active = 0u32;
        for st in n.stations.iter_mut() {
            let c = st.touch(now);
            busy += c.busy_area;
            cap += c.cap_area;
            queue += c.queue_area;
            if matches!(st.life(), Lifecycle::Up | Lifecycle::Booting) {
                active += 1;
            }
        }
        let up = n.up().max(1) as f64;
        let a = n.autoscale.as_mut().expect("an autoscaler");
        let dt = (now - a.prev_t) as f64;
        let (db, dc, dq) = (busy - a.prev_busy, cap - a.prev_cap, queue - a.prev_queue);
        let (ds, dn) = (soj.0 - a.prev_soj.0, soj.1 - a.prev_soj.1);
        (a.prev_busy, a.prev_cap, a.prev_queue, a.prev_t, a.prev_soj) =
            (busy, cap, queue, now, soj);
        let metric = match spec.metric {
            ScaleMetric::Utilisation if dc > 0.0 => db / dc,
            ScaleMetric::Queue if dt > 0.0 => dq / dt / up,
            ScaleMetric::Latency if dn > 0 => ds as f64 / dn as f64 / 1e9,
            _ => 0.0,
        };
        if active == 0 {
            return;
        }
        // Within the tolerance band around the target: no action (no
        // flapping around it).
        if (metric / spec.target - 1.0).abs() <= spec.tolerance {
            return;
        }
        let desired =
            ((active as f64 * metric / spec.target).ceil() as u32).clamp(spec.min, spec.max);
        let cool = secs_to_ns(spec.cooldown(desired > active));
        if desired == active || a.last_action.is_some_and(|t| now < t.saturating_add(cool)) {
            return;
        }
        a.last_action = Some(now);
        a.actions += 1;
        self.set_replicas(ni, desired);
    }

    /// Injects a fault now (live fault buttons). `at_s` is ignored: the fault
    /// starts immediately and lasts `duration_s` if given.
    pub fn inject_fault(&mut self, mut f: FaultSpec) -> Result<(), FaultError> {
        let now = self.now();
        let node = self.node_index(&f.target).map_or(NONE, |i| i as u32);
        if node == NONE && !matches!(f.action, FaultAction::Spike { .. }) {
            return Err(FaultError(format!("target: unknown node {:?}", f.target)));
        }
        if let Some(n) = self.cfg.nodes.get(node as usize) {
            let stationed = matches!(
                n.body,
                BodyCfg::Service(_) | BodyCfg::Database(_) | BodyCfg::Cache(_)
            );
            let ok = match &f.action {
                FaultAction::Crash {}
                | FaultAction::Hang {}
                | FaultAction::Restart { .. }
                | FaultAction::Slow { .. }
                | FaultAction::NoisyNeighbour { .. }
                | FaultAction::Errors { .. } => stationed,
                FaultAction::Flush {} => matches!(n.body, BodyCfg::Cache(_)),
                FaultAction::Scale { replicas } => {
                    matches!(n.body, BodyCfg::Service(_))
                        && n.serverless.is_none()
                        && (1..=1000).contains(replicas)
                }
                FaultAction::Partition { .. } => true,
                FaultAction::Spike { factor } => factor.is_finite() && *factor > 0.0,
            };
            if !ok {
                return Err(FaultError(format!(
                    "{:?} cannot be applied to {:?}",
                    f.action, f.target
                )));
            }
        }
        if let Some(d) = f.duration_s {
            if !(d.is_finite() && d > 0.0) {
                return Err(FaultError(format!("duration_s: must be > 0, got {d}")));
            }
        }
        f.at_s = ns_to_secs(now);
        let peer = match &f.action {
            FaultAction::Partition { peer } => self.node_index(peer).map_or(NONE, |i| i as u32),
            _ => NONE,
        };
        let idx = self.faults.len() as u32;
        let dur = f.duration_s;
        self.faults.push(FaultRt {
            spec: f,
            node,
            peer,
        });
        self.on_fault(idx, true);
        if let Some(d) = dur {
            self.cal.schedule(
                now.saturating_add(secs_to_ns(d)),
                Event::Fault { idx, start: false },
            );
        }
        Ok(())
    }

    /// The index of the node named `name`.
    pub(super) fn node_index(&self, name: &str) -> Option<usize> {
        self.cfg.nodes.iter().position(|n| n.name == name)
    }
}
