//! Shared helpers: running replications and judging them statistically.

use sim_core::lesson::Lesson;
use sim_core::{Format, Report, Scenario, ScenarioDoc, Sim};
use std::path::PathBuf;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn asset(name: &str) -> String {
    let p = repo_root().join("assets/scenarios").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Lesson `id` from `assets/lessons`, with the text of its scenario file.
pub fn lesson(id: &str) -> (Lesson, Option<String>) {
    let p = repo_root()
        .join("assets/lessons")
        .join(format!("{id}.toml"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let l = Lesson::from_toml_str(&text).unwrap();
    let file = l.scenario_file.as_ref().map(|f| asset(f));
    (l, file)
}

/// Every lesson, in file-name order, with the text of its scenario file.
pub fn all_lessons() -> Vec<(Lesson, Option<String>)> {
    let dir = repo_root().join("assets/lessons");
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.iter().map(|id| lesson(id)).collect()
}

/// Loads a scenario text with overrides (`path`, JSON value).
pub fn scenario_with(text: &str, sets: &[(&str, &str)]) -> Scenario {
    let mut doc = ScenarioDoc::parse(text, Format::Toml).unwrap();
    for (p, v) in sets {
        doc.set(p, v).unwrap();
    }
    doc.build().unwrap()
}

pub fn run(sc: &Scenario, seed: u64) -> Report {
    let mut sim = Sim::new(sc, seed).unwrap();
    let r = sim.run_for(sc.duration_s).unwrap();
    assert!(
        r.conservation.ok,
        "conservation violated; reproduce with seed {seed}: {:?}",
        r.conservation.violations
    );
    r
}

/// Independent replications: the same scenario under seeds 1..=n.
pub fn replicate(sc: &Scenario, n: u64) -> Vec<Report> {
    (1..=n).map(|seed| run(sc, seed)).collect()
}

/// Two-sided 99.9% Student-t quantiles t_{0.9995, df} for df = 1..=12.
const T999: [f64; 12] = [
    636.6, 31.60, 12.92, 8.610, 6.869, 5.959, 5.408, 5.041, 4.781, 4.587, 4.437, 4.318,
];

/// Asserts that the mean of `xs` (one value per independent replication)
/// agrees with `expect`: |mean - expect| <= t_{0.9995,n-1} * SE, the 99.9%
/// confidence half-width, plus `bias` (an allowance for a known, stated
/// systematic error such as histogram resolution). Prints the numbers so a
/// failure shows the seeds' values.
pub fn assert_agrees(what: &str, xs: &[f64], expect: f64, bias: f64) {
    let n = xs.len();
    assert!(n >= 2 && n <= T999.len() + 1);
    let mean = xs.iter().sum::<f64>() / n as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
    let se = (var / n as f64).sqrt();
    let half = T999[n - 2] * se + bias;
    eprintln!(
        "{what}: sim {mean:.5} ± {half:.5} (SE {se:.5}, seeds 1..={n}) vs theory {expect:.5}"
    );
    assert!(
        (mean - expect).abs() <= half,
        "{what}: simulated {mean:.5} (per seed {xs:?}) disagrees with theory {expect:.5}: \
         |diff| {:.5} > 99.9% half-width {half:.5}",
        (mean - expect).abs()
    );
    // The interval must also be informative: a test whose tolerance is
    // wider than 15% of the expected value cannot catch a wrong model.
    assert!(
        half <= 0.15 * expect.abs().max(1e-9),
        "{what}: interval {half} too wide to be meaningful"
    );
}
