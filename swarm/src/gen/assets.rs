//! The shipped scenarios and lessons (`assets/`), read once, and cases made
//! from them: each scenario and lesson state run with live toggles, faults
//! and parameter edits; the catalogue's `# fix:` lines applied live; lesson
//! files mutated.

use super::{live, mutate};
use crate::case::{Action, Input, Op};
use crate::rng::Gen;
use serde_json::Value;
use sim_core::lesson::{Lesson, State};
use sim_core::{Format, ScenarioDoc};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A shipped scenario: its path under `assets/scenarios`, its document and
/// its catalogue fixes (`# fix: PATH=VALUE`).
pub struct AssetScenario {
    pub name: String,
    pub text: String,
    pub doc: Value,
    pub fixes: Vec<(String, String)>,
}

/// A shipped lesson: its file text and the text of its scenario file.
pub struct AssetLesson {
    pub id: String,
    pub text: String,
    pub file: Option<String>,
    pub lesson: Lesson,
}

pub struct Assets {
    pub scenarios: Vec<AssetScenario>,
    pub lessons: Vec<AssetLesson>,
}

/// The repository root (the swarm crate's parent).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

fn fixes(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("# fix:"))
        .filter_map(|l| l.trim().split_once('='))
        .map(|(p, v)| (p.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Every shipped scenario and lesson, sorted by path (the generators pick
/// by index, so the order is part of what a seed means).
pub fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let root = repo_root().join("assets");
        let mut files = Vec::new();
        toml_files(&root.join("scenarios"), &mut files);
        files.sort();
        let scen_dir = root.join("scenarios");
        let scenarios = files
            .iter()
            .filter_map(|p| {
                let text = std::fs::read_to_string(p).ok()?;
                let doc = ScenarioDoc::parse(&text, Format::Toml).ok()?.0;
                let name = p.strip_prefix(&scen_dir).ok()?.display().to_string();
                Some(AssetScenario {
                    name,
                    fixes: fixes(&text),
                    text,
                    doc,
                })
            })
            .collect();
        let mut files = Vec::new();
        toml_files(&root.join("lessons"), &mut files);
        files.sort();
        let lessons = files
            .iter()
            .filter_map(|p| {
                let text = std::fs::read_to_string(p).ok()?;
                let lesson = Lesson::from_toml_str(&text).ok()?;
                let file = lesson
                    .scenario_file
                    .as_ref()
                    .and_then(|f| std::fs::read_to_string(scen_dir.join(f)).ok());
                Some(AssetLesson {
                    id: lesson.id.clone(),
                    text,
                    file,
                    lesson,
                })
            })
            .collect();
        Assets { scenarios, lessons }
    })
}

/// A shipped scenario, perhaps edited, with faults and its fixes applied
/// live. Returns (document, note, extra actions at fixed times).
pub fn scenario_case(g: &mut Gen) -> (Value, String, Vec<Action>) {
    let a = assets();
    let s = &a.scenarios[g.index(a.scenarios.len())];
    let mut doc = s.doc.clone();
    let mut note = s.name.clone();
    if g.chance(0.5) {
        doc = mutate::reconfigure(g, &doc);
        note.push_str(", edited");
    }
    if g.chance(0.3) {
        let h = horizon(&doc);
        live::schedule_faults(&mut super::values::Values { g, edge: 0.0 }, &mut doc, h);
        note.push_str(", extra faults");
    }
    let mut actions = Vec::new();
    if !s.fixes.is_empty() && g.chance(0.6) {
        let mut fixed = ScenarioDoc(doc.clone());
        let ok = s.fixes.iter().all(|(p, v)| fixed.set(p, v).is_ok());
        if ok {
            let at_s = Gen::round3(g.uniform(0.0, early(&doc)));
            actions.push(Action {
                at_s,
                op: Op::Reconfigure(fixed.0),
            });
            note.push_str(", fix toggled live");
        }
    }
    (doc, format!("asset {note}"), actions)
}

/// When live toggles happen: early, so that runs stopped by the event
/// budget (shipped scenarios run for minutes) still reach them.
fn early(doc: &Value) -> f64 {
    horizon(doc).min(30.0)
}

fn horizon(doc: &Value) -> f64 {
    doc.get("duration_s")
        .and_then(|d| d.as_f64())
        .unwrap_or(600.0)
        .min(600.0)
}

/// A lesson state (mistake, fix or a variant), toggled live to another
/// state and back, as the page's toggle does.
pub fn lesson_case(g: &mut Gen) -> Option<(Value, String, Vec<Action>)> {
    let a = assets();
    let l = &a.lessons[g.index(a.lessons.len())];
    let file = l.file.as_deref();
    let mut states: Vec<(String, Value)> = Vec::new();
    for (name, st) in [("mistake", State::Mistake), ("fix", State::Fix)] {
        if let Ok(sc) = l.lesson.scenario(st, file) {
            states.push((name.into(), sc.to_doc().0));
        }
    }
    for v in l.lesson.variants.keys() {
        if let Ok(sc) = l.lesson.scenario_variant(v, file) {
            states.push((format!("variant {v}"), sc.to_doc().0));
        }
    }
    if states.is_empty() {
        return None;
    }
    let (first, doc) = states[g.index(states.len())].clone();
    let h = early(&doc);
    let mut actions = Vec::new();
    let mut note = format!("lesson {} ({first}", l.id);
    let mut t = 0.0;
    for _ in 0..g.int(1, 3) {
        t = Gen::round3(g.uniform(t, h));
        let (name, d) = states[g.index(states.len())].clone();
        note.push_str(&format!(" -> {name} at {t} s"));
        actions.push(Action {
            at_s: t,
            op: Op::Reconfigure(d),
        });
    }
    note.push(')');
    Some((doc, note, actions))
}

/// A lesson file with one invalid edit (or none), as text.
pub fn lesson_text_case(g: &mut Gen) -> (Input, String) {
    let a = assets();
    let l = &a.lessons[g.index(a.lessons.len())];
    let v: Value = toml::from_str(&l.text).unwrap_or(Value::Null);
    let (edited, what, _) = mutate::invalid(g, &v);
    let text = toml::to_string(&edited).unwrap_or_else(|_| l.text.clone());
    let input = Input::Lesson {
        text,
        file: l.file.clone(),
    };
    (input, format!("lesson {} file: {what}", l.id))
}
