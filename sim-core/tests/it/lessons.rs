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

#[test]
fn every_lesson_claim_holds() {
    let all = load_all();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(l) = all.get(i) else { break };
                let checked = lesson::check(&l.lesson, l.text.as_deref(), l.lesson.seeds)
                    .unwrap_or_else(|e| panic!("{}: {e}", l.lesson.id));
                for c in checked.claims.iter().filter(|c| !c.pass) {
                    failures.lock().unwrap().push(format!(
                        "{}: {:?}: measured {} (want {}); per seed 1..={}: mistake {:?}, fix {:?}{}",
                        l.lesson.id,
                        c.text,
                        c.measured,
                        c.expected,
                        l.lesson.seeds,
                        c.mistake,
                        c.fix,
                        c.error.as_deref().map(|e| format!("; error: {e}")).unwrap_or_default()
                    ));
                }
            });
        }
    });
    let f = failures.into_inner().unwrap();
    assert!(
        f.is_empty(),
        "lesson claims that no longer hold:\n{}",
        f.join("\n")
    );
}
