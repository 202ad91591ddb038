//! The scenario reference (docs/SCENARIOS.md) and the catalogue scenarios
//! (assets/scenarios/catalogue/*.toml) stay true: every complete example in
//! the doc validates, every catalogue file validates and runs with requests
//! conserved, in its mistake state and with its `# fix:` overrides applied,
//! and every catalogue id has its file.

use crate::support::*;
use sim_core::{Format, Scenario, ScenarioDoc, Sim};
use std::path::PathBuf;

/// The 48 ids of the anti-pattern catalogue (43 mistakes + 5 theory rows).
/// Kept here so the test does not depend on files outside the repository.
const CATALOGUE_IDS: [&str; 48] = [
    "ARCH-MONOLITH",
    "ARCH-CHATTY-MICRO",
    "ARCH-SPOF",
    "ARCH-STICKY",
    "DATA-N+1",
    "DATA-NO-INDEX",
    "DATA-UNBOUNDED",
    "DATA-LONG-TX",
    "DATA-NO-REPLICAS",
    "DATA-LOOP-CALLS",
    "CACHE-NONE",
    "CACHE-STALE",
    "CACHE-PER-USER",
    "CACHE-BIG-OBJECTS",
    "CACHE-TTL-ONLY",
    "CACHE-STAMPEDE",
    "CONC-BLOCKING-LOOP",
    "CONC-POOL-EXHAUSTION",
    "CONC-NO-TIMEOUT",
    "CONC-UNBOUNDED",
    "API-CHATTY",
    "API-BIG-PAYLOAD",
    "API-NO-RATE-LIMIT",
    "OPS-NO-AUTOSCALE",
    "OPS-SLOW-DEPLOY",
    "OPS-LIMITS",
    "OPS-NO-IAC",
    "OBS-AVERAGES",
    "OBS-NO-LOADTEST",
    "OBS-UNREALISTIC",
    "SEC-SYNC-AUTH",
    "SEC-HEAVY-CRYPTO",
    "SEC-3P-NO-FALLBACK",
    "DIST-2PC",
    "DIST-GLOBAL-LOCK",
    "DIST-SYNC-COUPLING",
    "EVT-UNBOUNDED-QUEUE",
    "EVT-NO-PARALLELISM",
    "EVT-POISON",
    "RES-RETRY-STORM",
    "RES-NO-IDEMPOTENCY",
    "RES-NO-BULKHEAD",
    "RES-NO-HEALTHCHECK",
    "THEORY-KNEE",
    "THEORY-LITTLE",
    "THEORY-AMDAHL",
    "THEORY-FANOUT",
    "THEORY-CAP",
];

fn catalogue_dir() -> PathBuf {
    repo_root().join("assets/scenarios/catalogue")
}

fn doc_text() -> String {
    let p = repo_root().join("docs/SCENARIOS.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The ```toml blocks of a markdown text, with the line each starts on.
fn toml_blocks(md: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, line) in md.lines().enumerate() {
        let t = line.trim_start();
        match &mut cur {
            None if t.starts_with("```toml") => cur = Some((i + 2, String::new())),
            Some(_) if t.starts_with("```") => out.push(cur.take().unwrap()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(cur.is_none(), "unterminated ```toml block");
    out
}

#[test]
fn every_complete_doc_example_validates() {
    let md = doc_text();
    let blocks = toml_blocks(&md);
    let mut complete = 0;
    for (line, body) in &blocks {
        if !body.trim_start().starts_with("version = 1") {
            continue;
        }
        complete += 1;
        if let Err(e) = Scenario::from_toml_str(body) {
            panic!("docs/SCENARIOS.md: the example starting on line {line} does not validate: {e}\n{body}");
        }
    }
    assert!(
        complete >= 10,
        "expected many complete examples in docs/SCENARIOS.md, found {complete}"
    );
}

/// `# fix: PATH=VALUE` header lines of a catalogue file.
fn fixes(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("#")?.trim().strip_prefix("fix:"))
        .map(|s| {
            let (p, v) = s
                .trim()
                .split_once('=')
                .unwrap_or_else(|| panic!("bad fix line {s:?}"));
            (p.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// Validates `text` with `sets` applied, then runs 60 s (warm-up at most
/// 10 s) and checks conservation.
fn check_runs(name: &str, what: &str, text: &str, sets: &[(String, String)]) -> Result<(), String> {
    let at = |e: &dyn std::fmt::Display| format!("{name} ({what}): {e}");
    let mut doc = ScenarioDoc::parse(text, Format::Toml).map_err(|e| at(&e))?;
    for (p, v) in sets {
        doc.set(p, v)
            .map_err(|e| at(&format!("--set {p}={v}: {e}")))?;
    }
    let sc = doc.build().map_err(|e| at(&e))?;
    let warmup = sc.warmup_s.min(10.0);
    doc.set("duration_s", "60").map_err(|e| at(&e))?;
    doc.set("warmup_s", &warmup.to_string())
        .map_err(|e| at(&e))?;
    let sc = doc.build().map_err(|e| at(&e))?;
    let mut sim = Sim::new(&sc, sc.seed).map_err(|e| at(&e))?;
    let r = sim.run_for(sc.duration_s).unwrap();
    if !r.conservation.ok {
        return Err(at(&format!(
            "conservation violated: {:?}",
            r.conservation.violations
        )));
    }
    if r.end_to_end.arrived == 0 {
        return Err(at(&"no traffic"));
    }
    Ok(())
}

#[test]
fn every_catalogue_scenario_validates_runs_and_conserves() {
    let mut names: Vec<PathBuf> = std::fs::read_dir(catalogue_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    // Collect every failure so one broken file does not hide the others.
    let mut failures = Vec::new();
    for p in &names {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(p).unwrap();
        let id = name.trim_end_matches(".toml");
        if !text.starts_with(&format!("# {id}")) {
            failures.push(format!(
                "{name}: the header comment must start with `# {id}`"
            ));
        }
        let fx = fixes(&text);
        if fx.is_empty() {
            failures.push(format!("{name}: no `# fix: PATH=VALUE` line"));
        }
        for (what, sets) in [("mistake", Vec::new()), ("fix", fx)] {
            if let Err(e) = check_runs(&name, what, &text, &sets) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_catalogue_id_has_a_scenario() {
    let dir = catalogue_dir();
    let missing: Vec<&str> = CATALOGUE_IDS
        .iter()
        .copied()
        .filter(|id| !dir.join(format!("{id}.toml")).is_file())
        .collect();
    assert!(missing.is_empty(), "no catalogue scenario for: {missing:?}");
    // And the reference names every one of them.
    let md = doc_text();
    let undocumented: Vec<&str> = CATALOGUE_IDS
        .iter()
        .copied()
        .filter(|id| !md.contains(&format!("catalogue/{id}.toml")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "docs/SCENARIOS.md does not name: {undocumented:?}"
    );
}
