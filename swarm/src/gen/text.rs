//! Inputs below the document: scenario text (TOML and JSON) corrupted
//! byte-wise or token-wise, and `--set PATH=VALUE` edits with good and bad
//! paths and values.

use super::mutate::{self, path_string};
use crate::case::{Expect, Input};
use crate::rng::Gen;
use serde_json::Value;

/// Corrupted scenario text. Returns (input, note, expectation).
pub fn text_case(g: &mut Gen, doc: &Value) -> (Input, String, Option<Expect>) {
    let json = g.chance(0.5);
    let text = if json {
        serde_json::to_string_pretty(doc).unwrap_or_default()
    } else {
        toml::to_string(doc).unwrap_or_default()
    };
    let reject = |path: &str| {
        Some(Expect {
            path: path.into(),
            exact: true,
            must_reject: true,
        })
    };
    match g.int(0, 6) {
        0 => {
            let cut = g.index(text.len().max(1));
            let cut = (0..=cut)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            let t = text[..cut].to_string();
            (
                Input::Text { json, text: t },
                format!("text truncated at byte {cut}"),
                None,
            )
        }
        1 => {
            // A duplicated key: JSON parsers keep the last one silently
            // unless told not to; it must be an error.
            let t = if json {
                text.replacen('{', "{\n  \"name\": \"a\",\n  \"name\": \"b\",", 1)
            } else {
                let rest = text.replace("name = \"", "description = \"");
                format!("name = \"a\"\nname = \"b\"\n{rest}")
            };
            let note = "a duplicated key `name`".to_string();
            (Input::Text { json, text: t }, note, reject("name"))
        }
        2 => {
            let tok = *g.pick(&[
                "nan", "inf", "-inf", "NaN", "Infinity", "1e400", "-0", "0x10", "1_000",
            ]);
            let t = replace_a_number(g, &text, tok);
            (
                Input::Text { json, text: t },
                format!("a number replaced by `{tok}`"),
                None,
            )
        }
        3 => {
            let depth = *g.pick(&[100usize, 1_000, 100_000]);
            let t = text.replacen(
                "1",
                &format!("{}1{}", "[".repeat(depth), "]".repeat(depth)),
                1,
            );
            (
                Input::Text { json, text: t },
                format!("a value nested {depth} arrays deep"),
                None,
            )
        }
        4 => {
            let byte = *g.pick(&["\u{0}", "\u{feff}", "\"", "{", "}", "=", "\n[nodes]\n", "é"]);
            let mut t = text.clone();
            let at = g.index(t.len().max(1));
            let at = (0..=at).rev().find(|i| t.is_char_boundary(*i)).unwrap_or(0);
            t.insert_str(at, byte);
            (
                Input::Text { json, text: t },
                format!("{byte:?} inserted at byte {at}"),
                None,
            )
        }
        5 => {
            let t = if json {
                "{}".to_string()
            } else {
                String::new()
            };
            (
                Input::Text { json, text: t },
                "an empty document".into(),
                reject("version"),
            )
        }
        _ => {
            let mut d = doc.clone();
            if let Some(m) = d.as_object_mut() {
                m.remove("nodes");
            }
            let t = if json {
                d.to_string()
            } else {
                toml::to_string(&d).unwrap_or_default()
            };
            (
                Input::Text { json, text: t },
                "a document without nodes".into(),
                reject("nodes"),
            )
        }
    }
}

fn replace_a_number(g: &mut Gen, text: &str, tok: &str) -> String {
    let spots: Vec<usize> = text
        .match_indices(" = ")
        .chain(text.match_indices(": "))
        .map(|(i, m)| i + m.len())
        .filter(|i| text[*i..].starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    if spots.is_empty() {
        return text.to_string();
    }
    let at = spots[g.index(spots.len())];
    let end = text[at..]
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-' || c == '+'))
        .map_or(text.len(), |e| at + e);
    format!("{}{tok}{}", &text[..at], &text[end..])
}

/// `ScenarioDoc::set` edits: paths into the document (in both index
/// spellings), paths that cannot exist, and values of every JSON type.
pub fn set_case(g: &mut Gen, doc: &Value) -> (Input, String) {
    let all = mutate::paths(doc);
    let n = g.int(1, 3);
    let mut sets = Vec::new();
    for _ in 0..n {
        let path = match g.int(0, 3) {
            0 | 1 => {
                let p = path_string(&all[g.index(all.len())]);
                if g.chance(0.3) {
                    p.replace('[', ".").replace(']', "")
                } else {
                    p
                }
            }
            _ => g
                .pick(&[
                    "",
                    ".",
                    "nodes..x",
                    "nodes.api.steps[",
                    "nodes.api.steps[0",
                    "nodes[0]",
                    "steps[-1]",
                    "[0]",
                    "nodes.x.y.z.w",
                    "duration_s.x",
                    "faults[99].at_s",
                    "nodes.api.steps[1]x",
                    "a.b[0][1].c",
                    "nodes.api.steps[18446744073709551616]",
                ])
                .to_string(),
        };
        let raw = g
            .pick(&[
                "12",
                "-1",
                "0",
                "1e300",
                "null",
                "true",
                "\"x\"",
                "x",
                "[1,2]",
                "{\"a\":1}",
                "{",
                "sticky",
                "{\"dist\":\"constant\",\"value_s\":0}",
                "",
                "NaN",
            ])
            .to_string();
        sets.push((path, raw));
    }
    let note = sets
        .iter()
        .map(|(p, v)| format!("--set '{p}={v}'"))
        .collect::<Vec<_>>()
        .join(" ");
    (
        Input::Sets {
            doc: doc.clone(),
            sets,
        },
        note,
    )
}
