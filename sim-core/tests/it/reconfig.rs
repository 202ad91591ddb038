//! Live reconfiguration (`Sim::reconfigure`): the sandbox flips a lesson's
//! toggle mid-run and the system responds from that instant, with its state
//! carried over.

use crate::support::{all_lessons, asset, lesson};
use sim_core::lesson::State;
use sim_core::{secs_to_ns, Report, Scenario, Sim};

/// Runs `a` to `t_s`, switches to `b`, runs to `end_s`.
fn toggled(a: &Scenario, b: &Scenario, seed: u64, t_s: f64, end_s: f64) -> Report {
    let mut sim = Sim::new(a, seed).unwrap();
    sim.run_until(secs_to_ns(t_s)).unwrap();
    sim.reconfigure(b)
        .unwrap_or_else(|e| panic!("reconfigure: {e}"));
    sim.run_for(end_s).unwrap()
}

fn node_index(r: &Report, name: &str) -> usize {
    r.series.nodes.iter().position(|n| n == name).unwrap()
}

/// The strongest invariant: reconfiguring to the very same scenario changes
/// nothing at all (every stream, queue, breaker, budget, cache entry and
/// counter is carried over untouched), so the report is byte-identical.
#[test]
fn reconfiguring_to_the_same_scenario_changes_nothing() {
    let files = [
        "case-study-checkout.toml",
        "mmc.toml",
        "catalogue/DATA-N+1.toml",
        "catalogue/CACHE-STAMPEDE.toml",
        "catalogue/EVT-NO-PARALLELISM.toml",
        "catalogue/RES-RETRY-STORM.toml",
        "catalogue/CONC-POOL-EXHAUSTION.toml",
        "catalogue/OPS-NO-AUTOSCALE.toml",
        "catalogue/RES-NO-HEALTHCHECK.toml",
        "catalogue/API-NO-RATE-LIMIT.toml",
        "catalogue/DIST-GLOBAL-LOCK.toml",
    ];
    for f in files {
        let sc = Scenario::from_toml_str(&asset(f)).unwrap();
        let end = sc.duration_s.min(120.0);
        let mut plain = Sim::new(&sc, 7).unwrap();
        let a = plain.run_for(end).unwrap().to_json();
        let mut sim = Sim::new(&sc, 7).unwrap();
        sim.run_until(secs_to_ns(end * 0.4)).unwrap();
        let r = sim.reconfigure(&sc).unwrap();
        assert!(r.changed.is_empty(), "{f}: {:?}", r.changed);
        // Twice, to cover a second reconfiguration of a reconfigured sim.
        sim.run_until(secs_to_ns(end * 0.7)).unwrap();
        sim.reconfigure(&sc).unwrap();
        let b = sim.run_for(end).unwrap().to_json();
        assert!(
            a == b,
            "{f}: reconfiguring to the same scenario changed the report"
        );
    }
}

/// Every lesson's toggle works live: mistake for 30 s, fix for 30 s, back
/// to the mistake for 30 s (and each case-study variant likewise): no panic,
/// every request accounted for.
#[test]
fn every_lesson_toggles_live() {
    let (mut live, mut total) = (0, 0);
    let mut refused = Vec::new();
    for (l, text) in all_lessons() {
        if l.toggle.is_none() {
            continue; // a theory lesson: compared with a formula, no toggle
        }
        let mistake = l.scenario(State::Mistake, text.as_deref()).unwrap();
        let mut targets = vec![(
            "fix".to_string(),
            l.scenario(State::Fix, text.as_deref()).unwrap(),
        )];
        for v in l.variants.keys() {
            targets.push((v.clone(), l.scenario_variant(v, text.as_deref()).unwrap()));
        }
        for (what, fix) in targets {
            total += 1;
            let mut sim = Sim::new(&mistake, 1).unwrap();
            sim.run_until(secs_to_ns(30.0)).unwrap();
            match sim.reconfigure(&fix) {
                Ok(r) => {
                    assert!(!r.changed.is_empty(), "{} {what}: nothing changed", l.id);
                    sim.run_until(secs_to_ns(60.0)).unwrap();
                    sim.reconfigure(&mistake)
                        .unwrap_or_else(|e| panic!("{} back from {what}: {e}", l.id));
                    let rep = sim.run_for(90.0).unwrap();
                    assert!(
                        rep.conservation.ok,
                        "{} {what}: conservation violated: {:?}",
                        l.id, rep.conservation.violations
                    );
                    live += 1;
                }
                Err(e) => {
                    assert!(
                        !e.path.is_empty() && e.message.contains("cannot change live"),
                        "{} {what}: unclear error {e}",
                        l.id
                    );
                    refused.push(format!("{} {what}: {e}", l.id));
                }
            }
        }
    }
    eprintln!("{live} of {total} lesson toggles apply live; refused: {refused:?}");
    assert_eq!(live, total, "refused: {refused:?}");
}

/// Refusals name the field and leave the simulation untouched.
#[test]
fn what_cannot_change_live_is_refused_by_path() {
    let text = asset("catalogue/DATA-N+1.toml");
    let sc = Scenario::from_toml_str(&text).unwrap();
    let mut plain = Sim::new(&sc, 3).unwrap();
    let want = plain.run_for(60.0).unwrap().to_json();
    let mut sim = Sim::new(&sc, 3).unwrap();
    sim.run_until(secs_to_ns(20.0)).unwrap();
    let mut tried = 0;
    for (path, value, expect) in [
        ("metrics.window_s", "5", "metrics.window_s"),
        ("warmup_s", "3", "warmup_s"),
        (
            "nodes.extra",
            r#"{"kind":"external","latency":{"dist":"constant","value_s":0.01}}"#,
            "nodes.extra",
        ),
        (
            "nodes.api.steps",
            r#"[{"compute":{"dist":"constant","value_s":0.001}}]"#,
            "nodes",
        ),
    ] {
        let Ok(mut doc) = sim_core::ScenarioDoc::parse(&text, sim_core::Format::Toml) else {
            unreachable!()
        };
        if doc.set(path, value).is_err() {
            continue;
        }
        let Ok(bad) = doc.build() else { continue };
        tried += 1;
        let e = sim.reconfigure(&bad).expect_err(path);
        eprintln!("refused: {e}");
        assert!(
            e.path.starts_with(expect),
            "{path}: error path {:?}",
            e.path
        );
        assert!(e.message.contains("cannot change live"), "{e}");
    }
    assert!(tried >= 3, "only {tried} refusals exercised");
    assert_eq!(
        sim.run_for(60.0).unwrap().to_json(),
        want,
        "a refused change altered the run"
    );
}

/// DATA-N+1: database queries per page drop from ~21.5 (1 + N, N uniform
/// 1..40) to 2 (order + one JOIN) in the windows after the toggle.
#[test]
fn n_plus_1_fix_takes_effect_at_the_toggle() {
    let (l, text) = lesson("DATA-N+1");
    let m = l.scenario(State::Mistake, text.as_deref()).unwrap();
    let f = l.scenario(State::Fix, text.as_deref()).unwrap();
    let r = toggled(&m, &f, 1, 60.0, 120.0);
    let (db, api) = (node_index(&r, "db"), node_index(&r, "api"));
    let ratio = |t0: f64, t1: f64| {
        let (mut q, mut a) = (0.0, 0.0);
        for w in r
            .series
            .windows
            .iter()
            .filter(|w| w.t_start_s >= t0 && w.t_end_s <= t1)
        {
            q += w.nodes[db].throughput_rps;
            a += w.nodes[api].throughput_rps;
        }
        q / a
    };
    let before = ratio(10.0, 60.0);
    let after = ratio(65.0, 120.0);
    eprintln!("db queries per api request: before {before:.2}, after {after:.2}");
    // Mean items per order is 20.5 (uniform 1..40): 1 + 20.5 = 21.5.
    assert!((before - 21.5).abs() < 2.0, "before {before}");
    assert!((after - 2.0).abs() < 0.1, "after {after}");
}

/// The case study's circuit breaker (with timeout and fallback), switched
/// on mid-run, changes the tail in the later windows. It is switched on in
/// the full fix less the breaker: in the mistake the promotion has already
/// saturated the database, and a breaker on the inventory call cannot help.
#[test]
fn case_study_breaker_changes_p99_after_the_toggle() {
    let (l, text) = lesson("case-study-checkout");
    let m = l
        .scenario_without("circuit_breaker_with_fallback", text.as_deref())
        .unwrap();
    let v = l.scenario(State::Fix, text.as_deref()).unwrap();
    let end = m.duration_s;
    let t = end / 3.0;
    let plain = {
        let mut s = Sim::new(&m, 2).unwrap();
        s.run_for(end).unwrap()
    };
    let tog = toggled(&m, &v, 2, t, end);
    let p99 = |r: &Report, t0: f64| {
        let ws: Vec<f64> = r
            .series
            .windows
            .iter()
            .filter(|w| w.t_start_s >= t0)
            .filter_map(|w| w.p99_s)
            .collect();
        ws.iter().sum::<f64>() / ws.len() as f64
    };
    let (a, b) = (p99(&plain, t + 10.0), p99(&tog, t + 10.0));
    let (a0, b0) = (p99_range(&plain, 0.0, t), p99_range(&tog, 0.0, t));
    eprintln!("case study: windows before toggle p99 {a0:.3}/{b0:.3}; after: mistake {a:.3} s, breaker {b:.3} s");
    // Before the toggle both runs are the same run.
    assert_eq!(a0, b0);
    // After it, the breaker's 0.25 s timeout and fallback cut the tail.
    assert!(b < 0.8 * a, "mistake {a}, breaker {b}");
}

fn p99_range(r: &Report, t0: f64, t1: f64) -> f64 {
    let ws: Vec<f64> = r
        .series
        .windows
        .iter()
        .filter(|w| w.t_start_s >= t0 && w.t_end_s <= t1)
        .filter_map(|w| w.p99_s)
        .collect();
    ws.iter().sum::<f64>() / ws.len().max(1) as f64
}

/// Streams are per (node, purpose): toggling the api's query step changes
/// nothing upstream. The clients' arrivals per window are identical to a
/// run without the toggle (the source's stream continues untouched).
#[test]
fn a_toggle_leaves_unrelated_streams_alone() {
    let (l, text) = lesson("DATA-N+1");
    let m = l.scenario(State::Mistake, text.as_deref()).unwrap();
    let f = l.scenario(State::Fix, text.as_deref()).unwrap();
    let plain = {
        let mut s = Sim::new(&m, 5).unwrap();
        s.run_for(120.0).unwrap()
    };
    let tog = toggled(&m, &f, 5, 40.0, 120.0);
    let arrivals = |r: &Report| {
        r.series
            .windows
            .iter()
            .map(|w| w.arrived)
            .collect::<Vec<_>>()
    };
    assert_eq!(arrivals(&plain), arrivals(&tog));
    // ... while the database's load did change after the toggle.
    let db = node_index(&plain, "db");
    let busy = |r: &Report| {
        r.series
            .windows
            .iter()
            .filter(|w| w.t_start_s >= 45.0)
            .map(|w| w.nodes[db].utilisation)
            .sum::<f64>()
    };
    assert!(busy(&tog) < 0.5 * busy(&plain));
}

/// Two-sided 99.9% Student-t quantile for 8 degrees of freedom.
const T999_DF8: f64 = 5.041;

/// After the toggle has settled, the system behaves like a fresh run of the
/// toggled-to state. Compared: the mean windowed p99 over [70, 120) s of
/// runs toggled mistake -> fix at 30 s (seeds 1..=5) and of fresh fix runs
/// (seeds 11..=15). N+1 at 60 req/s drains its backlog within a second or so
/// of the fix (the fixed db runs at low utilisation), so 40 s later nothing
/// of the mistake remains: the two samples come from the same distribution,
/// and a Welch test at 99.9% (t = 5.04, about 8 df) must not separate them.
/// It does separate a run that stayed in the mistake (p99 3x higher).
#[test]
fn the_toggled_state_behaves_like_a_fresh_run() {
    let (l, text) = lesson("DATA-N+1");
    let m = l.scenario(State::Mistake, text.as_deref()).unwrap();
    let f = l.scenario(State::Fix, text.as_deref()).unwrap();
    let stat = |r: &Report| p99_range(r, 70.0, 120.0);
    let tog: Vec<f64> = (1..=5)
        .map(|s| stat(&toggled(&m, &f, s, 30.0, 120.0)))
        .collect();
    let fresh: Vec<f64> = (11..=15)
        .map(|s| {
            let mut sim = Sim::new(&f, s).unwrap();
            stat(&sim.run_for(120.0).unwrap())
        })
        .collect();
    let stuck: Vec<f64> = (11..=15)
        .map(|s| {
            let mut sim = Sim::new(&m, s).unwrap();
            stat(&sim.run_for(120.0).unwrap())
        })
        .collect();
    let mv = |x: &[f64]| {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        (
            m,
            x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0) / n,
        )
    };
    let ((mt, vt), (mf, vf), (ms, vs)) = (mv(&tog), mv(&fresh), mv(&stuck));
    eprintln!(
        "p99 [70,120): toggled {mt:.4} (se {:.4}), fresh fix {mf:.4} (se {:.4}), mistake {ms:.4}",
        vt.sqrt(),
        vf.sqrt()
    );
    assert!(
        (mt - mf).abs() <= T999_DF8 * (vt + vf).sqrt(),
        "toggled {tog:?} vs fresh {fresh:?}"
    );
    assert!(
        (ms - mf).abs() > T999_DF8 * (vs + vf).sqrt(),
        "the test cannot tell mistake from fix"
    );
}

/// Editing a fault that is in effect acts at once: an `errors` fault of
/// p = 0.01 running from 10 s to 90 s, raised to p = 1 at 40 s, fails every
/// request from then on (it used to keep its old level until its next
/// start, which never came: the edit was accepted and did nothing).
#[test]
fn editing_a_running_fault_acts_when_it_is_made() {
    let text = r#"
        version = 1
        name = "a running fault edited"
        duration_s = 60
        faults = [ { kind = "errors", target = "api", p = 0.01, at_s = 10, duration_s = 80 } ]
        [nodes.src]
        kind = "source"
        target = "api"
        arrival = { process = "poisson", rate = 200 }
        [nodes.api]
        kind = "service"
        workers = 8
        service = { dist = "exponential", mean_s = 0.001 }
    "#;
    let a = Scenario::from_toml_str(text).unwrap();
    let b = Scenario::from_toml_str(&text.replace("p = 0.01", "p = 1.0")).unwrap();
    let r = toggled(&a, &b, 5, 40.0, 60.0);
    let failed = |t0: f64, t1: f64| -> (u64, u64) {
        r.series
            .windows
            .iter()
            .filter(|w| w.t_start_s >= t0 && w.t_end_s <= t1)
            .fold((0, 0), |(f, n), w| (f + w.failed, n + w.arrived))
    };
    // Before the edit about 1% fail (200/s x 30 s x 0.01 = about 60).
    let (f, n) = failed(10.0, 40.0);
    assert!(f > 20 && f < 150 && n > 5_000, "{f} of {n}");
    // After it, every request (a request in service at 40 s may still pass).
    let (f, n) = failed(41.0, 60.0);
    assert!(n > 3_000 && f + 2 >= n, "{f} of {n}");
}
