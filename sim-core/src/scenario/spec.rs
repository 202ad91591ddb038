//! The typed scenario: the document's top level, the node kinds and their
//! parameters. Plain data read from TOML/JSON (handler steps and call
//! policies are in `steps.rs`, faults in `faults.rs`); the rules are in
//! `validate/`, reading in `read.rs`, meaning in `engine/`.

pub use super::steps::*;
use super::steps::{is_false, is_one, is_zero, one, yes};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use super::faults::{AlertSpec, FaultAction, FaultSpec, SloSpec, TraceSpec};

/// A validated scenario. Build one with [`Scenario::from_toml_str`],
/// [`Scenario::from_json_str`] or [`ScenarioDoc::build`]; deserialising it
/// with serde runs the same validation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    /// Schema version; this build reads version 1.
    pub version: u32,
    /// A short human name (shown in reports and the page).
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Root seed; every random stream is derived from it.
    pub seed: u64,
    /// Default run length in simulated seconds.
    pub duration_s: f64,
    /// Statistics ignore the first `warmup_s` seconds.
    pub warmup_s: f64,
    pub metrics: MetricsSpec,
    /// The topology, keyed by unique node name.
    pub nodes: BTreeMap<String, NodeSpec>,
    /// Scheduled faults and operations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// Per-request tracing.
    pub traces: TraceSpec,
    /// The service-level objective the report judges the run against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo: Option<SloSpec>,
    /// Alert rules on the SLO, by name (they watch; they change nothing).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub alerts: BTreeMap<String, AlertSpec>,
    /// Where the page draws each node (optional; the engine ignores it).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub layout: BTreeMap<String, LayoutPos>,
    /// Shared network links, by name: calls that name one (`link`) share
    /// its bandwidth.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, LinkSpec>,
}

/// A network link shared by every transfer that crosses it: concurrent
/// transfers divide its bandwidth equally (processor sharing), so a busy
/// link slows every call on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub bandwidth_mbps: f64,
}

/// A node's position on the page's topology canvas, in canvas units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutPos {
    pub x: f64,
    pub y: f64,
}

/// Windowed time series settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// Width of one time-series window in simulated seconds.
    #[serde(default = "default_window")]
    pub window_s: f64,
    /// How many windows are kept (a ring: memory stays flat).
    #[serde(default = "default_max_windows")]
    pub max_windows: usize,
}

fn default_window() -> f64 {
    1.0
}
fn default_max_windows() -> usize {
    600
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec {
            window_s: default_window(),
            max_windows: default_max_windows(),
        }
    }
}

/// One node of the topology. The `kind` field selects the variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeSpec {
    /// Generates requests (open or closed loop) and sends them to `target`.
    Source(SourceSpec),
    /// A server: replicas of workers behind a queue, running handler steps.
    Service(ServiceSpec),
    /// A third-party dependency.
    External(ExternalSpec),
    /// A database with a query cost model, replicas and shards.
    Database(DatabaseSpec),
    /// A key-value cache (LRU/TTL).
    Cache(CacheSpec),
    /// A message broker with partitions and a consumer group.
    Broker(BrokerSpec),
    /// A load balancer in front of services.
    LoadBalancer(LoadBalancerSpec),
}

impl NodeSpec {
    pub fn kind(&self) -> NodeKind {
        match self {
            NodeSpec::Source(_) => NodeKind::Source,
            NodeSpec::Service(_) => NodeKind::Service,
            NodeSpec::External(_) => NodeKind::External,
            NodeSpec::Database(_) => NodeKind::Database,
            NodeSpec::Cache(_) => NodeKind::Cache,
            NodeSpec::Broker(_) => NodeKind::Broker,
            NodeSpec::LoadBalancer(_) => NodeKind::LoadBalancer,
        }
    }

    /// How many requests one replica serves at once: a service's or a
    /// cache's `workers`, a database's `cores`, an external's
    /// `max_concurrency`. `None` for nodes that serve nothing themselves
    /// (sources, brokers, load balancers). The one place where an absent
    /// limit is read as "unlimited".
    pub fn concurrency(&self) -> Option<Concurrency> {
        let limit = |n: Option<u32>| n.map_or(Concurrency::Unlimited, Concurrency::Limited);
        match self {
            NodeSpec::Service(s) => Some(Concurrency::Limited(s.workers)),
            NodeSpec::Database(d) => Some(Concurrency::Limited(d.cores)),
            NodeSpec::Cache(c) => Some(limit(c.workers)),
            NodeSpec::External(e) => Some(limit(e.max_concurrency)),
            NodeSpec::Source(_) | NodeSpec::Broker(_) | NodeSpec::LoadBalancer(_) => None,
        }
    }
}

/// Requests a replica serves at once. In a scenario file "unlimited" is
/// written by leaving the field out (a cache's `workers`, an external's
/// `max_concurrency`; `--set ...=null` removes a limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concurrency {
    Limited(u32),
    Unlimited,
}

impl Concurrency {
    /// The limit, `None` when unlimited.
    pub fn limit(self) -> Option<u32> {
        match self {
            Concurrency::Limited(n) => Some(n),
            Concurrency::Unlimited => None,
        }
    }
}

/// The closed set of node kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Source,
    Service,
    External,
    Database,
    Cache,
    Broker,
    LoadBalancer,
}

impl NodeKind {
    pub const ALL: &'static [NodeKind] = &[
        NodeKind::Source,
        NodeKind::Service,
        NodeKind::External,
        NodeKind::Database,
        NodeKind::Cache,
        NodeKind::Broker,
        NodeKind::LoadBalancer,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Source => "source",
            NodeKind::Service => "service",
            NodeKind::External => "external",
            NodeKind::Database => "database",
            NodeKind::Cache => "cache",
            NodeKind::Broker => "broker",
            NodeKind::LoadBalancer => "load_balancer",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<NodeKind> {
        NodeKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// A traffic source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// The node requests are sent to.
    pub target: String,
    /// The target's endpoint (services with named endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The arrival process.
    pub arrival: ArrivalSpec,
    /// Client identity for per-client rate limits (default: the source's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The users behind the traffic (keys per user, sticky sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<UsersSpec>,
    /// Items per request (e.g. order lines), for `count = { dist = "items" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Count>,
    /// The client's call: hop, timeout, retries, breaker...
    #[serde(flatten)]
    pub policy: CallPolicy,
}

/// How a source generates requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "process", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArrivalSpec {
    /// Open loop, exponential inter-arrival times at `rate` requests/s.
    Poisson { rate: f64 },
    /// Open loop, one request every `1/rate` seconds.
    Constant { rate: f64 },
    /// Open loop with a rate that changes over time: `points` are
    /// `(at_s, rate)`; `shape = "step"` holds each rate until the next point
    /// (steps and spikes), `"linear"` interpolates (ramps). Poisson by
    /// default (non-homogeneous, by thinning); `poisson = false` spaces
    /// requests evenly.
    Schedule {
        points: Vec<RatePoint>,
        #[serde(default)]
        shape: Shape,
        #[serde(default = "yes")]
        poisson: bool,
    },
    /// Closed loop: `users` users, each sending a request, waiting for the
    /// answer, then thinking for a `think` time.
    Closed { users: u32, think: DistSpec },
}

/// One point of a rate schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePoint {
    pub at_s: f64,
    pub rate: f64,
}

/// Interpolation between schedule points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    #[default]
    Step,
    Linear,
}

/// Users behind a source: each request belongs to one of `count` users,
/// drawn with Zipf popularity `zipf` (0 = all alike; > 0 = some heavy users).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersSpec {
    pub count: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub zipf: f64,
}

// ----- nodes -----------------------------------------------------------------------

/// Load-balancing policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    #[default]
    RoundRobin,
    Random,
    LeastConnections,
    PowerOfTwo,
    /// Session affinity: a user's first request picks a replica (round
    /// robin); later requests of that user stick to it, even after
    /// scale-out.
    Sticky,
}

/// How a service's workers run requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerModel {
    /// Thread per request: a worker is held for the whole request,
    /// including while it waits on calls.
    #[default]
    Threads,
    /// Event loop: workers (usually 1) run compute steps; non-blocking
    /// calls release the loop and resume as callbacks; a blocking call
    /// stalls the loop.
    EventLoop,
}

/// Load-dependent service time: compute steps run slower when more than
/// `cores` requests compute at once (processor sharing: factor busy/cores),
/// plus `penalty` per request above `cores` (thrashing, lock contention).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentionSpec {
    pub cores: u32,
    #[serde(default)]
    pub penalty: f64,
}

/// Rate limiting at the node's door.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case", deny_unknown_fields)]
pub enum RateLimitSpec {
    TokenBucket {
        rate: f64,
        burst: f64,
        #[serde(default, skip_serializing_if = "is_false")]
        per_client: bool,
    },
    LeakyBucket {
        rate: f64,
        capacity: u32,
        #[serde(default, skip_serializing_if = "is_false")]
        per_client: bool,
    },
}

/// Memory accounting: a replica uses `base_mb` + `per_request_mb` per
/// request in it (+ result rows it holds); above `limit_mb` it is OOM-killed
/// (its requests fail, its queue is lost) and restarts after `restart_s`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySpec {
    #[serde(default)]
    pub base_mb: f64,
    pub per_request_mb: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_mb: Option<f64>,
    #[serde(default = "default_restart")]
    pub restart_s: f64,
}
pub(super) fn default_restart() -> f64 {
    10.0
}

/// A connection pool (bulkhead) of a service replica.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    pub size: u32,
    /// Give up waiting for a connection after this long (absent: wait forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquire_timeout_s: Option<f64>,
    /// At most this many waiters; more fail at once (absent: unbounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_waiters: Option<u32>,
    /// Connections opened when the replica starts, before any request
    /// (HikariCP's `minimumIdle`; equal to `size` for a fixed-size pool).
    /// Only a database that limits its connections (`max_connections`)
    /// counts them; otherwise a pool opens connections as calls need them.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub min_idle: u32,
}

/// What the autoscaler watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleMetric {
    /// Mean worker utilisation (0..1).
    Utilisation,
    /// Mean queue length per replica.
    Queue,
    /// Mean sojourn time in seconds.
    Latency,
}

/// Horizontal autoscaling of a service's replicas (proportional, like
/// Kubernetes' HPA: desired = ceil(replicas × metric / target)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscaleSpec {
    pub metric: ScaleMetric,
    pub target: f64,
    pub min: u32,
    pub max: u32,
    #[serde(default = "default_interval")]
    pub interval_s: f64,
    /// Least time between two scaling actions (both directions, unless
    /// the direction's own cooldown below is set).
    #[serde(default)]
    pub cooldown_s: f64,
    /// Least time since the last action before scaling up / down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up_cooldown_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_cooldown_s: Option<f64>,
    /// No action while metric / target is within this fraction of 1
    /// (Kubernetes' HPA uses 0.1): stops flapping around the target.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tolerance: f64,
    /// Provisioning delay before a new replica takes traffic.
    #[serde(default)]
    pub boot_s: f64,
}

impl AutoscaleSpec {
    /// The cooldown before scaling up (`up`) or down.
    pub fn cooldown(&self, up: bool) -> f64 {
        let own = if up {
            self.scale_up_cooldown_s
        } else {
            self.scale_down_cooldown_s
        };
        own.unwrap_or(self.cooldown_s)
    }
}
fn default_interval() -> f64 {
    15.0
}

/// A serverless function's instances (docs/SCENARIOS.md): one started,
/// after a cold start, for each request that finds no warm one free; one
/// idle for `idle_timeout_s` reclaimed. `workers`: each one's concurrency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerlessSpec {
    /// From "no warm instance free" to a new one taking the request.
    pub cold_start_s: f64,
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_s: f64,
    /// Kept warm whatever the load (provisioned concurrency).
    #[serde(default)]
    pub min_instances: u32,
    /// The concurrency limit.
    #[serde(default = "default_max_instances")]
    pub max_instances: u32,
}
fn default_idle_timeout() -> f64 {
    600.0
}
fn default_max_instances() -> u32 {
    1000
}

/// A named entry point of a service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    pub steps: Vec<StepSpec>,
}

/// The waiting room in front of the workers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    #[serde(default)]
    pub discipline: Discipline,
    /// Places in the waiting room (not counting requests in service); a
    /// request arriving to a full room is rejected. Absent: unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
}

/// Queue discipline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discipline {
    #[default]
    Fifo,
    Lifo,
}

/// A service: replicas of `workers` workers in front of one queue each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    #[serde(default = "one")]
    pub workers: u32,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub replicas: u32,
    #[serde(default)]
    pub balance: Balance,
    #[serde(default)]
    pub model: WorkerModel,
    #[serde(default)]
    pub queue: QueueSpec,
    /// Shorthand for a handler with a single compute step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<DistSpec>,
    /// The default handler.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepSpec>,
    /// Named handlers (`endpoint = "NAME"` on a call or source).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoints: BTreeMap<String, EndpointSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contention: Option<ContentionSpec>,
    /// Concurrency limit per replica: requests beyond it are shed at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemorySpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pools: BTreeMap<String, PoolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<AutoscaleSpec>,
    /// On-demand instances (a serverless function): see [`ServerlessSpec`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serverless: Option<ServerlessSpec>,
    /// Load-dependent service time: every compute step takes longer the
    /// more requests share the replica (context switches, lock and cache
    /// contention, GC): the standard model of congestion collapse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadSpec>,
    /// Probability that a request ends in an error.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error_rate: f64,
}

/// How a replica's load lengthens each compute step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// Added to a compute step per other request in the replica when the
    /// step starts (queued, in service or waiting on a call).
    pub per_request_s: f64,
}

/// A third-party dependency: latency, errors, optional concurrency limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSpec {
    pub latency: DistSpec,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error_rate: f64,
    /// Requests served at once (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
}

/// Query cost model of a database, in seconds of one core.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostSpec {
    /// Fixed cost of any query (parse, plan, round trip inside the engine).
    #[serde(default = "default_base_cost")]
    pub base_s: f64,
    /// Indexed lookups: per log2(rows).
    #[serde(default = "default_log_cost")]
    pub per_log_row_s: f64,
    /// Scans: per row of the table.
    #[serde(default = "default_scan_cost")]
    pub per_row_scanned_s: f64,
    /// Per row returned (read, serialise).
    #[serde(default = "default_row_cost")]
    pub per_row_returned_s: f64,
    /// Extra for writes (log, fsync).
    #[serde(default = "default_write_cost")]
    pub write_s: f64,
}
fn default_base_cost() -> f64 {
    0.0003
}
fn default_log_cost() -> f64 {
    0.00002
}
fn default_scan_cost() -> f64 {
    0.000_000_2
}
fn default_row_cost() -> f64 {
    0.000_005
}
fn default_write_cost() -> f64 {
    0.001
}
impl Default for CostSpec {
    fn default() -> Self {
        CostSpec {
            base_s: default_base_cost(),
            per_log_row_s: default_log_cost(),
            per_row_scanned_s: default_scan_cost(),
            per_row_returned_s: default_row_cost(),
            write_s: default_write_cost(),
        }
    }
}

/// A table of a database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub rows: f64,
    /// Rows added per second of simulated time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub growth_per_s: f64,
    #[serde(default = "default_row_bytes")]
    pub row_bytes: f64,
}
fn default_row_bytes() -> f64 {
    200.0
}

/// Asynchronous read replicas.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaSpec {
    pub count: u32,
    /// Replication lag: a write is visible on replicas this long after.
    pub lag_s: f64,
    /// During a partition of the replicas: serve possibly stale reads
    /// ("available", the default) or fail them ("consistent").
    #[serde(default)]
    pub on_partition: PartitionMode,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionMode {
    #[default]
    Available,
    Consistent,
}

/// Where reads go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadRouting {
    #[default]
    Primary,
    Replicas,
}

/// A database: `cores` per instance, query costs from the cost model and
/// the tables' current sizes; optional read replicas and shards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    #[serde(default = "default_cores")]
    pub cores: u32,
    #[serde(default)]
    pub queue: QueueSpec,
    #[serde(default)]
    pub cost: CostSpec,
    pub tables: BTreeMap<String, TableSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_replicas: Option<ReplicaSpec>,
    #[serde(default)]
    pub reads: ReadRouting,
    /// Primaries, each owning the keys `key % shards`.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub shards: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error_rate: f64,
    /// Connections the database accepts at once (Postgres'
    /// `max_connections`), counted over the connections the callers' pools
    /// hold open; a pool that needs one more past it is refused (absent: no
    /// limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
}
fn is_zero_u32(x: &u32) -> bool {
    *x == 0
}
fn default_cores() -> u32 {
    8
}

/// Cache eviction policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CachePolicy {
    #[default]
    Lru,
    Fifo,
}

/// A key-value cache.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_entries: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_mb: Option<f64>,
    /// Time to live of an entry (absent: until evicted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_s: Option<f64>,
    /// Each entry's TTL is scaled by a uniform factor in [1 - j, 1 + j].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ttl_jitter: f64,
    #[serde(default)]
    pub policy: CachePolicy,
    /// Latency of one operation.
    #[serde(default = "default_cache_latency")]
    pub latency: DistSpec,
    /// Operations served at once (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// Pre-fill the `warm` most popular keys of each key space read through
    /// this cache at the start (a warmed cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm: Option<u64>,
}
fn default_cache_latency() -> DistSpec {
    DistSpec::Constant { value_s: 0.0005 }
}

/// What a broker does when a partition is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Refuse the publish: the producer sees an error (backpressure).
    #[default]
    Reject,
    /// Accept and discard the message.
    Drop,
    /// The producer waits until there is room (blocking backpressure).
    Block,
}

/// A message broker: partitions, a consumer group, redelivery and a DLQ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSpec {
    #[serde(default = "one")]
    pub partitions: u32,
    /// Messages per partition (absent: unbounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
    #[serde(default)]
    pub overflow: Overflow,
    #[serde(default = "one")]
    pub consumers: u32,
    /// Processing time of one message by a consumer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<DistSpec>,
    /// Or: consumers process a message by calling this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<CallSpec>,
    /// Fraction of messages that fail on every attempt.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub poison_rate: f64,
    /// Attempts before a message goes to the DLQ (absent: retry forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// With `max_attempts`: park failed messages in a dead-letter queue
    /// (otherwise they are discarded).
    #[serde(default, skip_serializing_if = "is_false")]
    pub dlq: bool,
    /// Delay before a failed message is tried again.
    #[serde(default = "default_redelivery")]
    pub redelivery_s: f64,
}
fn default_redelivery() -> f64 {
    1.0
}

/// Health checking of a load balancer's backends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    pub interval_s: f64,
    #[serde(default = "two")]
    pub unhealthy_after: u32,
}
fn two() -> u32 {
    2
}

/// A load balancer in front of one or more services.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerSpec {
    pub backends: Vec<String>,
    #[serde(default)]
    pub policy: Balance,
    /// Absent: the balancer never notices a dead backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<DistSpec>,
}
