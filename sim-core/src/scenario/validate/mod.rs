//! Every rule of the scenario format, in one style: each check returns a
//! [`ScenarioError`] naming the dotted path of the offending field. Numbers
//! are range-checked once, here, against the table of `bounds.rs`
//! ([`num`]); handler steps are read through the walker of `visit.rs`. The
//! rest are cross-field rules (a target exists and is of the right kind,
//! probabilities add up, calls form no cycle).

use super::bounds::bounds;
use super::doc::ScenarioError;
use super::spec::*;
use super::visit::{walk_steps, StepAt};

type R = Result<(), ScenarioError>;

fn err(path: impl Into<String>, msg: impl Into<String>) -> ScenarioError {
    ScenarioError::new(path, msg)
}

/// `prefix.field` (or `field` at the top).
fn at(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

/// The range check of the number at `path`, from the bounds table.
pub(crate) fn num(path: &str, v: f64) -> R {
    match bounds(path) {
        Some(b) => b.check(path, v),
        None => {
            debug_assert!(false, "no bounds for {path}");
            if v.is_finite() {
                Ok(())
            } else {
                Err(err(path, format!("must be a finite number, got {v}")))
            }
        }
    }
}

/// Names that appear in paths (nodes, endpoints, pools, tables).
fn name(path: &str, n: &str) -> R {
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(err(
            path,
            "names use letters, digits, '_' and '-' (1 to 64 characters)",
        ))
    }
}

// ----- value types -------------------------------------------------------------------

pub(crate) fn dist(p: &str, d: &DistSpec) -> R {
    match d {
        DistSpec::Constant { value_s } => num(&at(p, "value_s"), *value_s),
        DistSpec::Exponential { mean_s } => num(&at(p, "mean_s"), *mean_s),
        DistSpec::Uniform { min_s, max_s } => {
            num(&at(p, "min_s"), *min_s)?;
            num(&at(p, "max_s"), *max_s)?;
            if max_s < min_s {
                return Err(err(
                    at(p, "max_s"),
                    format!("must be >= min_s ({min_s}), got {max_s}"),
                ));
            }
            Ok(())
        }
        DistSpec::Lognormal { mean_s, cv } => {
            num(&at(p, "mean_s"), *mean_s)?;
            num(&at(p, "cv"), *cv)
        }
        DistSpec::Erlang { k, mean_s } => {
            num(&at(p, "k"), *k as f64)?;
            num(&at(p, "mean_s"), *mean_s)
        }
        DistSpec::Mixture { p_slow, fast, slow } => {
            num(&at(p, "p_slow"), *p_slow)?;
            dist(&at(p, "fast"), fast)?;
            dist(&at(p, "slow"), slow)
        }
    }
}

fn count(p: &str, c: &Count, allow_table: bool) -> R {
    let d = match c {
        Count::Constant(n) => return num(p, *n as f64),
        Count::Dist(d) => d,
    };
    match d {
        CountDist::Constant { value } => num(&at(p, "value"), *value as f64),
        CountDist::Uniform { min, max } => {
            num(&at(p, "min"), *min as f64)?;
            num(&at(p, "max"), *max as f64)?;
            if max < min {
                return Err(err(
                    at(p, "max"),
                    format!("must be >= min ({min}), got {max}"),
                ));
            }
            Ok(())
        }
        CountDist::Poisson { mean } | CountDist::Geometric { mean } => num(&at(p, "mean"), *mean),
        CountDist::Items { times, .. } => num(&at(p, "times"), *times as f64),
        CountDist::Table { .. } if !allow_table => Err(err(
            at(p, "dist"),
            "\"table\" counts are only meaningful in a query's `rows`",
        )),
        CountDist::Table { fraction } => num(&at(p, "fraction"), *fraction),
    }
}

fn key(p: &str, k: &KeySpec) -> R {
    if k.space.is_empty() {
        return Err(err(at(p, "space"), "must name a key space"));
    }
    num(&at(p, "n"), k.n as f64)?;
    num(&at(p, "zipf"), k.zipf)
}

pub(crate) fn backoff(p: &str, b: &BackoffSpec) -> R {
    num(&at(p, "base_s"), b.base_s)?;
    num(&at(p, "max_s"), b.max_s)?;
    if b.max_s < b.base_s {
        return Err(err(
            at(p, "max_s"),
            format!("must be >= base_s ({}), got {}", b.base_s, b.max_s),
        ));
    }
    num(&at(p, "multiplier"), b.multiplier)
}

pub(crate) fn budget(p: &str, b: &RetryBudgetSpec) -> R {
    num(&at(p, "ratio"), b.ratio)?;
    num(&at(p, "min_per_s"), b.min_per_s)?;
    num(&at(p, "ttl_s"), b.ttl_s)?;
    if b.min_per_s * b.ttl_s > 1e9 {
        return Err(err(
            at(p, "min_per_s"),
            format!(
                "min_per_s * ttl_s must be <= 1e9, got {}",
                b.min_per_s * b.ttl_s
            ),
        ));
    }
    Ok(())
}

pub(crate) fn breaker(p: &str, b: &BreakerSpec) -> R {
    num(&at(p, "failure_ratio"), b.failure_ratio)?;
    num(&at(p, "min_calls"), b.min_calls as f64)?;
    num(&at(p, "window"), b.window as f64)?;
    if b.min_calls > b.window {
        return Err(err(
            at(p, "min_calls"),
            format!("must be <= window ({}), got {}", b.window, b.min_calls),
        ));
    }
    num(&at(p, "open_s"), b.open_s)?;
    num(&at(p, "half_open_calls"), b.half_open_calls as f64)
}

fn rate_limit(p: &str, r: &RateLimitSpec) -> R {
    match r {
        RateLimitSpec::TokenBucket { rate, burst, .. } => token_bucket(
            p,
            &TokenBucketSpec {
                rate: *rate,
                burst: *burst,
            },
        ),
        RateLimitSpec::LeakyBucket { rate, capacity, .. } => leaky_bucket(
            p,
            &LeakyBucketSpec {
                rate: *rate,
                capacity: *capacity,
            },
        ),
    }
}

pub(crate) fn token_bucket(p: &str, t: &TokenBucketSpec) -> R {
    num(&at(p, "rate"), t.rate)?;
    num(&at(p, "burst"), t.burst)
}

pub(crate) fn leaky_bucket(p: &str, l: &LeakyBucketSpec) -> R {
    num(&at(p, "rate"), l.rate)?;
    num(&at(p, "capacity"), l.capacity as f64)
}

/// Standalone checks of the value types, for code that builds them by hand
/// (paths are relative: `mean_s`, `backoff.base_s`, `rate_limit.rate`).
impl DistSpec {
    pub fn validate(&self) -> R {
        dist("", self)
    }
}
impl BackoffSpec {
    pub fn validate(&self) -> R {
        backoff("backoff", self)
    }
}
impl RetryBudgetSpec {
    pub fn validate(&self) -> R {
        budget("budget", self)
    }
}
impl BreakerSpec {
    pub fn validate(&self) -> R {
        breaker("breaker", self)
    }
}
impl TokenBucketSpec {
    pub fn validate(&self) -> R {
        token_bucket("rate_limit", self)
    }
}
impl LeakyBucketSpec {
    pub fn validate(&self) -> R {
        leaky_bucket("rate_limit", self)
    }
}

// ----- the scenario ---------------------------------------------------------------------

pub(super) fn validate(sc: &Scenario) -> R {
    top(sc)?;
    let v = Validator { sc };
    for (n, node) in &sc.nodes {
        let p = format!("nodes.{n}");
        name(&p, n)?;
        v.node(&p, n, node)?;
    }
    for (i, f) in sc.faults.iter().enumerate() {
        v.fault(&format!("faults[{i}]"), f)?;
    }
    v.acyclic()?;
    connections::check(sc)?;
    work::check(sc)
}

/// The most nodes a scenario may have (an idle node costs a few KB; ten
/// thousand fit in a browser tab).
pub const MAX_NODES: usize = 10_000;

/// The largest seed a scenario file may hold: TOML integers are signed 64-bit,
/// so a larger seed could not be written back (export, share link). Parsing
/// checks every integer of a document (`read.rs`); this checks a scenario
/// built otherwise.
pub const MAX_SEED: u64 = super::read::MAX_INTEGER;

fn top(sc: &Scenario) -> R {
    if sc.seed > MAX_SEED {
        return Err(super::read::beyond_toml("seed", sc.seed));
    }
    num("duration_s", sc.duration_s)?;
    num("warmup_s", sc.warmup_s)?;
    if sc.warmup_s >= sc.duration_s {
        return Err(err(
            "warmup_s",
            format!(
                "must be less than duration_s ({}), got {}",
                sc.duration_s, sc.warmup_s
            ),
        ));
    }
    num("metrics.window_s", sc.metrics.window_s)?;
    num("metrics.max_windows", sc.metrics.max_windows as f64)?;
    num("traces.keep", sc.traces.keep as f64)?;
    if let Some(slo) = &sc.slo {
        num("slo.latency_s", slo.latency_s)?;
        num("slo.target", slo.target)?;
    }
    alerts(sc)?;
    if sc.nodes.is_empty() {
        return Err(err("nodes", "a scenario needs at least one node"));
    }
    if sc.nodes.len() > MAX_NODES {
        return Err(err(
            "nodes",
            format!(
                "at most {MAX_NODES} nodes, got {}: a topology this large is beyond what \
                 one simulation can show (or a browser tab hold)",
                sc.nodes.len()
            ),
        ));
    }
    for (n, pos) in &sc.layout {
        if !sc.nodes.contains_key(n) {
            return Err(err(format!("layout.{n}"), "names no node of this scenario"));
        }
        num(&format!("layout.{n}.x"), pos.x)?;
        num(&format!("layout.{n}.y"), pos.y)?;
    }
    for (n, link) in &sc.links {
        name(&format!("links.{n}"), n)?;
        num(&format!("links.{n}.bandwidth_mbps"), link.bandwidth_mbps)?;
    }
    if !sc.nodes.values().any(|n| matches!(n, NodeSpec::Source(_))) {
        return Err(err(
            "nodes",
            "a scenario needs at least one source node (kind = \"source\")",
        ));
    }
    Ok(())
}

/// Metrics windows an alert may look back over: its memory is one pair
/// of counts a window.
pub const MAX_ALERT_WINDOWS: f64 = 100_000.0;

/// Alert rules a scenario may hold (each window updates every one).
pub const MAX_ALERTS: usize = 32;

/// Alert rules: on an SLO, able to fire, over whole metrics windows, a
/// short span no longer than the long one.
fn alerts(sc: &Scenario) -> R {
    if sc.alerts.len() > MAX_ALERTS {
        return Err(err(
            "alerts",
            format!("at most {MAX_ALERTS} alert rules, got {}", sc.alerts.len()),
        ));
    }
    for (n, a) in &sc.alerts {
        let p = format!("alerts.{n}");
        name(&p, n)?;
        let Some(slo) = &sc.slo else {
            return Err(err(
                &p,
                "an alert watches the SLO: add slo = { latency_s = ..., target = ... }",
            ));
        };
        let spans = alert_rule(&p, a, slo.target)?;
        for &(f, s) in &spans {
            alert_span(&format!("{p}.{f}"), s, sc.metrics.window_s)?;
        }
        if let [(_, long), (_, short)] = spans[..] {
            if short > long {
                return Err(err(
                    format!("{p}.short_s"),
                    format!("at most long_s ({long} s), got {short}"),
                ));
            }
        }
    }
    Ok(())
}

/// A rule's threshold; its spans by field name (a burn rate's long one
/// first).
fn alert_rule(
    p: &str,
    a: &AlertSpec,
    target: f64,
) -> Result<Vec<(&'static str, f64)>, ScenarioError> {
    let above = |above: f64, most: f64, what: &str| {
        num(&format!("{p}.above"), above)?;
        if above >= most {
            return Err(err(
                format!("{p}.above"),
                format!("{what}: below {most}, got {above}: the rule could never fire"),
            ));
        }
        Ok(())
    };
    match *a {
        AlertSpec::Threshold { window_s, above: x } => {
            above(x, 1.0, "a fraction of requests")?;
            Ok(vec![("window_s", window_s)])
        }
        AlertSpec::BurnRate {
            long_s,
            short_s,
            above: x,
        } => {
            // All requests bad burns at 1 / (1 - target): the most there is.
            let what = format!(
                "a burn rate this SLO can reach (all requests failing burn \
                 1 / (1 - slo.target), with slo.target = {target:?})"
            );
            above(x, 1.0 / (1.0 - target), &what)?;
            Ok(vec![("long_s", long_s), ("short_s", short_s)])
        }
    }
}

/// A span of whole metrics windows of `w` seconds, at most
/// [`MAX_ALERT_WINDOWS`] of them.
fn alert_span(at: &str, s: f64, w: f64) -> R {
    num(at, s)?;
    let n = s / w;
    if n < 1.0 - 1e-9 || n > MAX_ALERT_WINDOWS {
        return Err(err(
            at,
            format!(
                "between one and {MAX_ALERT_WINDOWS} metrics windows \
                 (metrics.window_s = {w} s), got {s} s"
            ),
        ));
    }
    if (n - n.round()).abs() > 1e-6 * n {
        return Err(err(
            at,
            format!(
                "a whole number of metrics windows (metrics.window_s = {w} s), got {s} s \
                 ({n:.3} windows)"
            ),
        ));
    }
    Ok(())
}

struct Validator<'a> {
    sc: &'a Scenario,
}

/// What a call, a source or a balancer may send to.
const SERVING: &[NodeKind] = &[
    NodeKind::Service,
    NodeKind::External,
    NodeKind::LoadBalancer,
];

/// Most steps in one handler, nested ones included.
const MAX_HANDLER_STEPS: usize = 1000;
/// Deepest nesting of repeat/locked/choose/on_miss blocks.
const MAX_NESTING: u32 = 4;

impl Validator<'_> {
    fn kind_of(&self, name: &str) -> Option<NodeKind> {
        self.sc.nodes.get(name).map(|n| n.kind())
    }

    /// `name` must exist and be one of `kinds`.
    fn target(&self, path: &str, name: &str, kinds: &[NodeKind]) -> R {
        match self.kind_of(name) {
            None => {
                let known: Vec<&str> = self
                    .sc
                    .nodes
                    .iter()
                    .filter(|(_, n)| kinds.contains(&n.kind()))
                    .map(|(k, _)| k.as_str())
                    .collect();
                Err(err(
                    path,
                    format!("unknown node {name:?} (candidates: {})", known.join(", ")),
                ))
            }
            Some(k) if !kinds.contains(&k) => {
                let want: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                Err(err(
                    path,
                    format!(
                        "{name:?} is a {}; expected a {}",
                        k.as_str(),
                        want.join(" or ")
                    ),
                ))
            }
            Some(_) => Ok(()),
        }
    }

    fn endpoint(&self, path: &str, to: &str, ep: &Option<String>) -> R {
        let Some(ep) = ep else { return Ok(()) };
        match self.sc.nodes.get(to) {
            Some(NodeSpec::Service(s)) if s.endpoints.contains_key(ep) => Ok(()),
            Some(NodeSpec::Service(s)) => Err(err(
                path,
                format!(
                    "{to:?} has no endpoint {ep:?} (endpoints: {})",
                    s.endpoints.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
            Some(NodeSpec::LoadBalancer(lb)) => {
                for b in &lb.backends {
                    self.endpoint(path, b, &Some(ep.clone()))?;
                }
                Ok(())
            }
            _ => Err(err(path, "only services have endpoints")),
        }
    }

    /// A call policy declared at `p` by `caller` (None: a source or a
    /// broker's consumers, which have no pools).
    fn policy(&self, p: &str, c: &CallPolicy, caller: Option<&str>) -> R {
        if let Some(h) = &c.hop {
            dist(&at(p, "hop"), h)?;
        }
        for (f, v) in [
            ("bandwidth_mbps", c.bandwidth_mbps),
            ("request_kb", c.request_kb),
            ("response_kb", c.response_kb),
            ("timeout_s", c.timeout_s),
        ] {
            if let Some(v) = v {
                num(&at(p, f), v)?;
            }
        }
        if let Some(cm) = &c.compression {
            num(&at(p, "compression.ratio"), cm.ratio)?;
            num(&at(p, "compression.cpu_s_per_mb"), cm.cpu_s_per_mb)?;
        }
        if let Some(cn) = &c.connection {
            let trips = cn.handshake_round_trips as f64;
            num(&at(p, "connection.handshake_round_trips"), trips)?;
            num(&at(p, "connection.handshake_cpu_s"), cn.handshake_cpu_s)?;
        }
        if let Some(r) = &c.retries {
            num(&at(p, "retries.max"), r.max as f64)?;
            if let Some(b) = &r.backoff {
                backoff(&at(p, "retries.backoff"), b)?;
            }
            if let Some(b) = &r.budget {
                budget(&at(p, "retries.budget"), b)?;
            }
        }
        if let Some(b) = &c.breaker {
            breaker(&at(p, "breaker"), b)?;
        }
        if let Some(l) = c.fallback.as_ref().and_then(|f| f.latency.as_ref()) {
            dist(&at(p, "fallback.latency"), l)?;
        }
        if let Some(h) = &c.hedge {
            num(&at(p, "hedge.after_s"), h.after_s)?;
        }
        if let Some(pool) = &c.pool {
            self.pool(&at(p, "pool"), pool, caller)?;
        }
        if let Some(link) = &c.link {
            self.link(&at(p, "link"), link, c.bandwidth_mbps.is_some())?;
        }
        if c.idempotency_key && !c.side_effect {
            return Err(err(
                at(p, "idempotency_key"),
                "only meaningful with side_effect = true",
            ));
        }
        Ok(())
    }

    /// A call crosses shared link `link`: it must be declared, and a call
    /// has either a link or a bandwidth of its own.
    fn link(&self, path: &str, link: &str, own_bandwidth: bool) -> R {
        if own_bandwidth {
            return Err(err(
                path,
                "a call has either a shared link or its own bandwidth_mbps, not both",
            ));
        }
        if self.sc.links.contains_key(link) {
            return Ok(());
        }
        let names: Vec<&str> = self.sc.links.keys().map(|k| k.as_str()).collect();
        Err(err(
            path,
            format!("no link {link:?} in links (links: {})", names.join(", ")),
        ))
    }

    fn pool(&self, path: &str, pool: &str, caller: Option<&str>) -> R {
        let pools = match caller.and_then(|c| self.sc.nodes.get(c)) {
            Some(NodeSpec::Service(s)) => &s.pools,
            _ => return Err(err(path, "only calls made by a service can use a pool")),
        };
        if pools.contains_key(pool) {
            return Ok(());
        }
        Err(err(
            path,
            format!(
                "no pool {pool:?} in nodes.{}.pools (pools: {})",
                caller.unwrap_or(""),
                pools.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ))
    }

    /// One handler of service `caller`: its steps, nested ones included.
    fn handler(&self, path: &str, caller: &str, steps: &[StepSpec]) -> R {
        let mut total = 0;
        walk_steps(path, steps, &mut |s: &StepAt<'_>| {
            total += 1;
            if total > MAX_HANDLER_STEPS {
                return Err(err(
                    path,
                    format!("at most {MAX_HANDLER_STEPS} steps in a handler, nested ones included"),
                ));
            }
            self.step(s, caller)
        })
    }

    fn step(&self, s: &StepAt<'_>, caller: &str) -> R {
        let p = format!("{}.{}", s.path, s.step.name());
        if s.depth > MAX_NESTING {
            return Err(err(
                &s.path,
                "steps nest too deeply (at most 4 levels of repeat/locked/choose/on_miss)",
            ));
        }
        if s.branch {
            let single = match s.step {
                StepSpec::Call(c) => c.count.is_none(),
                StepSpec::Query(q) => q.count.is_none(),
                StepSpec::Publish(_) => true,
                _ => false,
            };
            if !single {
                return Err(err(
                    &s.path,
                    "each branch of `parallel` is a single call, query or publish (no count)",
                ));
            }
        }
        if let Some(policy) = s.step.policy() {
            self.policy(&p, policy, Some(caller))?;
        }
        self.step_fields(&p, s)
    }

    /// The fields of one step other than its call policy.
    fn step_fields(&self, p: &str, s: &StepAt<'_>) -> R {
        match s.step {
            StepSpec::Compute(d) => dist(p, d),
            StepSpec::Call(c) => {
                self.target(&at(p, "to"), &c.to, SERVING)?;
                self.endpoint(&at(p, "endpoint"), &c.to, &c.endpoint)?;
                c.count
                    .as_ref()
                    .map_or(Ok(()), |n| count(&at(p, "count"), n, false))
            }
            StepSpec::Query(q) => self.query(p, q),
            StepSpec::CacheRead(c) => {
                self.target(&at(p, "cache"), &c.cache, &[NodeKind::Cache])?;
                key(&at(p, "key"), &c.key)?;
                num(&at(p, "size_kb"), c.size_kb)
            }
            StepSpec::Write(w) => {
                key(&at(p, "key"), &w.key)?;
                match &w.cache {
                    Some(c) => self.target(&at(p, "cache"), c, &[NodeKind::Cache]),
                    None if w.invalidate != Invalidate::None => Err(err(
                        at(p, "cache"),
                        "invalidation needs the cache to invalidate",
                    )),
                    None => Ok(()),
                }
            }
            StepSpec::Publish(pb) => {
                self.target(&at(p, "broker"), &pb.broker, &[NodeKind::Broker])?;
                pb.key.as_ref().map_or(Ok(()), |k| key(&at(p, "key"), k))
            }
            StepSpec::Repeat(r) => count(&at(p, "count"), &r.count, false),
            StepSpec::Parallel(branches) => {
                if branches.is_empty() || branches.len() > 32 {
                    return Err(err(p, "needs 1 to 32 calls"));
                }
                Ok(())
            }
            StepSpec::Locked(l) => {
                if s.locks >= 2 {
                    return Err(err(p, "at most 2 nested locks"));
                }
                if l.lock.is_empty() {
                    return Err(err(at(p, "lock"), "must name a lock"));
                }
                l.key.as_ref().map_or(Ok(()), |k| key(&at(p, "key"), k))
            }
            StepSpec::Choose(bs) => choose(p, bs),
        }
    }

    fn query(&self, p: &str, q: &QuerySpec) -> R {
        self.target(&at(p, "db"), &q.db, &[NodeKind::Database])?;
        if let Some(NodeSpec::Database(db)) = self.sc.nodes.get(&q.db) {
            if !db.tables.contains_key(&q.table) {
                return Err(err(
                    at(p, "table"),
                    format!(
                        "no table {:?} in nodes.{} (tables: {})",
                        q.table,
                        q.db,
                        db.tables.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        if let Some(n) = &q.rows {
            count(&at(p, "rows"), n, true)?;
        }
        if let Some(n) = &q.count {
            count(&at(p, "count"), n, false)?;
        }
        if let Some(n) = q.page_size {
            num(&at(p, "page_size"), n as f64)?;
        }
        q.key.as_ref().map_or(Ok(()), |k| key(&at(p, "key"), k))
    }

    fn queue(&self, p: &str, q: &QueueSpec) -> R {
        match q.capacity {
            Some(c) => num(&at(p, "queue.capacity"), c as f64),
            None => Ok(()),
        }
    }

    fn node(&self, p: &str, name: &str, node: &NodeSpec) -> R {
        match node {
            NodeSpec::Source(s) => self.source(p, s),
            NodeSpec::Service(s) => self.service(p, name, s),
            NodeSpec::External(e) => {
                dist(&at(p, "latency"), &e.latency)?;
                num(&at(p, "error_rate"), e.error_rate)?;
                opt(&at(p, "max_concurrency"), e.max_concurrency.map(f64::from))
            }
            NodeSpec::Database(d) => self.database(p, d),
            NodeSpec::Cache(c) => cache(p, c),
            NodeSpec::Broker(b) => self.broker(p, b),
            NodeSpec::LoadBalancer(lb) => self.balancer(p, lb),
        }
    }
}

fn opt(path: &str, v: Option<f64>) -> R {
    v.map_or(Ok(()), |v| num(path, v))
}

fn choose(p: &str, bs: &[BranchSpec]) -> R {
    if bs.is_empty() {
        return Err(err(p, "needs at least one branch"));
    }
    for (i, b) in bs.iter().enumerate() {
        num(&format!("{p}[{i}].p"), b.p)?;
    }
    let total: f64 = bs.iter().map(|b| b.p).sum();
    if (total - 1.0).abs() > 1e-9 {
        return Err(err(
            p,
            format!("branch probabilities must add up to 1, got {total}"),
        ));
    }
    Ok(())
}

fn cache(p: &str, c: &CacheSpec) -> R {
    opt(
        &at(p, "capacity_entries"),
        c.capacity_entries.map(|n| n as f64),
    )?;
    opt(&at(p, "capacity_mb"), c.capacity_mb)?;
    opt(&at(p, "ttl_s"), c.ttl_s)?;
    num(&at(p, "ttl_jitter"), c.ttl_jitter)?;
    dist(&at(p, "latency"), &c.latency)?;
    opt(&at(p, "workers"), c.workers.map(f64::from))?;
    opt(&at(p, "warm"), c.warm.map(|n| n as f64))
}

mod connections;
mod nodes;
mod work;
pub use work::{work_per_request, MAX_WORK};

#[cfg(test)]
mod tests;
