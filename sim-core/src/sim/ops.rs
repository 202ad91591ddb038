//! Operations: faults, crashes and restarts, memory limits, draining,
//! autoscaling, and live parameter changes.

use super::*;
use crate::spec::{FaultAction, FaultSpec, ScaleMetric};

impl Sim {
    fn touch_instances(&mut self, ni: usize) {
        let now = self.now();
        let node = &mut self.nodes[ni];
        let n = node
            .reps
            .iter()
            .filter(|s| matches!(s.state, RState::Up | RState::Booting | RState::Draining))
            .count();
        node.instance_area += (now - node.inst_last) as f64 * n as f64;
        node.inst_last = now;
    }

    /// Changes a replica's state, keeping capacity and cost accounting right.
    pub(super) fn set_state(&mut self, ni: usize, ri: usize, state: RState) {
        let now = self.now();
        self.touch_instances(ni);
        let st = &mut self.nodes[ni].reps[ri];
        // A replica that drained before going down was deregistered: it
        // stays out of balancers until it is up again.
        st.drained = state == RState::Down && st.state == RState::Draining;
        st.state = state;
        st.epoch = st.epoch.wrapping_add(1);
        let capacity = if matches!(state, RState::Up | RState::Draining) {
            st.workers
        } else {
            0
        };
        st.lv.set_capacity(now, capacity);
        if state == RState::Down {
            st.down_since = now;
        }
    }

    /// Kills a replica: every request in it fails, its queue is lost.
    pub(super) fn kill_station(&mut self, ni: usize, ri: usize) {
        self.set_state(ni, ri, RState::Down);
        self.nodes[ni].reps[ri].restarts += 1;
        let victims: Vec<Ref> = self
            .jobs
            .live()
            .filter(|(_, j)| {
                j.node as usize == ni && j.rep as usize == ri && j.state != JobState::Transit
            })
            .map(|(r, _)| r)
            .collect();
        for job in victims {
            if self.jobs.get(job).is_some() {
                self.finish(job, Outcome::Failed);
            }
        }
    }

    /// A job admitted to a replica that is no longer up.
    pub(super) fn kill_job(&mut self, job: Ref) {
        self.finish(job, Outcome::Failed);
    }

    /// Checks a replica's memory; over the limit it is OOM-killed and
    /// restarts later. Returns true if it was killed.
    pub(super) fn check_memory(&mut self, ni: usize, ri: usize) -> bool {
        let now = self.now();
        let node = &self.nodes[ni];
        let Some(m) = &node.memory else { return false };
        let Some(limit) = m.limit_mb else {
            return false;
        };
        let st = &node.reps[ri];
        let used = m.base_mb + m.per_request_mb * st.lv.insys() as f64 + st.mem_extra;
        if used <= limit {
            return false;
        }
        let restart = secs_to_ns(m.restart_s);
        self.nodes[ni].reps[ri].oom_kills += 1;
        self.kill_station(ni, ri);
        let epoch = self.nodes[ni].reps[ri].epoch;
        self.cal.schedule(
            now + restart,
            Event::ReplicaUp {
                node: ni as u32,
                rep: ri as u32,
                gen: epoch,
            },
        );
        true
    }

    /// A draining replica that has emptied restarts or retires.
    pub(super) fn maybe_finish_drain(&mut self, ni: usize, ri: usize) {
        let now = self.now();
        let st = &self.nodes[ni].reps[ri];
        if st.state != RState::Draining || st.lv.insys() > 0 {
            return;
        }
        match st.drain_down {
            Some(d) => {
                self.nodes[ni].reps[ri].drain_down = None;
                self.nodes[ni].reps[ri].restarts += 1;
                self.set_state(ni, ri, RState::Down);
                let epoch = self.nodes[ni].reps[ri].epoch;
                self.cal.schedule(
                    now + d,
                    Event::ReplicaUp {
                        node: ni as u32,
                        rep: ri as u32,
                        gen: epoch,
                    },
                );
            }
            None => self.set_state(ni, ri, RState::Retired),
        }
    }

    pub(super) fn on_replica_up(&mut self, node: u32, rep: u32, gen: u32) {
        let (ni, ri) = (node as usize, rep as usize);
        let st = &self.nodes[ni].reps[ri];
        if st.epoch != gen || !matches!(st.state, RState::Down | RState::Booting) {
            return;
        }
        self.set_state(ni, ri, RState::Up);
        self.drain_queue(ni, ri);
    }

    /// The replicas a fault applies to.
    fn fault_reps(&self, f: &FaultRt, default_first: bool) -> Vec<usize> {
        let n = self.nodes.get(f.node as usize).map_or(0, |n| n.reps.len());
        match f.spec.replica {
            Some(r) => vec![r as usize],
            None if default_first => vec![0],
            None => (0..n).collect(),
        }
        .into_iter()
        .filter(|&r| r < n)
        .collect()
    }

    pub(super) fn on_fault(&mut self, idx: u32, start: bool) {
        let now = self.now();
        let f = &self.faults[idx as usize];
        let (ni, peer) = (f.node as usize, f.peer);
        let action = f.spec.action.clone();
        let until = f.spec.duration_s.map(|d| secs_to_ns(f.spec.at_s + d));
        match action {
            FaultAction::Crash => {
                let reps = self.fault_reps(&self.faults[idx as usize], true);
                for r in reps {
                    if start {
                        if self.nodes[ni].reps[r].state != RState::Down {
                            self.kill_station(ni, r);
                        }
                    } else {
                        let epoch = self.nodes[ni].reps[r].epoch;
                        self.on_replica_up(ni as u32, r as u32, epoch);
                    }
                }
            }
            FaultAction::Restart { drain, down_s } => {
                if !start {
                    return;
                }
                let d = secs_to_ns(down_s);
                let reps = self.fault_reps(&self.faults[idx as usize], true);
                for r in reps {
                    if self.nodes[ni].reps[r].state != RState::Up {
                        continue;
                    }
                    if drain {
                        self.nodes[ni].reps[r].drain_down = Some(d);
                        self.set_state(ni, r, RState::Draining);
                        self.maybe_finish_drain(ni, r);
                    } else {
                        self.kill_station(ni, r);
                        let epoch = self.nodes[ni].reps[r].epoch;
                        self.cal.schedule(
                            now + d,
                            Event::ReplicaUp {
                                node: ni as u32,
                                rep: r as u32,
                                gen: epoch,
                            },
                        );
                    }
                }
            }
            FaultAction::Hang => {
                let reps = self.fault_reps(&self.faults[idx as usize], true);
                for r in reps {
                    self.nodes[ni].reps[r].hung = start;
                    self.refresh_express();
                    if !start {
                        // The vanished requests are dropped now.
                        let lost: Vec<Ref> = self
                            .jobs
                            .live()
                            .filter(|(_, j)| {
                                j.node as usize == ni
                                    && j.rep as usize == r
                                    && j.state == JobState::Parked
                                    && !j.started
                            })
                            .map(|(r, _)| r)
                            .collect();
                        for j in lost {
                            self.finish(j, Outcome::Failed);
                        }
                    }
                }
            }
            FaultAction::Slow { factor } => {
                for r in self.fault_reps(&self.faults[idx as usize], false) {
                    self.nodes[ni].reps[r].slow = if start { factor } else { 1.0 };
                }
                self.refresh_express();
            }
            FaultAction::Errors { p } => {
                for r in self.fault_reps(&self.faults[idx as usize], false) {
                    self.nodes[ni].reps[r].err_p = if start { p } else { 0.0 };
                }
                self.refresh_express();
            }
            FaultAction::NoisyNeighbour { steal } => {
                for r in self.fault_reps(&self.faults[idx as usize], false) {
                    self.nodes[ni].reps[r].steal = if start { steal } else { 0.0 };
                }
                self.refresh_express();
            }
            FaultAction::Partition { .. } => {
                if peer == NONE {
                    // A database cut off from its read replicas.
                    for st in self.nodes[ni].reps.iter_mut().filter(|s| s.replica) {
                        st.partitioned = start;
                    }
                } else {
                    for e in self.edges.iter_mut() {
                        if (e.from as usize == ni && e.to == peer)
                            || (e.from == peer && e.to as usize == ni)
                        {
                            e.partitioned = start;
                        }
                    }
                    self.refresh_express();
                }
            }
            FaultAction::Flush => {
                if start {
                    if let Body::Cache(c) = &mut self.nodes[ni].body {
                        c.store.flush();
                        c.flushes += 1;
                    }
                }
            }
            FaultAction::Scale { replicas } => {
                if start {
                    self.set_replicas(ni, replicas);
                }
            }
            FaultAction::Spike { factor } => {
                let targets: Vec<u32> =
                    if ni < self.nodes.len() && self.nodes[ni].kind == NodeKind::Source {
                        vec![ni as u32]
                    } else {
                        self.sources.clone()
                    };
                for s in targets {
                    if let Body::Source(src) = &mut self.nodes[s as usize].body {
                        src.spike = if start { factor } else { 1.0 };
                    }
                    self.rearm_source(s);
                }
            }
        }
        let _ = until;
    }

    /// Scales a service to `n` active replicas: new ones boot (after the
    /// autoscaler's boot delay), surplus ones drain and retire.
    pub(super) fn set_replicas(&mut self, ni: usize, n: u32) {
        let now = self.now();
        let boot = self.nodes[ni]
            .autoscale
            .as_ref()
            .map_or(0, |a| secs_to_ns(a.spec.boot_s));
        let active: Vec<usize> = self.nodes[ni]
            .reps
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.state, RState::Up | RState::Booting | RState::Down))
            .map(|(i, _)| i)
            .collect();
        let cur = active.len() as u32;
        if n > cur {
            for _ in cur..n {
                let ri = match self.nodes[ni]
                    .reps
                    .iter()
                    .position(|s| s.state == RState::Retired)
                {
                    Some(r) => r,
                    None => {
                        let st = build::new_station(&self.nodes[ni]);
                        let node = &mut self.nodes[ni];
                        node.reps.push(st);
                        let ri = node.reps.len() - 1;
                        let s = &mut node.reps[ri];
                        s.state = RState::Retired;
                        s.lv = Levels::default();
                        ri
                    }
                };
                if boot == 0 {
                    self.set_state(ni, ri, RState::Up);
                } else {
                    self.set_state(ni, ri, RState::Booting);
                    let epoch = self.nodes[ni].reps[ri].epoch;
                    self.cal.schedule(
                        now + boot,
                        Event::ReplicaUp {
                            node: ni as u32,
                            rep: ri as u32,
                            gen: epoch,
                        },
                    );
                }
            }
        } else {
            for &ri in active.iter().rev().take((cur - n) as usize) {
                if self.nodes[ni].reps[ri].state == RState::Up {
                    self.set_state(ni, ri, RState::Draining);
                    self.maybe_finish_drain(ni, ri);
                } else {
                    self.set_state(ni, ri, RState::Retired);
                }
            }
        }
        // A second replica takes the node out of the express lane.
        self.refresh_express();
    }

    pub(super) fn on_autoscale(&mut self, node: u32) {
        let now = self.now();
        let ni = node as usize;
        let soj = {
            let h = self.sojourn(ni);
            (h.sum_ns(), h.count())
        };
        let n = &mut self.nodes[ni];
        let Some(a) = &mut n.autoscale else {
            n.autoscale_armed = false;
            return;
        };
        let spec = a.spec.clone();
        self.cal
            .schedule(now + secs_to_ns(spec.interval_s), Event::Autoscale { node });
        let (mut busy, mut cap, mut queue) = (0.0, 0.0, 0.0);
        let mut active = 0u32;
        for st in n.reps.iter_mut() {
            st.lv.touch(&mut st.c, now);
            busy += st.c.busy_area;
            cap += st.c.cap_area;
            queue += st.c.queue_area;
            if matches!(st.state, RState::Up | RState::Booting) {
                active += 1;
            }
        }
        let a = n.autoscale.as_mut().unwrap();
        let dt = (now - a.prev_t) as f64;
        let (db, dc, dq) = (busy - a.prev_busy, cap - a.prev_cap, queue - a.prev_queue);
        let (ds, dn) = (soj.0 - a.prev_soj.0, soj.1 - a.prev_soj.1);
        a.prev_busy = busy;
        a.prev_cap = cap;
        a.prev_queue = queue;
        a.prev_t = now;
        a.prev_soj = soj;
        let up = n
            .reps
            .iter()
            .filter(|s| s.state == RState::Up)
            .count()
            .max(1) as f64;
        let metric = match spec.metric {
            ScaleMetric::Utilisation => {
                if dc > 0.0 {
                    db / dc
                } else {
                    0.0
                }
            }
            ScaleMetric::Queue => {
                if dt > 0.0 {
                    dq / dt / up
                } else {
                    0.0
                }
            }
            ScaleMetric::Latency => {
                if dn > 0 {
                    ds as f64 / dn as f64 / 1e9
                } else {
                    0.0
                }
            }
        };
        if active == 0 {
            return;
        }
        let desired =
            ((active as f64 * metric / spec.target).ceil() as u32).clamp(spec.min, spec.max);
        let cool = secs_to_ns(spec.cooldown_s);
        if desired == active || a.last_action.is_some_and(|t| now < t + cool) {
            return;
        }
        a.last_action = Some(now);
        a.actions += 1;
        self.set_replicas(ni, desired);
    }

    /// Injects a fault now (live fault buttons). `at_s` is ignored: the fault
    /// starts immediately and lasts `duration_s` if given.
    pub fn inject_fault(&mut self, mut f: FaultSpec) -> Result<(), ParamError> {
        let now = self.now();
        let node = self
            .nodes
            .iter()
            .position(|n| n.name == f.target)
            .map_or(NONE, |i| i as u32);
        if node == NONE && !matches!(f.action, FaultAction::Spike { .. }) {
            return Err(ParamError(format!("target: unknown node {:?}", f.target)));
        }
        if let Some(n) = self.nodes.get(node as usize) {
            let stationed = matches!(
                n.body,
                Body::Service(_) | Body::Database(_) | Body::Cache(_)
            );
            let ok = match &f.action {
                FaultAction::Crash
                | FaultAction::Hang
                | FaultAction::Restart { .. }
                | FaultAction::Slow { .. }
                | FaultAction::NoisyNeighbour { .. }
                | FaultAction::Errors { .. } => stationed,
                FaultAction::Flush => matches!(n.body, Body::Cache(_)),
                FaultAction::Scale { replicas } => {
                    matches!(n.body, Body::Service(_)) && (1..=1000).contains(replicas)
                }
                FaultAction::Partition { .. } => true,
                FaultAction::Spike { factor } => factor.is_finite() && *factor > 0.0,
            };
            if !ok {
                return Err(ParamError(format!(
                    "{:?} cannot be applied to {:?}",
                    f.action, f.target
                )));
            }
        }
        if let Some(d) = f.duration_s {
            if !(d.is_finite() && d > 0.0) {
                return Err(ParamError(format!("duration_s: must be > 0, got {d}")));
            }
        }
        f.at_s = ns_to_secs(now);
        let peer = match &f.action {
            FaultAction::Partition { peer } => self
                .nodes
                .iter()
                .position(|n| &n.name == peer)
                .map_or(NONE, |i| i as u32),
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
            self.cal
                .schedule(now + secs_to_ns(d), Event::Fault { idx, start: false });
        }
        Ok(())
    }

    /// Changes a parameter mid-run. Supported paths:
    /// `nodes.NAME.arrival.rate` (Poisson or constant sources, requests/s),
    /// `nodes.NAME.arrival.users` (closed-loop sources),
    /// `nodes.NAME.workers` (services: every replica, integer >= 1),
    /// `nodes.NAME.replicas` (services).
    pub fn set_param(&mut self, path: &str, value: f64) -> Result<(), ParamError> {
        let parts: Vec<&str> = path.split('.').collect();
        let (name, field) = match parts.as_slice() {
            ["nodes", name, rest @ ..] if !rest.is_empty() => (*name, rest.join(".")),
            _ => {
                return Err(ParamError(format!(
                    "{path}: live parameters are nodes.NAME.FIELD"
                )))
            }
        };
        let Some(ni) = self.nodes.iter().position(|n| n.name == name) else {
            return Err(ParamError(format!("{path}: unknown node {name:?}")));
        };
        let now = self.now();
        let node = &mut self.nodes[ni];
        match (&mut node.body, field.as_str()) {
            (Body::Source(s), "arrival.rate") => {
                if !(value.is_finite() && value > 0.0 && value <= 1e7) {
                    return Err(ParamError(format!(
                        "{path}: rate must be in (0, 1e7], got {value}"
                    )));
                }
                match &mut s.arrival {
                    Arrival::Poisson { rate, exp } => {
                        *rate = value;
                        *exp = Exp::new(value / 1e9).expect("positive rate");
                    }
                    Arrival::Constant { rate } => *rate = value,
                    _ => {
                        return Err(ParamError(format!(
                            "{path}: only poisson and constant sources have a single rate"
                        )))
                    }
                }
                self.rearm_source(ni as u32);
                Ok(())
            }
            (Body::Source(s), "arrival.users") => {
                let Arrival::Closed {
                    users,
                    running,
                    think,
                } = &mut s.arrival
                else {
                    return Err(ParamError(format!(
                        "{path}: only closed-loop sources have users"
                    )));
                };
                if !(value.fract() == 0.0 && (1.0..=1e6).contains(&value)) {
                    return Err(ParamError(format!(
                        "{path}: users must be an integer in 1..=1000000, got {value}"
                    )));
                }
                let new = value as u32;
                if (running.len() as u32) < new {
                    running.resize(new as usize, false);
                }
                let old = *users;
                *users = new;
                for u in old..new {
                    if !running[u as usize] {
                        running[u as usize] = true;
                        let t = think.sample(&mut s.rng);
                        self.cal.schedule(
                            now + t,
                            Event::UserWake {
                                src: ni as u32,
                                user: u,
                            },
                        );
                    }
                }
                Ok(())
            }
            (Body::Service(_) | Body::Database(_), "workers") | (Body::Database(_), "cores") => {
                if node.unlimited {
                    return Err(ParamError(format!(
                        "{path}: this node has unlimited concurrency"
                    )));
                }
                if !(value.fract() == 0.0 && (1.0..=100_000.0).contains(&value)) {
                    return Err(ParamError(format!(
                        "{path}: workers must be an integer in 1..=100000, got {value}"
                    )));
                }
                node.workers_spec = value as u32;
                for ri in 0..node.reps.len() {
                    let st = &mut self.nodes[ni].reps[ri];
                    st.workers = value as u32;
                    if matches!(st.state, RState::Up | RState::Draining) {
                        st.lv.set_capacity(now, st.workers);
                    }
                    self.drain_queue(ni, ri);
                }
                Ok(())
            }
            (Body::Service(_), "replicas") => {
                if !(value.fract() == 0.0 && (1.0..=1000.0).contains(&value)) {
                    return Err(ParamError(format!(
                        "{path}: replicas must be an integer in 1..=1000, got {value}"
                    )));
                }
                self.set_replicas(ni, value as u32);
                Ok(())
            }
            (body, _) => {
                let kind = match body {
                    Body::Source(_) => "source",
                    Body::Service(_) => "service",
                    Body::Database(_) => "database",
                    Body::Cache(_) => "cache",
                    Body::Broker(_) => "broker",
                    Body::Balancer(_) => "load balancer",
                };
                Err(ParamError(format!(
                    "{path}: {field:?} is not a live parameter of a {kind}"
                )))
            }
        }
    }
}
