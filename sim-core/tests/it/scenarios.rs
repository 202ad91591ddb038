//! The shipped scenario files: every one validates, runs, and conserves.

use crate::support::*;
use serde_json::Value;
use sim_core::scenario::join_path;
use sim_core::{bounds, Edit, Format, NodeSpec, Scenario, ScenarioDoc};

#[test]
fn every_shipped_scenario_runs() {
    let dir = repo_root().join("assets/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        // Subdirectories (catalogue/) have their own test (docs.rs).
        if !p.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let sc = Scenario::from_str_any(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let sc = scenario_with(&sc.to_toml(), &[("duration_s", "200"), ("warmup_s", "10")]);
        let r = run(&sc, 1);
        assert!(
            r.end_to_end.completed > 0,
            "{}: nothing completed",
            p.display()
        );
        n += 1;
    }
    assert!(n >= 5, "expected the five reference scenarios, found {n}");
}

#[test]
fn bad_files_get_clear_errors() {
    // Each broken document names its field.
    let cases: &[(&str, &str)] = &[
        ("version = 1\n[nodes.c]\nkind = \"source\"\n", "nodes.c.target"),
        ("version = 1\nduration_s = -5\n[nodes.c]\nkind=\"source\"\ntarget=\"s\"\narrival={process=\"poisson\",rate=1}\n[nodes.s]\nkind=\"service\"\nservice={dist=\"constant\",value_s=1}\n", "duration_s"),
        ("version = 1\n[nodes.c]\nkind=\"source\"\ntarget=\"s\"\narrival={process=\"possion\",rate=1}\n[nodes.s]\nkind=\"service\"\nservice={dist=\"constant\",value_s=1}\n", "nodes.c.arrival.process"),
        ("version = 1\n[nodes.c]\nkind=\"source\"\ntarget=\"s\"\narrival={process=\"poisson\",rate=1}\n[nodes.s]\nkind=\"service\"\nservice={dist=\"lognormal\",mean_s=1}\n", "nodes.s.service.cv"),
        ("version = 1\n[nodes.c]\nkind=\"source\"\ntarget=\"s\"\narrival={process=\"poisson\",rate=1}\n[nodes.s]\nkind=\"service\"\nsteps=[{call={to=\"c\"}}]\n", "nodes.s.steps[0].call.to"),
        ("[nodes]\n", "version"),
    ];
    for (text, path) in cases {
        let e = Scenario::from_toml_str(text).unwrap_err();
        assert_eq!(&e.path, path, "for {text:?} got: {e}");
        assert!(!e.message.is_empty());
    }
}

/// Every scenario file under assets/scenarios, catalogue included.
fn every_scenario_file() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![repo_root().join("assets/scenarios")];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "toml" || x == "json") {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Every number in a document, with its path.
fn numbers(v: &Value, path: &[String], out: &mut Vec<(String, f64)>) {
    match v {
        Value::Number(n) => out.push((join_path(path), n.as_f64().unwrap())),
        Value::Object(m) => {
            for (k, x) in m {
                let mut p = path.to_vec();
                p.push(k.clone());
                numbers(x, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let mut p = path.to_vec();
                p.push(i.to_string());
                numbers(x, &p, out);
            }
        }
        _ => {}
    }
}

/// Validation checks every number of every shipped scenario against its
/// entry of the bounds table (`sim_core::bounds`, what the page's sliders
/// read): a value just past either limit (or a fraction, for whole numbers)
/// is refused at that field, with the table's words, and the limit itself is
/// not refused for being out of range.
#[test]
fn validation_checks_every_number_against_the_bounds_table() {
    let (mut checked, mut patterns) = (0, std::collections::BTreeSet::new());
    for (file, text) in every_scenario_file() {
        let doc = ScenarioDoc::parse(&text, Format::sniff(&text)).unwrap();
        let mut nums = Vec::new();
        numbers(&doc.0, &[], &mut nums);
        for (path, _) in nums {
            let Some(b) = bounds(&path) else { continue };
            checked += 1;
            patterns.insert(format!("{}:{}", b.label, b.describe()));
            let with = |v: f64| {
                let mut d = doc.clone();
                let value = if b.integer && v.fract() == 0.0 && v.abs() < 1e15 {
                    Value::from(v as i64)
                } else {
                    Value::from(v)
                };
                d.set_value(&path, value).unwrap();
                d.build()
            };
            let range_error = |v: f64| format!("must be {}, got {v}", b.describe());
            let mut outside = Vec::new();
            if b.max.is_finite() {
                outside.push(if b.max_open {
                    b.max
                } else {
                    b.max + b.max.abs().max(1.0)
                });
            }
            if b.min.is_finite() {
                outside.push(if b.min_open {
                    b.min
                } else {
                    b.min - b.min.abs().max(1.0)
                });
            }
            if b.integer {
                outside.push(b.min + 0.5);
            }
            for v in outside {
                let e = with(v).expect_err(&format!("{file}: {path} = {v} accepted"));
                // A tagged table (a count's `{ dist = ... }`) is typed whole:
                // a value its field's type cannot hold (-1 for a whole
                // number) is refused at the table, by serde.
                let typed_whole =
                    !e.message.starts_with("must be") && path.starts_with(&format!("{}.", e.path));
                assert!(e.path == path || typed_whole, "{file}: {path} = {v}: {e}");
                if e.message.starts_with("must be") {
                    assert_eq!(e.message, range_error(v), "{file}: {path}");
                }
            }
            for v in [b.min, b.max]
                .into_iter()
                .filter(|v| v.is_finite() && b.contains(*v) && v.abs() < 1e15)
            {
                if let Err(e) = with(v) {
                    assert!(
                        e.path != path || e.message != range_error(v),
                        "{file}: {path} = {v} is in range but refused: {e}"
                    );
                }
            }
        }
    }
    assert!(checked >= 700, "{checked} numbers checked");
    assert!(patterns.len() > 40, "{} kinds of field", patterns.len());
}

/// `--set PATH=null` (an `Edit` read from the CLI's argument) removes the
/// field: its default applies again, and the run changes accordingly.
#[test]
fn set_null_removes_a_field() {
    let text = asset("chain.toml");
    let path = "nodes.clients.timeout_s";
    let mut doc = ScenarioDoc::parse(&text, Format::Toml).unwrap();
    doc.apply(&Edit::parse(&format!("{path}=2.5")).unwrap())
        .unwrap();
    let with = doc.build().unwrap();
    doc.apply(&Edit::parse(&format!("{path}=null")).unwrap())
        .unwrap();
    assert_eq!(doc.get(path), None);
    let without = doc.build().unwrap();
    let timeout = |sc: &Scenario| match &sc.nodes["clients"] {
        NodeSpec::Source(s) => s.policy.timeout_s,
        _ => unreachable!(),
    };
    assert_eq!((timeout(&with), timeout(&without)), (Some(2.5), None));
    // The TOML the document writes has no trace of it (TOML has no null).
    assert!(!doc.to_toml().contains("timeout_s"));
    assert_eq!(Scenario::from_toml_str(&doc.to_toml()).unwrap(), without);
}
