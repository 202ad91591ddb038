//! The end-of-run report and its renderings (JSON, table, CSV). Rendering
//! builds strings; writing them anywhere is the caller's business.

use crate::metrics::{Summary, Window, HEAT_BUCKETS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    pub sim_time_s: f64,
    pub warmup_s: f64,
    /// Calendar events processed.
    pub events: u64,
    /// Wall-clock seconds of the run (0 from the library, which has no clock).
    pub wall_s: f64,
    pub end_to_end: E2eReport,
    pub nodes: BTreeMap<String, NodeReport>,
    /// Per source (end to end, by client).
    pub sources: BTreeMap<String, SourceReport>,
    /// Per call edge that saw traffic.
    pub edges: Vec<EdgeReport>,
    /// Per shared link (absent without links).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, LinkReport>,
    /// Judged against the scenario's SLO (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<SloReport>,
    /// Per alert rule (absent without `alerts`): when it fired.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub alerts: BTreeMap<String, AlertReport>,
    pub conservation: Conservation,
    pub series: Series,
    /// The slowest traced requests (see `traces` in the scenario).
    pub slowest_traces: Vec<Trace>,
}

/// What a span measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// A call as the caller sees it, first send to answer (all attempts).
    Call,
    /// Time on the wire (hop latency plus transfer), either way.
    Network,
    /// Waiting in a node's queue for a worker.
    Queue,
    /// Waiting for a pool connection.
    PoolWait,
    /// Waiting for a lock.
    LockWait,
    /// Work on a worker.
    Compute,
    /// Waiting before a retry.
    Backoff,
    /// Producing a fallback answer.
    Fallback,
    /// A request's whole stay in a node.
    Job,
}

/// One span of a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub kind: SpanKind,
    pub node: String,
    /// Depth in the call tree (0 = the client's call).
    pub depth: u8,
    /// Attempt number of the call it belongs to (0 = first try).
    pub attempt: u8,
    /// Seconds since the request started.
    pub start_s: f64,
    pub end_s: f64,
    /// For calls and jobs: ok, rejected, failed, timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// A finished request's trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// The request's number among its source's requests.
    pub id: u64,
    pub source: String,
    /// Simulated time the request started.
    pub start_s: f64,
    pub latency_s: f64,
    pub outcome: String,
    pub spans: Vec<Span>,
    /// True if spans were dropped (a trace holds a bounded number).
    pub truncated: bool,
}

/// A shared link over the measured period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkReport {
    pub bandwidth_mbps: f64,
    /// Transfers completed, and the megabytes they carried.
    pub transfers: u64,
    pub mb: f64,
    /// Fraction of time at least one transfer was on the link (a shared
    /// link serves at full speed whenever anything is on it).
    pub utilisation: f64,
    /// Time-averaged transfers on the link (each gets bandwidth / this).
    pub transfers_mean: f64,
    /// Megabits per second of completed transfers (on an overloaded link
    /// everything is sent slowly and little completes: see `utilisation`).
    pub goodput_mbps: f64,
    /// Transfers on the link at the end of the run.
    pub active: u64,
}

/// SLO compliance and error-budget burn, after warm-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloReport {
    pub latency_s: f64,
    pub target: f64,
    /// Requests that finished (OK or not) after warm-up.
    pub requests: u64,
    /// Fraction answered OK within `latency_s` (errors count as bad).
    pub compliance: f64,
    /// (1 - compliance) / (1 - target): 1 spends the error budget exactly
    /// as fast as allowed; above 1 the SLO will be missed.
    pub burn_rate: f64,
}

/// What an alert rule did over the whole run (warm-up included: a
/// monitoring system does not know about warm-up).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertReport {
    /// Times it started firing (pages).
    pub fired: u64,
    /// When it first fired (absent if it never did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_s: Option<f64>,
    /// Seconds spent firing.
    pub firing_s: f64,
    /// Still firing when the run ended.
    pub firing_at_end: bool,
    /// The first 50 episodes, [start, end] (end: the run's end if still
    /// firing).
    pub episodes: Vec<[f64; 2]>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceReport {
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    pub rejected: u64,
    pub timed_out: u64,
    pub throughput_rps: f64,
    pub latency_s: Summary,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EdgeReport {
    pub from: String,
    pub to: String,
    /// Logical calls made.
    pub calls: u64,
    /// Attempts sent (calls + retries + hedges).
    pub attempts: u64,
    pub retries: u64,
    pub retries_denied: u64,
    pub hedges: u64,
    pub timeouts: u64,
    pub errors: u64,
    pub fallbacks: u64,
    pub breaker_rejects: u64,
    pub breaker_opened: u64,
    /// Calls that failed after everything (retries, fallback).
    pub failed_calls: u64,
    /// Attempts per call: the load amplification of retries and hedges.
    pub amplification: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolReport {
    pub size: u32,
    /// Time-average connections in use / size.
    pub occupancy: f64,
    pub acquired: u64,
    pub timeouts: u64,
    pub rejected: u64,
    pub wait_s: Summary,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheReport {
    pub hits: u64,
    pub misses: u64,
    pub hit_rate: f64,
    pub stale_reads: u64,
    /// Stale reads / hits.
    pub stale_fraction: f64,
    pub evictions: u64,
    pub expirations: u64,
    /// Entries held at the end of the run, and their time average over the
    /// measured period.
    pub entries: u64,
    pub entries_mean: f64,
    pub memory_mb: f64,
    pub coalesced: u64,
    pub fills: u64,
    pub flushes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DbReport {
    pub queries: u64,
    pub reads: u64,
    pub writes: u64,
    pub stale_reads: u64,
    pub rows_per_query: f64,
    pub kb_per_query: f64,
    /// Current rows per table.
    pub table_rows: BTreeMap<String, f64>,
    /// The connection limit and its use (databases with `max_connections`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<ConnectionsReport>,
}

/// A database's connections: its limit, those the callers' pools hold open
/// at the end and at most at once, and the ones it refused (over the
/// measured period).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionsReport {
    pub max: u32,
    pub open: u32,
    pub peak: u32,
    pub refused: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BrokerReport {
    pub published: u64,
    pub processed: u64,
    pub dead_lettered: u64,
    pub discarded: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub failed_attempts: u64,
    /// Messages processed per second (over the measured period).
    pub processed_rps: f64,
    /// Messages waiting now, and the time-average.
    pub backlog: u64,
    pub backlog_mean: f64,
    pub backlog_max_partition: u64,
    /// Age of the oldest waiting message.
    pub oldest_age_s: f64,
    /// Waiting messages per partition.
    pub partition_backlog: Vec<u64>,
    /// Publish to successful processing.
    pub latency_s: Summary,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalancerReport {
    pub routed: u64,
    /// Requests sent to a dead replica (no health check, or not yet noticed).
    pub to_dead: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct E2eReport {
    pub arrived: u64,
    pub completed: u64,
    /// Errors and timeouts (timeouts are also counted in `timed_out`).
    pub failed: u64,
    pub rejected: u64,
    pub timed_out: u64,
    pub in_flight: u64,
    /// Successful completions per second after warm-up (goodput).
    pub throughput_rps: f64,
    /// (failed + rejected) / finished, after warm-up.
    pub error_rate: f64,
    pub latency_s: Summary,
}

/// One serving node. Utilisation, queue lengths, rates, waits and sojourn
/// times cover the measured period (after warm-up); counts (`arrived`,
/// `completed`, ...) and the kind-specific sections (pools, cache, database,
/// broker, balancer) cover the whole run, warm-up included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    pub kind: String,
    pub workers: u32,
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    pub rejected: u64,
    pub in_flight: u64,
    /// Responses produced after the caller had given up (wasted work).
    pub late_responses: u64,
    /// Time-average busy workers / workers, after warm-up.
    pub utilisation: f64,
    pub queue_len_mean: f64,
    /// Time-average number of requests in the node (L in Little's law).
    pub in_system_mean: f64,
    pub arrival_rate_rps: f64,
    pub throughput_rps: f64,
    /// Fraction of requests that had to wait for a worker (Erlang C's
    /// P(wait > 0) for M/M/c).
    pub p_wait: f64,
    pub wait_s: Summary,
    pub sojourn_s: Summary,
    /// Active replicas now.
    pub replicas: u32,
    /// Utilisation of each replica (load spread); for a database the
    /// primaries (shards) come first, then the read replicas.
    #[serde(default)]
    pub replica_utilisation: Vec<f64>,
    /// Requests dropped at start because their deadline had passed.
    #[serde(default)]
    pub expired: u64,
    #[serde(default)]
    pub side_effects: u64,
    /// Side effects applied more than once (retried non-idempotent calls).
    #[serde(default)]
    pub duplicates: u64,
    #[serde(default)]
    pub restarts: u64,
    #[serde(default)]
    pub oom_kills: u64,
    #[serde(default)]
    pub rate_limited: u64,
    /// Replica-seconds paid for (up, booting or draining).
    pub instance_seconds: f64,
    #[serde(default)]
    pub scale_actions: u64,
    /// Serverless functions only: instances started because a request
    /// found no warm instance free (each such request waited a cold start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_starts: Option<u64>,
    /// Time waiting for locks taken in this node's handlers (zeros if none).
    #[serde(default)]
    pub lock_wait_s: Summary,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pools: BTreeMap<String, PoolReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DbReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<BrokerReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balancer: Option<BalancerReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conservation {
    pub ok: bool,
    pub violations: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub window_s: f64,
    /// Node names, in the order of each window's `nodes`.
    pub nodes: Vec<String>,
    pub windows: Vec<Window>,
}

impl Report {
    /// Pretty JSON. Deterministic: the same run gives the same bytes.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }

    /// A human table.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let e = &self.end_to_end;
        let _ = writeln!(
            s,
            "scenario {:?}  seed {}  simulated {:.1} s (warm-up {:.1} s)  events {}{}",
            self.scenario,
            self.seed,
            self.sim_time_s,
            self.warmup_s,
            self.events,
            if self.wall_s > 0.0 {
                format!("  wall {:.3} s", self.wall_s)
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            s,
            "end to end: arrived {}  completed {}  failed {} (timed out {})  rejected {}  in flight {}",
            e.arrived, e.completed, e.failed, e.timed_out, e.rejected, e.in_flight
        );
        let _ = writeln!(
            s,
            "  throughput {:.3}/s  error rate {:.2}%  latency {}",
            e.throughput_rps,
            e.error_rate * 100.0,
            fmt_summary(&e.latency_s)
        );
        let _ = writeln!(
            s,
            "\n{:<16} {:>7} {:>7} {:>9} {:>10} {:>9} {:>10} {:>10} {:>10} {:>10}",
            "node",
            "workers",
            "util",
            "queue",
            "thru/s",
            "rejected",
            "wait mean",
            "wait p99",
            "soj mean",
            "soj p99"
        );
        for (name, n) in &self.nodes {
            let _ = writeln!(
                s,
                "{:<16} {:>7} {:>6.1}% {:>9.3} {:>10.3} {:>9} {:>10} {:>10} {:>10} {:>10}",
                name,
                n.workers,
                n.utilisation * 100.0,
                n.queue_len_mean,
                n.throughput_rps,
                n.rejected,
                fmt_s(n.wait_s.mean),
                fmt_q(&n.wait_s, 0.99, n.wait_s.p99),
                fmt_s(n.sojourn_s.mean),
                fmt_q(&n.sojourn_s, 0.99, n.sojourn_s.p99)
            );
        }
        for (name, a) in &self.alerts {
            let first = a
                .first_s
                .map_or("never".to_string(), |t| format!("first at {t:.0} s"));
            let _ = writeln!(
                s,
                "alert {name}: fired {} times ({first}), firing {:.0} s{}",
                a.fired,
                a.firing_s,
                if a.firing_at_end {
                    ", firing at the end"
                } else {
                    ""
                }
            );
        }
        if !self.conservation.ok {
            let _ = writeln!(s, "\nCONSERVATION VIOLATED:");
            for v in &self.conservation.violations {
                let _ = writeln!(s, "  {v}");
            }
        }
        s
    }

    /// The time series as CSV: one row per window.
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "t_start_s,t_end_s,arrived,attempts,completed,failed,in_flight,throughput_rps,p50_s,p95_s,p99_s",
        );
        for n in &self.series.nodes {
            let _ = write!(s, ",{n}.arrival_rate_rps,{n}.utilisation,{n}.queue_len,{n}.in_flight,{n}.throughput_rps,{n}.failed,{n}.rejected");
        }
        for i in 0..HEAT_BUCKETS {
            let _ = write!(s, ",heat{i}");
        }
        s.push('\n');
        for w in &self.series.windows {
            let _ = write!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{}",
                w.t_start_s,
                w.t_end_s,
                w.arrived,
                w.attempts,
                w.completed,
                w.failed,
                w.in_flight,
                w.throughput_rps,
                opt(w.p50_s),
                opt(w.p95_s),
                opt(w.p99_s)
            );
            for n in &w.nodes {
                let _ = write!(
                    s,
                    ",{},{},{},{},{},{},{}",
                    n.arrival_rate_rps,
                    n.utilisation,
                    n.queue_len,
                    n.in_flight,
                    n.throughput_rps,
                    n.failed,
                    n.rejected
                );
            }
            for h in &w.heat {
                let _ = write!(s, ",{h}");
            }
            s.push('\n');
        }
        s
    }
}

/// `x` to `digits` significant digits (1 to 17), without an exponent for
/// magnitudes from 1e-4 to below 1e6 (`sig_digits(0.549256, 4)` is
/// `0.5493`), with one beyond (`inf` stays `inf`).
pub fn sig_digits(x: f64, digits: u32) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let digits = digits.clamp(1, 17) as i32;
    let mag = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&mag) {
        let places = (digits - 1) as usize;
        return format!("{x:.places$e}");
    }
    let places = (digits - 1 - mag).max(0) as usize;
    format!("{x:.places$}")
}

/// Formats seconds with a unit that fits (ns to s).
pub fn fmt_s(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x < 1e-6 {
        format!("{:.0}ns", x * 1e9)
    } else if x < 1e-3 {
        format!("{:.1}us", x * 1e6)
    } else if x < 1.0 {
        format!("{:.1}ms", x * 1e3)
    } else {
        format!("{:.3}s", x)
    }
}

/// A summary for the table: `-` for a percentile its values are too few
/// for (see [`crate::metrics::min_samples`]), and no figures at all
/// without values.
fn fmt_summary(s: &Summary) -> String {
    if s.count == 0 {
        return "none answered".into();
    }
    format!(
        "n {}  mean {}  p50 {}  p90 {}  p95 {}  p99 {}  p99.9 {}  max {}",
        s.count,
        fmt_s(s.mean),
        fmt_q(s, 0.50, s.p50),
        fmt_q(s, 0.90, s.p90),
        fmt_q(s, 0.95, s.p95),
        fmt_q(s, 0.99, s.p99),
        fmt_q(s, 0.999, s.p999),
        fmt_s(s.max)
    )
}

/// A percentile of `s`, or `-` when `s` has too few values for it.
fn fmt_q(s: &Summary, q: f64, v: f64) -> String {
    if s.enough(q) {
        fmt_s(v)
    } else {
        "-".into()
    }
}

/// An optional number as a CSV field (empty when absent).
fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits_read_as_a_person_writes_them() {
        // A lesson's theory band: 4 digits, not 0.549256 ± 0.082388.
        assert_eq!(sig_digits(0.549256, 4), "0.5493");
        assert_eq!(sig_digits(0.082388, 4), "0.08239");
        assert_eq!(sig_digits(450.0, 4), "450.0");
        assert_eq!(sig_digits(-12.3456, 3), "-12.3");
        // Whole numbers below 1e6 keep their digits; beyond, an exponent.
        assert_eq!(sig_digits(123456.0, 4), "123456");
        assert_eq!(sig_digits(1234567.0, 4), "1.235e6");
        assert_eq!(sig_digits(0.0, 4), "0");
        assert_eq!(sig_digits(f64::INFINITY, 4), "inf");
        assert_eq!(sig_digits(f64::NAN, 4), "NaN");
    }

    #[test]
    fn the_table_shows_only_the_percentiles_the_values_support() {
        assert_eq!(fmt_summary(&Summary::default()), "none answered");
        // 50 values: a median and a p95 (20 needed), not a p99 (100).
        let s = Summary {
            count: 50,
            mean: 0.5,
            p50: 0.5,
            p90: 0.9,
            p95: 0.95,
            p99: 0.99,
            p999: 0.999,
            max: 1.0,
        };
        let t = fmt_summary(&s);
        assert!(
            t.starts_with("n 50  mean 500.0ms  p50 500.0ms  p90 900.0ms  p95 950.0ms"),
            "{t}"
        );
        assert!(t.contains("p99 -  p99.9 -  max 1.000s"), "{t}");
    }
}
