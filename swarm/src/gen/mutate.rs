//! Mutations of scenario documents: parameter edits that keep the topology
//! (what a live reconfiguration applies), and invalid edits (bad numbers,
//! wrong types, deleted and unknown fields, unknown kinds, dangling names),
//! each with the path its error must name.

use crate::case::Expect;
use crate::rng::Gen;
use serde_json::{json, Value};

/// One segment of a path into a document.
#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// The dotted path of `segs` as errors print it: `nodes.api.steps[1].call`.
pub fn path_string(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Every value in the document with its path (depth first, the root left
/// out).
pub fn paths(doc: &Value) -> Vec<Vec<Seg>> {
    fn walk(v: &Value, at: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    at.push(Seg::Key(k.clone()));
                    out.push(at.clone());
                    walk(x, at, out);
                    at.pop();
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    at.push(Seg::Index(i));
                    out.push(at.clone());
                    walk(x, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut Vec::new(), &mut out);
    out
}

pub fn get_mut<'a>(doc: &'a mut Value, segs: &[Seg]) -> Option<&'a mut Value> {
    let mut cur = doc;
    for seg in segs {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

pub fn get<'a>(doc: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    let mut cur = doc;
    for seg in segs {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn last_key(segs: &[Seg]) -> &str {
    segs.iter()
        .rev()
        .find_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
        .unwrap_or("")
}

/// Keys whose values stay probabilities when scaled down.
const PROBS: [&str; 8] = [
    "p_slow",
    "error_rate",
    "poison_rate",
    "failure_ratio",
    "zipf",
    "ttl_jitter",
    "fraction",
    "steal",
];
/// Keys that must not change for the edit to stay live-applicable or valid.
const FROZEN: [&str; 6] = ["version", "p", "at_s", "min", "window_s", "max_windows"];

/// An edited copy of `doc` with the same topology: some numbers scaled,
/// some switches flipped, some enum values changed. Most edits are legal
/// live; some are not (the reconfiguration must then fail with a path and
/// change nothing).
pub fn reconfigure(g: &mut Gen, doc: &Value) -> Value {
    let mut out = doc.clone();
    let all = paths(doc);
    let edits = g.int(1, 4);
    for _ in 0..edits {
        let segs = &all[g.index(all.len())];
        let key = last_key(segs).to_string();
        let Some(v) = get_mut(&mut out, segs) else {
            continue;
        };
        match v {
            Value::Number(n) if !FROZEN.contains(&key.as_str()) && !segs.is_empty() => {
                let x = n.as_f64().unwrap_or(0.0);
                *v = if PROBS.contains(&key.as_str()) {
                    json!(Gen::round3(x * g.uniform(0.0, 1.0)))
                } else if n.is_u64() {
                    let f = g.log_uniform(0.25, 4.0);
                    json!(((x * f).round() as u64).max(x.min(1.0) as u64))
                } else {
                    json!(Gen::round3(x * g.log_uniform(0.25, 4.0)))
                };
            }
            Value::Bool(b) if key != "per_user" || g.chance(0.5) => *b = !*b,
            // A node's own kind cannot change live; a query's kind can.
            Value::String(s) if key != "kind" || segs.len() > 3 => {
                if let Some(alt) = enum_alternative(g, &key, s) {
                    *s = alt;
                }
            }
            _ => {}
        }
    }
    out
}

/// Another value of the same enum-valued field, when `key` names one.
fn enum_alternative(g: &mut Gen, key: &str, now: &str) -> Option<String> {
    let choices: &[&str] = match key {
        "policy" if now == "lru" || now == "fifo" => &["lru", "fifo"],
        "balance" | "policy" => &[
            "round_robin",
            "random",
            "least_connections",
            "power_of_two",
            "sticky",
        ],
        "discipline" => &["fifo", "lifo"],
        "model" => &["threads", "event_loop"],
        "jitter" => &["none", "full", "equal", "decorrelated"],
        "overflow" => &["reject", "drop", "block"],
        "kind" => &["pk", "indexed", "scan"],
        "invalidate" => &["none", "delete"],
        "on_partition" => &["available", "consistent"],
        "shape" => &["step", "linear"],
        _ => return None,
    };
    Some(g.pick(choices).to_string())
}

/// Keys whose string value names another node, table, pool or endpoint.
const REFERENCES: [&str; 9] = [
    "to", "target", "db", "cache", "broker", "table", "pool", "endpoint", "peer",
];
/// Keys whose string value is a closed set of words.
const ENUMS: [&str; 14] = [
    "kind",
    "dist",
    "process",
    "algorithm",
    "balance",
    "policy",
    "discipline",
    "model",
    "jitter",
    "overflow",
    "invalidate",
    "on_partition",
    "shape",
    "metric",
];

/// Bad numbers: out of range, not finite (JSON has no NaN: it becomes
/// null), too large for any integer type, fractional counts.
fn bad_number(g: &mut Gen) -> (Value, &'static str) {
    match g.int(0, 10) {
        0 => (json!(0), "0"),
        1 => (json!(-1), "-1"),
        2 => (json!(-1e300), "-1e300"),
        3 => (json!(1e300), "1e300"),
        4 => (json!(1e-300), "1e-300"),
        5 => (Value::Null, "NaN (null in JSON)"),
        6 => (json!(1.5), "1.5"),
        7 => (json!(u64::MAX), "u64::MAX"),
        8 => (json!(i64::MIN), "i64::MIN"),
        9 => (json!(1e20), "1e20"),
        _ => (json!(4_294_967_296u64), "2^32"),
    }
}

/// One invalid edit of `doc`: the edited document, what was done, and
/// where the error must point (None when the error may point anywhere, as
/// for a deleted node).
pub fn invalid(g: &mut Gen, doc: &Value) -> (Value, String, Option<Expect>) {
    let mut out = doc.clone();
    let all = paths(doc);
    for _ in 0..20 {
        let segs = all[g.index(all.len())].clone();
        let key = last_key(&segs).to_string();
        let path = path_string(&segs);
        let cur = get(doc, &segs).cloned().unwrap_or(Value::Null);
        let expect = |exact, must_reject| {
            Some(Expect {
                path: path.clone(),
                exact,
                must_reject,
            })
        };
        let slot = get_mut(&mut out, &segs).expect("path exists");
        match (g.int(0, 5), &cur) {
            (0, Value::Number(_)) => {
                let (v, what) = bad_number(g);
                *slot = v;
                let exact = what.starts_with("NaN");
                return (out, format!("{path} = {what}"), expect(exact, false));
            }
            (1, Value::Number(_) | Value::String(_) | Value::Bool(_)) => {
                let (v, what) = wrong_type(g, &cur);
                *slot = v;
                return (
                    out,
                    format!("{path} = {what} (wrong type)"),
                    expect(true, true),
                );
            }
            (2, Value::String(_)) if REFERENCES.contains(&key.as_str()) && !spike(doc, &segs) => {
                *slot = json!("nope");
                return (
                    out,
                    format!("{path} = \"nope\" (dangling)"),
                    expect(true, true),
                );
            }
            (3, Value::String(_)) if ENUMS.contains(&key.as_str()) => {
                let (v, what) = g
                    .pick(&[
                        (json!("bogus"), "\"bogus\""),
                        (json!(5), "5"),
                        (json!(""), "\"\""),
                        (json!(true), "true"),
                    ])
                    .clone();
                *slot = v;
                return (
                    out,
                    format!("{path} = {what} (unknown kind)"),
                    expect(true, true),
                );
            }
            (4, Value::Object(_)) => {
                // The table holding an unknown field is what is wrong.
                slot.as_object_mut()
                    .unwrap()
                    .insert("bogus_field".into(), json!(1));
                let what = format!("{path}.bogus_field = 1 (unknown field)");
                return (out, what, expect(true, true));
            }
            (5, _) => {
                let Some((Seg::Key(k), parent)) = segs.split_last() else {
                    continue;
                };
                let Some(Value::Object(m)) = get_mut(&mut out, parent) else {
                    continue;
                };
                m.remove(k);
                // A deleted field may be named elsewhere (a table a query
                // reads): the error may point anywhere.
                return (out, format!("{path} deleted"), None);
            }
            _ => {}
        }
    }
    (out, "no edit".into(), None)
}

/// A spike fault may name any target, even no node.
fn spike(doc: &Value, segs: &[Seg]) -> bool {
    segs.len() == 3
        && matches!(&segs[0], Seg::Key(k) if k == "faults")
        && get(doc, &segs[..2]).and_then(|f| f.get("kind")) == Some(&json!("spike"))
}

fn wrong_type(g: &mut Gen, cur: &Value) -> (Value, &'static str) {
    let options: &[(Value, &'static str)] = &match cur {
        Value::Number(_) => [
            (json!("12"), "\"12\""),
            (json!(true), "true"),
            (json!([1]), "[1]"),
            (json!({ "a": 1 }), "{ a = 1 }"),
        ],
        Value::String(_) => [
            (json!(7), "7"),
            (json!(false), "false"),
            (json!(["x"]), "[\"x\"]"),
            (json!({ "a": 1 }), "{ a = 1 }"),
        ],
        _ => [
            (json!("yes"), "\"yes\""),
            (json!(1), "1"),
            (json!([true]), "[true]"),
            (json!({ "a": 1 }), "{ a = 1 }"),
        ],
    };
    g.pick(options).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_errors() {
        let doc = json!({ "nodes": { "api": { "steps": [ { "call": { "to": "db" } } ] } } });
        let ps: Vec<String> = paths(&doc).iter().map(|p| path_string(p)).collect();
        assert!(
            ps.contains(&"nodes.api.steps[0].call.to".to_string()),
            "{ps:?}"
        );
    }

    #[test]
    fn reconfigure_keeps_the_topology() {
        let doc = json!({ "version": 1, "nodes": { "a": { "kind": "service", "workers": 4 } } });
        for s in 0..50 {
            let out = reconfigure(&mut Gen::new(s), &doc);
            assert_eq!(out["nodes"]["a"]["kind"], "service");
            assert_eq!(out["version"], 1);
        }
    }
}
