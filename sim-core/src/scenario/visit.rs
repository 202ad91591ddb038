//! The one walker over handler steps, and the call graph read from it.
//!
//! [`walk_steps`] visits every step of a handler, nested ones included
//! (`cache_read.on_miss`, `repeat.steps`, `locked.steps`, `choose[i].steps`,
//! the branches of `parallel`), parents before children, in document
//! order, each with its path (`nodes.api.steps[2].cache_read.on_miss[0]`)
//! and nesting. Validation, the topology ([`Scenario::call_edges`]) and the
//! page's editor all read steps through it, so a new step kind is taught to
//! the walker once.

use super::spec::{NodeSpec, Scenario, ServiceSpec};
use super::steps::{CallPolicy, StepSpec};

/// A step and where it sits.
#[derive(Clone, Debug)]
pub struct StepAt<'a> {
    pub step: &'a StepSpec,
    /// `nodes.api.steps[2].cache_read.on_miss[0]`
    pub path: String,
    /// Blocks (`repeat`, `locked`, `choose`, `on_miss`) around the step.
    pub depth: u32,
    /// `locked` blocks around the step.
    pub locks: u32,
    /// The step is a branch of a `parallel` step.
    pub branch: bool,
}

/// A list of steps nested in a step.
pub struct Block<'a> {
    /// Relative to the step's path: `.repeat.steps`, `.choose[1].steps`.
    pub suffix: String,
    pub steps: &'a [StepSpec],
    /// The branches of a `parallel` step (they add no nesting level).
    pub branches: bool,
    /// It runs under a lock.
    pub locked: bool,
}

/// What an arrow of the topology stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// A source's `target`.
    Target,
    /// A `call` step.
    Call,
    /// A `query` step.
    Query,
    /// A `cache_read` step.
    CacheRead,
    /// A `publish` step.
    Publish,
    /// A load balancer's backend.
    Backend,
    /// A broker's consumer `handler`.
    Handler,
}

impl EdgeKind {
    /// Whether the caller waits for the answer within the same request
    /// (everything but a broker's consumers).
    pub fn synchronous(self) -> bool {
        self != EdgeKind::Handler
    }
}

/// One declared call: `from` sends to `to`.
#[derive(Clone, Debug)]
pub struct CallEdge<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub kind: EdgeKind,
    /// Where it is declared: `nodes.api.steps[1].call`, `nodes.clients`,
    /// `nodes.lb.backends[0]`, `nodes.queue.handler`.
    pub path: String,
    /// Its call policy (none for a load balancer's backends).
    pub policy: Option<&'a CallPolicy>,
}

impl StepSpec {
    /// The step's key in the document: `"call"`, `"cache_read"`.
    pub fn name(&self) -> &'static str {
        match self {
            StepSpec::Compute(_) => "compute",
            StepSpec::Call(_) => "call",
            StepSpec::Query(_) => "query",
            StepSpec::CacheRead(_) => "cache_read",
            StepSpec::Write(_) => "write",
            StepSpec::Publish(_) => "publish",
            StepSpec::Repeat(_) => "repeat",
            StepSpec::Parallel(_) => "parallel",
            StepSpec::Locked(_) => "locked",
            StepSpec::Choose(_) => "choose",
        }
    }

    /// The node this step calls, and how (call-like steps only).
    pub fn target(&self) -> Option<(&str, EdgeKind)> {
        match self {
            StepSpec::Call(c) => Some((&c.to, EdgeKind::Call)),
            StepSpec::Query(q) => Some((&q.db, EdgeKind::Query)),
            StepSpec::CacheRead(c) => Some((&c.cache, EdgeKind::CacheRead)),
            StepSpec::Publish(p) => Some((&p.broker, EdgeKind::Publish)),
            _ => None,
        }
    }

    /// The call policy of a call-like step.
    pub fn policy(&self) -> Option<&CallPolicy> {
        match self {
            StepSpec::Call(c) => Some(&c.policy),
            StepSpec::Query(q) => Some(&q.policy),
            StepSpec::CacheRead(c) => Some(&c.policy),
            StepSpec::Publish(p) => Some(&p.policy),
            _ => None,
        }
    }

    /// Every node the step names (its target, a write's cache).
    pub fn references(&self) -> Option<&str> {
        match self {
            StepSpec::Write(w) => w.cache.as_deref(),
            other => other.target().map(|(t, _)| t),
        }
    }

    /// The lists of steps nested in this one.
    pub fn blocks(&self) -> Vec<Block<'_>> {
        let block = |suffix: String, steps, branches, locked| Block {
            suffix,
            steps,
            branches,
            locked,
        };
        match self {
            StepSpec::CacheRead(c) => vec![block(
                ".cache_read.on_miss".into(),
                &c.on_miss,
                false,
                false,
            )],
            StepSpec::Repeat(r) => vec![block(".repeat.steps".into(), &r.steps, false, false)],
            StepSpec::Locked(l) => vec![block(".locked.steps".into(), &l.steps, false, true)],
            StepSpec::Parallel(b) => vec![block(".parallel".into(), b, true, false)],
            StepSpec::Choose(bs) => bs
                .iter()
                .enumerate()
                .map(|(i, b)| block(format!(".choose[{i}].steps"), &b.steps, false, false))
                .collect(),
            StepSpec::Compute(_)
            | StepSpec::Call(_)
            | StepSpec::Query(_)
            | StepSpec::Write(_)
            | StepSpec::Publish(_) => Vec::new(),
        }
    }
}

/// Visits `steps` (the list at `path`, e.g. `nodes.api.steps`) and every
/// step nested in them, parents first, in document order. An error from
/// `f` stops the walk and is returned.
pub fn walk_steps<'a, E>(
    path: &str,
    steps: &'a [StepSpec],
    f: &mut impl FnMut(&StepAt<'a>) -> Result<(), E>,
) -> Result<(), E> {
    walk(path, steps, 0, 0, false, f)
}

fn walk<'a, E>(
    path: &str,
    steps: &'a [StepSpec],
    depth: u32,
    locks: u32,
    branch: bool,
    f: &mut impl FnMut(&StepAt<'a>) -> Result<(), E>,
) -> Result<(), E> {
    for (i, step) in steps.iter().enumerate() {
        let at = StepAt {
            step,
            path: format!("{path}[{i}]"),
            depth,
            locks,
            branch,
        };
        f(&at)?;
        for b in step.blocks() {
            let inner = format!("{}{}", at.path, b.suffix);
            let depth = depth + u32::from(!b.branches);
            let locks = locks + u32::from(b.locked);
            walk(&inner, b.steps, depth, locks, b.branches, f)?;
        }
    }
    Ok(())
}

impl ServiceSpec {
    /// The default handler's steps, with the `service` shorthand expanded.
    pub fn handler(&self) -> Vec<StepSpec> {
        match &self.service {
            Some(d) => vec![StepSpec::Compute(d.clone())],
            None => self.steps.clone(),
        }
    }

    /// Every handler as written: the default one, then each endpoint's, with
    /// the path of its list (`nodes.api.steps`, `nodes.api.endpoints.x.steps`).
    pub fn handlers(&self, node: &str) -> Vec<(String, &[StepSpec])> {
        let mut out = vec![(format!("nodes.{node}.steps"), self.steps.as_slice())];
        out.extend(self.endpoints.iter().map(|(e, ep)| {
            (
                format!("nodes.{node}.endpoints.{e}.steps"),
                ep.steps.as_slice(),
            )
        }));
        out
    }
}

impl Scenario {
    /// Every declared call, node by node in name order, each node's in
    /// document order: a source's target, every call-like step of a
    /// service's handlers (nested steps included), a load balancer's
    /// backends, a broker's consumer handler. Several steps between the same
    /// two nodes are several edges.
    pub fn call_edges(&self) -> Vec<CallEdge<'_>> {
        let mut out = Vec::new();
        for (name, node) in &self.nodes {
            let from = name.as_str();
            match node {
                NodeSpec::Source(s) => out.push(CallEdge {
                    from,
                    to: &s.target,
                    kind: EdgeKind::Target,
                    path: format!("nodes.{name}"),
                    policy: Some(&s.policy),
                }),
                NodeSpec::Service(s) => {
                    for (path, steps) in s.handlers(name) {
                        let _ = walk_steps(&path, steps, &mut |at: &StepAt<'_>| {
                            if let Some((to, kind)) = at.step.target() {
                                out.push(CallEdge {
                                    from,
                                    to,
                                    kind,
                                    path: format!("{}.{}", at.path, at.step.name()),
                                    policy: at.step.policy(),
                                });
                            }
                            Ok::<(), ()>(())
                        });
                    }
                }
                NodeSpec::LoadBalancer(lb) => {
                    out.extend(lb.backends.iter().enumerate().map(|(i, b)| CallEdge {
                        from,
                        to: b,
                        kind: EdgeKind::Backend,
                        path: format!("nodes.{name}.backends[{i}]"),
                        policy: None,
                    }))
                }
                NodeSpec::Broker(b) => {
                    if let Some(h) = &b.handler {
                        out.push(CallEdge {
                            from,
                            to: &h.to,
                            kind: EdgeKind::Handler,
                            path: format!("nodes.{name}.handler"),
                            policy: Some(&h.policy),
                        });
                    }
                }
                NodeSpec::External(_) | NodeSpec::Database(_) | NodeSpec::Cache(_) => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    /// One step of every kind, nested every way a step can nest.
    const EVERY_STEP: &str = r#"
version = 1
[nodes.c]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 1 }
[nodes.api]
kind = "service"
steps = [
  { compute = { dist = "constant", value_s = 0.001 } },
  { call = { to = "ext" } },
  { query = { db = "db", table = "t" } },
  { cache_read = { cache = "kv", key = { space = "k", n = 10 }, on_miss = [
      { query = { db = "db", table = "t" } },
      { repeat = { count = 2, steps = [ { call = { to = "ext" } } ] } } ] } },
  { write = { key = { space = "k", n = 10 }, cache = "kv", invalidate = "delete" } },
  { publish = { broker = "q" } },
  { parallel = [ { call = { to = "ext" } }, { query = { db = "db", table = "t" } } ] },
  { locked = { lock = "l", steps = [ { locked = { lock = "m", steps = [ { compute = { dist = "constant", value_s = 0.001 } } ] } } ] } },
  { choose = [ { p = 0.5, steps = [ { call = { to = "ext" } } ] }, { p = 0.5, steps = [] } ] },
]
[nodes.api.endpoints.other]
steps = [ { publish = { broker = "q" } } ]
[nodes.ext]
kind = "external"
latency = { dist = "constant", value_s = 0.01 }
[nodes.db]
kind = "database"
tables = { t = { rows = 10 } }
[nodes.kv]
kind = "cache"
[nodes.q]
kind = "broker"
handler = { to = "lb" }
[nodes.lb]
kind = "load_balancer"
backends = ["ext"]
"#;

    fn visits(sc: &Scenario) -> Vec<(String, &'static str, u32, u32, bool)> {
        let crate::scenario::NodeSpec::Service(api) = &sc.nodes["api"] else {
            unreachable!()
        };
        let mut out = Vec::new();
        for (path, steps) in api.handlers("api") {
            walk_steps(&path, steps, &mut |at: &StepAt<'_>| {
                out.push((
                    at.path.clone(),
                    at.step.name(),
                    at.depth,
                    at.locks,
                    at.branch,
                ));
                Ok::<(), ()>(())
            })
            .unwrap();
        }
        out
    }

    #[test]
    fn the_walker_visits_every_step_kind_with_its_path_and_nesting() {
        let sc = Scenario::from_toml_str(EVERY_STEP).unwrap();
        let v = visits(&sc);
        let s = |p: &str, n, d, l, b| (format!("nodes.api.{p}"), n, d, l, b);
        assert_eq!(
            v,
            vec![
                s("steps[0]", "compute", 0, 0, false),
                s("steps[1]", "call", 0, 0, false),
                s("steps[2]", "query", 0, 0, false),
                s("steps[3]", "cache_read", 0, 0, false),
                s("steps[3].cache_read.on_miss[0]", "query", 1, 0, false),
                s("steps[3].cache_read.on_miss[1]", "repeat", 1, 0, false),
                s(
                    "steps[3].cache_read.on_miss[1].repeat.steps[0]",
                    "call",
                    2,
                    0,
                    false
                ),
                s("steps[4]", "write", 0, 0, false),
                s("steps[5]", "publish", 0, 0, false),
                s("steps[6]", "parallel", 0, 0, false),
                s("steps[6].parallel[0]", "call", 0, 0, true),
                s("steps[6].parallel[1]", "query", 0, 0, true),
                s("steps[7]", "locked", 0, 0, false),
                s("steps[7].locked.steps[0]", "locked", 1, 1, false),
                s(
                    "steps[7].locked.steps[0].locked.steps[0]",
                    "compute",
                    2,
                    2,
                    false
                ),
                s("steps[8]", "choose", 0, 0, false),
                s("steps[8].choose[0].steps[0]", "call", 1, 0, false),
                s("endpoints.other.steps[0]", "publish", 0, 0, false),
            ]
        );
        // every kind of step is among them
        let kinds: std::collections::BTreeSet<_> = v.iter().map(|x| x.1).collect();
        assert_eq!(kinds.len(), 10, "{kinds:?}");
        // each path names the step in the document
        let doc = sc.to_doc();
        for (path, name, ..) in &v {
            assert!(doc.get(&format!("{path}.{name}")).is_some(), "{path}");
        }
        // an error stops the walk where it happens
        let mut seen = 0;
        let three = vec![StepSpec::Compute(crate::DistSpec::constant(1.0)); 3];
        let r = walk_steps("s", &three, &mut |_| {
            seen += 1;
            if seen == 2 {
                Err("stop")
            } else {
                Ok(())
            }
        });
        assert_eq!((r, seen), (Err("stop"), 2));
    }

    #[test]
    fn call_edges_list_every_declared_call() {
        let sc = Scenario::from_toml_str(EVERY_STEP).unwrap();
        let edges = sc.call_edges();
        let e: Vec<(&str, &str, EdgeKind, &str)> = edges
            .iter()
            .map(|e| (e.from, e.to, e.kind, e.path.as_str()))
            .collect();
        use EdgeKind::*;
        assert_eq!(
            e,
            vec![
                ("api", "ext", Call, "nodes.api.steps[1].call"),
                ("api", "db", Query, "nodes.api.steps[2].query"),
                ("api", "kv", CacheRead, "nodes.api.steps[3].cache_read"),
                (
                    "api",
                    "db",
                    Query,
                    "nodes.api.steps[3].cache_read.on_miss[0].query"
                ),
                (
                    "api",
                    "ext",
                    Call,
                    "nodes.api.steps[3].cache_read.on_miss[1].repeat.steps[0].call"
                ),
                ("api", "q", Publish, "nodes.api.steps[5].publish"),
                ("api", "ext", Call, "nodes.api.steps[6].parallel[0].call"),
                ("api", "db", Query, "nodes.api.steps[6].parallel[1].query"),
                (
                    "api",
                    "ext",
                    Call,
                    "nodes.api.steps[8].choose[0].steps[0].call"
                ),
                (
                    "api",
                    "q",
                    Publish,
                    "nodes.api.endpoints.other.steps[0].publish"
                ),
                ("c", "api", Target, "nodes.c"),
                ("lb", "ext", Backend, "nodes.lb.backends[0]"),
                ("q", "lb", Handler, "nodes.q.handler"),
            ]
        );
        assert!(sc
            .call_edges()
            .iter()
            .all(|e| e.policy.is_some() == (e.kind != Backend)));
    }
}
