//! Python values to scenario values (JSON), with the field path in every
//! error: `nodes.api.workers: a Python set cannot be a scenario value`.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// A value that cannot be a scenario value: where, and why.
pub struct Bad {
    pub path: String,
    pub message: String,
}

/// Converts `v`, found at `path`, to a JSON value.
pub fn to_value(v: &Bound<'_, PyAny>, path: &str) -> Result<Value, Bad> {
    let at = |message: String| Bad {
        path: path.to_string(),
        message,
    };
    let py_err = |e: PyErr| at(e.to_string());
    // bool before int: Python's bool is an int.
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = v.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(at("an integer too large for a scenario".into()));
    }
    if v.is_instance_of::<PyFloat>() {
        let x: f64 = v.extract().map_err(py_err)?;
        return Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| at(format!("{x} is not a finite number")));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::String(s.extract::<String>().map_err(py_err)?));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, x) in d.iter() {
            let key: String = k
                .extract()
                .map_err(|_| at(format!("keys must be strings, got {}", type_name(&k))))?;
            let sub = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            m.insert(key, to_value(&x, &sub)?);
        }
        return Ok(Value::Object(m));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = v
            .try_iter()
            .and_then(|it| it.collect::<PyResult<_>>())
            .map_err(py_err)?;
        return items
            .iter()
            .enumerate()
            .map(|(i, x)| to_value(x, &format!("{path}[{i}]")))
            .collect::<Result<Vec<_>, Bad>>()
            .map(Value::Array);
    }
    Err(at(format!(
        "a Python {} cannot be a scenario value (use dict, list, str, int, float or bool)",
        type_name(v)
    )))
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map_or_else(|_| "object".into(), |n| n.to_string())
}
