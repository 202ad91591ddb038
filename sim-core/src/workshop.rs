//! Workshop packs: an ordered list of lessons for a class, with a title and
//! the teacher's notes for each lesson, and the simulated answer a class's
//! predictions are compared with.
//!
//! ```toml
//! version = 1
//! title = "Why backends stop scaling: the first hour"
//! description = "Three mistakes, from the database out."   # optional
//!
//! [[lessons]]
//! id = "DATA-N+1"                  # a lesson of the catalogue
//! notes = "Ask who has shipped an ORM loop. Expect guesses near 2x."
//!
//! [[lessons]]
//! file = "our-checkout.toml"       # or a lesson file beside the pack
//! notes = "Our own service: show the pool first."
//! ```
//!
//! [`Pack::from_toml_str`] checks the shape (every error names the field);
//! [`Pack::resolve`] looks the lessons up, through the caller's catalogue
//! and files (this library reads no files), and parses lesson files.
//! [`class_answer`] measures a lesson's prediction metric over its seeds,
//! with a bound on the work, for the classroom server.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lesson::{eval_metric, Lesson, State};
use crate::scenario::ScenarioError;
use crate::{secs_to_ns, Sim};

/// The one format number this build reads.
pub const VERSION: u32 = 1;
/// Lessons in one pack: a long day's workshop is a dozen.
pub const MAX_LESSONS: usize = 60;
/// Characters in a title.
pub const MAX_TITLE: usize = 200;
/// Characters in a description or one lesson's notes.
pub const MAX_NOTES: usize = 8_000;

/// A pack file as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    pub version: u32,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub lessons: Vec<PackEntry>,
}

/// One lesson of a pack: exactly one of `id` and `file`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackEntry {
    /// A catalogue lesson id (`DATA-N+1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A lesson file's name, relative to the pack (`ours.toml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What the teacher wants to remember here (shown to the teacher only).
    #[serde(default)]
    pub notes: String,
}

/// A pack with every lesson found and parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Workshop {
    pub title: String,
    pub description: String,
    pub lessons: Vec<WorkshopLesson>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorkshopLesson {
    pub lesson: Lesson,
    /// Where it came from.
    pub source: Source,
    pub notes: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// The catalogue lesson of this id.
    Catalogue(String),
    /// A lesson file: its name in the pack and its text.
    File { name: String, text: String },
}

fn err(path: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::new(path, message)
}

impl Pack {
    /// Parses and checks a pack file (TOML). Errors name the field.
    pub fn from_toml_str(text: &str) -> Result<Pack, ScenarioError> {
        let v: Value = toml::from_str(text)
            .map_err(|e| err("", format!("TOML syntax error: {}", e.message())))?;
        if let Some(version) = v.get("version").and_then(Value::as_u64) {
            if version > u64::from(VERSION) {
                return Err(err(
                    "version",
                    format!(
                        "this pack is format {version}, made by a newer tailsim \
                         (this one reads format {VERSION})"
                    ),
                ));
            }
        }
        let pack: Pack = serde_path_to_error::deserialize(&v)
            .map_err(|e| err(e.path().to_string(), e.into_inner().to_string()))?;
        pack.check()?;
        Ok(pack)
    }

    /// The pack as TOML (what a teacher saves).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a pack serialises")
    }

    fn check(&self) -> Result<(), ScenarioError> {
        if self.version != VERSION {
            return Err(err(
                "version",
                format!("must be {VERSION}, got {}", self.version),
            ));
        }
        check_text("title", &self.title, 1, MAX_TITLE)?;
        check_text("description", &self.description, 0, MAX_NOTES)?;
        if self.lessons.is_empty() || self.lessons.len() > MAX_LESSONS {
            return Err(err(
                "lessons",
                format!(
                    "a pack has 1 to {MAX_LESSONS} lessons, got {}",
                    self.lessons.len()
                ),
            ));
        }
        for (i, e) in self.lessons.iter().enumerate() {
            let p = format!("lessons[{i}]");
            check_text(&format!("{p}.notes"), &e.notes, 0, MAX_NOTES)?;
            match (&e.id, &e.file) {
                (Some(id), None) => check_text(&format!("{p}.id"), id, 1, 100)?,
                (None, Some(f)) => check_file_name(&format!("{p}.file"), f)?,
                _ => {
                    return Err(err(
                        &p,
                        "give exactly one of `id` (a catalogue lesson) or `file` (a lesson file)",
                    ))
                }
            }
        }
        Ok(())
    }

    /// Finds every lesson: `catalogue(id)` looks a catalogue lesson up,
    /// `file(name)` gives a lesson file's text. Errors name the entry.
    pub fn resolve<'a>(
        &self,
        catalogue: impl Fn(&str) -> Option<Lesson>,
        file: impl Fn(&str) -> Option<&'a str>,
        known_ids: &[&str],
    ) -> Result<Workshop, ScenarioError> {
        let mut lessons = Vec::with_capacity(self.lessons.len());
        for (i, e) in self.lessons.iter().enumerate() {
            let p = format!("lessons[{i}]");
            let (lesson, source) = match (&e.id, &e.file) {
                (Some(id), _) => {
                    let l = catalogue(id)
                        .ok_or_else(|| err(format!("{p}.id"), unknown_id_message(id, known_ids)))?;
                    (l, Source::Catalogue(id.clone()))
                }
                (None, Some(name)) => {
                    let text = file(name).ok_or_else(|| {
                        err(
                            format!("{p}.file"),
                            format!("{name:?} was not given: add the lesson file beside the pack"),
                        )
                    })?;
                    let l = Lesson::from_toml_str(text)
                        .map_err(|e| err(format!("{p}.file"), format!("{name}: {e}")))?;
                    let source = Source::File {
                        name: name.clone(),
                        text: text.to_string(),
                    };
                    (l, source)
                }
                (None, None) => return Err(err(&p, "has neither `id` nor `file`")),
            };
            lessons.push(WorkshopLesson {
                lesson,
                source,
                notes: e.notes.clone(),
            });
        }
        Ok(Workshop {
            title: self.title.clone(),
            description: self.description.clone(),
            lessons,
        })
    }
}

/// "no lesson X in the catalogue", with the ids that share its prefix.
fn unknown_id_message(id: &str, known: &[&str]) -> String {
    let prefix: String = id.chars().take_while(|c| *c != '-').collect();
    let near: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| !prefix.is_empty() && k.starts_with(&format!("{prefix}-")))
        .take(8)
        .collect();
    if near.is_empty() {
        format!("no lesson {id:?} in the catalogue (`tailsim lessons list` shows them)")
    } else {
        format!(
            "no lesson {id:?} in the catalogue; did you mean one of {}?",
            near.join(", ")
        )
    }
}

fn check_text(path: &str, s: &str, min: usize, max: usize) -> Result<(), ScenarioError> {
    let n = s.chars().count();
    if s.trim().chars().count() < min {
        return Err(err(path, "must not be empty"));
    }
    if n > max {
        return Err(err(path, format!("at most {max} characters, got {n}")));
    }
    Ok(())
}

/// A plain relative file name: no directory climbing, no absolute path.
fn check_file_name(path: &str, f: &str) -> Result<(), ScenarioError> {
    let bad = f.is_empty()
        || f.len() > 200
        || f.starts_with('/')
        || f.contains('\\')
        || f.contains('\0')
        || f.split('/').any(|s| s == ".." || s.is_empty());
    if bad {
        return Err(err(
            path,
            format!(
                "{f:?} is not a plain relative file name (like `ours.toml` or `lessons/ours.toml`)"
            ),
        ));
    }
    if !f.ends_with(".toml") {
        return Err(err(path, format!("{f:?}: lesson files end in .toml")));
    }
    Ok(())
}

// ----- the class's answer --------------------------------------------------------------

/// The lesson's prediction metric, measured in the predicted state over
/// seeds 1..=`lesson.seeds` (the runs `lessons check` makes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassAnswer {
    /// One value per seed, seed 1 first.
    pub values: Vec<f64>,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub unit: String,
    pub state: State,
}

/// Measures the lesson's `predict` metric in its state over its seeds.
/// All the runs together may do at most `max_work` units of work (events
/// handled and calls made, [`Sim::work`]): a lesson
/// too heavy for that is an error, never a stall (the classroom server
/// runs lessons that any room's teacher sends).
pub fn class_answer(
    lesson: &Lesson,
    file_text: Option<&str>,
    max_work: u64,
) -> Result<ClassAnswer, ScenarioError> {
    let p = lesson
        .predict
        .as_ref()
        .ok_or_else(|| err("predict", "this lesson asks for no prediction"))?;
    let sc = lesson.scenario(p.state, file_text)?;
    let mut values = Vec::with_capacity(lesson.seeds as usize);
    let mut budget = max_work;
    for seed in 1..=lesson.seeds {
        let mut sim = Sim::new(&sc, seed)?;
        let reached = sim
            .run_until_bounded(secs_to_ns(sc.duration_s), budget)
            .map_err(|e| err("duration_s", e.to_string()))?;
        if !reached {
            return Err(err(
                "duration_s",
                format!(
                    "its {} runs need more than {max_work} units of work (events and calls): \
                     too heavy to answer here \
                     (shorten the run or lower the load)",
                    lesson.seeds
                ),
            ));
        }
        budget = budget.saturating_sub(sim.work());
        let x = eval_metric(&p.metric, &sim.report())
            .map_err(|m| err("predict.metric", format!("seed {seed}: {m}")))?;
        if !x.is_finite() {
            return Err(err(
                "predict.metric",
                format!("seed {seed}: the metric has no finite value ({x})"),
            ));
        }
        values.push(x);
    }
    let n = values.len().max(1) as f64;
    Ok(ClassAnswer {
        mean: values.iter().sum::<f64>() / n,
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        values,
        unit: p.unit.clone(),
        state: p.state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACK: &str = r#"
version = 1
title = "First hour"
[[lessons]]
id = "L-ONE"
notes = "ask first"
[[lessons]]
file = "ours.toml"
"#;

    const LESSON: &str = r#"
id = "OURS"
title = "Ours"
section = "Ours"
narrative = "n"
question = "q?"
predict = { metric = "nodes.s.utilisation", state = "mistake", unit = "" }
seeds = 10
[[claims]]
text = "busy"
metric = "nodes.s.utilisation"
compare = "mistake"
op = ">="
value = 0.1
[scenario]
version = 1
name = "m/m/1"
duration_s = 200
[scenario.nodes.c]
kind = "source"
target = "s"
arrival = { process = "poisson", rate = 0.5 }
[scenario.nodes.s]
kind = "service"
workers = 1
service = { dist = "exponential", mean_s = 1.0 }
"#;

    fn one(id: &str) -> Option<Lesson> {
        (id == "L-ONE").then(|| Lesson::from_toml_str(&LESSON.replace("OURS", "L-ONE")).unwrap())
    }

    #[test]
    fn a_pack_resolves_catalogue_ids_and_files_in_order() {
        let pack = Pack::from_toml_str(PACK).unwrap();
        let w = pack
            .resolve(one, |f| (f == "ours.toml").then_some(LESSON), &["L-ONE"])
            .unwrap();
        assert_eq!(w.title, "First hour");
        let ids: Vec<&str> = w.lessons.iter().map(|l| l.lesson.id.as_str()).collect();
        assert_eq!(ids, ["L-ONE", "OURS"]);
        assert_eq!(w.lessons[0].notes, "ask first");
        assert_eq!(w.lessons[0].source, Source::Catalogue("L-ONE".into()));
        assert!(matches!(&w.lessons[1].source, Source::File { name, .. } if name == "ours.toml"));
        // saved and read back: the same pack
        assert_eq!(Pack::from_toml_str(&pack.to_toml()).unwrap(), pack);
    }

    #[test]
    fn bad_packs_name_the_field() {
        let e = |t: &str| Pack::from_toml_str(t).unwrap_err();
        assert_eq!(
            e("version = 1\ntitle = \"t\"\nlessons = []").path,
            "lessons"
        );
        assert_eq!(
            e(&PACK.replace("version = 1", "version = 0")).path,
            "version"
        );
        let newer = e(&PACK.replace("version = 1", "version = 7"));
        assert!(newer.message.contains("newer tailsim"), "{newer}");
        assert_eq!(e(&PACK.replace("\"First hour\"", "\"  \"")).path, "title");
        assert_eq!(
            e(&PACK.replace("file = \"ours.toml\"", "id = \"X\"\nfile = \"ours.toml\"")).path,
            "lessons[1]"
        );
        assert_eq!(
            e(&PACK.replace("ours.toml", "../etc/passwd.toml")).path,
            "lessons[1].file"
        );
        assert_eq!(
            e(&PACK.replace("ours.toml", "ours.txt")).path,
            "lessons[1].file"
        );
        let unknown = e(&PACK.replace("notes =", "note ="));
        assert!(unknown.path.starts_with("lessons[0]"), "{unknown}");
        assert!(unknown.message.contains("unknown field"), "{unknown}");
        let long = PACK.replace("ask first", &"x".repeat(MAX_NOTES + 1));
        assert_eq!(e(&long).path, "lessons[0].notes");
        assert!(e("title = ").message.contains("TOML syntax"));
    }

    #[test]
    fn unresolvable_lessons_name_the_entry() {
        let pack = Pack::from_toml_str(PACK).unwrap();
        let e = pack
            .resolve(|_| None, |_| None, &["L-ONE", "L-TWO"])
            .unwrap_err();
        assert_eq!(e.path, "lessons[0].id");
        assert!(e.message.contains("L-ONE, L-TWO"), "{e}");
        let e = pack.resolve(one, |_| None, &[]).unwrap_err();
        assert_eq!(e.path, "lessons[1].file");
        assert!(e.message.contains("was not given"), "{e}");
        let broken = LESSON.replace("seeds = 10", "seeds = 1");
        let e = pack
            .resolve(one, |_| Some(broken.as_str()), &[])
            .unwrap_err();
        assert_eq!(e.path, "lessons[1].file");
        assert!(e.message.starts_with("ours.toml: seeds:"), "{e}");
    }

    #[test]
    fn the_class_answer_is_the_metric_over_the_lesson_seeds() {
        let l = Lesson::from_toml_str(LESSON).unwrap();
        let a = class_answer(&l, None, 1_000_000).unwrap();
        // M/M/1 with rate 0.5 and mean service 1 s: utilisation rho = 0.5
        // (lambda / mu); 200 s holds ~100 services, so each seed is within
        // a few tenths of it.
        assert_eq!(a.values.len(), 10);
        assert!((a.mean - 0.5).abs() < 0.15, "{a:?}");
        assert!(a.min <= a.mean && a.mean <= a.max);
        // The same runs as `lessons check`: seed k is Sim::new(sc, k).
        let sc = l.scenario(State::Mistake, None).unwrap();
        let r = Sim::new(&sc, 3).unwrap().run_for(sc.duration_s).unwrap();
        assert_eq!(a.values[2], r.nodes["s"].utilisation);
    }

    #[test]
    fn a_lesson_too_heavy_for_the_bound_is_an_error() {
        let l = Lesson::from_toml_str(LESSON).unwrap();
        // ~100 arrivals, ~100 departures and ~100 calls per run: 50 units
        // of work cannot finish.
        let e = class_answer(&l, None, 50).unwrap_err();
        assert_eq!(e.path, "duration_s");
        assert!(e.message.contains("more than 50 units of work"), "{e}");
        // the bound is for all the seeds together: one run fits in 1000
        // units (~300 per run), five do not.
        assert!(class_answer(&l, None, 1_000).is_err());
        let mut no_predict = l.clone();
        no_predict.predict = None;
        assert_eq!(
            class_answer(&no_predict, None, 1_000).unwrap_err().path,
            "predict"
        );
    }
}
