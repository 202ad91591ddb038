//! Handler steps (docs/SCENARIOS.md, "Handler steps"): every step kind, with
//! nesting, locks and fan-out, drawn against what the topology offers.

use super::values::{policy, Values};
use serde_json::{json, Map, Value};

/// What a handler may refer to: the callable nodes (later in the serving
/// order, so calls never form a cycle), the data nodes, the caller's pools.
#[derive(Default)]
pub struct Targets {
    /// (name, endpoints) of services, externals and balancers this handler
    /// may call.
    pub callable: Vec<(String, Vec<String>)>,
    /// (database, tables).
    pub dbs: Vec<(String, Vec<String>)>,
    pub caches: Vec<String>,
    pub brokers: Vec<String>,
    pub pools: Vec<String>,
}

/// Builds step lists within the validator's limits (nesting <= 4, locks
/// <= 2, parallel 1..32).
pub struct Steps<'t> {
    pub t: &'t Targets,
    /// How far counts may go (`repeat`, fan-out): kept small so a case runs
    /// in milliseconds, unless the profile wants extremes.
    pub count_typ: u64,
}

impl Steps<'_> {
    /// A handler: 1 to `max` steps.
    pub fn handler(&self, v: &mut Values, max: u64) -> Vec<Value> {
        let n = v.g.int(1, max);
        (0..n).map(|_| self.step(v, 0, 0)).collect()
    }

    fn list(&self, v: &mut Values, depth: u32, locks: u32, lo: u64) -> Vec<Value> {
        let n = v.g.int(lo, 3);
        (0..n).map(|_| self.step(v, depth, locks)).collect()
    }

    /// One step at nesting `depth`.
    pub fn step(&self, v: &mut Values, depth: u32, locks: u32) -> Value {
        let t = self.t;
        let nest = depth < 4;
        let w = [
            6,                                 // compute
            4 * !t.callable.is_empty() as u32, // call
            4 * !t.dbs.is_empty() as u32,      // query
            // A cache read's on_miss is a nesting level even when empty.
            3 * (nest && !t.caches.is_empty()) as u32, // cache_read
            1,                                         // write
            2 * !t.brokers.is_empty() as u32,          // publish
            2 * nest as u32,                           // repeat
            2 * self.parallel_ok() as u32,             // parallel
            2 * (nest && locks < 2) as u32,            // locked
            2 * nest as u32,                           // choose
        ];
        match v.g.weighted(&w) {
            0 => json!({ "compute": v.dist(1e-4, 2e-2, 0.05, true) }),
            1 => json!({ "call": self.call(v, true) }),
            2 => json!({ "query": self.query(v, true) }),
            3 => self.cache_read(v, depth, locks),
            4 => self.write(v),
            5 => json!({ "publish": self.publish(v) }),
            6 => json!({ "repeat": {
                "count": v.count(self.count_typ, true, false),
                "steps": self.list(v, depth + 1, locks, 1),
            } }),
            7 => self.parallel(v),
            8 => {
                let mut l = Map::new();
                l.insert(
                    "lock".into(),
                    json!(v.g.pick(&["stock", "account", "global"])),
                );
                if v.g.chance(0.7) {
                    l.insert("key".into(), v.key());
                }
                l.insert("steps".into(), json!(self.list(v, depth + 1, locks + 1, 1)));
                json!({ "locked": l })
            }
            _ => self.choose(v, depth, locks),
        }
    }

    fn parallel_ok(&self) -> bool {
        !(self.t.callable.is_empty() && self.t.dbs.is_empty() && self.t.brokers.is_empty())
    }

    /// A `call` body. `counted`: may carry `count`/`parallel` (not inside
    /// a `parallel` step).
    pub fn call(&self, v: &mut Values, counted: bool) -> Value {
        let (to, eps) = v.g.pick(&self.t.callable).clone();
        let mut m = Map::new();
        m.insert("to".into(), json!(to));
        if !eps.is_empty() && v.g.chance(0.6) {
            m.insert("endpoint".into(), json!(v.g.pick(&eps)));
        }
        self.fan_out(v, &mut m, counted);
        if v.g.chance(0.1) {
            m.insert("blocking".into(), json!(true));
        }
        policy(v, &mut m, &self.t.pools, 1.0);
        Value::Object(m)
    }

    fn fan_out(&self, v: &mut Values, m: &mut Map<String, Value>, counted: bool) {
        if counted && v.g.chance(0.25) {
            m.insert("count".into(), v.count(self.count_typ, true, false));
            if v.g.chance(0.5) {
                m.insert("parallel".into(), json!(true));
            }
        }
    }

    fn query(&self, v: &mut Values, counted: bool) -> Value {
        let (db, tables) = v.g.pick(&self.t.dbs).clone();
        let mut m = Map::new();
        m.insert("db".into(), json!(db));
        m.insert("table".into(), json!(v.g.pick(&tables)));
        if v.g.chance(0.7) {
            m.insert("kind".into(), json!(v.g.pick(&["pk", "indexed", "scan"])));
        }
        if v.g.chance(0.5) {
            m.insert("rows".into(), v.count(20, true, true));
        }
        if v.g.chance(0.2) {
            m.insert("page_size".into(), json!(v.int(1, 100, u32::MAX as u64)));
        }
        if v.g.chance(0.25) {
            m.insert("write".into(), json!(true));
        }
        if v.g.chance(0.5) {
            m.insert("key".into(), v.key());
        }
        self.fan_out(v, &mut m, counted);
        policy(v, &mut m, &self.t.pools, 0.6);
        Value::Object(m)
    }

    fn cache_read(&self, v: &mut Values, depth: u32, locks: u32) -> Value {
        let mut m = Map::new();
        m.insert("cache".into(), json!(v.g.pick(&self.t.caches)));
        m.insert("key".into(), v.key());
        if v.g.chance(0.4) {
            m.insert("size_kb".into(), json!(v.g.magnitude(0.1, 2000.0)));
        }
        if v.g.chance(0.8) {
            m.insert("on_miss".into(), json!(self.list(v, depth + 1, locks, 0)));
        }
        for flag in ["single_flight", "versioned_keys"] {
            if v.g.chance(0.3) {
                m.insert(flag.into(), json!(true));
            }
        }
        policy(v, &mut m, &self.t.pools, 0.5);
        json!({ "cache_read": m })
    }

    fn write(&self, v: &mut Values) -> Value {
        let mut m = Map::new();
        m.insert("key".into(), v.key());
        if !self.t.caches.is_empty() && v.g.chance(0.6) {
            m.insert("cache".into(), json!(v.g.pick(&self.t.caches)));
            m.insert("invalidate".into(), json!(v.g.pick(&["none", "delete"])));
        }
        json!({ "write": m })
    }

    fn publish(&self, v: &mut Values) -> Value {
        let mut m = Map::new();
        m.insert("broker".into(), json!(v.g.pick(&self.t.brokers)));
        if v.g.chance(0.5) {
            m.insert("key".into(), v.key());
        }
        policy(v, &mut m, &self.t.pools, 0.5);
        Value::Object(m)
    }

    fn parallel(&self, v: &mut Values) -> Value {
        let n = v.int(1, 4, 32);
        let mut branches = Vec::new();
        for _ in 0..n {
            let w = [
                !self.t.callable.is_empty() as u32,
                !self.t.dbs.is_empty() as u32,
                !self.t.brokers.is_empty() as u32,
            ];
            branches.push(match v.g.weighted(&w) {
                0 => json!({ "call": self.call(v, false) }),
                1 => json!({ "query": self.query(v, false) }),
                _ => json!({ "publish": self.publish(v) }),
            });
        }
        json!({ "parallel": branches })
    }

    fn choose(&self, v: &mut Values, depth: u32, locks: u32) -> Value {
        let n = v.g.int(1, 3) as usize;
        // Probabilities that add up to 1 exactly: a switch (1, 0, ...) or
        // multiples of 1/8 with the remainder on the last branch.
        let mut ps = vec![0.0; n];
        if v.g.chance(0.4) {
            ps[v.g.index(n)] = 1.0;
        } else {
            let mut left = 8;
            for p in ps.iter_mut().take(n - 1) {
                let k = v.g.int(0, left);
                *p = k as f64 / 8.0;
                left -= k;
            }
            ps[n - 1] = left as f64 / 8.0;
        }
        let branches: Vec<Value> = ps
            .iter()
            .map(|p| json!({ "p": p, "steps": self.list(v, depth + 1, locks, 0) }))
            .collect();
        json!({ "choose": branches })
    }
}
