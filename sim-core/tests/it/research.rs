//! Research mode (feature `research`): replications, intervals, warm-up
//! detection, precision targets and sweeps, through the library the CLI and
//! the Python package both call.

use sim_core::analysis::merge_histograms;
use sim_core::study::grid::{Grid, Shard, Vary};
use sim_core::study::replicate::{replicate, Precision, ReplicateSpec, Replicated};
use sim_core::study::sweep::{Plan, PointResult, SweepSpec};
use sim_core::study::table::{merge, SweepOutput, TableFormat};
use sim_core::study::{consecutive_seeds, Base, Exec, Quiet, Warmup};
use sim_core::{Scenario, Sim};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// M/M/1 with service rate mu = 1/s and arrivals at lambda = 0.8/s.
const MM1_08: &str = r#"
version = 1
name = "M/M/1 at 80% load"
[nodes.clients]
kind = "source"
target = "server"
arrival = { process = "poisson", rate = 0.8 }
[nodes.server]
kind = "service"
workers = 1
service = { dist = "exponential", mean_s = 1.0 }
"#;

fn base(text: &str, duration_s: f64, warmup: Warmup) -> Base {
    let mut b = Base::parse(text, &[]).unwrap();
    b.duration_s = Some(duration_s);
    b.warmup = warmup;
    b
}

fn replicated(b: &Base, seeds: Vec<u64>, jobs: usize) -> Replicated {
    let spec = ReplicateSpec {
        base: b.clone(),
        seeds,
        confidence: 0.95,
        precision: None,
    };
    replicate(&spec, &Exec::new(Some(jobs)).unwrap(), &Quiet).unwrap()
}

#[test]
fn replication_intervals_cover_the_erlang_mean_sojourn_95_percent_of_the_time() {
    // M/M/1, lambda = 0.8, mu = 1: Erlang C with one server is C(1, rho) =
    // rho = 0.8, so the mean wait is W_q = C / (mu - lambda) = 0.8 / 0.2 =
    // 4 s and the mean sojourn W = W_q + 1/mu = 1 / (mu - lambda) = 5 s.
    //
    // 200 independent studies (seeds 10 s + 1 ..= 10 s + 10, none shared),
    // each 10 replications, as the issue asks; each study's 95% Student-t
    // interval for the mean sojourn must cover 5 s in 93% to 97% of studies.
    //
    // Sizes: a run starts empty and the sojourns of requests still in the
    // system at the end are never recorded, so short runs are biased low
    // and under-cover (measured with this code over 1000 studies: 90.7% at
    // 2,000 s, 92.9% at 5,000 s; 94.3% over 400 studies at 20,000 s). The
    // relaxation time of M/M/1 at rho = 0.8 is 1 / (mu (1 - sqrt rho)^2) =
    // 90 s, so 200 s of warm-up removes the start; 20,000 s runs (16,000
    // requests each) make the end effect small against the spread of the
    // estimate. 2,000 runs of 20,000 s: about 20 s on two cores.
    let b = base(MM1_08, 20_000.0, Warmup::Fixed(200.0));
    let exec = Exec::new(None).unwrap();
    let studies = 200;
    let mut covered = 0;
    for s in 0..studies {
        let spec = ReplicateSpec {
            base: b.clone(),
            seeds: consecutive_seeds(1 + 10 * s, 10).unwrap(),
            confidence: 0.95,
            precision: None,
        };
        let r = replicate(&spec, &exec, &Quiet).unwrap();
        let i = &r.metrics["nodes.server.sojourn_s.mean"].interval;
        assert_eq!(i.n, 10);
        covered += i.covers(5.0) as u32;
    }
    let coverage = covered as f64 / studies as f64;
    eprintln!("M/M/1 rho 0.8: {covered} of {studies} intervals cover 5 s ({coverage})");
    assert!(
        (0.93..=0.97).contains(&coverage),
        "coverage {coverage} ({covered} of {studies} studies)"
    );
}

#[test]
fn replications_are_byte_identical_whatever_the_threads() {
    let b = base(MM1_08, 2_000.0, Warmup::Fixed(100.0));
    let one = replicated(&b, vec![3, 7, 11, 12], 1);
    let two = replicated(&b, vec![3, 7, 11, 12], 2);
    assert_eq!(one.to_json(), two.to_json());
    assert_eq!(one.to_csv(), two.to_csv());
    assert_eq!(one.provenance.seeds, vec![3, 7, 11, 12]);
    assert_eq!(one.provenance.warmup_s, Some(100.0));
}

#[test]
fn means_are_over_the_runs_and_pooled_percentiles_over_all_requests() {
    let b = base(MM1_08, 2_000.0, Warmup::Fixed(100.0));
    let r = replicated(&b, vec![1, 2, 3], 2);
    // The same runs by hand.
    let mut sc = Scenario::from_toml_str(MM1_08).unwrap();
    sc.duration_s = 2_000.0;
    sc.warmup_s = 100.0;
    let runs: Vec<Sim> = [1, 2, 3]
        .iter()
        .map(|&seed| {
            let mut sim = Sim::new(&sc, seed).unwrap();
            sim.auto_window(2_000.0);
            sim.run_until(sim_core::secs_to_ns(2_000.0)).unwrap();
            sim
        })
        .collect();
    let p99: Vec<f64> = runs
        .iter()
        .map(|s| s.report().end_to_end.latency_s.p99)
        .collect();
    let m = &r.metrics["end_to_end.latency_s.p99"];
    assert_eq!(m.values, p99.iter().map(|x| Some(*x)).collect::<Vec<_>>());
    assert_eq!(m.interval.mean, p99.iter().sum::<f64>() / 3.0);
    let pooled = merge_histograms(runs.iter().map(|s| s.latency_histogram()));
    assert_eq!(r.pooled.requests, pooled.count());
    assert_eq!(r.pooled.latency_s, pooled.summary());
    let requests: u64 = runs.iter().map(|s| s.latency_histogram().count()).sum();
    assert_eq!(r.pooled.requests, requests);
}

/// A clear initial transient: arrivals at 2/s for the first 200 s overload
/// the server (mu = 1/s) and leave a backlog of about 200, which drains at
/// mu - lambda = 0.5/s once arrivals drop to 0.5/s: the system reaches its
/// steady state (M/M/1 at rho = 0.5, mean sojourn 1 / (1 - 0.5) = 2 s)
/// around t = 200 + 200 / 0.5 = 600 s.
const BACKLOG: &str = r#"
version = 1
name = "backlog at start"
[nodes.clients]
kind = "source"
target = "server"
arrival = { process = "schedule", points = [ { at_s = 0, rate = 2.0 }, { at_s = 200, rate = 0.5 } ] }
[nodes.server]
kind = "service"
workers = 1
service = { dist = "exponential", mean_s = 1.0 }
"#;

#[test]
fn mser5_cuts_the_backlog_transient() {
    let auto = Warmup::Auto {
        series: "in_system".into(),
    };
    let r = replicated(
        &base(BACKLOG, 6_000.0, auto),
        consecutive_seeds(1, 10).unwrap(),
        2,
    );
    let w = r.warmup.warmup_s;
    let m = r.warmup.mser.as_ref().unwrap();
    assert!(m.reliable);
    assert!((500.0..=1_500.0).contains(&w), "warm-up {w} s");
    assert_eq!(r.provenance.warmup_s, Some(w));
    // With the cut, the mean sojourn is the steady state's 2 s; without it
    // the backlog's waits (hundreds of seconds) dominate.
    let kept = &r.metrics["nodes.server.sojourn_s.mean"].interval;
    assert!((kept.mean - 2.0).abs() < 0.2, "mean sojourn {}", kept.mean);
    let none = replicated(
        &base(BACKLOG, 6_000.0, Warmup::Fixed(0.0)),
        consecutive_seeds(1, 10).unwrap(),
        2,
    );
    assert!(none.metrics["nodes.server.sojourn_s.mean"].interval.mean > 10.0);
}

#[test]
fn precision_adds_replications_until_the_interval_is_tight_and_stops_at_the_first() {
    let b = base(MM1_08, 1_000.0, Warmup::Fixed(100.0));
    let target = "end_to_end.latency_s.mean".to_string();
    let run = |jobs| {
        let spec = ReplicateSpec {
            base: b.clone(),
            seeds: consecutive_seeds(1, 5).unwrap(),
            confidence: 0.95,
            precision: Some(Precision {
                relative: 0.1,
                target: target.clone(),
                max_replications: 500,
            }),
        };
        replicate(&spec, &Exec::new(Some(jobs)).unwrap(), &Quiet).unwrap()
    };
    let r = run(2);
    let p = r.precision.as_ref().unwrap();
    assert!(p.met);
    assert!(
        r.replications > 5 && r.replications < 500,
        "{}",
        r.replications
    );
    assert_eq!(p.replications, r.replications);
    // The criterion (Law & Kelton): half-width / |mean| <= 0.1 / 1.1 now,
    // and not yet with one replication fewer.
    let values: Vec<f64> = r.metrics[&target]
        .values
        .iter()
        .map(|v| v.unwrap())
        .collect();
    let gamma = 0.1 / 1.1;
    let rel = |n: usize| {
        sim_core::analysis::Interval::student_t(&values[..n], 0.95)
            .relative_half_width()
            .unwrap()
    };
    assert!(rel(values.len()) <= gamma);
    assert!(rel(values.len() - 1) > gamma);
    assert_eq!(
        r.provenance.seeds,
        consecutive_seeds(1, values.len()).unwrap()
    );
    // The same stopping point whatever the threads (batches differ).
    assert_eq!(run(1).to_json(), r.to_json());
}

fn sweep_spec(shard: Option<Shard>) -> SweepSpec {
    let vary = vec![
        Vary::parse("nodes.clients.arrival.rate=0.4:0.8:0.2").unwrap(),
        Vary::parse("nodes.server.workers=1,2").unwrap(),
    ];
    SweepSpec {
        base: base(MM1_08, 1_000.0, Warmup::Fixed(50.0)),
        grid: Grid::new(vary, false).unwrap(),
        seeds: vec![4, 5, 6],
        metrics: None,
        confidence: 0.95,
        shard,
    }
}

fn run_plan(spec: SweepSpec, jobs: usize) -> SweepOutput {
    let plan = Plan::new(spec).unwrap();
    let points = Mutex::new(Vec::new());
    let on_point = |p: PointResult| {
        points.lock().unwrap().push(p);
        Ok(())
    };
    let exec = Exec::new(Some(jobs)).unwrap();
    plan.run(&exec, &BTreeSet::new(), &on_point, &Quiet)
        .unwrap();
    let mut points = points.into_inner().unwrap();
    points.sort_by_key(|p| p.index);
    SweepOutput {
        provenance: plan.provenance,
        points,
    }
}

#[test]
fn sweep_points_use_common_random_numbers_and_match_single_runs() {
    let out = run_plan(sweep_spec(None), 2);
    assert_eq!(out.points.len(), 6);
    // Point 3 is rate 0.6, workers 2 (the first parameter varies slowest).
    let p = &out.points[3];
    assert_eq!(p.params, vec![serde_json::json!(0.6), serde_json::json!(2)]);
    let m = out
        .provenance
        .metrics
        .iter()
        .position(|m| m == "end_to_end.latency_s.mean")
        .unwrap();
    for run in &p.runs {
        let mut sc = Scenario::from_toml_str(MM1_08).unwrap();
        sc.duration_s = 1_000.0;
        sc.warmup_s = 50.0;
        let sc = {
            let mut doc = sc.to_doc();
            doc.set("nodes.clients.arrival.rate", "0.6").unwrap();
            doc.set("nodes.server.workers", "2").unwrap();
            doc.build().unwrap()
        };
        let mut sim = Sim::new(&sc, run.seed).unwrap();
        sim.auto_window(1_000.0);
        sim.run_until(sim_core::secs_to_ns(1_000.0)).unwrap();
        assert_eq!(run.values[m], sim.report().end_to_end.latency_s.mean);
    }
    assert_eq!(
        p.runs.iter().map(|r| r.seed).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
    // Pooled rows only for end-to-end latency metrics.
    let pooled: Vec<&String> = out
        .provenance
        .metrics
        .iter()
        .zip(&p.pooled)
        .filter(|(_, v)| v.is_some())
        .map(|(m, _)| m)
        .collect();
    assert!(pooled
        .iter()
        .all(|m| m.starts_with("end_to_end.latency_s.")));
}

#[test]
fn shards_merge_into_the_unsharded_output_byte_for_byte() {
    let whole = run_plan(sweep_spec(None), 2);
    let shards: Vec<SweepOutput> = (1..=4)
        .map(|i| {
            let s = Shard::parse(&format!("{i}/4")).unwrap();
            run_plan(sweep_spec(Some(s)), 1)
        })
        .collect();
    assert_eq!(shards.iter().map(|s| s.points.len()).sum::<usize>(), 6);
    for f in [TableFormat::Csv, TableFormat::Jsonl] {
        let texts: Vec<String> = shards.iter().map(|s| s.render(f)).collect();
        let parsed = texts
            .iter()
            .map(|t| SweepOutput::parse(t).unwrap())
            .collect();
        let merged = merge(parsed).unwrap();
        assert_eq!(merged.render(f), whole.render(f));
        // And a whole output reads back to itself.
        assert_eq!(SweepOutput::parse(&whole.render(f)).unwrap(), whole);
    }
    let e = merge(shards[..3].to_vec()).unwrap_err().to_string();
    assert!(e.contains("1 of 6 points are missing"), "{e}");
}

#[test]
fn sweep_rows_are_tidy() {
    let out = run_plan(sweep_spec(None), 2);
    let csv = out.to_csv();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("# tailsim sweep {"));
    assert_eq!(
        lines.next().unwrap(),
        "kind,point,nodes.clients.arrival.rate,nodes.server.workers,replication,seed,warmup_s,metric,value,n,sd,half_width,lo,hi"
    );
    let rows: Vec<&str> = lines.collect();
    let nm = out.provenance.metrics.len();
    // Per point: 3 runs x metrics, a summary per metric, 7 pooled rows.
    let pooled = out.points[0].pooled.iter().flatten().count();
    assert_eq!(rows.len(), 6 * (3 * nm + nm + pooled));
    let summary = rows.iter().find(|r| r.starts_with("summary,0,")).unwrap();
    assert!(
        summary.contains(",0.4,1,,,50.0,end_to_end.throughput_rps,"),
        "{summary}"
    );
    let jsonl = out.to_jsonl();
    for line in jsonl.lines().skip(1) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(["run", "summary", "pooled"].contains(&v["kind"].as_str().unwrap()));
    }
}

#[test]
fn bad_sweeps_are_refused_before_any_run() {
    let bad = |edit: &dyn Fn(&mut SweepSpec)| {
        let mut s = sweep_spec(None);
        edit(&mut s);
        Plan::new(s).err().expect("refused").to_string()
    };
    let e = bad(&|s| {
        s.grid = Grid::new(vec![Vary::parse("nodes.srv.workers=1,2").unwrap()], false).unwrap()
    });
    assert!(
        e.contains("no nodes.srv") && e.contains("nodes: clients, server"),
        "{e}"
    );
    let e = bad(&|s| {
        s.grid = Grid::new(
            vec![Vary::parse("nodes.server.workers=1,x").unwrap()],
            false,
        )
        .unwrap()
    });
    assert!(
        e.contains("nodes.server.workers") && e.contains("\"x\""),
        "{e}"
    );
    let e = bad(&|s| s.metrics = Some(vec!["nodes.db.utilisation".into()]));
    assert!(e.contains("no node \"db\""), "{e}");
    let e = bad(&|s| s.seeds = vec![]);
    assert!(e.contains("at least one seed"), "{e}");
}
