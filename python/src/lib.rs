//! `tailsim._native`: the engine's studies for Python. The package
//! `tailsim` (python/tailsim/__init__.py) wraps these functions: it reads
//! scenario files, turns JSON into dicts and CSV into pandas DataFrames.
//!
//! Every function releases the GIL while it simulates, and calls the same
//! sim-core functions as the CLI, so a Python sweep's rows are the CLI's.
//! Errors carry the field path: `ScenarioError.path` is the scenario field
//! (`nodes.api.workers`), `StudyError.path` the option (`vary
//! nodes.api.workers`, `shard`, `confidence`).

mod convert;

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;
use sim_core::study::grid::{Grid, Shard, Vary};
use sim_core::study::replicate::{replicate as study_replicate, Precision, ReplicateSpec};
use sim_core::study::sweep::{Plan, PointResult, SweepSpec};
use sim_core::study::table::SweepOutput;
use sim_core::study::{self, Base, Exec, Quiet, StudyError, Warmup};
use sim_core::ScenarioDoc;
use std::collections::BTreeSet;
use std::sync::Mutex;

create_exception!(
    _native,
    ScenarioError,
    PyValueError,
    "A scenario is invalid: `path` names the field, `message` says what is wrong."
);
create_exception!(
    _native,
    OptionError,
    PyValueError,
    "A study option is invalid: `path` names it (`vary nodes.api.workers`, `shard`...)."
);

/// Raises `cls(text)` with `path` and `message` attributes.
fn raise(py: Python<'_>, err: PyErr, path: &str, message: &str) -> PyErr {
    let v = err.value(py);
    let _ = v.setattr("path", path);
    let _ = v.setattr("message", message);
    err
}

fn study_err(py: Python<'_>, e: StudyError) -> PyErr {
    let text = e.to_string();
    match &e {
        StudyError::Scenario { error, .. } => raise(
            py,
            ScenarioError::new_err(text),
            &error.path,
            &error.message,
        ),
        StudyError::Option { option, message } => {
            let option = option.trim_start_matches("--");
            raise(
                py,
                OptionError::new_err(format!("{option}: {message}")),
                option,
                message,
            )
        }
        StudyError::Run(m) | StudyError::File(m) => PyRuntimeError::new_err(m.clone()),
    }
}

fn bad_value(py: Python<'_>, b: convert::Bad) -> PyErr {
    let text = if b.path.is_empty() {
        b.message.clone()
    } else {
        format!("{}: {}", b.path, b.message)
    };
    raise(py, ScenarioError::new_err(text), &b.path, &b.message)
}

/// The study's base: scenario text or a dict, `set` overrides (typed
/// values), the run length and the warm-up (seconds, "auto" or None).
fn base(
    py: Python<'_>,
    scenario: &Bound<'_, PyAny>,
    set: Option<&Bound<'_, PyDict>>,
    duration: Option<f64>,
    warmup: Option<&Bound<'_, PyAny>>,
    warmup_series: &str,
    max_in_flight: Option<u64>,
) -> PyResult<Base> {
    let mut base = if let Ok(text) = scenario.extract::<String>() {
        Base::parse(&text, &[]).map_err(|e| study_err(py, e))?
    } else {
        let v = convert::to_value(scenario, "").map_err(|b| bad_value(py, b))?;
        if !v.is_object() {
            return Err(raise(
                py,
                ScenarioError::new_err("a scenario must be a dict, TOML or JSON text, or a path"),
                "",
                "a scenario must be a dict, TOML or JSON text, or a path",
            ));
        }
        Base::new(ScenarioDoc(v))
    };
    if let Some(set) = set {
        for (k, v) in set.iter() {
            let path: String = k
                .extract()
                .map_err(|_| PyValueError::new_err("set: keys must be dotted field paths (str)"))?;
            let value = convert::to_value(&v, &path).map_err(|b| bad_value(py, b))?;
            base.set_value(&path, value).map_err(|e| study_err(py, e))?;
        }
    }
    base.duration_s = duration;
    base.max_in_flight = max_in_flight;
    base.warmup = match warmup {
        None => Warmup::Scenario,
        Some(w) if w.extract::<String>().is_ok_and(|s| s == "auto") => Warmup::Auto {
            series: warmup_series.to_string(),
        },
        Some(w) => Warmup::Fixed(w.extract::<f64>().map_err(|_| {
            raise(
                py,
                OptionError::new_err("warmup: seconds (a number) or \"auto\""),
                "warmup",
                "seconds (a number) or \"auto\"",
            )
        })?),
    };
    base.check().map_err(|e| study_err(py, e))?;
    Ok(base)
}

fn seeds_of(
    py: Python<'_>,
    base: &Base,
    seeds: Option<Vec<u64>>,
    seed: Option<u64>,
    n: usize,
) -> PyResult<Vec<u64>> {
    if let Some(s) = seeds {
        return Ok(s);
    }
    let first = match seed {
        Some(s) => s,
        None => study::scenario_seed(base).map_err(|e| study_err(py, e))?,
    };
    study::consecutive_seeds(first, n).map_err(|e| study_err(py, e))
}

/// Replications and sweeps run at least one replication.
fn at_least_one_replication(py: Python<'_>, replications: usize) -> PyResult<()> {
    if replications == 0 {
        return Err(study_err(
            py,
            StudyError::option("replications", "must be at least 1"),
        ));
    }
    Ok(())
}

/// One run: (report JSON, provenance JSON).
#[pyfunction]
#[pyo3(signature = (scenario, seed=None, set=None, duration=None, warmup=None, max_in_flight=None))]
fn run(
    py: Python<'_>,
    scenario: &Bound<'_, PyAny>,
    seed: Option<u64>,
    set: Option<&Bound<'_, PyDict>>,
    duration: Option<f64>,
    warmup: Option<&Bound<'_, PyAny>>,
    max_in_flight: Option<u64>,
) -> PyResult<(String, String)> {
    let base = base(
        py,
        scenario,
        set,
        duration,
        warmup,
        "in_system",
        max_in_flight,
    )?;
    let seed = seeds_of(py, &base, None, seed, 1)?[0];
    let res = py.detach(|| study::run_once(&base, seed));
    let (report, provenance) = res.map_err(|e| study_err(py, e))?;
    let prov = serde_json::to_string(&provenance).expect("serialises");
    Ok((report.to_json(), prov))
}

/// Replications: the JSON of `tailsim run --replications`.
#[pyfunction]
#[pyo3(signature = (scenario, replications=10, seeds=None, seed=None, set=None, duration=None,
    warmup=None, warmup_series="in_system", confidence=0.95, precision=None, target=None,
    max_replications=1000, jobs=None, max_in_flight=None))]
#[allow(clippy::too_many_arguments)]
fn replicate(
    py: Python<'_>,
    scenario: &Bound<'_, PyAny>,
    replications: usize,
    seeds: Option<Vec<u64>>,
    seed: Option<u64>,
    set: Option<&Bound<'_, PyDict>>,
    duration: Option<f64>,
    warmup: Option<&Bound<'_, PyAny>>,
    warmup_series: &str,
    confidence: f64,
    precision: Option<f64>,
    target: Option<String>,
    max_replications: usize,
    jobs: Option<usize>,
    max_in_flight: Option<u64>,
) -> PyResult<String> {
    let base = base(
        py,
        scenario,
        set,
        duration,
        warmup,
        warmup_series,
        max_in_flight,
    )?;
    at_least_one_replication(py, replications)?;
    let seeds = seeds_of(py, &base, seeds, seed, replications)?;
    let precision = match (precision, target) {
        (Some(relative), Some(target)) => Some(Precision {
            relative,
            target,
            max_replications,
        }),
        (None, None) => None,
        _ => {
            return Err(study_err(
                py,
                StudyError::option("precision", "precision and target go together"),
            ))
        }
    };
    let spec = ReplicateSpec {
        base,
        seeds,
        confidence,
        precision,
    };
    let exec = Exec::new(jobs).map_err(|e| study_err(py, e))?;
    let res = py.detach(|| study_replicate(&spec, &exec, &Quiet));
    Ok(res.map_err(|e| study_err(py, e))?.to_json())
}

/// A sweep's CSV text (what `tailsim sweep` writes).
#[pyfunction]
#[pyo3(signature = (scenario, vary, zip=false, replications=10, seeds=None, seed=None,
    metrics=None, set=None, duration=None, warmup=None, warmup_series="in_system",
    confidence=0.95, shard=None, jobs=None, max_in_flight=None))]
#[allow(clippy::too_many_arguments)]
fn sweep(
    py: Python<'_>,
    scenario: &Bound<'_, PyAny>,
    vary: Vec<(String, Bound<'_, PyAny>)>,
    zip: bool,
    replications: usize,
    seeds: Option<Vec<u64>>,
    seed: Option<u64>,
    metrics: Option<Vec<String>>,
    set: Option<&Bound<'_, PyDict>>,
    duration: Option<f64>,
    warmup: Option<&Bound<'_, PyAny>>,
    warmup_series: &str,
    confidence: f64,
    shard: Option<(usize, usize)>,
    jobs: Option<usize>,
    max_in_flight: Option<u64>,
) -> PyResult<String> {
    let base = base(
        py,
        scenario,
        set,
        duration,
        warmup,
        warmup_series,
        max_in_flight,
    )?;
    at_least_one_replication(py, replications)?;
    let seeds = seeds_of(py, &base, seeds, seed, replications)?;
    let vary = vary
        .iter()
        .map(|(path, values)| vary_of(py, path, values))
        .collect::<PyResult<Vec<Vary>>>()?;
    let grid = Grid::new(vary, zip).map_err(|e| study_err(py, e))?;
    let shard = shard
        .map(|(i, n)| Shard::parse(&format!("{i}/{n}")))
        .transpose()
        .map_err(|e| study_err(py, e))?;
    let spec = SweepSpec {
        base,
        grid,
        seeds,
        metrics,
        confidence,
        shard,
    };
    let plan = Plan::new(spec).map_err(|e| study_err(py, e))?;
    let exec = Exec::new(jobs).map_err(|e| study_err(py, e))?;
    let res = py.detach(|| {
        let points = Mutex::new(Vec::new());
        let on_point = |p: PointResult| {
            points.lock().expect("no panics while held").push(p);
            Ok(())
        };
        plan.run(&exec, &BTreeSet::new(), &on_point, &Quiet)
            .map(|_| points.into_inner().expect("no panics while held"))
    });
    let mut points = res.map_err(|e| study_err(py, e))?;
    points.sort_by_key(|p| p.index);
    let out = SweepOutput {
        provenance: plan.provenance,
        points,
    };
    Ok(out.to_csv())
}

/// `values`: a spec string as on the command line ("100:1000:100",
/// "4,8,16") or a sequence of values.
fn vary_of(py: Python<'_>, path: &str, values: &Bound<'_, PyAny>) -> PyResult<Vary> {
    let spec = match values.extract::<String>() {
        Ok(s) => format!("{path}={s}"),
        Err(_) => {
            let v =
                convert::to_value(values, &format!("vary {path}")).map_err(|b| bad_value(py, b))?;
            if !v.is_array() {
                return Err(study_err(
                    py,
                    StudyError::option(
                        format!("vary {path}"),
                        "give a list of values or a string like \"100:1000:100\"",
                    ),
                ));
            }
            format!("{path}={v}")
        }
    };
    Vary::parse(&spec).map_err(|e| study_err(py, e))
}

/// Every built-in lesson as JSON.
#[pyfunction]
fn lessons(py: Python<'_>) -> PyResult<String> {
    let all = sim_core::bundled::lessons().map_err(PyRuntimeError::new_err)?;
    let list: Vec<&sim_core::lesson::Lesson> = all.iter().map(|b| &b.lesson).collect();
    let _ = py;
    Ok(serde_json::to_string(&list).expect("serialises"))
}

/// A lesson's scenario in one state, as TOML.
#[pyfunction]
#[pyo3(signature = (id, state="mistake"))]
fn lesson_scenario(id: &str, state: &str) -> PyResult<String> {
    let all = sim_core::bundled::lessons().map_err(PyRuntimeError::new_err)?;
    let b = all.iter().find(|b| b.lesson.id == id).ok_or_else(|| {
        PyValueError::new_err(format!("no lesson {id:?} (tailsim.lessons() lists them)"))
    })?;
    let st: sim_core::lesson::State = serde_json::from_value(Value::from(state)).map_err(|_| {
        PyValueError::new_err(format!(
            "state must be \"mistake\" or \"fix\", got {state:?}"
        ))
    })?;
    let sc = b
        .lesson
        .scenario(st, b.scenario_text)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(sc.to_toml())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ScenarioError", m.py().get_type::<ScenarioError>())?;
    m.add("OptionError", m.py().get_type::<OptionError>())?;
    m.add("VERSION", study::VERSION)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(replicate, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(lessons, m)?)?;
    m.add_function(wrap_pyfunction!(lesson_scenario, m)?)?;
    Ok(())
}
