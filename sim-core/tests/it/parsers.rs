//! Property-based tests of the parsers (proptest): scenario text (TOML and
//! JSON), `ScenarioDoc::set` paths and values, and lesson files. Whatever
//! the input, they return a value or an error with a message, never a
//! panic; what they accept reads back unchanged. The swarm tester
//! (`cargo xtask fuzz`) runs whole scenarios; these stay at the parsers and
//! run in seconds. Failing inputs proptest finds are kept in
//! `proptest-regressions/it/parsers.txt` and replayed first.

use crate::support::{all_lessons, asset, repo_root};
use proptest::prelude::*;
use serde_json::{json, Value};
use sim_core::lesson::{Lesson, State};
use sim_core::{Format, Scenario, ScenarioDoc};

/// Every shipped scenario's text.
fn shipped() -> Vec<String> {
    let dir = repo_root().join("assets/scenarios");
    let mut names: Vec<String> = [
        "mm1.toml",
        "mmc.toml",
        "md1.toml",
        "mm1k.toml",
        "chain.toml",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut cat: Vec<String> = std::fs::read_dir(dir.join("catalogue"))
        .unwrap()
        .map(|e| format!("catalogue/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    cat.sort();
    names.extend(cat);
    names.iter().map(|n| asset(n)).collect()
}

/// Tokens that break text in interesting ways when inserted.
const TOKENS: [&str; 16] = [
    "",
    "\"",
    "[",
    "]",
    "{",
    "}",
    "=",
    ",",
    "\n",
    "nan",
    "inf",
    "-1",
    "1e400",
    "\u{0}",
    "[[nodes]]",
    "18446744073709551616",
];

/// Inserts `tok` at byte `at` (rounded down to a character boundary).
fn insert(text: &str, at: usize, tok: &str) -> String {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    format!("{}{tok}{}", &text[..at], &text[at..])
}

/// An error must say something.
fn said_something(e: &sim_core::ScenarioError) -> bool {
    !e.message.trim().is_empty() && !e.to_string().trim().is_empty()
}

/// A small valid document: a source and a service with drawn numbers.
fn small_doc() -> impl Strategy<Value = Value> {
    (
        1u32..200,
        0.01f64..5000.0,
        1e-6f64..10.0,
        prop_oneof![Just("exponential"), Just("constant"), Just("lognormal")],
        proptest::option::of(0u64..10_000),
        proptest::option::of(1e-3f64..100.0),
        any::<bool>(),
    )
        .prop_map(|(workers, rate, mean, dist, cap, timeout, lifo)| {
            let service = match dist {
                "constant" => json!({ "dist": "constant", "value_s": mean }),
                "lognormal" => json!({ "dist": "lognormal", "mean_s": mean, "cv": 1.5 }),
                _ => json!({ "dist": "exponential", "mean_s": mean }),
            };
            let mut api = json!({ "kind": "service", "workers": workers, "service": service });
            if let Some(c) = cap {
                api["queue"] = json!({ "capacity": c, "discipline": if lifo { "lifo" } else { "fifo" } });
            }
            let mut src = json!({ "kind": "source", "target": "api",
                "arrival": { "process": "poisson", "rate": rate } });
            if let Some(t) = timeout {
                src["timeout_s"] = json!(t);
            }
            json!({ "version": 1, "name": "prop", "duration_s": 60, "nodes": { "api": api, "src": src } })
        })
}

/// Path segments: names, indices in both spellings, and broken pieces.
fn path() -> impl Strategy<Value = String> {
    let seg = prop_oneof![
        Just("nodes".to_string()),
        Just("api".to_string()),
        Just("clients".to_string()),
        Just("server".to_string()),
        Just("steps".to_string()),
        Just("workers".to_string()),
        Just("arrival".to_string()),
        Just("queue".to_string()),
        (0usize..4).prop_map(|i| i.to_string()),
        (0usize..4).prop_map(|i| format!("steps[{i}]")),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(String::new()),
        "[a-z_\\[\\]0-9-]{0,8}",
    ];
    proptest::collection::vec(seg, 1..6).prop_map(|v| v.join("."))
}

fn raw_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("12".to_string()),
        Just("-1".to_string()),
        Just("1e300".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("[1,2]".to_string()),
        Just("{\"a\":1}".to_string()),
        Just("{".to_string()),
        Just("sticky".to_string()),
        ".{0,12}",
    ]
}

/// `set` then `get` gives back the value `set` read from `raw`.
fn parsed(raw: &str) -> Value {
    serde_json::from_str(raw.trim()).unwrap_or_else(|_| Value::String(raw.to_string()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_gets_a_scenario_or_an_error(text in ".{0,300}") {
        for r in [Scenario::from_toml_str(&text), Scenario::from_json_str(&text), Scenario::from_str_any(&text)] {
            if let Err(e) = r {
                prop_assert!(said_something(&e), "empty error for {text:?}");
            }
        }
    }

    #[test]
    fn shipped_scenarios_with_a_token_inserted(i in 0usize..64, at in any::<usize>(), t in 0usize..TOKENS.len()) {
        let all = shipped();
        let text = insert(&all[i % all.len()], at, TOKENS[t]);
        match Scenario::from_toml_str(&text) {
            Ok(sc) => prop_assert!(sc.validate().is_ok()),
            Err(e) => prop_assert!(said_something(&e)),
        }
    }

    #[test]
    fn accepted_documents_read_back_unchanged(doc in small_doc()) {
        let sc = Scenario::from_value(&doc).expect("the strategy writes valid documents");
        prop_assert_eq!(&sc.to_doc().build().unwrap(), &sc);
        prop_assert_eq!(&Scenario::from_toml_str(&sc.to_toml()).unwrap(), &sc);
    }

    #[test]
    fn set_paths_either_apply_or_name_the_path(p in path(), raw in raw_value(), i in 0usize..64) {
        let all = shipped();
        let mut doc = ScenarioDoc::parse(&all[i % all.len()], Format::Toml).unwrap();
        match doc.set(&p, &raw) {
            Ok(()) => {
                // `null` removes the field; anything else is read back.
                let want = parsed(&raw);
                let got = doc.get(&p);
                if want.is_null() {
                    prop_assert_eq!(got, None, "set {}=null then get", p);
                } else {
                    prop_assert_eq!(got, Some(&want), "set {}={} then get", p, raw);
                }
                if let Err(e) = doc.build() {
                    prop_assert!(said_something(&e));
                }
            }
            Err(e) => prop_assert!(said_something(&e)),
        }
    }

    #[test]
    fn lesson_files_with_a_token_inserted(i in 0usize..64, at in any::<usize>(), t in 0usize..TOKENS.len()) {
        let lessons = lesson_texts();
        let (text, file) = &lessons[i % lessons.len()];
        let text = insert(text, at, TOKENS[t]);
        match Lesson::from_toml_str(&text) {
            Ok(l) => {
                for st in [State::Mistake, State::Fix] {
                    if let Err(e) = l.scenario(st, file.as_deref()) {
                        prop_assert!(said_something(&e));
                    }
                }
            }
            Err(e) => prop_assert!(said_something(&e)),
        }
    }
}

/// Every lesson file's text, with its scenario file's text.
fn lesson_texts() -> Vec<(String, Option<String>)> {
    let dir = repo_root().join("assets/lessons");
    all_lessons()
        .into_iter()
        .map(|(l, file)| {
            let text = std::fs::read_to_string(dir.join(format!("{}.toml", l.id))).unwrap();
            (text, file)
        })
        .collect()
}
