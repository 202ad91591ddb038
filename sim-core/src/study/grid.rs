//! The points of a sweep: varied parameters (`--vary PATH=VALUES`), their
//! full grid or zipped lists, and shards of it (`--shard i/n`).

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::StudyError;

/// Most values one `--vary` may list, and most points a grid may have.
const MAX_VALUES: usize = 1_000_000;
const MAX_POINTS: usize = 10_000_000;

/// One varied parameter: a scenario path and its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vary {
    pub path: String,
    pub values: Vec<Value>,
}

impl Vary {
    /// Parses `PATH=VALUES`, VALUES being
    /// - a range `START:END:STEP` (END included when a step lands on it;
    ///   integers stay integers, decimals are rounded to the inputs' places),
    /// - a list `A,B,C` (each value JSON or a bare string),
    /// - or a JSON array `[...]` (for values that hold commas).
    pub fn parse(spec: &str) -> Result<Vary, StudyError> {
        let err = |m: String| StudyError::option(format!("--vary {spec}"), m);
        let (path, rhs) = spec
            .split_once('=')
            .ok_or_else(|| err("expected PATH=VALUES, e.g. nodes.api.workers=4,8,16".into()))?;
        let path = path.trim();
        if path.is_empty() {
            return Err(err("the path is empty".into()));
        }
        let rhs = rhs.trim();
        let values = if rhs.is_empty() {
            return Err(err("no values after '='".into()));
        } else if rhs.starts_with('[') {
            match serde_json::from_str::<Value>(rhs) {
                Ok(Value::Array(a)) if !a.is_empty() => a,
                Ok(_) => return Err(err("the JSON list is empty".into())),
                Err(e) => return Err(err(format!("not a JSON list: {e}"))),
            }
        } else if rhs.contains(':') && !rhs.contains(',') {
            range(rhs).map_err(err)?
        } else {
            rhs.split(',')
                .map(|v| {
                    let v = v.trim();
                    if v.is_empty() {
                        Err(err(format!("an empty value in the list {rhs:?}")))
                    } else {
                        Ok(serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.into())))
                    }
                })
                .collect::<Result<_, _>>()?
        };
        if values.iter().any(|v| value_text(v).contains(['\n', '\r'])) {
            return Err(err("a value holds a line break".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(v) = values.iter().find(|v| !seen.insert(value_text(v))) {
            return Err(err(format!("the value {} appears twice", value_text(v))));
        }
        Ok(Vary {
            path: path.to_string(),
            values,
        })
    }
}

/// `START:END:STEP`.
fn range(rhs: &str) -> Result<Vec<Value>, String> {
    let parts: Vec<&str> = rhs.split(':').map(str::trim).collect();
    let [a, b, step] = parts.as_slice() else {
        return Err(format!(
            "a range is START:END:STEP, e.g. 100:1000:100; got {} parts",
            parts.len()
        ));
    };
    let num = |s: &str| -> Result<f64, String> {
        s.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("{s:?} is not a number"))
    };
    let (x0, x1, dx) = (num(a)?, num(b)?, num(step)?);
    if dx <= 0.0 {
        return Err(format!("the step must be > 0, got {step}"));
    }
    if x0 > x1 {
        return Err(format!("empty range: start {a} is above end {b}"));
    }
    let count = ((x1 - x0) / dx + 1e-9).floor() + 1.0;
    if count > MAX_VALUES as f64 {
        return Err(format!("{count} values: at most {MAX_VALUES}"));
    }
    let count = count as usize;
    let ints = [a, b, step].iter().all(|s| s.parse::<i64>().is_ok());
    if ints {
        let (i0, di) = (a.parse::<i64>().unwrap(), step.parse::<i64>().unwrap());
        return Ok((0..count as i64)
            .map(|k| Value::from(i0 + k * di))
            .collect());
    }
    // Round to the inputs' decimal places: 0.1:0.3:0.1 gives 0.3, not
    // 0.30000000000000004.
    let places = [a, b, step]
        .iter()
        .map(|s| match s.split_once('.') {
            Some((_, frac)) if !s.contains(['e', 'E']) => frac.len() as i32,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    let scale = 10f64.powi(places.min(15));
    Ok((0..count)
        .map(|k| {
            let x = ((x0 + k as f64 * dx) * scale).round() / scale;
            Value::Number(Number::from_f64(x).expect("finite"))
        })
        .collect())
}

/// A value as a table cell shows it: strings bare, anything else as JSON.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The points of a sweep: every combination of the varied values (the
/// first parameter varies slowest), or with `zip` the i-th value of each.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub vary: Vec<Vary>,
    pub zip: bool,
    len: usize,
}

impl Grid {
    pub fn new(vary: Vec<Vary>, zip: bool) -> Result<Grid, StudyError> {
        if vary.is_empty() {
            return Err(StudyError::option(
                "--vary",
                "a sweep needs at least one --vary PATH=VALUES",
            ));
        }
        for (i, v) in vary.iter().enumerate() {
            if vary[..i].iter().any(|w| w.path == v.path) {
                return Err(StudyError::option(
                    format!("--vary {}", v.path),
                    "this path is varied twice",
                ));
            }
        }
        let len = if zip {
            let n = vary[0].values.len();
            if let Some(v) = vary.iter().find(|v| v.values.len() != n) {
                return Err(StudyError::option(
                    "--zip",
                    format!(
                        "zipped lists must have the same length: {} has {n} values, {} has {}",
                        vary[0].path,
                        v.path,
                        v.values.len()
                    ),
                ));
            }
            n
        } else {
            vary.iter().try_fold(1usize, |acc, v| {
                acc.checked_mul(v.values.len())
                    .filter(|&n| n <= MAX_POINTS)
                    .ok_or_else(|| {
                        StudyError::option(
                            "--vary",
                            format!("the grid has over {MAX_POINTS} points"),
                        )
                    })
            })?
        };
        Ok(Grid { vary, zip, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The values of point `k` (`k < len`), one per varied parameter.
    pub fn point(&self, k: usize) -> Vec<Value> {
        if self.zip {
            return self.vary.iter().map(|v| v.values[k].clone()).collect();
        }
        let mut rest = k;
        let mut out: Vec<Value> = self
            .vary
            .iter()
            .rev()
            .map(|v| {
                let n = v.values.len();
                let x = v.values[rest % n].clone();
                rest /= n;
                x
            })
            .collect();
        out.reverse();
        out
    }

    /// Point `k` as (path, value) overrides.
    pub fn overrides(&self, k: usize) -> Vec<(String, Value)> {
        self.vary
            .iter()
            .map(|v| v.path.clone())
            .zip(self.point(k))
            .collect()
    }
}

/// One of `count` shards of a sweep: points `k` with `k % count == index - 1`
/// (round robin, so each shard gets a spread of cheap and dear points).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parses `i/n` with 1 <= i <= n.
    pub fn parse(s: &str) -> Result<Shard, StudyError> {
        let err = |m: String| StudyError::option(format!("--shard {s}"), m);
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| err("expected i/n, e.g. 2/8 for the second of 8 shards".into()))?;
        let int = |x: &str| {
            x.trim()
                .parse::<usize>()
                .map_err(|_| err(format!("{x:?} is not a whole number")))
        };
        let (index, count) = (int(i)?, int(n)?);
        if count == 0 {
            return Err(err("the number of shards must be at least 1".into()));
        }
        if index == 0 || index > count {
            return Err(err(format!(
                "the shard index must be between 1 and {count} (shards count from 1)"
            )));
        }
        Ok(Shard { index, count })
    }

    pub fn holds(&self, k: usize) -> bool {
        k % self.count == self.index - 1
    }

    pub fn text(&self) -> String {
        format!("{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(spec: &str) -> Vec<Value> {
        Vary::parse(spec).unwrap().values
    }

    #[test]
    fn ranges_lists_and_json() {
        assert_eq!(
            values("a=100:500:100"),
            vec![json!(100), json!(200), json!(300), json!(400), json!(500)]
        );
        assert_eq!(values("a=1:10:4"), vec![json!(1), json!(5), json!(9)]);
        assert_eq!(
            values("a=0.1:0.3:0.1"),
            vec![json!(0.1), json!(0.2), json!(0.3)]
        );
        assert_eq!(
            values("a=0.5:1:0.25"),
            vec![json!(0.5), json!(0.75), json!(1.0)]
        );
        assert_eq!(values("a=4,8,16"), vec![json!(4), json!(8), json!(16)]);
        assert_eq!(values("a=none, fixed"), vec![json!("none"), json!("fixed")]);
        assert_eq!(
            values(r#"a=[{"max":3},{"max":0}]"#),
            vec![json!({"max":3}), json!({"max":0})]
        );
        assert_eq!(Vary::parse(" nodes.x = 1,2").unwrap().path, "nodes.x");
    }

    #[test]
    fn bad_specs_name_the_problem() {
        for (spec, want) in [
            ("a", "expected PATH=VALUES"),
            ("=1,2", "path is empty"),
            ("a=", "no values"),
            ("a=1000:100:100", "empty range"),
            ("a=1:x:2", "\"x\" is not a number"),
            ("a=1:5", "START:END:STEP"),
            ("a=1:5:0", "step must be > 0"),
            ("a=4,,8", "empty value"),
            ("a=[]", "empty"),
            ("a=[1,", "not a JSON list"),
            ("a=1,2,1", "appears twice"),
            ("a=0:1e9:1", "at most"),
        ] {
            let e = Vary::parse(spec).unwrap_err().to_string();
            assert!(e.contains(want), "{spec}: {e}");
            assert!(e.starts_with(&format!("--vary {spec}")), "{e}");
        }
    }

    #[test]
    fn full_grid_varies_the_first_parameter_slowest() {
        let g = Grid::new(
            vec![
                Vary::parse("a=1,2").unwrap(),
                Vary::parse("b=x,y,z").unwrap(),
            ],
            false,
        )
        .unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g.point(0), vec![json!(1), json!("x")]);
        assert_eq!(g.point(2), vec![json!(1), json!("z")]);
        assert_eq!(g.point(3), vec![json!(2), json!("x")]);
        assert_eq!(
            g.overrides(5),
            vec![("a".into(), json!(2)), ("b".into(), json!("z"))]
        );
    }

    #[test]
    fn zip_pairs_lists_of_equal_length() {
        let v = |s| Vary::parse(s).unwrap();
        let g = Grid::new(vec![v("a=1,2,3"), v("b=x,y,z")], true).unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!(g.point(1), vec![json!(2), json!("y")]);
        let e = Grid::new(vec![v("a=1,2,3"), v("b=x,y")], true).unwrap_err();
        assert!(e.to_string().contains("same length"), "{e}");
        let e = Grid::new(vec![v("a=1"), v("a=2")], false).unwrap_err();
        assert!(e.to_string().contains("varied twice"), "{e}");
        assert!(Grid::new(vec![], false).is_err());
    }

    #[test]
    fn shards_partition_the_points() {
        let shards: Vec<Shard> = (1..=3)
            .map(|i| Shard::parse(&format!("{i}/3")).unwrap())
            .collect();
        for k in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.holds(k)).count(), 1);
        }
        assert!(shards[0].holds(0) && shards[0].holds(3) && shards[2].holds(2));
        for (s, want) in [
            ("3/2", "between 1 and 2"),
            ("0/2", "between 1 and 2"),
            ("1/0", "at least 1"),
            ("a/2", "not a whole number"),
            ("2", "expected i/n"),
        ] {
            let e = Shard::parse(s).unwrap_err().to_string();
            assert!(e.contains(want) && e.starts_with("--shard"), "{s}: {e}");
        }
    }
}
