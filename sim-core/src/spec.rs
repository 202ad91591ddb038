//! The typed scenario vocabulary: node kinds, handler steps, call policies,
//! faults. Everything here is plain data read from TOML/JSON; validation
//! lives in `scenario.rs`, meaning in `sim/`.

use crate::dist::DistSpec;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;

pub(crate) fn one() -> u32 {
    1
}
pub(crate) fn yes() -> bool {
    true
}
fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(x: &f64) -> bool {
    *x == 0.0
}
fn is_one(x: &u32) -> bool {
    *x == 1
}

// ----- counts ----------------------------------------------------------------

/// A per-request count (items in an order, rows returned, calls in a loop).
/// Written as a plain integer, or a table with `dist`:
/// `{ dist = "uniform", min = 1, max = 40 }`, `{ dist = "poisson", mean = 5 }`,
/// `{ dist = "geometric", mean = 5 }`, `{ dist = "items", plus = 1 }` (the
/// request's item count, e.g. N+1), `{ dist = "table", fraction = 0.01 }`
/// (a fraction of the table's current rows; queries only).
#[derive(Clone, Debug, PartialEq)]
pub enum Count {
    Constant(u32),
    Dist(CountDist),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum CountDist {
    Constant {
        value: u32,
    },
    Uniform {
        min: u32,
        max: u32,
    },
    Poisson {
        mean: f64,
    },
    Geometric {
        mean: f64,
    },
    Items {
        #[serde(default)]
        plus: i32,
        #[serde(default = "one")]
        times: u32,
    },
    Table {
        fraction: f64,
    },
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Constant(n) => s.serialize_u32(*n),
            Count::Dist(d) => d.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        match &v {
            Value::Number(n) => n
                .as_u64()
                .filter(|x| *x <= 1_000_000)
                .map(|x| Count::Constant(x as u32))
                .ok_or_else(|| {
                    serde::de::Error::custom("a count must be an integer between 0 and 1000000")
                }),
            Value::Object(_) => serde_json::from_value(v)
                .map(Count::Dist)
                .map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom(
                "a count is an integer or a table like { dist = \"uniform\", min = 1, max = 10 }",
            )),
        }
    }
}

impl Count {
    pub fn validate(&self, allow_table: bool) -> Result<(), String> {
        match self {
            Count::Constant(_) => Ok(()),
            Count::Dist(d) => match d {
                CountDist::Constant { .. } => Ok(()),
                CountDist::Uniform { min, max } if max < min => {
                    Err(format!("max: must be >= min ({min}), got {max}"))
                }
                CountDist::Uniform { max, .. } if *max > 1_000_000 => {
                    Err("max: at most 1000000".into())
                }
                CountDist::Uniform { .. } => Ok(()),
                CountDist::Poisson { mean } | CountDist::Geometric { mean } => {
                    if mean.is_finite() && *mean >= 0.0 && *mean <= 1e6 {
                        Ok(())
                    } else {
                        Err(format!("mean: must be between 0 and 1e6, got {mean}"))
                    }
                }
                CountDist::Items { times, .. } if *times > 10_000 => {
                    Err("times: at most 10000".into())
                }
                CountDist::Items { .. } => Ok(()),
                CountDist::Table { fraction } => {
                    if !allow_table {
                        Err("dist: \"table\" counts are only meaningful in a query's `rows`".into())
                    } else if (0.0..=1.0).contains(fraction) {
                        Ok(())
                    } else {
                        Err(format!("fraction: must be in [0, 1], got {fraction}"))
                    }
                }
            },
        }
    }
}

// ----- keys -------------------------------------------------------------------

/// Which data item an operation touches. Keys are drawn per operation:
/// `{ space = "products", n = 10000, zipf = 0.9 }` draws one of 10,000 keys
/// with Zipf popularity (0 = uniform); `per_user = true` makes the key
/// specific to the request's user (`user * n + k`), so the key space is
/// users × n.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub space: String,
    #[serde(default = "one_u64")]
    pub n: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub zipf: f64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub per_user: bool,
}
fn one_u64() -> u64 {
    1
}

impl KeySpec {
    pub fn validate(&self) -> Result<(), String> {
        if self.space.is_empty() {
            return Err("space: must name a key space".into());
        }
        if self.n == 0 || self.n > 100_000_000 {
            return Err(format!("n: must be between 1 and 1e8, got {}", self.n));
        }
        if !(self.zipf.is_finite() && (0.0..=5.0).contains(&self.zipf)) {
            return Err(format!("zipf: must be between 0 and 5, got {}", self.zipf));
        }
        Ok(())
    }
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

// ----- call policy ---------------------------------------------------------------

/// Retry policy of a call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Retries after the first attempt.
    pub max: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<crate::resilience::BackoffSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<crate::resilience::RetryBudgetSpec>,
}

/// What a failed call returns instead of an error (graceful degradation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackSpec {
    /// Time to produce the fallback answer (e.g. a cached default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<DistSpec>,
}

/// Hedged requests: if no answer after `after_s`, send one more copy; the
/// first answer wins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HedgeSpec {
    pub after_s: f64,
}

/// Compression of payloads on an edge: bytes shrink by `ratio`, each end
/// spends `cpu_s_per_mb` of worker time per uncompressed megabyte.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressionSpec {
    pub ratio: f64,
    pub cpu_s_per_mb: f64,
}

/// How a call travels and what the caller does when it goes wrong. The
/// same fields appear on sources (the client's call) and on every call-like
/// step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallPolicy {
    /// One-way network latency (paid there and back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop: Option<DistSpec>,
    /// Link bandwidth: transfer time = bytes / bandwidth, each way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_mbps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_kb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_kb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<CompressionSpec>,
    /// The caller gives up on an attempt after this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// Pass the remaining time budget down so callees drop expired work.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deadline_propagation: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<RetrySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker: Option<crate::resilience::BreakerSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedge: Option<HedgeSpec>,
    /// A connection pool (declared in the caller's `pools`) each attempt
    /// must hold a connection of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The call changes state (a payment, an order): each execution at the
    /// callee is a side effect; executions beyond the first are duplicates.
    #[serde(default, skip_serializing_if = "is_false")]
    pub side_effect: bool,
    /// The callee deduplicates by an idempotency key: retried executions of
    /// the same call are not applied twice.
    #[serde(default, skip_serializing_if = "is_false")]
    pub idempotency_key: bool,
}

// ----- steps ------------------------------------------------------------------------

/// A synchronous call to another node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// How many calls (default 1): sequential, or all at once with
    /// `parallel = true` (fan-out; the step waits for every answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub parallel: bool,
    /// Event-loop services only: the call blocks the loop while it waits.
    #[serde(default, skip_serializing_if = "is_false")]
    pub blocking: bool,
    #[serde(flatten)]
    pub policy: CallPolicy,
}

/// Query cost model of a database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    /// Primary-key lookup: constant cost.
    Pk,
    /// B-tree index: cost grows with log2(rows).
    #[default]
    Indexed,
    /// Full table scan: cost grows with rows.
    Scan,
}

/// A database query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    pub db: String,
    pub table: String,
    #[serde(default)]
    pub kind: QueryKind,
    /// Rows returned (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<Count>,
    /// Pagination: never return more than this many rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub write: bool,
    /// The row touched (routing to shards, staleness on replicas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub parallel: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub blocking: bool,
    #[serde(flatten)]
    pub policy: CallPolicy,
}

/// Cache-aside read: look the key up in `cache`; on a miss run `on_miss`
/// (typically a query) and fill the cache.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheReadSpec {
    pub cache: String,
    pub key: KeySpec,
    #[serde(default = "default_size_kb")]
    pub size_kb: f64,
    #[serde(default)]
    pub on_miss: Vec<StepSpec>,
    /// Coalesce concurrent misses of one key into a single fill.
    #[serde(default, skip_serializing_if = "is_false")]
    pub single_flight: bool,
    /// Cache under `key@version`: a write makes the next read miss instead
    /// of serving stale data (old versions linger until evicted).
    #[serde(default, skip_serializing_if = "is_false")]
    pub versioned_keys: bool,
    #[serde(flatten)]
    pub policy: CallPolicy,
}
fn default_size_kb() -> f64 {
    1.0
}

/// What a write does to cached copies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invalidate {
    /// Nothing: readers see the old value until it expires (TTL) or is evicted.
    #[default]
    None,
    /// Delete the cached key.
    Delete,
}

/// A write to the source of truth of a key (bumps its version).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteSpec {
    pub key: KeySpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
    #[serde(default)]
    pub invalidate: Invalidate,
}

/// Publish a message to a broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSpec {
    pub broker: String,
    /// Partition key (default: round robin over partitions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeySpec>,
    #[serde(flatten)]
    pub policy: CallPolicy,
}

/// Repeat `steps` `count` times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatSpec {
    pub count: Count,
    pub steps: Vec<StepSpec>,
}

/// Hold a lock while running `steps`; other holders of the same key wait.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedSpec {
    pub lock: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeySpec>,
    pub steps: Vec<StepSpec>,
}

/// One weighted branch of a `choose` step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchSpec {
    pub p: f64,
    pub steps: Vec<StepSpec>,
}

/// One step of a handler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StepSpec {
    /// Work on the worker for a drawn duration.
    Compute(DistSpec),
    /// A synchronous call to another node.
    Call(CallSpec),
    /// A database query.
    Query(QuerySpec),
    /// Cache-aside read.
    CacheRead(CacheReadSpec),
    /// Update the source of truth of a key.
    Write(WriteSpec),
    /// Publish to a broker.
    Publish(PublishSpec),
    /// A loop.
    Repeat(RepeatSpec),
    /// Calls that run at the same time; the step waits for all.
    Parallel(Vec<StepSpec>),
    /// A critical section.
    Locked(LockedSpec),
    /// A random branch: `choose = [ { p = 0.9, steps = [...] }, ... ]`.
    Choose(Vec<BranchSpec>),
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
fn default_restart() -> f64 {
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
    #[serde(default)]
    pub cooldown_s: f64,
    /// Provisioning delay before a new replica takes traffic.
    #[serde(default)]
    pub boot_s: f64,
}
fn default_interval() -> f64 {
    15.0
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
    /// Probability that a request ends in an error.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error_rate: f64,
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

// ----- faults ----------------------------------------------------------------------

/// A scheduled fault or operation. (Unknown fields are caught by
/// `FaultAction`: serde cannot deny them on a struct with a flattened enum.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub at_s: f64,
    /// Absent: the fault lasts until the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    pub target: String,
    /// Only this replica (default: all; `crash` defaults to replica 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<u32>,
    #[serde(flatten)]
    pub action: FaultAction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// The replica dies: its requests fail, arrivals are refused; it comes
    /// back when the fault ends.
    Crash,
    /// Restart (a deploy): with `drain`, stop taking traffic, finish
    /// in-flight work, then restart; without, die at once.
    Restart {
        #[serde(default)]
        drain: bool,
        #[serde(default = "default_restart")]
        down_s: f64,
    },
    /// Requests vanish: no answer at all (only timeouts help).
    Hang,
    /// Compute steps take `factor` times longer.
    Slow { factor: f64 },
    /// Requests fail with probability `p`.
    Errors { p: f64 },
    /// A noisy neighbour steals `steal` (0..1) of the CPU.
    NoisyNeighbour { steal: f64 },
    /// Calls between `target` and `peer` fail (a database's replicas: `peer`
    /// = "replicas").
    Partition { peer: String },
    /// Empty a cache.
    Flush,
    /// Set the replica count of a service.
    Scale { replicas: u32 },
    /// Multiply every source's rate by `factor` (a load spike).
    Spike { factor: f64 },
}

/// A latency SLO: `target` of requests answered OK within `latency_s`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    pub latency_s: f64,
    #[serde(default = "default_slo_target")]
    pub target: f64,
}
fn default_slo_target() -> f64 {
    0.99
}

/// Per-request tracing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSpec {
    /// Trace one request in `every` (0: off).
    #[serde(default = "default_trace_every")]
    pub every: u64,
    /// Completed traces kept (most recent, plus as many slowest).
    #[serde(default = "default_trace_keep")]
    pub keep: usize,
}
fn default_trace_every() -> u64 {
    50
}
fn default_trace_keep() -> usize {
    32
}
impl Default for TraceSpec {
    fn default() -> Self {
        TraceSpec {
            every: default_trace_every(),
            keep: default_trace_keep(),
        }
    }
}
