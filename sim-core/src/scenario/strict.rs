//! Reading text into the generic document without losing what was written:
//! a JSON object with a key twice is refused (serde_json's `Value` keeps the
//! last one silently), and a TOML `nan` or `inf` is refused where it stands,
//! by its path (JSON has no such numbers: `Value` would turn them into
//! `null`, and the message would then read "invalid type: null").

use super::doc::{ScenarioError, MAX_DEPTH};
use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// A JSON value whose objects had no duplicate keys.
pub(super) struct Json(pub Value);

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(Strict).map(Json)
    }
}

struct Strict;

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{v} is not a finite number")))
    }
    fn visit_str<E: Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(Strict)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Json(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(A::Error::custom(format!(
                    "duplicated key `{k}`: each key may appear once in an object"
                )));
            }
            let Json(v) = map.next_value()?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// TOML to the generic document. A non-finite float is refused by its path;
/// a date-time becomes its text.
pub(super) fn from_toml(v: toml::Value) -> Result<Value, ScenarioError> {
    convert(v, &mut String::new(), 0)
}

fn convert(v: toml::Value, path: &mut String, depth: usize) -> Result<Value, ScenarioError> {
    if depth > MAX_DEPTH + 1 {
        return Err(ScenarioError::new(
            path.clone(),
            format!("nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    Ok(match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::Number(i.into()),
        toml::Value::Float(x) => match Number::from_f64(x) {
            Some(n) => Value::Number(n),
            None => {
                return Err(ScenarioError::new(
                    path.clone(),
                    format!("must be a finite number, got {x}"),
                ))
            }
        },
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for (i, x) in a.into_iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(convert(x, path, depth + 1)?);
                path.truncate(len);
            }
            Value::Array(out)
        }
        toml::Value::Table(t) => {
            let mut out = Map::new();
            for (k, x) in t {
                let len = path.len();
                if len > 0 {
                    path.push('.');
                }
                path.push_str(&k);
                let x = convert(x, path, depth + 1)?;
                path.truncate(len);
                out.insert(k, x);
            }
            Value::Object(out)
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::{Format, ScenarioDoc};

    #[test]
    fn a_json_key_given_twice_is_refused() {
        let e = ScenarioDoc::parse(r#"{"version": 1, "name": "a", "name": "b"}"#, Format::Json)
            .unwrap_err();
        assert!(e.message.contains("duplicated key `name`"), "{e}");
        let nested = r#"{"nodes": {"a": {"kind": "source", "kind": "service"}}}"#;
        let e = ScenarioDoc::parse(nested, Format::Json).unwrap_err();
        assert!(e.message.contains("duplicated key `kind`"), "{e}");
        // The same key in two objects is fine.
        let ok = r#"{"nodes": {"a": {"kind": "x"}, "b": {"kind": "y"}}, "x": [1, 2.5, null]}"#;
        assert!(ScenarioDoc::parse(ok, Format::Json).is_ok());
    }

    #[test]
    fn toml_nan_and_inf_are_refused_by_their_path() {
        for (text, path, says) in [
            ("duration_s = nan", "duration_s", "got NaN"),
            (
                "[nodes.a.pools.p]\nsize = -inf",
                "nodes.a.pools.p.size",
                "got -inf",
            ),
            ("x = [1.0, inf]", "x[1]", "got inf"),
        ] {
            let e = ScenarioDoc::parse(text, Format::Toml).unwrap_err();
            assert_eq!(e.path, path, "{e}");
            assert!(e.message.contains(says), "{e}");
        }
        let doc = ScenarioDoc::parse("a = 1\nb = 2.5\nc = \"x\"\nd = 1979-05-27", Format::Toml);
        let v = doc.unwrap().0;
        assert_eq!(v["a"], 1);
        assert_eq!(v["b"], 2.5);
        assert_eq!(v["d"], "1979-05-27");
    }
}
