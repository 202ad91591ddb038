//! Lowering handler steps to a flat program: loops, branches, locked
//! blocks and cache-aside blocks become ops with jumps.

use super::super::config::*;
use super::super::ids::NONE;
use super::Builder;
use crate::spec::*;

impl Builder<'_> {
    /// The program of `steps`; `path` names its streams (".ep" for a
    /// named endpoint, "" for the default handler).
    pub(super) fn program(
        &mut self,
        node: &str,
        event_loop: bool,
        steps: &[StepSpec],
        path: &str,
    ) -> Program {
        let mut ops = Vec::new();
        self.lower(node, event_loop, steps, path, &mut ops);
        let needs = Needs {
            loops: ops.iter().any(|o| matches!(o, Op::RepeatBegin { .. })),
            locks: ops.iter().any(|o| matches!(o, Op::LockAcquire { .. })),
            cache: ops
                .iter()
                .any(|o| matches!(o, Op::CacheGet { .. } | Op::CachePut { .. })),
        };
        Program { ops, needs }
    }

    /// Flattens steps into `out`. `path` names the streams ("steps.0.1").
    fn lower(
        &mut self,
        node: &str,
        event_loop: bool,
        steps: &[StepSpec],
        path: &str,
        out: &mut Vec<Op>,
    ) {
        for (i, st) in steps.iter().enumerate() {
            let here = format!("{path}.{i}");
            self.lower_step(node, event_loop, st, &here, out);
        }
    }

    fn lower_step(
        &mut self,
        node: &str,
        event_loop: bool,
        st: &StepSpec,
        here: &str,
        out: &mut Vec<Op>,
    ) {
        match st {
            StepSpec::Compute(d) => out.push(Op::Compute {
                dist: d.build(),
                stream: self.stream(node, &format!("compute{here}")),
            }),
            StepSpec::Call(c) => {
                let ep = self.endpoint_index(&c.to, &c.endpoint);
                let task = EdgeTask::Handler { endpoint: ep };
                let edge = self.edge(node, &c.to, &format!("call{here}"), task, &c.policy);
                out.push(Op::Call {
                    edge,
                    count: self.count(&c.count, 1, node, &format!("count{here}"), None),
                    parallel: c.parallel,
                    release: event_loop && !c.blocking,
                });
            }
            StepSpec::Query(q) => {
                let edge = self.query_edge(node, q, here);
                out.push(Op::Call {
                    edge,
                    count: self.count(&q.count, 1, node, &format!("count{here}"), None),
                    parallel: q.parallel,
                    release: event_loop && !q.blocking,
                });
            }
            StepSpec::Publish(p) => {
                let edge = self.publish_edge(node, p, here);
                out.push(Op::Call {
                    edge,
                    count: self.count(&None, 1, node, &format!("count{here}"), None),
                    parallel: false,
                    release: event_loop,
                });
            }
            StepSpec::CacheRead(c) => self.lower_cache_read(node, event_loop, c, here, out),
            StepSpec::Write(w) => {
                let key = self.key(&w.key, node, &format!("wkey{here}"));
                let cache = w.cache.as_ref().map_or(NONE, |c| self.index[c.as_str()]);
                out.push(Op::Write {
                    key,
                    cache,
                    invalidate: w.invalidate,
                });
            }
            StepSpec::Repeat(r) => {
                let at = out.len();
                let count = self.count(
                    &Some(r.count.clone()),
                    1,
                    node,
                    &format!("repeat{here}"),
                    None,
                );
                out.push(Op::RepeatBegin { count, end: 0 });
                self.lower(node, event_loop, &r.steps, &format!("{here}.r"), out);
                let end = out.len() as u32;
                out.push(Op::RepeatEnd { begin: at as u32 });
                if let Op::RepeatBegin { end: e, .. } = &mut out[at] {
                    *e = end;
                }
            }
            StepSpec::Parallel(branches) => {
                let edges = branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| self.branch_edge(node, b, &format!("{here}.p{i}")))
                    .collect();
                out.push(Op::Fork {
                    edges,
                    release: event_loop,
                });
            }
            StepSpec::Locked(l) => {
                let lock = self.lock(&l.lock);
                let key = l
                    .key
                    .as_ref()
                    .map(|k| self.key(k, node, &format!("lockkey{here}")));
                out.push(Op::LockAcquire { lock, key });
                self.lower(node, event_loop, &l.steps, &format!("{here}.l"), out);
                out.push(Op::LockRelease { lock });
            }
            StepSpec::Choose(bs) => self.lower_choose(node, event_loop, bs, here, out),
        }
    }

    /// cache_read -> [CacheGet][miss steps...][CachePut]; a hit jumps past
    /// the put.
    fn lower_cache_read(
        &mut self,
        node: &str,
        event_loop: bool,
        c: &CacheReadSpec,
        here: &str,
        out: &mut Vec<Op>,
    ) {
        let get = self.edge(
            node,
            &c.cache,
            &format!("cacheget{here}"),
            EdgeTask::CacheGet,
            &c.policy,
        );
        let put = self.edge(
            node,
            &c.cache,
            &format!("cacheput{here}"),
            EdgeTask::CacheSet,
            &c.policy,
        );
        let key = self.key(&c.key, node, &format!("key{here}"));
        let at = out.len();
        out.push(Op::CacheGet {
            edge: get,
            key,
            miss_end: 0,
            single_flight: c.single_flight,
            versioned: c.versioned_keys,
            release: event_loop,
        });
        self.lower(node, event_loop, &c.on_miss, &format!("{here}.miss"), out);
        out.push(Op::CachePut {
            edge: put,
            size: (c.size_kb * 1000.0) as u64,
            versioned: c.versioned_keys,
            release: event_loop,
        });
        let end = out.len() as u32;
        if let Op::CacheGet { miss_end, .. } = &mut out[at] {
            *miss_end = end;
        }
    }

    /// choose -> [Choose][b0..., Jump end][b1..., Jump end]...
    fn lower_choose(
        &mut self,
        node: &str,
        event_loop: bool,
        bs: &[BranchSpec],
        here: &str,
        out: &mut Vec<Op>,
    ) {
        let at = out.len();
        out.push(Op::Jump { to: 0 });
        let mut targets = Vec::new();
        let mut jumps = Vec::new();
        for (i, b) in bs.iter().enumerate() {
            targets.push(out.len() as u32);
            self.lower(node, event_loop, &b.steps, &format!("{here}.c{i}"), out);
            jumps.push(out.len());
            out.push(Op::Jump { to: 0 });
        }
        let end = out.len() as u32;
        for j in jumps {
            out[j] = Op::Jump { to: end };
        }
        let mut acc = 0.0;
        let cum = bs
            .iter()
            .map(|b| {
                acc += b.p;
                acc
            })
            .collect();
        out[at] = Op::Choose {
            cum,
            targets: targets.into(),
            stream: self.stream(node, &format!("choose{here}")),
        };
    }

    /// The edge of one branch of a parallel step.
    fn branch_edge(&mut self, node: &str, b: &StepSpec, bh: &str) -> u32 {
        match b {
            StepSpec::Call(c) => {
                let ep = self.endpoint_index(&c.to, &c.endpoint);
                let task = EdgeTask::Handler { endpoint: ep };
                self.edge(node, &c.to, &format!("call{bh}"), task, &c.policy)
            }
            StepSpec::Query(q) => self.query_edge(node, q, bh),
            StepSpec::Publish(p) => self.publish_edge(node, p, bh),
            _ => unreachable!("validated: parallel branches are calls, queries or publishes"),
        }
    }

    fn publish_edge(&mut self, node: &str, p: &PublishSpec, here: &str) -> u32 {
        let key = p
            .key
            .as_ref()
            .map(|k| self.key(k, node, &format!("pubkey{here}")));
        let task = EdgeTask::Publish { key };
        self.edge(node, &p.broker, &format!("publish{here}"), task, &p.policy)
    }

    fn query_edge(&mut self, node: &str, q: &QuerySpec, here: &str) -> u32 {
        let db = match self.sc.nodes.get(&q.db) {
            Some(crate::scenario::NodeSpec::Database(db)) => db,
            _ => unreachable!("validated: queries go to databases"),
        };
        let key = q
            .key
            .as_ref()
            .map(|k| self.key(k, node, &format!("qkey{here}")));
        let table = db
            .tables
            .keys()
            .position(|k| *k == q.table)
            .expect("validated table") as u32;
        let task = EdgeTask::Query {
            table,
            kind: q.kind,
            rows: self.count(
                &q.rows,
                1,
                node,
                &format!("rows{here}"),
                Some((db, &q.table)),
            ),
            page: q.page_size,
            write: q.write,
            key,
        };
        self.edge(node, &q.db, &format!("query{here}"), task, &q.policy)
    }
}
