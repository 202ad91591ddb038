//! A job's life at a station: arriving through the door (refused, rate
//! limited, shed, out of memory), admission to a worker or the queue,
//! running its program, waiting for children, and finishing (its answer's
//! way back is `answering.rs`).

use super::answering::Answer;
use super::call::Origin;
use super::config::BodyCfg;
use super::draw;
use super::event::{Event, MAX_NESTING};
use super::ids::{Outcome, Ref, NEVER, NONE};
use super::job::{Attrs, JobState, Resume, Task};
use super::node::{BodyState, Verdict};
use super::program::{self, Step};
use super::Sim;
use crate::report::SpanKind;
use crate::spec::Invalidate;
use rand::Rng;

/// A compute step's CPU time and, for a traced job, what its span needs.
struct Computing {
    d: super::Time,
    traced: Option<(Attrs, u8)>,
}

impl Computing {
    /// `d` ns of the job's compute, plus any CPU its request's
    /// decompression costs (taken: only the first compute pays it).
    #[inline(always)]
    fn take(j: &mut super::job::Job, d: super::Time) -> Computing {
        // (Saturating: a query on a table grown without bound can cost
        // Time::MAX already; the swarm's table-growth-1e20 case.)
        let d = d.saturating_add(std::mem::take(&mut j.extra_cpu));
        let traced = (!j.attrs.trace.is_none()).then_some((j.attrs, j.attempt));
        Computing { d, traced }
    }
}

impl Sim {
    /// A job reaches its station.
    pub(super) fn arrive(&mut self, job: Ref) {
        let now = self.now();
        let measured = now >= self.cfg.warmup;
        let j = self.jobs.at(job);
        j.t_arrive = now;
        j.measured = measured;
        j.state = JobState::Parked;
        let (ni, ri, client) = (j.node as usize, j.rep as usize, j.attrs.client);
        let cfg = &*self.cfg;
        let ncfg = &cfg.nodes[ni];
        if matches!(ncfg.body, BodyCfg::Broker(_)) {
            return self.publish(job);
        }
        let node = &mut self.nodes[ni];
        let st = &mut node.stations[ri];
        st.count_arrival();
        if ncfg.serverless.is_some() {
            st.expected_arrived();
        }
        if st.refuses() {
            // Connection refused.
            st.count_rejection();
            return self.refuse(job, Outcome::Failed);
        }
        st.enter(now);
        if st.faults().hung {
            return; // the request vanishes until the hang ends
        }
        if let Some(spec) = &ncfg.rate_limit {
            match node.rate.admit(spec, client, now) {
                Verdict::Admit => {}
                Verdict::Shed => return self.shed(job),
                Verdict::Delay(d) => {
                    self.cal
                        .schedule(now.saturating_add(d), Event::Admit { job });
                    return;
                }
            }
        }
        if let Some(m) = ncfg.max_in_flight {
            if node.stations[ri].in_system() > m as u64 {
                return self.shed(job);
            }
        }
        if ncfg.memory.is_some() && self.check_memory(ni, ri) {
            return;
        }
        self.admit(job);
    }

    /// Past the door: start, queue, or reject (full queue).
    #[inline(always)]
    pub(super) fn admit(&mut self, job: Ref) {
        let now = self.now();
        let j = self.jobs.at(job);
        let (ni, ri) = (j.node as usize, j.rep as usize);
        let st = &mut self.nodes[ni].stations[ri];
        if !st.serving() {
            return self.finish(job, Outcome::Failed);
        }
        if st.can_start() {
            return self.start(job);
        }
        if self.cfg.nodes[ni]
            .queue_cap
            .is_some_and(|cap| st.queue_len() as u64 >= cap)
        {
            st.shed(now);
            return self.refuse(job, Outcome::Rejected);
        }
        st.enqueue(job, now);
        j.state = JobState::Queued;
    }

    /// Turned away after entering (rate limit, concurrency limit).
    pub(super) fn shed(&mut self, job: Ref) {
        let now = self.now();
        let j = self.jobs.at(job);
        self.nodes[j.node as usize].stations[j.rep as usize].shed(now);
        self.refuse(job, Outcome::Rejected);
    }

    /// Answers a job that never ran, and ends it.
    pub(super) fn refuse(&mut self, job: Ref, outcome: Outcome) {
        let ni = self.jobs.at(job).node;
        self.respond(job, outcome, ni);
        self.end_job(job);
    }

    /// Gives the job a worker.
    #[inline(always)]
    pub(super) fn start(&mut self, job: Ref) {
        let now = self.now();
        let j = self.jobs.at(job);
        let (ni, ri) = (j.node as usize, j.rep as usize);
        let node = &mut self.nodes[ni];
        node.stations[ri].take_worker(now);
        j.state = JobState::Running;
        let resume = std::mem::replace(&mut j.resume, Resume::No);
        if !j.started {
            j.started = true;
            if j.measured {
                node.wait.record(now - j.t_arrive);
            }
            let expired = j.deadline != NEVER && now >= j.deadline;
            if expired {
                // Deadline propagation: nobody waits for this answer any more.
                node.expired += 1;
            }
            if !j.attrs.trace.is_none() {
                let (attrs, attempt, t_arrive) = (j.attrs, j.attempt, j.t_arrive);
                self.span(
                    &attrs,
                    SpanKind::Queue,
                    ni as u32,
                    attempt,
                    t_arrive,
                    now,
                    None,
                );
            }
            if expired {
                return self.expire(job);
            }
        }
        match resume {
            Resume::No | Resume::Advance => self.advance_at(job, ni),
            Resume::Fail => self.finish(job, Outcome::Failed),
        }
    }

    /// Drops a job that got its worker after its deadline passed. Its
    /// finish gives the worker to the next queued job, which may have
    /// expired too: beyond [`MAX_NESTING`] such drops the rest go through
    /// the calendar at this instant.
    pub(super) fn expire(&mut self, job: Ref) {
        if !self
            .jobs
            .get(job)
            .is_some_and(|j| j.state == JobState::Running)
        {
            return;
        }
        self.nested(Event::Expire { job }, |sim| {
            sim.finish(job, Outcome::Timeout)
        });
    }

    /// A compute step ended.
    #[inline(always)]
    pub(super) fn on_compute_done(&mut self, job: Ref) {
        match self.jobs.get(job) {
            Some(j) if j.state == JobState::Running && j.ends => {
                // The program's last op: its end, as `run_program` would
                // reach it (at the same depth of same-instant work),
                // without asking the interpreter.
                let (ni, ri) = (j.node as usize, j.rep as usize);
                if self.nest(Event::Continue { job }) {
                    self.finish_with_errors_at(job, ni, ri);
                    self.unnest();
                }
            }
            Some(j) if j.state == JobState::Running => {
                let ni = j.node as usize;
                self.advance_at(job, ni)
            }
            _ => {}
        }
    }

    /// Runs the job's next step.
    pub(super) fn advance(&mut self, job: Ref) {
        let ni = self.jobs.at(job).node as usize;
        self.advance_at(job, ni)
    }

    /// Runs the next step of `job`, at node `ni`.
    #[inline]
    fn advance_at(&mut self, job: Ref, ni: usize) {
        if !self.nest(Event::Continue { job }) {
            return;
        }
        match &self.cfg.nodes[ni].body {
            BodyCfg::Service(_) => self.run_program(job),
            BodyCfg::Database(_) => self.db_step(job),
            BodyCfg::Cache(_) => self.cache_step(job),
            BodyCfg::Source(_) | BodyCfg::Broker(_) | BodyCfg::Balancer(_) => {
                unreachable!("no jobs run here")
            }
        }
        self.unnest();
    }

    /// Runs `work` one level deeper in same-instant work on the stack; at
    /// [`MAX_NESTING`] levels, schedules `deferred` at this instant instead
    /// (the event that does the same work from the calendar).
    #[inline(always)]
    pub(super) fn nested(&mut self, deferred: Event, work: impl FnOnce(&mut Sim)) {
        if self.nest(deferred) {
            work(self);
            self.unnest();
        }
    }

    /// [`Sim::nested`] without a closure, for the request path's hottest
    /// steps (their closures stayed calls of their own: 30 instructions
    /// per M/M/10 customer): true if the work may run on the stack now
    /// (the caller then runs it and calls [`Sim::unnest`]); at
    /// [`MAX_NESTING`] levels `deferred` is scheduled at this instant
    /// instead and it is false.
    #[inline(always)]
    fn nest(&mut self, deferred: Event) -> bool {
        if self.nesting >= MAX_NESTING {
            self.cal.schedule_in(0, deferred);
            return false;
        }
        self.nesting += 1;
        true
    }

    /// The work [`Sim::nest`] allowed is done.
    #[inline(always)]
    fn unnest(&mut self) {
        self.nesting -= 1;
    }

    /// Schedules a compute of `d` ns on the job's worker (plus any CPU its
    /// request's decompression costs), scaled by the station's slowdown,
    /// stolen CPU and contention.
    #[inline]
    pub(super) fn compute(&mut self, job: Ref, d: super::Time) {
        let j = self.jobs.at(job);
        let (ni, ri) = (j.node as usize, j.rep as usize);
        let d = Computing::take(j, d);
        self.compute_at(job, ni, ri, d)
    }

    /// [`Sim::compute`] of a job at replica `ri` of node `ni`, its CPU
    /// and trace read already.
    #[inline(always)]
    fn compute_at(&mut self, job: Ref, ni: usize, ri: usize, c: Computing) {
        let now = self.now();
        let (ncfg, st) = (&self.cfg.nodes[ni], &self.nodes[ni].stations[ri]);
        // Load-dependent service: each other request in the replica adds
        // its share of slowdown.
        let d = match ncfg.load_per_request {
            Some(per) => c.d + per.saturating_mul(st.in_system().saturating_sub(1)),
            None => c.d,
        };
        let d = st.scale(d, ncfg.contention);
        if let Some((attrs, attempt)) = c.traced {
            self.span(
                &attrs,
                SpanKind::Compute,
                ni as u32,
                attempt,
                now,
                now.saturating_add(d),
                None,
            );
        }
        self.cal
            .schedule(now.saturating_add(d), Event::ComputeDone { job });
    }

    /// Runs the program until it computes, calls out, waits, or ends.
    fn run_program(&mut self, job: Ref) {
        loop {
            let now = self.now();
            let cfg = &*self.cfg;
            let (j, regs) = self
                .jobs
                .prepare(job, |j| cfg.programs(j.node)[j.task.endpoint()].needs);
            let (ni, ri, endpoint) = (j.node, j.rep as usize, j.task.endpoint());
            let prog = &cfg.programs(ni)[endpoint];
            let step = program::next(prog, j, regs, &mut self.streams, now);
            match step {
                Step::End => return self.finish_with_errors_at(job, ni as usize, ri),
                Step::Compute(d) => {
                    let c = Computing::take(j, d);
                    return self.compute_at(job, ni as usize, ri, c);
                }
                Step::Calls { edge, n, release } => {
                    for _ in 0..n {
                        // A call can end its parent in this same instant
                        // (a refused publish fails the job, an arrival
                        // OOM-kills the caller's replica): then the rest
                        // are never made.
                        if self.jobs.get(job).is_none() {
                            return;
                        }
                        self.spawn(job, edge);
                    }
                    return self.release_if(job, release);
                }
                Step::Fork { at, release } => return self.fork(job, (ni, endpoint, at), release),
                Step::CacheGet {
                    edge,
                    space,
                    key,
                    versioned,
                    single_flight,
                    release,
                } => {
                    return self.cache_lookup(
                        job,
                        edge,
                        (space, key, versioned),
                        single_flight,
                        release,
                    )
                }
                Step::CachePut {
                    edge,
                    ckey,
                    size,
                    version,
                    release,
                } => {
                    let task = Task::CacheSet {
                        ckey,
                        size,
                        version,
                    };
                    self.spawn_task(job, edge, task);
                    return self.release_if(job, release);
                }
                Step::Write {
                    space,
                    key,
                    cache,
                    invalidate,
                } => self.write_key(space, key, cache, invalidate),
                Step::Lock { lock, key } => {
                    if !self.locks.acquire(lock, key, job) {
                        return; // waits holding its worker
                    }
                    if self.jobs.at(job).measured {
                        self.nodes[ni as usize].lock_wait.record(0);
                    }
                }
                Step::Unlock { lock } => {
                    self.release_lock(job, lock);
                    // The next waiter ran in this instant, and its calls
                    // can end this job (an arrival that OOM-kills this
                    // replica): then there is no next step.
                    if self.jobs.get(job).is_none() {
                        return;
                    }
                }
            }
        }
    }

    /// The fork op at `at` of endpoint `endpoint` of node `ni`: one call
    /// along each of its edges, at once.
    fn fork(&mut self, job: Ref, (ni, endpoint, at): (u32, usize, u32), release: bool) {
        let cfg = self.cfg.clone();
        let super::config::Op::Fork { edges, .. } = &cfg.programs(ni)[endpoint].ops[at as usize]
        else {
            unreachable!("a fork op")
        };
        for &e in edges.iter() {
            // As for a call step: a call can end its parent at once.
            if self.jobs.get(job).is_none() {
                return;
            }
            self.spawn(job, e);
        }
        self.release_if(job, release)
    }

    /// Event loop: the job lets go of its worker while it waits (`release`).
    #[inline]
    fn release_if(&mut self, job: Ref, release: bool) {
        // Only while it still waits on this step's children: calls that all
        // ended in this instant have moved the job on already (into a
        // compute that holds the worker, or a continuation queued at this
        // instant, `MAX_NESTING`), or ended it (no worker left).
        if release && self.jobs.get(job).is_some_and(|j| j.pending > 0) {
            self.release_worker(job);
        }
    }

    /// A cache lookup: the key's version now, then a wait for a fill of the
    /// key in flight (single flight), or a call to the cache.
    fn cache_lookup(
        &mut self,
        job: Ref,
        edge: u32,
        (space, key, versioned): (u32, u64, bool),
        sf: bool,
        release: bool,
    ) {
        let v = self.spaces.version(space, key);
        self.jobs.regs(job).version = v;
        let ckey = draw::cache_key(space, key, versioned.then_some(v));
        let cnode = self.cfg.edges[edge as usize].to as usize;
        self.jobs.at(job).pending = 1;
        if sf {
            if let BodyState::Cache(c) = &mut self.nodes[cnode].body {
                if c.join_fill(ckey, job) {
                    return self.release_if(job, release);
                }
            }
        }
        self.spawn_task(job, edge, Task::CacheGet { ckey });
        self.release_if(job, release)
    }

    /// A handler writes key `key` of `space` (and invalidates it in `cache`).
    fn write_key(&mut self, space: u32, key: u64, cache: u32, invalidate: Invalidate) {
        let now = self.now();
        let old = self.spaces.write(space, key, now);
        if cache != NONE && invalidate == Invalidate::Delete {
            if let BodyState::Cache(c) = &mut self.nodes[cache as usize].body {
                c.delete(draw::cache_key(space, key, None), now);
                c.delete(draw::cache_key(space, key, Some(old)), now);
            }
        }
    }

    /// A call of `job`'s step along `edge` asking exactly `task`.
    fn spawn_task(&mut self, job: Ref, edge: u32, task: Task) -> Ref {
        let j = self.jobs.at(job);
        let (mut attrs, deadline, caller) = (j.attrs, j.deadline, (j.node, j.rep));
        attrs.depth = attrs.depth.saturating_add(1);
        self.start_call(edge, Origin::Parent(job), task, attrs, deadline, caller)
    }

    /// Event loop: the job stops holding its worker while it waits.
    pub(super) fn release_worker(&mut self, job: Ref) {
        let now = self.now();
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        if j.state != JobState::Running {
            return;
        }
        j.state = JobState::Parked;
        let (ni, ri) = (j.node as usize, j.rep as usize);
        self.nodes[ni].stations[ri].return_worker(now);
        self.drain_queue(ni, ri);
    }

    /// A child call of `job` ended (nothing to do if `job` is gone).
    pub(super) fn child_done(
        &mut self,
        job: Ref,
        outcome: Outcome,
        task: Task,
        hit: bool,
        version: u32,
        _bytes: f64,
    ) {
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        if j.state == JobState::Transit {
            // The job is finishing: its own answer set off the cascade that
            // ended this child (a killed job's caller unblocked a publish it
            // was waiting on). Nobody waits for the child any more; a job on
            // the wire has no children.
            return;
        }
        j.pending = j.pending.saturating_sub(1);
        if outcome != Outcome::Ok {
            j.failed = true;
        }
        if j.pending > 0 {
            return;
        }
        // Cache lookups decide hit/miss here, at the op that issued them; a
        // failed lookup (cache down) counts as a miss and falls through to
        // the source of truth.
        if matches!(task, Task::CacheGet { .. }) && self.lookup_done(job, outcome, hit, version) {
            return;
        }
        let j = self.jobs.at(job);
        let failed = std::mem::replace(&mut j.failed, false);
        let (mut state, ni) = (j.state, j.node as usize);
        // Single-flight fill completed: wake the waiters as hits (whose
        // same-instant work may move this job on: read its state again).
        if !failed && matches!(task, Task::CacheSet { .. }) && self.fills(job) {
            self.finish_fill(job);
            state = self.jobs.at(job).state;
        }
        match (state, failed) {
            (JobState::Running, false) => self.advance_at(job, ni),
            (JobState::Running, true) => self.finish(job, Outcome::Failed),
            (_, f) => {
                // Parked on an event loop: queue the continuation.
                self.jobs.at(job).resume = if f { Resume::Fail } else { Resume::Advance };
                self.requeue(job);
            }
        }
    }

    /// Whether `job` fills a single-flight slot.
    fn fills(&self, job: Ref) -> bool {
        let j = self.jobs.get(job).expect("live job");
        self.jobs.regs_of(j).is_some_and(|r| r.sf.is_some())
    }

    /// The job's cache lookup answered: a hit skips the miss block; a miss
    /// runs it (with single flight: as the filler, or waiting for another
    /// filler, which returns true: the job waits).
    fn lookup_done(&mut self, job: Ref, outcome: Outcome, hit: bool, version: u32) -> bool {
        let cfg = &*self.cfg;
        let j = self.jobs.at(job);
        let (ni, ip) = (j.node, j.ip);
        let endpoint = j.task.endpoint();
        let Some(super::config::Op::CacheGet {
            edge,
            miss_end,
            single_flight,
            versioned,
            ..
        }) = cfg
            .programs(ni)
            .get(endpoint)
            .and_then(|p| p.ops.get(ip as usize))
        else {
            return false;
        };
        let cnode = cfg.edges[*edge as usize].to as usize;
        let (j, regs) = self.jobs.with_regs(job);
        let r = regs.expect("cache registers");
        let truth = self.spaces.version(r.space, r.key);
        if outcome != Outcome::Ok {
            j.failed = false;
        }
        let BodyState::Cache(c) = &mut self.nodes[cnode].body else {
            j.ip += 1;
            return false;
        };
        if hit && outcome == Outcome::Ok {
            j.ip = *miss_end;
            c.count_hit(version < truth);
            return false;
        }
        c.count_miss();
        let ckey = draw::cache_key(r.space, r.key, versioned.then_some(r.version));
        if *single_flight {
            if c.join_fill(ckey, job) {
                // Another request is already filling this key (its lookup
                // missed first): wait for it.
                j.pending = 1;
                return true;
            }
            c.start_fill(ckey);
            r.sf = Some((cnode as u32, ckey));
        }
        j.ip += 1;
        false
    }

    /// An event-loop continuation waits for a worker again.
    pub(super) fn requeue(&mut self, job: Ref) {
        let now = self.now();
        let j = self.jobs.at(job);
        let st = &mut self.nodes[j.node as usize].stations[j.rep as usize];
        if st.can_start() {
            return self.start(job);
        }
        st.enqueue(job, now);
        j.state = JobState::Queued;
    }

    /// Finishes a job at replica `ri` of node `ni` with the node's (and
    /// any injected) error rate.
    #[inline(always)]
    pub(super) fn finish_with_errors_at(&mut self, job: Ref, ni: usize, ri: usize) {
        let ncfg = &self.cfg.nodes[ni];
        let p = ncfg.error_rate + self.nodes[ni].stations[ri].faults().err_p;
        let failed = p > 0.0 && self.streams.get(ncfg.err_stream).random::<f64>() < p;
        self.finish(job, if failed { Outcome::Failed } else { Outcome::Ok })
    }

    /// The job is done (or failed): free its worker and its locks, start the
    /// next queued job, then answer.
    pub(super) fn finish(&mut self, job: Ref, outcome: Outcome) {
        let now = self.now();
        let j = self.jobs.at(job);
        let (ni, ri, call, state) = (j.node as usize, j.rep as usize, j.call, j.state);
        let (measured, t_arrive, has_regs) = (j.measured, j.t_arrive, j.has_regs());
        let answer = Answer {
            call,
            attempt: j.attempt,
            trace: j.attrs.trace,
            depth: j.attrs.depth,
        };
        // From here the job is finishing: its locks' next holders, its
        // answer and a kill they set off in this same instant must pass
        // over it (its worker is given back below, once), and a child call
        // ending in that cascade must not resume it.
        j.state = JobState::Transit;
        if !answer.trace.is_none() {
            let attrs = answer.attrs();
            self.span(
                &attrs,
                SpanKind::Job,
                ni as u32,
                answer.attempt,
                t_arrive,
                now,
                Some(outcome),
            );
        }
        // A queued job leaves the queue first, so that cascade cannot start it.
        if state == JobState::Queued {
            self.nodes[ni].stations[ri].unqueue(job, now);
        }
        if has_regs {
            self.let_go(job);
        }
        let ncfg = &self.cfg.nodes[ni];
        let (side_effects, serverless) = (ncfg.side_effects, ncfg.serverless.is_some());
        let node = &mut self.nodes[ni];
        let st = &mut node.stations[ri];
        if state == JobState::Running {
            st.return_worker(now);
        }
        st.leave(now, outcome == Outcome::Ok);
        if measured {
            node.sojourn.record(now - t_arrive);
        }
        if outcome == Outcome::Ok && side_effects {
            self.count_side_effect(ni, call);
        }
        self.drain_queue(ni, ri);
        self.answer(answer, outcome, ni as u32);
        self.jobs.remove(job);
        self.calls.job_ended(call);
        if self.nodes[ni].stations[ri].life() == super::station::Lifecycle::Draining {
            self.maybe_finish_drain(ni, ri);
        }
        if serverless {
            self.instance_idle(ni, ri);
        }
    }

    /// A finishing job lets go of its locks (innermost first) and of a
    /// single-flight fill it did not complete.
    fn let_go(&mut self, job: Ref) {
        let j = self.jobs.get(job).expect("live job");
        let Some(r) = self.jobs.regs_of(j).copied() else {
            return;
        };
        for &(lock, _) in r.locks.iter().take(r.nlocks as usize).rev() {
            self.release_lock(job, lock);
        }
        if r.sf.is_some() {
            self.abort_fill(job);
        }
    }

    /// Each successful execution of a state-changing call is a side effect;
    /// a repeat is a duplicate unless an idempotency key dedupes it.
    fn count_side_effect(&mut self, ni: usize, call: Ref) {
        let Some(c) = self.calls.get_mut(call) else {
            return;
        };
        let e = &self.cfg.edges[c.edge as usize];
        if !e.side_effect || (c.applied > 0 && e.idempotent) {
            return;
        }
        c.applied += 1;
        let node = &mut self.nodes[ni];
        node.side_effects += 1;
        if c.applied > 1 {
            node.duplicates += 1;
        }
    }

    /// Frees a job's slot; frees its call once resolved and jobless.
    #[inline]
    pub(super) fn end_job(&mut self, job: Ref) {
        let call = self.jobs.at(job).call;
        self.jobs.remove(job);
        self.calls.job_ended(call);
    }

    /// Starts queued jobs while workers are free.
    #[inline(always)]
    pub(super) fn drain_queue(&mut self, ni: usize, ri: usize) {
        let lifo = self.cfg.nodes[ni].lifo;
        loop {
            let now = self.now();
            let Some(next) = self.nodes[ni].stations[ri].next_queued(lifo, now) else {
                return;
            };
            self.start(next);
        }
    }
}
