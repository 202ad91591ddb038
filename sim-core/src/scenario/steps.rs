//! Handler steps and call policies: what a service does for a request and
//! how each of its calls travels, with the value types they are made of
//! (counts, keys, durations, backoff, retry budgets, breakers, rate
//! limiters). Plain data read from TOML/JSON: the rules are in
//! `validate.rs`, the runtime halves in `dist.rs`, `resilience.rs` and
//! `sim/`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

pub(crate) fn one() -> u32 {
    1
}
pub(crate) fn yes() -> bool {
    true
}
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
pub(crate) fn is_zero(x: &f64) -> bool {
    *x == 0.0
}
pub(crate) fn is_one(x: &u32) -> bool {
    *x == 1
}

// ----- durations ---------------------------------------------------------------

/// A duration distribution as written in a scenario, in seconds.
///
/// ```toml
/// service = { dist = "exponential", mean_s = 1.0 }
/// service = { dist = "lognormal", mean_s = 0.05, cv = 1.5 }
/// service = { dist = "mixture", p_slow = 0.01,
///             fast = { dist = "constant", value_s = 0.01 },
///             slow = { dist = "constant", value_s = 1.0 } }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum DistSpec {
    /// Always `value_s`.
    Constant { value_s: f64 },
    /// Exponential with mean `mean_s` (memoryless; M in Kendall notation).
    Exponential { mean_s: f64 },
    /// Uniform on `[min_s, max_s]`.
    Uniform { min_s: f64, max_s: f64 },
    /// Lognormal with the given mean and coefficient of variation
    /// (`cv` = standard deviation / mean).
    Lognormal { mean_s: f64, cv: f64 },
    /// Erlang-k: the sum of `k` exponential phases, total mean `mean_s`
    /// (cv = 1/sqrt(k)).
    Erlang { k: u32, mean_s: f64 },
    /// Two-phase mixture: with probability `p_slow` draw from `slow`,
    /// otherwise from `fast` ("1% of requests are slow").
    Mixture {
        p_slow: f64,
        fast: Box<DistSpec>,
        slow: Box<DistSpec>,
    },
}

impl DistSpec {
    pub fn constant(value_s: f64) -> Self {
        DistSpec::Constant { value_s }
    }
    pub fn exponential(mean_s: f64) -> Self {
        DistSpec::Exponential { mean_s }
    }

    /// The mean in seconds.
    pub fn mean_s(&self) -> f64 {
        match self {
            DistSpec::Constant { value_s } => *value_s,
            DistSpec::Exponential { mean_s } => *mean_s,
            DistSpec::Uniform { min_s, max_s } => (min_s + max_s) / 2.0,
            DistSpec::Lognormal { mean_s, .. } => *mean_s,
            DistSpec::Erlang { mean_s, .. } => *mean_s,
            DistSpec::Mixture { p_slow, fast, slow } => {
                (1.0 - p_slow) * fast.mean_s() + p_slow * slow.mean_s()
            }
        }
    }

    /// The second moment E[S^2] in s^2 (for Pollaczek–Khinchine).
    pub fn second_moment_s2(&self) -> f64 {
        match self {
            DistSpec::Constant { value_s } => value_s * value_s,
            DistSpec::Exponential { mean_s } => 2.0 * mean_s * mean_s,
            DistSpec::Uniform { min_s, max_s } => {
                (min_s * min_s + min_s * max_s + max_s * max_s) / 3.0
            }
            DistSpec::Lognormal { mean_s, cv } => mean_s * mean_s * (1.0 + cv * cv),
            DistSpec::Erlang { k, mean_s } => mean_s * mean_s * (1.0 + 1.0 / *k as f64),
            DistSpec::Mixture { p_slow, fast, slow } => {
                (1.0 - p_slow) * fast.second_moment_s2() + p_slow * slow.second_moment_s2()
            }
        }
    }
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
                .and_then(|x| u32::try_from(x).ok())
                .map(Count::Constant)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!("a count is a whole number, got {n}"))
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

// ----- call policy ---------------------------------------------------------------

/// Retry policy of a call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Retries after the first attempt.
    pub max: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<BackoffSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<RetryBudgetSpec>,
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

/// How a call gets its connection. With keep-alive (the default, and what
/// an absent `connection` means) the caller reuses open connections, and
/// setting one up is paid once, not per call. Without it every attempt
/// opens a new connection first: `handshake_round_trips` round trips of
/// the hop before the request leaves (TCP's, then TLS's: 2 for TLS 1.3, 3
/// for TLS 1.2), and `handshake_cpu_s` of the callee's worker time (the TLS
/// key exchange; services and databases spend it, other kinds have no
/// workers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSpec {
    #[serde(default = "yes")]
    pub keep_alive: bool,
    #[serde(default = "two")]
    pub handshake_round_trips: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub handshake_cpu_s: f64,
}

fn two() -> u32 {
    2
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
    /// A shared link (top-level `links`) the call's bytes cross, each way:
    /// its bandwidth is divided among every transfer on it at the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_kb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_kb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<CompressionSpec>,
    /// Keep-alive, or a new connection (and its handshake) per attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionSpec>,
    /// The caller gives up on an attempt after this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// Pass the remaining time budget down so callees drop expired work.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deadline_propagation: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<RetrySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerSpec>,
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

// ----- resilience ------------------------------------------------------------------

/// Largest rate (events per second) a limiter accepts.
pub const MAX_RATE: f64 = 1e9;
/// Smallest non-zero rate (the quantum of rate arithmetic).
pub const MIN_RATE: f64 = 1e-6;

/// How a retry delay is randomised; the definitions of the AWS Architecture
/// Blog post "Exponential Backoff and Jitter" (Brooker, 2015).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// `exp` (no randomness; draws nothing).
    None,
    /// `uniform[0, exp]`.
    Full,
    /// `exp/2 + uniform[0, exp/2]`.
    Equal,
    /// `min(max, uniform[base, 3 * previous delay])`.
    Decorrelated,
}

/// Retry delay policy, in seconds.
///
/// ```toml
/// backoff = { base_s = 0.01, max_s = 1.0, jitter = "full" }   # multiplier = 2
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffSpec {
    /// Delay before the first retry (before jitter).
    pub base_s: f64,
    /// Cap on every delay.
    pub max_s: f64,
    /// Growth per retry (`exp = base * multiplier^(retry-1)`); default 2.
    #[serde(default = "default_multiplier")]
    pub multiplier: f64,
    pub jitter: Jitter,
}

fn default_multiplier() -> f64 {
    2.0
}

/// Finagle-style retry budget: retries may add `ratio` extra load on top of
/// `min_per_s` retries per second that are always allowed, both measured
/// over a sliding window of `ttl_s`.
///
/// ```toml
/// retry_budget = { ratio = 0.1, min_per_s = 10 }   # ttl_s = 10
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryBudgetSpec {
    /// Retries per request (0.1: retries may add 10% load). In [0, 1000].
    pub ratio: f64,
    /// Retries per second allowed regardless of traffic.
    pub min_per_s: f64,
    /// How long a deposit (or withdrawal) counts; default 10.
    #[serde(default = "default_ttl")]
    pub ttl_s: f64,
}

fn default_ttl() -> f64 {
    10.0
}

/// Count-based circuit breaker.
///
/// ```toml
/// breaker = { failure_ratio = 0.5, min_calls = 20, window = 100,
///             open_s = 5.0, half_open_calls = 3 }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSpec {
    /// Open when failures / recorded >= this, in (0, 1].
    pub failure_ratio: f64,
    /// Outcomes needed in the window before the breaker may open.
    pub min_calls: u32,
    /// The window: the most recent `window` outcomes.
    pub window: u32,
    /// Time spent open before trial calls are let through.
    pub open_s: f64,
    /// Trial calls in half-open; that many successes close the breaker.
    pub half_open_calls: u32,
}

/// Largest [`BreakerSpec::window`] (the window is a buffer of this many
/// outcomes).
pub const MAX_BREAKER_WINDOW: u32 = 1_000_000;

/// Token bucket rate limiter: `rate` tokens per second, at most `burst`
/// stored; a request takes one token.
///
/// ```toml
/// limit = { rate = 100, burst = 20 }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBucketSpec {
    /// Refill rate, tokens per second.
    pub rate: f64,
    /// Bucket size in tokens (>= 1); the bucket starts full.
    pub burst: f64,
}

/// Leaky bucket as a meter: requests leave exactly `1 / rate` apart; up to
/// `capacity` may wait.
///
/// ```toml
/// shape = { rate = 50, capacity = 100 }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakyBucketSpec {
    /// Departures per second.
    pub rate: f64,
    /// Most requests waiting at once (0: admit only when idle).
    pub capacity: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_defaults_and_reject_unknown_fields() {
        let b: BackoffSpec =
            toml::from_str("base_s = 0.01\nmax_s = 1.0\njitter = \"full\"").unwrap();
        assert_eq!(b.multiplier, 2.0);
        assert_eq!(b.jitter, Jitter::Full);
        let b: BackoffSpec =
            toml::from_str("base_s = 0.01\nmax_s = 1.0\njitter = \"decorrelated\"\nmultiplier = 3")
                .unwrap();
        assert_eq!((b.multiplier, b.jitter), (3.0, Jitter::Decorrelated));
        assert!(
            toml::from_str::<BackoffSpec>("base_s=1\nmax_s=2\njitter=\"none\"\nfoo=1").is_err()
        );
        assert!(toml::from_str::<BackoffSpec>("base_s=1\nmax_s=2\njitter=\"Full\"").is_err());

        let r: RetryBudgetSpec = toml::from_str("ratio = 0.1\nmin_per_s = 10").unwrap();
        assert_eq!(r.ttl_s, 10.0);
        assert!(toml::from_str::<RetryBudgetSpec>("ratio=0.1\nmin_per_s=1\nttl=3").is_err());

        let br: BreakerSpec = toml::from_str(
            "failure_ratio=0.5\nmin_calls=4\nwindow=10\nopen_s=5\nhalf_open_calls=2",
        )
        .unwrap();
        assert_eq!(br.window, 10);
        assert!(toml::from_str::<BreakerSpec>(
            "failure_ratio=0.5\nmin_calls=4\nwindow=10\nopen_s=5\nhalf_open_calls=2\nx=1"
        )
        .is_err());

        let t: TokenBucketSpec = toml::from_str("rate = 100\nburst = 20").unwrap();
        assert_eq!((t.rate, t.burst), (100.0, 20.0));
        let l: LeakyBucketSpec = toml::from_str("rate = 50\ncapacity = 10").unwrap();
        assert_eq!(l.capacity, 10);
        assert!(toml::from_str::<LeakyBucketSpec>("rate=1\ncapacity=1\nburst=2").is_err());
    }
}
