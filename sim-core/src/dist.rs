//! Time distributions: the engine's sampler ([`Dist`], integer nanoseconds)
//! built from the scenario's description ([`DistSpec`], seconds, defined and
//! validated with the rest of the vocabulary in [`crate::scenario`]).
//!
//! All transcendental math goes through `libm` (rand_distr is built without
//! `std_math`), so samples are bit-identical on native targets and in
//! WebAssembly.

use crate::calendar::{secs_to_ns, Time};
use crate::rng::Stream;
pub use crate::scenario::DistSpec;
use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal};

impl DistSpec {
    /// Lowers to a sampler. Call [`DistSpec::validate`] first.
    pub fn build(&self) -> Dist {
        match self {
            DistSpec::Constant { value_s } => Dist::Constant(secs_to_ns(*value_s)),
            DistSpec::Exponential { mean_s } => {
                Dist::Exp(Exp::new(1.0 / (mean_s * 1e9)).expect("validated"))
            }
            DistSpec::Uniform { min_s, max_s } => Dist::Uniform {
                lo: min_s * 1e9,
                span: (max_s - min_s) * 1e9,
            },
            DistSpec::Lognormal { mean_s, cv } => {
                // If X = e^(mu + sigma Z): E[X] = e^(mu + sigma^2/2),
                // cv^2 = e^(sigma^2) - 1. Solve for (mu, sigma) in ns.
                let sigma2 = libm::log(1.0 + cv * cv);
                let mu = libm::log(mean_s * 1e9) - sigma2 / 2.0;
                Dist::LogNormal(LogNormal::new(mu, libm::sqrt(sigma2)).expect("validated"))
            }
            DistSpec::Erlang { k, mean_s } => {
                let phase_mean = mean_s * 1e9 / *k as f64;
                if *k <= 16 {
                    Dist::Erlang {
                        k: *k,
                        phase: Exp::new(1.0 / phase_mean).expect("validated"),
                    }
                } else {
                    Dist::Gamma(Gamma::new(*k as f64, phase_mean).expect("validated"))
                }
            }
            DistSpec::Mixture { p_slow, fast, slow } => Dist::Mixture {
                p_slow: *p_slow,
                fast: Box::new(fast.build()),
                slow: Box::new(slow.build()),
            },
        }
    }
}

/// A sampler of durations in integer nanoseconds.
#[derive(Clone, Debug)]
pub enum Dist {
    Constant(Time),
    Exp(Exp<f64>),
    Uniform {
        lo: f64,
        span: f64,
    },
    LogNormal(LogNormal<f64>),
    Erlang {
        k: u32,
        phase: Exp<f64>,
    },
    Gamma(Gamma<f64>),
    Mixture {
        p_slow: f64,
        fast: Box<Dist>,
        slow: Box<Dist>,
    },
}

#[inline]
fn to_ns(x: f64) -> Time {
    // Round to the nearest nanosecond; negative or NaN samples cannot occur
    // for these families but are clamped to 0 defensively.
    if x > 0.0 {
        (x + 0.5) as Time
    } else {
        0
    }
}

impl Dist {
    /// Draws one duration. Constant draws consume no randomness.
    #[inline(always)]
    pub fn sample(&self, rng: &mut Stream) -> Time {
        // The common families inline; the rest take a call.
        match self {
            Dist::Constant(v) => *v,
            Dist::Exp(e) => to_ns(e.sample(rng)),
            _ => self.sample_other(rng),
        }
    }

    #[inline(never)]
    fn sample_other(&self, rng: &mut Stream) -> Time {
        match self {
            Dist::Constant(v) => *v,
            Dist::Exp(e) => to_ns(e.sample(rng)),
            Dist::Uniform { lo, span } => to_ns(lo + span * rng.random::<f64>()),
            Dist::LogNormal(l) => to_ns(l.sample(rng)),
            Dist::Erlang { k, phase } => {
                let mut s = 0.0;
                for _ in 0..*k {
                    s += phase.sample(rng);
                }
                to_ns(s)
            }
            Dist::Gamma(g) => to_ns(g.sample(rng)),
            Dist::Mixture { p_slow, fast, slow } => {
                if rng.random::<f64>() < *p_slow {
                    slow.sample(rng)
                } else {
                    fast.sample(rng)
                }
            }
        }
    }

    /// Whether every draw is zero (lets the engine skip a zero-latency hop's
    /// event entirely).
    pub fn is_zero(&self) -> bool {
        matches!(self, Dist::Constant(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn moments(spec: &DistSpec, n: usize) -> (f64, f64) {
        let d = spec.build();
        let mut rng = stream(1, "t", "dist");
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng) as f64 / 1e9).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let m2 = xs.iter().map(|x| x * x).sum::<f64>() / n as f64;
        (m, m2)
    }

    #[test]
    fn sample_means_match_spec() {
        // For n = 200k draws the standard error of the mean is cv*mean/sqrt(n)
        // <= 1.5/447 = 0.34% of the mean for these families; 2% is > 5 sigma.
        let specs = [
            DistSpec::constant(0.25),
            DistSpec::exponential(0.5),
            DistSpec::Uniform {
                min_s: 0.1,
                max_s: 0.3,
            },
            DistSpec::Lognormal {
                mean_s: 0.05,
                cv: 1.5,
            },
            DistSpec::Erlang { k: 4, mean_s: 1.0 },
            DistSpec::Erlang { k: 40, mean_s: 1.0 },
            DistSpec::Mixture {
                p_slow: 0.01,
                fast: Box::new(DistSpec::constant(0.01)),
                slow: Box::new(DistSpec::constant(1.0)),
            },
        ];
        for s in &specs {
            s.validate().unwrap();
            let (m, _) = moments(s, 200_000);
            let rel = (m - s.mean_s()).abs() / s.mean_s();
            assert!(rel < 0.02, "{s:?}: sample mean {m} vs {}", s.mean_s());
        }
    }

    #[test]
    fn lognormal_cv_matches() {
        // E[X^2] = mean^2 (1 + cv^2); with cv = 0.5 the relative standard error
        // of the sample second moment over 400k draws is well under 1%.
        let s = DistSpec::Lognormal {
            mean_s: 2.0,
            cv: 0.5,
        };
        let (_, m2) = moments(&s, 400_000);
        let rel = (m2 - s.second_moment_s2()).abs() / s.second_moment_s2();
        assert!(rel < 0.02, "E[X^2] {m2} vs {}", s.second_moment_s2());
    }

    #[test]
    fn constant_consumes_no_randomness() {
        let mut a = stream(1, "n", "p");
        let mut b = stream(1, "n", "p");
        DistSpec::constant(1.0).build().sample(&mut a);
        assert_eq!(a.random::<u64>(), b.random::<u64>());
    }
}
