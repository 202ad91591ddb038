//! The engine against closed-form queueing theory.
//!
//! Every comparison uses independent replications (seeds 1..=n) and a 99.9%
//! Student-t interval from their spread (see `support::assert_agrees`), so the
//! tolerance comes from the statistics, not from a guess. A single long run at
//! 90% load has a few percent standard deviation on the mean wait (the
//! asymptotic variance of the M/M/1 mean wait grows like (1 - rho)^-4), so a
//! fixed 1% tolerance on one seed would be wrong.

use crate::support::*;
use sim_core::theory;

#[test]
fn mm1_matches_textbook() {
    // lambda = 0.9, mu = 1: rho = 0.9; W_q = rho / (mu - lambda) = 9 s;
    // waits: P(W > t) = rho e^{-(mu - lambda) t}, so the q-quantile is
    // ln(rho / (1 - q)) / 0.1: p90 = 10 ln 9 = 21.97 s, p99 = 10 ln 90 = 45.0 s.
    // Response time T ~ Exp(mu - lambda): mean 10 s, p99 = 10 ln 100 = 46.05 s.
    let sc = scenario_with(
        &asset("mm1.toml"),
        &[("duration_s", "500000"), ("warmup_s", "2000")],
    );
    let reps = replicate(&sc, 12);
    let node = |f: fn(&sim_core::report::NodeReport) -> f64| -> Vec<f64> {
        reps.iter().map(|r| f(&r.nodes["server"])).collect()
    };
    let (l, m) = (0.9, 1.0);
    assert_agrees("M/M/1 utilisation", &node(|n| n.utilisation), 0.9, 0.0);
    assert_agrees(
        "M/M/1 P(wait)",
        &node(|n| n.p_wait),
        theory::erlang_c(1, l, m),
        0.0,
    );
    assert_agrees(
        "M/M/1 mean wait",
        &node(|n| n.wait_s.mean),
        theory::mmc_mean_wait(1, l, m),
        0.0,
    );
    // Histogram quantiles carry up to 0.1% resolution error (3 significant
    // digits): allowed as bias.
    let p99 = theory::mmc_wait_quantile(1, l, m, 0.99);
    assert!((p99 - 10.0 * 90f64.ln()).abs() < 1e-9);
    assert_agrees("M/M/1 wait p99", &node(|n| n.wait_s.p99), p99, 0.001 * p99);
    let tp99 = theory::mmc_sojourn_quantile(1, l, m, 0.99);
    assert_agrees(
        "M/M/1 response p99",
        &node(|n| n.sojourn_s.p99),
        tp99,
        0.001 * tp99,
    );
    let e2e: Vec<f64> = reps.iter().map(|r| r.end_to_end.latency_s.mean).collect();
    assert_agrees("M/M/1 end-to-end mean", &e2e, 10.0, 0.0);
}

#[test]
fn mmc_matches_erlang_c() {
    // c = 10, lambda = 9, mu = 1 (mmc.toml). Erlang C: C = 0.6687 (by the
    // Erlang B recursion in theory::erlang_c); W_q = C / (c mu - lambda) =
    // 0.6687 s; P(W > t) = C e^{-t}, so wait quantiles are ln(C / (1 - q)):
    // p50 = 0.290 s, p90 = 1.900 s, p99 = 4.203 s. Response-time p99 from the
    // exact mixture (theory::mmc_sojourn_tail).
    let sc = scenario_with(
        &asset("mmc.toml"),
        &[("duration_s", "40000"), ("warmup_s", "400")],
    );
    let reps = replicate(&sc, 8);
    let node = |f: fn(&sim_core::report::NodeReport) -> f64| -> Vec<f64> {
        reps.iter().map(|r| f(&r.nodes["server"])).collect()
    };
    let (c, l, m) = (10, 9.0, 1.0);
    let cc = theory::erlang_c(c, l, m);
    assert!((cc - 0.6687).abs() < 5e-4, "{cc}");
    assert_agrees("M/M/10 utilisation", &node(|n| n.utilisation), 0.9, 0.0);
    assert_agrees("M/M/10 P(wait) = Erlang C", &node(|n| n.p_wait), cc, 0.0);
    assert_agrees(
        "M/M/10 mean wait",
        &node(|n| n.wait_s.mean),
        theory::mmc_mean_wait(c, l, m),
        0.0,
    );
    for (q, get) in [
        (
            0.50,
            (|n: &sim_core::report::NodeReport| n.wait_s.p50) as fn(&_) -> f64,
        ),
        (0.90, |n| n.wait_s.p90),
        (0.99, |n| n.wait_s.p99),
    ] {
        let expect = theory::mmc_wait_quantile(c, l, m, q);
        assert_agrees(
            &format!("M/M/10 wait p{}", q * 100.0),
            &node(get),
            expect,
            0.001 * expect,
        );
    }
    let tp99 = theory::mmc_sojourn_quantile(c, l, m, 0.99);
    assert_agrees(
        "M/M/10 response p99",
        &node(|n| n.sojourn_s.p99),
        tp99,
        0.001 * tp99,
    );
    assert_agrees(
        "M/M/10 queue length (L_q = lambda W_q)",
        &node(|n| n.queue_len_mean),
        l * theory::mmc_mean_wait(c, l, m),
        0.0,
    );
}

#[test]
fn md1_matches_pollaczek_khinchine() {
    // M/D/1, rho = 0.9: W_q = lambda E[S^2] / (2 (1 - rho)) = 0.9 * 1 / 0.2 = 4.5 s.
    let sc = scenario_with(
        &asset("md1.toml"),
        &[("duration_s", "200000"), ("warmup_s", "2000")],
    );
    let reps = replicate(&sc, 8);
    let w: Vec<f64> = reps.iter().map(|r| r.nodes["server"].wait_s.mean).collect();
    let expect = theory::pk_mean_wait(0.9, 1.0, 1.0);
    assert!((expect - 4.5).abs() < 1e-12);
    assert_agrees("M/D/1 mean wait", &w, expect, 0.0);
}

#[test]
fn mg1_lognormal_matches_pollaczek_khinchine() {
    // M/G/1 with lognormal service, mean 1 s, cv 1.5: E[S^2] = 1 + 1.5^2 =
    // 3.25 s^2. At lambda = 0.7: W_q = 0.7 * 3.25 / (2 * 0.3) = 3.7917 s.
    let sc = scenario_with(
        &asset("md1.toml"),
        &[
            ("duration_s", "200000"),
            ("warmup_s", "2000"),
            ("nodes.clients.arrival.rate", "0.7"),
            (
                "nodes.server.service",
                r#"{"dist": "lognormal", "mean_s": 1.0, "cv": 1.5}"#,
            ),
        ],
    );
    let reps = replicate(&sc, 10);
    let w: Vec<f64> = reps.iter().map(|r| r.nodes["server"].wait_s.mean).collect();
    let expect = theory::pk_mean_wait(0.7, 1.0, 3.25);
    assert!((expect - 3.791_666).abs() < 1e-5);
    assert_agrees("M/G/1 (lognormal cv 1.5) mean wait", &w, expect, 0.0);
}

#[test]
fn mm1k_blocking_probability() {
    // M/M/1/K, K = 10, rho = 0.9: P_K = (1 - rho) rho^K / (1 - rho^{K+1})
    // = 0.1 * 0.34868 / (1 - 0.31381) = 0.050813. By PASTA, the fraction of
    // arrivals rejected equals P_K.
    let sc = scenario_with(
        &asset("mm1k.toml"),
        &[("duration_s", "200000"), ("warmup_s", "0")],
    );
    let reps = replicate(&sc, 8);
    let p: Vec<f64> = reps
        .iter()
        .map(|r| r.nodes["server"].rejected as f64 / r.nodes["server"].arrived as f64)
        .collect();
    let expect = theory::mmck_blocking(1, 10, 0.9, 1.0);
    assert!((expect - 0.050_813).abs() < 1e-5, "{expect}");
    assert_agrees("M/M/1/10 blocking", &p, expect, 0.0);
}

#[test]
fn littles_law_on_every_node() {
    // L = lambda W holds on every sample path up to edge effects (requests
    // present at the start or end of the measured interval), so on a long run
    // it must hold to well under 1%: lambda = accepted arrivals/s, W = mean
    // sojourn, L = time-average number in the node.
    let sc = scenario_with(&asset("chain.toml"), &[("duration_s", "3000")]);
    let r = run(&sc, 7);
    for (name, n) in &r.nodes {
        let lambda = n.arrival_rate_rps * (1.0 - n.rejected as f64 / n.arrived.max(1) as f64);
        let lw = lambda * n.sojourn_s.mean;
        let rel = (n.in_system_mean - lw).abs() / lw;
        eprintln!("{name}: L = {:.4}, lambda W = {lw:.4}", n.in_system_mean);
        assert!(
            rel < 0.01,
            "Little's law on {name}: L = {} but lambda W = {lw}",
            n.in_system_mean
        );
        // And L_q = lambda W_q for the waiting room.
        let lq = lambda * n.wait_s.mean;
        assert!(
            (n.queue_len_mean - lq).abs() <= 0.01 * lq.max(0.01),
            "{name}: L_q {} vs {lq}",
            n.queue_len_mean
        );
    }
}

#[test]
fn chain_latency_adds_up() {
    // End-to-end = 2 client hops (2 ms each way) + api sojourn; the api's
    // sojourn includes its own waits, compute, 2 db hops and the db sojourn.
    let sc = scenario_with(&asset("chain.toml"), &[("duration_s", "2000")]);
    let r = run(&sc, 3);
    let api = &r.nodes["api"];
    let db = &r.nodes["db"];
    let e2e = r.end_to_end.latency_s.mean;
    assert!(
        (e2e - (api.sojourn_s.mean + 0.004)).abs() < 0.002,
        "{e2e} vs {}",
        api.sojourn_s.mean
    );
    // api service = 4 ms + 2 ms compute + 2 ms hops + db sojourn.
    let service = api.sojourn_s.mean - api.wait_s.mean;
    assert!(
        (service - (0.008 + db.sojourn_s.mean)).abs() < 0.001,
        "{service}"
    );
    // db: 200/s * 30 ms on 8 workers = 75% busy.
    assert!((db.utilisation - 0.75).abs() < 0.02, "{}", db.utilisation);
}

#[test]
fn slo_compliance_is_the_response_time_cdf() {
    // M/M/1 with lambda = 0.5, mu = 1: response time T ~ Exp(mu - lambda =
    // 0.5), so P(T <= 2 s) = 1 - e^{-1} = 0.6321 and with a 99% target the
    // burn rate is (1 - 0.6321) / 0.01 = 36.8. Six replications of ~100k
    // customers: the spread of the per-seed compliance gives the interval.
    let sc = scenario_with(
        &asset("mm1.toml"),
        &[
            ("duration_s", "200000"),
            ("nodes.clients.arrival.rate", "0.5"),
            ("slo", r#"{"latency_s": 2.0, "target": 0.99}"#),
        ],
    );
    let reps = replicate(&sc, 6);
    let c: Vec<f64> = reps
        .iter()
        .map(|r| r.slo.as_ref().unwrap().compliance)
        .collect();
    let expect = 1.0 - (-1.0f64).exp();
    assert_agrees("M/M/1 P(T <= 2 s)", &c, expect, 0.0);
    let burn = reps[0].slo.as_ref().unwrap().burn_rate;
    assert!((burn - (1.0 - c[0]) / 0.01).abs() < 1e-9);
}

#[test]
fn engine_equals_a_hand_written_loop() {
    // `sim_core::reference::Mmc` is M/M/c written by hand as one loop: no
    // topology, requests or calendar, only the engine's named streams drawn
    // in the engine's order. Same seed, same draws, so every count and every
    // recorded value must be the same: equality, not a tolerance. (Only the
    // time-average areas sum in a different order, hence 1e-9 relative.)
    let cases = [
        ("mmc.toml", vec![("duration_s", "20000")], 1, 10, 9.0),
        ("mmc.toml", vec![("duration_s", "20000")], 2, 10, 9.0),
        (
            "mmc.toml",
            vec![
                ("duration_s", "30000"),
                ("nodes.server.workers", "3"),
                ("nodes.clients.arrival.rate", "2.7"),
            ],
            3,
            3,
            2.7,
        ),
        ("mm1.toml", vec![("duration_s", "60000")], 7, 1, 0.9),
    ];
    for (file, sets, seed, workers, rate) in cases {
        let sc = scenario_with(&asset(file), &sets);
        let r = run(&sc, seed);
        let hand = sim_core::reference::Mmc {
            seed,
            source: "clients",
            service: "server",
            rate,
            workers,
            service_mean_s: 1.0,
            duration_s: sc.duration_s,
            warmup_s: sc.warmup_s,
        }
        .run();
        let n = &r.nodes["server"];
        let e = &r.end_to_end;
        let what = format!("{file} {sets:?} seed {seed}");
        assert!(hand.completed > 10_000, "{what}: too short to mean much");
        assert_eq!(
            (e.arrived, n.arrived, e.completed, n.completed),
            (hand.arrived, hand.arrived, hand.completed, hand.completed),
            "{what}: arrived and completed"
        );
        assert_eq!(n.wait_s.mean, hand.wait_mean_s, "{what}: mean wait");
        assert_eq!(n.wait_s.p50, hand.wait_p50_s, "{what}: wait p50");
        assert_eq!(n.wait_s.p99, hand.wait_p99_s, "{what}: wait p99");
        assert_eq!(n.sojourn_s.p99, hand.sojourn_p99_s, "{what}: sojourn p99");
        assert_eq!(e.latency_s.p50, hand.latency_p50_s, "{what}: latency p50");
        assert_eq!(e.latency_s.p99, hand.latency_p99_s, "{what}: latency p99");
        assert_eq!(e.latency_s.max, hand.latency_max_s, "{what}: latency max");
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
        assert!(
            close(n.utilisation, hand.utilisation),
            "{what}: utilisation {} vs {}",
            n.utilisation,
            hand.utilisation
        );
        assert!(
            close(n.queue_len_mean, hand.queue_len_mean),
            "{what}: queue length {} vs {}",
            n.queue_len_mean,
            hand.queue_len_mean
        );
    }
}
