//! The generators' one source of randomness: a seeded stream with the few
//! draws a scenario generator needs (chances, ranges, picks, log-uniform
//! magnitudes). A case is a pure function of its seed, so a failure is
//! reproduced by its seed alone.

use rand::{Rng as _, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The seed of case `index` of a run with root seed `root`. Case 0 is the
/// root itself, so `--seed S --cases 1` replays the case whose seed is S.
pub fn case_seed(root: u64, index: u64) -> u64 {
    if index == 0 {
        root
    } else {
        sim_core::rng::mix64(root ^ sim_core::rng::mix64(index))
    }
}

/// A deterministic random stream for generators.
pub struct Gen {
    rng: Xoshiro256PlusPlus,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    /// A fresh seed drawn from this stream (for a sub-generator).
    pub fn fork(&mut self) -> u64 {
        self.rng.random()
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    /// Uniform integer in `[lo, hi]`.
    pub fn int(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            self.rng.random_range(lo..=hi)
        }
    }

    /// Uniform index in `[0, n)`; `n` must be > 0.
    pub fn index(&mut self, n: usize) -> usize {
        self.int(0, n as u64 - 1) as usize
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.rng.random::<f64>()
    }

    /// Log-uniform in `[lo, hi]` (both > 0): every order of magnitude alike.
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let (a, b) = (lo.ln(), hi.ln());
        self.uniform(a, b).exp()
    }

    /// A value rounded to 3 significant digits, as the shortest decimal
    /// (readable cases: 0.0578, not 0.057800000000000004).
    pub fn round3(x: f64) -> f64 {
        if x == 0.0 || !x.is_finite() {
            return x;
        }
        format!("{x:.2e}").parse().unwrap_or(x)
    }

    /// Log-uniform, rounded to 3 significant digits.
    pub fn magnitude(&mut self, lo: f64, hi: f64) -> f64 {
        Gen::round3(self.log_uniform(lo, hi))
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// An index drawn with the given weights (not all zero).
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| *w as u64).sum();
        let mut x = self.int(0, total.saturating_sub(1));
        for (i, w) in weights.iter().enumerate() {
            if x < *w as u64 {
                return i;
            }
            x -= *w as u64;
        }
        weights.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_zero_is_the_root_and_others_differ() {
        assert_eq!(case_seed(42, 0), 42);
        let seeds: std::collections::BTreeSet<u64> = (0..1000).map(|i| case_seed(42, i)).collect();
        assert_eq!(seeds.len(), 1000);
    }

    #[test]
    fn streams_are_reproducible() {
        let draw = |s| {
            let mut g = Gen::new(s);
            (g.int(0, 1000), g.uniform(0.0, 1.0), g.chance(0.5))
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn weighted_respects_zero_weights() {
        let mut g = Gen::new(1);
        for _ in 0..1000 {
            assert_ne!(g.weighted(&[3, 0, 5]), 1);
        }
    }

    #[test]
    fn round3_keeps_three_digits() {
        assert_eq!(Gen::round3(0.012345), 0.0123);
        assert_eq!(Gen::round3(98765.0), 98800.0);
        assert_eq!(Gen::round3(0.0578).to_string(), "0.0578");
    }
}
