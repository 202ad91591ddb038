//! The committed corpus (`swarm/corpus/*.json`) and the list of known-open
//! failures (`swarm/known.toml`).
//!
//! A corpus file is a whole case (not a seed: generators change, the file
//! does not) with what it must do: `"pass"` (a regression case: a failure
//! once, fixed since) or `"open:ID"` (a failure the engine does not handle
//! yet, listed in `known.toml`). Every run replays the corpus first.
//!
//! `known.toml` lists open failures by kind and a piece of their signature
//! or detail; a failure that matches one is reported as known-open and
//! does not fail the run. When the engine is fixed, its entry goes, and its
//! corpus files change to `"pass"`.

use crate::case::Case;
use crate::gen::assets::repo_root;
use crate::verdict::Failure;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A corpus file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CorpusFile {
    /// `pass`, or `open:ID` with ID in known.toml.
    pub expect: String,
    /// What this case shows, in words.
    #[serde(default)]
    pub about: String,
    pub case: Case,
}

/// One known-open failure.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Known {
    pub id: String,
    /// The failure kind (`panic`, `stall`, ...).
    pub kind: String,
    /// Substrings: a failure matches if its signature or detail contains
    /// any of them.
    pub matches: Vec<String>,
    /// The issue that tracks it.
    pub issue: u32,
    /// Where it goes wrong and why.
    pub cause: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KnownList {
    #[serde(default)]
    pub open: Vec<Known>,
}

pub fn corpus_dir() -> PathBuf {
    repo_root().join("swarm").join("corpus")
}

/// The known-open failures.
pub fn known() -> Result<KnownList, String> {
    let p = repo_root().join("swarm").join("known.toml");
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
}

impl KnownList {
    /// The known-open entry a failure matches, if any.
    pub fn matching(&self, f: &Failure, note: &str) -> Option<&Known> {
        self.open.iter().find(|k| {
            k.kind == f.kind.name()
                && k.matches.iter().any(|m| {
                    f.signature.contains(m.as_str())
                        || f.detail.contains(m.as_str())
                        || note.contains(m.as_str())
                })
        })
    }
}

/// A case file and its expectation.
pub fn read_case(path: &str) -> Result<(Case, String), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let f: CorpusFile = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    Ok((f.case, f.expect))
}

/// Every corpus file, sorted.
pub fn files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Writes a case as a corpus file (expecting `expect`).
pub fn write_case(
    path: &std::path::Path,
    case: &Case,
    expect: &str,
    about: &str,
) -> std::io::Result<()> {
    let f = CorpusFile {
        expect: expect.into(),
        about: about.into(),
        case: case.clone(),
    };
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(
        path,
        serde_json::to_string_pretty(&f).unwrap_or_default() + "\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_list_and_the_corpus_agree() {
        let known = known().unwrap();
        for p in files() {
            let (_, expect) = read_case(p.to_str().unwrap()).unwrap();
            if let Some(id) = expect.strip_prefix("open:") {
                assert!(
                    known.open.iter().any(|k| k.id == id),
                    "{}: no known.toml entry {id}",
                    p.display()
                );
            } else {
                assert_eq!(expect, "pass", "{}", p.display());
            }
        }
    }
}
