//! Output analysis over replications (feature `research`): confidence
//! intervals, warm-up detection, the scalar metrics of a report and pooled
//! latency percentiles. Pure functions of reports and numbers, no I/O;
//! [`crate::study`] runs the replications and sweeps that feed them.

pub mod interval;
pub mod metrics;
pub mod mser;

pub use interval::Interval;
pub use mser::{mser5, Truncation};

use crate::metrics::{LatencyHist, Summary};
use serde::{Deserialize, Serialize};

/// Latency percentiles over every request of every replication: the
/// replications' histograms merged exactly (bucket counts added), not their
/// percentiles averaged. A mean of per-run p99s has a confidence interval;
/// the pooled p99 is the p99 of all requests together, with none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pooled {
    /// Measured requests in all replications.
    pub requests: u64,
    pub latency_s: Summary,
}

impl Pooled {
    pub fn of(hist: &LatencyHist) -> Pooled {
        Pooled {
            requests: hist.count(),
            latency_s: hist.summary(),
        }
    }
}

/// Merges histograms (any order gives the same counts).
pub fn merge_histograms<'a>(hists: impl IntoIterator<Item = &'a LatencyHist>) -> LatencyHist {
    let mut acc = LatencyHist::new(3);
    for h in hists {
        acc.add(h);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_percentiles_come_from_merged_counts_not_averages() {
        // Run A: 99 requests of 1 ms and one of 1 s; run B: 100 of 10 ms.
        // Averaged p99s: A's p99 is 1 ms (rank 99 of 100), B's 10 ms, mean
        // 5.5 ms. Pooled: 200 requests, rank 198 is a 10 ms one.
        let mut a = LatencyHist::new(3);
        let mut b = LatencyHist::new(3);
        for _ in 0..99 {
            a.record(1_000_000);
        }
        a.record(1_000_000_000);
        for _ in 0..100 {
            b.record(10_000_000);
        }
        let p = Pooled::of(&merge_histograms([&a, &b]));
        assert_eq!(p.requests, 200);
        assert!((p.latency_s.p99 - 0.010).abs() < 0.010 * 1e-3);
        assert!((p.latency_s.max - 1.0).abs() < 1e-3);
        // The exact mean: (99 * 1 ms + 1 s + 100 * 10 ms) / 200.
        let mean = (0.099 + 1.0 + 1.0) / 200.0;
        assert!((p.latency_s.mean - mean).abs() < 1e-12);
        // Order does not matter.
        assert_eq!(Pooled::of(&merge_histograms([&b, &a])), p);
    }
}
