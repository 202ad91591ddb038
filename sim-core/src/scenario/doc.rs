//! The scenario as a generic document ([`ScenarioDoc`], a JSON value) and
//! the one kind of change made to it ([`Edit`]: set a field, or remove it).
//!
//! Everything that changes a scenario speaks in edits by dotted path: the
//! CLI's `--set`, a lesson's toggle, the page's sliders, inspector and
//! topology editor. A path is `nodes.api.workers`, and list items are
//! numbered from 0 as `steps[1]` or `steps.1`. JSON `null` means "absent":
//! setting a field to null removes it (TOML has no null, so a document never
//! holds one).
//!
//! Bad input gets a [`ScenarioError`] naming the path, never a panic: texts
//! larger than [`MAX_TEXT_BYTES`], documents nested deeper than
//! [`MAX_DEPTH`] and paths longer than [`MAX_PATH_SEGMENTS`] are refused.

use super::strict;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The most text a scenario may have (the largest shipped one is ~10 kB).
pub const MAX_TEXT_BYTES: usize = 4 * 1024 * 1024;
/// The deepest nesting of tables and lists a document may have.
pub const MAX_DEPTH: usize = 48;
/// The most segments a path may have.
pub const MAX_PATH_SEGMENTS: usize = 48;

/// An error in a scenario document: the dotted path of the field and what is
/// wrong with it.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioError {
    pub path: String,
    pub message: String,
}

impl ScenarioError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error under `prefix` (`toggle`, `scenario`): `prefix.path`.
    pub fn under(self, prefix: &str) -> Self {
        let path = match (prefix.is_empty(), self.path.is_empty()) {
            (true, _) => self.path,
            (false, true) => prefix.to_string(),
            (false, false) => format!("{prefix}.{}", self.path),
        };
        ScenarioError { path, ..self }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

/// The text format of a scenario document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    /// Guesses the format from the text: JSON documents start with `{`.
    pub fn sniff(text: &str) -> Format {
        if text.trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Toml
        }
    }
}

/// One change to a scenario document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Edit {
    /// Set the field at `path` to `value` (missing tables are created).
    Set { path: String, value: Value },
    /// Make the field at `path` absent (nothing to do if it is).
    Remove { path: String },
}

impl Edit {
    /// Sets `path` to `value`; a `null` value removes the field.
    pub fn set(path: impl Into<String>, value: Value) -> Edit {
        let path = path.into();
        if value.is_null() {
            Edit::Remove { path }
        } else {
            Edit::Set { path, value }
        }
    }

    pub fn remove(path: impl Into<String>) -> Edit {
        Edit::Remove { path: path.into() }
    }

    /// Sets `path` to the number `x` (JSON has no NaN or infinity).
    pub fn number(path: impl Into<String>, x: f64) -> Result<Edit, ScenarioError> {
        let path = path.into();
        match serde_json::Number::from_f64(x) {
            Some(n) => Ok(Edit::Set {
                path,
                value: Value::Number(n),
            }),
            None => Err(ScenarioError::new(
                path,
                format!("must be a finite number, got {x}"),
            )),
        }
    }

    /// Reads `PATH=VALUE` (the CLI's `--set`): the value as JSON (number,
    /// bool, quoted string, array, object, `null` to remove the field) or,
    /// failing that, as a bare string.
    pub fn parse(arg: &str) -> Result<Edit, ScenarioError> {
        let (path, raw) = arg.split_once('=').ok_or_else(|| {
            ScenarioError::new(
                "",
                "expected PATH=VALUE, e.g. nodes.api.workers=12 (VALUE null removes the field)",
            )
        })?;
        let path = path.trim();
        split_path(path)?;
        Ok(Edit::set(path, parse_value(raw)))
    }

    pub fn path(&self) -> &str {
        match self {
            Edit::Set { path, .. } | Edit::Remove { path } => path,
        }
    }

    /// The value set (`None`: the field is removed).
    pub fn value(&self) -> Option<&Value> {
        match self {
            Edit::Set { value, .. } => Some(value),
            Edit::Remove { .. } => None,
        }
    }
}

impl fmt::Display for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::Set { path, value } => write!(f, "{path}={value}"),
            Edit::Remove { path } => write!(f, "{path}=null"),
        }
    }
}

/// A scenario document before typing: what edits change.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioDoc(pub Value);

impl ScenarioDoc {
    /// Parses TOML or JSON text; the top level must be a table.
    pub fn parse(text: &str, format: Format) -> Result<Self, ScenarioError> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(ScenarioError::new(
                "",
                format!(
                    "the scenario is {} bytes; at most {MAX_TEXT_BYTES} are read",
                    text.len()
                ),
            ));
        }
        let v: Value = match format {
            Format::Toml => toml::from_str::<toml::Table>(text)
                .map_err(|e| {
                    let mut msg = format!("TOML syntax error: {}", e.message());
                    if let Some(span) = e.span() {
                        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                        msg.push_str(&format!(" (line {line})"));
                    }
                    ScenarioError::new("", msg)
                })
                .and_then(|t| strict::from_toml(toml::Value::Table(t)))?,
            Format::Json => {
                serde_json::from_str::<strict::Json>(text)
                    .map_err(|e| ScenarioError::new("", format!("JSON syntax error: {e}")))?
                    .0
            }
        };
        ScenarioDoc::from_value(v)
    }

    /// Wraps a value; the top level must be a table, nested at most
    /// [`MAX_DEPTH`] deep.
    pub fn from_value(v: Value) -> Result<Self, ScenarioError> {
        if !v.is_object() {
            return Err(ScenarioError::new(
                "",
                "a scenario must be a table/object at the top level",
            ));
        }
        if let Some(path) = too_deep(&v, "", 0) {
            return Err(ScenarioError::new(
                path,
                format!("nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(ScenarioDoc(v))
    }

    /// Sets the field at `path` to `raw`, read as JSON or, failing that, as a
    /// bare string (see [`Edit::parse`]); `null` removes the field.
    pub fn set(&mut self, path: &str, raw: &str) -> Result<(), ScenarioError> {
        self.set_value(path, parse_value(raw))
    }

    /// Sets the field at `path` to `value` (`null` removes it). Missing
    /// intermediate tables are created; a list index must exist.
    pub fn set_value(&mut self, path: &str, value: Value) -> Result<(), ScenarioError> {
        if value.is_null() {
            return self.remove(path);
        }
        if too_deep(&value, path, split_path(path)?.len()).is_some() {
            return Err(ScenarioError::new(
                path,
                format!("nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        let (slot, _) = self.walk(path, true)?;
        *slot.expect("created") = value;
        Ok(())
    }

    /// Makes the field at `path` absent: a table's key is deleted, a list's
    /// item is taken out (the items after it move up). Nothing to do if it
    /// is absent already.
    pub fn remove(&mut self, path: &str) -> Result<(), ScenarioError> {
        let segs = split_path(path)?;
        let (last, parents) = segs.split_last().expect("paths are not empty");
        let parent_path = join_path(parents);
        let parent = if parents.is_empty() {
            Some(&mut self.0)
        } else {
            self.walk(&parent_path, false)?.0
        };
        match parent {
            None => Ok(()),
            Some(Value::Object(m)) => {
                m.remove(last);
                Ok(())
            }
            Some(Value::Array(a)) => {
                let i = index(last, path)?;
                if i < a.len() {
                    a.remove(i);
                }
                Ok(())
            }
            Some(_) => Err(not_a_table(&parent_path)),
        }
    }

    /// Applies one edit.
    pub fn apply(&mut self, edit: &Edit) -> Result<(), ScenarioError> {
        match edit {
            Edit::Set { path, value } => self.set_value(path, value.clone()),
            Edit::Remove { path } => self.remove(path),
        }
    }

    /// Applies `edits` in order, all or nothing.
    pub fn apply_all(&mut self, edits: &[Edit]) -> Result<(), ScenarioError> {
        let mut next = self.clone();
        for e in edits {
            next.apply(e)?;
        }
        *self = next;
        Ok(())
    }

    /// Reads the value at a dotted path, if present.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let segs = split_path(path).ok()?;
        let mut cur = &self.0;
        for seg in segs {
            cur = match cur {
                Value::Object(m) => m.get(&seg)?,
                Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The edits that turn `self` into `other`, field by field: a list
    /// whose length changed is set whole, every other difference at the
    /// deepest path where it shows.
    pub fn diff(&self, other: &ScenarioDoc) -> Vec<Edit> {
        let mut out = Vec::new();
        diff_values(&mut Vec::new(), &self.0, &other.0, &mut out);
        out
    }

    /// The document as TOML text (what the page shows, shares and exports).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(&self.0).unwrap_or_else(|e| format!("# cannot write TOML: {e}\n"))
    }

    /// Walks to `path`. With `create`, missing tables are made on the way
    /// and the slot itself (a table entry, `null` until set) is returned;
    /// without, `None` means the path is absent. Also returns the segments.
    fn walk(
        &mut self,
        path: &str,
        create: bool,
    ) -> Result<(Option<&mut Value>, Vec<String>), ScenarioError> {
        let segs = split_path(path)?;
        let mut cur = &mut self.0;
        for (i, seg) in segs.iter().enumerate() {
            let walked = join_path(&segs[..=i]);
            let last = i + 1 == segs.len();
            cur = match cur {
                Value::Object(m) => {
                    if create {
                        m.entry(seg.clone()).or_insert_with(|| {
                            if last {
                                Value::Null
                            } else {
                                Value::Object(Map::new())
                            }
                        })
                    } else {
                        match m.get_mut(seg) {
                            Some(v) => v,
                            None => return Ok((None, segs)),
                        }
                    }
                }
                Value::Array(a) => {
                    let idx = index(seg, &walked)?;
                    let len = a.len();
                    match a.get_mut(idx) {
                        Some(v) => v,
                        None if create => {
                            return Err(ScenarioError::new(
                                walked,
                                format!("index {idx} out of range (list has {len} items)"),
                            ))
                        }
                        None => return Ok((None, segs)),
                    }
                }
                _ => return Err(not_a_table(&join_path(&segs[..i]))),
            };
        }
        Ok((Some(cur), segs))
    }
}

fn not_a_table(path: &str) -> ScenarioError {
    ScenarioError::new(
        path,
        "is not a table or list: it has no fields to set or remove",
    )
}

fn index(seg: &str, path: &str) -> Result<usize, ScenarioError> {
    seg.parse().map_err(|_| {
        ScenarioError::new(
            path,
            format!("this is a list: expected a numeric index, got {seg:?}"),
        )
    })
}

/// The path of the first value nested deeper than [`MAX_DEPTH`], if any.
fn too_deep(v: &Value, path: &str, depth: usize) -> Option<String> {
    if depth > MAX_DEPTH {
        return Some(path.to_string());
    }
    let child = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::Object(m) => m
            .iter()
            .find_map(|(k, x)| too_deep(x, &child(k), depth + 1)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| too_deep(x, &format!("{path}[{i}]"), depth + 1)),
        _ => None,
    }
}

fn diff_values(at: &mut Vec<String>, a: &Value, b: &Value, out: &mut Vec<Edit>) {
    match (a, b) {
        _ if a == b => {}
        (Value::Number(x), Value::Number(y)) if same_number(x, y) => {}
        (Value::Object(ma), Value::Object(mb)) => {
            for (k, va) in ma {
                at.push(k.clone());
                match mb.get(k) {
                    Some(vb) => diff_values(at, va, vb, out),
                    None => out.push(Edit::remove(join_path(at))),
                }
                at.pop();
            }
            for (k, vb) in mb.iter().filter(|(k, _)| !ma.contains_key(*k)) {
                at.push(k.clone());
                out.push(Edit::set(join_path(at), vb.clone()));
                at.pop();
            }
        }
        (Value::Array(xa), Value::Array(xb)) if xa.len() == xb.len() && !at.is_empty() => {
            for (i, (va, vb)) in xa.iter().zip(xb).enumerate() {
                at.push(i.to_string());
                diff_values(at, va, vb, out);
                at.pop();
            }
        }
        _ => out.push(Edit::set(join_path(at), b.clone())),
    }
}

/// 460 and 460.0 are one number: a document that crossed a boundary which
/// keeps no int/float distinction (JavaScript's numbers, between the page
/// and its worker) still means what it meant. Integers compare exactly.
fn same_number(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    if x.is_f64() || y.is_f64() {
        x.as_f64() == y.as_f64()
    } else {
        x == y
    }
}

fn parse_value(raw: &str) -> Value {
    serde_json::from_str::<Value>(raw.trim()).unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// `nodes.api.steps[1].query` -> `["nodes", "api", "steps", "1", "query"]`;
/// `steps.1` is the same as `steps[1]`.
pub fn split_path(path: &str) -> Result<Vec<String>, ScenarioError> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            let (head, tail) = rest.split_at(open);
            if !head.is_empty() {
                out.push(head.to_string());
            }
            rest = tail;
            while let Some(stripped) = rest.strip_prefix('[') {
                let close = stripped
                    .find(']')
                    .ok_or_else(|| ScenarioError::new(path, "unclosed '[' in path"))?;
                out.push(stripped[..close].to_string());
                rest = &stripped[close + 1..];
            }
            if !rest.is_empty() {
                return Err(ScenarioError::new(
                    path,
                    "unexpected text after ']' in path",
                ));
            }
        } else if part.is_empty() {
            return Err(ScenarioError::new(path, "empty segment in path"));
        } else {
            out.push(part.to_string());
        }
    }
    if out.is_empty() {
        return Err(ScenarioError::new(path, "empty path"));
    }
    if out.len() > MAX_PATH_SEGMENTS {
        return Err(ScenarioError::new(
            path,
            format!("a path has at most {MAX_PATH_SEGMENTS} segments"),
        ));
    }
    Ok(out)
}

/// Segments back to a path, list indices in brackets: `steps[1].call`.
pub fn join_path(segs: &[String]) -> String {
    let mut out = String::new();
    for s in segs {
        if !out.is_empty() && s.parse::<usize>().is_ok() {
            out.push_str(&format!("[{s}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> ScenarioDoc {
        ScenarioDoc::parse(
            r#"
version = 1
[nodes.api]
kind = "service"
timeout = 3
steps = [ { compute = { dist = "constant", value_s = 1.0 } }, { call = { to = "db", timeout_s = 2.0 } } ]
"#,
            Format::Toml,
        )
        .unwrap()
    }

    #[test]
    fn set_creates_tables_and_refuses_what_it_cannot_reach() {
        let mut d = doc();
        d.set("nodes.api.queue.capacity", "5").unwrap();
        assert_eq!(d.get("nodes.api.queue.capacity"), Some(&json!(5)));
        d.set("nodes.api.steps[0].compute.value_s", "2.5").unwrap();
        assert_eq!(
            d.get("nodes.api.steps.0.compute.value_s"),
            Some(&json!(2.5))
        );
        d.set("name", "plain text").unwrap();
        assert_eq!(d.get("name"), Some(&json!("plain text")));
        let e = d.set("nodes.api.steps[3].compute", "{}").unwrap_err();
        assert_eq!(e.path, "nodes.api.steps[3]");
        assert!(e.message.contains("out of range (list has 2 items)"), "{e}");
        let e = d.set("name.x", "1").unwrap_err();
        assert_eq!(e.path, "name");
        let e = d.set("nodes.api.steps.first", "1").unwrap_err();
        assert!(e.message.contains("numeric index"), "{e}");
        assert!(d.set("a..b", "1").is_err());
        assert!(d.set("a[1", "1").is_err());
    }

    #[test]
    fn remove_makes_a_field_absent() {
        let mut d = doc();
        d.remove("nodes.api.steps[1].call.timeout_s").unwrap();
        assert_eq!(d.get("nodes.api.steps[1].call.timeout_s"), None);
        assert_eq!(d.get("nodes.api.steps[1].call.to"), Some(&json!("db")));
        // absent already: nothing to do, wherever the path stops
        d.remove("nodes.api.steps[1].call.timeout_s").unwrap();
        d.remove("nodes.web.workers").unwrap();
        d.remove("nodes.api.steps[7]").unwrap();
        // a list item is taken out
        d.remove("nodes.api.steps[0]").unwrap();
        assert_eq!(d.get("nodes.api.steps[0].call.to"), Some(&json!("db")));
        // null is "absent", by set too
        d.set("nodes.api.timeout", "null").unwrap();
        assert_eq!(d.get("nodes.api.timeout"), None);
        let e = d.remove("nodes.api.kind.x").unwrap_err();
        assert_eq!(e.path, "nodes.api.kind");
        // the document never holds a null, so it always has a TOML text
        assert!(!d.to_toml().contains("null"));
    }

    #[test]
    fn edits_parse_print_and_apply_all_or_nothing() {
        let e = Edit::parse("nodes.api.workers=12").unwrap();
        assert_eq!(e, Edit::set("nodes.api.workers", json!(12)));
        assert_eq!(e.to_string(), "nodes.api.workers=12");
        let e = Edit::parse("nodes.api.steps[1].call.timeout_s=null").unwrap();
        assert_eq!(e, Edit::remove("nodes.api.steps[1].call.timeout_s"));
        assert_eq!(e.to_string(), "nodes.api.steps[1].call.timeout_s=null");
        assert_eq!(
            Edit::parse("nodes.lb.policy=sticky").unwrap().value(),
            Some(&json!("sticky"))
        );
        assert!(Edit::parse("nodes.api.workers").is_err());
        assert!(Edit::parse("=3").is_err());
        assert!(Edit::number("x", f64::NAN).is_err());
        assert!(Edit::number("x", f64::INFINITY).is_err());
        let mut d = doc();
        let before = d.clone();
        let bad = [
            Edit::set("nodes.api.workers", json!(2)),
            Edit::set("nodes.api.kind.x", json!(1)),
        ];
        assert!(d.apply_all(&bad).is_err());
        assert_eq!(d, before, "a failed batch changes nothing");
        // edits travel as JSON between the page and its worker
        for e in &bad {
            let back: Edit = serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap();
            assert_eq!(&back, e);
        }
    }

    #[test]
    fn diff_gives_the_edits_between_two_documents() {
        let a = doc();
        let mut b = a.clone();
        b.set("nodes.api.workers", "4").unwrap();
        b.remove("nodes.api.timeout").unwrap();
        b.set("nodes.api.steps[1].call.timeout_s", "5").unwrap();
        b.set("layout", r#"{"api": {"x": 1, "y": 2}}"#).unwrap();
        let edits = a.diff(&b);
        assert_eq!(
            edits,
            vec![
                Edit::set("nodes.api.steps[1].call.timeout_s", json!(5)),
                Edit::remove("nodes.api.timeout"),
                Edit::set("nodes.api.workers", json!(4)),
                Edit::set("layout", json!({"api": {"x": 1, "y": 2}})),
            ]
        );
        let mut c = a.clone();
        c.apply_all(&edits).unwrap();
        assert_eq!(c, b);
        assert!(a.diff(&a).is_empty());
        // a list that grew is set whole
        let mut g = a.clone();
        g.set(
            "nodes.api.steps",
            r#"[{"compute": {"dist": "constant", "value_s": 1}}]"#,
        )
        .unwrap();
        assert_eq!(a.diff(&g).len(), 1);
        assert_eq!(a.diff(&g)[0].path(), "nodes.api.steps");
    }

    #[test]
    fn a_number_that_lost_its_decimal_point_is_the_same_number() {
        // The page's worker hands 1.0 back as 1 (JavaScript has one number
        // type): no edit, so the editor keeps its state.
        let a = doc();
        let mut b = a.clone();
        b.set("nodes.api.steps[0].compute.value_s", "1").unwrap();
        assert_ne!(a, b);
        assert!(a.diff(&b).is_empty(), "{:?}", a.diff(&b));
        b.set("nodes.api.steps[0].compute.value_s", "1.5").unwrap();
        assert_eq!(a.diff(&b).len(), 1);
        // Integers compare exactly, past what an f64 tells apart.
        let mut x = a.clone();
        let mut y = a.clone();
        x.set("seed", "9007199254740993").unwrap();
        y.set("seed", "9007199254740992").unwrap();
        assert_eq!(x.diff(&y).len(), 1);
    }

    #[test]
    fn oversized_input_is_refused_with_the_reason() {
        let big = format!("name = \"{}\"", "x".repeat(MAX_TEXT_BYTES));
        let e = ScenarioDoc::parse(&big, Format::Toml).unwrap_err();
        assert!(e.message.contains("at most"), "{e}");
        let deep = format!("{}1{}", "[".repeat(60), "]".repeat(60));
        let e = ScenarioDoc::parse(&format!("{{\"a\": {deep}}}"), Format::Json).unwrap_err();
        assert!(e.message.contains("levels deep"), "{e}");
        assert!(e.path.starts_with("a[0]"), "{e}");
        let mut d = doc();
        let e = d
            .set_value("x", serde_json::from_str(&deep).unwrap())
            .unwrap_err();
        assert_eq!(e.path, "x");
        let long = vec!["a"; MAX_PATH_SEGMENTS + 1].join(".");
        assert!(d.set(&long, "1").is_err());
        let e = ScenarioDoc::parse("[1]", Format::Json).unwrap_err();
        assert!(e.message.contains("top level"), "{e}");
        let e = ScenarioDoc::parse("a = [", Format::Toml).unwrap_err();
        assert!(e.message.contains("TOML syntax error") && e.message.contains("line 1"));
    }

    #[test]
    fn paths_split_and_join() {
        let segs = split_path("nodes.api.steps[1].choose[0].p").unwrap();
        assert_eq!(segs, ["nodes", "api", "steps", "1", "choose", "0", "p"]);
        assert_eq!(join_path(&segs), "nodes.api.steps[1].choose[0].p");
        assert_eq!(split_path("a.steps.1").unwrap(), ["a", "steps", "1"]);
        assert!(split_path("").is_err());
        assert!(
            split_path("a.b]").is_ok(),
            "a ] without [ is part of a name"
        );
        assert!(split_path("a[1]x").is_err());
    }
}
