//! One replica of a serving node: its workers, its queue, its place in the
//! replica lifecycle (up, booting, draining, down, retired), the faults
//! acting on it, its connection pools, and its counters.
//!
//! Every change goes through a method, as in [`Levels`]: the levels and
//! their integrals, the queue and the counters must move together or the
//! report's utilisation, queue length and conservation would be wrong.

use super::config::PoolCfg;
use super::ids::Ref;
use crate::calendar::Time;
use crate::metrics::{Counters, LatencyHist, Levels};
use std::collections::VecDeque;

/// Where a replica is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    Up,
    Booting,
    Draining,
    Down,
    Retired,
}

/// What faults do to a replica right now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Perturbation {
    /// Compute takes this many times longer.
    pub slow: f64,
    /// Fraction of CPU stolen by a noisy neighbour.
    pub steal: f64,
    /// Injected error probability.
    pub err_p: f64,
    /// Requests vanish (no answer) while hung.
    pub hung: bool,
}

impl Default for Perturbation {
    fn default() -> Self {
        Perturbation {
            slow: 1.0,
            steal: 0.0,
            err_p: 0.0,
            hung: false,
        }
    }
}

pub(crate) struct Station {
    life: Lifecycle,
    /// Bumped on every lifecycle change so stale `ReplicaUp` events are
    /// ignored.
    epoch: u32,
    down_since: Time,
    /// Went down after a graceful drain: balancers already took it out.
    drained: bool,
    /// Set while draining for a restart: how long it then stays down.
    drain_down: Option<Time>,
    workers: u32,
    queue: VecDeque<Ref>,
    lv: Levels,
    c: Counters,
    at_warm: Counters,
    at_window: Counters,
    pools: Vec<Pool>,
    faults: Perturbation,
    /// A database read replica (true) or primary/shard (false).
    read_replica: bool,
    /// Cut off from the primary (read replicas).
    partitioned: bool,
    restarts: u64,
    oom_kills: u64,
    /// When it last went idle (serverless instances: `serverless.rs`).
    idle_since: Time,
    /// An idle check is pending for it (at most one at a time).
    idle_check: bool,
    /// Requests routed to it and still on the wire (serverless instances).
    incoming: u32,
}

impl Station {
    /// An idle replica, up, with `workers` workers and the given pools.
    pub(crate) fn new(workers: u32, pools: &[PoolCfg]) -> Station {
        Station {
            life: Lifecycle::Up,
            epoch: 0,
            down_since: 0,
            drained: false,
            drain_down: None,
            workers,
            queue: VecDeque::new(),
            lv: Levels::with_capacity(workers),
            c: Counters::default(),
            at_warm: Counters::default(),
            at_window: Counters::default(),
            pools: pools.iter().map(|_| Pool::new()).collect(),
            faults: Perturbation::default(),
            read_replica: false,
            partitioned: false,
            restarts: 0,
            oom_kills: 0,
            idle_since: 0,
            idle_check: false,
            incoming: 0,
        }
    }

    /// A replica that does not exist yet (a scale-out slot): retired, with
    /// no capacity, until `set_life` brings it up.
    pub(crate) fn unborn(workers: u32, pools: &[PoolCfg]) -> Station {
        let mut s = Station::new(workers, pools);
        s.life = Lifecycle::Retired;
        s.lv = Levels::default();
        s
    }

    // ----- lifecycle -------------------------------------------------------------

    #[inline(always)]
    pub(crate) fn life(&self) -> Lifecycle {
        self.life
    }
    #[inline(always)]
    pub(crate) fn is_up(&self) -> bool {
        self.life == Lifecycle::Up
    }
    /// Up or draining: it still serves what it has.
    #[inline(always)]
    pub(crate) fn serving(&self) -> bool {
        matches!(self.life, Lifecycle::Up | Lifecycle::Draining)
    }
    /// Down, retired or booting: connections are refused.
    #[inline(always)]
    pub(crate) fn refuses(&self) -> bool {
        matches!(
            self.life,
            Lifecycle::Down | Lifecycle::Retired | Lifecycle::Booting
        )
    }
    /// Counts toward the node's instances (cost).
    pub(crate) fn billed(&self) -> bool {
        matches!(
            self.life,
            Lifecycle::Up | Lifecycle::Booting | Lifecycle::Draining
        )
    }
    pub(crate) fn epoch(&self) -> u32 {
        self.epoch
    }

    // ----- idleness (serverless instances) -----------------------------------------

    /// It went idle (or came up idle) at `now`.
    pub(crate) fn mark_idle(&mut self, now: Time) {
        self.idle_since = now;
    }
    pub(crate) fn idle_since(&self) -> Time {
        self.idle_since
    }
    /// Arms its idle check; false if one is already pending.
    pub(crate) fn arm_idle_check(&mut self) -> bool {
        !std::mem::replace(&mut self.idle_check, true)
    }
    /// Its idle check fired.
    pub(crate) fn idle_check_fired(&mut self) {
        self.idle_check = false;
    }
    /// A request was routed to it and is on its way.
    pub(crate) fn expect_arrival(&mut self) {
        self.incoming += 1;
    }
    /// A request routed to it reached it.
    pub(crate) fn expected_arrived(&mut self) {
        self.incoming = self.incoming.saturating_sub(1);
    }
    /// Requests in it or on their way to it.
    pub(crate) fn claimed(&self) -> u64 {
        self.in_system() + self.incoming as u64
    }
    pub(crate) fn down_since(&self) -> Time {
        self.down_since
    }
    pub(crate) fn drained(&self) -> bool {
        self.drained
    }

    /// Moves to `life` at `now`, keeping capacity accounting right.
    pub(crate) fn set_life(&mut self, now: Time, life: Lifecycle) {
        // A replica that drained before going down was deregistered: it
        // stays out of balancers until it is up again.
        self.drained = life == Lifecycle::Down && self.life == Lifecycle::Draining;
        self.life = life;
        self.epoch = self.epoch.wrapping_add(1);
        let capacity = if matches!(life, Lifecycle::Up | Lifecycle::Draining) {
            self.workers
        } else {
            0
        };
        self.lv.set_capacity(now, capacity);
        if life == Lifecycle::Down {
            self.down_since = now;
        }
    }

    pub(crate) fn set_drain_down(&mut self, d: Option<Time>) {
        self.drain_down = d;
    }
    pub(crate) fn take_drain_down(&mut self) -> Option<Time> {
        self.drain_down.take()
    }
    pub(crate) fn count_restart(&mut self) {
        self.restarts += 1;
    }
    pub(crate) fn count_oom_kill(&mut self) {
        self.oom_kills += 1;
    }
    pub(crate) fn restarts(&self) -> u64 {
        self.restarts
    }
    pub(crate) fn oom_kills(&self) -> u64 {
        self.oom_kills
    }

    // ----- faults ----------------------------------------------------------------

    #[inline(always)]
    pub(crate) fn faults(&self) -> Perturbation {
        self.faults
    }
    pub(crate) fn faults_mut(&mut self) -> &mut Perturbation {
        &mut self.faults
    }
    pub(crate) fn read_replica(&self) -> bool {
        self.read_replica
    }
    pub(crate) fn make_read_replica(&mut self) {
        self.read_replica = true;
    }
    pub(crate) fn partitioned(&self) -> bool {
        self.partitioned
    }
    pub(crate) fn set_partitioned(&mut self, on: bool) {
        self.partitioned = on;
    }

    /// A compute of `d` ns here, with a contention model of `contention`:
    /// `d` itself on an unperturbed replica without contention (no
    /// floating point, no division), else scaled by
    /// [`Station::compute_factor`] (the same numbers either way: the
    /// factor is exactly 1 then).
    #[inline(always)]
    pub(crate) fn scale(&self, d: Time, contention: Option<(u32, f64)>) -> Time {
        let p = &self.faults;
        if p.slow == 1.0 && p.steal == 0.0 && contention.is_none() {
            return d;
        }
        let f = self.compute_factor(contention);
        if f == 1.0 {
            d
        } else {
            (d as f64 * f) as Time
        }
    }

    /// How much longer compute takes here: slowdown, stolen CPU and, with a
    /// contention model of `(cores, penalty)`, thrashing past the cores.
    #[inline]
    fn compute_factor(&self, contention: Option<(u32, f64)>) -> f64 {
        let mut f = self.faults.slow / (1.0 - self.faults.steal);
        if let Some((cores, penalty)) = contention {
            let busy = self.lv.busy() as f64;
            let c = cores as f64;
            if busy > c {
                f *= (busy / c) * (1.0 + penalty * (busy - c));
            }
        }
        f
    }

    // ----- requests at the door ---------------------------------------------------

    #[inline(always)]
    pub(crate) fn count_arrival(&mut self) {
        self.c.arrived += 1;
    }
    #[inline(always)]
    pub(crate) fn count_rejection(&mut self) {
        self.c.rejected += 1;
    }
    /// A request is in the node from `now`.
    #[inline(always)]
    pub(crate) fn enter(&mut self, now: Time) {
        self.lv.insys_up(now);
    }
    /// A request left the node at `now`, answered (`ok`) or not.
    #[inline(always)]
    pub(crate) fn leave(&mut self, now: Time, ok: bool) {
        self.lv.insys_down(now);
        if ok {
            self.c.completed += 1;
        } else {
            self.c.failed += 1;
        }
    }
    /// A request turned away after entering (rate limit, shedding).
    #[inline(always)]
    pub(crate) fn shed(&mut self, now: Time) {
        self.lv.insys_down(now);
        self.c.rejected += 1;
    }
    #[inline(always)]
    pub(crate) fn in_system(&self) -> u64 {
        self.lv.insys()
    }

    // ----- workers and queue ------------------------------------------------------

    #[inline(always)]
    pub(crate) fn busy(&self) -> u32 {
        self.lv.busy()
    }
    /// A new request can start at once: a worker is free and nobody queues.
    #[inline(always)]
    pub(crate) fn can_start(&self) -> bool {
        self.lv.busy() < self.workers && self.queue.is_empty()
    }
    #[inline(always)]
    pub(crate) fn take_worker(&mut self, now: Time) {
        self.lv.busy_up(now);
    }
    #[inline(always)]
    pub(crate) fn return_worker(&mut self, now: Time) {
        self.lv.busy_down(now);
    }
    #[inline(always)]
    pub(crate) fn queue_len(&self) -> usize {
        self.queue.len()
    }
    #[inline(always)]
    pub(crate) fn enqueue(&mut self, job: Ref, now: Time) {
        self.queue.push_back(job);
        self.lv.queue_up(now);
    }
    /// The next queued job, if a worker is free and the replica serves.
    #[inline(always)]
    pub(crate) fn next_queued(&mut self, lifo: bool, now: Time) -> Option<Ref> {
        if self.lv.busy() >= self.workers || !self.serving() {
            return None;
        }
        let next = if lifo {
            self.queue.pop_back()
        } else {
            self.queue.pop_front()
        }?;
        self.lv.queue_down(now);
        Some(next)
    }
    /// The replica died: its queued jobs are about to fail one by one.
    /// The queue is emptied at once (their levels go down as each fails,
    /// through `unqueue`), so failing n of them costs O(n), not the O(n^2)
    /// of taking each out of a queue of n (a crash of a replica holding a
    /// long queue took minutes of CPU).
    pub(crate) fn forget_queue(&mut self) {
        self.queue.clear();
    }
    /// Takes a queued job out of the queue (it ended while waiting).
    pub(crate) fn unqueue(&mut self, job: Ref, now: Time) {
        self.queue.retain(|r| *r != job);
        self.lv.queue_down(now);
    }
    /// Changes the workers per replica; capacity follows while it serves.
    pub(crate) fn set_workers(&mut self, now: Time, workers: u32) {
        self.workers = workers;
        if self.serving() {
            self.lv.set_capacity(now, workers);
        }
    }

    // ----- pools -------------------------------------------------------------------

    #[inline(always)]
    pub(crate) fn pool(&mut self, p: u32) -> &mut Pool {
        &mut self.pools[p as usize]
    }
    pub(crate) fn pools(&self) -> &[Pool] {
        &self.pools
    }

    // ----- statistics ----------------------------------------------------------------

    /// The counters with their areas integrated up to `now`.
    pub(crate) fn counters(&self, now: Time) -> Counters {
        let mut c = self.c;
        self.lv.touch(&mut c, now);
        c
    }
    pub(crate) fn at_warm(&self) -> Counters {
        self.at_warm
    }
    /// The warm-up ends now: later statistics start from here.
    pub(crate) fn mark_warm(&mut self, now: Time) {
        self.lv.touch(&mut self.c, now);
        self.at_warm = self.c;
        for p in &mut self.pools {
            p.mark_warm(now);
        }
    }
    /// The window ends now: what happened in it, and the next one starts.
    pub(crate) fn close_window(&mut self, now: Time) -> Counters {
        self.lv.touch(&mut self.c, now);
        let d = self.c.minus(&self.at_window);
        self.at_window = self.c;
        d
    }
    /// The counters integrated to `now`, written back (the autoscaler reads
    /// areas as they grow).
    pub(crate) fn touch(&mut self, now: Time) -> Counters {
        self.lv.touch(&mut self.c, now);
        self.c
    }
}

/// A caller's connection pool on one replica.
pub(crate) struct Pool {
    in_use: u32,
    /// Waiting attempts: (call, attempt), in arrival order. Entries whose
    /// attempt stopped waiting are skipped when reached.
    waiters: VecDeque<(Ref, u8)>,
    /// Waits that began after the warm-up.
    wait: LatencyHist,
    /// Connections it holds open to a database that limits them (counted
    /// there too): it opens one when all are in use and it is below its
    /// size, and keeps it.
    open: u32,
    c: PoolCounts,
    /// The counters when the warm-up ended (the report counts from there).
    at_warm: PoolCounts,
    last: Time,
}

/// What a pool counts (from the start of the run).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PoolCounts {
    pub timeouts: u64,
    pub rejected: u64,
    pub acquired: u64,
    /// Integral of connections in use over time, up to `last`.
    pub area: f64,
}

impl Pool {
    fn new() -> Pool {
        Pool {
            in_use: 0,
            waiters: VecDeque::new(),
            wait: LatencyHist::new(2),
            open: 0,
            c: PoolCounts::default(),
            at_warm: PoolCounts::default(),
            last: 0,
        }
    }

    fn touch(&mut self, now: Time) {
        self.c.area += (now - self.last) as f64 * self.in_use as f64;
        self.last = now;
    }

    fn mark_warm(&mut self, now: Time) {
        self.touch(now);
        self.at_warm = self.c;
    }

    pub(crate) fn in_use(&self) -> u32 {
        self.in_use
    }
    /// Connections it holds open (to a database that limits them).
    pub(crate) fn open(&self) -> u32 {
        self.open
    }
    /// Needs a new connection for one more call (all open ones are in use).
    pub(crate) fn needs_connection(&self) -> bool {
        self.in_use >= self.open
    }
    pub(crate) fn opened(&mut self) {
        self.open += 1;
    }
    pub(crate) fn opened_many(&mut self, n: u32) {
        self.open += n;
    }
    /// Closes every connection (the replica died or retired); how many.
    pub(crate) fn close_all(&mut self) -> u32 {
        std::mem::take(&mut self.open)
    }
    /// Host memory held by its statistics.
    pub(crate) fn stats_bytes(&self) -> usize {
        self.wait.bytes()
    }
    pub(crate) fn waiting(&self) -> usize {
        self.waiters.len()
    }
    /// Takes a connection after waiting `waited`; the wait counts if it
    /// began at or after `warmup`.
    pub(crate) fn acquire(&mut self, now: Time, waited: Time, warmup: Time) {
        self.touch(now);
        self.in_use += 1;
        self.c.acquired += 1;
        if now - waited >= warmup {
            self.wait.record(waited);
        }
    }
    /// Gives `n` connections back.
    pub(crate) fn release(&mut self, now: Time, n: u32) {
        self.touch(now);
        self.in_use = self.in_use.saturating_sub(n);
    }
    /// Holds `n` more connections (moved from another pool).
    pub(crate) fn adopt(&mut self, now: Time, n: u32) {
        self.touch(now);
        self.in_use += n;
    }
    pub(crate) fn reject(&mut self) {
        self.c.rejected += 1;
    }
    pub(crate) fn wait_for(&mut self, call: Ref, attempt: u8) {
        self.waiters.push_back((call, attempt));
    }
    pub(crate) fn has_waiters(&self) -> bool {
        !self.waiters.is_empty()
    }
    pub(crate) fn next_waiter(&mut self) -> Option<(Ref, u8)> {
        self.waiters.pop_front()
    }
    /// An attempt gave up waiting.
    pub(crate) fn time_out(&mut self, call: Ref, attempt: u8) {
        self.c.timeouts += 1;
        self.waiters.retain(|(r, a)| !(*r == call && *a == attempt));
    }
    /// Takes every waiter out.
    pub(crate) fn take_waiters(&mut self) -> VecDeque<(Ref, u8)> {
        std::mem::take(&mut self.waiters)
    }
    pub(crate) fn add_waiters(&mut self, w: impl IntoIterator<Item = (Ref, u8)>) {
        self.waiters.extend(w);
    }

    /// The counters over the measured period up to `now`; `warm`: the
    /// period has begun (all zero before).
    pub(crate) fn measured(&self, now: Time, warm: bool) -> PoolCounts {
        if !warm {
            return PoolCounts::default();
        }
        let area = self.c.area + (now - self.last) as f64 * self.in_use as f64;
        let (c, w) = (self.c, self.at_warm);
        PoolCounts {
            timeouts: c.timeouts - w.timeouts,
            rejected: c.rejected - w.rejected,
            acquired: c.acquired - w.acquired,
            area: area - w.area,
        }
    }
    pub(crate) fn wait_hist(&self) -> &LatencyHist {
        &self.wait
    }
}
