//! The range of every numeric field of the scenario format, in one table.
//!
//! Validation checks each number against its entry here (and nowhere else),
//! and the page's sliders take their limits, step kind, unit and label from
//! the same entry, so a control can never offer a value the scenario
//! refuses. An entry is found by the field's path: [`bounds`] matches
//! `nodes.api.workers` against `nodes.*.workers` and
//! `nodes.api.steps[2].call.timeout_s` against `**.timeout_s`.

use super::doc::{split_path, ScenarioError};
use super::steps::{MAX_BREAKER_WINDOW, MAX_RATE, MIN_RATE};

/// The values a numeric field accepts, and how to show it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldBounds {
    pub min: f64,
    pub max: f64,
    /// `min` itself is refused (a rate must be > 0).
    pub min_open: bool,
    /// `max` itself is refused (a TTL jitter must be < 1).
    pub max_open: bool,
    /// Whole numbers only.
    pub integer: bool,
    /// `"s"`, `"req/s"`, `""`.
    pub unit: &'static str,
    /// What the field is, in a few words: `"arrival rate"`.
    pub label: &'static str,
}

const INF: f64 = f64::INFINITY;

const fn int(min: f64, max: f64, label: &'static str, unit: &'static str) -> FieldBounds {
    FieldBounds {
        min,
        max,
        min_open: false,
        max_open: false,
        integer: true,
        unit,
        label,
    }
}

/// A real number in `[min, max]`.
const fn real(min: f64, max: f64, label: &'static str, unit: &'static str) -> FieldBounds {
    FieldBounds {
        min,
        max,
        min_open: false,
        max_open: false,
        integer: false,
        unit,
        label,
    }
}

/// A real number > 0 and at most `max`.
const fn pos(max: f64, label: &'static str, unit: &'static str) -> FieldBounds {
    FieldBounds {
        min_open: true,
        ..real(0.0, max, label, unit)
    }
}

/// The longest time a field may hold: 10^9 s (about 31 years) is 10^18
/// ns, so a time plus any such duration still fits u64 nanoseconds.
pub const MAX_SECS: f64 = 1e9;
/// The clock's tick: a positive duration shorter than 1 ns would be 0 ns.
pub const MIN_SECS: f64 = 1e-9;
/// The shortest period of a periodic timer (a time-series window, an
/// autoscaler's or a health check's tick): one tick per nanosecond would
/// swamp any run with timer events.
pub const MIN_PERIOD_S: f64 = 1e-3;

/// A positive duration: at least one nanosecond, at most [`MAX_SECS`].
const fn secs(label: &'static str) -> FieldBounds {
    real(MIN_SECS, MAX_SECS, label, "s")
}

/// A duration that may be 0.
const fn nonneg_secs(label: &'static str) -> FieldBounds {
    real(0.0, MAX_SECS, label, "s")
}

/// The period of a periodic timer.
const fn period(label: &'static str) -> FieldBounds {
    real(MIN_PERIOD_S, MAX_SECS, label, "s")
}

const fn prob(label: &'static str) -> FieldBounds {
    real(0.0, 1.0, label, "")
}

const U32: f64 = u32::MAX as f64;
/// A count drawn per request never exceeds this.
pub const MAX_COUNT: f64 = 1e6;
/// Highest coefficient of variation of a distribution.
pub const MAX_CV: f64 = 1e3;
/// Highest arrival rate of a source (requests/s).
pub const MAX_ARRIVAL_RATE: f64 = 1e7;

/// Every numeric field: (path pattern, bounds). Patterns are dotted; `*`
/// stands for one segment (a name or a list index), a leading `**` for any
/// number of segments, and `a|b` for either name. The first match wins, so
/// specific patterns come before general ones.
const FIELDS: &[(&str, FieldBounds)] = &[
    // --- the run
    ("duration_s", secs("run length")),
    ("warmup_s", nonneg_secs("warm-up")),
    ("metrics.window_s", period("window width")),
    ("metrics.max_windows", int(1.0, 1e5, "windows kept", "")),
    ("traces.keep", int(0.0, 1e4, "traces kept", "")),
    ("slo.latency_s", secs("SLO latency")),
    (
        "slo.target",
        FieldBounds {
            max_open: true,
            ..pos(1.0, "SLO target", "")
        },
    ),
    ("alerts.*.window_s", secs("alert window")),
    ("alerts.*.long_s", secs("long window")),
    ("alerts.*.short_s", secs("short window")),
    ("alerts.*.above", real(0.0, 1e6, "alert threshold", "")),
    ("layout.*.x|y", real(-INF, INF, "canvas position", "")),
    (
        "links.*.bandwidth_mbps",
        pos(INF, "link bandwidth", "Mbit/s"),
    ),
    // --- faults
    ("faults.*.at_s", nonneg_secs("fault start")),
    ("faults.*.duration_s", secs("fault length")),
    ("faults.*.down_s", nonneg_secs("restart downtime")),
    ("faults.*.factor", pos(INF, "factor", "×")),
    ("faults.*.p", prob("error probability")),
    (
        "faults.*.steal",
        FieldBounds {
            max_open: true,
            ..real(0.0, 0.95, "CPU stolen", "")
        },
    ),
    ("faults.*.replicas", int(1.0, 1e3, "replicas", "")),
    // --- sources
    (
        "nodes.*.arrival.rate",
        pos(MAX_ARRIVAL_RATE, "arrival rate", "req/s"),
    ),
    ("nodes.*.arrival.points.*.at_s", nonneg_secs("time")),
    (
        "nodes.*.arrival.points.*.rate",
        real(0.0, MAX_ARRIVAL_RATE, "arrival rate", "req/s"),
    ),
    ("nodes.*.arrival.users", int(1.0, 1e6, "users", "")),
    ("nodes.*.users.count", int(1.0, 1e8, "users", "")),
    ("nodes.*.users.zipf", real(0.0, 5.0, "user skew (Zipf)", "")),
    // --- stations
    ("nodes.*.workers", int(1.0, 1e5, "workers", "")),
    ("nodes.*.replicas", int(1.0, 1e3, "replicas", "")),
    ("nodes.*.cores", int(1.0, 1e5, "cores", "")),
    ("nodes.*.shards", int(1.0, 1e3, "shards", "")),
    (
        "nodes.*.pools.*.min_idle",
        int(0.0, 1e5, "connections opened at start", ""),
    ),
    (
        "nodes.*.max_connections",
        int(1.0, 1e6, "connection limit", ""),
    ),
    (
        "nodes.*.max_in_flight",
        int(1.0, 1e7, "concurrency limit", ""),
    ),
    (
        "nodes.*.max_concurrency",
        int(1.0, 1e7, "concurrency limit", ""),
    ),
    (
        "nodes.*.queue.capacity",
        int(0.0, 1e8, "queue capacity", "requests"),
    ),
    ("nodes.*.contention.cores", int(1.0, 1e5, "cores", "")),
    (
        "nodes.*.contention.penalty",
        real(0.0, INF, "contention penalty", ""),
    ),
    ("nodes.*.error_rate", prob("error rate")),
    (
        "nodes.*.memory.base_mb",
        real(0.0, INF, "base memory", "MB"),
    ),
    (
        "nodes.*.memory.per_request_mb",
        real(0.0, INF, "memory per request", "MB"),
    ),
    ("nodes.*.memory.limit_mb", pos(INF, "memory limit", "MB")),
    ("nodes.*.memory.restart_s", secs("restart time")),
    ("nodes.*.pools.*.size", int(1.0, 1e5, "pool size", "")),
    (
        "nodes.*.pools.*.acquire_timeout_s",
        secs("pool acquire timeout"),
    ),
    (
        "nodes.*.pools.*.max_waiters",
        int(0.0, U32, "pool waiters", ""),
    ),
    (
        "nodes.*.autoscale.target",
        pos(INF, "autoscaling target", ""),
    ),
    ("nodes.*.autoscale.min|max", int(1.0, 1e3, "replicas", "")),
    (
        "nodes.*.autoscale.interval_s",
        period("autoscaling interval"),
    ),
    (
        "nodes.*.autoscale.cooldown_s",
        nonneg_secs("autoscaling cooldown"),
    ),
    ("nodes.*.autoscale.boot_s", nonneg_secs("boot time")),
    ("nodes.*.serverless.cold_start_s", nonneg_secs("cold start")),
    ("nodes.*.serverless.idle_timeout_s", period("idle timeout")),
    (
        "nodes.*.serverless.min_instances",
        int(0.0, 1e3, "warm instances", ""),
    ),
    (
        "nodes.*.serverless.max_instances",
        int(1.0, 1e3, "instances", ""),
    ),
    (
        "nodes.*.autoscale.scale_up_cooldown_s|scale_down_cooldown_s",
        nonneg_secs("autoscaling cooldown"),
    ),
    (
        "nodes.*.autoscale.tolerance",
        FieldBounds {
            max_open: true,
            ..prob("autoscaling tolerance")
        },
    ),
    (
        "nodes.*.load.per_request_s",
        real(0.0, 1e3, "slowdown per request", "s"),
    ),
    (
        "**.rate_limit.rate",
        real(MIN_RATE, MAX_ARRIVAL_RATE, "rate limit", "req/s"),
    ),
    ("**.rate_limit.burst", real(1.0, 1e12, "burst", "requests")),
    (
        "**.rate_limit.capacity",
        int(0.0, 1e7, "waiting room", "requests"),
    ),
    // --- databases
    ("nodes.*.cost.*", real(0.0, MAX_SECS, "query cost", "s")),
    (
        "nodes.*.tables.*.rows",
        real(0.0, 1e12, "table rows", "rows"),
    ),
    (
        "nodes.*.tables.*.growth_per_s",
        real(0.0, INF, "table growth", "rows/s"),
    ),
    (
        "nodes.*.tables.*.row_bytes",
        real(0.0, INF, "row size", "bytes"),
    ),
    (
        "nodes.*.read_replicas.count",
        int(0.0, 100.0, "read replicas", ""),
    ),
    (
        "nodes.*.read_replicas.lag_s",
        nonneg_secs("replication lag"),
    ),
    // --- caches
    (
        "nodes.*.capacity_entries",
        int(1.0, 1e8, "cache entries", ""),
    ),
    ("nodes.*.capacity_mb", pos(INF, "cache size", "MB")),
    ("nodes.*.ttl_s", secs("TTL")),
    (
        "nodes.*.ttl_jitter",
        FieldBounds {
            max_open: true,
            ..prob("TTL jitter")
        },
    ),
    // Warming inserts every key before the run starts: 10^7 took 3 GB and
    // 25 s; a million is a few hundred MB at most.
    ("nodes.*.warm", int(0.0, 1e6, "warmed keys", "")),
    // --- brokers
    ("nodes.*.partitions", int(1.0, 1e4, "partitions", "")),
    ("nodes.*.consumers", int(0.0, 1e4, "consumers", "")),
    (
        "nodes.*.capacity",
        int(1.0, 1e8, "partition capacity", "messages"),
    ),
    ("nodes.*.poison_rate", prob("poison rate")),
    (
        "nodes.*.max_attempts",
        int(1.0, 1e3, "delivery attempts", ""),
    ),
    ("nodes.*.redelivery_s", nonneg_secs("redelivery delay")),
    // --- load balancers
    (
        "nodes.*.health_check.interval_s",
        period("health-check interval"),
    ),
    (
        "nodes.*.health_check.unhealthy_after",
        int(1.0, 100.0, "failed checks", ""),
    ),
    // --- call policy (sources, steps, broker handlers)
    ("**.bandwidth_mbps", pos(INF, "bandwidth", "Mbit/s")),
    ("**.request_kb|response_kb", real(0.0, INF, "payload", "kB")),
    (
        "**.compression.ratio",
        real(1.0, INF, "compression ratio", ""),
    ),
    (
        "**.compression.cpu_s_per_mb",
        real(0.0, INF, "compression CPU", "s/MB"),
    ),
    (
        "**.connection.handshake_round_trips",
        int(0.0, 10.0, "handshake round trips", ""),
    ),
    (
        "**.connection.handshake_cpu_s",
        real(0.0, 10.0, "handshake CPU", "s"),
    ),
    ("**.timeout_s", secs("timeout")),
    ("**.retries.max", int(0.0, 20.0, "retries", "")),
    ("**.backoff.base_s", secs("backoff base")),
    ("**.backoff.max_s", secs("backoff cap")),
    (
        "**.backoff.multiplier",
        real(1.0, INF, "backoff growth", "×"),
    ),
    ("**.budget.ratio", real(0.0, 1e3, "retry budget ratio", "")),
    (
        "**.budget.min_per_s",
        real(0.0, MAX_RATE, "retries always allowed", "1/s"),
    ),
    (
        "**.budget.ttl_s",
        real(1e-6, 1e6, "retry budget window", "s"),
    ),
    (
        "**.breaker.failure_ratio",
        pos(1.0, "breaker failure ratio", ""),
    ),
    (
        "**.breaker.min_calls|window",
        int(1.0, MAX_BREAKER_WINDOW as f64, "breaker window", "calls"),
    ),
    ("**.breaker.open_s", nonneg_secs("breaker open time")),
    (
        "**.breaker.half_open_calls",
        int(1.0, U32, "trial calls", ""),
    ),
    ("**.hedge.after_s", secs("hedge delay")),
    // --- steps
    ("**.query.page_size", int(1.0, U32, "page size", "rows")),
    ("**.key.n", int(1.0, 1e8, "keys", "")),
    ("**.key.zipf", real(0.0, 5.0, "key skew (Zipf)", "")),
    // At most 1 GB an entry: the cache sums sizes in u64 bytes.
    ("**.cache_read.size_kb", real(0.0, 1e6, "entry size", "kB")),
    ("**.choose.*.p", prob("branch probability")),
    // --- counts (a plain number, or a distribution's parameters)
    ("**.count|rows|items", int(0.0, MAX_COUNT, "count", "")),
    (
        "**.count|rows|items.value|min|max",
        int(0.0, MAX_COUNT, "count", ""),
    ),
    (
        "**.count|rows|items.mean",
        real(0.0, MAX_COUNT, "mean count", ""),
    ),
    (
        "**.count|rows|items.times",
        int(0.0, 1e4, "multiplier", "×"),
    ),
    (
        "**.count|rows|items.fraction",
        prob("fraction of the table"),
    ),
    // --- durations (a distribution's parameters)
    ("**.value_s|min_s|max_s", nonneg_secs("duration")),
    ("**.mean_s", secs("mean duration")),
    // A lognormal's sigma^2 = ln(1 + cv^2): finite and usable up to here
    // (beyond ~1e154 it overflows; long before, every draw is ~0 or huge).
    ("**.cv", pos(MAX_CV, "coefficient of variation", "")),
    ("**.k", int(1.0, 1e3, "phases", "")),
    ("**.p_slow", prob("slow fraction")),
];

/// The bounds of the numeric field at `path` (`nodes.api.workers`), if it
/// is one.
pub fn bounds(path: &str) -> Option<FieldBounds> {
    let segs = split_path(path).ok()?;
    FIELDS
        .iter()
        .find(|(pattern, _)| matches(pattern, &segs))
        .map(|(_, b)| *b)
}

/// Does `path` (split) match `pattern`?
fn matches(pattern: &str, path: &[String]) -> bool {
    let (anywhere, pattern) = match pattern.strip_prefix("**.") {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let pat: Vec<&str> = pattern.split('.').collect();
    if path.len() < pat.len() || (!anywhere && path.len() != pat.len()) {
        return false;
    }
    let tail = &path[path.len() - pat.len()..];
    pat.iter()
        .zip(tail)
        .all(|(p, s)| *p == "*" || p.split('|').any(|alt| alt == s))
}

/// A bound as people write it: `100000`, `1e7`, `0.95`, `1e-9`.
fn show(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e6 {
        format!("{x:.0}")
    } else if x.abs() >= 1e6 || x.abs() < 1e-3 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

impl FieldBounds {
    /// Whether `v` is accepted.
    pub fn contains(&self, v: f64) -> bool {
        let above = if self.min_open {
            v > self.min
        } else {
            v >= self.min
        };
        let below = if self.max_open {
            v < self.max
        } else {
            v <= self.max
        };
        v.is_finite() && above && below && (!self.integer || v.fract() == 0.0)
    }

    /// What the field accepts, as the end of "must be ...":
    /// `"an integer between 1 and 100000"`, `"a number > 0 and <= 1e7"`.
    pub fn describe(&self) -> String {
        let what = if self.integer {
            "an integer"
        } else {
            "a finite number"
        };
        let lo = if self.min_open { ">" } else { ">=" };
        let hi = if self.max_open { "<" } else { "<=" };
        match (self.min.is_finite(), self.max.is_finite()) {
            (false, false) => what.to_string(),
            (true, false) => format!("{what} {lo} {}", show(self.min)),
            (false, true) => format!("{what} {hi} {}", show(self.max)),
            (true, true) if !self.min_open && !self.max_open => {
                format!("{what} between {} and {}", show(self.min), show(self.max))
            }
            (true, true) => format!("{what} {lo} {} and {hi} {}", show(self.min), show(self.max)),
        }
    }

    /// The check validation makes: the error names `path`, the range and
    /// the value.
    pub fn check(&self, path: &str, v: f64) -> Result<(), ScenarioError> {
        if self.contains(v) {
            Ok(())
        } else {
            Err(ScenarioError::new(
                path,
                format!("must be {}, got {v}", self.describe()),
            ))
        }
    }

    /// The smallest accepted value a control can offer (`min` itself, or
    /// one `step` above it when `min` is excluded).
    pub fn lowest(&self, step: f64) -> f64 {
        if self.min_open {
            self.min + step
        } else {
            self.min
        }
    }

    /// The largest accepted value a control can offer.
    pub fn highest(&self, step: f64) -> f64 {
        if self.max_open {
            self.max - step
        } else {
            self.max
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_entry() {
        let b = bounds("nodes.api.workers").unwrap();
        assert_eq!((b.min, b.max, b.integer), (1.0, 1e5, true));
        assert_eq!(
            bounds("nodes.clients.arrival.rate").unwrap().label,
            "arrival rate"
        );
        // policy fields wherever a call is declared
        for p in [
            "nodes.clients.timeout_s",
            "nodes.api.steps[2].call.timeout_s",
            "nodes.api.steps.0.cache_read.on_miss[1].query.timeout_s",
            "nodes.queue.handler.timeout_s",
        ] {
            assert_eq!(bounds(p).unwrap().label, "timeout", "{p}");
        }
        // the first match wins: the backoff's cap is not a duration's max_s
        assert_eq!(
            bounds("nodes.a.steps[0].call.retries.backoff.max_s")
                .unwrap()
                .label,
            "backoff cap"
        );
        assert_eq!(
            bounds("nodes.a.steps[0].compute.max_s").unwrap().label,
            "duration"
        );
        assert_eq!(bounds("nodes.db.read_replicas.count").unwrap().max, 100.0);
        assert_eq!(
            bounds("nodes.a.steps[1].call.count").unwrap().max,
            MAX_COUNT
        );
        assert_eq!(
            bounds("nodes.db.tables.orders.rows").unwrap().label,
            "table rows"
        );
        assert_eq!(
            bounds("nodes.a.steps[1].query.rows").unwrap().label,
            "count"
        );
        assert_eq!(bounds("nodes.api.kind"), None);
        assert_eq!(bounds("nodes.api"), None);
        assert_eq!(bounds("not a [path"), None);
    }

    #[test]
    fn checks_say_the_range_and_the_value() {
        let w = bounds("nodes.api.workers").unwrap();
        assert!(w.contains(1.0) && w.contains(1e5));
        assert!(!w.contains(0.0) && !w.contains(1e5 + 1.0) && !w.contains(2.5));
        assert_eq!(
            w.check("nodes.api.workers", 0.0).unwrap_err().to_string(),
            "nodes.api.workers: must be an integer between 1 and 100000, got 0"
        );
        let r = bounds("nodes.c.arrival.rate").unwrap();
        assert!(!r.contains(0.0) && r.contains(1e-9) && r.contains(1e7));
        assert!(!r.contains(f64::NAN) && !r.contains(f64::INFINITY));
        assert_eq!(r.describe(), "a finite number > 0 and <= 1e7");
        assert_eq!(
            bounds("nodes.a.timeout_s").unwrap().describe(),
            "a finite number between 1e-9 and 1e9"
        );
        let j = bounds("nodes.cache.ttl_jitter").unwrap();
        assert!(j.contains(0.0) && !j.contains(1.0));
        assert_eq!(j.describe(), "a finite number >= 0 and < 1");
        assert_eq!(
            bounds("layout.api.x").unwrap().describe(),
            "a finite number"
        );
        assert_eq!(
            (r.lowest(0.1), w.lowest(1.0), j.highest(0.01)),
            (0.1, 1.0, 0.99)
        );
    }

    #[test]
    fn every_pattern_is_well_formed() {
        for (p, b) in FIELDS {
            assert!(!p.is_empty() && !p.contains(' '), "{p}");
            assert!(!p[2..].contains("**"), "{p}: ** only leads");
            assert!(b.min <= b.max && !b.min.is_nan(), "{p}");
            assert!(!b.label.is_empty(), "{p}");
            if b.integer {
                assert!(b.min.fract() == 0.0 && (b.max.fract() == 0.0 || b.max.is_infinite()));
            }
        }
    }
}
