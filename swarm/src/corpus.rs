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
    /// `pass`, or `open:ID` with ID in known.toml (`open:A|B`: either; a
    /// case at the edge of two limits may meet one or the other first).
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
    /// Case seeds that show it, for failures whose signature says too
    /// little to tell them apart (a stack overflow has no message). Strings:
    /// TOML integers stop at i64::MAX.
    #[serde(default)]
    pub seeds: Vec<String>,
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
    pub fn matching(&self, f: &Failure, seed: u64, note: &str) -> Option<&Known> {
        self.open.iter().find(|k| {
            let text = |m: &String| {
                f.signature.contains(m.as_str())
                    || f.detail.contains(m.as_str())
                    || note.contains(m.as_str())
            };
            k.kind == f.kind.name()
                && (k.seeds.contains(&seed.to_string()) || k.matches.iter().any(text))
        })
    }
}

/// A case file and its expectation.
pub fn read_case(path: &str) -> Result<(Case, String), String> {
    let mut p = PathBuf::from(path);
    if p.is_relative() && !p.exists() {
        p = repo_root().join(p);
    }
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{path}: {e}"))?;
    let f: CorpusFile = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    Ok((f.case, f.expect))
}

/// Every corpus file, sorted, as `swarm/corpus/NAME.json` (relative to
/// the repository root, where `cargo xtask fuzz` runs).
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
    let root = repo_root();
    v.iter()
        .map(|p| p.strip_prefix(&root).map_or(p.clone(), |r| r.to_path_buf()))
        .collect()
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
    // Big documents (a chain of 30,000 services) are written compactly.
    let pretty = serde_json::to_string_pretty(&f).unwrap_or_default();
    let text = if pretty.len() > 200_000 {
        serde_json::to_string(&f).unwrap_or_default()
    } else {
        pretty
    };
    std::fs::write(path, text + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_list_and_the_corpus_agree() {
        let known = known().unwrap();
        for p in files() {
            let (_, expect) = read_case(p.to_str().unwrap()).unwrap();
            if let Some(ids) = expect.strip_prefix("open:") {
                for id in ids.split('|') {
                    assert!(
                        known.open.iter().any(|k| k.id == id),
                        "{}: no known.toml entry {id}",
                        p.display()
                    );
                }
            } else {
                assert_eq!(expect, "pass", "{}", p.display());
            }
        }
    }
}
