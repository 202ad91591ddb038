//! A sweep's output as tidy rows, in CSV or JSON Lines, and back.
//!
//! Columns: `kind, point, <one per varied path>, replication, seed,
//! warmup_s, metric, value, n, sd, half_width, lo, hi`. Rows of a point:
//! one `run` row per (replication, metric) with its value; one `summary`
//! row per metric with the mean over replications (`value`), `n`, the
//! standard deviation and the confidence interval; one `pooled` row per
//! end-to-end latency metric with the value over every request of every
//! replication (histograms merged) and `n` requests. The first line records
//! the provenance (CSV: `# tailsim sweep {json}`, so read with
//! `skiprows=1`; JSON Lines: `{"kind":"provenance",...}`).
//!
//! Writing is deterministic and parsing is exact (floats round-trip), so
//! shards parsed and written again in point order give the bytes a single
//! run writes: that is how `tailsim merge` works.

use serde_json::Value;
use std::collections::BTreeMap;

use super::grid::{value_text, Grid};
use super::provenance::Provenance;
use super::sweep::{PointResult, RunResult};
use super::StudyError;
use crate::analysis::Interval;

/// The text formats of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Jsonl,
}

impl TableFormat {
    /// `.jsonl`/`.ndjson` (or `.json`) is JSON Lines, anything else CSV.
    pub fn from_path(path: &str) -> TableFormat {
        let lower = path.to_ascii_lowercase();
        if [".jsonl", ".ndjson", ".json"]
            .iter()
            .any(|e| lower.ends_with(e))
        {
            TableFormat::Jsonl
        } else {
            TableFormat::Csv
        }
    }

    /// From the text itself: JSON Lines start with `{`.
    pub fn sniff(text: &str) -> TableFormat {
        if text.trim_start().starts_with('{') {
            TableFormat::Jsonl
        } else {
            TableFormat::Csv
        }
    }
}

/// A sweep's (or a shard's) points with their provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepOutput {
    pub provenance: Provenance,
    /// In point order.
    pub points: Vec<PointResult>,
}

const CSV_TAG: &str = "# tailsim sweep ";

/// The fixed columns after the varied ones.
const TAIL: [&str; 10] = [
    "replication",
    "seed",
    "warmup_s",
    "metric",
    "value",
    "n",
    "sd",
    "half_width",
    "lo",
    "hi",
];

/// One row before rendering: the cells after `kind, point, params`.
struct Row<'a> {
    kind: &'a str,
    replication: Option<usize>,
    seed: Option<u64>,
    metric: &'a str,
    value: f64,
    n: Option<u64>,
    interval: [Option<f64>; 4],
}

fn rows<'a>(metrics: &'a [String], p: &'a PointResult) -> Vec<Row<'a>> {
    let mut out = Vec::new();
    for r in &p.runs {
        for (m, v) in metrics.iter().zip(&r.values) {
            out.push(Row {
                kind: "run",
                replication: Some(r.replication),
                seed: Some(r.seed),
                metric: m,
                value: *v,
                n: None,
                interval: [None; 4],
            });
        }
    }
    for (m, i) in metrics.iter().zip(&p.summary) {
        out.push(Row {
            kind: "summary",
            replication: None,
            seed: None,
            metric: m,
            value: i.mean,
            n: Some(i.n as u64),
            interval: [i.sd, i.half_width, i.lo, i.hi],
        });
    }
    for (m, v) in metrics.iter().zip(&p.pooled) {
        if let Some(v) = v {
            out.push(Row {
                kind: "pooled",
                replication: None,
                seed: None,
                metric: m,
                value: *v,
                n: Some(p.pooled_requests),
                interval: [None; 4],
            });
        }
    }
    out
}

/// A float as both formats write it: the shortest text that reads back
/// exactly (`NaN`, `inf` and `-inf` spelled out in CSV).
pub fn float_text(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        serde_json::to_string(&x).expect("finite floats serialise")
    }
}

fn parse_float(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        _ => s.parse().map_err(|_| format!("{s:?} is not a number")),
    }
}

impl SweepOutput {
    pub fn render(&self, format: TableFormat) -> String {
        match format {
            TableFormat::Csv => self.to_csv(),
            TableFormat::Jsonl => self.to_jsonl(),
        }
    }

    /// The column names.
    pub fn columns(&self) -> Vec<String> {
        let mut c = vec!["kind".to_string(), "point".to_string()];
        c.extend(self.provenance.vary.iter().map(|v| v.path.clone()));
        c.extend(TAIL.iter().map(|s| s.to_string()));
        c
    }

    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(self.columns()).expect("in memory");
        let opt = |x: Option<f64>| x.map_or(String::new(), float_text);
        for p in &self.points {
            let params: Vec<String> = p.params.iter().map(value_text).collect();
            for r in rows(&self.provenance.metrics, p) {
                let mut rec = vec![r.kind.to_string(), p.index.to_string()];
                rec.extend(params.iter().cloned());
                rec.push(r.replication.map_or(String::new(), |x| x.to_string()));
                rec.push(r.seed.map_or(String::new(), |x| x.to_string()));
                rec.push(float_text(p.warmup_s));
                rec.push(r.metric.to_string());
                rec.push(float_text(r.value));
                rec.push(r.n.map_or(String::new(), |x| x.to_string()));
                rec.extend(r.interval.iter().map(|x| opt(*x)));
                w.write_record(&rec).expect("in memory");
            }
        }
        let body =
            String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8 in, UTF-8 out");
        format!("{CSV_TAG}{}\n{body}", provenance_json(&self.provenance))
    }

    pub fn to_jsonl(&self) -> String {
        let mut s = format!(
            "{{\"kind\":\"provenance\",\"provenance\":{}}}\n",
            provenance_json(&self.provenance)
        );
        let key = |k: &str| serde_json::to_string(k).expect("strings serialise");
        let opt_num = |x: Option<f64>| x.map_or("null".into(), json_float);
        for p in &self.points {
            for r in rows(&self.provenance.metrics, p) {
                s.push_str(&format!("{{\"kind\":{},\"point\":{}", key(r.kind), p.index));
                for (v, x) in self.provenance.vary.iter().zip(&p.params) {
                    s.push_str(&format!(",{}:{}", key(&v.path), x));
                }
                let opt_int = |x: Option<u64>| x.map_or("null".into(), |x| x.to_string());
                s.push_str(&format!(
                    ",\"replication\":{},\"seed\":{},\"warmup_s\":{},\"metric\":{},\"value\":{},\"n\":{}",
                    opt_int(r.replication.map(|x| x as u64)),
                    opt_int(r.seed),
                    json_float(p.warmup_s),
                    key(r.metric),
                    json_float(r.value),
                    opt_int(r.n)
                ));
                for (name, x) in TAIL[6..].iter().zip(r.interval) {
                    s.push_str(&format!(",\"{name}\":{}", opt_num(x)));
                }
                s.push_str("}\n");
            }
        }
        s
    }

    /// Reads either format back (the first line tells which).
    pub fn parse(text: &str) -> Result<SweepOutput, StudyError> {
        let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
        let err = |m: String| StudyError::File(m);
        let (provenance, format) = if let Some(j) = first.strip_prefix(CSV_TAG) {
            (
                serde_json::from_str::<Provenance>(j)
                    .map_err(|e| err(format!("line 1: provenance: {e}")))?,
                TableFormat::Csv,
            )
        } else if first.starts_with('{') {
            let v: Value = serde_json::from_str(first).map_err(|e| err(format!("line 1: {e}")))?;
            let p = v
                .get("provenance")
                .filter(|_| v.get("kind") == Some(&Value::from("provenance")))
                .ok_or_else(|| err("line 1 is not a tailsim provenance line".into()))?;
            (
                serde_json::from_value(p.clone())
                    .map_err(|e| err(format!("line 1: provenance: {e}")))?,
                TableFormat::Jsonl,
            )
        } else {
            return Err(err(
                "not a tailsim sweep: the first line is not its provenance".into(),
            ));
        };
        if provenance.study != "sweep" {
            return Err(err(format!("a {} output, not a sweep", provenance.study)));
        }
        let grid = Grid::new(provenance.vary.clone(), provenance.zip)?;
        let mut b = Builder::new(&provenance, &grid);
        match format {
            TableFormat::Csv => parse_csv(rest, &mut b)?,
            TableFormat::Jsonl => parse_jsonl(rest, &mut b)?,
        }
        let points = b.finish()?;
        Ok(SweepOutput { provenance, points })
    }
}

fn json_float(x: f64) -> String {
    // NaN and infinities have no JSON spelling: null.
    serde_json::to_string(&x).expect("floats serialise")
}

fn provenance_json(p: &Provenance) -> String {
    serde_json::to_string(p).expect("provenance serialises")
}

/// One parsed row.
struct Parsed {
    kind: String,
    point: usize,
    params: Vec<String>,
    replication: Option<usize>,
    seed: Option<u64>,
    warmup_s: f64,
    metric: String,
    value: f64,
    n: Option<u64>,
    interval: [Option<f64>; 4],
}

fn parse_csv(body: &str, b: &mut Builder) -> Result<(), StudyError> {
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body.as_bytes());
    let want = b.columns();
    let got: Vec<String> = rd
        .headers()
        .map_err(|e| StudyError::File(format!("line 2: {e}")))?
        .iter()
        .map(String::from)
        .collect();
    if got != want {
        return Err(StudyError::File(format!(
            "line 2: columns {got:?}, expected {want:?}"
        )));
    }
    let np = b.provenance.vary.len();
    for (i, rec) in rd.records().enumerate() {
        let line = i + 3;
        let rec = rec.map_err(|e| StudyError::File(format!("line {line}: {e}")))?;
        let f = |j: usize| rec.get(j).unwrap_or("");
        let e = |m: String| StudyError::File(format!("line {line}: {m}"));
        let opt_f = |j: usize| -> Result<Option<f64>, StudyError> {
            if f(j).is_empty() {
                Ok(None)
            } else {
                parse_float(f(j)).map(Some).map_err(e)
            }
        };
        let int = |j: usize| -> Result<Option<u64>, StudyError> {
            if f(j).is_empty() {
                Ok(None)
            } else {
                f(j).parse()
                    .map(Some)
                    .map_err(|_| e(format!("{:?} is not a whole number", f(j))))
            }
        };
        let t = 2 + np;
        let row = Parsed {
            kind: f(0).to_string(),
            point: int(1)?.ok_or_else(|| e("no point".into()))? as usize,
            params: (0..np).map(|j| f(2 + j).to_string()).collect(),
            replication: int(t)?.map(|x| x as usize),
            seed: int(t + 1)?,
            warmup_s: parse_float(f(t + 2)).map_err(e)?,
            metric: f(t + 3).to_string(),
            value: parse_float(f(t + 4)).map_err(e)?,
            n: int(t + 5)?,
            interval: [opt_f(t + 6)?, opt_f(t + 7)?, opt_f(t + 8)?, opt_f(t + 9)?],
        };
        b.add(row).map_err(e)?;
    }
    Ok(())
}

fn parse_jsonl(body: &str, b: &mut Builder) -> Result<(), StudyError> {
    for (i, line) in body.lines().enumerate() {
        let ln = i + 2;
        let e = |m: String| StudyError::File(format!("line {ln}: {m}"));
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|x| e(x.to_string()))?;
        let get = |k: &str| v.get(k).unwrap_or(&Value::Null);
        let num = |k: &str| get(k).as_f64().unwrap_or(f64::NAN);
        let opt = |k: &str| get(k).as_f64();
        let int = |k: &str| get(k).as_u64();
        let row = Parsed {
            kind: get("kind").as_str().unwrap_or("").to_string(),
            point: int("point").ok_or_else(|| e("no point".into()))? as usize,
            params: b
                .provenance
                .vary
                .iter()
                .map(|x| value_text(get(&x.path)))
                .collect(),
            replication: int("replication").map(|x| x as usize),
            seed: int("seed"),
            warmup_s: num("warmup_s"),
            metric: get("metric").as_str().unwrap_or("").to_string(),
            value: num("value"),
            n: int("n"),
            interval: [opt("sd"), opt("half_width"), opt("lo"), opt("hi")],
        };
        b.add(row).map_err(e)?;
    }
    Ok(())
}

/// Rebuilds points from rows, checking each against the grid.
struct Builder<'a> {
    provenance: &'a Provenance,
    grid: &'a Grid,
    metric_index: BTreeMap<&'a str, usize>,
    points: BTreeMap<usize, PointResult>,
}

impl<'a> Builder<'a> {
    fn new(provenance: &'a Provenance, grid: &'a Grid) -> Builder<'a> {
        let metric_index = provenance
            .metrics
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), i))
            .collect();
        Builder {
            provenance,
            grid,
            metric_index,
            points: BTreeMap::new(),
        }
    }

    fn columns(&self) -> Vec<String> {
        SweepOutput {
            provenance: self.provenance.clone(),
            points: Vec::new(),
        }
        .columns()
    }

    fn add(&mut self, r: Parsed) -> Result<(), String> {
        let m = *self
            .metric_index
            .get(r.metric.as_str())
            .ok_or_else(|| format!("metric {:?} is not in the provenance", r.metric))?;
        let nm = self.provenance.metrics.len();
        let p = self.point(&r)?;
        match r.kind.as_str() {
            "run" => {
                let (rep, seed) = r
                    .replication
                    .zip(r.seed)
                    .ok_or("a run row needs replication and seed")?;
                if rep == p.runs.len() {
                    p.runs.push(RunResult {
                        replication: rep,
                        seed,
                        values: vec![f64::NAN; nm],
                    });
                }
                let run = p
                    .runs
                    .get_mut(rep)
                    .filter(|x| x.seed == seed)
                    .ok_or_else(|| format!("replication {rep} is out of order"))?;
                run.values[m] = r.value;
            }
            "summary" => {
                let [sd, half_width, lo, hi] = r.interval;
                let n = r.n.ok_or("a summary row needs n")? as usize;
                p.summary[m] = Interval {
                    n,
                    mean: r.value,
                    sd,
                    half_width,
                    lo,
                    hi,
                };
            }
            "pooled" => {
                p.pooled[m] = Some(r.value);
                p.pooled_requests = r.n.ok_or("a pooled row needs n")?;
            }
            k => return Err(format!("unknown row kind {k:?}")),
        }
        Ok(())
    }

    /// The point a row belongs to (created at its first row), checked
    /// against the grid.
    fn point(&mut self, r: &Parsed) -> Result<&mut PointResult, String> {
        if r.point >= self.grid.len() {
            return Err(format!(
                "point {} is beyond the grid's {} points",
                r.point,
                self.grid.len()
            ));
        }
        let grid_params = self.grid.point(r.point);
        let want: Vec<String> = grid_params.iter().map(value_text).collect();
        if r.params != want {
            return Err(format!(
                "point {} has values {:?}, the grid says {:?}",
                r.point, r.params, want
            ));
        }
        let nm = self.provenance.metrics.len();
        let empty = Interval {
            n: 0,
            mean: f64::NAN,
            sd: None,
            half_width: None,
            lo: None,
            hi: None,
        };
        Ok(self.points.entry(r.point).or_insert_with(|| PointResult {
            index: r.point,
            params: grid_params,
            warmup_s: r.warmup_s,
            runs: Vec::new(),
            summary: vec![empty; nm],
            pooled: vec![None; nm],
            pooled_requests: 0,
        }))
    }

    /// The points, each checked complete.
    fn finish(self) -> Result<Vec<PointResult>, StudyError> {
        let seeds = &self.provenance.seeds;
        for p in self.points.values() {
            let got: Vec<u64> = p.runs.iter().map(|r| r.seed).collect();
            if &got != seeds || p.summary.iter().any(|s| s.n == 0) {
                return Err(StudyError::File(format!("point {} is incomplete", p.index)));
            }
        }
        Ok(self.points.into_values().collect())
    }
}

/// Combines shards (or partial outputs) of one sweep into the output a
/// single run writes: the same study, every point of the grid once.
pub fn merge(parts: Vec<SweepOutput>) -> Result<SweepOutput, StudyError> {
    let first = parts
        .first()
        .ok_or_else(|| StudyError::File("nothing to merge".into()))?;
    let mut provenance = first.provenance.clone();
    provenance.shard = None;
    let mut points: BTreeMap<usize, PointResult> = BTreeMap::new();
    for (i, part) in parts.iter().enumerate() {
        let p = &part.provenance;
        provenance
            .same_study(p)
            .and_then(|()| {
                (p.vary == provenance.vary && p.zip == provenance.zip)
                    .then_some(())
                    .ok_or_else(|| "the varied parameters differ".to_string())
            })
            .map_err(|e| {
                StudyError::File(format!(
                    "input {}: not the same sweep as input 1: {e}",
                    i + 1
                ))
            })?;
        for pt in &part.points {
            match points.get(&pt.index) {
                Some(old) if journal_line(old) != journal_line(pt) => {
                    return Err(StudyError::File(format!(
                        "point {} differs between inputs (input {})",
                        pt.index,
                        i + 1
                    )))
                }
                _ => {
                    points.insert(pt.index, pt.clone());
                }
            }
        }
    }
    let grid = Grid::new(provenance.vary.clone(), provenance.zip)?;
    let missing: Vec<usize> = (0..grid.len())
        .filter(|k| !points.contains_key(k))
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(5).map(|k| k.to_string()).collect();
        return Err(StudyError::File(format!(
            "{} of {} points are missing (points {}{}): is a shard absent or unfinished?",
            missing.len(),
            grid.len(),
            shown.join(", "),
            if missing.len() > 5 { ", ..." } else { "" }
        )));
    }
    Ok(SweepOutput {
        provenance,
        points: points.into_values().collect(),
    })
}

/// The progress file of a sweep being written: its provenance, then one
/// finished point per line. Whole points only, so a run stopped half-way
/// (Ctrl-C, a job's time limit) loses at most the points in flight.
pub fn journal_header(p: &Provenance) -> String {
    format!("{}\n", provenance_json(p))
}

pub fn journal_line(p: &PointResult) -> String {
    format!("{}\n", serde_json::to_string(p).expect("points serialise"))
}

/// Reads a progress file; a last line cut short is ignored.
pub fn parse_journal(text: &str) -> Result<(Provenance, Vec<PointResult>), StudyError> {
    let mut lines = text.lines();
    let head = lines
        .next()
        .ok_or_else(|| StudyError::File("empty progress file".into()))?;
    let p: Provenance = serde_json::from_str(head)
        .map_err(|e| StudyError::File(format!("progress file, line 1: {e}")))?;
    let points = lines.filter_map(|l| serde_json::from_str(l).ok()).collect();
    Ok((p, points))
}
