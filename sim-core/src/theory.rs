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

/// Zipf popularities of `n` items: `p_k = (k + 1)^-s / H(n, s)`,
/// `H(n, s) = sum_{j=1}^{n} j^-s`, for `k = 0..n` (sums to 1; `s = 0` is
/// uniform). Empty for `n = 0`.
pub fn zipf_popularities(n: u64, s: f64) -> Vec<f64> {
    let mut p: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
    // Sum smallest first to limit rounding error.
    let h: f64 = p.iter().rev().sum();
    for x in &mut p {
        *x /= h;
    }
    p
}

/// Solves `sum_i occupancy(p_i T) = capacity` for `T > 0` by bisection
/// (`occupancy` increases from 0 to 1, so the sum is monotone in `T`).
/// `None` when the cache holds every item of positive popularity (no finite
/// root). `capacity > 0`.
fn characteristic_time(p: &[f64], capacity: f64, occupancy: impl Fn(f64) -> f64) -> Option<f64> {
    let positive = p.iter().filter(|&&x| x > 0.0).count() as f64;
    if capacity >= positive {
        return None;
    }
    let f = |t: f64| -> f64 { p.iter().map(|&x| occupancy(x * t)).sum() };
    // Both occupancies satisfy occupancy(x) <= x, so f(T) <= T sum p = T and
    // the root is >= capacity: start there and double to bracket it.
    let mut lo = 0.0;
    let mut hi = capacity.max(f64::MIN_POSITIVE);
    while f(hi) < capacity {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) < capacity {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-13 * hi {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

fn normalised(popularities: &[f64]) -> Option<Vec<f64>> {
    if popularities.iter().any(|&x| !(x >= 0.0) || !x.is_finite()) {
        return None;
    }
    let sum: f64 = popularities.iter().sum();
    if !(sum > 0.0) {
        return None;
    }
    Some(popularities.iter().map(|&x| x / sum).collect())
}

/// The characteristic time `T` (in requests) of an LRU cache of `capacity`
/// entries: the root of `sum_i (1 - e^{-p_i T}) = C`. `+inf` when the cache
/// holds every item, `NaN` for invalid popularities.
pub fn che_characteristic_time(popularities: &[f64], capacity: f64) -> f64 {
    let Some(p) = normalised(popularities) else {
        return f64::NAN;
    };
    if !(capacity > 0.0) {
        return 0.0;
    }
    characteristic_time(&p, capacity, |x| -(-x).exp_m1()).unwrap_or(f64::INFINITY)
}

/// LRU hit ratio under the independent reference model (IRM) with
/// popularities `p_i` (normalised to sum 1) and a capacity of `C` entries,
/// by Che's approximation (Che, Tung & Wang 2002; justified by Fricker,
/// Robert & Roberts 2012).
///
/// Derivation. Under the IRM, request `t` is for item `i` with probability
/// `p_i`, independently of all others; over a window of `T` requests item
/// `i` is requested Binomial(T, p_i) ~ Poisson(p_i T) times. An LRU cache
/// holds exactly the `C` most recently requested distinct items, so item
/// `i` is in the cache iff it was requested more recently than the moment
/// `C` *other* distinct items were requested: after `T_C(i)` requests. Che's
/// step: with many items, each of small popularity, `T_C(i)` concentrates on
/// one constant `T` (the characteristic time), the same for all `i`, defined
/// by "the expected number of distinct items requested in a window of `T`
/// equals `C`":
///
/// `sum_i (1 - e^{-p_i T}) = C`.
///
/// Then item `i` is cached with probability `h_i = P(requested in the last T)
/// = 1 - e^{-p_i T}`, and since request `t + 1` is independent of the state
/// (the discrete PASTA), the hit ratio is `sum_i p_i h_i`. The left side is
/// strictly increasing in `T` (from 0 to the number of items with
/// `p_i > 0`), so `T` is found by bisection. `C >= ` that number gives 1;
/// `C <= 0` gives 0. Uniform popularity gives exactly `C / n`
/// (`n (1 - e^{-T/n}) = C`), which is also the exact LRU answer.
pub fn che_hit_ratio(popularities: &[f64], capacity: f64) -> f64 {
    let Some(p) = normalised(popularities) else {
        return f64::NAN;
    };
    if !(capacity > 0.0) {
        return 0.0;
    }
    match characteristic_time(&p, capacity, |x| -(-x).exp_m1()) {
        None => 1.0,
        Some(t) => p.iter().map(|&x| x * -(-x * t).exp_m1()).sum(),
    }
}

/// FIFO (and RANDOM) hit ratio under the IRM by the Che-style approximation
/// (Martina, Garetto & Leonardi 2014). A FIFO entry is evicted a fixed `T`
/// requests after its insertion (once `C` newer insertions have happened),
/// whatever its hits. Item `i` is inserted at each miss, at rate
/// `p_i (1 - h_i)`, and then stays for `T`, so the fraction of time it is
/// cached is `h_i = p_i (1 - h_i) T`, i.e. `h_i = p_i T / (1 + p_i T)`, with
/// `T` solving `sum_i h_i = C`. Hit ratio `sum_i p_i h_i` (as for LRU).
pub fn fifo_hit_ratio(popularities: &[f64], capacity: f64) -> f64 {
    let Some(p) = normalised(popularities) else {
        return f64::NAN;
    };
    if !(capacity > 0.0) {
        return 0.0;
    }
    match characteristic_time(&p, capacity, |x| x / (1.0 + x)) {
        None => 1.0,
        Some(t) => p.iter().map(|&x| x * (x * t) / (1.0 + x * t)).sum(),
    }
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

    #[test]
    fn che_limits_and_known_values() {
        // Uniform: exactly C / n.
        let u = zipf_popularities(1000, 0.0);
        assert!(close(che_hit_ratio(&u, 100.0), 0.1, 1e-9));
        assert!(close(fifo_hit_ratio(&u, 100.0), 0.1, 1e-9));
        // T for uniform: n (1 - e^{-T/n}) = C => T = -n ln(1 - C/n).
        assert!(close(
            che_characteristic_time(&u, 100.0),
            -1000.0 * (0.9f64).ln(),
            1e-9
        ));
        // Edges: all items fit -> 1; no capacity -> 0.
        assert_eq!(che_hit_ratio(&u, 1000.0), 1.0);
        assert_eq!(che_hit_ratio(&u, 0.0), 0.0);
        assert!(che_hit_ratio(&[0.5, -0.1], 1.0).is_nan());
        // Two items, C = 1: (1 - e^{-pT}) + (1 - e^{-qT}) = 1 with p = 3/4,
        // q = 1/4: x = e^{-T/4} solves x^3 + x - 1 = 0, x = 0.6823278...
        let x: f64 = 0.682_327_803_828_019_3;
        let h = 0.75 * (1.0 - x.powi(3)) + 0.25 * (1.0 - x);
        assert!(close(che_hit_ratio(&[3.0, 1.0], 1.0), h, 1e-9));
        // Zipf: sums to 1, p_0 = 1 / H(n, s); H(10, 1) = 7381/2520.
        let z = zipf_popularities(10, 1.0);
        assert!(close(z.iter().sum::<f64>(), 1.0, 1e-12));
        assert!(close(z[0], 2520.0 / 7381.0, 1e-12));
        // More skew or more capacity -> higher hit ratio; LRU beats FIFO.
        let z8 = zipf_popularities(10_000, 0.8);
        let z11 = zipf_popularities(10_000, 1.1);
        let (a, b, c) = (
            che_hit_ratio(&z8, 100.0),
            che_hit_ratio(&z8, 1000.0),
            che_hit_ratio(&z11, 100.0),
        );
        assert!(a < b && a < c && fifo_hit_ratio(&z8, 100.0) < a);
    }
}
