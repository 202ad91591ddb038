//! Each component's rule against a known answer.
//!
//! Every test runs a small inline scenario whose one interesting mechanism
//! (a pool, a breaker, a cache, a lock, ...) decides the outcome, and
//! compares what the engine reports with a value derived beside it in a
//! comment. Tolerances come from the statistics of the quantity: a binomial
//! or Poisson standard deviation (4 sigma, ~6e-5 false alarms two-sided), or
//! replications judged by `support::assert_agrees` (99.9% Student-t). Every
//! run asserts conservation (`run`, `run_at`).

use crate::support::*;
use sim_core::report::{EdgeReport, NodeReport};
use sim_core::scenario::{FaultAction, FaultSpec};
use sim_core::{secs_to_ns, theory, Report, Scenario, Sim, Window};

// ----- helpers -------------------------------------------------------------------

/// A scenario from inline TOML nodes/faults, with the header filled in.
fn scn(duration_s: f64, warmup_s: f64, body: &str) -> Scenario {
    let text = format!(
        "version = 1\nname = \"component\"\nduration_s = {duration_s}\nwarmup_s = {warmup_s}\n{body}"
    );
    Scenario::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A fault. (Built in code: `[[faults]]` tables do not parse, see
/// `faults_parse_from_toml`.)
fn fault(at_s: f64, duration_s: Option<f64>, target: &str, action: FaultAction) -> FaultSpec {
    FaultSpec {
        at_s,
        duration_s,
        target: target.into(),
        replica: None,
        action,
    }
}

/// `sc` with `faults`, validated.
fn with_faults(mut sc: Scenario, faults: Vec<FaultSpec>) -> Scenario {
    sc.faults = faults;
    sc.validate().unwrap();
    sc
}

/// Runs one simulation and takes a report at each time in `at` (seconds),
/// every one checked for conservation.
fn run_at(sc: &Scenario, seed: u64, at: &[f64]) -> Vec<Report> {
    let mut sim = Sim::new(sc, seed).unwrap();
    at.iter()
        .map(|&t| {
            sim.run_until(secs_to_ns(t)).unwrap();
            let r = sim.report();
            assert!(
                r.conservation.ok,
                "conservation violated at {t} s (seed {seed}): {:?}",
                r.conservation.violations
            );
            r
        })
        .collect()
}

fn edge<'a>(r: &'a Report, from: &str, to: &str) -> &'a EdgeReport {
    r.edges
        .iter()
        .find(|e| e.from == from && e.to == to)
        .unwrap_or_else(|| panic!("no edge {from}->{to}"))
}

fn node<'a>(r: &'a Report, name: &str) -> &'a NodeReport {
    r.nodes
        .get(name)
        .unwrap_or_else(|| panic!("no node {name}"))
}

/// Relative resolution of per-window latency quantiles: those histograms
/// keep 2 significant digits (HDR buckets of at most 1/128 of the value).
const WIN_RES: f64 = 1.0 / 128.0;

/// Index of `name` in each window's `nodes`.
fn widx(r: &Report, name: &str) -> usize {
    r.series.nodes.iter().position(|n| n == name).unwrap()
}

/// Windows starting in `[from, to)` seconds.
fn windows_in(r: &Report, from: f64, to: f64) -> Vec<&Window> {
    r.series
        .windows
        .iter()
        .filter(|w| w.t_start_s >= from - 1e-9 && w.t_start_s < to - 1e-9)
        .collect()
}

/// `k` successes out of `n` agree with probability `p`: within 4 binomial
/// standard deviations.
fn assert_binomial(what: &str, k: f64, n: f64, p: f64) {
    let sd = (p * (1.0 - p) / n).sqrt();
    let got = k / n;
    eprintln!(
        "{what}: sim {got:.5} vs theory {p:.5} (4 sd = {:.5}, n = {n})",
        4.0 * sd
    );
    assert!(
        (got - p).abs() <= 4.0 * sd,
        "{what}: {got:.5} ({k}/{n}) vs theory {p:.5}: |diff| {:.5} > 4 sd {:.5}",
        (got - p).abs(),
        4.0 * sd
    );
}

/// An observed count agrees with a Poisson mean (4 sd, plus `slack` for a
/// stated bounded edge effect).
fn assert_count(what: &str, observed: f64, expected: f64, slack: f64) {
    let tol = 4.0 * expected.sqrt() + slack;
    eprintln!("{what}: sim {observed} vs expected {expected:.1} (± {tol:.1})");
    assert!(
        (observed - expected).abs() <= tol,
        "{what}: {observed} vs expected {expected:.1}: |diff| > {tol:.1}"
    );
}

// ----- 1. connection pool = M/M/c/K -------------------------------------------------

#[test]
fn pool_is_mmck() {
    // Poisson calls (lambda = 8/s) from a service with ample workers through
    // a pool of c = 4 connections with 4 waiting places (K = 8) to an
    // external with Exp(mean 0.5 s) latency (mu = 2/s). A connection is held
    // from dispatch until the answer is back, so connections-in-use plus
    // waiters is exactly an M/M/4/8 system; by PASTA the fraction of
    // attempts refused is its blocking probability:
    // a = 4, rho = 1, p_n = a^n/n! (n <= 4), p_4 (n > 4):
    // P_K = 10.667 / 77 = 0.13853.
    // Occupancy = carried load / c = lambda (1 - P_K) / mu / c = 0.8615.
    let sc = scn(
        4000.0,
        0.0,
        r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 8.0 }

[nodes.api]
kind = "service"
workers = 10000
pools = { ext = { size = 4, max_waiters = 4 } }
steps = [ { call = { to = "ext", pool = "ext" } } ]

[nodes.ext]
kind = "external"
latency = { dist = "exponential", mean_s = 0.5 }
"#,
    );
    let (c, k, l, m) = (4, 8, 8.0, 2.0);
    let pk = theory::mmck_blocking(c, k, l, m);
    assert!((pk - 10.666_666 / 77.0).abs() < 1e-6, "{pk}");
    let reps = replicate(&sc, 8);
    let blocked: Vec<f64> = reps
        .iter()
        .map(|r| {
            let p = &node(r, "api").pools["ext"];
            p.rejected as f64 / edge(r, "api", "ext").calls as f64
        })
        .collect();
    assert_agrees("pool M/M/4/8 blocking", &blocked, pk, 0.0);
    let occ: Vec<f64> = reps
        .iter()
        .map(|r| node(r, "api").pools["ext"].occupancy)
        .collect();
    // Warm-up is 0 (pool occupancy is a whole-run time average): the empty
    // start biases it by at most ~1 s of transient in 4000 s.
    assert_agrees(
        "pool occupancy = carried load / c",
        &occ,
        l * (1.0 - pk) / m / c as f64,
        0.0,
    );
    for r in &reps {
        // Every refused attempt fails its call (no retries, no fallback).
        let e = edge(r, "api", "ext");
        assert_eq!(e.failed_calls, node(r, "api").pools["ext"].rejected);
    }
}

// ----- 2. circuit breaker -------------------------------------------------------

#[test]
fn breaker_opens_sheds_falls_back_and_recovers() {
    // 50 calls/s to an external that fails every request during [20, 30).
    // Breaker: window 50 outcomes, opens at >= 50% failures with >= 20
    // recorded; open 2 s; 3 half-open trials.
    let sc = scn(
        60.0,
        0.0,
        r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 50 }

[nodes.api]
kind = "service"
workers = 1000
steps = [ { call = { to = "ext", breaker = { failure_ratio = 0.5, min_calls = 20, window = 50, open_s = 2.0, half_open_calls = 3 }, fallback = { latency = { dist = "constant", value_s = 0.001 } } } } ]

[nodes.ext]
kind = "external"
latency = { dist = "constant", value_s = 0.01 }
"#,
    );
    let sc = with_faults(
        sc,
        vec![fault(
            20.0,
            Some(10.0),
            "ext",
            FaultAction::Errors { p: 1.0 },
        )],
    );
    let r = run(&sc, 1);
    let e = edge(&r, "api", "ext");
    eprintln!("{e:?}");
    assert!(e.breaker_opened >= 1);
    // Every failed attempt (error or breaker refusal) degrades to the
    // fallback (no retries, no timeouts): fallbacks = errors + rejects, and
    // no call fails.
    assert_eq!(e.fallbacks, e.errors + e.breaker_rejects);
    assert_eq!(e.failed_calls, 0);
    assert_eq!(r.end_to_end.failed, 0);
    // The window holds 50 successes at 20 s; 25 failures make the ratio 0.5:
    // open at ~20.5 s. It stays open (trials fail) until the first episode
    // that starts after 30 s, i.e. until 30..32 s. Refused calls: 50/s over
    // an open time in [9.4, 11.6] s (trials are at most 3 per episode).
    let rej = e.breaker_rejects as f64;
    assert!(
        rej >= 50.0 * 9.4 - 4.0 * (50.0f64 * 9.4).sqrt()
            && rej <= 50.0 * 11.6 + 4.0 * (50.0f64 * 11.6).sqrt(),
        "breaker rejects {rej}"
    );
    let x = widx(&r, "ext");
    // While open, the external sees only half-open trials: at most 3 per
    // episode, episodes >= 2 s apart, so at most 5 bursts in [21, 30).
    let during: u64 = windows_in(&r, 21.0, 30.0)
        .iter()
        .map(|w| w.nodes[x].failed + (w.nodes[x].throughput_rps.round() as u64))
        .sum();
    assert!(
        during <= 15,
        "external saw {during} calls while the breaker was open"
    );
    // Recovered: half-open trials succeed, the breaker closes, errors stop and
    // the external carries the whole 50/s again.
    let after = windows_in(&r, 33.0, 60.0);
    assert!(after.iter().all(|w| w.nodes[x].failed == 0));
    // Every request's call reaches the external again: its completions over
    // [33, 60) equal the requests arriving then, up to the calls in flight
    // (10 ms) at the two ends: the difference of two Poisson(0.5) counts,
    // within 4 with probability 0.9995.
    let served: f64 = after.iter().map(|w| w.nodes[x].throughput_rps).sum();
    let arrived: f64 = after.iter().map(|w| w.arrived as f64).sum();
    assert!((served - arrived).abs() <= 4.0, "{served} vs {arrived}");
    assert_count("external calls after recovery", served, 50.0 * 27.0, 0.0);
}

// ----- 3. retries ------------------------------------------------------------------

#[test]
fn retries_amplify_by_geometric_sum_and_budget_caps_them() {
    // Attempts fail independently with p = 0.3; up to r = 2 retries. An
    // attempt k+1 happens iff the first k failed: E[attempts] = 1 + p + p^2
    // = 1.39, P(call fails) = p^3 = 0.027.
    let sc = scn(
        500.0,
        0.0,
        r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 200 }

[nodes.api]
kind = "service"
workers = 1000
steps = [ { call = { to = "ext", retries = { max = 2 } } } ]

[nodes.ext]
kind = "external"
latency = { dist = "constant", value_s = 0.001 }
error_rate = 0.3
"#,
    );
    let r = run(&sc, 1);
    let e = edge(&r, "api", "ext");
    let p: f64 = 0.3;
    let n = e.calls as f64;
    // Attempts per call take 1, 2, 3 with probabilities 1-p, p(1-p), p^2.
    let mean = 1.0 + p + p * p;
    let m2 = (1.0 - p) + 4.0 * p * (1.0 - p) + 9.0 * p * p;
    let sd = ((m2 - mean * mean) / n).sqrt();
    eprintln!(
        "amplification {} vs {mean} (4 sd {})",
        e.amplification,
        4.0 * sd
    );
    assert!((e.amplification - mean).abs() <= 4.0 * sd);
    assert_binomial(
        "failed calls = p^(r+1)",
        e.failed_calls as f64,
        n,
        p.powi(3),
    );
    assert_eq!(e.retries, e.attempts - e.calls);

    // A retry budget (ratio 0.1, 2/s always allowed, ttl 10 s) under p = 1
    // and max = 3: without it every call would make 4 attempts. Saturated,
    // the budget admits ratio * R + min_per_s retries per second (withdrawals
    // expire like deposits), so amplification = 1 + 0.1 + 2/R = 1.12 at
    // R = 100/s. Edge effects (the reserve at the start, the last ttl) are at
    // most (0.1 R + 2) * ttl = 120 retries over 30,000 calls = 0.004.
    let sc = scn(
        300.0,
        0.0,
        r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 100 }

[nodes.api]
kind = "service"
workers = 1000
steps = [ { call = { to = "ext", retries = { max = 3, budget = { ratio = 0.1, min_per_s = 2 } } } } ]

[nodes.ext]
kind = "external"
latency = { dist = "constant", value_s = 0.001 }
error_rate = 1.0
"#,
    );
    let r = run(&sc, 1);
    let e = edge(&r, "api", "ext");
    let rate = e.calls as f64 / 300.0;
    let expect = 1.1 + 2.0 / rate;
    eprintln!("budgeted amplification {} vs {expect}", e.amplification);
    assert!((e.amplification - expect).abs() <= 0.005);
    assert!(e.retries_denied > 0);
    assert_eq!(e.failed_calls, e.calls - node(&r, "api").in_flight);
}

// ----- 4. timeouts, wasted work, deadline propagation -----------------------------

fn timeout_scenario(dp: bool) -> Scenario {
    // M/M/1, lambda = 7, mu = 10; the client gives up after 0.5 s.
    scn(
        2000.0,
        50.0,
        &format!(
            r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = {{ process = "poisson", rate = 7 }}
timeout_s = 0.5
deadline_propagation = {dp}

[nodes.api]
kind = "service"
workers = 1
service = {{ dist = "exponential", mean_s = 0.1 }}
"#
        ),
    )
}

#[test]
fn timeouts_count_late_work_and_deadlines_drop_it() {
    // Without deadline propagation the server still does every request
    // (FIFO M/M/1, no abandonment), so the response time is Exp(mu - lambda)
    // and P(timeout) = P(T > 0.5) = e^{-3 * 0.5} = 0.2231. Each timed-out
    // request is eventually answered: a late response (wasted work).
    let reps = replicate(&timeout_scenario(false), 6);
    let frac: Vec<f64> = reps
        .iter()
        .map(|r| r.end_to_end.timed_out as f64 / r.end_to_end.arrived as f64)
        .collect();
    assert_agrees("P(T > 0.5) in M/M/1", &frac, (-1.5f64).exp(), 0.0);
    for r in &reps {
        let n = node(r, "api");
        let e = edge(r, "clients", "api");
        // Late answers are exactly the timed-out attempts whose job has ended.
        assert!(n.late_responses <= e.timeouts && n.late_responses + n.in_flight >= e.timeouts);
        assert_eq!(n.expired, 0);
        assert!((n.utilisation - 0.7).abs() < 0.03);
    }
    // With propagation the server drops requests whose deadline passed while
    // they waited: `expired` > 0, and only the requests that run do work:
    // utilisation = arrival rate * (1 - expired/arrived) * E[S]. The work of
    // n ~ 13,000 runs has sd 0.1 sqrt(n) / 1950 s = 0.006 of utilisation.
    let dp = run(&timeout_scenario(true), 1);
    let no = &reps[0];
    let (nd, nn) = (node(&dp, "api"), node(no, "api"));
    eprintln!(
        "dp: expired {} late {} util {:.4}; no dp: late {} util {:.4}",
        nd.expired, nd.late_responses, nd.utilisation, nn.late_responses, nn.utilisation
    );
    assert!(nd.expired > 0);
    assert!(nd.expired <= edge(&dp, "clients", "api").timeouts);
    for (n, expired) in [(nd, nd.expired), (nn, 0)] {
        let ran = 1.0 - expired as f64 / n.arrived as f64;
        let expect = n.arrival_rate_rps * ran * 0.1;
        let sd = 0.1 * (n.arrival_rate_rps * 1950.0 * ran).sqrt() / 1950.0;
        eprintln!(
            "utilisation {:.4} vs {expect:.4} (4 sd {:.4})",
            n.utilisation,
            4.0 * sd
        );
        assert!((n.utilisation - expect).abs() <= 4.0 * sd);
    }
    // Work wasted = late answers of requests that did run (the expired ones
    // are answered late too, but without work).
    assert!(nd.late_responses - nd.expired < nn.late_responses);
}

// ----- 5. idempotency ---------------------------------------------------------------

fn payment_scenario(idem: bool) -> Scenario {
    // Payments: 10% take 0.5 s (beyond the 0.2 s timeout), 90% take 0.05 s;
    // up to 2 retries. Every attempt runs to completion at the callee.
    scn(
        400.0,
        0.0,
        &format!(
            r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = {{ process = "poisson", rate = 50 }}

[nodes.api]
kind = "service"
workers = 1000
steps = [ {{ call = {{ to = "pay", timeout_s = 0.2, retries = {{ max = 2 }}, side_effect = true, idempotency_key = {idem} }} }} ]

[nodes.pay]
kind = "external"
latency = {{ dist = "mixture", p_slow = 0.1, fast = {{ dist = "constant", value_s = 0.05 }}, slow = {{ dist = "constant", value_s = 0.5 }} }}
"#
        ),
    )
}

#[test]
fn retried_side_effects_duplicate_unless_idempotent() {
    // Attempt k+1 is sent iff attempt k was slow (timed out): attempts per
    // call = 1 + p + p^2 = 1.11 with p = 0.1, and every attempt executes. So
    // executions beyond the first per call (duplicates) = p + p^2 = 0.11 per
    // call; variance of (attempts - 1) from its distribution {0, 1, 2} with
    // probabilities {1-p, p(1-p), p^2}.
    let r = run(&payment_scenario(false), 1);
    let (e, pay) = (edge(&r, "api", "pay"), node(&r, "pay"));
    let p: f64 = 0.1;
    let n = e.calls as f64;
    let mean = p + p * p;
    let var = p * (1.0 - p) + 4.0 * p * p - mean * mean;
    let got = pay.duplicates as f64 / n;
    eprintln!(
        "duplicates/call {got:.5} vs {mean} (side effects {})",
        pay.side_effects
    );
    assert!((got - mean).abs() <= 4.0 * (var / n).sqrt() + 60.0 / n);
    // Every execution is a side effect.
    assert_eq!(pay.side_effects, pay.completed);
    assert!(pay.duplicates > 0);

    // With an idempotency key the callee applies each call once: no
    // duplicates, and one side effect per call that has run (calls not yet
    // applied are still in the api).
    let r = run(&payment_scenario(true), 1);
    let (e, pay, api) = (edge(&r, "api", "pay"), node(&r, "pay"), node(&r, "api"));
    assert_eq!(pay.duplicates, 0);
    assert!(pay.side_effects <= e.calls && e.calls - pay.side_effects <= api.in_flight);
    assert!(pay.completed > pay.side_effects);
}

// ----- 6. hedging -------------------------------------------------------------------

fn hedge_scenario(hedge: Option<f64>) -> Scenario {
    let h = hedge.map_or(String::new(), |h| format!(", hedge = {{ after_s = {h} }}"));
    scn(
        600.0,
        0.0,
        &format!(
            r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = {{ process = "poisson", rate = 100 }}

[nodes.api]
kind = "service"
workers = 1000
steps = [ {{ call = {{ to = "ext"{h} }} }} ]

[nodes.ext]
kind = "external"
latency = {{ dist = "mixture", p_slow = 0.02, fast = {{ dist = "uniform", min_s = 0.005, max_s = 0.015 }}, slow = {{ dist = "constant", value_s = 1.0 }} }}
"#
        ),
    )
}

#[test]
fn hedging_after_p95_cuts_p99() {
    // Latency X: 98% Uniform(5, 15) ms, 2% 1 s. Its p95: 0.98 (t - 5)/10 =
    // 0.95 -> t = 14.694 ms. Unhedged, P(X > t) = 0.02 on [15 ms, 1 s), so
    // p99 = 1 s. Hedged at h = p95: L = min(X1, h + X2), so
    // P(L > t) = P(X1 > t) P(X2 > t - h); its 0.99 quantile is found below.
    let s = |t: f64| -> f64 {
        // P(X > t)
        if t < 0.005 {
            1.0
        } else if t < 0.015 {
            0.02 + 0.98 * (0.015 - t) / 0.01
        } else if t < 1.0 {
            0.02
        } else {
            0.0
        }
    };
    let h = 0.005 + 0.01 * 0.95 / 0.98;
    let tail = |t: f64| s(t) * if t > h { s(t - h) } else { 1.0 };
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if tail(mid) > 0.01 {
            lo = mid
        } else {
            hi = mid
        }
    }
    let p99 = 0.5 * (lo + hi); // 24.7 ms
    let plain = run(&hedge_scenario(None), 1);
    let hedged = run(&hedge_scenario(Some(h)), 1);
    let pp = plain.end_to_end.latency_s.p99;
    let hp = hedged.end_to_end.latency_s.p99;
    eprintln!("p99 unhedged {pp:.4} s, hedged {hp:.5} s (theory {p99:.5})");
    assert!(pp >= 0.99, "{pp}");
    // Quantile SE = sqrt(q (1-q) / n) / f(t*), density f = 0.02 * 0.98 / 0.01
    // = 1.96 /s at t*; plus 0.1% histogram resolution.
    let n = hedged.end_to_end.completed as f64;
    let se = (0.99f64 * 0.01 / n).sqrt() / 1.96;
    assert!(
        (hp - p99).abs() <= 4.0 * se + 0.001 * p99,
        "{hp} vs {p99} (se {se})"
    );
    // Hedges are sent for the calls still unanswered at h: P(X > h) = 0.05
    // (h is the p95).
    let e = edge(&hedged, "api", "ext");
    assert_binomial("hedges per call", e.hedges as f64, e.calls as f64, s(h));
    assert_eq!(e.attempts, e.calls + e.hedges);
    // The losing copies answer late.
    assert!(node(&hedged, "ext").late_responses > 0);
}

// ----- 7. fan-out -------------------------------------------------------------------

#[test]
fn fanout_tail_at_scale() {
    // Each request calls the external 10 times in parallel; each call takes
    // 10 ms, or 100 ms with p = 0.05. The request takes the max: 100 ms with
    // probability 1 - (1 - p)^10 = 0.4013, else 10 ms. No hops, no compute,
    // so e2e latency is exactly 0.01 + 0.09 * slow and the slow fraction is
    // (mean - 0.01) / 0.09 (the mean is kept exactly).
    let sc = scn(
        400.0,
        0.0,
        r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 50 }

[nodes.api]
kind = "service"
workers = 1000
steps = [ { call = { to = "ext", count = 10, parallel = true } } ]

[nodes.ext]
kind = "external"
latency = { dist = "mixture", p_slow = 0.05, fast = { dist = "constant", value_s = 0.01 }, slow = { dist = "constant", value_s = 0.1 } }
"#,
    );
    let r = run(&sc, 1);
    let l = &r.end_to_end.latency_s;
    let n = r.end_to_end.completed as f64;
    let slow = (l.mean - 0.01) / 0.09 * n;
    assert_binomial(
        "fan-out slow fraction",
        slow,
        n,
        theory::fanout_slow(0.05, 10),
    );
    assert_eq!(edge(&r, "api", "ext").calls, 10 * r.end_to_end.arrived);
}

// ----- 8. LRU/FIFO caches vs Che -------------------------------------------------------

fn che_scenario(policy: &str) -> Scenario {
    scn(
        700.0,
        100.0,
        &format!(
            r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = {{ process = "poisson", rate = 300 }}

[nodes.api]
kind = "service"
workers = 64
steps = [ {{ cache_read = {{ cache = "c", key = {{ space = "items", n = 10000, zipf = 0.8 }}, on_miss = [ {{ compute = {{ dist = "constant", value_s = 0.001 }} }} ] }} }} ]

[nodes.c]
kind = "cache"
capacity_entries = 500
policy = "{policy}"
"#
        ),
    )
}

#[test]
fn cache_hit_rate_matches_che() {
    // IRM requests, Zipf(0.8) over 10,000 keys, 500 entries. Che's
    // approximation (LRU) and its FIFO analogue give the hit ratio. Warm-up
    // (100 s = 30,000 requests, many characteristic times) is excluded by
    // differencing the counters. The fill window (1 ms miss + 0.5 ms put at
    // 300/s: 0.5 requests, nearly all to other keys) barely perturbs IRM.
    let pop = theory::zipf_popularities(10_000, 0.8);
    for (policy, expect) in [
        ("lru", theory::che_hit_ratio(&pop, 500.0)),
        ("fifo", theory::fifo_hit_ratio(&pop, 500.0)),
    ] {
        let rs = run_at(&che_scenario(policy), 1, &[100.0, 700.0]);
        let (a, b) = (
            rs[0].nodes["c"].cache.clone().unwrap(),
            rs[1].nodes["c"].cache.clone().unwrap(),
        );
        let (h, m) = ((b.hits - a.hits) as f64, (b.misses - a.misses) as f64);
        let got = h / (h + m);
        eprintln!(
            "{policy}: hit rate {got:.4} vs Che {expect:.4} ({} lookups)",
            h + m
        );
        assert!(
            (got - expect).abs() <= 0.02,
            "{policy} hit rate {got} vs {expect}"
        );
        assert_eq!(b.entries, 500);
    }
}

// ----- 9. invalidation ---------------------------------------------------------------

fn invalidation_scenario(invalidate: &str, versioned: bool) -> Scenario {
    // 200 reads/s and 20 writes/s over 100 uniform keys; the cache holds
    // every key, no TTL.
    scn(
        300.0,
        0.0,
        &format!(
            r#"
[nodes.readers]
kind = "source"
target = "api"
endpoint = "read"
arrival = {{ process = "poisson", rate = 200 }}

[nodes.writers]
kind = "source"
target = "api"
endpoint = "write"
arrival = {{ process = "poisson", rate = 20 }}

[nodes.api]
kind = "service"
workers = 1000

[nodes.api.endpoints.read]
steps = [ {{ cache_read = {{ cache = "c", versioned_keys = {versioned}, key = {{ space = "k", n = 100 }}, on_miss = [ {{ compute = {{ dist = "constant", value_s = 0.002 }} }} ] }} }} ]

[nodes.api.endpoints.write]
steps = [ {{ write = {{ key = {{ space = "k", n = 100 }}, cache = "c", invalidate = "{invalidate}" }} }} ]

[nodes.c]
kind = "cache"
capacity_entries = 1000
"#
        ),
    )
}

#[test]
fn cache_invalidation_and_staleness() {
    // No invalidation: once key k is written (per-key write rate w = 0.2/s)
    // every later hit on it is stale for ever. Fresh fraction of hits over
    // T = 300 s is E[min(E_k, T)] / T = 1 / (w T) = 1/60, so stale fraction
    // = 0.9833; the 100 first-write times make its sd 0.0017.
    let r = run(&invalidation_scenario("none", false), 1);
    let c = r.nodes["c"].cache.clone().unwrap();
    eprintln!("none: {c:?}");
    assert!((c.stale_fraction - (1.0 - 1.0 / 60.0)).abs() <= 4.0 * 0.0017 + 0.002);

    // Delete on write: only the cache-aside race leaves stale data. A
    // fill stores the version its reader saw at lookup; a write during the
    // ~3 ms between lookup and fill (0.5 ms get + 2 ms read + 0.5 ms put)
    // deletes nothing yet, so the fill is stale. Misses ~ one per write
    // (20/s * 300 s = 6000); a fill is stale with probability ~ w * 3 ms =
    // 6e-4, i.e. ~3.6 stale fills, each hit ~ (read rate 2/s) / (write rate
    // 0.2/s) = 10 times before the next write deletes it: ~36 stale hits of
    // ~54,000 (0.07%), against 98% without invalidation. Allow up to 0.5%.
    let r = run(&invalidation_scenario("delete", false), 1);
    let c = r.nodes["c"].cache.clone().unwrap();
    eprintln!("delete: {c:?}");
    assert!(c.stale_fraction < 0.005, "{}", c.stale_fraction);
    assert!(c.misses > 100);
    // Versioned keys: the reader picks key@version when its lookup starts,
    // 0.5 ms before the cache answers; a write in between leaves the old
    // version's entry to be hit. Expected stale hits = hits * w * 0.0005
    // (~60,000 * 1e-4 = 6), Poisson.
    let r = run(&invalidation_scenario("none", true), 1);
    let c = r.nodes["c"].cache.clone().unwrap();
    let race = c.hits as f64 * 0.2 * 0.0005;
    eprintln!(
        "versioned: stale {} (race expectation {race:.1})",
        c.stale_reads
    );
    assert_count("versioned-key stale hits", c.stale_reads as f64, race, 1.0);
}

// ----- 10. single flight --------------------------------------------------------------

fn stampede_scenario(sf: bool, cache_latency_s: f64, duration_s: f64) -> Scenario {
    // 1000 reads/s over 10 uniform keys, each miss a 50 ms query on a
    // database with ample cores; the cache is flushed at 10 s.
    let sc = scn(
        duration_s,
        0.0,
        &format!(
            r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = {{ process = "poisson", rate = 1000 }}

[nodes.api]
kind = "service"
workers = 10000
steps = [ {{ cache_read = {{ cache = "c", single_flight = {sf}, key = {{ space = "k", n = 10 }}, on_miss = [ {{ query = {{ db = "db", table = "t", kind = "pk" }} }} ] }} }} ]

[nodes.c]
kind = "cache"
capacity_entries = 100
latency = {{ dist = "constant", value_s = {cache_latency_s} }}

[nodes.db]
kind = "database"
cores = 10000
cost = {{ base_s = 0.05 }}
tables = {{ t = {{ rows = 1000 }} }}
"#
        ),
    );
    with_faults(sc, vec![fault(10.0, None, "c", FaultAction::Flush {})])
}

#[test]
fn single_flight_collapses_the_refill() {
    // After the flush, key k's first reader misses at its lookup (0.5 ms
    // after arrival) and stores the value 0.5 + 50.005 + 0.5 ms after its
    // arrival. Without single flight every reader whose lookup falls in
    // between misses too: per key 1 + Poisson(100/s * 50.505 ms) queries,
    // 10 * 6.05 = 60.5 in all (sd sqrt(50.5)). With single flight, readers
    // arriving after the first miss is known wait for its fill; only those
    // whose own lookup was already in flight (0.5 ms: Poisson(0.05) per key)
    // query too: 10 + Poisson(0.5).
    let q = |sf: bool| {
        let rs = run_at(&stampede_scenario(sf, 0.0005, 12.0), 1, &[9.99, 12.0]);
        let d = |r: &Report| r.nodes["db"].database.clone().unwrap().queries as f64;
        (d(&rs[1]) - d(&rs[0]), rs[1].clone())
    };
    let (without, _) = q(false);
    let (with, r) = q(true);
    assert_count("refill queries without single flight", without, 60.5, 0.0);
    eprintln!("refill queries with single flight: {with}");
    assert!((10.0..=14.0).contains(&with), "{with}");
    assert!(r.nodes["c"].cache.as_ref().unwrap().coalesced > 0);
}

#[test]
fn single_flight_answers_every_waiter() {
    // One hot key (1000 reads/s), a slow cache (5 ms per operation) and a
    // 0.2 s TTL: ~110 refills in 29 s, each ~60 ms long (5 ms get + 50 ms
    // query + 5 ms put) during which ~60 readers queue behind the filler. A
    // reader whose lookup was already in flight when the first miss
    // registered misses too and must join that fill, not replace it.
    // Arrivals stop at 29 s and no request can take more than ~70 ms, so at
    // 30 s every request must have been answered: an orphaned waiter would
    // stay in flight for ever.
    let sc = scn(
        30.0,
        0.0,
        r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "schedule", points = [ { at_s = 0, rate = 1000 }, { at_s = 29, rate = 0 } ] }

[nodes.api]
kind = "service"
workers = 10000
steps = [ { cache_read = { cache = "c", single_flight = true, key = { space = "k", n = 1 }, on_miss = [ { query = { db = "db", table = "t", kind = "pk" } } ] } } ]

[nodes.c]
kind = "cache"
capacity_entries = 100
ttl_s = 0.2
latency = { dist = "constant", value_s = 0.005 }

[nodes.db]
kind = "database"
cores = 10000
cost = { base_s = 0.05 }
tables = { t = { rows = 1000 } }
"#,
    );
    for seed in 1..=3 {
        let r = run(&sc, seed);
        eprintln!(
            "seed {seed}: in flight {}, cache {:?}",
            r.end_to_end.in_flight, r.nodes["c"].cache
        );
        assert_eq!(
            r.end_to_end.in_flight, 0,
            "seed {seed}: requests never answered"
        );
        assert!(r.nodes["c"].cache.as_ref().unwrap().coalesced > 1000);
    }
}

// ----- 11. database ----------------------------------------------------------------

fn growth_scenario(kind: &str) -> Scenario {
    // 2 queries/s on 8 cores (< 0.5 Erlang: practically no waiting) against
    // a table of 1e5 rows growing by 1e4 rows/s; 10 s windows.
    scn(
        100.0,
        0.0,
        &format!(
            r#"
[metrics]
window_s = 10

[nodes.clients]
kind = "source"
target = "api"
arrival = {{ process = "poisson", rate = 2 }}

[nodes.api]
kind = "service"
workers = 100
steps = [ {{ query = {{ db = "db", table = "t", kind = "{kind}" }} }} ]

[nodes.db]
kind = "database"
tables = {{ t = {{ rows = 100000, growth_per_s = 10000 }} }}
"#
        ),
    )
}

#[test]
fn scans_slow_down_as_tables_grow_indexes_do_not() {
    // Default costs: base 0.3 ms + 5 us per row returned, plus 0.2 us per row
    // scanned, or 20 us per log2(rows) indexed. A query starting at t costs
    // cost(rows(t)), rows(t) = 1e5 + 1e4 t, so every latency in a window
    // [a, a + 10) lies in [cost(a), cost(a + 10)] (no hops, no waiting), up
    // to the resolution of per-window histograms (2 significant digits:
    // buckets of at most 1/128 = 0.8% of the value).
    let rows = |t: f64| 1e5 + 1e4 * t;
    let scan = |t: f64| 0.0003 + 0.000005 + 2e-7 * rows(t);
    let idx = |t: f64| 0.0003 + 0.000005 + 0.00002 * rows(t).log2();
    for (kind, cost) in [("scan", &scan as &dyn Fn(f64) -> f64), ("indexed", &idx)] {
        let r = run(&growth_scenario(kind), 1);
        for w in &r.series.windows {
            let (lo, hi) = (cost(w.t_start_s), cost(w.t_end_s));
            let p50 = w.p50_s.expect("every window answers");
            assert!(
                p50 >= lo * (1.0 - WIN_RES) && p50 <= hi * (1.0 + WIN_RES),
                "{kind} window at {}: p50 {p50} not in [{lo}, {hi}]",
                w.t_start_s,
            );
        }
        let ws = &r.series.windows;
        let growth = ws.last().unwrap().p99_s.unwrap() / ws[0].p99_s.unwrap();
        eprintln!("{kind}: last/first window p99 = {growth:.3}");
        match kind {
            // 0.2 ms per 1000 rows: 20 ms -> 220 ms, ten times.
            "scan" => assert!(growth > 5.0),
            // log2(1.1e6) / log2(1.1e5): at most 1.12.
            _ => assert!(growth < 1.12),
        }
    }
}

fn replica_scenario(reads: &str) -> Scenario {
    // 20 writes/s and 100 reads/s of 100 uniform keys; 2 read replicas that
    // lag 0.5 s behind.
    scn(
        300.0,
        0.0,
        &format!(
            r#"
[nodes.readers]
kind = "source"
target = "api"
endpoint = "read"
arrival = {{ process = "poisson", rate = 100 }}

[nodes.writers]
kind = "source"
target = "api"
endpoint = "write"
arrival = {{ process = "poisson", rate = 20 }}

[nodes.api]
kind = "service"
workers = 1000

[nodes.api.endpoints.read]
steps = [ {{ query = {{ db = "db", table = "t", kind = "pk", key = {{ space = "rows", n = 100 }} }} }} ]

[nodes.api.endpoints.write]
steps = [ {{ query = {{ db = "db", table = "t", kind = "pk", write = true, key = {{ space = "rows", n = 100 }} }} }} ]

[nodes.db]
kind = "database"
reads = "{reads}"
read_replicas = {{ count = 2, lag_s = 0.5 }}
tables = {{ t = {{ rows = 1000 }} }}
"#
        ),
    )
}

#[test]
fn read_replicas_serve_stale_reads_within_lag() {
    // Writes to one key form a Poisson process of rate 20/100 = 0.2/s, so a
    // read (independent of the writes) finds the key written within the last
    // lag = 0.5 s with probability 1 - e^{-0.1} = 0.0952.
    let r = run(&replica_scenario("replicas"), 1);
    let n = node(&r, "db");
    let d = n.database.clone().unwrap();
    assert_binomial(
        "stale replica reads",
        d.stale_reads as f64,
        d.reads as f64,
        1.0 - (-0.1f64).exp(),
    );
    // Reads went to the replicas (stations 1 and 2), writes to the primary.
    eprintln!("replica utilisation {:?}", n.replica_utilisation);
    assert_eq!(n.replica_utilisation.len(), 3);
    assert!(n.replica_utilisation[1] > 0.0 && n.replica_utilisation[2] > 0.0);
    let r = run(&replica_scenario("primary"), 1);
    let n = node(&r, "db");
    assert_eq!(n.database.as_ref().unwrap().stale_reads, 0);
    assert!(n.database.as_ref().unwrap().reads > 0);
    assert_eq!(n.replica_utilisation[1] + n.replica_utilisation[2], 0.0);
}

// ----- 12. locks and Amdahl ----------------------------------------------------------

fn lock_scenario(replicas: u32, locked: bool) -> Scenario {
    // 10 ms of parallel work then 2 ms of work: inside a global lock or not.
    // 400 closed-loop users with no think time keep every worker busy.
    let tail = if locked {
        r#"{ locked = { lock = "global", steps = [ { compute = { dist = "constant", value_s = 0.002 } } ] } }"#
    } else {
        r#"{ compute = { dist = "constant", value_s = 0.002 } }"#
    };
    scn(
        30.0,
        5.0,
        &format!(
            r#"
[nodes.users]
kind = "source"
target = "api"
arrival = {{ process = "closed", users = 400, think = {{ dist = "constant", value_s = 0.0 }} }}

[nodes.api]
kind = "service"
workers = 8
replicas = {replicas}
steps = [ {{ compute = {{ dist = "constant", value_s = 0.010 }} }}, {tail} ]
"#
        ),
    )
}

#[test]
fn global_lock_caps_throughput_like_amdahl() {
    // A request is T = 12 ms of work of which c = 2 ms is serial: s = 1/6.
    // One worker does 1/T = 83.3 req/s; Amdahl's speed-up on n workers is
    // 1 / (s + (1 - s)/n) -> 1/s = 6, so throughput caps at
    // (1/T) * 6 = 1/c = 500/s however many replicas there are.
    let (t, c) = (0.012, 0.002);
    let cap = (1.0 / t) * theory::amdahl_speedup(c / t, 1e12);
    assert!((cap - 1.0 / c).abs() < 1e-6);
    for replicas in [2, 8] {
        let r = run(&lock_scenario(replicas, true), 1);
        let x = r.end_to_end.throughput_rps;
        eprintln!("locked, {replicas} replicas: {x:.1}/s (cap {cap:.1})");
        // The lock is never idle under saturation: within 1%.
        assert!((x - cap).abs() <= 0.01 * cap, "{x}");
    }
    // Without the lock 64 workers all run: 64 / T = 5333/s.
    let r = run(&lock_scenario(8, false), 1);
    let x = r.end_to_end.throughput_rps;
    eprintln!("unlocked, 8 replicas: {x:.1}/s");
    assert!((x - 64.0 / t).abs() <= 0.01 * 64.0 / t, "{x}");
}

// ----- 13. event loop ----------------------------------------------------------------

fn event_loop_scenario(blocking: bool) -> Scenario {
    // One event loop; light requests (100/s) compute 1 ms; heavy ones (2/s)
    // compute 1 ms and call an external that takes 200 ms.
    scn(
        300.0,
        10.0,
        &format!(
            r#"
[nodes.light]
kind = "source"
target = "api"
endpoint = "light"
arrival = {{ process = "poisson", rate = 100 }}

[nodes.heavy]
kind = "source"
target = "api"
endpoint = "heavy"
arrival = {{ process = "poisson", rate = 2 }}

[nodes.api]
kind = "service"
model = "event_loop"
workers = 1

[nodes.api.endpoints.light]
steps = [ {{ compute = {{ dist = "constant", value_s = 0.001 }} }} ]

[nodes.api.endpoints.heavy]
steps = [ {{ compute = {{ dist = "constant", value_s = 0.001 }} }}, {{ call = {{ to = "ext", blocking = {blocking} }} }} ]

[nodes.ext]
kind = "external"
latency = {{ dist = "constant", value_s = 0.2 }}
"#
        ),
    )
}

#[test]
fn blocking_call_stalls_the_event_loop() {
    // Blocking: the loop is held 2/s * 201 ms = 40% of the time. A light
    // request arriving then waits the residual block, uniform on [0, 201 ms],
    // so P(wait > 150 ms) >= 0.40 * 51/201 = 0.10 > 0.01: p99 > 150 ms.
    let b = run(&event_loop_scenario(true), 1);
    let bp = b.sources["light"].latency_s.p99;
    // Non-blocking: the loop is busy 10.2% with 1 ms jobs (M/D/1-like at
    // rho = 0.1): waits beyond 4 ms need 4+ jobs queued, P ~ rho^4 << 0.01.
    let n = run(&event_loop_scenario(false), 1);
    let np = n.sources["light"].latency_s.p99;
    eprintln!("light p99: blocking {bp:.4} s, non-blocking {np:.4} s");
    assert!(bp > 0.15, "{bp}");
    assert!(np < 0.005, "{np}");
    // Heavy requests still take ~201 ms either way.
    assert!(n.sources["heavy"].latency_s.p50 >= 0.201);
}

// ----- 14. load balancer --------------------------------------------------------------

fn lb_scenario(policy: &str, extra_src: &str, rate: f64, duration: f64) -> Scenario {
    scn(
        duration,
        100.0,
        &format!(
            r#"
[nodes.clients]
kind = "source"
target = "lb"
arrival = {{ process = "poisson", rate = {rate} }}
{extra_src}

[nodes.lb]
kind = "load_balancer"
backends = ["api"]
policy = "{policy}"

[nodes.api]
kind = "service"
workers = 1
replicas = 4
service = {{ dist = "exponential", mean_s = 0.1 }}
"#
        ),
    )
}

#[test]
fn balancer_policies_spread_load_as_queueing_theory_says() {
    // 30/s over 4 single-worker replicas, mu = 10: rho = 0.75 each.
    // Random: each replica is M/M/1 with lambda = 7.5: W = 1/(10 - 7.5) = 0.4 s.
    // Round robin: each replica sees every 4th arrival, Erlang-4 gaps: E4/M/1,
    // W = 1/(mu (1 - sigma)), sigma = (4 l / (4 l + mu (1 - sigma)))^4.
    // Least connections (JSQ) sits between M/M/4 (a shared queue, the best
    // possible) and round robin.
    let mu = 10.0;
    let lr = 7.5;
    let mut sigma: f64 = 0.5;
    for _ in 0..500 {
        sigma = (4.0 * lr / (4.0 * lr + mu * (1.0 - sigma))).powi(4);
    }
    let w_rr = 1.0 / (mu * (1.0 - sigma));
    let w_mm4 = theory::mmc_mean_sojourn(4, 30.0, mu);
    let mean = |policy: &str, n: u64| -> (Vec<f64>, Vec<Report>) {
        let reps = replicate(&lb_scenario(policy, "", 30.0, 2100.0), n);
        (
            reps.iter().map(|r| r.end_to_end.latency_s.mean).collect(),
            reps,
        )
    };
    let (random, _) = mean("random", 6);
    assert_agrees("random balancing = M/M/1 each", &random, 0.4, 0.0);
    let (rr, reps) = mean("round_robin", 6);
    assert_agrees("round robin = E4/M/1 each", &rr, w_rr, 0.0);
    for r in &reps {
        // Each replica gets exactly a quarter of the arrivals.
        for u in &node(r, "api").replica_utilisation {
            assert!((u - 0.75).abs() < 0.03, "{u}");
        }
    }
    let (lc, _) = mean("least_connections", 2);
    let (p2, _) = mean("power_of_two", 2);
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    eprintln!(
        "mean sojourn: M/M/4 {w_mm4:.4}, least_connections {:.4}, power_of_two {:.4}, round robin {w_rr:.4}, random 0.4",
        avg(&lc),
        avg(&p2)
    );
    // Ordering: a shared queue <= join-shortest-queue < power of two choices
    // < random (2% allowance on M/M/4 for the sampling error of 2 runs).
    assert!(avg(&lc) >= w_mm4 * 0.98 && avg(&lc) < w_rr);
    assert!(avg(&lc) < avg(&p2) && avg(&p2) < 0.4);
}

#[test]
fn sticky_sessions_make_a_hot_replica() {
    // 1000 users, Zipf(1.5): the top user sends p0 = 1/H(1000, 1.5) = 0.39
    // of the requests, all to one replica. Total load 10/s * 0.1 s = 1
    // Erlang, so that replica is at least p0 = 0.39 busy where an even
    // spread gives 0.25 (sd of a 1900 s utilisation here ~0.01).
    let p0 = theory::zipf_popularities(1000, 1.5)[0];
    let sticky = run(
        &lb_scenario(
            "sticky",
            "users = { count = 1000, zipf = 1.5 }",
            10.0,
            2000.0,
        ),
        1,
    );
    let u = &node(&sticky, "api").replica_utilisation;
    let max = u.iter().cloned().fold(0.0, f64::max);
    eprintln!("sticky utilisations {u:?}, p0 {p0:.3}");
    assert!(max >= p0 - 0.04, "{max} vs {p0}");
    let rr = run(
        &lb_scenario(
            "round_robin",
            "users = { count = 1000, zipf = 1.5 }",
            10.0,
            2000.0,
        ),
        1,
    );
    for u in &node(&rr, "api").replica_utilisation {
        assert!((u - 0.25).abs() < 0.04, "{u}");
    }
}

fn crash_lb_scenario(health: bool) -> Scenario {
    let hc = if health {
        "health_check = { interval_s = 1.0, unhealthy_after = 2 }"
    } else {
        ""
    };
    let sc = scn(
        60.0,
        0.0,
        &format!(
            r#"
[nodes.clients]
kind = "source"
target = "lb"
arrival = {{ process = "poisson", rate = 40 }}

[nodes.lb]
kind = "load_balancer"
backends = ["api"]
{hc}

[nodes.api]
kind = "service"
workers = 4
replicas = 4
service = {{ dist = "exponential", mean_s = 0.01 }}
"#
        ),
    );
    let mut f = fault(20.0, Some(20.0), "api", FaultAction::Crash {});
    f.replica = Some(0);
    with_faults(sc, vec![f])
}

#[test]
fn health_checks_bound_errors_to_the_detection_window() {
    // Round robin sends a quarter of 40/s to replica 0. Without health
    // checks the balancer keeps sending it there for the whole 20 s crash:
    // ~200 requests to a dead replica, each refused. With checks every 1 s,
    // 2 failures to mark it down, it is dropped after 2 s: ~20.
    for (health, dead_s) in [(false, 20.0), (true, 2.0)] {
        let r = run(&crash_lb_scenario(health), 1);
        let lb = node(&r, "lb").balancer.clone().unwrap();
        assert_count(
            &format!("to_dead (health checks {health})"),
            lb.to_dead as f64,
            40.0 / 4.0 * dead_s,
            0.0,
        );
        // Errors: the refused requests plus those in replica 0 at the crash
        // (Poisson, mean 40/4 * 0.01 s = 0.1).
        let failed = r.end_to_end.failed;
        assert!(failed >= lb.to_dead && failed <= lb.to_dead + 3, "{failed}");
        if health {
            // After detection no request fails.
            assert!(windows_in(&r, 22.0, 60.0).iter().all(|w| w.failed == 0));
        }
    }
}

// ----- 15. rate limiter ----------------------------------------------------------------

fn limiter_scenario(limit: bool, abuser: bool) -> Scenario {
    let rl = if limit {
        r#"rate_limit = { algorithm = "token_bucket", rate = 10, burst = 20, per_client = true }"#
    } else {
        ""
    };
    let ab = if abuser {
        r#"
[nodes.abuser]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 100 }
"#
    } else {
        ""
    };
    scn(
        300.0,
        10.0,
        &format!(
            r#"
[nodes.good]
kind = "source"
target = "api"
arrival = {{ process = "poisson", rate = 5 }}
{ab}
[nodes.api]
kind = "service"
workers = 1
service = {{ dist = "exponential", mean_s = 0.01 }}
{rl}
"#
        ),
    )
}

#[test]
fn per_client_token_bucket_isolates_the_abuser() {
    let r = run(&limiter_scenario(true, true), 1);
    let (good, bad) = (&r.sources["good"], &r.sources["abuser"]);
    // The abuser (100/s against 10/s + burst 20) is admitted at most
    // rate * t + burst = 3020 times in 300 s, and, saturating the bucket,
    // at least rate * t = 3000 minus the arrivals it never tried (none).
    let admitted = bad.arrived - bad.rejected;
    eprintln!("abuser admitted {admitted} of {}", bad.arrived);
    assert!((3000..=3020).contains(&admitted), "{admitted}");
    assert_eq!(node(&r, "api").rate_limited, bad.rejected + good.rejected);
    // The good client (5/s, its own bucket of 10/s) never runs out: its
    // bucket deficit is an M/D/1 workload at rho = 0.5 that would have to
    // exceed 20 tokens (~1e-9).
    assert_eq!(good.rejected, 0);
    // Its latency: M/M/1 at rho = 0.05 alone has p99 = ln(100)/95 = 48.5 ms;
    // with the abuser's admitted 10/s (rho = 0.15, Poisson bound)
    // ln(100)/85 = 54.2 ms. Allow 10% for the quantile's sampling error.
    let gp = good.latency_s.p99;
    let alone = run(&limiter_scenario(true, false), 1).sources["good"]
        .latency_s
        .p99;
    eprintln!("good p99 {gp:.4} (alone {alone:.4})");
    assert!(
        gp <= 100f64.ln() / 85.0 * 1.1 && gp >= 100f64.ln() / 95.0 * 0.9,
        "{gp}"
    );
    assert!(alone <= 100f64.ln() / 95.0 * 1.1);
    // Without the limiter the server is overloaded (105/s vs 100/s) and the
    // good client's p99 grows without bound (queue +5/s: ~15 s by the end).
    let flood = run(&limiter_scenario(false, true), 1);
    assert!(flood.sources["good"].latency_s.p99 > 1.0);
}

// ----- 16. memory limit -------------------------------------------------------------------

fn oom_scenario(rate: f64) -> Scenario {
    // 100 MB base + 10 MB per request, limit 300 MB: the 21st request in
    // the replica kills it; it restarts after 5 s.
    scn(
        300.0,
        0.0,
        &format!(
            r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = {{ process = "poisson", rate = {rate} }}

[nodes.api]
kind = "service"
workers = 1000
service = {{ dist = "exponential", mean_s = 0.2 }}
memory = {{ base_mb = 100, per_request_mb = 10, limit_mb = 300, restart_s = 5 }}
"#
        ),
    )
}

#[test]
fn memory_limit_oom_kills_and_restarts() {
    // lambda = 100/s, 0.2 s each, ample workers: M/M/inf, N ~ Poisson(20),
    // so N > 20 happens within seconds: OOM kills. Each kill fails exactly
    // the 21 requests then in the replica, and arrivals during the 5 s
    // restart are refused.
    let r = run(&oom_scenario(100.0), 1);
    let n = node(&r, "api");
    eprintln!(
        "oom kills {}, restarts {}, failed {}",
        n.oom_kills, n.restarts, n.failed
    );
    assert!(n.oom_kills > 0);
    assert!(n.restarts >= n.oom_kills);
    // Only kills fail jobs here (arrivals while down count as refused).
    assert_eq!(n.failed, 21 * n.oom_kills);
    // End to end: the killed requests plus those refused while it restarted.
    assert_eq!(r.end_to_end.failed, n.failed + n.rejected);
    // At 20/s, N ~ Poisson(4): P(N > 20) ~ 1e-8 per arrival: no kill.
    let r = run(&oom_scenario(20.0), 1);
    assert_eq!(node(&r, "api").oom_kills, 0);
    assert_eq!(r.end_to_end.failed, 0);
}

// ----- 17. autoscaler -------------------------------------------------------------------

#[test]
fn autoscaler_follows_a_step_after_boot_and_cooldown() {
    // Deterministic arrivals: 20/s, then 100/s from 60 s. Replicas of 4
    // workers x 100 ms = 40/s each; target utilisation 0.7; ticks every 5 s;
    // cooldown 30 s; boot 10 s.
    //   tick 65: [60, 65] at 2 replicas is saturated (u = 1): desired
    //            ceil(2 * 1 / 0.7) = 3; the 3rd boots, up at 75.
    //   ticks 70..90: cooldown.
    //   tick 95: the 300 requests of backlog (15 s * 20/s) sit in the two old
    //            replicas' own queues; round robin gives every replica
    //            33.3/s, so they drain at 6.7/s each: 150 / 6.67 = 22.5 s,
    //            until 97.5. u[90, 95] = (1 + 1 + 0.833) / 3 = 0.944 ->
    //            ceil(3 * 0.944 / 0.7) = ceil(4.05) = 5; both up at 105.
    //   tick 125 (cooldown over): u = 100/200 = 0.5 -> ceil(5 * 0.5 / 0.7)
    //            = 4: one replica drains (< 0.1 s) and retires.
    //   later: u = 0.625 -> ceil(4 * 0.625 / 0.7) = 4: stable.
    // Three actions; paid replica-seconds over 200 s (booting counts):
    // 2*65 + 3*30 + 5*30 + 4*75 = 670.
    let sc = scn(
        200.0,
        0.0,
        r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "schedule", poisson = false, points = [ { at_s = 0, rate = 20 }, { at_s = 60, rate = 100 } ] }

[nodes.api]
kind = "service"
workers = 4
replicas = 2
service = { dist = "constant", value_s = 0.1 }
autoscale = { metric = "utilisation", target = 0.7, min = 2, max = 10, interval_s = 5, cooldown_s = 30, boot_s = 10 }
"#,
    );
    let r = run(&sc, 1);
    let n = node(&r, "api");
    let x = widx(&r, "api");
    let first_up = r
        .series
        .windows
        .iter()
        .find(|w| w.nodes[x].replicas > 2)
        .map(|w| w.t_end_s)
        .unwrap();
    eprintln!(
        "replicas {}, actions {}, instance-seconds {:.1}, 3rd replica up by {first_up}",
        n.replicas, n.scale_actions, n.instance_seconds
    );
    let up_at = |t: f64| {
        r.series
            .windows
            .iter()
            .find(|w| (w.t_end_s - t).abs() < 1e-9)
            .unwrap()
            .nodes[x]
            .replicas
    };
    assert_eq!(
        [
            up_at(74.0),
            up_at(76.0),
            up_at(104.0),
            up_at(106.0),
            up_at(126.0)
        ],
        [2, 3, 3, 5, 4]
    );
    assert_eq!(n.replicas, 4);
    assert!(
        first_up >= 75.0,
        "a replica took traffic before boot: {first_up}"
    );
    // Cooldown: at most one action per 30 s after the first at 65.
    assert!(n.scale_actions <= 1 + (200 - 65) / 30);
    assert_eq!(n.scale_actions, 3);
    assert!(
        (n.instance_seconds - 670.0).abs() < 1.0,
        "{}",
        n.instance_seconds
    );
}

// ----- 18. broker -------------------------------------------------------------------

fn broker_scenario(rate: f64, broker: &str) -> Scenario {
    scn(
        100.0,
        0.0,
        &format!(
            r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = {{ process = "poisson", rate = {rate} }}

[nodes.api]
kind = "service"
workers = 10000
steps = [ {{ publish = {{ broker = "q" }} }} ]

[nodes.q]
kind = "broker"
{broker}
"#
        ),
    )
}

#[test]
fn poison_message_stalls_a_partition_without_a_dlq() {
    // 2 partitions (round robin), one consumer each, 10 ms per message, 2%
    // poison, retried for ever: each partition stalls at its first poison
    // message (after Geometric(0.02) messages, mean 50). By 50 s each
    // partition has had 500 messages: P(no poison yet) = 0.98^500 = 4e-5.
    let sc = broker_scenario(
        20.0,
        r#"partitions = 2
consumers = 2
process = { dist = "constant", value_s = 0.01 }
poison_rate = 0.02
redelivery_s = 1.0"#,
    );
    let rs = run_at(&sc, 1, &[50.0, 100.0]);
    let (a, b) = (
        rs[0].nodes["q"].broker.clone().unwrap(),
        rs[1].nodes["q"].broker.clone().unwrap(),
    );
    eprintln!("at 50 s {a:?}\nat 100 s {b:?}");
    assert_eq!(
        a.processed, b.processed,
        "a stalled partition processed messages"
    );
    // Everything published since is still waiting (the stuck head is either
    // waiting or being retried: +-1 per partition).
    let grew = b.backlog as i64 - a.backlog as i64;
    let published = (b.published - a.published) as i64;
    assert!((grew - published).abs() <= 2, "{grew} vs {published}");
    assert!(b.partition_backlog.iter().all(|&x| x > 100));
    // The heads are retried every redelivery_s + 10 ms: ~50 s / 1.01 s per
    // partition between the snapshots.
    let retries = (b.failed_attempts - a.failed_attempts) as f64;
    assert!((retries - 2.0 * 50.0 / 1.01).abs() <= 4.0, "{retries}");
}

#[test]
fn max_attempts_with_dlq_drains_poison() {
    // Same traffic, 3 attempts then the DLQ (redelivery 0.1 s): every poison
    // message ends dead-lettered (Binomial(published, 0.02)), the rest are
    // processed; a partition blocks 0.23 s per poison message (~0.2/s), so
    // the backlog stays small.
    for (dlq, redirect) in [(true, "dead_lettered"), (false, "discarded")] {
        let sc = broker_scenario(
            20.0,
            &format!(
                r#"partitions = 2
consumers = 2
process = {{ dist = "constant", value_s = 0.01 }}
poison_rate = 0.02
max_attempts = 3
dlq = {dlq}
redelivery_s = 0.1"#
            ),
        );
        let r = run(&sc, 1);
        let b = r.nodes["q"].broker.clone().unwrap();
        eprintln!("{b:?}");
        let gone = if dlq { b.dead_lettered } else { b.discarded };
        assert_eq!(if dlq { b.discarded } else { b.dead_lettered }, 0);
        assert_binomial(redirect, gone as f64, b.published as f64, 0.02);
        assert!(b.failed_attempts >= 3 * gone && b.failed_attempts <= 3 * gone + 4);
        assert!(b.backlog <= 20, "backlog {}", b.backlog);
    }
}

#[test]
fn broker_overflow_reject_drop_block() {
    // One partition of 10 places, one consumer at 100 ms (10/s), producers
    // at 20/s: the consumer is always busy, so ~10/s are processed and the
    // rest (~10/s) overflow.
    let cfg = |overflow: &str| {
        broker_scenario(
            20.0,
            &format!(
                r#"partitions = 1
capacity = 10
overflow = "{overflow}"
consumers = 1
process = {{ dist = "constant", value_s = 0.1 }}"#
            ),
        )
    };
    let t = 100.0;
    for overflow in ["reject", "drop", "block"] {
        let r = run(&cfg(overflow), 1);
        let b = r.nodes["q"].broker.clone().unwrap();
        let e = &r.end_to_end;
        eprintln!("{overflow}: {b:?}\n  e2e {e:?}");
        // Saturated consumer: processed = t / 0.1 minus the first arrival
        // gap and the one in processing.
        assert!(b.processed as f64 >= 10.0 * t - 3.0 && b.processed as f64 <= 10.0 * t);
        let excess = e.arrived as f64 - 10.0 * t;
        match overflow {
            "reject" => {
                // The producer sees every refusal as an error.
                assert_eq!(e.failed, b.rejected);
                assert_eq!(b.dropped, 0);
                assert_count("rejected", b.rejected as f64, excess, 12.0);
            }
            "drop" => {
                // Accepted and silently lost.
                assert_eq!(e.failed + e.rejected, 0);
                assert_eq!(b.rejected, 0);
                assert_count("dropped", b.dropped as f64, excess, 12.0);
            }
            _ => {
                // Producers wait: nothing lost, nothing refused; the waiting
                // producers are the requests still in flight.
                assert_eq!(e.failed + e.rejected + b.dropped + b.rejected, 0);
                assert_eq!(e.completed, b.published);
                assert_count("blocked producers", e.in_flight as f64, excess, 12.0);
            }
        }
    }
}

// ----- 19. faults -------------------------------------------------------------------

fn fault_scenario(faults: Vec<FaultSpec>, replicas: u32) -> Scenario {
    // 10/s of 10 ms constant work on 4 workers (0.1 Erlang: essentially no
    // waiting), then a 1 ms call to a db service.
    let sc = scn(
        100.0,
        0.0,
        &format!(
            r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = {{ process = "poisson", rate = 10 }}

[nodes.api]
kind = "service"
workers = 4
replicas = {replicas}
steps = [ {{ compute = {{ dist = "constant", value_s = 0.01 }} }}, {{ call = {{ to = "db" }} }} ]

[nodes.db]
kind = "service"
workers = 4
service = {{ dist = "constant", value_s = 0.001 }}
"#
        ),
    );
    with_faults(sc, faults)
}

#[test]
fn crash_fails_requests_for_its_duration() {
    // One replica down for 10 s: every arrival in that time is refused
    // (10/s * 10 s = 100, Poisson), plus those in it at the crash (~0.1).
    let r = run(
        &fault_scenario(
            vec![fault(20.0, Some(10.0), "api", FaultAction::Crash {})],
            1,
        ),
        1,
    );
    assert_count("crash errors", r.end_to_end.failed as f64, 100.0, 2.0);
    assert!(windows_in(&r, 31.0, 100.0).iter().all(|w| w.failed == 0));
    assert!(windows_in(&r, 0.0, 20.0).iter().all(|w| w.failed == 0));
}

#[test]
fn slow_and_noisy_neighbour_scale_latency() {
    // Request latency = 10 ms compute * factor + 1 ms db. `slow` factor 3
    // during [20, 40): 31 ms; a noisy neighbour stealing half the CPU during
    // [60, 80) makes compute 1/(1 - 0.5) = 2x slower: 21 ms. Otherwise 11 ms.
    // Median per window (no waiting at 0.1 Erlang), within the per-window
    // histogram resolution.
    let r = run(
        &fault_scenario(
            vec![
                fault(20.0, Some(20.0), "api", FaultAction::Slow { factor: 3.0 }),
                fault(
                    60.0,
                    Some(20.0),
                    "api",
                    FaultAction::NoisyNeighbour { steal: 0.5 },
                ),
            ],
            1,
        ),
        1,
    );
    for w in &r.series.windows {
        let t = w.t_start_s;
        let expect = if (21.0..40.0).contains(&t) {
            0.031
        } else if (61.0..80.0).contains(&t) {
            0.021
        } else if (t < 19.0) || (41.0..59.0).contains(&t) || t >= 81.0 {
            0.011
        } else {
            continue; // a window straddling a change
        };
        if w.completed == 0 {
            continue;
        }
        let p50 = w.p50_s.expect("a window that answered");
        assert!(
            (p50 - expect).abs() <= WIN_RES * expect,
            "window {t}: p50 {p50} vs {expect}",
        );
    }
}

#[test]
fn partition_between_nodes_fails_calls() {
    // api -/- db during [20, 30): every request fails (the call fails at once),
    // before and after none do.
    let r = run(
        &fault_scenario(
            vec![fault(
                20.0,
                Some(10.0),
                "api",
                FaultAction::Partition { peer: "db".into() },
            )],
            1,
        ),
        1,
    );
    let during = windows_in(&r, 20.0, 30.0);
    let (arr, fail): (u64, u64) = during
        .iter()
        .fold((0, 0), |(a, f), w| (a + w.arrived, f + w.failed));
    eprintln!("partition: {fail} of {arr} failed");
    // Requests that arrived in the last 10 ms before 20 s call at >= 20 s and
    // fail too; those arriving in the last 10 ms before 30 s call after it
    // and succeed: two Poisson(0.1) counts, |diff| <= 3 w.p. 0.999.
    assert!(fail.abs_diff(arr) <= 3);
    assert!(windows_in(&r, 31.0, 100.0).iter().all(|w| w.failed == 0));
    assert_eq!(edge(&r, "api", "db").failed_calls, r.end_to_end.failed);
}

#[test]
fn scale_and_spike_faults() {
    // Scale 1 -> 3 replicas at 20 s; a 3x spike during [50, 70).
    let r = run(
        &fault_scenario(
            vec![
                fault(20.0, None, "api", FaultAction::Scale { replicas: 3 }),
                fault(
                    50.0,
                    Some(20.0),
                    "clients",
                    FaultAction::Spike { factor: 3.0 },
                ),
            ],
            1,
        ),
        1,
    );
    let x = widx(&r, "api");
    for w in &r.series.windows {
        // (The window closing at 20 s shares its instant with the fault.)
        if w.t_end_s < 20.0 - 1e-9 {
            assert_eq!(w.nodes[x].replicas, 1, "window {}", w.t_start_s);
        } else if w.t_start_s >= 20.0 - 1e-9 {
            assert_eq!(w.nodes[x].replicas, 3, "window {}", w.t_start_s);
        }
    }
    assert_eq!(node(&r, "api").replica_utilisation.len(), 3);
    // Arrivals: Poisson 10/s, 30/s during the spike.
    let count = |a: f64, b: f64| windows_in(&r, a, b).iter().map(|w| w.arrived).sum::<u64>();
    assert_count(
        "arrivals during spike",
        count(50.0, 70.0) as f64,
        30.0 * 20.0,
        0.0,
    );
    assert_count(
        "arrivals after spike",
        count(70.0, 100.0) as f64,
        10.0 * 30.0,
        0.0,
    );
}

#[test]
fn faults_parse_from_toml() {
    // The documented way to write a fault. serde does not support
    // `deny_unknown_fields` together with `flatten`: every field of the
    // flattened action (`kind`, `p`, ...) is reported as unknown.
    let sc = scn(
        10.0,
        0.0,
        r#"
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 1 }

[nodes.api]
kind = "service"
service = { dist = "constant", value_s = 0.01 }

[[faults]]
at_s = 5
duration_s = 1
target = "api"
kind = "errors"
p = 0.5
"#,
    );
    assert_eq!(
        sc.faults,
        vec![fault(5.0, Some(1.0), "api", FaultAction::Errors { p: 0.5 })]
    );
}
