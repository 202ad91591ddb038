//! The simulator: a scenario lowered to indexed nodes, stations (replicas),
//! edges and handler programs, driven by the event calendar.
//!
//! # A request's life
//! A source issues a *call* along an *edge*. Each attempt of the call
//! (first try, retries, hedges) creates a *job* at a *station* (one replica
//! of the callee) after the edge's hop. The job waits for a worker, then runs
//! its node's program: compute steps, nested calls (holding the worker, or
//! releasing it on an event loop), cache lookups, locks, loops. When done it
//! frees the worker and its answer travels back. The call resolves on the
//! first good answer, or fails once retries, fallbacks and budgets are
//! exhausted. Calls outlive their resolution until every attempt's job has
//! ended, so late answers are counted as wasted work and duplicate side
//! effects are detected exactly.
//!
//! Zero-latency hops are delivered without an event (in the same instant);
//! everything else goes through the calendar. There is no notion of an
//! "anti-pattern" here, only mechanisms and their parameters.

mod build;
mod data;
mod ops;
mod reconfig;
mod stats;

use crate::cache::CacheStore;
use crate::calendar::{ns_to_secs, secs_to_ns, Calendar, Time};
use crate::dist::Dist;
use crate::metrics::{Counters, LatencyHist, Levels, Window, WindowLatency, HEAT_BUCKETS};
use crate::resilience::{Backoff, CircuitBreaker, LeakyBucket, RetryBudget, TokenBucket};
use crate::rng::Stream;
use crate::scenario::{NodeKind, Scenario, ScenarioError};
use crate::spec::{Balance, Invalidate, Overflow, PartitionMode, QueryKind, ReadRouting};
use rand::Rng;
use rand_distr::{Distribution, Exp};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::fmt;

pub use reconfig::Reconfigured;
pub use stats::{E2eSnapshot, EdgeSnapshot, NodeSnapshot, Snapshot, Topology};
pub use trace::{Span, SpanKind, Trace};

/// "No index" marker.
const NONE: u32 = u32::MAX;
/// "No deadline".
const NEVER: Time = Time::MAX;
/// "Not traced".
const NO_TRACE: Ref = Ref { idx: NONE, gen: 0 };
/// A job's call while it is deferred (see `Sim::call_of`).
const DEFERRED_CALL: Ref = Ref { idx: NONE, gen: 0 };

/// A slab index plus the generation that was live when the reference was
/// taken (stale references are ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ref {
    idx: u32,
    gen: u32,
}

/// The closed set of events.
#[derive(Clone, Copy, Debug)]
enum Event {
    Warmup,
    Window,
    Arrival {
        src: u32,
        gen: u32,
    },
    UserWake {
        src: u32,
        user: u32,
    },
    Deliver {
        job: Ref,
    },
    ComputeDone {
        job: Ref,
    },
    /// A leaky-bucket delay ended: admit the job.
    Admit {
        job: Ref,
    },
    Respond {
        call: Ref,
        attempt: u8,
        outcome: Outcome,
        from: u32,
    },
    AttemptTimeout {
        call: Ref,
        attempt: u8,
    },
    RetryFire {
        call: Ref,
    },
    HedgeFire {
        call: Ref,
    },
    PoolTimeout {
        call: Ref,
        attempt: u8,
    },
    FallbackDone {
        call: Ref,
    },
    Fault {
        idx: u32,
        start: bool,
    },
    ReplicaUp {
        node: u32,
        rep: u32,
        gen: u32,
    },
    Autoscale {
        node: u32,
    },
    ConsumerWake {
        node: u32,
        consumer: u32,
    },
    ConsumerDone {
        node: u32,
        consumer: u32,
    },
}

/// How a call (or an attempt of it) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Refused at the door: queue full, rate limited, shed, or no replica.
    Rejected,
    /// An error (a failed dependency, an injected error, a crash).
    Failed,
    /// The caller gave up, or the deadline passed.
    Timeout,
}

// ----- slabs ---------------------------------------------------------------------

trait Slot {
    fn gen(&self) -> u32;
    fn live(&self) -> bool;
    fn kill(&mut self);
}

/// A free-list arena of generation-checked slots.
struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T: Slot> Slab<T> {
    fn new() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
    #[inline(always)]
    fn insert(&mut self, make: impl FnOnce(u32) -> T) -> Ref {
        if let Some(idx) = self.free.pop() {
            let gen = self.items[idx as usize].gen();
            self.items[idx as usize] = make(gen);
            Ref { idx, gen }
        } else {
            let idx = self.items.len() as u32;
            self.items.push(make(0));
            Ref { idx, gen: 0 }
        }
    }
    // A slot's generation moves on when it dies, so a reference matching it
    // is a reference to the live occupant (up to 2^32 reuses of one slot).
    #[inline(always)]
    fn get(&self, r: Ref) -> Option<&T> {
        let it = self.items.get(r.idx as usize)?;
        debug_assert!(it.gen() != r.gen || it.live());
        (it.gen() == r.gen).then_some(it)
    }
    #[inline(always)]
    fn get_mut(&mut self, r: Ref) -> Option<&mut T> {
        let it = self.items.get_mut(r.idx as usize)?;
        debug_assert!(it.gen() != r.gen || it.live());
        (it.gen() == r.gen).then_some(it)
    }
    #[inline]
    fn remove(&mut self, r: Ref) {
        if let Some(it) = self.get_mut(r) {
            it.kill();
            self.free.push(r.idx);
        }
    }
    fn live(&self) -> impl Iterator<Item = (Ref, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, t)| t.live())
            .map(|(i, t)| {
                (
                    Ref {
                        idx: i as u32,
                        gen: t.gen(),
                    },
                    t,
                )
            })
    }
}

macro_rules! slot {
    ($t:ty) => {
        impl Slot for $t {
            #[inline(always)]
            fn gen(&self) -> u32 {
                self.gen
            }
            #[inline(always)]
            fn live(&self) -> bool {
                self.live
            }
            fn kill(&mut self) {
                self.live = false;
                self.gen = self.gen.wrapping_add(1);
            }
        }
    };
}

// ----- calls and jobs ------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Origin {
    /// `user`: the closed-loop user, or NONE.
    Root {
        src: u32,
        measured: bool,
        user: u32,
    },
    Parent(Ref),
    Consumer {
        node: u32,
        consumer: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallState {
    Active,
    WaitingPool,
    Backoff,
    Fallback,
}

/// Attributes a request carries down the call tree.
#[derive(Clone, Copy, Debug)]
struct Attrs {
    user: u64,
    items: u32,
    client: u32,
    /// The root request's trace, if it is traced.
    trace: Ref,
    /// Depth in the call tree.
    depth: u8,
}

impl Default for Attrs {
    fn default() -> Self {
        Attrs {
            user: 0,
            items: 0,
            client: 0,
            trace: NO_TRACE,
            depth: 0,
        }
    }
}

/// What the callee is asked to do.
#[derive(Clone, Copy, Debug)]
enum Task {
    /// Run the service's endpoint program.
    Handler {
        endpoint: u32,
    },
    /// A database query.
    Query {
        rows: u32,
        key: Option<(u32, u64)>,
        write: bool,
    },
    CacheGet {
        ckey: u64,
    },
    CacheSet {
        ckey: u64,
        size: u64,
        version: u32,
    },
    Publish {
        partition: u32,
    },
}

struct Call {
    gen: u32,
    live: bool,
    edge: u32,
    origin: Origin,
    task: Task,
    attrs: Attrs,
    t0: Time,
    deadline: Time,
    state: CallState,
    resolved: bool,
    attempts: u8,
    /// Bit `a` set: attempt `a` is awaited.
    outstanding: u32,
    /// Bit `a` set: attempt `a` holds a pool connection.
    pooled: u32,
    /// Bit `a` set: attempt `a` is waiting for a pool connection.
    pool_wait: u32,
    pool_since: Time,
    jobs_alive: u16,
    /// Executions applied at the callee (side effects).
    applied: u16,
    last_backoff: Time,
    /// Retries scheduled so far.
    retries: u8,
    /// Result registers filled by the callee.
    hit: bool,
    version: u32,
    bytes: f64,
    /// The caller's station (for pools): (node, replica).
    caller: (u32, u32),
}
slot!(Call);

impl Call {
    /// A call along `edge` that has not started an attempt yet.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn new(
        gen: u32,
        edge: u32,
        origin: Origin,
        task: Task,
        attrs: Attrs,
        t0: Time,
        deadline: Time,
        caller: (u32, u32),
    ) -> Call {
        Call {
            gen,
            live: true,
            edge,
            origin,
            task,
            attrs,
            t0,
            deadline,
            state: CallState::Active,
            resolved: false,
            attempts: 0,
            outstanding: 0,
            pooled: 0,
            pool_wait: 0,
            pool_since: 0,
            jobs_alive: 0,
            applied: 0,
            last_backoff: 0,
            retries: 0,
            hit: false,
            version: 0,
            bytes: 0.0,
            caller,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobState {
    /// On the wire to its station.
    Transit,
    /// Waiting for a worker (first start, or an event-loop continuation).
    Queued,
    /// Holding a worker.
    Running,
    /// At the station without a worker (leaky-bucket delay, event-loop wait,
    /// hung).
    Parked,
}

/// What a job must do when it next gets a worker back (event loop).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resume {
    No,
    Advance,
    Fail,
}

struct Job {
    gen: u32,
    live: bool,
    node: u32,
    rep: u32,
    call: Ref,
    attempt: u8,
    task: Task,
    attrs: Attrs,
    state: JobState,
    started: bool,
    measured: bool,
    t_arrive: Time,
    deadline: Time,
    ip: u32,
    /// Outstanding children of a parallel step.
    pending: u32,
    /// Remaining sequential calls of the current call step.
    seq_left: u32,
    failed: bool,
    resume: Resume,
    loops: [u32; 4],
    depth: u8,
    /// Cache registers: key space, key, version read.
    space: u32,
    key: u64,
    version: u32,
    /// This job fills a single-flight slot for this cache key.
    sf: Option<(u32, u64)>,
    locks: [(u32, u64); 2],
    nlocks: u8,
    lock_since: Time,
    /// Memory held for results (MB).
    mem_mb: f64,
    extra_cpu: Time,
    /// The root request whose call is deferred (`call.idx == NONE`): see
    /// [`Sim::call_of`].
    root: DeferredRoot,
}
slot!(Job);

impl Job {
    /// Its call is deferred: `root` holds the call's part (`Sim::call_of`).
    #[inline(always)]
    fn call_deferred(&self) -> bool {
        self.call.idx == DEFERRED_CALL.idx
    }
}

/// What a root request's call would hold beyond its job, while the call is
/// deferred.
#[derive(Clone, Copy, Debug, Default)]
struct DeferredRoot {
    src: u32,
    user: u32,
    edge: u32,
    measured: bool,
    t0: Time,
}

// After `slot!` so the tracer can use it.
mod trace;

// ----- topology -----------------------------------------------------------------

/// A per-request count drawn from its own stream.
struct CountSrc {
    kind: CountKind,
    rng: Stream,
}

enum CountKind {
    Constant(u32),
    Uniform(u32, u32),
    Poisson(rand_distr::Poisson<f64>),
    Geometric(f64),
    Items { plus: i32, times: u32 },
    Table { table: u32, fraction: f64 },
}

/// A key draw: key space, popularity, per-user keys.
struct KeySrc {
    space: u32,
    n: u64,
    per_user: bool,
    sampler: Option<crate::cache::KeySampler>,
    rng: Stream,
}

impl KeySrc {
    fn sample(&mut self, user: u64) -> u64 {
        let k = match &self.sampler {
            Some(s) => s.sample(&mut self.rng),
            None => 0,
        };
        if self.per_user {
            user.wrapping_mul(self.n).wrapping_add(k)
        } else {
            k
        }
    }
}

/// The program of one endpoint, flattened: loops, branches and cache-aside
/// blocks become jumps.
enum Op {
    Compute {
        dist: Dist,
        rng: Stream,
    },
    Call {
        edge: u32,
        count: CountSrc,
        parallel: bool,
        release: bool,
    },
    Fork {
        edges: Vec<u32>,
        release: bool,
    },
    CacheGet {
        edge: u32,
        key: KeySrc,
        miss_end: u32,
        single_flight: bool,
        versioned: bool,
        release: bool,
    },
    CachePut {
        edge: u32,
        size: u64,
        versioned: bool,
        release: bool,
    },
    Write {
        key: KeySrc,
        cache: u32,
        invalidate: Invalidate,
    },
    RepeatBegin {
        count: CountSrc,
        end: u32,
    },
    RepeatEnd {
        begin: u32,
    },
    LockAcquire {
        lock: u32,
        key: Option<KeySrc>,
    },
    LockRelease {
        lock: u32,
    },
    Choose {
        cum: Vec<f64>,
        targets: Vec<u32>,
        rng: Stream,
    },
    Jump {
        to: u32,
    },
}

/// What an edge asks of its callee.
enum EdgeTask {
    Handler {
        endpoint: u32,
    },
    Query {
        table: u32,
        kind: QueryKind,
        rows: CountSrc,
        page: Option<u32>,
        write: bool,
        key: Option<KeySrc>,
    },
    CacheGet,
    CacheSet,
    Publish {
        key: Option<KeySrc>,
        rr: u32,
    },
}

/// Per-edge counters.
#[derive(Clone, Copy, Debug, Default)]
struct EdgeStats {
    calls: u64,
    attempts: u64,
    retries: u64,
    retries_denied: u64,
    timeouts: u64,
    errors: u64,
    fallbacks: u64,
    breaker_rejects: u64,
    hedges: u64,
    failed_calls: u64,
}

struct Edge {
    from: u32,
    to: u32,
    task: EdgeTask,
    hop: Dist,
    rng: Stream,
    /// Bytes per nanosecond.
    bandwidth: Option<f64>,
    req_bytes: f64,
    resp_bytes: f64,
    compress: Option<(f64, f64)>,
    timeout: Option<Time>,
    deadline_prop: bool,
    retries: Option<(u32, Option<Backoff>, Option<RetryBudget>)>,
    breaker: Option<CircuitBreaker>,
    fallback: Option<Dist>,
    hedge: Option<Time>,
    pool: Option<u32>,
    side_effect: bool,
    idempotent: bool,
    partitioned: bool,
    stats: EdgeStats,
    /// Root requests along this edge may take the express lane in
    /// (`express_root`) and out (`express_finish`): the part of the lane's
    /// conditions that only topology and configuration decide, cached by
    /// [`Sim::refresh_express`].
    express_in: bool,
    express_out: bool,
}

impl Edge {
    /// No hop latency and no transfer time: `delay` is 0 for any size.
    #[inline(always)]
    fn instant(&self) -> bool {
        matches!(
            (&self.hop, self.bandwidth, self.compress),
            (Dist::Constant(0), None, None)
        )
    }

    /// One-way delay for `bytes` (hop + transfer), in ns.
    #[inline(always)]
    fn delay(&mut self, bytes: f64) -> Time {
        if let (Dist::Constant(d), None, None) = (&self.hop, self.bandwidth, self.compress) {
            return *d;
        }
        self.delay_slow(bytes)
    }

    #[inline(never)]
    fn delay_slow(&mut self, bytes: f64) -> Time {
        let mut d = self.hop.sample(&mut self.rng);
        if let Some(bw) = self.bandwidth {
            let b = match self.compress {
                Some((ratio, _)) => bytes / ratio,
                None => bytes,
            };
            d += (b / bw) as Time;
        }
        if let Some((_, cpu)) = self.compress {
            d += (bytes * cpu) as Time;
        }
        d
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RState {
    Up,
    Booting,
    Draining,
    Down,
    Retired,
}

struct PoolRt {
    size: u32,
    in_use: u32,
    waiters: VecDeque<(Ref, u8)>,
    acquire_timeout: Option<Time>,
    max_waiters: Option<u32>,
    wait: LatencyHist,
    timeouts: u64,
    rejected: u64,
    acquired: u64,
    area: f64,
    last: Time,
}

impl PoolRt {
    fn touch(&mut self, now: Time) {
        self.area += (now - self.last) as f64 * self.in_use as f64;
        self.last = now;
    }
}

/// One replica of a serving node.
struct Station {
    state: RState,
    /// Bumped on every state change so stale `ReplicaUp` events are ignored.
    epoch: u32,
    down_since: Time,
    workers: u32,
    queue: VecDeque<Ref>,
    lv: Levels,
    c: Counters,
    at_warm: Counters,
    at_window: Counters,
    pools: Vec<PoolRt>,
    slow: f64,
    steal: f64,
    err_p: f64,
    hung: bool,
    mem_extra: f64,
    restarts: u64,
    oom_kills: u64,
    /// Set while draining for a restart: how long it then stays down.
    drain_down: Option<Time>,
    /// Went down after a graceful drain: balancers already took it out.
    drained: bool,
    /// A database read replica (true) or primary (false).
    replica: bool,
    partitioned: bool,
    /// Computes at full speed and never fails by itself: no slowdown, stolen
    /// CPU, injected error rate or hang here, and no contention model or
    /// error rate on the node. Cached by [`Sim::refresh_express`].
    plain: bool,
}

struct Balancer {
    policy: Balance,
    rr: u32,
    rng: Stream,
    sticky: FxHashMap<u64, (u32, u32)>,
}

struct SourceRt {
    edge: u32,
    arrival: Arrival,
    rng: Stream,
    gen: u32,
    user_rng: Stream,
    users: Option<(u64, Option<crate::cache::KeySampler>)>,
    items: Option<CountSrc>,
    client: u32,
    spike: f64,
    e2e: E2e,
}

enum Arrival {
    Poisson {
        rate: f64,
        exp: Exp<f64>,
    },
    Constant {
        rate: f64,
    },
    Schedule {
        points: Vec<(Time, f64)>,
        shape: crate::scenario::Shape,
        poisson: bool,
        max_rate: f64,
    },
    Closed {
        users: u32,
        think: Dist,
        running: Vec<bool>,
    },
}

/// End-to-end counters of one source.
#[derive(Clone)]
struct E2e {
    c: E2eCounts,
    at_warm: E2eCounts,
    latency: LatencyHist,
}

#[derive(Default, Clone, Copy, Debug)]
struct E2eCounts {
    arrived: u64,
    completed: u64,
    failed: u64,
    rejected: u64,
    timed_out: u64,
}

struct ServiceRt {
    programs: Vec<Vec<Op>>,
}

struct Table {
    rows0: f64,
    growth: f64,
    row_bytes: f64,
}

struct DbRt {
    tables: Vec<Table>,
    cost: crate::spec::CostSpec,
    shards: u32,
    replicas: u32,
    lag: Time,
    reads: ReadRouting,
    on_partition: PartitionMode,
    rr: u32,
    queries: u64,
    reads_n: u64,
    writes_n: u64,
    stale_reads: u64,
    rows_returned: u64,
    bytes_returned: f64,
}

struct CacheRt {
    store: CacheStore,
    latency: Dist,
    rng: Stream,
    ttl: Option<Time>,
    jitter: f64,
    hits: u64,
    misses: u64,
    stale: u64,
    coalesced: u64,
    fills: u64,
    flushes: u64,
    /// Single flight: cache key -> jobs waiting for the fill.
    inflight: FxHashMap<u64, Vec<Ref>>,
}

#[derive(Clone, Copy, Debug)]
struct Msg {
    t_pub: Time,
    poison: bool,
    attempts: u32,
    ready_at: Time,
}

struct Partition {
    q: VecDeque<Msg>,
    blocked: VecDeque<Ref>,
    max_depth: u64,
}

struct Consumer {
    parts: Vec<u32>,
    next: usize,
    busy: Option<(u32, Msg)>,
    wake_at: Time,
}

struct BrokerRt {
    parts: Vec<Partition>,
    consumers: Vec<Consumer>,
    /// Consumers in service: the first `active` of `consumers` (the rest
    /// were retired by a live reconfiguration and own no partitions).
    active: u32,
    capacity: Option<u64>,
    overflow: Overflow,
    process: Option<Dist>,
    handler: Option<u32>,
    poison_rate: f64,
    max_attempts: Option<u32>,
    dlq_on: bool,
    redelivery: Time,
    rng: Stream,
    published: u64,
    processed: u64,
    dead_lettered: u64,
    discarded: u64,
    dropped: u64,
    rejected: u64,
    failed_attempts: u64,
    latency: LatencyHist,
    depth_area: f64,
    depth: u64,
    last: Time,
}

struct LbRt {
    backends: Vec<u32>,
    detect: Option<Time>,
    latency: Option<Dist>,
    rng: Stream,
    routed: u64,
    to_dead: u64,
}

enum Body {
    Source(SourceRt),
    Service(ServiceRt),
    Database(DbRt),
    Cache(CacheRt),
    Broker(BrokerRt),
    Balancer(LbRt),
}

enum Limiter {
    Token(TokenBucket),
    Leaky(LeakyBucket),
}

struct RateLimit {
    per_client: bool,
    global: Option<Limiter>,
    by_client: Vec<Option<Limiter>>,
    spec: crate::spec::RateLimitSpec,
    limited: u64,
}

struct Autoscale {
    spec: crate::spec::AutoscaleSpec,
    last_action: Option<Time>,
    actions: u64,
    prev_busy: f64,
    prev_cap: f64,
    prev_queue: f64,
    prev_t: Time,
    prev_soj: (u128, u64),
}

struct Node {
    name: String,
    kind: NodeKind,
    body: Body,
    reps: Vec<Station>,
    balancer: Balancer,
    wait: LatencyHist,
    /// Read it through `Sim::sojourn`: while `latency` mirrors this node
    /// (`Mirror`), the sojourns are there.
    sojourn: LatencyHist,
    late: u64,
    side_effects: u64,
    duplicates: u64,
    expired: u64,
    lock_wait: LatencyHist,
    rate: Option<RateLimit>,
    max_in_flight: Option<u32>,
    memory: Option<crate::spec::MemorySpec>,
    contention: Option<(u32, f64)>,
    error_rate: f64,
    err_rng: Stream,
    autoscale: Option<Autoscale>,
    instance_area: f64,
    inst_last: Time,
    pool_names: Vec<String>,
    workers_spec: u32,
    /// Workers are unlimited (an external dependency without a limit).
    unlimited: bool,
    queue_cap: Option<u64>,
    lifo: bool,
    /// An `Autoscale` event is pending (the autoscaler's tick is running).
    autoscale_armed: bool,
}

#[derive(Default)]
struct KeySpace {
    /// key -> (version, last write time); only written keys are stored.
    versions: FxHashMap<u64, (u32, Time)>,
}

impl KeySpace {
    fn version(&self, k: u64) -> u32 {
        self.versions.get(&k).map_or(0, |v| v.0)
    }
    fn last_write(&self, k: u64) -> Option<Time> {
        self.versions.get(&k).map(|v| v.1)
    }
}

#[derive(Default)]
struct LockSpace {
    held: FxHashMap<u64, VecDeque<Ref>>,
    acquired: u64,
    contended: u64,
}

/// An error from [`Sim::set_param`].
#[derive(Clone, Debug, PartialEq)]
pub struct ParamError(pub String);

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ParamError {}

struct FaultRt {
    spec: crate::spec::FaultSpec,
    node: u32,
    peer: u32,
}

/// A running simulation.
pub struct Sim {
    cal: Calendar<Event>,
    scenario: String,
    seed: u64,
    warmup: Time,
    window: Time,
    max_windows: usize,
    nodes: Vec<Node>,
    /// Indices of non-source nodes, in name order (report and window order).
    servers: Vec<u32>,
    sources: Vec<u32>,
    edges: Vec<Edge>,
    jobs: Slab<Job>,
    calls: Slab<Call>,
    spaces: Vec<KeySpace>,
    locks: Vec<LockSpace>,
    faults: Vec<FaultRt>,
    e2e: E2eCounts,
    e2e_at_warm: E2eCounts,
    e2e_at_window: E2eCounts,
    latency: LatencyHist,
    win_latency: WindowLatency,
    win_heat: [u32; HEAT_BUCKETS],
    windows: VecDeque<Window>,
    window_start: Time,
    events: u64,
    tracer: trace::Tracer,
    /// SLO threshold (ns) and target; (good, total) measured requests.
    slo: Option<(Time, f64)>,
    slo_counts: (u64, u64),
    /// Requests answered OK within the SLO in the current window.
    win_slo_good: u64,
    /// Table names per database node (for reports).
    table_names: std::collections::BTreeMap<String, Vec<String>>,
    /// What live reconfiguration needs: the scenario in force, and the
    /// spec behind each edge, key space and lock.
    meta: Box<reconfig::Meta>,
    /// Take the express lane where it applies (`set_express(false)` is for
    /// the tests that prove it changes nothing).
    express: bool,
    /// Whether one node's sojourn histogram is `latency` itself
    /// ([`Mirror`]).
    mirror: Mirror,
    /// A sojourn at the mirrored node that `finish` measured and the
    /// answer it is sending may record as the end-to-end latency
    /// (`root_done`); it never outlives that `finish`.
    soj_pending: Option<Time>,
}

/// A root request answered by the express lane spends exactly its
/// end-to-end latency at the one service that answers it, so while every
/// measured root request is answered that way by the same node, and that
/// node records no other sojourn, the node's sojourn histogram equals
/// `Sim::latency` value for value: it is kept once, in `latency`
/// (`Sim::sojourn` reads it there). The first record that breaks the
/// equality copies `latency` into the node's own histogram and ends the
/// mirror for the run (`Sim::unmirror`). Reports are byte-identical either
/// way (`tests/it/express.rs` runs with the express lane off, which never
/// mirrors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mirror {
    /// Nothing measured has reached `latency` yet.
    Unset,
    /// This node's sojourns are `latency`'s values.
    Node(u32),
    /// Every node keeps its own sojourns.
    Off,
}

impl Sim {
    /// Lowers a validated scenario. `seed` is the root seed of every random
    /// stream (pass `scenario.seed` for the file's own).
    pub fn new(sc: &Scenario, seed: u64) -> Result<Sim, ScenarioError> {
        build::build(sc, seed)
    }

    /// The simulated clock in nanoseconds.
    pub fn now(&self) -> Time {
        self.cal.now()
    }

    /// The simulated clock in seconds.
    pub fn now_s(&self) -> f64 {
        ns_to_secs(self.cal.now())
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Turns the express lane for plain requests on or off (on by default).
    /// Reports are byte-identical either way; the switch exists so tests can
    /// prove it.
    #[doc(hidden)]
    pub fn set_express(&mut self, on: bool) {
        self.express = on;
    }

    /// The root seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Processes the next event; returns its time, or `None` when nothing is
    /// scheduled.
    pub fn step(&mut self) -> Option<Time> {
        let (t, ev) = self.cal.pop()?;
        self.events += 1;
        self.handle(ev);
        Some(t)
    }

    /// Processes every event at or before `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Time) {
        while let Some((_, ev)) = self.cal.pop_until(t) {
            self.events += 1;
            self.handle(ev);
        }
        self.cal.advance_to(t);
    }

    /// Like [`Sim::run_until`] but stops after `max_events` events. Returns
    /// true if the clock reached `t`.
    pub fn run_until_bounded(&mut self, t: Time, max_events: u64) -> bool {
        let mut n = 0;
        while let Some(next) = self.cal.peek_time() {
            if next > t {
                break;
            }
            if n >= max_events {
                return false;
            }
            self.step();
            n += 1;
        }
        self.cal.advance_to(t);
        true
    }

    /// Runs to `duration_s` seconds from the start and returns the report.
    pub fn run_for(&mut self, duration_s: f64) -> crate::report::Report {
        self.run_until(secs_to_ns(duration_s));
        self.report()
    }

    /// Widens the time-series window so a run of `duration_s` keeps about
    /// 1000 windows (never narrower than the scenario's own), as the CLI and
    /// the benchmarks do. Call before the run starts.
    pub fn auto_window(&mut self, duration_s: f64) {
        let w = (duration_s / 1000.0).max(ns_to_secs(self.window));
        let keep = self.max_windows.max(1000);
        self.set_window(w, keep);
    }

    /// Overrides the time-series window before the run starts (the CLI keeps
    /// about 1000 windows over a long run).
    pub fn set_window(&mut self, window_s: f64, max_windows: usize) {
        assert_eq!(self.cal.now(), 0, "set_window is for the start of a run");
        self.window = secs_to_ns(window_s).max(1);
        self.max_windows = max_windows.max(1);
        let mut old = std::mem::take(&mut self.cal);
        let mut kept = Vec::new();
        while let Some((t, e)) = old.pop() {
            if !matches!(e, Event::Window) {
                kept.push((t, e));
            }
        }
        for (t, e) in kept {
            self.cal.schedule(t, e);
        }
        self.cal.schedule(self.window, Event::Window);
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Warmup => self.on_warmup(),
            Event::Window => self.on_window(),
            Event::Arrival { src, gen } => self.on_arrival(src, gen),
            Event::UserWake { src, user } => self.on_user_wake(src, user),
            Event::Deliver { job } => {
                if self.jobs.get(job).is_some() {
                    self.arrive(job)
                }
            }
            Event::ComputeDone { job } => {
                let Some(j) = self.jobs.get(job) else {
                    return;
                };
                if j.state != JobState::Running {
                    return;
                }
                // Express lane: a service's endpoint program just ran its
                // last step on a plain station (it injects no errors): what
                // `run_program` does past the end, without the detour.
                let (ni, ri, ip) = (j.node as usize, j.rep as usize, j.ip as usize);
                if let (true, Task::Handler { endpoint }) = (self.express, j.task) {
                    let node = &self.nodes[ni];
                    if let Body::Service(s) = &node.body {
                        debug_assert!(
                            !node.reps[ri].plain
                                || (node.error_rate + node.reps[ri].err_p == 0.0
                                    && station_plain(&node.reps[ri])),
                            "stale plain flag: a change missed `refresh_express`"
                        );
                        if s.programs[endpoint as usize].len() == ip && node.reps[ri].plain {
                            return self.finish(job, Outcome::Ok);
                        }
                    }
                }
                self.advance(job)
            }
            Event::Admit { job } => {
                if self.jobs.get(job).is_some() {
                    self.admit(job)
                }
            }
            Event::Respond {
                call,
                attempt,
                outcome,
                from,
            } => self.on_response(call, attempt, outcome, from),
            Event::AttemptTimeout { call, attempt } => self.on_attempt_timeout(call, attempt),
            Event::RetryFire { call } => {
                if self
                    .calls
                    .get(call)
                    .is_some_and(|c| !c.resolved && c.state == CallState::Backoff)
                {
                    self.begin_attempt(call)
                }
            }
            Event::HedgeFire { call } => self.on_hedge(call),
            Event::PoolTimeout { call, attempt } => self.on_pool_timeout(call, attempt),
            Event::FallbackDone { call } => {
                if self.calls.get(call).is_some_and(|c| !c.resolved) {
                    self.resolve(call, Outcome::Ok)
                }
            }
            Event::Fault { idx, start } => self.on_fault(idx, start),
            Event::ReplicaUp { node, rep, gen } => self.on_replica_up(node, rep, gen),
            Event::Autoscale { node } => self.on_autoscale(node),
            Event::ConsumerWake { node, consumer } => self.consumer_poll(node, consumer),
            Event::ConsumerDone { node, consumer } => self.consumer_done(node, consumer, true),
        }
    }

    // ----- sources -------------------------------------------------------------

    fn start_source(&mut self, i: u32) {
        let now = self.now();
        let Body::Source(s) = &mut self.nodes[i as usize].body else {
            return;
        };
        match &mut s.arrival {
            Arrival::Closed {
                users,
                think,
                running,
            } => {
                for u in 0..*users {
                    running[u as usize] = true;
                    let t = think.sample(&mut s.rng);
                    self.cal
                        .schedule(now + t, Event::UserWake { src: i, user: u });
                }
            }
            _ => {
                if let Some(t) = next_arrival(&s.arrival, s.spike, &mut s.rng, now) {
                    let gen = s.gen;
                    self.cal.schedule_slot(t, Event::Arrival { src: i, gen });
                }
            }
        }
    }

    /// Redraws a source's next arrival from now (after a rate change).
    fn rearm_source(&mut self, i: u32) {
        let now = self.now();
        let Body::Source(s) = &mut self.nodes[i as usize].body else {
            return;
        };
        if matches!(s.arrival, Arrival::Closed { .. }) {
            return;
        }
        s.gen = s.gen.wrapping_add(1);
        if let Some(t) = next_arrival(&s.arrival, s.spike, &mut s.rng, now) {
            let gen = s.gen;
            self.cal.schedule_slot(t, Event::Arrival { src: i, gen });
        }
    }

    fn on_arrival(&mut self, src: u32, gen: u32) {
        let now = self.now();
        let Body::Source(s) = &mut self.nodes[src as usize].body else {
            return;
        };
        if s.gen != gen {
            return;
        }
        // Poisson at its own rate (the common case) inline; the rest as
        // `next_arrival` says.
        let next = match &s.arrival {
            Arrival::Poisson { exp, .. } if s.spike == 1.0 => {
                Some(now + (exp.sample(&mut s.rng) + 0.5) as Time)
            }
            a => next_arrival(a, s.spike, &mut s.rng, now),
        };
        if let Some(t) = next {
            self.cal.schedule_slot(t, Event::Arrival { src, gen });
        }
        self.issue_root(src);
    }

    fn on_user_wake(&mut self, src: u32, user: u32) {
        let Body::Source(s) = &mut self.nodes[src as usize].body else {
            return;
        };
        if let Arrival::Closed { users, running, .. } = &mut s.arrival {
            if user >= *users {
                running[user as usize] = false;
                return;
            }
        }
        self.issue_root_user(src, Some(user as u64));
    }

    fn issue_root(&mut self, src: u32) {
        self.issue_root_user(src, None)
    }

    fn issue_root_user(&mut self, src: u32, closed_user: Option<u64>) {
        let now = self.now();
        let measured = now >= self.warmup;
        let Body::Source(s) = &mut self.nodes[src as usize].body else {
            unreachable!("only sources issue root calls")
        };
        let user = match (&s.users, closed_user) {
            (Some((_, Some(z))), _) => z.sample(&mut s.user_rng),
            (Some((n, None)), _) => s.user_rng.random_range(0..*n),
            (None, Some(u)) => u,
            (None, None) => 0,
        };
        let items = match &mut s.items {
            Some(c) => sample_count(c, 0, &[], now),
            None => 1,
        };
        let client = s.client;
        let edge = s.edge;
        let trace = self.trace_begin(src);
        let attrs = Attrs {
            user,
            items,
            client,
            trace,
            depth: 0,
        };
        let Body::Source(s) = &mut self.nodes[src as usize].body else {
            unreachable!()
        };
        s.e2e.c.arrived += 1;
        self.e2e.arrived += 1;
        let user_slot = closed_user.map_or(NONE, |u| u as u32);
        if trace.idx == NONE && self.express_root(src, edge, measured, user_slot, attrs) {
            return;
        }
        let task = self.edge_task(edge, &attrs);
        let call = self.new_call(
            edge,
            Origin::Root {
                src,
                measured,
                user: user_slot,
            },
            task,
            attrs,
            NEVER,
            (NONE, NONE),
        );
        self.start_call(call);
    }

    /// Recomputes every edge's cached express-lane flags and every
    /// station's `plain` flag. Called after anything that can change them:
    /// building, `reconfigure`, a fault starting or ending, and a change of
    /// replica count. Debug builds check the caches where they are read.
    pub(super) fn refresh_express(&mut self) {
        for i in 0..self.edges.len() {
            let (express_in, express_out) = self.express_flags(i);
            let e = &mut self.edges[i];
            e.express_in = express_in;
            e.express_out = express_out;
        }
        for node in &mut self.nodes {
            let node_plain = node.error_rate == 0.0 && node.contention.is_none();
            for st in &mut node.reps {
                st.plain = node_plain && station_plain(st);
            }
        }
    }

    /// An edge's express-lane flags as the topology and configuration are
    /// now. In: a handler call with nothing on the edge (no hop latency,
    /// timeout, hedge, breaker, deadline or partition) to a one-replica
    /// service with no rate limit, concurrency limit or memory model. Out:
    /// no hop latency, breaker or side effect on the way back.
    fn express_flags(&self, i: usize) -> (bool, bool) {
        let e = &self.edges[i];
        let to = &self.nodes[e.to as usize];
        let express_in = matches!(e.task, EdgeTask::Handler { .. })
            && e.instant()
            && e.timeout.is_none()
            && e.hedge.is_none()
            && e.breaker.is_none()
            && !e.deadline_prop
            && !e.partitioned
            && matches!(to.body, Body::Service(_))
            && to.reps.len() == 1
            && to.rate.is_none()
            && to.max_in_flight.is_none()
            && to.memory.is_none();
        let express_out = e.instant() && e.breaker.is_none() && !e.side_effect;
        (express_in, express_out)
    }

    /// The express lane of a root request: along an edge with nothing on it
    /// (no hop latency, timeout, hedge, breaker, deadline or partition) to a
    /// one-replica service, it does in one step exactly what
    /// `edge_task` + `new_call` + `begin_attempt` + `dispatch` do there
    /// (same counters, same call and job, no random draw, no event), and
    /// returns false without touching anything when the edge is not plain.
    /// `tests/it/express.rs` checks reports are byte-identical either way.
    #[inline]
    fn express_root(
        &mut self,
        src: u32,
        edge: u32,
        measured: bool,
        user: u32,
        attrs: Attrs,
    ) -> bool {
        if !self.express {
            return false;
        }
        let now = self.now();
        debug_assert_eq!(
            {
                let e = &self.edges[edge as usize];
                (e.express_in, e.express_out)
            },
            self.express_flags(edge as usize),
            "express flags of edge {edge} are stale: a change missed `refresh_express`"
        );
        let e = &mut self.edges[edge as usize];
        let (true, &EdgeTask::Handler { endpoint }) = (e.express_in, &e.task) else {
            return false;
        };
        let to = e.to;
        e.stats.calls += 1;
        if let Some((_, _, Some(b))) = &mut e.retries {
            b.on_request(now);
        }
        e.stats.attempts += 1;
        let task = Task::Handler { endpoint };
        // The call is deferred: `call_of` creates it from the job if anything
        // needs it before the job ends with `express_finish`.
        debug_assert_eq!(measured, now >= self.warmup, "measured at this instant");
        let job = self.jobs.insert(|gen| {
            let mut j = new_job(gen, to, 0, DEFERRED_CALL, 0, task, attrs, NEVER);
            j.root = DeferredRoot {
                src,
                user,
                edge,
                measured,
                t0: now,
            };
            j
        });
        // `arrive`, for a replica that is up (the node has no rate limit,
        // concurrency limit or memory model: `express_in`).
        let node = &mut self.nodes[to as usize];
        let st = &mut node.reps[0];
        if st.state != RState::Up || !st.plain {
            self.arrive(job);
            return true;
        }
        st.c.arrived += 1;
        st.lv.insys_up(now);
        let j = self.jobs.get_mut(job).expect("live job");
        j.t_arrive = now;
        j.measured = now >= self.warmup;
        j.state = JobState::Parked;
        self.admit(job);
        true
    }

    /// The call of `job`, created now if it was deferred: a plain root
    /// request (`express_root`) gets no call object, since the common case,
    /// `express_finish`, answers it from the job alone. Anything else that
    /// needs the call (a failure, a retry, a slow finish) gets it here,
    /// exactly as `express_root` would have created it: one attempt out,
    /// one job alive, and nothing on the call that could have changed since
    /// (it has no timer, hedge, pool or deadline, and the job reads it
    /// nowhere else).
    fn call_of(&mut self, job: Ref) -> Ref {
        let j = self.jobs.get(job).expect("live job");
        if !j.call_deferred() {
            return j.call;
        }
        let (r, task, attrs) = (j.root, j.task, j.attrs);
        let origin = Origin::Root {
            src: r.src,
            measured: r.measured,
            user: r.user,
        };
        let call = self.calls.insert(|gen| {
            let mut c = Call::new(gen, r.edge, origin, task, attrs, r.t0, NEVER, (NONE, NONE));
            c.attempts = 1;
            c.outstanding = 1;
            c.jobs_alive = 1;
            c
        });
        self.jobs.get_mut(job).expect("live job").call = call;
        call
    }

    // ----- calls -----------------------------------------------------------------

    /// Draws what a new call along `edge` asks of its callee.
    #[inline]
    fn edge_task(&mut self, edge: u32, attrs: &Attrs) -> Task {
        let now = self.now();
        let e = &mut self.edges[edge as usize];
        let to = e.to as usize;
        match &mut e.task {
            EdgeTask::Handler { endpoint } => Task::Handler {
                endpoint: *endpoint,
            },
            EdgeTask::Query {
                table,
                rows,
                page,
                write,
                key,
                ..
            } => {
                let tables: Vec<f64> = match &self.nodes[to].body {
                    Body::Database(db) => db
                        .tables
                        .iter()
                        .map(|t| t.rows0 + t.growth * ns_to_secs(now))
                        .collect(),
                    _ => Vec::new(),
                };
                let mut n = sample_count(rows, attrs.items, &tables, now);
                if let Some(p) = page {
                    n = n.min(*p);
                }
                let _ = table;
                let key = key.as_mut().map(|k| (k.space, k.sample(attrs.user)));
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
            EdgeTask::Publish { key, rr } => {
                let nparts = match &self.nodes[to].body {
                    Body::Broker(b) => b.parts.len() as u32,
                    _ => 1,
                };
                let p = match key {
                    Some(k) => (crate::rng::mix64(k.sample(attrs.user)) % nparts as u64) as u32,
                    None => {
                        *rr = rr.wrapping_add(1);
                        *rr % nparts
                    }
                };
                Task::Publish { partition: p }
            }
        }
    }

    fn new_call(
        &mut self,
        edge: u32,
        origin: Origin,
        task: Task,
        attrs: Attrs,
        parent_deadline: Time,
        caller: (u32, u32),
    ) -> Ref {
        let now = self.now();
        let e = &mut self.edges[edge as usize];
        e.stats.calls += 1;
        if let Some((_, _, Some(b))) = &mut e.retries {
            b.on_request(now);
        }
        let deadline = if e.deadline_prop {
            parent_deadline
        } else {
            NEVER
        };
        self.calls
            .insert(|gen| Call::new(gen, edge, origin, task, attrs, now, deadline, caller))
    }

    #[inline]
    fn start_call(&mut self, call: Ref) {
        self.begin_attempt(call);
    }

    /// Starts an attempt: circuit breaker, then pool, then dispatch.
    #[inline]
    fn begin_attempt(&mut self, call: Ref) {
        let now = self.now();
        let c = self.calls.get_mut(call).expect("live call");
        c.state = CallState::Active;
        if c.deadline != NEVER && now >= c.deadline {
            return self.final_failure(call, Outcome::Timeout);
        }
        let (edge, caller) = (c.edge, c.caller);
        let attempt = c.attempts;
        let e = &mut self.edges[edge as usize];
        if let Some(b) = &mut e.breaker {
            if !b.allow(now) {
                e.stats.breaker_rejects += 1;
                return self.final_failure(call, Outcome::Failed);
            }
        }
        if let (Some(p), true) = (e.pool, caller.0 != NONE) {
            let pool = &mut self.nodes[caller.0 as usize].reps[caller.1 as usize].pools[p as usize];
            if pool.in_use < pool.size {
                pool.touch(now);
                pool.in_use += 1;
                pool.acquired += 1;
                pool.wait.record(0);
                let c = self.calls.get_mut(call).unwrap();
                c.pooled |= 1 << attempt;
            } else if pool
                .max_waiters
                .is_some_and(|m| pool.waiters.len() as u32 >= m)
            {
                pool.rejected += 1;
                return self.attempt_failed(call, Outcome::Rejected);
            } else {
                pool.waiters.push_back((call, attempt));
                let t = pool.acquire_timeout;
                let c = self.calls.get_mut(call).unwrap();
                c.state = CallState::WaitingPool;
                c.pool_wait |= 1 << attempt;
                c.pool_since = now;
                if let Some(t) = t {
                    self.cal
                        .schedule(now + t, Event::PoolTimeout { call, attempt });
                }
                return;
            }
        }
        self.dispatch(call);
    }

    /// Sends attempt `calls[call].attempts` to a station.
    fn dispatch(&mut self, call: Ref) {
        let now = self.now();
        let c = self.calls.get_mut(call).expect("live call");
        let attempt = c.attempts;
        c.attempts += 1;
        c.outstanding |= 1 << attempt;
        c.state = CallState::Active;
        let (edge, task, attrs, deadline) = (c.edge, c.task, c.attrs, c.deadline);
        let e = &mut self.edges[edge as usize];
        e.stats.attempts += 1;
        let mut timeout_at = NEVER;
        if let Some(t) = e.timeout {
            timeout_at = now + t;
        }
        if deadline != NEVER {
            timeout_at = timeout_at.min(deadline.max(now));
        }
        if timeout_at != NEVER {
            self.cal
                .schedule(timeout_at, Event::AttemptTimeout { call, attempt });
        }
        if let (Some(h), 0) = (e.hedge, attempt) {
            self.cal.schedule(now + h, Event::HedgeFire { call });
        }
        let job_deadline = if e.deadline_prop { timeout_at } else { NEVER };
        let to = e.to;
        let partitioned = e.partitioned;
        let req_bytes = e.req_bytes;
        let mut delay = e.delay(req_bytes);
        let extra_cpu = match e.compress {
            Some((_, cpu)) => (req_bytes * cpu) as Time,
            None => 0,
        };
        let Some((node, rep, lb_delay)) = (if partitioned {
            None
        } else {
            self.route(to, &task, &attrs)
        }) else {
            // No replica reachable: the attempt fails after the hop.
            let job = self
                .jobs
                .insert(|gen| new_job(gen, to, 0, call, attempt, task, attrs, NEVER));
            self.calls.get_mut(call).unwrap().jobs_alive += 1;
            // The job never reaches a station: answer straight away.
            self.respond(job, Outcome::Failed, to);
            self.end_job(job);
            return;
        };
        delay += lb_delay;
        self.span(
            &attrs,
            trace::SpanKind::Network,
            node,
            attempt,
            now,
            now + delay,
            None,
        );
        let job = self.jobs.insert(|gen| {
            let mut j = new_job(gen, node, rep, call, attempt, task, attrs, job_deadline);
            j.extra_cpu = extra_cpu;
            j
        });
        self.calls.get_mut(call).unwrap().jobs_alive += 1;
        if delay == 0 {
            self.arrive(job);
        } else {
            self.cal.schedule(now + delay, Event::Deliver { job });
        }
    }

    /// An attempt's answer reached the caller.
    #[inline]
    fn on_response(&mut self, call: Ref, attempt: u8, outcome: Outcome, from: u32) {
        let Some(edge) = self.close_attempt(call, attempt, outcome == Outcome::Ok) else {
            // A hedge that lost, or an attempt that had timed out.
            self.nodes[from as usize].late += 1;
            return;
        };
        if outcome == Outcome::Ok {
            self.resolve(call, Outcome::Ok);
        } else {
            self.edges[edge].stats.errors += 1;
            self.attempt_failed(call, outcome);
        }
    }

    fn on_attempt_timeout(&mut self, call: Ref, attempt: u8) {
        if let Some(edge) = self.close_attempt(call, attempt, false) {
            self.edges[edge].stats.timeouts += 1;
            self.attempt_failed(call, Outcome::Timeout);
        }
    }

    /// Ends attempt `attempt` of a call (answer or timeout): stops awaiting
    /// it, gives back its pool connection and tells the breaker. Returns the
    /// call's edge, or `None` if the attempt was no longer awaited.
    #[inline]
    fn close_attempt(&mut self, call: Ref, attempt: u8, ok: bool) -> Option<usize> {
        let now = self.now();
        let c = self.calls.get_mut(call)?;
        let bit = 1u32 << attempt;
        if c.resolved || c.outstanding & bit == 0 {
            return None;
        }
        c.outstanding &= !bit;
        let edge = c.edge as usize;
        if c.pooled & bit != 0 {
            self.release_pool(call, attempt);
        }
        if let Some(b) = &mut self.edges[edge].breaker {
            b.record(now, ok);
        }
        Some(edge)
    }

    fn on_hedge(&mut self, call: Ref) {
        let Some(c) = self.calls.get(call) else {
            return;
        };
        if c.resolved || c.outstanding == 0 || c.attempts >= 31 {
            return;
        }
        self.edges[c.edge as usize].stats.hedges += 1;
        self.dispatch(call);
    }

    fn on_pool_timeout(&mut self, call: Ref, attempt: u8) {
        let Some(c) = self.calls.get_mut(call) else {
            return;
        };
        let bit = 1u32 << attempt;
        if c.resolved || c.pool_wait & bit == 0 {
            return;
        }
        c.pool_wait &= !bit;
        let (node, rep) = c.caller;
        let p = self.edges[c.edge as usize].pool.expect("pooled edge");
        let pool = &mut self.nodes[node as usize].reps[rep as usize].pools[p as usize];
        pool.timeouts += 1;
        pool.waiters.retain(|(r, a)| !(*r == call && *a == attempt));
        self.attempt_failed(call, Outcome::Timeout);
    }

    /// Gives back the pool connection attempt `attempt` held, and hands it to
    /// the next live waiter.
    fn release_pool(&mut self, call: Ref, attempt: u8) {
        let now = self.now();
        let Some(c) = self.calls.get_mut(call) else {
            return;
        };
        let bit = 1u32 << attempt;
        if c.pooled & bit == 0 {
            return;
        }
        c.pooled &= !bit;
        let (node, rep) = c.caller;
        let p = self.edges[c.edge as usize].pool.expect("pooled edge");
        let pool = &mut self.nodes[node as usize].reps[rep as usize].pools[p as usize];
        pool.touch(now);
        pool.in_use -= 1;
        self.grant_pool(node, rep, p);
    }

    fn grant_pool(&mut self, node: u32, rep: u32, p: u32) {
        let now = self.now();
        loop {
            let pool = &mut self.nodes[node as usize].reps[rep as usize].pools[p as usize];
            if pool.in_use >= pool.size {
                return;
            }
            let Some((call, attempt)) = pool.waiters.pop_front() else {
                return;
            };
            let Some(c) = self.calls.get_mut(call) else {
                continue;
            };
            let bit = 1u32 << attempt;
            if c.resolved || c.pool_wait & bit == 0 {
                continue;
            }
            c.pool_wait &= !bit;
            c.pooled |= bit;
            let waited = now - c.pool_since;
            let pool = &mut self.nodes[node as usize].reps[rep as usize].pools[p as usize];
            pool.touch(now);
            pool.in_use += 1;
            pool.acquired += 1;
            pool.wait.record(waited);
            if let Some(c) = self.calls.get(call) {
                let attrs = c.attrs;
                self.span(
                    &attrs,
                    trace::SpanKind::PoolWait,
                    node,
                    attempt,
                    now - waited,
                    now,
                    None,
                );
            }
            self.dispatch(call);
        }
    }

    /// An attempt failed: retry, wait for a hedge, or give up.
    fn attempt_failed(&mut self, call: Ref, outcome: Outcome) {
        let now = self.now();
        let c = self.calls.get_mut(call).expect("live call");
        if c.outstanding != 0 || c.pool_wait != 0 {
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
        let e = &mut self.edges[edge as usize];
        if let Some((max, backoff, budget)) = &mut e.retries {
            if used < *max && (deadline == NEVER || now < deadline) {
                if budget.as_mut().is_none_or(|b| b.try_retry(now)) {
                    let d = backoff
                        .as_ref()
                        .map_or(0, |b| b.delay(used + 1, last, &mut e.rng));
                    e.stats.retries += 1;
                    let c = self.calls.get_mut(call).unwrap();
                    c.last_backoff = d;
                    c.retries += 1;
                    c.state = CallState::Backoff;
                    let to = e.to;
                    self.span(
                        &attrs,
                        trace::SpanKind::Backoff,
                        to,
                        attempts,
                        now,
                        now + d,
                        None,
                    );
                    self.cal.schedule(now + d, Event::RetryFire { call });
                    return;
                }
                e.stats.retries_denied += 1;
            }
        }
        self.final_failure(call, outcome);
    }

    /// No more attempts: degrade to the fallback, or fail the call.
    fn final_failure(&mut self, call: Ref, outcome: Outcome) {
        let now = self.now();
        let c = self.calls.get_mut(call).expect("live call");
        let e = &mut self.edges[c.edge as usize];
        if let Some(fb) = &e.fallback {
            e.stats.fallbacks += 1;
            let d = fb.sample(&mut e.rng);
            c.state = CallState::Fallback;
            c.hit = false;
            let (attrs, to, attempts) = (c.attrs, e.to, c.attempts);
            self.span(
                &attrs,
                trace::SpanKind::Fallback,
                to,
                attempts,
                now,
                now + d,
                None,
            );
            if d == 0 {
                self.resolve(call, Outcome::Ok);
            } else {
                self.cal.schedule(now + d, Event::FallbackDone { call });
            }
            return;
        }
        e.stats.failed_calls += 1;
        self.resolve(call, outcome);
    }

    /// The call is over: hand the result to whoever made it.
    fn resolve(&mut self, call: Ref, outcome: Outcome) {
        let now = self.now();
        let c = self.calls.get_mut(call).expect("live call");
        debug_assert!(!c.resolved);
        c.resolved = true;
        let (origin, t0, jobs_alive) = (c.origin, c.t0, c.jobs_alive);
        let (attrs, edge, attempts) = (c.attrs, c.edge, c.attempts);
        // What a parent job learns from the call (read before it may go).
        let result = match origin {
            Origin::Parent(_) => Some((c.task, c.hit, c.version, c.bytes)),
            _ => None,
        };
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
        if attrs.trace.idx != NONE {
            let to = self.edges[edge as usize].to;
            self.span(
                &attrs,
                trace::SpanKind::Call,
                to,
                attempts.saturating_sub(1),
                t0,
                now,
                Some(outcome),
            );
        }
        match origin {
            Origin::Root {
                src,
                measured,
                user,
            } => {
                self.root_done(src, measured, user, now - t0, outcome, false);
                self.trace_end(attrs.trace, outcome);
            }
            Origin::Parent(job) => {
                let (task, hit, version, bytes) = result.expect("a parent's call");
                if self.jobs.get(job).is_some() {
                    self.child_done(job, outcome, task, hit, version, bytes);
                }
            }
            Origin::Consumer { node, consumer } => {
                self.consumer_done(node, consumer, outcome == Outcome::Ok)
            }
        }
    }

    /// `mirrored`: the latency is also the sojourn of the node that
    /// `latency` mirrors (`Mirror`).
    #[inline(always)]
    fn root_done(
        &mut self,
        src: u32,
        measured: bool,
        user: u32,
        lat: Time,
        outcome: Outcome,
        mirrored: bool,
    ) {
        let now = self.now();
        if let Some((limit, _)) = self.slo {
            let good = outcome == Outcome::Ok && lat <= limit;
            self.win_slo_good += good as u64;
            if measured {
                self.slo_counts.1 += 1;
                self.slo_counts.0 += good as u64;
            }
        }
        if outcome == Outcome::Ok && measured && !mirrored {
            if self.soj_pending == Some(lat) {
                // The sojourn `finish` just measured at the mirrored node:
                // this record counts for both.
                self.soj_pending = None;
            } else if self.mirror != Mirror::Off {
                self.unmirror();
            }
        }
        let Body::Source(s) = &mut self.nodes[src as usize].body else {
            unreachable!()
        };
        let (g, l) = (&mut self.e2e, &mut s.e2e.c);
        match outcome {
            Outcome::Ok => {
                g.completed += 1;
                l.completed += 1;
                if measured {
                    self.latency.record(lat);
                    // With one source its histogram is the end-to-end one
                    // (the report reads that); a scenario's sources never
                    // change mid-run (`reconfigure` refuses new nodes).
                    if self.sources.len() > 1 {
                        s.e2e.latency.record(lat);
                    }
                }
                self.win_latency.record(lat);
                self.win_heat[crate::metrics::heat_index(lat)] += 1;
            }
            Outcome::Rejected => {
                g.rejected += 1;
                l.rejected += 1;
            }
            Outcome::Failed => {
                g.failed += 1;
                l.failed += 1;
            }
            Outcome::Timeout => {
                g.failed += 1;
                l.failed += 1;
                g.timed_out += 1;
                l.timed_out += 1;
            }
        }
        if let Arrival::Closed { think, .. } = &s.arrival {
            let t = think.sample(&mut s.rng);
            self.cal.schedule(now + t, Event::UserWake { src, user });
        }
    }

    /// Whether a measured sojourn at node `ni` that equals the end-to-end
    /// latency recorded with it can be kept in `latency` alone: the mirror
    /// is this node's, or starts now (nothing measured anywhere yet).
    #[inline]
    fn mirrors(&mut self, ni: usize) -> bool {
        match self.mirror {
            Mirror::Node(x) => x as usize == ni,
            Mirror::Off => false,
            Mirror::Unset => {
                let start = self.latency.count() == 0 && self.nodes[ni].sojourn.count() == 0;
                if start {
                    self.mirror = Mirror::Node(ni as u32);
                }
                start
            }
        }
    }

    /// Ends the mirror for the run: the mirrored node gets its sojourns so
    /// far in its own histogram.
    #[cold]
    fn unmirror(&mut self) {
        if let Mirror::Node(x) = self.mirror {
            let own = &mut self.nodes[x as usize].sojourn;
            own.add(&self.latency);
            if let Some(v) = self.soj_pending.take() {
                own.record(v);
            }
        }
        debug_assert!(
            self.soj_pending.is_none(),
            "a pending sojourn without a mirror"
        );
        self.mirror = Mirror::Off;
    }

    /// Node `ni`'s sojourn histogram (`latency` while it mirrors the node).
    pub(super) fn sojourn(&self, ni: usize) -> &LatencyHist {
        match self.mirror {
            Mirror::Node(x) if x as usize == ni => &self.latency,
            _ => &self.nodes[ni].sojourn,
        }
    }

    // ----- jobs at stations --------------------------------------------------------

    /// A job reaches its station.
    fn arrive(&mut self, job: Ref) {
        let now = self.now();
        let measured = now >= self.warmup;
        let j = self.jobs.get_mut(job).expect("live job");
        j.t_arrive = now;
        j.measured = measured;
        j.state = JobState::Parked;
        let (ni, ri, client) = (j.node as usize, j.rep as usize, j.attrs.client);
        if matches!(self.nodes[ni].body, Body::Broker(_)) {
            return self.publish(job);
        }
        let node = &mut self.nodes[ni];
        let st = &mut node.reps[ri];
        st.c.arrived += 1;
        if matches!(st.state, RState::Down | RState::Retired | RState::Booting) {
            // Connection refused.
            st.c.rejected += 1;
            return self.refuse(job, Outcome::Failed);
        }
        st.lv.insys_up(now);
        if st.hung {
            return; // the request vanishes until the hang ends
        }
        if let Some(rl) = &mut node.rate {
            let lim = if rl.per_client {
                let k = client as usize;
                if rl.by_client.len() <= k {
                    rl.by_client.resize_with(k + 1, || None);
                }
                rl.by_client[k].get_or_insert_with(|| build::limiter(&rl.spec))
            } else {
                rl.global.get_or_insert_with(|| build::limiter(&rl.spec))
            };
            match lim {
                Limiter::Token(tb) => {
                    if !tb.try_take(now) {
                        rl.limited += 1;
                        return self.shed(job);
                    }
                }
                Limiter::Leaky(lb) => match lb.admit(now) {
                    None => {
                        rl.limited += 1;
                        return self.shed(job);
                    }
                    Some(0) => {}
                    Some(d) => {
                        self.cal.schedule(now + d, Event::Admit { job });
                        return;
                    }
                },
            }
        }
        if let Some(m) = node.max_in_flight {
            if st.lv.insys() > m as u64 {
                return self.shed(job);
            }
        }
        if self.nodes[ni].memory.is_some() && self.check_memory(ni, ri) {
            return;
        }
        self.admit(job);
    }

    /// Past the door: start, queue, or reject (full queue).
    #[inline(always)]
    fn admit(&mut self, job: Ref) {
        let j = self.jobs.get_mut(job).expect("live job");
        let (ni, ri) = (j.node as usize, j.rep as usize);
        let cap = queue_capacity(&self.nodes[ni]);
        let node = &mut self.nodes[ni];
        let st = &mut node.reps[ri];
        if st.state != RState::Up && st.state != RState::Draining {
            return self.kill_job(job);
        }
        if st.lv.busy() < st.workers && st.queue.is_empty() {
            return self.start(job);
        }
        let now = self.cal.now();
        if cap.is_some_and(|cap| st.queue.len() as u64 >= cap) {
            st.lv.insys_down(now);
            st.c.rejected += 1;
            return self.refuse(job, Outcome::Rejected);
        }
        st.queue.push_back(job);
        st.lv.queue_up(now);
        j.state = JobState::Queued;
    }

    /// Turned away after entering (rate limit, concurrency limit).
    fn shed(&mut self, job: Ref) {
        let now = self.now();
        let j = self.jobs.get(job).unwrap();
        let st = &mut self.nodes[j.node as usize].reps[j.rep as usize];
        st.lv.insys_down(now);
        st.c.rejected += 1;
        self.refuse(job, Outcome::Rejected);
    }

    /// Answers a job that never ran, and ends it.
    fn refuse(&mut self, job: Ref, outcome: Outcome) {
        let ni = self.jobs.get(job).unwrap().node;
        self.respond(job, outcome, ni);
        self.end_job(job);
    }

    /// Gives the job a worker.
    fn start(&mut self, job: Ref) {
        let now = self.now();
        let j = self.jobs.get_mut(job).expect("live job");
        let node = &mut self.nodes[j.node as usize];
        let st = &mut node.reps[j.rep as usize];
        st.lv.busy_up(now);
        j.state = JobState::Running;
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
            if j.attrs.trace.idx != NONE {
                let (attrs, ni, attempt, t_arrive) = (j.attrs, j.node, j.attempt, j.t_arrive);
                self.span(
                    &attrs,
                    trace::SpanKind::Queue,
                    ni,
                    attempt,
                    t_arrive,
                    now,
                    None,
                );
            }
            if expired {
                return self.finish(job, Outcome::Timeout);
            }
        }
        let j = self.jobs.get_mut(job).unwrap();
        match std::mem::replace(&mut j.resume, Resume::No) {
            Resume::No | Resume::Advance => {
                // Express lane: a service step that computes is what
                // `advance` + `run_program` would run first.
                if let (true, Task::Handler { endpoint }, Body::Service(s)) =
                    (self.express, j.task, &mut self.nodes[j.node as usize].body)
                {
                    if let Some(Op::Compute { dist, rng }) =
                        s.programs[endpoint as usize].get_mut(j.ip as usize)
                    {
                        let d = dist.sample(rng);
                        j.ip += 1;
                        return self.compute(job, d);
                    }
                }
                self.advance(job)
            }
            Resume::Fail => self.finish(job, Outcome::Failed),
        }
    }

    /// Runs the job's next step.
    fn advance(&mut self, job: Ref) {
        let ni = self.jobs.get(job).expect("live job").node as usize;
        match &self.nodes[ni].body {
            Body::Service(_) => self.run_program(job),
            Body::Database(_) => self.db_step(job),
            Body::Cache(_) => self.cache_step(job),
            Body::Source(_) | Body::Broker(_) | Body::Balancer(_) => {
                unreachable!("no jobs run here")
            }
        }
    }

    /// Schedules a compute of `d` ns on the job's worker, scaled by the
    /// station's slowdown, stolen CPU and contention.
    #[inline]
    fn compute(&mut self, job: Ref, d: Time) {
        let now = self.now();
        let j = self.jobs.get_mut(job).unwrap();
        let extra = std::mem::take(&mut j.extra_cpu);
        let node = &self.nodes[j.node as usize];
        let st = &node.reps[j.rep as usize];
        let d = d + extra;
        // Unslowed, unstolen and uncontended, the factor below is exactly 1.
        debug_assert!(
            !st.plain || (st.slow == 1.0 && st.steal == 0.0 && node.contention.is_none()),
            "stale plain flag: a change missed `refresh_express`"
        );
        let d = if st.plain {
            d
        } else {
            let mut f = st.slow / (1.0 - st.steal);
            if let Some((cores, penalty)) = node.contention {
                let busy = st.lv.busy() as f64;
                let c = cores as f64;
                if busy > c {
                    f *= (busy / c) * (1.0 + penalty * (busy - c));
                }
            }
            if f == 1.0 {
                d
            } else {
                (d as f64 * f) as Time
            }
        };
        if j.attrs.trace.idx != NONE {
            let (attrs, ni, attempt) = (j.attrs, j.node, j.attempt);
            self.span(
                &attrs,
                trace::SpanKind::Compute,
                ni,
                attempt,
                now,
                now + d,
                None,
            );
        }
        self.cal.schedule(now + d, Event::ComputeDone { job });
    }

    fn run_program(&mut self, job: Ref) {
        loop {
            let now = self.now();
            let j = self.jobs.get_mut(job).expect("live job");
            let (ni, ri) = (j.node as usize, j.rep as usize);
            let endpoint = match j.task {
                Task::Handler { endpoint } => endpoint as usize,
                _ => 0,
            };
            let ip = j.ip as usize;
            let Body::Service(s) = &mut self.nodes[ni].body else {
                unreachable!()
            };
            let Some(op) = s.programs[endpoint].get_mut(ip) else {
                let node = &mut self.nodes[ni];
                let p = node.error_rate + node.reps[ri].err_p;
                let failed = p > 0.0 && node.err_rng.random::<f64>() < p;
                return self.finish(job, if failed { Outcome::Failed } else { Outcome::Ok });
            };
            match op {
                Op::Compute { dist, rng } => {
                    let d = dist.sample(rng);
                    j.ip += 1;
                    return self.compute(job, d);
                }
                Op::Call {
                    edge,
                    count,
                    parallel,
                    release,
                } => {
                    let (edge, parallel, release) = (*edge, *parallel, *release);
                    if j.seq_left == 0 {
                        let n = sample_count(count, j.attrs.items, &[], now);
                        if n == 0 {
                            j.ip += 1;
                            continue;
                        }
                        if parallel {
                            j.pending = n;
                            j.ip += 1;
                            for _ in 0..n {
                                self.spawn(job, edge);
                            }
                            if release {
                                self.release_worker(job);
                            }
                            return;
                        }
                        j.seq_left = n;
                    }
                    j.seq_left -= 1;
                    if j.seq_left == 0 {
                        j.ip += 1;
                    }
                    j.pending = 1;
                    self.spawn(job, edge);
                    if release {
                        self.release_worker(job);
                    }
                    return;
                }
                Op::Fork { edges, release } => {
                    let (edges, release) = (edges.clone(), *release);
                    j.pending = edges.len() as u32;
                    j.ip += 1;
                    for e in edges {
                        self.spawn(job, e);
                    }
                    if release {
                        self.release_worker(job);
                    }
                    return;
                }
                Op::CacheGet {
                    edge,
                    key,
                    miss_end: _,
                    single_flight,
                    versioned,
                    release,
                } => {
                    let (edge, sf, versioned, release) =
                        (*edge, *single_flight, *versioned, *release);
                    let k = key.sample(j.attrs.user);
                    let space = key.space;
                    j.space = space;
                    j.key = k;
                    let v = self.spaces[space as usize].version(k);
                    let j = self.jobs.get_mut(job).unwrap();
                    j.version = v;
                    let ckey = cache_key(space, k, if versioned { Some(v) } else { None });
                    let cnode = self.edges[edge as usize].to as usize;
                    if sf {
                        if let Body::Cache(c) = &mut self.nodes[cnode].body {
                            if let Some(waiters) = c.inflight.get_mut(&ckey) {
                                c.coalesced += 1;
                                waiters.push(job);
                                let j = self.jobs.get_mut(job).unwrap();
                                j.pending = 1;
                                if release {
                                    self.release_worker(job);
                                }
                                return;
                            }
                        }
                    }
                    let j = self.jobs.get_mut(job).unwrap();
                    j.pending = 1;
                    let c = self.spawn(job, edge);
                    if let Some(c) = self.calls.get_mut(c) {
                        c.task = Task::CacheGet { ckey };
                    }
                    if release {
                        self.release_worker(job);
                    }
                    return;
                }
                Op::CachePut {
                    edge,
                    size,
                    versioned,
                    release,
                } => {
                    let (edge, size, versioned, release) = (*edge, *size, *versioned, *release);
                    j.ip += 1;
                    // The value stored is the one read after the lookup: its
                    // version is the one current at lookup time. A write in
                    // between makes this fill stale (the cache-aside race).
                    let (space, k, v) = (j.space, j.key, j.version);
                    let ckey = cache_key(space, k, if versioned { Some(v) } else { None });
                    j.pending = 1;
                    let c = self.spawn(job, edge);
                    if let Some(c) = self.calls.get_mut(c) {
                        c.task = Task::CacheSet {
                            ckey,
                            size,
                            version: v,
                        };
                    }
                    if release {
                        self.release_worker(job);
                    }
                    return;
                }
                Op::Write {
                    key,
                    cache,
                    invalidate,
                } => {
                    let k = key.sample(j.attrs.user);
                    let space = key.space;
                    let (cache, invalidate) = (*cache, *invalidate);
                    j.ip += 1;
                    let sp = &mut self.spaces[space as usize];
                    let e = sp.versions.entry(k).or_insert((0, now));
                    let old = e.0;
                    e.0 += 1;
                    e.1 = now;
                    if cache != NONE && invalidate == Invalidate::Delete {
                        if let Body::Cache(c) = &mut self.nodes[cache as usize].body {
                            c.store.delete(cache_key(space, k, None));
                            c.store.delete(cache_key(space, k, Some(old)));
                        }
                    }
                    continue;
                }
                Op::RepeatBegin { count, end } => {
                    let n = sample_count(count, j.attrs.items, &[], now);
                    if n == 0 {
                        j.ip = *end + 1;
                    } else {
                        j.loops[j.depth as usize] = n;
                        j.depth += 1;
                        j.ip += 1;
                    }
                    continue;
                }
                Op::RepeatEnd { begin } => {
                    let d = j.depth as usize - 1;
                    j.loops[d] -= 1;
                    if j.loops[d] > 0 {
                        j.ip = *begin + 1;
                    } else {
                        j.depth -= 1;
                        j.ip += 1;
                    }
                    continue;
                }
                Op::LockAcquire { lock, key } => {
                    let lock = *lock;
                    let k = key.as_mut().map_or(0, |k| k.sample(j.attrs.user));
                    j.ip += 1;
                    let n = j.nlocks as usize;
                    j.locks[n] = (lock, k);
                    j.nlocks += 1;
                    j.lock_since = now;
                    let ls = &mut self.locks[lock as usize];
                    ls.acquired += 1;
                    let q = ls.held.entry(k).or_default();
                    q.push_back(job);
                    if q.len() == 1 {
                        self.nodes[ni].lock_wait.record(0);
                        continue;
                    }
                    ls.contended += 1;
                    return; // waits holding its worker
                }
                Op::LockRelease { lock } => {
                    let lock = *lock;
                    j.ip += 1;
                    self.release_lock(job, lock);
                    continue;
                }
                Op::Choose { cum, targets, rng } => {
                    let u: f64 = rng.random();
                    let i = cum.iter().position(|c| u < *c).unwrap_or(cum.len() - 1);
                    j.ip = targets[i];
                    continue;
                }
                Op::Jump { to } => {
                    j.ip = *to;
                    continue;
                }
            }
        }
    }

    /// Creates a child call of `job` along `edge` and starts it.
    fn spawn(&mut self, job: Ref, edge: u32) -> Ref {
        let j = self.jobs.get(job).unwrap();
        let (mut attrs, deadline, caller) = (j.attrs, j.deadline, (j.node, j.rep));
        attrs.depth = attrs.depth.saturating_add(1);
        let task = self.edge_task(edge, &attrs);
        let call = self.new_call(edge, Origin::Parent(job), task, attrs, deadline, caller);
        self.start_call(call);
        call
    }

    /// Event loop: the job stops holding its worker while it waits.
    fn release_worker(&mut self, job: Ref) {
        let now = self.now();
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        if j.state != JobState::Running {
            return;
        }
        j.state = JobState::Parked;
        let (ni, ri) = (j.node as usize, j.rep as usize);
        let st = &mut self.nodes[ni].reps[ri];
        st.lv.busy_down(now);
        self.drain_queue(ni, ri);
    }

    /// A child call of `job` ended.
    fn child_done(
        &mut self,
        job: Ref,
        outcome: Outcome,
        task: Task,
        hit: bool,
        version: u32,
        bytes: f64,
    ) {
        let j = self.jobs.get_mut(job).unwrap();
        j.pending = j.pending.saturating_sub(1);
        if outcome != Outcome::Ok {
            j.failed = true;
        }
        j.mem_mb += bytes / 1e6;
        if j.pending > 0 {
            return;
        }
        let ni = j.node as usize;
        // Cache lookups decide hit/miss here, at the op that issued them; a
        // failed lookup (cache down) counts as a miss and falls through to
        // the source of truth.
        if matches!(task, Task::CacheGet { .. }) {
            if let Body::Service(s) = &self.nodes[ni].body {
                let endpoint = match j.task {
                    Task::Handler { endpoint } => endpoint as usize,
                    _ => 0,
                };
                if let Some(Op::CacheGet {
                    edge,
                    miss_end,
                    single_flight,
                    versioned,
                    ..
                }) = s.programs[endpoint].get(j.ip as usize)
                {
                    let (edge, miss_end, sf, versioned) =
                        (*edge, *miss_end, *single_flight, *versioned);
                    let cnode = self.edges[edge as usize].to as usize;
                    let (space, k) = (j.space, j.key);
                    let truth = self.spaces[space as usize].version(k);
                    if outcome != Outcome::Ok {
                        j.failed = false;
                    }
                    if hit && outcome == Outcome::Ok {
                        j.ip = miss_end;
                        if let Body::Cache(c) = &mut self.nodes[cnode].body {
                            c.hits += 1;
                            if version < truth {
                                c.stale += 1;
                            }
                        }
                    } else if let Body::Cache(c) = &mut self.nodes[cnode].body {
                        c.misses += 1;
                        let ckey =
                            cache_key(space, k, if versioned { Some(j.version) } else { None });
                        match (sf, c.inflight.get_mut(&ckey)) {
                            (true, Some(waiters)) => {
                                // Another request is already filling this key
                                // (its lookup missed first): wait for it.
                                c.coalesced += 1;
                                waiters.push(job);
                                j.pending = 1;
                                return;
                            }
                            (true, None) => {
                                c.inflight.insert(ckey, Vec::new());
                                j.sf = Some((cnode as u32, ckey));
                                j.ip += 1;
                            }
                            (false, _) => j.ip += 1,
                        }
                    } else {
                        j.ip += 1;
                    }
                }
            }
        }
        let failed = std::mem::replace(&mut j.failed, false);
        // Single-flight fill completed: wake the waiters as hits.
        if !failed && j.sf.is_some() && matches!(task, Task::CacheSet { .. }) {
            self.finish_fill(job);
        }
        let j = self.jobs.get_mut(job).unwrap();
        match (j.state, failed) {
            (JobState::Running, false) => self.advance(job),
            (JobState::Running, true) => self.finish(job, Outcome::Failed),
            (_, f) => {
                // Parked on an event loop: queue the continuation.
                j.resume = if f { Resume::Fail } else { Resume::Advance };
                self.requeue(job);
            }
        }
    }

    /// An event-loop continuation waits for a worker again.
    fn requeue(&mut self, job: Ref) {
        let now = self.now();
        let j = self.jobs.get_mut(job).unwrap();
        let (ni, ri) = (j.node as usize, j.rep as usize);
        let st = &mut self.nodes[ni].reps[ri];
        if st.lv.busy() < st.workers && st.queue.is_empty() {
            return self.start(job);
        }
        st.queue.push_back(job);
        st.lv.queue_up(now);
        j.state = JobState::Queued;
    }

    /// The job is done (or failed): free its worker and its locks, start the
    /// next queued job, then answer.
    fn finish(&mut self, job: Ref, outcome: Outcome) {
        if outcome == Outcome::Ok && self.express && self.express_finish(job) {
            return;
        }
        let now = self.now();
        self.call_of(job);
        let j = self.jobs.get(job).expect("live job");
        let (ni, ri, call, measured, t_arrive, state) = (
            j.node as usize,
            j.rep as usize,
            j.call,
            j.measured,
            j.t_arrive,
            j.state,
        );
        let nlocks = j.nlocks as usize;
        if j.attrs.trace.idx != NONE {
            let (attrs, attempt) = (j.attrs, j.attempt);
            self.span(
                &attrs,
                trace::SpanKind::Job,
                ni as u32,
                attempt,
                t_arrive,
                now,
                Some(outcome),
            );
        }
        if nlocks > 0 {
            let locks = self.jobs.get(job).unwrap().locks;
            for &(lock, _) in locks.iter().take(nlocks).rev() {
                self.release_lock(job, lock);
            }
        }
        if self.jobs.get(job).unwrap().sf.is_some() {
            self.abort_fill(job);
        }
        let node = &mut self.nodes[ni];
        let st = &mut node.reps[ri];
        match state {
            JobState::Running => st.lv.busy_down(now),
            JobState::Queued => {
                st.queue.retain(|r| *r != job);
                st.lv.queue_down(now);
            }
            JobState::Parked | JobState::Transit => {}
        }
        st.lv.insys_down(now);
        match outcome {
            Outcome::Ok => st.c.completed += 1,
            _ => st.c.failed += 1,
        }
        if measured {
            let v = now - t_arrive;
            if self.express && self.soj_pending.is_none() && self.mirrors(ni) {
                // `root_done` takes it if the answer below records the same
                // latency at once (`Mirror`).
                self.soj_pending = Some(v);
            } else {
                if self.mirror == Mirror::Node(ni as u32) {
                    self.unmirror();
                }
                self.nodes[ni].sojourn.record(v);
            }
        }
        let node = &mut self.nodes[ni];
        // Side effects: each successful execution of a state-changing call.
        if outcome == Outcome::Ok {
            if let Some(c) = self.calls.get_mut(call) {
                let e = &self.edges[c.edge as usize];
                if e.side_effect {
                    if c.applied > 0 && e.idempotent {
                        // Deduplicated by the idempotency key.
                    } else {
                        c.applied += 1;
                        node.side_effects += 1;
                        if c.applied > 1 {
                            node.duplicates += 1;
                        }
                    }
                }
            }
        }
        self.drain_queue(ni, ri);
        self.respond(job, outcome, ni as u32);
        if self.soj_pending.is_some() {
            // Not answered at once with that latency: the node keeps its own.
            self.unmirror();
        }
        self.end_job(job);
        if self.nodes[ni].reps[ri].state == RState::Draining {
            self.maybe_finish_drain(ni, ri);
        }
    }

    /// The express lane of a successful job that answers a root request
    /// over a plain edge (no hop latency, breaker or side effect; untraced,
    /// no locks, no single-flight fill, the call's only job): exactly what
    /// `finish` + `respond` + `on_response` + `resolve` + `end_job` do
    /// there, in one step. Returns false without touching anything otherwise.
    #[inline]
    fn express_finish(&mut self, job: Ref) -> bool {
        let now = self.now();
        let Some(j) = self.jobs.get(job) else {
            return false;
        };
        let (ni, ri, call, measured, t_arrive, attempt) = (
            j.node as usize,
            j.rep as usize,
            j.call,
            j.measured,
            j.t_arrive,
            j.attempt,
        );
        if j.attrs.trace.idx != NONE
            || j.nlocks != 0
            || j.sf.is_some()
            || j.state != JobState::Running
        {
            return false;
        }
        // The request: from its call, or from the job while the call is
        // deferred (`call_of`).
        let bit = 1u32 << attempt;
        let deferred = j.call_deferred();
        let (src, c_measured, user, t0, edge) = if deferred {
            let r = j.root;
            (r.src, r.measured, r.user, r.t0, r.edge)
        } else {
            let Some(c) = self.calls.get(call) else {
                return false;
            };
            let Origin::Root {
                src,
                measured: c_measured,
                user,
            } = c.origin
            else {
                return false;
            };
            if c.resolved
                || c.outstanding != bit
                || c.pooled != 0
                || c.jobs_alive != 1
                || c.bytes != 0.0
            {
                return false;
            }
            (src, c_measured, user, c.t0, c.edge)
        };
        if !self.edges[edge as usize].express_out {
            return false;
        }
        // finish: free the worker, count, record the sojourn (in `latency`
        // alone while it mirrors this node's: `Mirror`).
        let mirrored = measured && c_measured && t0 == t_arrive && self.mirrors(ni);
        if measured && !mirrored {
            if self.mirror == Mirror::Node(ni as u32) {
                self.unmirror();
            }
            self.nodes[ni].sojourn.record(now - t_arrive);
        }
        let st = &mut self.nodes[ni].reps[ri];
        st.lv.busy_down(now);
        st.lv.insys_down(now);
        st.c.completed += 1;
        self.drain_queue(ni, ri);
        // respond + on_response + resolve: the answer arrives at once. The
        // jobs just started cannot have touched this call (it has no timer,
        // hedge or other job), which the debug build checks.
        if !deferred {
            let c = self.calls.get_mut(call).expect("live call");
            debug_assert!(!c.resolved && c.outstanding == bit && c.jobs_alive == 1);
            c.outstanding = 0;
            c.resolved = true;
            c.pool_wait = 0;
        }
        self.root_done(src, c_measured, user, now - t0, Outcome::Ok, mirrored);
        // end_job
        self.jobs.remove(job);
        if !deferred {
            self.calls.remove(call);
        }
        if self.nodes[ni].reps[ri].state == RState::Draining {
            self.maybe_finish_drain(ni, ri);
        }
        true
    }

    /// Frees a job's slot; frees its call once resolved and jobless.
    #[inline]
    fn end_job(&mut self, job: Ref) {
        let call = self.call_of(job);
        self.jobs.remove(job);
        if let Some(c) = self.calls.get_mut(call) {
            c.jobs_alive -= 1;
            if c.resolved && c.jobs_alive == 0 {
                self.calls.remove(call);
            }
        }
    }

    /// Starts queued jobs while workers are free.
    #[inline(always)]
    fn drain_queue(&mut self, ni: usize, ri: usize) {
        let lifo = queue_lifo(&self.nodes[ni]);
        loop {
            let st = &mut self.nodes[ni].reps[ri];
            if st.lv.busy() >= st.workers || !matches!(st.state, RState::Up | RState::Draining) {
                return;
            }
            let next = if lifo {
                st.queue.pop_back()
            } else {
                st.queue.pop_front()
            };
            let Some(next) = next else { return };
            st.lv.queue_down(self.cal.now());
            self.start(next);
        }
    }

    /// Sends a job's answer back to its call's caller.
    fn respond(&mut self, job: Ref, outcome: Outcome, from: u32) {
        let now = self.now();
        self.call_of(job);
        let j = self.jobs.get(job).unwrap();
        let (call, attempt, trace, depth) = (j.call, j.attempt, j.attrs.trace, j.attrs.depth);
        let Some(c) = self.calls.get(call) else {
            self.nodes[from as usize].late += 1;
            return;
        };
        if c.resolved || c.outstanding & (1 << attempt) == 0 {
            // The caller gave up already: wasted work.
            self.nodes[from as usize].late += 1;
            return;
        }
        let e = &mut self.edges[c.edge as usize];
        let bytes = e.resp_bytes + c.bytes;
        let d = e.delay(bytes);
        if trace.idx != NONE {
            // A span reads only the trace and the depth.
            let attrs = Attrs {
                trace,
                depth,
                ..Attrs::default()
            };
            self.span(
                &attrs,
                trace::SpanKind::Network,
                from,
                attempt,
                now,
                now + d,
                None,
            );
        }
        if d == 0 {
            self.on_response(call, attempt, outcome, from);
        } else {
            self.cal.schedule(
                now + d,
                Event::Respond {
                    call,
                    attempt,
                    outcome,
                    from,
                },
            );
        }
    }

    /// Routes a call to `to`: a (node, replica) and any balancer latency.
    fn route(&mut self, to: u32, task: &Task, attrs: &Attrs) -> Option<(u32, u32, Time)> {
        let now = self.now();
        let ti = to as usize;
        match &mut self.nodes[ti].body {
            Body::Balancer(lb) => {
                let d = lb.latency.as_ref().map_or(0, |l| l.sample(&mut lb.rng));
                let detect = lb.detect;
                let backends = lb.backends.clone();
                lb.routed += 1;
                let mut cands: Vec<(u32, u32, u64)> = Vec::new();
                for b in backends {
                    for (r, st) in self.nodes[b as usize].reps.iter().enumerate() {
                        let visible = match st.state {
                            RState::Up => true,
                            RState::Booting | RState::Retired => false,
                            RState::Draining => detect.is_none(),
                            RState::Down => match detect {
                                None => true,
                                Some(_) if st.drained => false,
                                Some(dt) => now < st.down_since + dt,
                            },
                        };
                        if visible {
                            cands.push((b, r as u32, st.lv.insys()));
                        }
                    }
                }
                let pick = pick(&mut self.nodes[ti].balancer, &cands, attrs.user)?;
                let (n, r) = (pick.0, pick.1);
                let st = &self.nodes[n as usize].reps[r as usize];
                if !matches!(st.state, RState::Up) {
                    if let Body::Balancer(lb) = &mut self.nodes[ti].body {
                        lb.to_dead += 1;
                    }
                }
                Some((n, r, d))
            }
            Body::Database(db) => {
                let (write, key) = match task {
                    Task::Query { write, key, .. } => (*write, *key),
                    _ => (true, None),
                };
                let shard = key.map_or(0, |(_, k)| (k % db.shards as u64) as u32);
                if !write && db.reads == ReadRouting::Replicas && db.replicas > 0 {
                    let (base, n) = (db.shards, db.replicas);
                    let start = db.rr;
                    db.rr = db.rr.wrapping_add(1);
                    let node = &self.nodes[ti];
                    for k in 0..n {
                        let r = base + start.wrapping_add(k) % n;
                        if node.reps[r as usize].state == RState::Up {
                            return Some((to, r, 0));
                        }
                    }
                }
                Some((to, shard, 0))
            }
            Body::Broker(_) => Some((to, 0, 0)),
            Body::Cache(_) | Body::Service(_) => {
                let n = self.nodes[ti].reps.len();
                if n == 1 {
                    return Some((to, 0, 0));
                }
                let cands: Vec<(u32, u32, u64)> = self.nodes[ti]
                    .reps
                    .iter()
                    .enumerate()
                    .filter(|(_, st)| st.state == RState::Up)
                    .map(|(r, st)| (to, r as u32, st.lv.insys()))
                    .collect();
                if cands.is_empty() {
                    // Nothing up: the request hits a dead replica.
                    let r = self.nodes[ti]
                        .reps
                        .iter()
                        .position(|s| s.state != RState::Retired)
                        .unwrap_or(0);
                    return Some((to, r as u32, 0));
                }
                let p = pick(&mut self.nodes[ti].balancer, &cands, attrs.user)?;
                Some((p.0, p.1, 0))
            }
            Body::Source(_) => None,
        }
    }

    fn release_lock(&mut self, job: Ref, lock: u32) {
        let now = self.now();
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        let n = j.nlocks as usize;
        let Some(pos) = j.locks[..n].iter().rposition(|(l, _)| *l == lock) else {
            return;
        };
        let k = j.locks[pos].1;
        j.locks.copy_within(pos + 1..n, pos);
        j.nlocks -= 1;
        let ls = &mut self.locks[lock as usize];
        let Some(q) = ls.held.get_mut(&k) else { return };
        let was_holder = q.front() == Some(&job);
        q.retain(|r| *r != job);
        if !was_holder {
            return;
        }
        // Grant to the next live waiter.
        while let Some(&next) = q.front() {
            if self.jobs.get(next).is_some() {
                break;
            }
            q.pop_front();
        }
        let next = q.front().copied();
        if q.is_empty() {
            ls.held.remove(&k);
        }
        if let Some(next) = next {
            let j = self.jobs.get(next).unwrap();
            let waited = now - j.lock_since;
            self.nodes[j.node as usize].lock_wait.record(waited);
            let (attrs, ni, attempt, running) =
                (j.attrs, j.node, j.attempt, j.state == JobState::Running);
            self.span(
                &attrs,
                trace::SpanKind::LockWait,
                ni,
                attempt,
                now - waited,
                now,
                None,
            );
            if running {
                self.advance(next);
            }
        }
    }
}

fn new_job(
    gen: u32,
    node: u32,
    rep: u32,
    call: Ref,
    attempt: u8,
    task: Task,
    attrs: Attrs,
    deadline: Time,
) -> Job {
    Job {
        gen,
        live: true,
        node,
        rep,
        call,
        attempt,
        task,
        attrs,
        state: JobState::Transit,
        started: false,
        measured: false,
        t_arrive: 0,
        deadline,
        ip: 0,
        pending: 0,
        seq_left: 0,
        failed: false,
        resume: Resume::No,
        loops: [0; 4],
        depth: 0,
        space: NONE,
        key: 0,
        version: 0,
        sf: None,
        locks: [(NONE, 0); 2],
        nlocks: 0,
        lock_since: 0,
        mem_mb: 0.0,
        extra_cpu: 0,
        root: DeferredRoot::default(),
    }
}

fn queue_capacity(node: &Node) -> Option<u64> {
    node.queue_cap
}

/// The station's own part of [`Station::plain`].
fn station_plain(st: &Station) -> bool {
    st.err_p == 0.0 && st.slow == 1.0 && st.steal == 0.0 && !st.hung
}

fn queue_lifo(node: &Node) -> bool {
    node.lifo
}

/// The cache key of `(space, key)`, or of `(space, key, version)` with
/// versioned keys.
fn cache_key(space: u32, key: u64, version: Option<u32>) -> u64 {
    let base = crate::rng::mix64(((space as u64) << 48) ^ key);
    match version {
        Some(v) => crate::rng::mix64(base ^ ((v as u64 + 1) << 20)),
        None => base,
    }
}

/// Picks a candidate `(node, replica, in_flight)` by the balancer's policy.
fn pick(b: &mut Balancer, cands: &[(u32, u32, u64)], user: u64) -> Option<(u32, u32)> {
    if cands.is_empty() {
        return None;
    }
    let n = cands.len() as u32;
    let i = match b.policy {
        Balance::RoundRobin => {
            b.rr = b.rr.wrapping_add(1);
            (b.rr % n) as usize
        }
        Balance::Random => b.rng.random_range(0..n) as usize,
        Balance::LeastConnections => {
            // Ties go to the first candidate in order after the last pick.
            b.rr = b.rr.wrapping_add(1);
            let start = (b.rr % n) as usize;
            (0..cands.len())
                .map(|k| (start + k) % cands.len())
                .min_by_key(|&i| cands[i].2)
                .unwrap()
        }
        Balance::PowerOfTwo => {
            let a = b.rng.random_range(0..n) as usize;
            let c = b.rng.random_range(0..n) as usize;
            if cands[c].2 < cands[a].2 {
                c
            } else {
                a
            }
        }
        Balance::Sticky => {
            if let Some(&(nn, r)) = b.sticky.get(&user) {
                if cands.iter().any(|c| c.0 == nn && c.1 == r) {
                    return Some((nn, r));
                }
                // The pinned replica is gone: the session moves.
            }
            b.rr = b.rr.wrapping_add(1);
            let i = (b.rr % n) as usize;
            b.sticky.insert(user, (cands[i].0, cands[i].1));
            i
        }
    };
    Some((cands[i].0, cands[i].1))
}

/// Draws a count.
fn sample_count(c: &mut CountSrc, items: u32, tables: &[f64], _now: Time) -> u32 {
    match &c.kind {
        CountKind::Constant(n) => *n,
        CountKind::Uniform(lo, hi) => c.rng.random_range(*lo..=*hi),
        CountKind::Poisson(p) => p.sample(&mut c.rng) as u32,
        CountKind::Geometric(mean) => {
            // Number of failures before a success with p = 1 / (1 + mean).
            let p = 1.0 / (1.0 + mean);
            let u: f64 = c.rng.random();
            (libm::log(1.0 - u) / libm::log(1.0 - p)).floor() as u32
        }
        CountKind::Items { plus, times } => {
            (items as i64 * *times as i64 + *plus as i64).max(0) as u32
        }
        CountKind::Table { table, fraction } => {
            let rows = tables.get(*table as usize).copied().unwrap_or(0.0);
            (rows * fraction).round().min(u32::MAX as f64) as u32
        }
    }
}

/// The rate of a schedule at time `t` (requests/s).
fn schedule_rate(points: &[(Time, f64)], shape: crate::scenario::Shape, t: Time) -> f64 {
    let k = points.partition_point(|p| p.0 <= t);
    if k == 0 {
        return points[0].1;
    }
    let (t0, r0) = points[k - 1];
    match (shape, points.get(k)) {
        (crate::scenario::Shape::Linear, Some(&(t1, r1))) => {
            let f = (t - t0) as f64 / (t1 - t0) as f64;
            r0 + (r1 - r0) * f
        }
        _ => r0,
    }
}

/// The time of the next open-loop arrival after `now`, or `None` if the
/// source never fires again. `spike` multiplies the rate.
fn next_arrival(a: &Arrival, spike: f64, rng: &mut Stream, now: Time) -> Option<Time> {
    match a {
        Arrival::Poisson { exp, rate } => {
            if spike == 1.0 {
                Some(now + (exp.sample(rng) + 0.5) as Time)
            } else {
                let e = Exp::new(rate * spike / 1e9).ok()?;
                Some(now + (e.sample(rng) + 0.5) as Time)
            }
        }
        Arrival::Constant { rate } => Some(now + secs_to_ns(1.0 / (rate * spike)).max(1)),
        Arrival::Schedule {
            points,
            shape,
            poisson,
            max_rate,
        } => {
            let max_rate = max_rate * spike;
            if *poisson {
                // Thinning (Lewis & Shedler): candidates at the peak rate,
                // each kept with probability rate(t) / peak.
                let exp = Exp::new(max_rate / 1e9).ok()?;
                let mut t = now;
                for _ in 0..10_000_000 {
                    t += (exp.sample(rng) + 0.5) as Time;
                    let r = schedule_rate(points, *shape, t) * spike;
                    if rng.random::<f64>() * max_rate < r {
                        return Some(t);
                    }
                    if r == 0.0 && points.last().is_some_and(|p| p.0 <= t) {
                        return None;
                    }
                }
                None
            } else {
                let mut t = now;
                loop {
                    let r = schedule_rate(points, *shape, t) * spike;
                    if r > 0.0 {
                        return Some(t + secs_to_ns(1.0 / r).max(1));
                    }
                    let k = points.partition_point(|p| p.0 <= t);
                    t = points.get(k)?.0;
                }
            }
        }
        Arrival::Closed { .. } => None,
    }
}

#[cfg(test)]
mod tests;
