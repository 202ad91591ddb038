//! Statistics computed from recorded values: HDR histograms for latencies,
//! time-weighted areas for utilisation and queue lengths, and a bounded ring
//! of time-series windows. Memory never grows with run length.

use crate::calendar::{Time, NS_PER_S};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies above one hour are clamped (recorded as one hour).
const MAX_NS: u64 = 3_600_000_000_000;

/// A latency histogram in nanoseconds with a running exact sum.
///
/// Recording is the engine's hottest statistic (three per request), so it
/// is cheap: an index computed as HDR histograms compute it and one counter
/// increment ([`crate::hdr`]). Everything read (quantiles, the maximum,
/// fractions) goes through an `hdrhistogram::Histogram` built from the
/// counts when asked, bin for bin, so every number equals what recording
/// into that histogram directly would give (tests check it). The counts are
/// allocated on the first record and only as far as the largest value, so
/// an idle node costs a few bytes.
#[derive(Clone, Debug)]
pub struct LatencyHist {
    bins: crate::hdr::Bins,
    sum: u128,
}

impl LatencyHist {
    /// `sigfig` significant decimal digits (3 for reported summaries, 2 for
    /// per-window histograms).
    pub fn new(sigfig: u8) -> Self {
        LatencyHist {
            bins: crate::hdr::Bins::new(sigfig),
            sum: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, ns: Time) {
        self.bins.record(ns.min(MAX_NS));
        self.sum += ns as u128;
    }

    pub fn count(&self) -> u64 {
        self.bins.total()
    }

    /// The exact sum of the recorded values (unclamped), in ns.
    pub fn sum_ns(&self) -> u128 {
        self.sum
    }

    /// Adds another histogram's values (same precision).
    pub fn add(&mut self, other: &LatencyHist) {
        self.bins.add(&other.bins);
        self.sum += other.sum;
    }

    pub fn reset(&mut self) {
        self.bins.reset();
        self.sum = 0;
    }

    /// The HDR histogram of the recorded values (empty: `None`).
    fn histogram(&self) -> Option<Histogram<u64>> {
        self.bins.histogram()
    }

    /// Value at quantile `q` in seconds (0 when empty).
    pub fn quantile_s(&self, q: f64) -> f64 {
        self.histogram()
            .map_or(0.0, |h| h.value_at_quantile(q) as f64 / NS_PER_S)
    }

    /// p50, p95 and p99 in seconds (0 when empty): the window read-outs.
    pub fn p50_p95_p99_s(&self) -> [f64; 3] {
        match self.histogram() {
            None => [0.0; 3],
            Some(h) => [0.50, 0.95, 0.99].map(|q| h.value_at_quantile(q) as f64 / NS_PER_S),
        }
    }

    pub fn mean_s(&self) -> f64 {
        let n = self.count();
        if n == 0 {
            0.0
        } else {
            (self.sum as f64 / n as f64) / NS_PER_S
        }
    }

    pub fn summary(&self) -> Summary {
        let Some(h) = self.histogram() else {
            return Summary::default();
        };
        let q = |q: f64| h.value_at_quantile(q) as f64 / NS_PER_S;
        Summary {
            count: self.count(),
            mean: self.mean_s(),
            p50: q(0.50),
            p90: q(0.90),
            p95: q(0.95),
            p99: q(0.99),
            p999: q(0.999),
            max: h.max() as f64 / NS_PER_S,
        }
    }

    /// Fraction of recorded values strictly above `ns`.
    pub fn fraction_above(&self, ns: Time) -> f64 {
        let n = self.count();
        if n == 0 {
            return 0.0;
        }
        1.0 - self.bins.count_at_or_below(ns.min(MAX_NS)) as f64 / n as f64
    }

    /// The largest value recorded as equal to `ns` (the top of its bin).
    pub fn highest_equivalent(&self, ns: Time) -> Time {
        self.bins.highest_equivalent(ns.min(MAX_NS))
    }

    /// Bytes held (for memory budgets).
    pub fn bytes(&self) -> usize {
        self.bins.bytes()
    }
}

/// Values a window keeps raw before it moves them into its histogram.
const WINDOW_RAW_CAP: usize = 4096;

/// The latencies of one time-series window, read as p50, p95 and p99
/// exactly as an HDR histogram of 2 significant digits reports them.
///
/// A window is read once, when it closes. Scanning the histogram's 4,608
/// counts three times (and zeroing them) costs microseconds, far more than
/// a short window's few requests: with one-second windows it was most of a
/// run's time. So a window keeps its values raw while it has few and
/// selects the ranks among them; past `WINDOW_RAW_CAP` (4,096) values it moves
/// them into the histogram and records there. Either way the read-out is
/// the same number (a unit test checks it), and memory stays flat.
#[derive(Clone, Debug)]
pub struct WindowLatency {
    raw: Vec<Time>,
    h: LatencyHist,
    /// The values are in `h`, not in `raw`.
    spilled: bool,
}

impl Default for WindowLatency {
    fn default() -> Self {
        WindowLatency {
            raw: Vec::with_capacity(WINDOW_RAW_CAP),
            h: LatencyHist::new(2),
            spilled: false,
        }
    }
}

impl WindowLatency {
    #[inline]
    pub fn record(&mut self, ns: Time) {
        let v = ns.min(MAX_NS);
        if !self.spilled {
            if self.raw.len() < WINDOW_RAW_CAP {
                self.raw.push(v);
                return;
            }
            for &x in &self.raw {
                self.h.record(x);
            }
            self.raw.clear();
            self.spilled = true;
        }
        self.h.record(v);
    }

    /// p50, p95 and p99 in seconds (`None` when the window holds no value).
    pub fn p50_p95_p99_s(&mut self) -> Option<[f64; 3]> {
        if self.spilled {
            return Some(self.h.p50_p95_p99_s());
        }
        let n = self.raw.len();
        if n == 0 {
            return None;
        }
        // `value_at_quantile` answers the bucket holding the value of rank
        // max(1, ceil(q n)), at the bucket's highest equivalent value. The
        // ranks ascend, so each selection runs on what lies above the last.
        let mut from = 0;
        Some([0.50, 0.95, 0.99].map(|q| {
            let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
            let (_, v, _) = self.raw[from..].select_nth_unstable(rank - 1 - from);
            let v = *v;
            from = rank - 1;
            self.h.highest_equivalent(v) as f64 / NS_PER_S
        }))
    }

    pub fn reset(&mut self) {
        self.raw.clear();
        if self.spilled {
            self.h.reset();
            self.spilled = false;
        }
    }
}

/// Number of heatmap buckets per window.
pub const HEAT_BUCKETS: usize = 16;
/// Lower edges of the heatmap buckets in seconds (the first starts at 0, the
/// last is open-ended): 1 ms to ~33 s, doubling.
pub fn heat_edge_s(i: usize) -> f64 {
    if i == 0 {
        0.0
    } else {
        0.001 * f64::powi(2.0, i as i32 - 1)
    }
}
/// The heatmap bucket of a latency in nanoseconds: 0 below 1 ms, then one
/// bucket per doubling, the last open-ended.
#[inline]
pub fn heat_index(ns: Time) -> usize {
    let ms = ns / 1_000_000;
    if ms == 0 {
        0
    } else {
        (1 + (63 - ms.leading_zeros()) as usize).min(HEAT_BUCKETS - 1)
    }
}

/// The fewest values a q-quantile needs to mean something: 1/(1-q), so that
/// at least one value lies above it (100 for p99, 1,000 for p99.9). Below
/// that a "p99" is only the largest value.
pub fn min_samples(q: f64) -> u64 {
    if q <= 0.5 {
        1
    } else {
        (1.0 / (1.0 - q) - 1e-9).ceil() as u64
    }
}

/// Latency summary in seconds, with the number of values behind it: with
/// none every figure is 0, so a reader must look at `count` before the
/// figures (and [`Summary::enough`] before a high percentile).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Values summarised (requests answered, waits recorded...).
    #[serde(default)]
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Summary {
    /// Whether `count` values are enough for the q-quantile ([`min_samples`]).
    pub fn enough(&self, q: f64) -> bool {
        self.count >= min_samples(q)
    }
}

/// Running counts and time-weighted areas of one node. Snapshots of this
/// struct at warm-up and at each window start give interval statistics by
/// subtraction, so nothing is ever reset.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    pub rejected: u64,
    /// ∫ busy workers dt (ns · workers).
    pub busy_area: f64,
    /// ∫ workers (capacity) dt: utilisation = busy_area / cap_area.
    pub cap_area: f64,
    /// ∫ queue length dt.
    pub queue_area: f64,
    /// ∫ requests in the node (queued + in service + waiting on calls) dt.
    pub insys_area: f64,
}

impl Counters {
    pub fn minus(&self, o: &Counters) -> Counters {
        Counters {
            arrived: self.arrived - o.arrived,
            completed: self.completed - o.completed,
            failed: self.failed - o.failed,
            rejected: self.rejected - o.rejected,
            busy_area: self.busy_area - o.busy_area,
            cap_area: self.cap_area - o.cap_area,
            queue_area: self.queue_area - o.queue_area,
            insys_area: self.insys_area - o.insys_area,
        }
    }

    pub fn utilisation(&self) -> f64 {
        if self.cap_area > 0.0 {
            self.busy_area / self.cap_area
        } else {
            0.0
        }
    }
}

/// The levels of a station (busy workers, capacity, queue, requests in the
/// node) and their integrals over time, which the areas report.
///
/// A level's integral from 0 to `t` is kept as `level * t + acc`: a change
/// of the level by `d` at time `t` adds `-d * t` to its `acc`, so a change
/// costs one addition, nothing is integrated per event, and the integral is
/// exact (integer nanoseconds times level, in `i128`). [`Levels::touch`]
/// writes the integrals up to a time into [`Counters`], where snapshots are
/// subtracted. The fields are private: every change must go through a
/// method, or the integrals would be wrong.
#[derive(Clone, Copy, Debug, Default)]
pub struct Levels {
    busy: u32,
    capacity: u32,
    queue: u64,
    insys: u64,
    /// Per level (busy, capacity, queue, in system): the sum of `-d * t`
    /// over its changes.
    acc: [i128; 4],
}

const BUSY: usize = 0;
const CAPACITY: usize = 1;
const QUEUE: usize = 2;
const INSYS: usize = 3;

impl Levels {
    /// Levels at zero, with `capacity` workers since time 0.
    pub fn with_capacity(capacity: u32) -> Levels {
        Levels {
            capacity,
            ..Default::default()
        }
    }

    #[inline(always)]
    pub fn busy(&self) -> u32 {
        self.busy
    }
    #[inline(always)]
    pub fn capacity(&self) -> u32 {
        self.capacity
    }
    #[inline(always)]
    pub fn queue(&self) -> u64 {
        self.queue
    }
    #[inline(always)]
    pub fn insys(&self) -> u64 {
        self.insys
    }

    #[inline(always)]
    pub fn busy_up(&mut self, now: Time) {
        self.busy += 1;
        self.acc[BUSY] -= now as i128;
    }
    #[inline(always)]
    pub fn busy_down(&mut self, now: Time) {
        self.busy -= 1;
        self.acc[BUSY] += now as i128;
    }
    #[inline(always)]
    pub fn queue_up(&mut self, now: Time) {
        self.queue += 1;
        self.acc[QUEUE] -= now as i128;
    }
    #[inline(always)]
    pub fn queue_down(&mut self, now: Time) {
        self.queue -= 1;
        self.acc[QUEUE] += now as i128;
    }
    #[inline(always)]
    pub fn insys_up(&mut self, now: Time) {
        self.insys += 1;
        self.acc[INSYS] -= now as i128;
    }
    #[inline(always)]
    pub fn insys_down(&mut self, now: Time) {
        self.insys -= 1;
        self.acc[INSYS] += now as i128;
    }

    pub fn set_capacity(&mut self, now: Time, capacity: u32) {
        self.acc[CAPACITY] -= (capacity as i128 - self.capacity as i128) * now as i128;
        self.capacity = capacity;
    }

    /// Writes the areas from time 0 up to `now` into `c` (`now` at or after
    /// the last change).
    pub fn touch(&self, c: &mut Counters, now: Time) {
        let area = |level: u64, acc: i128| (level as i128 * now as i128 + acc) as f64;
        c.busy_area = area(self.busy as u64, self.acc[BUSY]);
        c.cap_area = area(self.capacity as u64, self.acc[CAPACITY]);
        c.queue_area = area(self.queue, self.acc[QUEUE]);
        c.insys_area = area(self.insys, self.acc[INSYS]);
    }
}

/// One window of the time series (all rates per second of simulated time).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub t_start_s: f64,
    pub t_end_s: f64,
    /// End-to-end requests issued in the window.
    pub arrived: u64,
    /// Attempts the sources sent in the window (requests plus the clients'
    /// retries and hedges): the offered load, beside `arrived`.
    pub attempts: u64,
    /// End-to-end requests answered successfully in the window.
    pub completed: u64,
    /// End-to-end failures (errors, timeouts, rejections) in the window.
    pub failed: u64,
    /// Requests still in flight end to end at the end of the window.
    pub in_flight: u64,
    pub throughput_rps: f64,
    /// Latency percentiles of the requests answered successfully in the
    /// window; absent when it answered none (a window's p99 of a few
    /// requests is their maximum: see `completed`).
    pub p50_s: Option<f64>,
    pub p95_s: Option<f64>,
    pub p99_s: Option<f64>,
    /// Latency heatmap: counts per bucket (see [`heat_edge_s`]).
    pub heat: Vec<u32>,
    /// With an SLO: requests answered OK within its latency in the window
    /// (the rest of `completed + failed` burn error budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo_good: Option<u64>,
    /// Per node, in the order of the report's nodes.
    pub nodes: Vec<NodeWindow>,
}

/// One node's share of a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeWindow {
    /// Requests (attempts) reaching the node per second.
    pub arrival_rate_rps: f64,
    pub utilisation: f64,
    /// Time-average queue length.
    pub queue_len: f64,
    /// Time-average number in the node.
    pub in_flight: f64,
    pub throughput_rps: f64,
    pub failed: u64,
    pub rejected: u64,
    /// Active replicas at the end of the window.
    pub replicas: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_values() {
        let mut h = LatencyHist::new(3);
        for ms in 1..=1000u64 {
            h.record(ms * 1_000_000);
        }
        let s = h.summary();
        // Exact mean of 1..=1000 ms is 500.5 ms (sum kept exactly).
        assert!((s.mean - 0.5005).abs() < 1e-12);
        // 3 significant digits: quantiles within 0.1%.
        assert!((s.p50 - 0.500).abs() < 0.001, "{}", s.p50);
        assert!((s.p99 - 0.990).abs() < 0.001, "{}", s.p99);
        assert!((s.max - 1.0).abs() < 0.001);
        assert!((h.fraction_above(900_000_000) - 0.1).abs() < 0.002);
        // 1,000 values: enough for p99.9 (one value above it), not more.
        assert_eq!(s.count, 1000);
        assert!(s.enough(0.999) && !s.enough(0.9999));
        h.reset();
        // No values: all zeros, and a count that says so.
        assert_eq!(h.summary(), Summary::default());
        assert_eq!(h.summary().count, 0);
        assert!(!h.summary().enough(0.5));
    }

    #[test]
    fn a_quantile_needs_one_value_above_it() {
        // 1/(1-q): the q-quantile of fewer values is only the maximum.
        assert_eq!(min_samples(0.5), 1);
        assert_eq!(min_samples(0.9), 10);
        assert_eq!(min_samples(0.95), 20);
        assert_eq!(min_samples(0.99), 100);
        assert_eq!(min_samples(0.999), 1000);
    }

    #[test]
    fn window_read_out_matches_the_histogram() {
        // The raw path must give what a 2-significant-digit HDR histogram
        // of the same values gives, below and above the spill point, for
        // spread, tied and clamped values.
        // One window throughout, reset between cases, as the engine uses it.
        let mut w = WindowLatency::default();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for n in [
            1,
            2,
            3,
            7,
            100,
            999,
            WINDOW_RAW_CAP,
            WINDOW_RAW_CAP + 1,
            3 * WINDOW_RAW_CAP,
        ] {
            for shape in 0..3 {
                let mut h = LatencyHist::new(2);
                for _ in 0..n {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let v = match shape {
                        0 => x % 20_000_000_000,  // up to 20 s
                        1 => (x % 5) * 1_000_000, // ties, and zeros
                        _ => x % (2 * MAX_NS),    // half clamped
                    };
                    w.record(v);
                    h.record(v);
                }
                assert_eq!(
                    w.p50_p95_p99_s(),
                    Some(h.p50_p95_p99_s()),
                    "n {n}, shape {shape}"
                );
                w.reset();
                assert_eq!(w.p50_p95_p99_s(), None);
            }
        }
    }

    #[test]
    fn areas_integrate_levels() {
        // Capacity 2 from 0, busy 0 on [0,10), 1 on [10,20), 2 on [20,30):
        // busy area 0 + 10 + 20 = 30 of a possible 2*30.
        let mut c = Counters::default();
        let mut l = Levels::with_capacity(2);
        l.busy_up(10);
        l.busy_up(20);
        l.touch(&mut c, 30);
        assert_eq!(c.busy_area, 30.0);
        assert_eq!(c.cap_area, 60.0);
        assert_eq!(c.utilisation(), 0.5);
        // Then busy 1 on [30,40), capacity 1 from 35, and a queue of 1 on
        // [32,38): busy 30 + 10, capacity 60 + 5*2 + 5*1, queue 6.
        l.busy_down(30);
        l.queue_up(32);
        l.set_capacity(35, 1);
        l.queue_down(38);
        l.touch(&mut c, 40);
        assert_eq!(c.busy_area, 40.0);
        assert_eq!(c.cap_area, 75.0);
        assert_eq!(c.queue_area, 6.0);
        assert_eq!((l.busy(), l.capacity(), l.queue(), l.insys()), (1, 1, 0, 0));
        // Touching again at the same time changes nothing: touch only
        // writes the integrals, which are kept in the levels.
        let before = c;
        l.touch(&mut c, 40);
        assert_eq!(c, before);
    }

    #[test]
    fn areas_are_exact_over_long_runs() {
        // One request in the node for 2^54 ns (208 days), then a thousand
        // more of 1 ns each: exactly 2^54 + 1000, which f64 holds (its step
        // is 4 there and 1000 is a multiple). A running f64 sum of
        // dt * level would round each + 1 back down and stay at 2^54.
        let mut c = Counters::default();
        let mut l = Levels::default();
        let long = 1u64 << 54;
        l.insys_up(0);
        l.insys_down(long);
        for i in 0..1000 {
            let t = long + 10 * i + 5;
            l.insys_up(t);
            l.insys_down(t + 1);
        }
        l.touch(&mut c, long + 20_000);
        assert_eq!(c.insys_area, 2f64.powi(54) + 1000.0);
    }

    #[test]
    fn heat_index_matches_edges() {
        for i in 1..HEAT_BUCKETS {
            let edge = (heat_edge_s(i) * 1e9).round() as u64;
            assert_eq!(heat_index(edge), i, "edge of bucket {i}");
            assert_eq!(heat_index(edge - 1), i - 1, "just below bucket {i}");
        }
        assert_eq!(heat_index(0), 0);
        assert_eq!(heat_index(u64::MAX), HEAT_BUCKETS - 1);
    }
}
