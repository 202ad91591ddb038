//! The end-of-run summary: cases by generator and verdict, the corpus, and
//! each distinct failure (grouped by signature) with its first seed, what
//! the case was, the detail and the command that reproduces it. Known-open
//! failures are listed apart and do not fail the run.

use crate::driver::{Found, Options, Tally};
use crate::worker::Job;
use std::collections::BTreeMap;

/// Prints the summary; returns true if the run passed.
pub fn print(o: &Options, t: &Tally, secs: f64) -> bool {
    let n = t.cases();
    println!(
        "\nswarm: {n} cases in {secs:.1} s ({:.0}/s) on {} workers, {} events simulated; {} runs stopped at the event budget",
        n as f64 / secs.max(1e-9),
        o.jobs,
        t.events,
        t.budget_hits
    );
    println!(
        "  {:<12} {:>9} {:>9} {:>9}",
        "generator", "ran", "rejected", "failed"
    );
    for (origin, v) in &t.by_origin {
        println!("  {:<12} {:>9} {:>9} {:>9}", origin, v[0], v[1], v[2]);
    }
    if t.corpus_ok + t.corpus_fixed.len() as u64 + t.corpus_broken.len() as u64 > 0 {
        println!("corpus: {} cases as expected", t.corpus_ok);
        for f in &t.corpus_fixed {
            println!("  FIXED? {f}");
        }
        for f in &t.corpus_broken {
            println!("  BROKEN {f}");
        }
    }
    let (new, known): (Vec<&Found>, Vec<&Found>) = t.found.iter().partition(|f| f.known.is_none());
    let groups = group(&new);
    println!(
        "\nnew failures: {} distinct, {} cases",
        groups.len(),
        new.len()
    );
    for (sig, fs) in &groups {
        show(o, sig, fs, None);
    }
    let kgroups = group(&known);
    println!(
        "\nknown-open failures (swarm/known.toml): {} distinct, {} cases",
        kgroups.len(),
        known.len()
    );
    for (sig, fs) in &kgroups {
        show(o, sig, fs, fs[0].known.as_deref());
    }
    let pass = new.is_empty() && t.corpus_broken.is_empty();
    println!("\nswarm: {}", if pass { "PASS" } else { "FAIL" });
    pass
}

fn group<'a>(fs: &[&'a Found]) -> BTreeMap<String, Vec<&'a Found>> {
    let mut g: BTreeMap<String, Vec<&Found>> = BTreeMap::new();
    for f in fs {
        g.entry(f.failure.signature.clone()).or_default().push(f);
    }
    g
}

fn show(o: &Options, sig: &str, fs: &[&Found], known: Option<&str>) {
    let first = fs[0];
    let tag = known.map_or(String::new(), |k| format!(" [{k}]"));
    println!("- {sig}{tag}: {} case(s)", fs.len());
    println!(
        "    case:      seed {}: {}",
        first.outcome.seed, first.outcome.note
    );
    let detail: String = first.failure.detail.chars().take(600).collect();
    println!("    detail:    {detail}");
    println!("    reproduce: {}", reproduce(o, &first.job));
    if matches!(first.job, Job::Seed { .. }) {
        let file = o.out.join(format!(
            "{}-{}.json",
            first.failure.kind.name(),
            first.outcome.seed
        ));
        println!("    case file: {}", file.display());
    }
    if fs.len() > 1 {
        let more: Vec<String> = fs[1..]
            .iter()
            .take(4)
            .map(|f| f.outcome.seed.to_string())
            .collect();
        println!("    also:      seeds {}", more.join(", "));
    }
}

/// The command that replays one job exactly.
pub fn reproduce(o: &Options, job: &Job) -> String {
    match job {
        Job::Seed { seed, only } => {
            let only = only
                .as_ref()
                .map_or(String::new(), |x| format!(" --only {x}"));
            format!("{} --seed {seed} --cases 1 --no-corpus{only}", o.command)
        }
        Job::File { path } => format!("{} --replay {path}", o.command),
    }
}
