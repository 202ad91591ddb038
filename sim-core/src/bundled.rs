//! The shipped lessons and scenarios, compiled into the library (feature
//! `bundled`; `build.rs` writes the table), so that the CLI and the Python
//! package find them from any directory, as the page does.

use crate::lesson::Lesson;

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The text of a shipped scenario by its path under `assets/scenarios`
/// (`"mm1.toml"`, `"catalogue/DATA-N+1.toml"`), as a lesson's
/// `scenario_file` names it.
pub fn scenario(path: &str) -> Option<&'static str> {
    SCENARIOS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

/// A shipped lesson with the text of its scenario file, if it names one.
#[derive(Clone, Debug)]
pub struct BundledLesson {
    /// `assets/lessons/<file>`.
    pub file: &'static str,
    pub lesson: Lesson,
    pub scenario_text: Option<&'static str>,
}

/// Every shipped lesson, in file-name order. An error names the file; the
/// test suite requires none.
pub fn lessons() -> Result<Vec<BundledLesson>, String> {
    LESSONS
        .iter()
        .map(|(file, text)| {
            let lesson = Lesson::from_toml_str(text).map_err(|e| format!("{file}: {e}"))?;
            let scenario_text = match &lesson.scenario_file {
                Some(f) => Some(
                    scenario(f)
                        .ok_or_else(|| format!("{file}: scenario_file {f:?} is not shipped"))?,
                ),
                None => None,
            };
            Ok(BundledLesson {
                file,
                lesson,
                scenario_text,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_lesson_parses_and_finds_its_scenario() {
        let all = lessons().unwrap();
        assert!(all.len() >= 48, "only {} lessons bundled", all.len());
        for l in &all {
            assert_eq!(format!("{}.toml", l.lesson.id), l.file);
        }
        assert!(scenario("mm1.toml").unwrap().contains("M/M/1"));
        assert!(scenario("catalogue/DATA-N+1.toml").is_some());
        assert!(scenario("nope.toml").is_none());
    }
}
