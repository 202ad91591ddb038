//! Statistics computed from recorded values: HDR histograms for latencies,
//! time-weighted areas for utilisation and queue lengths, and a bounded ring
//! of time-series windows. Memory never grows with run length.

use crate::calendar::{Time, NS_PER_S};
use serde::{Deserialize, Serialize};

/// Latencies above one hour are clamped (recorded as one hour).
const MAX_NS: u64 = 3_600_000_000_000;

/// A latency histogram in nanoseconds with a running exact sum.
///
/// The bucket layout is exactly that of an HDR histogram
/// (`hdrhistogram::Histogram::new_with_bounds(1, MAX_NS, sigfig)`): values
/// below `2 * 10^sigfig` get unit resolution, each further power of two
/// keeps `sigfig` significant digits. Quantiles, the maximum and counts
/// between values are computed the way that crate computes them (a test
/// checks them against it), but recording is a handful of inlined
/// instructions: the engine records several latencies per request.
#[derive(Clone, Debug)]
pub struct LatencyHist {
    counts: Vec<u64>,
    total: u64,
    /// Largest value recorded (0 when empty).
    max_value: u64,
    sum: u128,
    /// log2 of half the sub-bucket count.
    half_mag: u32,
    /// 64 - log2(sub-bucket count).
    lz_base: u32,
    /// sub-bucket count - 1: maps small values to bucket 0.
    mask: u64,
}

impl LatencyHist {
    /// `sigfig` significant decimal digits (3 for reported summaries, 2 for
    /// per-window histograms).
    pub fn new(sigfig: u8) -> Self {
        assert!(sigfig <= 5, "at most 5 significant digits");
        // Unit resolution up to 2 * 10^sigfig, rounded up to a power of two.
        let largest = 2 * 10u64.pow(sigfig as u32);
        let count_mag = 64 - (largest - 1).leading_zeros(); // ceil(log2(largest))
        let sub_count = 1u64 << count_mag;
        // Buckets needed to cover MAX_NS (each doubles the range).
        let mut buckets = 1u32;
        let mut untrackable = sub_count;
        while untrackable <= MAX_NS {
            untrackable <<= 1;
            buckets += 1;
        }
        let half = sub_count / 2;
        LatencyHist {
            counts: vec![0; ((buckets as u64 + 1) * half) as usize],
            total: 0,
            max_value: 0,
            sum: 0,
            half_mag: count_mag - 1,
            lz_base: 64 - count_mag,
            mask: sub_count - 1,
        }
    }

    #[inline(always)]
    fn bucket_of(&self, v: u64) -> u32 {
        self.lz_base - (v | self.mask).leading_zeros()
    }

    #[inline(always)]
    fn index_of(&self, v: u64) -> usize {
        let b = self.bucket_of(v);
        let sub = v >> b;
        (((b as u64 + 1) << self.half_mag) + sub - (1u64 << self.half_mag)) as usize
    }

    /// The lowest value counted at `index`.
    fn value_at_index(&self, index: usize) -> u64 {
        let half = 1u64 << self.half_mag;
        let mut bucket = (index >> self.half_mag) as i64 - 1;
        let mut sub = (index as u64 & (half - 1)) + half;
        if bucket < 0 {
            sub -= half;
            bucket = 0;
        }
        sub << bucket
    }

    /// The highest value counted together with `v`.
    fn highest_equivalent(&self, v: u64) -> u64 {
        let b = self.bucket_of(v);
        ((v >> b) << b).saturating_add(1u64 << b) - 1
    }

    #[inline(always)]
    pub fn record(&mut self, ns: Time) {
        let v = ns.min(MAX_NS);
        let i = self.index_of(v);
        self.counts[i] += 1;
        self.total += 1;
        if v > self.max_value {
            self.max_value = v;
        }
        self.sum += ns as u128;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Adds another histogram's values (same bounds).
    pub fn add(&mut self, other: &LatencyHist) {
        assert_eq!(self.counts.len(), other.counts.len(), "same bounds");
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += *b;
        }
        self.total += other.total;
        self.max_value = self.max_value.max(other.max_value);
        self.sum += other.sum;
    }

    pub fn reset(&mut self) {
        if self.total != 0 {
            // Only the buckets up to the largest value can be non-zero.
            let hi = self.index_of(self.max_value);
            self.counts[..=hi].fill(0);
        }
        self.total = 0;
        self.max_value = 0;
        self.sum = 0;
    }

    /// Values at quantiles `qs` (ascending, each in (0, 1]) in nanoseconds,
    /// in one pass; 0 when empty.
    fn values_at<const N: usize>(&self, qs: [f64; N]) -> [u64; N] {
        let mut out = [0u64; N];
        if self.is_empty() {
            return out;
        }
        let mut targets = [0u64; N];
        for (t, q) in targets.iter_mut().zip(qs) {
            let q = if q > 1.0 { 1.0 } else { q };
            *t = ((q * self.total as f64).ceil() as u64).max(1);
        }
        // Whole chunks are summed (vectorised) until one reaches the next
        // target; only that chunk is walked count by count.
        const CHUNK: usize = 16;
        let mut k = 0;
        let mut acc = 0u64;
        for (ci, chunk) in self.counts.chunks(CHUNK).enumerate() {
            let sum: u64 = chunk.iter().sum();
            if acc + sum < targets[k] {
                acc += sum;
                continue;
            }
            for (j, &c) in chunk.iter().enumerate() {
                acc += c;
                while k < N && acc >= targets[k] {
                    out[k] = self.highest_equivalent(self.value_at_index(ci * CHUNK + j));
                    k += 1;
                }
            }
            if k == N {
                break;
            }
        }
        out
    }

    /// Value at quantile `q` in seconds (0 when empty).
    pub fn quantile_s(&self, q: f64) -> f64 {
        self.values_at([q])[0] as f64 / NS_PER_S
    }

    /// p50, p95 and p99 in seconds (0 when empty), in one pass.
    pub fn p50_p95_p99_s(&self) -> [f64; 3] {
        self.values_at([0.50, 0.95, 0.99])
            .map(|v| v as f64 / NS_PER_S)
    }

    pub fn mean_s(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            (self.sum as f64 / self.total as f64) / NS_PER_S
        }
    }

    pub fn summary(&self) -> Summary {
        if self.is_empty() {
            return Summary::default();
        }
        let [p50, p90, p95, p99, p999] = self
            .values_at([0.50, 0.90, 0.95, 0.99, 0.999])
            .map(|v| v as f64 / NS_PER_S);
        Summary {
            mean: self.mean_s(),
            p50,
            p90,
            p95,
            p99,
            p999,
            max: self.highest_equivalent(self.max_value) as f64 / NS_PER_S,
        }
    }

    /// Fraction of recorded values strictly above `ns`.
    pub fn fraction_above(&self, ns: Time) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        let last = self.counts.len() - 1;
        let hi = self.index_of(ns.min(MAX_NS)).min(last);
        let at_or_below: u64 = self.counts[..=hi].iter().sum();
        1.0 - at_or_below as f64 / self.total as f64
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

/// Latency summary in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
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

/// Levels that the areas integrate.
#[derive(Clone, Copy, Debug, Default)]
pub struct Levels {
    pub busy: u32,
    pub capacity: u32,
    pub queue: u64,
    pub insys: u64,
    pub last: Time,
}

impl Levels {
    /// Adds the areas since the last change up to `now`.
    #[inline]
    pub fn touch(&mut self, c: &mut Counters, now: Time) {
        let dt = now - self.last;
        if dt > 0 {
            let dt = u64_to_f64(dt);
            c.busy_area += dt * self.busy as f64;
            c.cap_area += dt * self.capacity as f64;
            c.queue_area += dt * u64_to_f64(self.queue);
            c.insys_area += dt * u64_to_f64(self.insys);
            self.last = now;
        }
    }
}

/// `x as f64`, exactly, in one instruction for values below 2^63 (x86-64
/// has no unsigned conversion before AVX-512).
#[inline(always)]
pub fn u64_to_f64(x: u64) -> f64 {
    if (x as i64) >= 0 {
        x as i64 as f64
    } else {
        x as f64
    }
}

/// One window of the time series (all rates per second of simulated time).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub t_start_s: f64,
    pub t_end_s: f64,
    /// End-to-end requests issued in the window.
    pub arrived: u64,
    /// End-to-end requests answered successfully in the window.
    pub completed: u64,
    /// End-to-end failures (errors, timeouts, rejections) in the window.
    pub failed: u64,
    /// Requests still in flight end to end at the end of the window.
    pub in_flight: u64,
    pub throughput_rps: f64,
    /// Latency percentiles of the requests completed in the window.
    pub p50_s: f64,
    pub p95_s: f64,
    pub p99_s: f64,
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
        h.reset();
        assert_eq!(h.summary(), Summary::default());
    }

    /// The hand-rolled histogram answers exactly as the `hdrhistogram`
    /// crate does with the same bounds (the layout the reports were built
    /// on): quantiles, maximum, fraction above, after adds and resets.
    #[test]
    fn matches_hdrhistogram() {
        use hdrhistogram::Histogram;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        for sigfig in [2u8, 3] {
            let mut ours = LatencyHist::new(sigfig);
            let mut other = LatencyHist::new(sigfig);
            let mut h = Histogram::<u64>::new_with_bounds(1, MAX_NS, sigfig).unwrap();
            for round in 0..4 {
                for i in 0..20_000u64 {
                    // Log-uniform over 0 ns .. 2 h (beyond the clamp), plus
                    // exact powers of two and bucket edges.
                    let v = match i % 4 {
                        0 => 1u64 << rng.random_range(0..43),
                        1 => (1u64 << rng.random_range(0..43)) - 1,
                        _ => {
                            let e: f64 = rng.random_range(0.0..43.0);
                            f64::powf(2.0, e) as u64
                        }
                    };
                    if i % 3 == 0 {
                        other.record(v);
                    } else {
                        ours.record(v);
                    }
                    h.saturating_record(v.min(MAX_NS));
                }
                ours.add(&other);
                other.reset();
                assert_eq!(ours.count(), h.len());
                for q in [0.001, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0, 1.5] {
                    let want = h.value_at_quantile(q) as f64 / NS_PER_S;
                    assert_eq!(
                        ours.quantile_s(q),
                        want,
                        "sigfig {sigfig} round {round} q {q}"
                    );
                }
                let s = ours.summary();
                assert_eq!(s.max, h.max() as f64 / NS_PER_S);
                assert_eq!(s.p999, h.value_at_quantile(0.999) as f64 / NS_PER_S);
                assert_eq!(
                    ours.p50_p95_p99_s(),
                    [0.5, 0.95, 0.99].map(|q| h.value_at_quantile(q) as f64 / NS_PER_S)
                );
                for ns in [0, 1, 999, 1_000_000, 123_456_789, MAX_NS, u64::MAX] {
                    let want = 1.0 - h.count_between(0, ns) as f64 / h.len() as f64;
                    assert_eq!(ours.fraction_above(ns), want, "above {ns}");
                }
                if round == 2 {
                    ours.reset();
                    h.reset();
                    assert_eq!(ours.summary(), Summary::default());
                }
            }
        }
    }

    #[test]
    fn areas_integrate_levels() {
        // Levels are touched before each change: busy 0 on [0,10), 1 on
        // [10,20), 2 on [20,30) -> area 0 + 10 + 20 = 30 of a possible 2*30.
        let mut c = Counters::default();
        let mut l = Levels {
            capacity: 2,
            ..Default::default()
        };
        l.touch(&mut c, 10);
        l.busy = 1;
        l.touch(&mut c, 20);
        l.busy = 2;
        l.touch(&mut c, 30);
        assert_eq!(c.busy_area, 30.0);
        assert_eq!(c.cap_area, 60.0);
        assert_eq!(c.utilisation(), 0.5);
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
