//! A call's life: issuing it, each attempt through the breaker and the
//! pool to a station, the answer or the timeout, hedges, retries with
//! backoff and budgets, the fallback, and the result handed to whoever
//! made the call.

use super::call::{Call, CallState, Origin};
use super::config::{BodyCfg, EdgeTask};
use super::draw;
use super::event::Event;
use super::ids::{Outcome, Ref, NEVER, NONE};
use super::job::{Attrs, Job, Task};
use super::link::{Carried, Delivery};
use super::node::BodyState;
use super::Sim;
use crate::calendar::LANES;
use crate::report::SpanKind;

impl Sim {
    /// Draws what a new call along `edge` asks of its callee (a handler's
    /// endpoint here; a query, a cache operation or a publish by
    /// [`Sim::data_task`]).
    #[inline(always)]
    pub(super) fn edge_task(&mut self, edge: u32, attrs: &Attrs) -> Task {
        match &self.cfg.edges[edge as usize].task {
            EdgeTask::Handler { endpoint } => Task::Handler {
                endpoint: *endpoint,
            },
            _ => self.data_task(edge, attrs),
        }
    }

    /// [`Sim::edge_task`] of an edge to a data node.
    fn data_task(&mut self, edge: u32, attrs: &Attrs) -> Task {
        let now = self.now();
        let cfg = &*self.cfg;
        let e = &cfg.edges[edge as usize];
        match &e.task {
            EdgeTask::Handler { endpoint } => Task::Handler {
                endpoint: *endpoint,
            },
            EdgeTask::Query {
                rows,
                page,
                write,
                key,
                ..
            } => {
                let db = match &cfg.nodes[e.to as usize].body {
                    super::config::BodyCfg::Database(db) => Some(db),
                    _ => None,
                };
                let table_rows = |t: u32| {
                    db.map_or(0.0, |d| {
                        if (t as usize) < d.tables.len() {
                            d.rows_at(t as usize, now)
                        } else {
                            0.0
                        }
                    })
                };
                let mut n = draw::count(rows, &mut self.streams, attrs.items, table_rows);
                if let Some(p) = page {
                    n = n.min(*p);
                }
                let key = key
                    .as_ref()
                    .map(|k| (k.space, draw::key(k, &mut self.streams, attrs.user)));
                Task::Query {
                    rows: n,
                    key,
                    write: *write,
                }
            }
            EdgeTask::CacheGet => Task::CacheGet { ckey: 0 },
            EdgeTask::CacheSet => Task::CacheSet {
                ckey: 0,
                size: 0,
                version: 0,
            },
            EdgeTask::Publish { key } => {
                let nparts = match &self.nodes[e.to as usize].body {
                    BodyState::Broker(b) => b.partitions(),
                    _ => 1,
                };
                let p = match key {
                    Some(k) => {
                        let x = draw::key(k, &mut self.streams, attrs.user);
                        (crate::rng::mix64(x) % nparts as u64) as u32
                    }
                    None => {
                        let es = &mut self.edges[edge as usize];
                        es.rr = es.rr.wrapping_add(1);
                        es.rr % nparts
                    }
                };
                Task::Publish { partition: p }
            }
        }
    }

    /// Makes a call along `edge` and starts its first attempt. When
    /// nothing can hold that attempt back (no breaker or pool to pass, no
    /// deadline gone already) the call is made with its attempt and job
    /// counted and the attempt goes out with what is known here: no second
    /// look at the call.
    #[inline(always)]
    pub(super) fn start_call(
        &mut self,
        edge: u32,
        origin: Origin,
        task: Task,
        attrs: Attrs,
        parent_deadline: super::Time,
        caller: (u32, u32),
    ) -> Ref {
        let now = self.now();
        let es = &mut self.edges[edge as usize];
        es.stats.calls += 1;
        if let Some(b) = &mut es.budget {
            b.on_request(now);
        }
        let e = &self.cfg.edges[edge as usize];
        let deadline = if e.deadline_prop {
            parent_deadline
        } else {
            NEVER
        };
        let direct = e.plan.unguarded && (deadline == NEVER || now < deadline);
        let make = Call::new(edge, origin, task, attrs, now, deadline, caller);
        if !direct {
            let call = self.calls.insert(make);
            self.begin_attempt(call);
            return call;
        }
        let call = self.calls.insert(|gen| {
            let mut c = make(gen);
            c.dispatch_attempt();
            c.jobs_alive = 1;
            c
        });
        let root = matches!(origin, Origin::Root { .. });
        let out = Outgoing {
            edge,
            task,
            attrs,
            deadline,
            attempt: 0,
            root,
            counted: true,
        };
        self.send(call, out);
        call
    }

    /// Starts an attempt: circuit breaker, then pool, then dispatch.
    #[inline]
    pub(super) fn begin_attempt(&mut self, call: Ref) {
        let now = self.now();
        let c = self.calls.at(call);
        c.state = CallState::Active;
        if c.deadline != NEVER && now >= c.deadline {
            return self.final_failure(call, Outcome::Timeout);
        }
        let edge = c.edge;
        if !self.cfg.edges[edge as usize].plan.unguarded && !self.guard_attempt(call) {
            return;
        }
        self.dispatch(call);
    }

    /// The breaker and the pool: true if the attempt may go now; otherwise
    /// it failed, or waits for a connection.
    fn guard_attempt(&mut self, call: Ref) -> bool {
        let now = self.now();
        let c = self.calls.at(call);
        let (edge, caller, attempt) = (c.edge, c.caller, c.attempts);
        let es = &mut self.edges[edge as usize];
        if let Some(b) = &mut es.breaker {
            if !b.allow(now) {
                es.stats.breaker_rejects += 1;
                self.final_failure(call, Outcome::Failed);
                return false;
            }
        }
        let (Some(p), true) = (self.cfg.edges[edge as usize].pool, caller.0 != NONE) else {
            return true;
        };
        let pc = self.cfg.nodes[caller.0 as usize].pools[p as usize];
        let pool = self.nodes[caller.0 as usize].stations[caller.1 as usize].pool(p);
        if pool.in_use() < pc.size {
            let opens = pc.limited_db.is_some() && pool.needs_connection();
            if opens && !self.open_connection(caller, p) {
                self.attempt_failed(call, Outcome::Failed);
                return false;
            }
            let pool = self.nodes[caller.0 as usize].stations[caller.1 as usize].pool(p);
            pool.acquire(now, 0, self.cfg.warmup);
            self.calls.at(call).pooled |= 1 << attempt;
            return true;
        }
        if pc.max_waiters.is_some_and(|m| pool.waiting() as u32 >= m) {
            pool.reject();
            self.attempt_failed(call, Outcome::Rejected);
            return false;
        }
        pool.wait_for(call, attempt);
        let c = self.calls.at(call);
        c.state = CallState::WaitingPool;
        c.pool_wait |= 1 << attempt;
        c.pool_since = now;
        if let Some(t) = pc.acquire_timeout {
            self.cal
                .schedule(now.saturating_add(t), Event::PoolTimeout { call, attempt });
        }
        false
    }

    /// Pool `p` of replica `caller` opens one more connection to the
    /// database that limits them; false if that database refuses, or if
    /// the replica no longer serves (a call it made before it died or
    /// retired opens nothing: its connections were closed with it).
    #[cold]
    pub(super) fn open_connection(&mut self, caller: (u32, u32), p: u32) -> bool {
        if !self.nodes[caller.0 as usize].stations[caller.1 as usize].serving() {
            return false;
        }
        let pc = self.cfg.nodes[caller.0 as usize].pools[p as usize];
        let db = pc.limited_db.expect("a pool of a limited database") as usize;
        let (BodyCfg::Database(dc), BodyState::Database(d)) =
            (&self.cfg.nodes[db].body, &mut self.nodes[db].body)
        else {
            return true;
        };
        if !d.open_connection(dc.max_connections.unwrap_or(u32::MAX)) {
            return false;
        }
        self.nodes[caller.0 as usize].stations[caller.1 as usize]
            .pool(p)
            .opened();
        true
    }

    /// Sends the call's next attempt to a station.
    pub(super) fn dispatch(&mut self, call: Ref) {
        let c = self.calls.at(call);
        let attempt = c.dispatch_attempt();
        let out = Outgoing {
            edge: c.edge,
            task: c.task,
            attrs: c.attrs,
            deadline: c.deadline,
            attempt,
            root: matches!(c.origin, Origin::Root { .. }),
            counted: false,
        };
        self.send(call, out);
    }

    /// Sends attempt `out.attempt` of `call` to a station: its timers, the
    /// hop, routing, and the job.
    #[inline(always)]
    fn send(&mut self, call: Ref, out: Outgoing) {
        let now = self.now();
        let Outgoing {
            edge,
            task,
            attrs,
            deadline,
            attempt,
            root,
            counted,
        } = out;
        if root {
            self.stats.root_attempt();
        }
        self.edges[edge as usize].stats.attempts += 1;
        let timeout_at = self.arm_timers(call, edge, deadline, attempt);
        let e = &self.cfg.edges[edge as usize];
        let job_deadline = if e.deadline_prop { timeout_at } else { NEVER };
        let to = e.to;
        let link = e.link;
        let (mut delay, wire, extra_cpu) = self.request_costs(edge);
        let routed = if self.edges[edge as usize].partitioned {
            None
        } else {
            self.route(to, &task, &attrs)
        };
        let Some((node, rep, lb_delay)) = routed else {
            // No replica reachable: the attempt fails after the hop.
            let job = self
                .jobs
                .insert(Job::new(to, 0, call, attempt, task, attrs, NEVER));
            if !counted {
                self.calls.at(call).jobs_alive += 1;
            }
            // The job never reaches a station: answer straight away.
            self.respond(job, Outcome::Failed, to);
            self.end_job(job);
            return;
        };
        delay += lb_delay;
        let shared = link.filter(|_| wire > 0.0);
        if shared.is_none() {
            self.span(
                &attrs,
                SpanKind::Network,
                node,
                attempt,
                now,
                now.saturating_add(delay),
                None,
            );
        }
        let make = Job::new(node, rep, call, attempt, task, attrs, job_deadline);
        let job = self.jobs.insert(|gen| {
            let mut j = make(gen);
            j.extra_cpu = extra_cpu;
            j
        });
        if !counted {
            self.calls.at(call).jobs_alive += 1;
        }
        if let Some(l) = shared {
            let span = (!attrs.trace.is_none()).then_some(super::trace::SpanAt {
                trace: attrs.trace,
                node,
                depth: attrs.depth,
                attempt,
            });
            let then = Delivery {
                what: Carried::Job(job),
                after: delay,
                since: now,
                span,
            };
            self.link_send(l, wire, then);
        } else {
            self.deliver_after(job, delay);
        }
    }

    /// Arms attempt `attempt`'s timeout (the edge's, or the propagated
    /// `deadline` if sooner) and, for a first attempt, its hedge; returns
    /// when the attempt times out (`NEVER`: it does not).
    #[inline(always)]
    fn arm_timers(
        &mut self,
        call: Ref,
        edge: u32,
        deadline: super::Time,
        attempt: u8,
    ) -> super::Time {
        let now = self.now();
        let e = &self.cfg.edges[edge as usize];
        let mut timeout_at = NEVER;
        if e.plan.timed || deadline != NEVER {
            let mut lane = LANES;
            if let Some(t) = e.timeout {
                timeout_at = now.saturating_add(t);
                lane = e.plan.timeout_lane as usize;
            }
            if deadline != NEVER && deadline.max(now) < timeout_at {
                // The deadline comes first: not the timeout's delay.
                timeout_at = deadline.max(now);
                lane = LANES;
            }
            if timeout_at != NEVER {
                let ev = Event::AttemptTimeout { call, attempt };
                self.cal.schedule_in_lane(lane, timeout_at, ev);
            }
        }
        if let (Some(h), 0) = (e.hedge, attempt) {
            self.cal.schedule_in(h, Event::HedgeFire { call });
        }
        timeout_at
    }

    /// What sending a request along `edge` costs: its delay besides a
    /// shared link, the bytes that cross the link, and the CPU the callee
    /// adds (decompression, a new connection's key exchange).
    #[inline(always)]
    fn request_costs(&mut self, edge: u32) -> (super::Time, f64, super::Time) {
        let e = &self.cfg.edges[edge as usize];
        let (mut delay, wire) = match e.link {
            Some(_) => e.link_parts(e.req_bytes, self.streams.get(e.stream)),
            None => (e.delay(e.req_bytes, self.streams.get(e.stream)), 0.0),
        };
        let mut extra_cpu = match e.compress {
            Some((_, cpu)) => (e.req_bytes * cpu) as super::Time,
            None => 0,
        };
        if let Some(h) = e.handshake {
            // No keep-alive: a new connection first, each of its round
            // trips the hop there and back, and the callee's key exchange.
            let rng = self.streams.get(h.stream);
            for _ in 0..2 * h.round_trips {
                delay = delay.saturating_add(e.hop.sample(rng));
            }
            extra_cpu = extra_cpu.saturating_add(h.cpu);
        }
        (delay, wire, extra_cpu)
    }

    /// A job reaches its station after `delay`: at once if 0 (unless too
    /// much same-instant work is open on the stack: `MAX_NESTING`).
    #[inline(always)]
    fn deliver_after(&mut self, job: Ref, delay: super::Time) {
        if delay == 0 {
            self.nested(Event::Deliver { job }, |sim| sim.arrive(job));
        } else {
            self.cal.schedule_in(delay, Event::Deliver { job });
        }
    }

    /// An attempt's answer reached the caller.
    #[inline(always)]
    pub(super) fn on_response(&mut self, call: Ref, attempt: u8, outcome: Outcome, from: u32) {
        let Some(edge) = self.close_attempt(call, attempt, outcome == Outcome::Ok) else {
            // A hedge that lost, or an attempt that had timed out.
            self.nodes[from as usize].late += 1;
            return;
        };
        self.answered(call, edge, outcome)
    }

    /// The answer of an attempt of `call` along `edge`, closed already
    /// ([`Sim::close_attempt`]), decides the call: resolved, retried, or
    /// waiting for another attempt.
    #[inline(always)]
    pub(super) fn answered(&mut self, call: Ref, edge: usize, outcome: Outcome) {
        if outcome == Outcome::Ok {
            self.resolve(call, Outcome::Ok);
        } else {
            self.edges[edge].stats.errors += 1;
            if self.still_open(call) {
                self.attempt_failed(call, outcome);
            }
        }
    }

    pub(super) fn on_attempt_timeout(&mut self, call: Ref, attempt: u8) {
        if let Some(edge) = self.close_attempt(call, attempt, false) {
            self.edges[edge].stats.timeouts += 1;
            if self.still_open(call) {
                self.attempt_failed(call, Outcome::Timeout);
            }
        }
    }

    /// Ends attempt `attempt` of a call (answer or timeout): stops awaiting
    /// it, tells the breaker and, if the attempt failed, gives back its pool
    /// connection. Returns the call's edge, or `None` if the attempt was no
    /// longer awaited.
    ///
    /// A good answer resolves the call, and `resolve` gives the connection
    /// back once the call is marked resolved: handed to a waiter here, it
    /// could set off same-instant work (a zero-delay delivery to a replica
    /// that is then killed, failing a hedge of this very call) that
    /// resolved the call as failed before its good answer (found by the
    /// swarm, corpus `pool-grant-kills-own-hedge`).
    #[inline]
    fn close_attempt(&mut self, call: Ref, attempt: u8, ok: bool) -> Option<usize> {
        let c = self.calls.get_mut(call)?;
        if !c.awaits(attempt) {
            return None;
        }
        let pooled = c.close(attempt);
        let edge = c.edge as usize;
        self.attempt_closed(call, attempt, ok, edge, pooled);
        Some(edge)
    }

    /// What follows [`Call::close`] of an attempt along `edge`: the
    /// breaker learns how it went, and a failed attempt gives back the
    /// pool connection it held (`pooled`).
    #[inline(always)]
    pub(super) fn attempt_closed(
        &mut self,
        call: Ref,
        attempt: u8,
        ok: bool,
        edge: usize,
        pooled: bool,
    ) {
        let now = self.now();
        if let Some(b) = &mut self.edges[edge].breaker {
            b.record(now, ok);
        }
        if pooled && !ok {
            self.release_pool(call, attempt);
        }
    }

    /// The call is live and unresolved: giving back a connection (which
    /// may hand it to a waiter, and so on) did not end it.
    fn still_open(&self, call: Ref) -> bool {
        self.calls.get(call).is_some_and(|c| !c.resolved)
    }

    pub(super) fn on_hedge(&mut self, call: Ref) {
        let Some(c) = self.calls.get(call) else {
            return;
        };
        if c.resolved || c.outstanding == 0 || c.attempts >= 31 {
            return;
        }
        self.edges[c.edge as usize].stats.hedges += 1;
        self.dispatch(call);
    }

    pub(super) fn on_retry_fire(&mut self, call: Ref) {
        if self
            .calls
            .get(call)
            .is_some_and(|c| !c.resolved && c.state == CallState::Backoff)
        {
            self.begin_attempt(call)
        }
    }

    pub(super) fn on_fallback_done(&mut self, call: Ref) {
        if self.calls.get(call).is_some_and(|c| !c.resolved) {
            self.resolve(call, Outcome::Ok)
        }
    }

    pub(super) fn on_pool_timeout(&mut self, call: Ref, attempt: u8) {
        let Some(c) = self.calls.get_mut(call) else {
            return;
        };
        if !c.waits_pool(attempt) {
            return;
        }
        c.pool_wait &= !(1u32 << attempt);
        let (node, rep) = c.caller;
        let p = self.cfg.edges[c.edge as usize].pool.expect("pooled edge");
        self.nodes[node as usize].stations[rep as usize]
            .pool(p)
            .time_out(call, attempt);
        self.attempt_failed(call, Outcome::Timeout);
    }

    /// Gives back the pool connection attempt `attempt` held, and hands it to
    /// the next live waiter.
    pub(super) fn release_pool(&mut self, call: Ref, attempt: u8) {
        let now = self.now();
        let Some(c) = self.calls.get_mut(call) else {
            return;
        };
        if !c.drop_connection(attempt) {
            return;
        }
        let (node, rep) = c.caller;
        let p = self.cfg.edges[c.edge as usize].pool.expect("pooled edge");
        self.nodes[node as usize].stations[rep as usize]
            .pool(p)
            .release(now, 1);
        self.grant_pool(node, rep, p);
    }

    /// Hands free connections of a pool to its waiters, in order. A pool
    /// of a database that limits connections, with none idle, opens one
    /// first; if the database refuses, the waiters keep waiting.
    pub(super) fn grant_pool(&mut self, node: u32, rep: u32, p: u32) {
        let now = self.now();
        loop {
            let pc = self.cfg.nodes[node as usize].pools[p as usize];
            let pool = self.nodes[node as usize].stations[rep as usize].pool(p);
            if pool.in_use() >= pc.size || !pool.has_waiters() {
                return;
            }
            let opens = pc.limited_db.is_some() && pool.needs_connection();
            if opens && !self.open_connection((node, rep), p) {
                return;
            }
            let pool = self.nodes[node as usize].stations[rep as usize].pool(p);
            let Some((call, attempt)) = pool.next_waiter() else {
                return;
            };
            let Some(c) = self.calls.get_mut(call) else {
                continue;
            };
            if !c.waits_pool(attempt) {
                continue;
            }
            c.hold_connection(attempt);
            let (waited, attrs) = (now - c.pool_since, c.attrs);
            self.nodes[node as usize].stations[rep as usize]
                .pool(p)
                .acquire(now, waited, self.cfg.warmup);
            self.span(
                &attrs,
                SpanKind::PoolWait,
                node,
                attempt,
                now - waited,
                now,
                None,
            );
            self.dispatch(call);
        }
    }

    /// An attempt failed: retry, wait for a hedge, or give up.
    pub(super) fn attempt_failed(&mut self, call: Ref, outcome: Outcome) {
        let now = self.now();
        let c = self.calls.at(call);
        if c.busy() {
            return; // another attempt (a hedge) is still running
        }
        let (edge, used, last, deadline, attrs, attempts) = (
            c.edge,
            c.retries as u32,
            c.last_backoff,
            c.deadline,
            c.attrs,
            c.attempts,
        );
        let cfg = &*self.cfg;
        let e = &cfg.edges[edge as usize];
        if let Some(r) = &e.retries {
            if used < r.max && (deadline == NEVER || now < deadline) {
                let es = &mut self.edges[edge as usize];
                if es.budget.as_mut().is_none_or(|b| b.try_retry(now)) {
                    let d = r
                        .backoff
                        .as_ref()
                        .map_or(0, |b| b.delay(used + 1, last, self.streams.get(e.stream)));
                    es.stats.retries += 1;
                    let c = self.calls.at(call);
                    c.last_backoff = d;
                    c.retries += 1;
                    c.state = CallState::Backoff;
                    let to = e.to;
                    self.span(
                        &attrs,
                        SpanKind::Backoff,
                        to,
                        attempts,
                        now,
                        now.saturating_add(d),
                        None,
                    );
                    self.cal
                        .schedule(now.saturating_add(d), Event::RetryFire { call });
                    return;
                }
                es.stats.retries_denied += 1;
            }
        }
        self.final_failure(call, outcome);
    }

    /// No more attempts: degrade to the fallback, or fail the call.
    pub(super) fn final_failure(&mut self, call: Ref, outcome: Outcome) {
        let now = self.now();
        let c = self.calls.at(call);
        let cfg = &*self.cfg;
        let e = &cfg.edges[c.edge as usize];
        let es = &mut self.edges[c.edge as usize];
        let Some(fb) = &e.fallback else {
            es.stats.failed_calls += 1;
            return self.resolve(call, outcome);
        };
        es.stats.fallbacks += 1;
        let d = fb.sample(self.streams.get(e.stream));
        c.state = CallState::Fallback;
        c.hit = false;
        let (attrs, to, attempts) = (c.attrs, e.to, c.attempts);
        self.span(
            &attrs,
            SpanKind::Fallback,
            to,
            attempts,
            now,
            now.saturating_add(d),
            None,
        );
        if d == 0 {
            self.resolve(call, Outcome::Ok);
        } else {
            self.cal
                .schedule(now.saturating_add(d), Event::FallbackDone { call });
        }
    }

    /// The call is over: hand the result to whoever made it.
    #[inline(always)]
    pub(super) fn resolve(&mut self, call: Ref, outcome: Outcome) {
        let now = self.now();
        let c = self.calls.at(call);
        debug_assert!(!c.resolved);
        c.resolved = true;
        let (origin, t0, jobs_alive) = (c.origin, c.t0, c.jobs_alive);
        let (attrs, edge, attempts) = (c.attrs, c.edge, c.attempts);
        // What a parent job learns from the call (read before it may go).
        let result = (c.task, c.hit, c.version, c.bytes);
        // Cancel pool waits of this call (they are skipped lazily).
        c.pool_wait = 0;
        let mut pooled = c.pooled;
        while pooled != 0 {
            let a = pooled.trailing_zeros() as u8;
            pooled &= pooled - 1;
            self.release_pool(call, a);
        }
        if jobs_alive == 0 {
            self.calls.remove(call);
        }
        if !attrs.trace.is_none() {
            let to = self.cfg.edges[edge as usize].to;
            let attempt = attempts.saturating_sub(1);
            self.span(&attrs, SpanKind::Call, to, attempt, t0, now, Some(outcome));
        }
        match origin {
            Origin::Root {
                src,
                measured,
                user,
            } => {
                self.root_done(src, measured, user, now - t0, outcome);
                self.tracer.end(attrs.trace, outcome, now);
            }
            Origin::Parent(job) => {
                let (task, hit, version, bytes) = result;
                self.child_done(job, outcome, task, hit, version, bytes);
            }
            Origin::Consumer { node, consumer } => {
                self.consumer_done(node, consumer, outcome == Outcome::Ok)
            }
        }
    }

    /// A source's request ended: count it, and a closed-loop user thinks.
    #[inline]
    fn root_done(
        &mut self,
        src: u32,
        measured: bool,
        user: u32,
        lat: super::Time,
        outcome: Outcome,
    ) {
        let now = self.now();
        self.stats
            .root_done(src, measured, lat, outcome, self.cfg.slo);
        let super::config::BodyCfg::Source(s) = &self.cfg.nodes[src as usize].body else {
            unreachable!("only sources make root calls")
        };
        if let super::config::ArrivalCfg::Closed { think, .. } = &s.arrival {
            let t = think.sample(self.streams.get(s.arrival_stream));
            self.cal
                .schedule(now.saturating_add(t), Event::UserWake { src, user });
        }
    }

    /// A call of `job`'s step along `edge`, started at once.
    pub(super) fn spawn(&mut self, job: Ref, edge: u32) -> Ref {
        let j = self.jobs.get(job).expect("live job");
        let (mut attrs, deadline, caller) = (j.attrs, j.deadline, (j.node, j.rep));
        attrs.depth = attrs.depth.saturating_add(1);
        let task = self.edge_task(edge, &attrs);
        self.start_call(edge, Origin::Parent(job), task, attrs, deadline, caller)
    }
}

/// What an attempt takes to its station: the call's request, read once.
#[derive(Clone, Copy)]
struct Outgoing {
    edge: u32,
    task: Task,
    attrs: Attrs,
    deadline: super::Time,
    attempt: u8,
    /// The call is a source's request.
    root: bool,
    /// The call already counts the attempt's job (a first attempt).
    counted: bool,
}
