//! The claim metric language: arithmetic over report paths, with the usual
//! precedence (`*` and `/` before `+` and `-`, left to right within a
//! level), parentheses and a unary minus, and two window functions:
//!
//! - `nodes.db.arrived / end_to_end.arrived`, `(a + b + c) / 3`;
//! - `window(p99_s, 100, 160, max)`: an aggregate (mean, max, min, sum) of
//!   one window field over the complete windows in [100 s, 160 s]; the
//!   field is end-to-end (`p99_s`, `throughput_rps`...) or a node's
//!   (`nodes.db.utilisation`);
//! - `recovery(p99_s, 120, 0.5)`: seconds after t = 120 until the windowed
//!   value stays at or below 0.5 for the rest of the run (the run's
//!   remaining length if it never does).
//!
//! A `-` inside a path is part of it (node names may contain `-`): write a
//! subtraction with spaces around it, `a - b`.

use crate::report::Report;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Num(f64),
    Path(String),
    Window {
        field: String,
        t0: f64,
        t1: f64,
        agg: Agg,
    },
    Recovery {
        field: String,
        t0: f64,
        threshold: f64,
    },
    Neg(Box<Expr>),
    Bin(char, Box<Expr>, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Agg {
    Mean,
    Max,
    Min,
    Sum,
}

/// Whether `s` is a metric expression (the error says what is wrong).
pub(super) fn check_metric(s: &str) -> Result<(), String> {
    parse_metric(s).map(|_| ())
}

fn parse_metric(s: &str) -> Result<Expr, String> {
    let mut p = Parser { rest: s.trim() };
    if p.rest.is_empty() {
        return Err("empty metric".into());
    }
    let e = p.expr()?;
    p.skip_ws();
    match p.rest.chars().next() {
        None => Ok(e),
        Some(')') => Err(format!("unmatched ')' at {:?}", p.rest)),
        Some(_) => Err(format!("expected + - * / at {:?}", p.rest)),
    }
}

/// A recursive-descent parser over the text still to read.
struct Parser<'a> {
    rest: &'a str,
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.rest.chars().next()
    }

    fn bump(&mut self) {
        let mut cs = self.rest.chars();
        cs.next();
        self.rest = cs.as_str();
    }

    /// expr := term (('+' | '-') term)*
    fn expr(&mut self) -> Result<Expr, String> {
        let mut acc = self.term()?;
        while let Some(op @ ('+' | '-')) = self.peek() {
            self.bump();
            let rhs = self.term()?;
            acc = Expr::Bin(op, Box::new(acc), Box::new(rhs));
        }
        Ok(acc)
    }

    /// term := unary (('*' | '/') unary)*
    fn term(&mut self) -> Result<Expr, String> {
        let mut acc = self.unary()?;
        while let Some(op @ ('*' | '/')) = self.peek() {
            self.bump();
            let rhs = self.unary()?;
            acc = Expr::Bin(op, Box::new(acc), Box::new(rhs));
        }
        Ok(acc)
    }

    /// unary := '-' unary | atom. No path starts with '-', so a '-' where
    /// an operand is expected is a sign.
    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek() == Some('-') {
            self.bump();
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    /// atom := '(' expr ')' | window(...) | recovery(...) | number | path
    fn atom(&mut self) -> Result<Expr, String> {
        match self.peek() {
            None => return Err("expected a number or a report path at the end".into()),
            Some('(') => {
                self.bump();
                let e = self.expr()?;
                if self.peek() != Some(')') {
                    return Err(format!("missing ')' at {:?}", self.rest));
                }
                self.bump();
                return Ok(e);
            }
            _ => {}
        }
        for name in ["window(", "recovery("] {
            if let Some(r) = self.rest.strip_prefix(name) {
                let close = r.find(')').ok_or(format!("{name}...: missing ')'"))?;
                let args: Vec<&str> = r[..close].split(',').map(str::trim).collect();
                self.rest = &r[close + 1..];
                return function(name, &args);
            }
        }
        let end = self
            .rest
            .find(|c: char| c.is_whitespace() || "+*/()".contains(c))
            .unwrap_or(self.rest.len());
        let tok = &self.rest[..end];
        if tok.is_empty() {
            return Err(format!(
                "expected a number or a report path at {:?}",
                self.rest
            ));
        }
        self.rest = &self.rest[end..];
        Ok(match tok.parse::<f64>() {
            Ok(x) => Expr::Num(x),
            Err(_) => Expr::Path(tok.to_string()),
        })
    }
}

fn function(name: &str, args: &[&str]) -> Result<Expr, String> {
    let num = |x: &str| {
        x.parse::<f64>()
            .map_err(|_| format!("{x:?} is not a number"))
    };
    let want = if name == "window(" { 4 } else { 3 };
    if args.len() != want {
        return Err(format!("{name}...) takes {want} arguments"));
    }
    if name == "recovery(" {
        return Ok(Expr::Recovery {
            field: args[0].to_string(),
            t0: num(args[1])?,
            threshold: num(args[2])?,
        });
    }
    let agg = match args[3] {
        "mean" => Agg::Mean,
        "max" => Agg::Max,
        "min" => Agg::Min,
        "sum" => Agg::Sum,
        other => {
            return Err(format!(
                "window aggregate must be mean, max, min or sum, got {other:?}"
            ))
        }
    };
    Ok(Expr::Window {
        field: args[0].to_string(),
        t0: num(args[1])?,
        t1: num(args[2])?,
        agg,
    })
}

fn lookup(v: &Value, path: &str) -> Result<f64, String> {
    let mut cur = v;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(m) => m
                .get(seg)
                .ok_or_else(|| format!("{path}: no field {seg:?} in the report"))?,
            Value::Array(a) => a
                .get(
                    seg.parse::<usize>()
                        .map_err(|_| format!("{path}: {seg:?} is not an index"))?,
                )
                .ok_or_else(|| format!("{path}: index {seg} out of range"))?,
            _ => return Err(format!("{path}: {seg:?} is inside a number")),
        };
    }
    cur.as_f64().ok_or_else(|| format!("{path}: not a number"))
}

/// The per-window values of `field`: an end-to-end field (`p99_s`,
/// `throughput_rps`...) or `nodes.NAME.FIELD`.
fn series(r: &Report, field: &str) -> Result<Vec<(f64, f64, f64)>, String> {
    type Get = Box<dyn Fn(&crate::metrics::Window) -> Option<Value>>;
    let get: Get = if let Some(rest) = field.strip_prefix("nodes.") {
        let (node, f) = rest
            .split_once('.')
            .ok_or_else(|| format!("{field}: expected nodes.NAME.FIELD"))?;
        let i = r
            .series
            .nodes
            .iter()
            .position(|n| n == node)
            .ok_or_else(|| format!("{field}: no node {node:?} in the series"))?;
        let f = f.to_string();
        Box::new(move |w| {
            let nw = w.nodes.get(i)?;
            let v = serde_json::to_value(nw).ok()?;
            v.get(&f).cloned()
        })
    } else {
        let f = field.to_string();
        Box::new(move |w| {
            let v = serde_json::to_value(w).ok()?;
            v.get(&f).cloned()
        })
    };
    // A window without a value (a percentile of a window that answered
    // nothing) is left out; a name that is no window field is an error.
    let mut out = Vec::new();
    for w in &r.series.windows {
        match get(w) {
            None => return Err(format!("{field}: not a window field")),
            Some(Value::Null) => {}
            Some(v) => {
                let x = v.as_f64().ok_or_else(|| format!("{field}: not a number"))?;
                out.push((w.t_start_s, w.t_end_s, x));
            }
        }
    }
    Ok(out)
}

fn window(r: &Report, field: &str, t0: f64, t1: f64, agg: Agg) -> Result<f64, String> {
    let xs: Vec<f64> = series(r, field)?
        .into_iter()
        .filter(|(a, b, _)| *a >= t0 && *b <= t1)
        .map(|(_, _, x)| x)
        .collect();
    if xs.is_empty() {
        return Err(format!(
            "window({field}, {t0}, {t1}): no complete window in that range"
        ));
    }
    Ok(match agg {
        Agg::Mean => xs.iter().sum::<f64>() / xs.len() as f64,
        Agg::Max => xs.iter().cloned().fold(f64::MIN, f64::max),
        Agg::Min => xs.iter().cloned().fold(f64::MAX, f64::min),
        Agg::Sum => xs.iter().sum(),
    })
}

fn recovery(r: &Report, field: &str, t0: f64, threshold: f64) -> Result<f64, String> {
    let s = series(r, field)?;
    let after: Vec<&(f64, f64, f64)> = s.iter().filter(|w| w.0 >= t0).collect();
    let end = after.last().map_or(t0, |w| w.1);
    // The first window from which every later one is at or below the
    // threshold.
    let mut rec = end;
    for w in after.iter().rev() {
        if w.2 <= threshold {
            rec = w.0;
        } else {
            break;
        }
    }
    Ok(rec - t0)
}

/// Evaluates `e` on a report (`r`, and `json`, the same report as JSON);
/// `None` when there is none (numbers only).
fn eval(e: &Expr, r: Option<&Report>, json: &Value) -> Result<f64, String> {
    let report = || r.ok_or_else(|| "no report to read".to_string());
    Ok(match e {
        Expr::Num(x) => *x,
        Expr::Path(p) => lookup(json, p)?,
        Expr::Window { field, t0, t1, agg } => window(report()?, field, *t0, *t1, *agg)?,
        Expr::Recovery {
            field,
            t0,
            threshold,
        } => recovery(report()?, field, *t0, *threshold)?,
        Expr::Neg(a) => -eval(a, r, json)?,
        Expr::Bin(op, a, b) => {
            let (x, y) = (eval(a, r, json)?, eval(b, r, json)?);
            match op {
                '+' => x + y,
                '-' => x - y,
                '*' => x * y,
                _ => x / y,
            }
        }
    })
}

/// Evaluates a metric on one report.
pub fn eval_metric(metric: &str, r: &Report) -> Result<f64, String> {
    let e = parse_metric(metric)?;
    let json = serde_json::to_value(r).map_err(|e| e.to_string())?;
    eval(&e, Some(r), &json)
}

/// Evaluates several metrics on one report (the report is turned into
/// JSON once).
pub fn eval_metrics(metrics: &[&str], r: &Report) -> Vec<Result<f64, String>> {
    let json = match serde_json::to_value(r) {
        Ok(j) => j,
        Err(e) => return metrics.iter().map(|_| Err(e.to_string())).collect(),
    };
    metrics
        .iter()
        .map(|m| eval(&parse_metric(m)?, Some(r), &json))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluates an expression of numbers only (no report needed).
    fn num(s: &str) -> f64 {
        let e = parse_metric(s).unwrap();
        eval(&e, None, &Value::Null).unwrap()
    }

    #[test]
    fn the_language_parses_what_it_should_and_names_what_it_cannot() {
        assert!(parse_metric("a.b / c.d * 2").is_ok());
        assert!(parse_metric("window(p99_s, 0, 10, max)").is_ok());
        assert!(parse_metric("window(p99_s, 0, 10, median)").is_err());
        assert!(parse_metric("recovery(p99_s, 60, 0.5) - 1").is_ok());
        assert!(parse_metric("(window(p99_s, 0, 10, max) + 1) / 2").is_ok());
        assert!(parse_metric("").is_err());
        assert!(parse_metric("a.b % 2").is_err());
        assert!(parse_metric("(a.b + 1")
            .unwrap_err()
            .contains("missing ')'"));
        assert!(parse_metric("a.b + 1)").unwrap_err().contains("unmatched"));
        assert!(parse_metric("a.b +").is_err());
    }

    #[test]
    fn operators_have_the_usual_precedence() {
        // Read left to right without precedence, 1 + 2 + 3 / 3 would be 2.
        assert_eq!(num("1 + 2 + 3 / 3"), 4.0);
        assert_eq!(num("(1 + 2 + 3) / 3"), 2.0);
        assert_eq!(num("2 * 3 + 4 * 5"), 26.0);
        assert_eq!(num("10 - 4 - 3"), 3.0);
        assert_eq!(num("8 / 4 / 2"), 1.0);
        assert_eq!(num("-2 * -3"), 6.0);
        assert_eq!(num("1 - -1"), 2.0);
        assert_eq!(num("2 * (3 - (1 + 1))"), 2.0);
    }

    #[test]
    fn a_dash_inside_a_name_is_part_of_the_path() {
        assert_eq!(
            parse_metric("nodes.web-1.arrived - 1").unwrap(),
            Expr::Bin(
                '-',
                Box::new(Expr::Path("nodes.web-1.arrived".into())),
                Box::new(Expr::Num(1.0))
            )
        );
    }
}
