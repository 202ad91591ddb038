//! The numbers of a report that replications average: every scalar by its
//! dotted path (`end_to_end.latency_s.p99`, `nodes.api.utilisation`,
//! `edges.0.amplification`), the same paths lessons use
//! ([`crate::lesson::eval_metric`], which also evaluates expressions such as
//! `recovery(failed, 75, 10)`), and the windowed series warm-up detection
//! reads.

use crate::report::Report;
use serde_json::Value;
use std::collections::BTreeMap;

/// Top-level report fields that are not metrics: the seed and wall time
/// identify a run, the series and traces are not scalars.
const NOT_METRICS: [&str; 4] = ["seed", "wall_s", "series", "slowest_traces"];

/// Every numeric leaf of the report by its dotted path (arrays by index).
pub fn scalars(r: &Report) -> BTreeMap<String, f64> {
    into_scalars(r.clone())
}

/// [`scalars`] of a report that is no longer needed: its series and traces
/// are dropped before the rest is walked (a thousand windows cost more to
/// serialise than every scalar together).
pub fn into_scalars(mut r: Report) -> BTreeMap<String, f64> {
    r.series.windows = Vec::new();
    r.slowest_traces = Vec::new();
    let mut out = BTreeMap::new();
    let v = serde_json::to_value(&r).expect("a report serialises");
    if let Value::Object(top) = v {
        for (k, v) in top {
            if !NOT_METRICS.contains(&k.as_str()) {
                flatten(&k, &v, &mut out);
            }
        }
    }
    out
}

fn flatten(path: &str, v: &Value, out: &mut BTreeMap<String, f64>) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(path.to_string(), x);
            }
        }
        Value::Object(m) => {
            for (k, v) in m {
                flatten(&format!("{path}.{k}"), v, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{path}.{i}"), v, out);
            }
        }
        _ => {}
    }
}

/// Whether `metric` is a plain report path (else an expression, which may
/// read the series).
pub fn is_path(metric: &str) -> bool {
    !metric.contains([' ', '(', '*', '/', '+'])
}

/// The values of `metrics` on a run, consuming its report: expressions are
/// evaluated on the whole report, paths on [`into_scalars`] (returned too).
pub fn measure(metrics: &[String], r: Report) -> Result<(Vec<f64>, BTreeMap<String, f64>), String> {
    let mut values = vec![f64::NAN; metrics.len()];
    let nodes: Vec<String> = r.nodes.keys().cloned().collect();
    for (i, m) in metrics.iter().enumerate() {
        if !is_path(m) {
            values[i] =
                evaluate(m, &r, &BTreeMap::new()).map_err(|e| format!("metric {m}: {e}"))?;
        }
    }
    let s = into_scalars(r);
    for (i, m) in metrics.iter().enumerate() {
        if is_path(m) {
            values[i] = *s.get(m).ok_or_else(|| missing(m, &nodes))?;
        }
    }
    Ok((values, s))
}

/// Why a path is not among a report's scalars.
fn missing(metric: &str, nodes: &[String]) -> String {
    let node = metric
        .strip_prefix("nodes.")
        .and_then(|r| r.split('.').next());
    match node {
        Some(n) if !nodes.iter().any(|x| x == n) => format!(
            "metric {metric}: no node {n:?} in the report (nodes: {})",
            nodes.join(", ")
        ),
        _ => format!("metric {metric}: no such number in the report"),
    }
}

/// The value of `metric` on a run: a path among `scalars` (computed once
/// per run), else a lesson expression on the report. Errors say what is
/// missing and, for an unknown node, which nodes there are.
pub fn evaluate(metric: &str, r: &Report, scalars: &BTreeMap<String, f64>) -> Result<f64, String> {
    if let Some(x) = scalars.get(metric) {
        return Ok(*x);
    }
    crate::lesson::eval_metric(metric, r).map_err(|e| {
        let node = metric
            .strip_prefix("nodes.")
            .and_then(|rest| rest.split('.').next());
        match node {
            Some(n) if !r.nodes.contains_key(n) => format!(
                "{e} (nodes: {})",
                r.nodes.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            _ => e,
        }
    })
}

/// The metrics a sweep records when none are named: end-to-end goodput,
/// error rate and latency (mean and percentiles), SLO compliance when the
/// scenario has an SLO, and each serving node's utilisation.
pub fn default_metrics(probe: &Report) -> Vec<String> {
    let mut m: Vec<String> = [
        "throughput_rps",
        "error_rate",
        "latency_s.mean",
        "latency_s.p50",
        "latency_s.p95",
        "latency_s.p99",
        "latency_s.p999",
    ]
    .iter()
    .map(|f| format!("end_to_end.{f}"))
    .collect();
    if probe.slo.is_some() {
        m.push("slo.compliance".into());
    }
    for name in probe.nodes.keys() {
        m.push(format!("nodes.{name}.utilisation"));
    }
    m
}

/// The end-to-end latency fields whose pooled value (over every request of
/// every replication) a study reports beside the mean over replications.
pub const POOLED_FIELDS: [&str; 7] = ["mean", "p50", "p90", "p95", "p99", "p999", "max"];

/// For a metric `end_to_end.latency_s.<field>` with a pooled counterpart,
/// the field.
pub fn pooled_field(metric: &str) -> Option<&'static str> {
    let f = metric.strip_prefix("end_to_end.latency_s.")?;
    POOLED_FIELDS.iter().copied().find(|p| *p == f)
}

/// The value of a pooled field from a summary.
pub fn pooled_value(s: &crate::metrics::Summary, field: &str) -> f64 {
    match field {
        "mean" => s.mean,
        "p50" => s.p50,
        "p90" => s.p90,
        "p95" => s.p95,
        "p99" => s.p99,
        "p999" => s.p999,
        _ => s.max,
    }
}

/// The windowed series MSER-5 reads, one value per window:
/// - `in_system` (the default): the time-average number of requests in all
///   serving nodes together, L(t) in Little's law, the classic
///   warm-up indicator;
/// - an end-to-end window field: `in_flight`, `throughput_rps`, `p50_s`,
///   `p95_s`, `p99_s`, `arrived`, `completed`, `failed`;
/// - `nodes.NAME.FIELD` with FIELD one of `utilisation`, `queue_len`,
///   `in_flight`, `throughput_rps`, `failed`, `rejected`.
pub fn window_series(r: &Report, field: &str) -> Result<Vec<f64>, String> {
    let ws = &r.series.windows;
    if field == "in_system" {
        return Ok(ws
            .iter()
            .map(|w| w.nodes.iter().map(|n| n.in_flight).sum())
            .collect());
    }
    if let Some(rest) = field.strip_prefix("nodes.") {
        let (node, f) = rest
            .rsplit_once('.')
            .ok_or_else(|| format!("{field}: expected nodes.NAME.FIELD"))?;
        let i = r
            .series
            .nodes
            .iter()
            .position(|n| n == node)
            .ok_or_else(|| {
                format!(
                    "{field}: no node {node:?} in the series (nodes: {})",
                    r.series.nodes.join(", ")
                )
            })?;
        let get: fn(&crate::metrics::NodeWindow) -> f64 = match f {
            "utilisation" => |n| n.utilisation,
            "queue_len" => |n| n.queue_len,
            "in_flight" => |n| n.in_flight,
            "throughput_rps" => |n| n.throughput_rps,
            "failed" => |n| n.failed as f64,
            "rejected" => |n| n.rejected as f64,
            _ => return Err(format!("{field}: {f:?} is not a node window field (utilisation, queue_len, in_flight, throughput_rps, failed, rejected)")),
        };
        return Ok(ws.iter().map(|w| w.nodes.get(i).map_or(0.0, get)).collect());
    }
    // A window with no answers has no percentile (None): such a series is
    // refused rather than filled in with a made-up number.
    let get: fn(&crate::metrics::Window) -> Option<f64> = match field {
        "in_flight" => |w| Some(w.in_flight as f64),
        "throughput_rps" => |w| Some(w.throughput_rps),
        "p50_s" => |w| w.p50_s,
        "p95_s" => |w| w.p95_s,
        "p99_s" => |w| w.p99_s,
        "arrived" => |w| Some(w.arrived as f64),
        "completed" => |w| Some(w.completed as f64),
        "failed" => |w| Some(w.failed as f64),
        _ => return Err(format!("{field}: not a window series (in_system, in_flight, throughput_rps, p50_s, p95_s, p99_s, arrived, completed, failed, or nodes.NAME.FIELD)")),
    };
    let values: Vec<Option<f64>> = ws.iter().map(get).collect();
    let empty = values.iter().filter(|v| v.is_none()).count();
    if empty > 0 {
        return Err(format!(
            "{field}: {empty} of {} windows had no answers, so no percentile; use in_flight or throughput_rps",
            values.len()
        ));
    }
    Ok(values.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scenario, Sim};

    fn report() -> Report {
        let sc = Scenario::from_toml_str(
            r#"
            version = 1
            name = "m"
            duration_s = 200
            warmup_s = 10
            metrics = { window_s = 10 }
            [nodes.clients]
            kind = "source"
            target = "api"
            arrival = { process = "poisson", rate = 5.0 }
            [nodes.api]
            kind = "service"
            workers = 1
            service = { dist = "exponential", mean_s = 0.1 }
            "#,
        )
        .unwrap();
        Sim::new(&sc, 3).unwrap().run_for(200.0).unwrap()
    }

    #[test]
    fn scalars_are_every_numeric_leaf_but_identity_and_series() {
        let r = report();
        let s = scalars(&r);
        assert_eq!(s["end_to_end.latency_s.p99"], r.end_to_end.latency_s.p99);
        assert_eq!(s["nodes.api.utilisation"], r.nodes["api"].utilisation);
        assert_eq!(s["edges.0.amplification"], r.edges[0].amplification);
        assert!(s.contains_key("sim_time_s"));
        for k in s.keys() {
            assert!(
                !k.starts_with("series") && !k.starts_with("slowest_traces"),
                "{k}"
            );
            assert!(k != "seed" && k != "wall_s", "{k}");
        }
    }

    #[test]
    fn evaluate_reads_paths_and_expressions_and_names_nodes() {
        let r = report();
        let s = scalars(&r);
        assert_eq!(
            evaluate("nodes.api.utilisation", &r, &s).unwrap(),
            r.nodes["api"].utilisation
        );
        let x = evaluate("end_to_end.throughput_rps * 2", &r, &s).unwrap();
        assert_eq!(x, r.end_to_end.throughput_rps * 2.0);
        let e = evaluate("nodes.apii.utilisation", &r, &s).unwrap_err();
        assert!(e.contains("apii") && e.contains("nodes: api"), "{e}");
    }

    #[test]
    fn default_metrics_name_end_to_end_and_every_node() {
        let d = default_metrics(&report());
        assert!(d.contains(&"end_to_end.latency_s.p99".to_string()));
        assert!(d.contains(&"nodes.api.utilisation".to_string()));
        assert!(!d.iter().any(|m| m.starts_with("slo")));
        assert_eq!(pooled_field("end_to_end.latency_s.p99"), Some("p99"));
        assert_eq!(pooled_field("nodes.api.sojourn_s.p99"), None);
    }

    #[test]
    fn window_series_in_system_sums_the_nodes() {
        let r = report();
        let s = window_series(&r, "in_system").unwrap();
        assert_eq!(s.len(), r.series.windows.len());
        assert_eq!(s[3], r.series.windows[3].nodes[0].in_flight);
        assert_eq!(
            window_series(&r, "nodes.api.queue_len").unwrap().len(),
            s.len()
        );
        assert!(window_series(&r, "nodes.db.queue_len")
            .unwrap_err()
            .contains("no node \"db\""));
        assert!(window_series(&r, "bogus").is_err());
    }
}
