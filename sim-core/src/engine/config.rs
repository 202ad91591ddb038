//! The configuration of a running simulation: what the scenario says, after
//! lowering to indexed nodes, edges and flat handler programs.
//!
//! Configuration is immutable. It holds no counters, queues or random
//! stream positions (those are state, owned by the modules that change
//! them); a live reconfiguration builds a new configuration and swaps it
//! whole (`reconfig.rs`). Every field here is plain data, so it is public
//! within the engine: there is no invariant to guard beyond what `build`
//! establishes.

use super::streams::{StreamId, StreamNames};
use crate::cache::KeySampler;
use crate::calendar::{Time, LANES};
use crate::dist::Dist;
use crate::resilience::{Backoff, BreakerSpec, RetryBudgetSpec};
use crate::scenario::{NodeKind, Scenario, Shape};
use crate::spec::{
    AutoscaleSpec, Balance, CallPolicy, CostSpec, Invalidate, MemorySpec, Overflow, PartitionMode,
    QueryKind, RateLimitSpec, ReadRouting,
};

/// Unlimited concurrency is modelled as this many workers.
pub(crate) const UNLIMITED: u32 = 1_000_000;

#[derive(Clone)]
pub(crate) struct Config {
    /// The scenario in force.
    pub spec: Scenario,
    /// Root seed of every stream.
    pub seed: u64,
    pub warmup: Time,
    /// Width of a time-series window, and how many are kept.
    pub window: Time,
    pub max_windows: usize,
    pub nodes: Vec<NodeCfg>,
    pub edges: Vec<EdgeCfg>,
    /// Edges set aside when a call was retargeted live: (the edge's index
    /// in the scenario, the index of the old version, which keeps serving
    /// the calls already made on it).
    pub retired: Vec<(u32, u32)>,
    /// Non-source nodes in name order (report and window order), and sources.
    pub servers: Vec<u32>,
    pub sources: Vec<u32>,
    pub streams: StreamNames,
    /// Key-space and lock names, by index.
    pub spaces: Vec<String>,
    pub locks: Vec<String>,
    /// Shared links, by index (name order).
    pub links: Vec<LinkCfg>,
    /// SLO threshold (ns) and target.
    pub slo: Option<(Time, f64)>,
    /// Alert rules on the SLO, in name order.
    pub alerts: Vec<super::alerts::AlertCfg>,
    pub trace_every: u64,
    pub trace_keep: usize,
}

impl Config {
    /// The node's programs (services only; empty otherwise).
    #[inline(always)]
    pub fn programs(&self, node: u32) -> &[Program] {
        match &self.nodes[node as usize].body {
            BodyCfg::Service(s) => &s.programs,
            _ => &[],
        }
    }
}

#[derive(Clone)]
pub(crate) struct NodeCfg {
    pub name: String,
    pub kind: NodeKind,
    pub body: BodyCfg,
    /// Workers per replica ([`UNLIMITED`] when `unlimited`).
    pub workers: u32,
    pub unlimited: bool,
    /// Stations at the start: replicas; a database's shards and read
    /// replicas; one for caches and brokers; none for sources and balancers.
    pub stations: u32,
    pub queue_cap: Option<u64>,
    pub lifo: bool,
    pub balance: Balance,
    pub balance_stream: StreamId,
    pub error_rate: f64,
    pub err_stream: StreamId,
    pub rate_limit: Option<RateLimitSpec>,
    pub max_in_flight: Option<u32>,
    pub memory: Option<MemorySpec>,
    /// Cores and penalty of the contention model.
    pub contention: Option<(u32, f64)>,
    /// Load-dependent service: ns added to a compute step per other
    /// request in the replica.
    pub load_per_request: Option<super::Time>,
    pub autoscale: Option<AutoscaleSpec>,
    /// On-demand instances (`serverless.rs`).
    pub serverless: Option<ServerlessCfg>,
    pub pools: Vec<PoolCfg>,
    pub pool_names: Vec<String>,
    /// Some edge that calls this node has side effects (its successful
    /// jobs are counted as executions).
    pub side_effects: bool,
}

/// A serverless function's instance rules, in simulated time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ServerlessCfg {
    pub cold_start: Time,
    pub idle_timeout: Time,
    /// Instances kept warm whatever the load.
    pub min: u32,
    /// Most instances at once.
    pub max: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct PoolCfg {
    pub size: u32,
    pub acquire_timeout: Option<Time>,
    pub max_waiters: Option<u32>,
    /// Connections opened when a replica starts (limited databases only).
    pub min_idle: u32,
    /// The database whose connections it holds, if that one limits them
    /// (validation: such a pool reaches nothing else).
    pub limited_db: Option<u32>,
}

#[derive(Clone)]
pub(crate) enum BodyCfg {
    Source(SourceCfg),
    Service(ServiceCfg),
    Database(DbCfg),
    Cache(CacheCfg),
    Broker(BrokerCfg),
    Balancer(LbCfg),
}

#[derive(Clone)]
pub(crate) struct SourceCfg {
    pub edge: u32,
    pub arrival: ArrivalCfg,
    pub arrival_stream: StreamId,
    /// Users behind the traffic: count and popularity.
    pub users: Option<(u64, Option<KeySampler>)>,
    pub user_stream: StreamId,
    pub items: Option<CountCfg>,
    /// Client identity (index) for per-client rate limits.
    pub client: u32,
}

#[derive(Clone)]
pub(crate) enum ArrivalCfg {
    Poisson {
        rate: f64,
        exp: rand_distr::Exp<f64>,
    },
    Constant {
        rate: f64,
    },
    Schedule {
        points: Vec<(Time, f64)>,
        shape: Shape,
        poisson: bool,
    },
    Closed {
        users: u32,
        think: Dist,
    },
}

impl ArrivalCfg {
    pub fn closed(&self) -> bool {
        matches!(self, ArrivalCfg::Closed { .. })
    }
}

#[derive(Clone)]
pub(crate) struct ServiceCfg {
    /// The default handler (if any) first, then named endpoints.
    pub programs: Vec<Program>,
}

/// One endpoint's program, flattened: loops, branches and cache-aside
/// blocks become jumps.
#[derive(Clone)]
pub(crate) struct Program {
    pub ops: Vec<Op>,
    /// Which per-job registers the program uses (the rest are never
    /// allocated for its jobs).
    pub needs: Needs,
}

/// The optional registers a program's jobs carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Loop counters (repeat).
    pub loops: bool,
    /// Held locks.
    pub locks: bool,
    /// The key read by a cache lookup (and a single-flight fill).
    pub cache: bool,
}

impl Needs {
    pub fn any(self) -> bool {
        self.loops || self.locks || self.cache
    }
}

#[derive(Clone)]
pub(crate) enum Op {
    Compute {
        dist: Dist,
        stream: StreamId,
    },
    Call {
        edge: u32,
        count: CountCfg,
        parallel: bool,
        release: bool,
    },
    Fork {
        edges: Box<[u32]>,
        release: bool,
    },
    CacheGet {
        edge: u32,
        key: KeyCfg,
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
        key: KeyCfg,
        /// The cache the write invalidates ([`super::ids::NONE`]: none).
        cache: u32,
        invalidate: Invalidate,
    },
    RepeatBegin {
        count: CountCfg,
        end: u32,
    },
    RepeatEnd {
        begin: u32,
    },
    LockAcquire {
        lock: u32,
        key: Option<KeyCfg>,
    },
    LockRelease {
        lock: u32,
    },
    Choose {
        cum: Box<[f64]>,
        targets: Box<[u32]>,
        stream: StreamId,
    },
    Jump {
        to: u32,
    },
}

impl Op {
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Compute { .. } => "compute",
            Op::Call { .. } => "call",
            Op::Fork { .. } => "parallel",
            Op::CacheGet { .. } => "cache_read",
            Op::CachePut { .. } => "cache fill",
            Op::Write { .. } => "write",
            Op::RepeatBegin { .. } => "repeat",
            Op::RepeatEnd { .. } => "end of repeat",
            Op::LockAcquire { .. } => "locked",
            Op::LockRelease { .. } => "end of locked",
            Op::Choose { .. } => "choose",
            Op::Jump { .. } => "end of branch",
        }
    }

    /// The structural part of an op (what running jobs depend on): equal
    /// for ops of the same shape.
    pub fn shape(&self, locks: &[String]) -> (u32, Vec<u32>, String) {
        let lock = |l: &u32| locks.get(*l as usize).cloned().unwrap_or_default();
        match self {
            Op::Compute { .. } => (0, vec![], String::new()),
            Op::Call { edge, .. } => (1, vec![*edge], String::new()),
            Op::Fork { edges, .. } => (2, edges.to_vec(), String::new()),
            Op::CacheGet { edge, miss_end, .. } => (3, vec![*edge, *miss_end], String::new()),
            Op::CachePut { edge, .. } => (4, vec![*edge], String::new()),
            Op::Write { cache, .. } => (5, vec![*cache], String::new()),
            Op::RepeatBegin { end, .. } => (6, vec![*end], String::new()),
            Op::RepeatEnd { begin } => (7, vec![*begin], String::new()),
            Op::LockAcquire { lock: l, .. } => (8, vec![], lock(l)),
            Op::LockRelease { lock: l } => (9, vec![], lock(l)),
            Op::Choose { targets, .. } => (10, targets.to_vec(), String::new()),
            Op::Jump { to } => (11, vec![*to], String::new()),
        }
    }
}

/// A per-request count (calls, rows, loop iterations) and its stream.
#[derive(Clone)]
pub(crate) struct CountCfg {
    pub kind: CountKind,
    pub stream: StreamId,
}

#[derive(Clone)]
pub(crate) enum CountKind {
    Constant(u32),
    Uniform(u32, u32),
    Poisson(rand_distr::Poisson<f64>),
    Geometric(f64),
    Items { plus: i32, times: u32 },
    Table { table: u32, fraction: f64 },
}

/// A key draw: key space, popularity, per-user keys.
#[derive(Clone)]
pub(crate) struct KeyCfg {
    pub space: u32,
    pub n: u64,
    pub per_user: bool,
    pub sampler: Option<KeySampler>,
    pub stream: StreamId,
}

#[derive(Clone)]
pub(crate) struct DbCfg {
    pub tables: Vec<TableCfg>,
    pub table_names: Vec<String>,
    pub cost: CostSpec,
    pub shards: u32,
    pub replicas: u32,
    pub lag: Time,
    pub reads: ReadRouting,
    pub on_partition: PartitionMode,
    pub max_connections: Option<u32>,
}

impl DbCfg {
    /// Rows of `table` at time `now` (its initial rows plus growth).
    #[inline]
    pub fn rows_at(&self, table: usize, now: Time) -> f64 {
        let t = &self.tables[table];
        t.rows0 + t.growth * crate::calendar::ns_to_secs(now)
    }
}

#[derive(Clone)]
pub(crate) struct TableCfg {
    pub rows0: f64,
    pub growth: f64,
    pub row_bytes: f64,
    /// `log2(max(rows0, 1))`, an indexed lookup's depth while the table
    /// does not grow (computed once at build: the same number every query
    /// would compute).
    pub log2_rows0: f64,
}

#[derive(Clone)]
pub(crate) struct CacheCfg {
    pub latency: Dist,
    pub stream: StreamId,
    pub ttl: Option<Time>,
    pub jitter: f64,
    pub capacity_entries: Option<u64>,
    pub capacity_bytes: Option<u64>,
    pub policy: crate::cache::Policy,
}

#[derive(Clone)]
pub(crate) struct BrokerCfg {
    pub partitions: u32,
    pub consumers: u32,
    pub capacity: Option<u64>,
    pub overflow: Overflow,
    pub process: Option<Dist>,
    /// The consumers' call to a handler service.
    pub handler: Option<u32>,
    pub poison_rate: f64,
    pub max_attempts: Option<u32>,
    pub dlq: bool,
    pub redelivery: Time,
    pub stream: StreamId,
}

#[derive(Clone)]
pub(crate) struct LbCfg {
    pub backends: Vec<u32>,
    /// How long a dead backend stays visible (health-check detection).
    pub detect: Option<Time>,
    pub latency: Option<Dist>,
    pub stream: StreamId,
}

/// A shared link.
#[derive(Clone)]
pub(crate) struct LinkCfg {
    pub name: String,
    pub bandwidth_mbps: f64,
    pub bytes_per_ns: f64,
}

/// One call site: a caller's call to a callee, with its policy.
#[derive(Clone)]
pub(crate) struct EdgeCfg {
    pub from: u32,
    pub to: u32,
    pub task: EdgeTask,
    pub hop: Dist,
    /// Hop latency, backoff jitter and fallback latency draw from here.
    pub stream: StreamId,
    /// Bytes per nanosecond.
    pub bandwidth: Option<f64>,
    /// The shared link the call's bytes cross (index into `Config::links`).
    pub link: Option<u32>,
    pub req_bytes: f64,
    pub resp_bytes: f64,
    /// Compression ratio, and CPU ns per byte.
    pub compress: Option<(f64, f64)>,
    /// No keep-alive: each attempt opens a connection first.
    pub handshake: Option<Handshake>,
    pub timeout: Option<Time>,
    pub deadline_prop: bool,
    pub retries: Option<RetryCfg>,
    pub breaker: Option<BreakerSpec>,
    pub fallback: Option<Dist>,
    pub hedge: Option<Time>,
    /// The caller's pool (index into its node's pools).
    pub pool: Option<u32>,
    pub side_effect: bool,
    pub idempotent: bool,
    /// The policy as written, and where (for live-change checks and errors).
    pub policy: CallPolicy,
    pub site: String,
    pub plan: CallPlan,
}

/// The set-up of a new connection (an edge without keep-alive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Handshake {
    /// Round trips of the hop before the request leaves.
    pub round_trips: u32,
    /// The callee's worker time.
    pub cpu: Time,
    /// The handshake's hop draws.
    pub stream: StreamId,
}

#[derive(Clone)]
pub(crate) struct RetryCfg {
    pub max: u32,
    pub backoff: Option<Backoff>,
    pub budget: Option<RetryBudgetSpec>,
}

/// What an edge asks of its callee.
#[derive(Clone)]
pub(crate) enum EdgeTask {
    Handler {
        endpoint: u32,
    },
    Query {
        table: u32,
        kind: QueryKind,
        rows: CountCfg,
        page: Option<u32>,
        write: bool,
        key: Option<KeyCfg>,
    },
    CacheGet,
    CacheSet,
    Publish {
        key: Option<KeyCfg>,
    },
}

impl EdgeTask {
    pub fn kind(&self) -> &'static str {
        match self {
            EdgeTask::Handler { .. } => "call",
            EdgeTask::Query { .. } => "query",
            EdgeTask::CacheGet => "cache get",
            EdgeTask::CacheSet => "cache put",
            EdgeTask::Publish { .. } => "publish",
        }
    }
}

/// An edge's policy compiled for the request path: which of a call's
/// mechanisms the edge can ever use. The one request path reads it to skip
/// what a call provably does not need (a direct call to an in-process
/// service never schedules a hop, a timer or a hedge, and never touches a
/// breaker or a pool), never to take another path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CallPlan {
    /// No hop latency and no transfer time either way: delay 0 for any size.
    pub instant: bool,
    /// An attempt arms a timer (timeout or propagated deadline).
    pub timed: bool,
    /// Nothing guards an attempt: no breaker, no pool.
    pub unguarded: bool,
    /// The calendar lane of the edge's timeouts
    /// ([`crate::calendar::Calendar::schedule_in_lane`]; `LANES`: none):
    /// edges of one timeout share a lane. Set by `assign_lanes`.
    pub timeout_lane: u8,
}

impl CallPlan {
    pub fn of(e: &EdgeCfg) -> CallPlan {
        CallPlan {
            instant: e.link.is_none()
                && matches!(
                    (&e.hop, e.bandwidth, e.compress),
                    (Dist::Constant(0), None, None)
                ),
            timed: e.timeout.is_some() || e.deadline_prop,
            unguarded: e.breaker.is_none() && e.pool.is_none(),
            timeout_lane: LANES as u8,
        }
    }

    /// Gives each edge with a timeout the calendar lane of its timeout:
    /// the first [`LANES`] distinct timeouts get one each, in edge order.
    pub fn assign_lanes(edges: &mut [EdgeCfg]) {
        let mut timeouts: Vec<Time> = Vec::new();
        for e in edges.iter_mut() {
            e.plan.timeout_lane = LANES as u8;
            let Some(t) = e.timeout else {
                continue;
            };
            let lane = match timeouts.iter().position(|&x| x == t) {
                Some(i) => i,
                None if timeouts.len() < LANES => {
                    timeouts.push(t);
                    timeouts.len() - 1
                }
                None => continue,
            };
            e.plan.timeout_lane = lane as u8;
        }
    }
}

impl EdgeCfg {
    /// One-way delay for `bytes` (hop + transfer), in ns.
    #[inline(always)]
    pub fn delay(&self, bytes: f64, rng: &mut crate::rng::Stream) -> Time {
        if self.plan.instant {
            return 0;
        }
        if let (Dist::Constant(d), None, None) = (&self.hop, self.bandwidth, self.compress) {
            return *d;
        }
        self.delay_slow(bytes, rng)
    }

    /// Over a shared link: the delay besides the link (the hop, and
    /// compression CPU) and the bytes that cross the link.
    pub fn link_parts(&self, bytes: f64, rng: &mut crate::rng::Stream) -> (Time, f64) {
        let mut d = self.hop.sample(rng);
        let wire = match self.compress {
            Some((ratio, cpu)) => {
                d = d.saturating_add((bytes * cpu) as Time);
                bytes / ratio
            }
            None => bytes,
        };
        (d, wire)
    }

    #[inline(never)]
    fn delay_slow(&self, bytes: f64, rng: &mut crate::rng::Stream) -> Time {
        let mut d = self.hop.sample(rng);
        if let Some(bw) = self.bandwidth {
            let b = match self.compress {
                Some((ratio, _)) => bytes / ratio,
                None => bytes,
            };
            d = d.saturating_add((b / bw) as Time);
        }
        if let Some((_, cpu)) = self.compress {
            d = d.saturating_add((bytes * cpu) as Time);
        }
        d
    }
}
