//! The shipped scenario files: every one validates, runs, and conserves.

use crate::support::*;
use sim_core::Scenario;

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
