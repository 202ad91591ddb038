//! The class's guesses as a histogram: nice bin edges (1, 2, 2.5, 5 x 10^k
//! on a linear scale; 1, 2, 5 x 10^k on a log scale when every value is
//! positive and they span a factor of 20 or more), every guess counted
//! exactly once. A few wild guesses must not squash everyone else's into one
//! bar, so values far outside the bulk are counted in `below` / `above`
//! instead of stretching the axis; the marked value (the simulated answer)
//! always gets a bin.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    Linear,
    Log,
}

/// Values in `lo <= x < hi`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub scale: Scale,
    pub bins: Vec<Bin>,
    /// Values below the first bin.
    pub below: u32,
    /// Values at or above the last bin's `hi`.
    pub above: u32,
    /// Every value: `below + above + sum of counts`.
    pub total: u32,
    pub median: Option<f64>,
}

impl Histogram {
    pub fn empty() -> Histogram {
        Histogram {
            scale: Scale::Linear,
            bins: Vec::new(),
            below: 0,
            above: 0,
            total: 0,
            median: None,
        }
    }

    /// The bin holding `x`, if it is inside the bins.
    pub fn bin_of(&self, x: f64) -> Option<usize> {
        self.bins.iter().position(|b| b.lo <= x && x < b.hi)
    }

    /// The largest count (0 when empty), for scaling bars.
    pub fn max_count(&self) -> u32 {
        let bins = self.bins.iter().map(|b| b.count).max().unwrap_or(0);
        bins.max(self.below).max(self.above)
    }
}

/// The histogram of `values` (non-finite ones are ignored), with bins
/// reaching `mark` when given.
pub fn histogram(values: &[f64], mark: Option<f64>) -> Histogram {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Histogram::empty();
    }
    v.sort_by(f64::total_cmp);
    let (mut lo, mut hi) = core_range(&v);
    if let Some(m) = mark.filter(|m| m.is_finite()) {
        lo = lo.min(m);
        hi = hi.max(m);
    }
    let (scale, edges) = if lo > 0.0 && hi / lo >= 20.0 {
        (Scale::Log, log_edges(lo, hi))
    } else {
        (Scale::Linear, linear_edges(lo, hi))
    };
    let mut h = Histogram {
        scale,
        bins: edges
            .windows(2)
            .map(|w| Bin {
                lo: w[0],
                hi: w[1],
                count: 0,
            })
            .collect(),
        below: 0,
        above: 0,
        total: v.len() as u32,
        median: Some(quantile(&v, 0.5)),
    };
    for &x in &v {
        if x < edges[0] {
            h.below += 1;
        } else if x >= edges[edges.len() - 1] {
            h.above += 1;
        } else {
            let i = edges.partition_point(|e| *e <= x) - 1;
            h.bins[i].count += 1;
        }
    }
    h
}

/// Linear interpolation between order statistics of sorted `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    match v.get(i + 1) {
        Some(next) => v[i] + (next - v[i]) * frac,
        None => v[i],
    }
}

/// The order statistic at rank `q * (n - 1)`, rounded down (`up`: up):
/// the bounds of the bulk, never pulled towards an outlier.
fn rank(v: &[f64], q: f64, up: bool) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    v[if up { pos.ceil() } else { pos.floor() } as usize]
}

/// The range the axis covers: all values, unless a few lie far outside the
/// middle 80% (more than 5 of its widths beyond it, or more than two
/// decades from the median when every value is positive).
fn core_range(v: &[f64]) -> (f64, f64) {
    let (min, max) = (v[0], v[v.len() - 1]);
    let (q1, q9) = (rank(v, 0.1, true), rank(v, 0.9, false));
    if min > 0.0 {
        let med = quantile(v, 0.5);
        return (min.max(q1.min(med / 100.0)), max.min(q9.max(med * 100.0)));
    }
    let spread = q9 - q1;
    (min.max(q1 - 5.0 * spread), max.min(q9 + 5.0 * spread))
}

/// `x * 10^k`, correctly rounded for integer `x` (a division for k < 0:
/// 2 / 100 is the double nearest 0.02, 2 * 0.01 need not be).
fn times_pow10(x: f64, k: i32) -> f64 {
    if k >= 0 {
        x * 10f64.powi(k)
    } else {
        x / 10f64.powi(-k)
    }
}

/// The smallest step m x 10^k, m in 1, 2, 2.5, 5, at least `raw` (> 0).
fn nice_step(raw: f64) -> (f64, i32) {
    let k = raw.log10().floor() as i32;
    for m in [1.0, 2.0, 2.5, 5.0] {
        if times_pow10(m, k) >= raw * (1.0 - 1e-12) {
            return (m, k);
        }
    }
    (1.0, k + 1)
}

/// About ten equal bins from below `lo` to above `hi`.
fn linear_edges(lo: f64, hi: f64) -> Vec<f64> {
    let width = if hi > lo {
        hi - lo
    } else if lo != 0.0 {
        lo.abs()
    } else {
        1.0
    };
    let (m, k) = nice_step(width / 10.0);
    let start = (lo / times_pow10(m, k)).floor();
    let mut edges = Vec::new();
    for i in 0..64 {
        let e = times_pow10((start + i as f64) * m, k);
        edges.push(e);
        if e > hi {
            break;
        }
    }
    edges
}

/// 1, 2, 5 x 10^k edges from at or below `lo` to above `hi` (> `lo` > 0);
/// decades alone when that would make more than 16 bins.
fn log_edges(lo: f64, hi: f64) -> Vec<f64> {
    let mantissas: &[f64] = if (hi / lo).log10() * 3.0 > 16.0 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let mut k = lo.log10().floor() as i32;
    let mut edges = Vec::new();
    'outer: for _ in 0..700 {
        for m in mantissas {
            let e = times_pow10(*m, k);
            if e <= lo {
                edges.clear();
            }
            edges.push(e);
            if e > hi {
                break 'outer;
            }
        }
        k += 1;
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(h: &Histogram) -> u32 {
        h.below + h.above + h.bins.iter().map(|b| b.count).sum::<u32>()
    }

    #[test]
    fn every_value_is_counted_once_in_the_bin_that_holds_it() {
        // A deterministic spread of shapes: tight, wide, negative, constant.
        let sets: Vec<Vec<f64>> = vec![
            vec![0.08, 0.09, 0.1, 0.12, 0.2, 0.35],
            (1..=1000)
                .map(|i| (i % 37) as f64 * 0.013 + 0.001)
                .collect(),
            (0..200)
                .map(|i| 10f64.powf(i as f64 / 40.0 - 2.0))
                .collect(),
            vec![-3.0, -1.0, 0.0, 2.0, 5.0],
            vec![7.0; 30],
            vec![0.0; 3],
            vec![0.5, 0.5, 0.6, 1e9],
        ];
        for v in &sets {
            let h = histogram(v, None);
            assert_eq!(h.total as usize, v.len());
            assert_eq!(counted(&h), h.total, "{v:?} -> {h:?}");
            for &x in v {
                if let Some(i) = h.bin_of(x) {
                    assert!(h.bins[i].lo <= x && x < h.bins[i].hi);
                }
            }
            assert!(h.bins.len() <= 17, "{} bins for {v:?}", h.bins.len());
            for w in h.bins.windows(2) {
                assert_eq!(w[0].hi, w[1].lo, "bins are contiguous");
            }
        }
    }

    #[test]
    fn nice_linear_edges() {
        // 0.08 .. 0.35: width 0.27, a tenth is 0.027 -> step 0.05 from 0.05.
        let h = histogram(&[0.08, 0.09, 0.1, 0.12, 0.2, 0.35], None);
        assert_eq!(h.scale, Scale::Linear);
        assert_eq!(h.bins[0].lo, 0.05);
        assert_eq!(h.bins[0].count, 2); // 0.08, 0.09 in [0.05, 0.1)
        assert!((h.median.unwrap() - 0.11).abs() < 1e-12);
        assert_eq!(h.max_count(), 2);
        // One value: a bin around it.
        let h = histogram(&[7.0; 30], None);
        assert_eq!(h.bins.iter().map(|b| b.count).sum::<u32>(), 30);
    }

    #[test]
    fn wide_positive_guesses_get_a_log_axis_and_outliers_their_own_count() {
        let v = [0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0];
        let h = histogram(&v, None);
        assert_eq!(h.scale, Scale::Log);
        assert_eq!(h.bins[0].lo, 0.01);
        assert_eq!(h.bins[1].lo, 0.02);
        assert_eq!(h.bins[2].lo, 0.05);
        // 1e9 is seven decades past the median of the others: counted in
        // `above`, not stretching the axis.
        let h = histogram(&[0.5, 0.5, 0.6, 0.6, 0.7, 0.7, 0.8, 0.8, 0.9, 1e9], None);
        assert_eq!(h.above, 1);
        assert_eq!(counted(&h), 10);
        assert!(h.bins.last().unwrap().hi < 1e3, "{h:?}");
    }

    #[test]
    fn the_mark_always_has_a_bin() {
        let h = histogram(&[0.08, 0.09, 0.1], Some(0.9));
        assert!(h.bin_of(0.9).is_some(), "{h:?}");
        let h = histogram(&[1.0, 2.0, 3.0], Some(-4.0));
        assert!(h.bin_of(-4.0).is_some(), "{h:?}");
        assert_eq!(histogram(&[], Some(1.0)), Histogram::empty());
        assert_eq!(histogram(&[f64::NAN], None).total, 0);
    }
}
