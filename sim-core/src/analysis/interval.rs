//! Confidence intervals for a mean over independent replications.
//!
//! Each replication gives one number (a run's mean sojourn, its p99, its
//! throughput). Replications differ only in their seeds, so these numbers
//! are independent and identically distributed, and by the central limit
//! theorem their mean is close to normal: the interval is Student's t on
//! n - 1 degrees of freedom, `mean ± t(1 - α/2, n - 1) · s / √n` (Law,
//! *Simulation Modeling and Analysis*, 5th ed., §9.4.1).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// A mean over replications with its confidence interval. With fewer than
/// two values there is no spread to measure: `sd`, `half_width`, `lo` and
/// `hi` are `None` (never a made-up zero).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Values the mean is over.
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation of the values (n - 1 in the denominator).
    pub sd: Option<f64>,
    /// t · sd / √n.
    pub half_width: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
}

impl Interval {
    /// The Student-t interval of the mean of `values` at `confidence`
    /// (0.95 for 95%), which must lie strictly between 0 and 1.
    pub fn student_t(values: &[f64], confidence: f64) -> Interval {
        assert!(
            confidence > 0.0 && confidence < 1.0,
            "confidence {confidence} is not in (0, 1)"
        );
        let n = values.len();
        // Summed in the given (replication) order: the same bytes every time.
        let mean = values.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Interval {
                n,
                mean,
                sd: None,
                half_width: None,
                lo: None,
                hi: None,
            };
        }
        let ss: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
        let sd = (ss / (n - 1) as f64).sqrt();
        let hw = t_quantile(confidence, n - 1) * sd / (n as f64).sqrt();
        Interval {
            n,
            mean,
            sd: Some(sd),
            half_width: Some(hw),
            lo: Some(mean - hw),
            hi: Some(mean + hw),
        }
    }

    /// Half-width over |mean|: the relative precision (`None` without a
    /// half-width or at a zero mean).
    pub fn relative_half_width(&self) -> Option<f64> {
        let hw = self.half_width?;
        (self.mean != 0.0 && hw.is_finite()).then(|| hw / self.mean.abs())
    }

    /// Whether `x` lies in the interval (inclusive).
    pub fn covers(&self, x: f64) -> bool {
        matches!((self.lo, self.hi), (Some(lo), Some(hi)) if lo <= x && x <= hi)
    }
}

/// The two-sided critical value t(1 - α/2, df) for `confidence` = 1 - α.
pub fn t_quantile(confidence: f64, df: usize) -> f64 {
    let t = StudentsT::new(0.0, 1.0, df as f64).expect("df >= 1 is a valid Student t");
    t.inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_values_match_the_tables() {
        // Printed t tables (e.g. Law, Table T.1): t(0.975, 9) = 2.262,
        // t(0.975, 29) = 2.045, t(0.95, 4) = 2.132, t(0.995, 1) = 63.657.
        for (conf, df, want) in [
            (0.95, 9, 2.262),
            (0.95, 29, 2.045),
            (0.90, 4, 2.132),
            (0.99, 1, 63.657),
        ] {
            let t = t_quantile(conf, df);
            assert!(
                (t - want).abs() < 5e-4,
                "t({conf}, {df}) = {t}, want {want}"
            );
        }
    }

    #[test]
    fn interval_of_known_values() {
        // 1..=5: mean 3, s^2 = 10/4 = 2.5, half-width t(0.975,4) s/sqrt(5)
        // = 2.7764 * 1.5811 / 2.2361 = 1.9632.
        let i = Interval::student_t(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95);
        assert_eq!(i.n, 5);
        assert_eq!(i.mean, 3.0);
        assert!((i.sd.unwrap() - 2.5f64.sqrt()).abs() < 1e-12);
        assert!((i.half_width.unwrap() - 1.9632).abs() < 1e-4);
        assert!(i.covers(3.0) && i.covers(1.04) && !i.covers(0.9));
        assert!((i.relative_half_width().unwrap() - 1.9632 / 3.0).abs() < 1e-4);
    }

    #[test]
    fn one_value_has_no_interval() {
        let i = Interval::student_t(&[7.0], 0.95);
        assert_eq!((i.mean, i.sd, i.half_width), (7.0, None, None));
        assert!(!i.covers(7.0));
        assert_eq!(i.relative_half_width(), None);
    }

    #[test]
    fn identical_values_have_a_zero_width_interval() {
        let i = Interval::student_t(&[2.0; 4], 0.9);
        assert_eq!((i.lo, i.hi), (Some(2.0), Some(2.0)));
    }
}
