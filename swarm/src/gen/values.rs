//! Leaf values of the scenario vocabulary: durations, distributions, counts,
//! keys and call policies (docs/SCENARIOS.md, "Distributions", "Counts",
//! "Keys and users", "Call policy").
//!
//! Every draw goes through [`Values`], which holds the profile's taste for
//! extremes: with probability `edge` a number is a legal boundary (0, 1 ns,
//! 1e-12 s, 1.9e10 s, the largest count) instead of a typical value. The
//! `valid` profile keeps `edge` at 0 and so finds bugs in ordinary use; the
//! `edge` profile finds what legal but absurd numbers do (issue #17).

use crate::rng::Gen;
use serde_json::{json, Map, Value};

/// Durations that are legal where "a number > 0" is, and hostile.
const EDGE_SECS: [f64; 9] = [1e-12, 1e-9, 1e-6, 1e5, 1e7, 1.9e10, 1e12, 1e155, 1e300];

/// A generator of leaf values with a taste for extremes.
pub struct Values<'a> {
    pub g: &'a mut Gen,
    /// Probability that a number is a legal extreme.
    pub edge: f64,
}

impl Values<'_> {
    fn edgy(&mut self) -> bool {
        self.edge > 0.0 && self.g.chance(self.edge)
    }

    /// Seconds > 0: typically log-uniform in `[lo, hi]`.
    pub fn secs(&mut self, lo: f64, hi: f64) -> f64 {
        if self.edgy() {
            return *self.g.pick(&EDGE_SECS);
        }
        self.g.magnitude(lo, hi)
    }

    /// Seconds >= 0: like [`Values::secs`], sometimes exactly 0.
    pub fn secs0(&mut self, lo: f64, hi: f64, p_zero: f64) -> f64 {
        if self.g.chance(p_zero) {
            return 0.0;
        }
        self.secs(lo, hi)
    }

    /// An integer in the legal range `[lo, max]`, typically in `[lo, typ]`.
    pub fn int(&mut self, lo: u64, typ: u64, max: u64) -> u64 {
        if self.edgy() {
            return if self.g.chance(0.5) { lo } else { max };
        }
        self.g.int(lo, typ.min(max))
    }

    /// A probability, typically small.
    pub fn prob(&mut self, typ: f64) -> f64 {
        if self.edgy() {
            return *self.g.pick(&[0.0, 1.0, 1e-300, 0.999_999_999]);
        }
        if self.g.chance(0.3) {
            0.0
        } else {
            Gen::round3(self.g.uniform(0.0, typ))
        }
    }

    /// A rate in requests/s, legal range (0, 1e7].
    pub fn rate(&mut self, lo: f64, hi: f64) -> f64 {
        if self.edgy() {
            return *self.g.pick(&[1e-9, 1e-3, 1e5, 1e7]);
        }
        self.g.magnitude(lo, hi)
    }

    /// A duration distribution with a mean around `[lo, hi]` seconds.
    pub fn dist(&mut self, lo: f64, hi: f64, p_zero: f64, nest: bool) -> Value {
        let kinds: &[u32] = if nest {
            &[3, 5, 2, 4, 2, 1]
        } else {
            &[3, 5, 2, 4, 2, 0]
        };
        match self.g.weighted(kinds) {
            0 => json!({ "dist": "constant", "value_s": self.secs0(lo, hi, p_zero) }),
            1 => json!({ "dist": "exponential", "mean_s": self.secs(lo, hi) }),
            2 => {
                let a = self.secs0(lo, hi, p_zero);
                let b = if self.g.chance(0.2) {
                    a
                } else {
                    Gen::round3(a + self.secs(lo, hi))
                };
                json!({ "dist": "uniform", "min_s": a, "max_s": b })
            }
            3 => {
                let cv = if self.edgy() {
                    *self.g.pick(&[1e-12, 1e3, 1e155, 1e300])
                } else {
                    self.g.magnitude(0.05, 4.0)
                };
                json!({ "dist": "lognormal", "mean_s": self.secs(lo, hi), "cv": cv })
            }
            4 => {
                json!({ "dist": "erlang", "k": self.int(1, 8, 1000), "mean_s": self.secs(lo, hi) })
            }
            _ => json!({
                "dist": "mixture",
                "p_slow": self.prob(0.2),
                "fast": self.dist(lo, hi, p_zero, false),
                "slow": self.dist(lo * 10.0, hi * 10.0, 0.0, false),
            }),
        }
    }

    /// A per-request count (plain integer or a `dist` table). `items`
    /// allows `{ dist = "items" }`; `table` allows `{ dist = "table" }`.
    pub fn count(&mut self, typ: u64, items: bool, table: bool) -> Value {
        let max = 1_000_000;
        let w = [5, 1, 2, 2, 2, items as u32 * 3, table as u32 * 2];
        match self.g.weighted(&w) {
            0 => json!(self.int(0, typ, max)),
            1 => json!({ "dist": "constant", "value": self.int(0, typ, max) }),
            2 => {
                let a = self.int(0, typ, max);
                json!({ "dist": "uniform", "min": a, "max": a + self.int(0, typ, max - a) })
            }
            3 => json!({ "dist": "poisson", "mean": self.count_mean(typ) }),
            4 => json!({ "dist": "geometric", "mean": self.count_mean(typ) }),
            5 => {
                let plus = self.g.int(0, 3) as i64 - 1;
                json!({ "dist": "items", "plus": plus, "times": self.int(1, 3, 10_000) })
            }
            _ => json!({ "dist": "table", "fraction": Gen::round3(self.g.log_uniform(1e-6, 1.0)) }),
        }
    }

    fn count_mean(&mut self, typ: u64) -> f64 {
        if self.edgy() {
            return *self.g.pick(&[0.0, 1e6]);
        }
        Gen::round3(self.g.uniform(0.0, typ as f64))
    }

    /// A key spec over one of a few shared key spaces.
    pub fn key(&mut self) -> Value {
        let space = *self.g.pick(&["users", "orders", "items", "sessions"]);
        let mut k = Map::new();
        k.insert("space".into(), json!(space));
        k.insert("n".into(), json!(self.int(1, 5000, 100_000_000)));
        if self.g.chance(0.6) {
            let z = if self.edgy() {
                5.0
            } else {
                Gen::round3(self.g.uniform(0.0, 1.5))
            };
            k.insert("zipf".into(), json!(z));
        }
        if self.g.chance(0.2) {
            k.insert("per_user".into(), json!(true));
        }
        Value::Object(k)
    }
}

/// The fields of a call policy (docs/SCENARIOS.md, "Call policy"), added to
/// `m`. `pools` are the caller's pools (empty for sources and consumers).
pub fn policy(v: &mut Values, m: &mut Map<String, Value>, pools: &[String], richness: f64) {
    let maybe = |v: &mut Values, p: f64| v.g.chance(p * richness);
    if maybe(v, 0.4) {
        m.insert("hop".into(), v.dist(1e-4, 5e-3, 0.2, false));
    }
    if maybe(v, 0.15) {
        m.insert("bandwidth_mbps".into(), json!(v.g.magnitude(1.0, 10_000.0)));
    }
    if maybe(v, 0.2) {
        m.insert("request_kb".into(), json!(v.g.magnitude(0.1, 2000.0)));
    }
    if maybe(v, 0.2) {
        m.insert("response_kb".into(), json!(v.g.magnitude(0.1, 2000.0)));
    }
    if maybe(v, 0.1) {
        let ratio = Gen::round3(1.0 + v.g.uniform(0.0, 9.0));
        m.insert(
            "compression".into(),
            json!({ "ratio": ratio, "cpu_s_per_mb": v.secs0(1e-4, 1e-2, 0.3) }),
        );
    }
    if maybe(v, 0.1) {
        let trips = v.int(0, 2, 10);
        m.insert(
            "connection".into(),
            json!({
                "keep_alive": v.g.chance(0.3),
                "handshake_round_trips": trips,
                "handshake_cpu_s": v.secs0(1e-4, 1e-2, 0.3),
            }),
        );
    }
    if maybe(v, 0.35) {
        m.insert("timeout_s".into(), json!(v.secs(1e-3, 3.0)));
        if v.g.chance(0.4) {
            m.insert("deadline_propagation".into(), json!(true));
        }
    }
    if maybe(v, 0.3) {
        m.insert("retries".into(), retries(v));
    }
    if maybe(v, 0.2) {
        m.insert("breaker".into(), breaker(v));
    }
    if maybe(v, 0.15) {
        let f = if v.g.chance(0.5) {
            json!({ "latency": v.dist(1e-4, 1e-2, 0.3, false) })
        } else {
            json!({})
        };
        m.insert("fallback".into(), f);
    }
    if maybe(v, 0.12) {
        m.insert("hedge".into(), json!({ "after_s": v.secs(1e-3, 0.5) }));
    }
    if !pools.is_empty() && maybe(v, 0.3) {
        m.insert("pool".into(), json!(v.g.pick(pools)));
    }
    if maybe(v, 0.1) {
        m.insert("side_effect".into(), json!(true));
        if v.g.chance(0.5) {
            m.insert("idempotency_key".into(), json!(true));
        }
    }
}

fn retries(v: &mut Values) -> Value {
    let mut r = Map::new();
    r.insert("max".into(), json!(v.int(0, 4, 20)));
    if v.g.chance(0.6) {
        let base = v.secs(1e-3, 0.3).max(1e-9);
        let max_s = Gen::round3(base * v.g.uniform(1.0, 50.0)).max(base);
        let jitter = *v.g.pick(&["none", "full", "equal", "decorrelated"]);
        let mult = Gen::round3(1.0 + v.g.uniform(0.0, 3.0));
        r.insert(
            "backoff".into(),
            json!({ "base_s": base, "max_s": max_s, "multiplier": mult, "jitter": jitter }),
        );
    }
    if v.g.chance(0.4) {
        r.insert(
            "budget".into(),
            json!({
                "ratio": Gen::round3(v.g.uniform(0.0, 1.0)),
                "min_per_s": Gen::round3(v.g.uniform(0.0, 50.0)),
                "ttl_s": v.g.magnitude(0.5, 30.0),
            }),
        );
    }
    Value::Object(r)
}

fn breaker(v: &mut Values) -> Value {
    let window = v.int(1, 100, 1_000_000);
    json!({
        "failure_ratio": Gen::round3(v.g.uniform(0.05, 1.0)),
        "min_calls": v.g.int(1, window),
        "window": window,
        "open_s": v.secs(0.05, 10.0),
        "half_open_calls": v.int(1, 5, 1000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_distribution_validates() {
        for seed in 0..300 {
            let mut g = Gen::new(seed);
            let mut v = Values {
                g: &mut g,
                edge: 0.0,
            };
            let d: sim_core::DistSpec =
                serde_json::from_value(v.dist(1e-3, 1.0, 0.1, true)).unwrap();
            d.validate().unwrap();
        }
    }
}
