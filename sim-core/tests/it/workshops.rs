//! The shipped workshop packs (`assets/workshops`): each parses, every
//! lesson resolves, lesson files hold their claims, and every lesson of a
//! pack has a class answer within the classroom server's work bound.

use crate::support::{all_lessons, asset, repo_root};
use sim_core::lesson::{check, Lesson};
use sim_core::workshop::{class_answer, Pack, Source};

/// The classroom server's bound on the work (events and calls) of one
/// answer, all seeds together (`Limits::max_work` in
/// classroom/src/limits.rs keeps the same number): every shipped lesson
/// must fit under it.
const MAX_WORK: u64 = 100_000_000;

fn packs() -> Vec<(String, String)> {
    let dir = repo_root().join("assets/workshops");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_shipped_pack_resolves_and_every_lesson_has_a_class_answer() {
    let catalogue = all_lessons();
    let ids: Vec<&str> = catalogue.iter().map(|(l, _)| l.id.as_str()).collect();
    let find = |id: &str| {
        catalogue
            .iter()
            .find(|(l, _)| l.id == id)
            .map(|(l, _)| l.clone())
    };
    let dir = repo_root().join("assets/workshops");
    let files: Vec<(String, String)> = packs();
    assert!(files.len() >= 2, "{files:?}");
    for (name, text) in &files {
        let pack = Pack::from_toml_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
        let texts: Vec<(String, String)> = pack
            .lessons
            .iter()
            .filter_map(|e| e.file.clone())
            .map(|f| (f.clone(), read(&f).unwrap_or_default()))
            .collect();
        let by_name = |f: &str| texts.iter().find(|(n, _)| n == f).map(|(_, t)| t.as_str());
        let w = pack
            .resolve(find, by_name, &ids)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for wl in &w.lessons {
            let l: &Lesson = &wl.lesson;
            let file = l.scenario_file.as_ref().map(|f| asset(f));
            let a = class_answer(l, file.as_deref(), MAX_WORK)
                .unwrap_or_else(|e| panic!("{name}: {}: {e}", l.id));
            assert!(a.mean.is_finite() && a.min <= a.max, "{name}: {a:?}");
            assert!(!wl.notes.trim().is_empty(), "{name}: {}: no notes", l.id);
            if let Source::File { .. } = wl.source {
                let checked = check(l, file.as_deref(), l.seeds).unwrap();
                if let Some((point, c)) = checked.failures().first() {
                    panic!("{name}: {} [{point}]: {} ({:?})", l.id, c.text, c);
                }
            }
        }
    }
}

#[test]
fn the_three_lesson_pack_of_the_end_to_end_test_is_shipped() {
    let (_, text) = packs()
        .into_iter()
        .find(|(n, _)| n == "first-hour.toml")
        .expect("first-hour.toml");
    let pack = Pack::from_toml_str(&text).unwrap();
    assert_eq!(pack.lessons.len(), 3);
}

/// Any catalogue lesson can go in a pack, so each must have a class answer
/// within the server's bound.
#[test]
fn every_catalogue_lesson_has_a_class_answer_within_the_bound() {
    for (l, file) in all_lessons() {
        let a =
            class_answer(&l, file.as_deref(), MAX_WORK).unwrap_or_else(|e| panic!("{}: {e}", l.id));
        assert_eq!(a.values.len() as u64, l.seeds, "{}", l.id);
    }
}
