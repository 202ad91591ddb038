//! Warm-up detection by MSER-5 (White 1997; White, Cobb & Spratt 2000).
//!
//! A run that starts empty spends its first stretch below steady state; its
//! statistics are biased low unless that stretch is cut. MSER picks the cut
//! `d` that minimises the squared standard error of the mean of what is
//! kept, `MSER(d) = Σ_{i>d} (Z_i − Z̄_d)² / (m − d)²` over the series
//! `Z_1..Z_m`: cutting more removes bias but leaves fewer values, and the
//! minimum balances the two. MSER-5 applies it to the means of consecutive
//! batches of 5 values, which smooths the series. Hoad, Robinson & Davies
//! (2010) compared 44 warm-up methods and recommend MSER-5. A cut in the
//! second half of the run is not trusted (White, Cobb & Spratt 2000; Hoad,
//! Robinson & Davies 2010): the run is too short, or not stationary.

use serde::{Deserialize, Serialize};

/// Values per batch in MSER-5.
pub const BATCH: usize = 5;

/// Where MSER-5 cuts a series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truncation {
    /// Values per batch (5).
    pub batch: usize,
    /// Whole batches in the series (a partial last batch is dropped).
    pub batches: usize,
    /// Batches cut: the warm-up is `cut_batches · batch` values.
    pub cut_batches: usize,
    /// The minimised statistic, MSER(d*).
    pub statistic: f64,
    /// The unrestricted minimum lies in the first half of the series. When
    /// false, `cut_batches` is the best cut within the first half, and the
    /// run is too short (or not stationary) for a trustworthy warm-up.
    pub reliable: bool,
}

impl Truncation {
    /// The number of original values cut.
    pub fn cut_values(&self) -> usize {
        self.cut_batches * self.batch
    }
}

/// MSER-5 over `series` (at least two batches, else `None`). Non-finite
/// values are not allowed (`None`).
pub fn mser5(series: &[f64]) -> Option<Truncation> {
    mser(series, BATCH)
}

/// MSER with batches of `batch` values (1 is plain MSER).
pub fn mser(series: &[f64], batch: usize) -> Option<Truncation> {
    if batch == 0 || series.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let z: Vec<f64> = series
        .chunks_exact(batch)
        .map(|c| c.iter().sum::<f64>() / batch as f64)
        .collect();
    let m = z.len();
    if m < 2 {
        return None;
    }
    // Suffix sums give every MSER(d) in O(m): Σ (z − z̄)² = Σ z² − (Σ z)² / k.
    let (mut s1, mut s2) = (0.0, 0.0);
    let mut stat = vec![f64::INFINITY; m];
    for d in (0..m).rev() {
        s1 += z[d];
        s2 += z[d] * z[d];
        let k = (m - d) as f64;
        // Keep at least two batches: one batch has no spread to judge.
        if m - d >= 2 {
            stat[d] = ((s2 - s1 * s1 / k).max(0.0)) / (k * k);
        }
    }
    let argmin = |range: std::ops::RangeInclusive<usize>| {
        range.fold(0, |best, d| if stat[d] < stat[best] { d } else { best })
    };
    let overall = argmin(0..=m - 2);
    let half = m / 2;
    let reliable = overall <= half;
    let cut = if reliable { overall } else { argmin(0..=half) };
    Some(Truncation {
        batch,
        batches: m,
        cut_batches: cut,
        statistic: stat[cut],
        reliable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stationary_series_is_not_cut() {
        // Alternating noise around 10: cutting anything only loses values.
        let s: Vec<f64> = (0..500)
            .map(|i| 10.0 + if i % 2 == 0 { 1.0 } else { -1.0 } * (i % 7) as f64)
            .collect();
        let t = mser5(&s).unwrap();
        assert_eq!(t.batches, 100);
        assert!(t.reliable);
        assert!(t.cut_batches <= 2, "cut {} batches", t.cut_batches);
    }

    #[test]
    fn a_ramp_then_plateau_is_cut_at_the_end_of_the_ramp() {
        // 100 values rising from 0 to 10, then 400 values at 10 ± 0.5.
        let s: Vec<f64> = (0..500)
            .map(|i| {
                if i < 100 {
                    i as f64 / 10.0
                } else {
                    10.0 + if i % 2 == 0 { 0.5 } else { -0.5 }
                }
            })
            .collect();
        let t = mser5(&s).unwrap();
        assert!(t.reliable);
        // The cut falls at the end of the ramp (batch 20), give or take the
        // batches where the ramp is already within the noise.
        assert!(
            (17..=20).contains(&t.cut_batches),
            "cut {} batches",
            t.cut_batches
        );
        assert_eq!(t.cut_values(), t.cut_batches * 5);
    }

    #[test]
    fn a_series_still_rising_at_the_end_is_flagged() {
        // A linear ramp never settles: the unrestricted minimum sits at the
        // end (two batches left), beyond half: not reliable.
        let s: Vec<f64> = (0..200).map(|i| i as f64).collect();
        let t = mser5(&s).unwrap();
        assert!(!t.reliable);
        assert!(t.cut_batches <= t.batches / 2);
    }

    #[test]
    fn hand_computed_statistic() {
        // Batch size 1 over [4, 0, 2]: d = 0: mean 2, SS = 4 + 4 + 0 = 8,
        // 8/9; d = 1: [0, 2], mean 1, SS = 2, 2/4 = 0.5. Minimum at d = 1,
        // which is the half (m / 2 = 1): reliable.
        let t = mser(&[4.0, 0.0, 2.0], 1).unwrap();
        assert_eq!(t.cut_batches, 1);
        assert!((t.statistic - 0.5).abs() < 1e-12);
        assert!(t.reliable);
    }

    #[test]
    fn too_short_or_bad_series_give_nothing() {
        assert!(mser5(&[1.0; 9]).is_none());
        assert!(mser5(&[1.0, f64::NAN, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]).is_none());
        assert!(mser(&[1.0, 2.0], 0).is_none());
    }
}
