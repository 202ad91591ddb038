//! Closed-form queueing results: the oracles the engine is tested against
//! and the "theory" overlays the page draws beside simulated numbers.
//!
//! Notation: arrival rate `lambda` (1/s), service rate `mu` (1/s) per
//! server, `c` servers, offered load `a = lambda / mu` (Erlangs), utilisation
//! `rho = a / c`. Unstable systems (`rho >= 1`) return `NaN`.

/// Erlang B: probability that an arrival finds all `c` servers busy in an
/// M/M/c/c loss system with offered load `a`. Stable recursion
/// `B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))`.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    b
}

/// Erlang C: probability that an arrival has to wait in M/M/c,
/// `C = B / (1 - rho (1 - B))` with `B` = Erlang B.
pub fn erlang_c(c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    let rho = a / c as f64;
    if !(rho < 1.0) || c == 0 {
        return f64::NAN;
    }
    let b = erlang_b(c, a);
    b / (1.0 - rho * (1.0 - b))
}

/// Mean wait in queue for M/M/c: `W_q = C / (c mu - lambda)`.
pub fn mmc_mean_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda, mu) / (c as f64 * mu - lambda)
}

/// `P(W > t) = C e^{-(c mu - lambda) t}` for M/M/c (FIFO).
pub fn mmc_wait_tail(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    erlang_c(c, lambda, mu) * (-(c as f64 * mu - lambda) * t).exp()
}

/// The `q`-quantile of the M/M/c wait: 0 when `1 - q >= C`, otherwise
/// `ln(C / (1 - q)) / (c mu - lambda)`.
pub fn mmc_wait_quantile(c: u32, lambda: f64, mu: f64, q: f64) -> f64 {
    let cc = erlang_c(c, lambda, mu);
    if cc.is_nan() {
        return f64::NAN;
    }
    if 1.0 - q >= cc {
        0.0
    } else {
        (cc / (1.0 - q)).ln() / (c as f64 * mu - lambda)
    }
}

/// `P(T > t)` for the M/M/c response time `T = W + S`.
///
/// With probability `1 - C` there is no wait and `T = S ~ Exp(mu)`. With
/// probability `C` the wait is `Exp(theta)`, `theta = c mu - lambda`, so
/// `P(W + S > t) = (theta e^{-mu t} - mu e^{-theta t}) / (theta - mu)`
/// (the convolution of two exponentials; `(1 + mu t) e^{-mu t}` when
/// `theta = mu`).
pub fn mmc_sojourn_tail(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    let cc = erlang_c(c, lambda, mu);
    if cc.is_nan() {
        return f64::NAN;
    }
    let theta = c as f64 * mu - lambda;
    let conv = if (theta - mu).abs() < 1e-12 * mu {
        (1.0 + mu * t) * (-mu * t).exp()
    } else {
        (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
    };
    (1.0 - cc) * (-mu * t).exp() + cc * conv
}

/// The `q`-quantile of the M/M/c response time, by bisection on
/// [`mmc_sojourn_tail`] (monotone decreasing in `t`).
pub fn mmc_sojourn_quantile(c: u32, lambda: f64, mu: f64, q: f64) -> f64 {
    if erlang_c(c, lambda, mu).is_nan() || !(0.0..1.0).contains(&q) {
        return f64::NAN;
    }
    let target = 1.0 - q;
    let mut hi = 1.0 / mu;
    while mmc_sojourn_tail(c, lambda, mu, hi) > target {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mmc_sojourn_tail(c, lambda, mu, mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Mean response time of M/M/c: `W_q + 1/mu`.
pub fn mmc_mean_sojourn(c: u32, lambda: f64, mu: f64) -> f64 {
    mmc_mean_wait(c, lambda, mu) + 1.0 / mu
}

/// Blocking probability of M/M/c/K (`K` = places in the whole system,
/// `K >= c`): the stationary probability of `K` in system (PASTA), from the
/// birth-death balance `p_n = p_0 a^n / n!` for `n <= c` and
/// `p_n = p_c rho^{n-c}` for `c < n <= K`.
pub fn mmck_blocking(c: u32, k: u32, lambda: f64, mu: f64) -> f64 {
    assert!(k >= c && c >= 1);
    let a = lambda / mu;
    let rho = a / c as f64;
    let mut terms = Vec::with_capacity(k as usize + 1);
    let mut t = 1.0;
    terms.push(t);
    for n in 1..=k {
        t *= if n <= c { a / n as f64 } else { rho };
        terms.push(t);
    }
    let sum: f64 = terms.iter().sum();
    terms[k as usize] / sum
}

/// Pollaczek–Khinchine mean wait for M/G/1:
/// `W_q = lambda E[S^2] / (2 (1 - rho))`, `rho = lambda E[S]`.
pub fn pk_mean_wait(lambda: f64, mean_s: f64, second_moment: f64) -> f64 {
    let rho = lambda * mean_s;
    if rho >= 1.0 {
        return f64::NAN;
    }
    lambda * second_moment / (2.0 * (1.0 - rho))
}

/// Probability that at least one of `n` independent calls is slow when each
/// is slow with probability `p`: `1 - (1 - p)^n` (the tail at scale).
pub fn fanout_slow(p: f64, n: u32) -> f64 {
    1.0 - (1.0 - p).powi(n as i32)
}

/// Amdahl's law: speed-up on `n` workers with serial fraction `s`:
/// `1 / (s + (1 - s) / n)`.
pub fn amdahl_speedup(s: f64, n: f64) -> f64 {
    1.0 / (s + (1.0 - s) / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn mm1_reduces_to_textbook() {
        // M/M/1: C = rho, W_q = rho / (mu - lambda), T ~ Exp(mu - lambda).
        let (l, m) = (0.9, 1.0);
        assert!(close(erlang_c(1, l, m), 0.9, 1e-12));
        assert!(close(mmc_mean_wait(1, l, m), 9.0, 1e-12));
        // p99 of T: ln(100) / (mu - lambda) = 46.0517...
        assert!(close(
            mmc_sojourn_quantile(1, l, m, 0.99),
            100f64.ln() / 0.1,
            1e-9
        ));
    }

    #[test]
    fn erlang_c_known_value() {
        // Classic call-centre table: c = 10, a = 9 Erlangs -> C = 0.6687.
        assert!(
            close(erlang_c(10, 9.0, 1.0), 0.668_5, 2e-3),
            "{}",
            erlang_c(10, 9.0, 1.0)
        );
        assert!(erlang_c(10, 10.0, 1.0).is_nan());
    }

    #[test]
    fn mm1k_matches_formula() {
        // M/M/1/K: P_K = (1 - rho) rho^K / (1 - rho^(K+1)).
        let (rho, k) = (0.9f64, 10);
        let expect = (1.0 - rho) * rho.powi(k) / (1.0 - rho.powi(k + 1));
        assert!(close(mmck_blocking(1, k as u32, 0.9, 1.0), expect, 1e-12));
    }

    #[test]
    fn pk_md1_is_half_mm1() {
        // Deterministic service has E[S^2] = E[S]^2, half the exponential's.
        let md1 = pk_mean_wait(0.9, 1.0, 1.0);
        let mm1 = pk_mean_wait(0.9, 1.0, 2.0);
        assert!(close(md1 * 2.0, mm1, 1e-12));
        assert!(close(mm1, mmc_mean_wait(1, 0.9, 1.0), 1e-12));
    }

    #[test]
    fn fanout_and_amdahl() {
        assert!(close(fanout_slow(0.01, 100), 0.633_968, 1e-5));
        assert!(close(amdahl_speedup(0.05, 1e12), 20.0, 1e-6));
    }
}
