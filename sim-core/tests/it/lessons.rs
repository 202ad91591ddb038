//! Every lesson teaches what it says: each claim is measured by running the
//! lesson in both states over its seeds (common random numbers), exactly as
//! `tailsim lessons check` does. CI fails if a lesson stops teaching.

use crate::support::repo_root;
use sim_core::lesson::{self, Lesson};

struct Loaded {
    lesson: Lesson,
    text: Option<String>,
}

fn load_all() -> Vec<Loaded> {
    let dir = repo_root().join("assets/lessons");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let lesson =
                Lesson::from_toml_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert_eq!(
                Some(lesson.id.as_str()),
                p.file_stem().and_then(|s| s.to_str()),
                "{}: id must match the file name",
                p.display()
            );
            let text = lesson.scenario_file.as_ref().map(|f| {
                let sp = repo_root().join("assets/scenarios").join(f);
                std::fs::read_to_string(&sp).unwrap_or_else(|e| panic!("{}: {e}", sp.display()))
            });
            Loaded { lesson, text }
        })
        .collect()
}

#[test]
fn every_catalogue_row_has_a_lesson() {
    let all = load_all();
    let missing: Vec<&str> = lesson::CATALOGUE
        .iter()
        .map(|(id, ..)| *id)
        .filter(|id| !all.iter().any(|l| l.lesson.id == *id))
        .collect();
    assert!(
        missing.is_empty(),
        "catalogue rows without a lesson: {missing:?}"
    );
    assert!(
        all.iter().any(|l| l.lesson.id == "case-study-checkout"),
        "the case study lesson is missing"
    );
    for l in &all {
        if l.lesson.toggle.is_none() && l.lesson.demonstrated_by.is_none() {
            assert!(
                l.lesson
                    .claims
                    .iter()
                    .all(|c| c.compare == lesson::Compare::Theory
                        || c.compare == lesson::Compare::Fix
                        || c.compare == lesson::Compare::Mistake),
                "{}: ratio claims need a toggle",
                l.lesson.id
            );
        }
    }
}

/// Every lesson declares the band a student is likely to move it over, or
/// says in its file why it has none (a `# No load band: ...` line): a
/// lesson tuned to one point must not pass for a robust one by omission.
#[test]
fn every_lesson_declares_its_band_or_says_why_not() {
    let dir = repo_root().join("assets/lessons");
    let mut silent = Vec::new();
    for l in load_all() {
        let path = dir.join(format!("{}.toml", l.lesson.id));
        let file = std::fs::read_to_string(&path).unwrap();
        let reason = file.lines().any(|line| {
            line.starts_with("# No load band: ") && line.len() > "# No load band: ".len() + 20
        });
        if l.lesson.bands.is_empty() && !reason {
            silent.push(l.lesson.id.clone());
        }
    }
    assert!(
        silent.is_empty(),
        "lessons with no band and no written reason: {silent:?}"
    );
}

/// Every claim of every lesson, on every seed it must hold on, at the
/// lesson as written and at both ends of every declared band: the same
/// plans `tailsim lessons check` runs, all jobs in one pool.
#[test]
fn every_lesson_claim_holds() {
    let all = load_all();
    let plans: Vec<lesson::Plan> = all
        .iter()
        .map(|l| {
            lesson::Plan::new(&l.lesson, l.text.as_deref(), l.lesson.seeds)
                .unwrap_or_else(|e| panic!("{}: {e}", l.lesson.id))
        })
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    let mut failures = Vec::new();
    for checked in lesson::check_plans(&plans, threads) {
        for (point, c) in checked.failures() {
            let worst = c.worst.map_or(String::new(), |w| {
                format!(
                    "; worst seed {}: {} (margin {:+.3})",
                    w.seed, w.value, w.margin
                )
            });
            failures.push(format!(
                "{} [{point}]: {:?}: measured {} (want {}), {}{worst}; per seed: mistake {:?}, compared {:?}{}",
                checked.id,
                c.text,
                c.measured,
                c.expected,
                c.seeds_text(),
                c.mistake,
                c.fix,
                c.error.as_deref().map(|e| format!("; error: {e}")).unwrap_or_default()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "lesson claims that no longer hold:\n{}",
        failures.join("\n")
    );
}
