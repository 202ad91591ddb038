//! Finding the field a typing error is really about.
//!
//! serde keeps an error's path through ordinary structs, maps and lists, but
//! not into a `#[serde(flatten)]` field (the call policy of calls, queries,
//! publishes and sources; a fault's action) nor into an internally tagged
//! enum (`dist`, `process`, `algorithm`, a fault's `kind`) or a value with a
//! hand-written `Deserialize` (`Count`): there the error stops one or two
//! levels up (`nodes.src: invalid type: sequence, expected u32` for
//! `nodes.src.breaker.window`). [`typed`] then walks down from where the
//! error stopped: it takes out one child at a time and types the value
//! again; the child whose removal makes that error go away holds the fault.
//! Only errors pay for this, and the walk is bounded ([`MAX_TRIALS`]).

use super::doc::ScenarioError;
use super::read::{path_err, TAGS};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Typings the walk may try for one error (each types the value once).
const MAX_TRIALS: usize = 256;

/// One step of a path inside a value.
#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Types `v` as `T`; an error names the field at fault, under `prefix`.
pub(crate) fn typed<T: DeserializeOwned>(prefix: &str, v: &Value) -> Result<T, ScenarioError> {
    let e = match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    let start = segments(e.path());
    let (where_, message) = (e.path().to_string(), e.inner().to_string());
    let first = path_err(prefix, e);
    let Some(start) = start else {
        return Err(first);
    };
    let found = walk_down::<T>(v, start.clone(), &where_, &message);
    if found == start {
        return Err(first);
    }
    Err(at(prefix, &found, &message))
}

/// serde_path_to_error's path as steps (`None` if it has a step we cannot
/// follow, such as an enum variant).
fn segments(p: &serde_path_to_error::Path) -> Option<Vec<Seg>> {
    use serde_path_to_error::Segment;
    p.iter()
        .map(|s| match s {
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            Segment::Seq { index } => Some(Seg::Index(*index)),
            // An externally tagged enum is `{ variant = ... }`: a key.
            Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// From `start`, moves into the child that holds the fault, while one does.
///
/// A child holds it if taking it out makes the error go away (or become a
/// different one that is not just "missing field `child`"). Taking out a
/// required field always gives that "missing" error, whether or not it held
/// the fault (serde checks the fields it lacks before a flattened part), so
/// such a child is chosen only if it holds a value the message names.
fn walk_down<T: DeserializeOwned>(
    root: &Value,
    start: Vec<Seg>,
    where_: &str,
    message: &str,
) -> Vec<Seg> {
    let about_variant = message.contains("variant");
    let wanted = Wanted::from_message(message);
    // One working copy: each trial takes a child out and puts it back.
    let mut work = root.clone();
    let mut cur = start;
    let mut trials = 0;
    'down: loop {
        let Some(here) = get(root, &cur) else {
            return cur;
        };
        let mut named = Vec::new();
        for child in children(here) {
            // Taking out a variant's tag only says "missing tag": tags are
            // tried only when the error is about a variant.
            if matches!(&child, Seg::Key(k) if TAGS.contains(&k.as_str()) && !about_variant) {
                continue;
            }
            if about_variant && wanted.names_key(&child) {
                // An enum written as a table, `{ bogus = ... }`: the table
                // is the value at fault.
                return cur;
            }
            if trials == MAX_TRIALS {
                return cur;
            }
            trials += 1;
            let mut path = cur.clone();
            path.push(child.clone());
            let Some(taken) = take(&mut work, &path) else {
                continue;
            };
            let outcome = serde_path_to_error::deserialize::<_, T>(&work)
                .err()
                .map(|e| {
                    let m = e.inner().to_string();
                    (e.path().to_string() == where_ && m == message, m)
                });
            put(&mut work, &path, taken);
            let holds = match &outcome {
                None => true,
                Some((true, _)) => false,
                Some((false, m)) => !is_missing(m, &child),
            };
            if holds {
                cur = path;
                continue 'down;
            }
            let value = get(root, &path);
            if outcome.is_some_and(|(same, _)| !same)
                && value.is_some_and(|v| wanted.within(&child, v))
            {
                named.push(path);
            }
        }
        match named.len() {
            1 => cur = named.pop().expect("one"),
            _ => return cur,
        }
    }
}

/// The error says the field `child` is missing.
fn is_missing(message: &str, child: &Seg) -> bool {
    match child {
        Seg::Key(k) => message == format!("missing field `{k}`"),
        Seg::Index(_) => false,
    }
}

/// What an error message says was written.
enum Wanted {
    Value(Value),
    Null,
    List,
    Table,
    Key(String),
    Nothing,
}

impl Wanted {
    fn from_message(m: &str) -> Wanted {
        let quoted = |s: &str, open: char, close: char| {
            let s = s.strip_prefix(open)?;
            Some(s[..s.find(close)?].to_string())
        };
        let body = m
            .strip_prefix("invalid type: ")
            .or_else(|| m.strip_prefix("invalid value: "));
        if let Some(b) = body {
            let b = b.split(", expected").next().unwrap_or(b);
            if let Some(s) = b.strip_prefix("string ").and_then(|s| quoted(s, '"', '"')) {
                return Wanted::Value(Value::String(s));
            }
            for p in ["boolean ", "integer ", "floating point "] {
                if let Some(x) = b.strip_prefix(p).and_then(|s| quoted(s, '`', '`')) {
                    return serde_json::from_str(&x).map_or(Wanted::Nothing, Wanted::Value);
                }
            }
            return match b {
                "null" => Wanted::Null,
                "sequence" => Wanted::List,
                "map" => Wanted::Table,
                _ => Wanted::Nothing,
            };
        }
        if m.starts_with("invalid length") {
            return Wanted::List;
        }
        if let Some(v) = m
            .strip_prefix("unknown variant ")
            .and_then(|s| quoted(s, '`', '`'))
        {
            return Wanted::Value(Value::String(v));
        }
        if let Some(k) = m
            .strip_prefix("unknown field ")
            .and_then(|s| quoted(s, '`', '`'))
        {
            return Wanted::Key(k);
        }
        Wanted::Nothing
    }

    /// The message names the key `k` (an unknown variant written as a key).
    fn names_key(&self, k: &Seg) -> bool {
        matches!((self, k), (Wanted::Value(Value::String(x)), Seg::Key(k)) if x == k)
    }

    /// `v` (found under `key`) is, or holds, what the message names.
    fn within(&self, key: &Seg, v: &Value) -> bool {
        let here = match self {
            Wanted::Value(x) => match (x, v) {
                (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                _ => x == v,
            },
            Wanted::Null => v.is_null(),
            Wanted::List => v.is_array(),
            Wanted::Table => v.is_object(),
            Wanted::Key(k) => matches!(key, Seg::Key(x) if x == k),
            Wanted::Nothing => false,
        };
        here || self.names_key(key)
            || children(v).into_iter().any(|c| {
                let next = match &c {
                    Seg::Key(k) => &v[k.as_str()],
                    Seg::Index(i) => &v[*i],
                };
                self.within(&c, next)
            })
    }
}

fn children(v: &Value) -> Vec<Seg> {
    match v {
        Value::Object(m) => m.keys().map(|k| Seg::Key(k.clone())).collect(),
        Value::Array(a) => (0..a.len()).map(Seg::Index).collect(),
        _ => Vec::new(),
    }
}

fn get<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, s| match s {
        Seg::Key(k) => v.get(k.as_str()),
        Seg::Index(i) => v.get(*i),
    })
}

/// The parent of `path`'s last step, and that step.
fn parent_mut<'a>(v: &'a mut Value, path: &'a [Seg]) -> Option<(&'a mut Value, &'a Seg)> {
    let (last, parent) = path.split_last()?;
    let mut cur = v;
    for s in parent {
        cur = match s {
            Seg::Key(k) => cur.get_mut(k.as_str())?,
            Seg::Index(i) => cur.get_mut(*i)?,
        };
    }
    Some((cur, last))
}

/// Takes the value at `path` out (a list closes up behind it).
fn take(v: &mut Value, path: &[Seg]) -> Option<Value> {
    match parent_mut(v, path)? {
        (Value::Object(m), Seg::Key(k)) => m.remove(k),
        (Value::Array(a), Seg::Index(i)) if *i < a.len() => Some(a.remove(*i)),
        _ => None,
    }
}

/// Puts back what [`take`] took (maps are sorted, so the order is kept).
fn put(v: &mut Value, path: &[Seg], x: Value) {
    match parent_mut(v, path) {
        Some((Value::Object(m), Seg::Key(k))) => {
            m.insert(k.clone(), x);
        }
        Some((Value::Array(a), Seg::Index(i))) => a.insert(*i, x),
        _ => {}
    }
}

/// The error at `found`: an unknown field is reported at the table that
/// holds it (as serde does), a missing one at the field itself.
fn at(prefix: &str, found: &[Seg], message: &str) -> ScenarioError {
    let unknown_field = message.starts_with("unknown field");
    let keep = if unknown_field {
        found.len().saturating_sub(1)
    } else {
        found.len()
    };
    let mut path = prefix.to_string();
    for s in &found[..keep] {
        match s {
            Seg::Key(k) if path.is_empty() => path.push_str(k),
            Seg::Key(k) => {
                path.push('.');
                path.push_str(k);
            }
            Seg::Index(i) => path.push_str(&format!("[{i}]")),
        }
    }
    match message
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        Some(field) if path.is_empty() => ScenarioError::new(field, "missing (required)"),
        Some(field) => ScenarioError::new(format!("{path}.{field}"), "missing (required)"),
        None => ScenarioError::new(path, message),
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;

    /// A source calling `api`, whose step is `step` (JSON).
    fn with_step(step: &str) -> String {
        format!(
            r#"{{"version": 1, "name": "t", "duration_s": 1,
              "nodes": {{
                "src": {{"kind": "source", "target": "api",
                         "arrival": {{"process": "poisson", "rate": 1}}}},
                "api": {{"kind": "service", "steps": [{step}]}},
                "dep": {{"kind": "external",
                         "latency": {{"dist": "constant", "value_s": 0.01}}}}}}}}"#
        )
    }

    fn error(json: &str) -> (String, String) {
        let e = Scenario::from_json_str(json).unwrap_err();
        (e.path, e.message)
    }

    #[test]
    fn errors_inside_a_flattened_call_policy_name_the_field() {
        // `hop` and `breaker` are flattened into the call step: serde alone
        // stops at `...call`.
        let (path, msg) = error(&with_step(
            r#"{"call": {"to": "dep", "hop": {"dist": "constant", "value_s": [1]}}}"#,
        ));
        assert_eq!(path, "nodes.api.steps[0].call.hop.value_s");
        assert!(msg.contains("invalid type: sequence"), "{msg}");
        let (path, _) = error(&with_step(
            r#"{"call": {"to": "dep", "breaker": {"window": [3]}}}"#,
        ));
        assert_eq!(path, "nodes.api.steps[0].call.breaker.window");
        let (path, msg) = error(&with_step(
            r#"{"call": {"to": "dep", "retries": {"max": 2, "bogus": 1}}}"#,
        ));
        assert_eq!(path, "nodes.api.steps[0].call.retries");
        assert!(msg.contains("unknown field `bogus`"), "{msg}");
    }

    #[test]
    fn errors_inside_a_tagged_value_name_the_field_or_the_tag() {
        let (path, _) = error(&with_step(
            r#"{"compute": {"dist": "exponential", "mean_s": "12"}}"#,
        ));
        assert_eq!(path, "nodes.api.steps[0].compute.mean_s");
        let (path, msg) = error(&with_step(
            r#"{"call": {"to": "dep", "hop": {"dist": "bogus", "value_s": 1}}}"#,
        ));
        assert_eq!(path, "nodes.api.steps[0].call.hop.dist");
        assert!(msg.contains("unknown variant `bogus`"), "{msg}");
        // A required field missing inside a tagged value.
        let (path, msg) = error(&with_step(
            r#"{"call": {"to": "dep", "hop": {"dist": "constant"}}}"#,
        ));
        assert_eq!(path, "nodes.api.steps[0].call.hop.value_s");
        assert_eq!(msg, "missing (required)");
    }

    #[test]
    fn an_enum_written_as_an_unknown_table_is_named() {
        let (path, msg) = error(&with_step(
            r#"{"call": {"to": "dep", "retries": {"max": 2, "backoff": {"base_s": 0.1, "max_s": 1, "jitter": {"a": 1}}}}}"#,
        ));
        assert_eq!(path, "nodes.api.steps[0].call.retries.backoff.jitter");
        assert!(msg.contains("unknown variant `a`"), "{msg}");
    }

    #[test]
    fn a_fault_kind_error_names_the_kind() {
        let json = with_step(r#"{"call": {"to": "dep"}}"#).replacen(
            r#""nodes""#,
            r#""faults": [{"at_s": 0.1, "duration_s": 0.1, "target": "api", "kind": "bogus"}], "nodes""#,
            1,
        );
        let (path, msg) = error(&json);
        assert_eq!(path, "faults[0].kind");
        assert!(msg.contains("unknown variant `bogus`"), "{msg}");
    }
}
