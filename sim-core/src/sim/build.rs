//! Lowering: a validated scenario becomes indexed nodes, stations, edges and
//! flat handler programs. Every random stream is named here, from (seed,
//! node, purpose), so that adding a node or a step never changes another's
//! draws.

use super::*;
use crate::cache::{CacheConfig, KeySampler, Policy as CachePolicyRt};
use crate::dist::DistSpec;
use crate::rng::stream;
use crate::scenario::{ArrivalSpec, NodeSpec};
use crate::spec::*;
use std::collections::BTreeMap;

pub(super) fn limiter(spec: &RateLimitSpec) -> Limiter {
    match spec {
        RateLimitSpec::TokenBucket { rate, burst, .. } => Limiter::Token(
            crate::resilience::TokenBucketSpec {
                rate: *rate,
                burst: *burst,
            }
            .build(),
        ),
        RateLimitSpec::LeakyBucket { rate, capacity, .. } => Limiter::Leaky(
            crate::resilience::LeakyBucketSpec {
                rate: *rate,
                capacity: *capacity,
            }
            .build(),
        ),
    }
}

fn count_src(
    c: &Option<Count>,
    default: u32,
    rng: Stream,
    tables: &BTreeMap<String, u32>,
    table: Option<&str>,
) -> CountSrc {
    let kind = match c {
        None => CountKind::Constant(default),
        Some(Count::Constant(n)) => CountKind::Constant(*n),
        Some(Count::Dist(d)) => match d {
            CountDist::Constant { value } => CountKind::Constant(*value),
            CountDist::Uniform { min, max } => CountKind::Uniform(*min, *max),
            CountDist::Poisson { mean } => {
                if *mean > 0.0 {
                    CountKind::Poisson(rand_distr::Poisson::new(*mean).expect("validated mean"))
                } else {
                    CountKind::Constant(0)
                }
            }
            CountDist::Geometric { mean } => CountKind::Geometric(*mean),
            CountDist::Items { plus, times } => CountKind::Items {
                plus: *plus,
                times: *times,
            },
            CountDist::Table { fraction } => CountKind::Table {
                table: table.and_then(|t| tables.get(t)).copied().unwrap_or(0),
                fraction: *fraction,
            },
        },
    };
    CountSrc { kind, rng }
}

struct Builder<'a> {
    sc: &'a Scenario,
    seed: u64,
    index: BTreeMap<&'a str, u32>,
    edges: Vec<Edge>,
    /// Per edge: its call policy and where it was declared.
    edge_meta: Vec<(CallPolicy, String)>,
    spaces: Vec<KeySpace>,
    space_index: BTreeMap<String, u32>,
    locks: Vec<LockSpace>,
    lock_index: BTreeMap<String, u32>,
    /// Key spaces read through each cache (for warming): cache -> (space, n, zipf).
    warm: BTreeMap<u32, Vec<(u32, u64, f64, bool)>>,
}

impl<'a> Builder<'a> {
    fn space(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.space_index.get(name) {
            return i;
        }
        let i = self.spaces.len() as u32;
        self.spaces.push(KeySpace::default());
        self.space_index.insert(name.to_string(), i);
        i
    }

    fn lock(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.lock_index.get(name) {
            return i;
        }
        let i = self.locks.len() as u32;
        self.locks.push(LockSpace::default());
        self.lock_index.insert(name.to_string(), i);
        i
    }

    fn key(&mut self, k: &KeySpec, node: &str, purpose: &str) -> KeySrc {
        let space = self.space(&k.space);
        KeySrc {
            space,
            n: k.n,
            per_user: k.per_user,
            sampler: if k.n > 1 {
                Some(KeySampler::new(k.n, k.zipf).expect("validated key space"))
            } else {
                None
            },
            rng: stream(self.seed, node, purpose),
        }
    }

    fn endpoint_index(&self, to: &str, ep: &Option<String>) -> u32 {
        match (self.sc.nodes.get(to), ep) {
            (Some(NodeSpec::Service(s)), Some(ep)) => {
                let base = u32::from(s.service.is_some() || !s.steps.is_empty());
                base + s
                    .endpoints
                    .keys()
                    .position(|k| k == ep)
                    .expect("validated endpoint") as u32
            }
            _ => 0,
        }
    }

    /// A new edge from `from` to `to`; `purpose` names its streams.
    fn edge(&mut self, from: &str, to: &str, purpose: &str, task: EdgeTask, p: &CallPolicy) -> u32 {
        let caller_pools: Vec<&String> = match self.sc.nodes.get(from) {
            Some(NodeSpec::Service(s)) => s.pools.keys().collect(),
            _ => Vec::new(),
        };
        let seed = self.seed;
        let build_dist =
            |d: &Option<DistSpec>| d.as_ref().map(|d| d.build()).unwrap_or(Dist::Constant(0));
        let e = Edge {
            from: self.index[from],
            to: self.index[to],
            task,
            hop: build_dist(&p.hop),
            rng: stream(seed, from, &format!("{purpose}->{to}")),
            bandwidth: p.bandwidth_mbps.map(|m| m * 1e6 / 8.0 / 1e9),
            req_bytes: p.request_kb.unwrap_or(0.0) * 1000.0,
            resp_bytes: p.response_kb.unwrap_or(0.0) * 1000.0,
            compress: p
                .compression
                .as_ref()
                .map(|c| (c.ratio, c.cpu_s_per_mb * 1e9 / 1e6)),
            timeout: p.timeout_s.map(secs_to_ns),
            deadline_prop: p.deadline_propagation,
            retries: p.retries.as_ref().map(|r| {
                (
                    r.max,
                    r.backoff.as_ref().map(|b| b.build()),
                    r.budget.as_ref().map(|b| b.build()),
                )
            }),
            breaker: p.breaker.as_ref().map(|b| b.build()),
            fallback: p.fallback.as_ref().map(|f| build_dist(&f.latency)),
            hedge: p.hedge.as_ref().map(|h| secs_to_ns(h.after_s)),
            pool: p.pool.as_ref().map(|name| {
                caller_pools
                    .iter()
                    .position(|k| *k == name)
                    .expect("validated pool") as u32
            }),
            side_effect: p.side_effect,
            idempotent: p.idempotency_key,
            partitioned: false,
            stats: EdgeStats::default(),
            express_in: false,
            express_out: false,
        };
        self.edges.push(e);
        self.edge_meta
            .push((p.clone(), format!("nodes.{from} ({purpose}->{to})")));
        (self.edges.len() - 1) as u32
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
        let seed = self.seed;
        let no_tables = BTreeMap::new();
        match st {
            StepSpec::Compute(d) => out.push(Op::Compute {
                dist: d.build(),
                rng: stream(seed, node, &format!("compute{here}")),
            }),
            StepSpec::Call(c) => {
                let ep = self.endpoint_index(&c.to, &c.endpoint);
                let edge = self.edge(
                    node,
                    &c.to,
                    &format!("call{here}"),
                    EdgeTask::Handler { endpoint: ep },
                    &c.policy,
                );
                out.push(Op::Call {
                    edge,
                    count: count_src(
                        &c.count,
                        1,
                        stream(seed, node, &format!("count{here}")),
                        &no_tables,
                        None,
                    ),
                    parallel: c.parallel,
                    release: event_loop && !c.blocking,
                });
            }
            StepSpec::Query(q) => {
                let edge = self.query_edge(node, q, here);
                out.push(Op::Call {
                    edge,
                    count: count_src(
                        &q.count,
                        1,
                        stream(seed, node, &format!("count{here}")),
                        &no_tables,
                        None,
                    ),
                    parallel: q.parallel,
                    release: event_loop && !q.blocking,
                });
            }
            StepSpec::Publish(p) => {
                let key = p
                    .key
                    .as_ref()
                    .map(|k| self.key(k, node, &format!("pubkey{here}")));
                let edge = self.edge(
                    node,
                    &p.broker,
                    &format!("publish{here}"),
                    EdgeTask::Publish { key, rr: 0 },
                    &p.policy,
                );
                out.push(Op::Call {
                    edge,
                    count: count_src(
                        &None,
                        1,
                        stream(seed, node, &format!("count{here}")),
                        &no_tables,
                        None,
                    ),
                    parallel: false,
                    release: event_loop,
                });
            }
            StepSpec::CacheRead(c) => {
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
                let cache = self.index[c.cache.as_str()];
                let sp = key.space;
                self.warm
                    .entry(cache)
                    .or_default()
                    .push((sp, c.key.n, c.key.zipf, c.key.per_user));
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
                out.push(Op::RepeatBegin {
                    count: count_src(
                        &Some(r.count.clone()),
                        1,
                        stream(seed, node, &format!("repeat{here}")),
                        &no_tables,
                        None,
                    ),
                    end: 0,
                });
                self.lower(node, event_loop, &r.steps, &format!("{here}.r"), out);
                let end = out.len() as u32;
                out.push(Op::RepeatEnd { begin: at as u32 });
                if let Op::RepeatBegin { end: e, .. } = &mut out[at] {
                    *e = end;
                }
            }
            StepSpec::Parallel(branches) => {
                let mut edges = Vec::new();
                for (i, b) in branches.iter().enumerate() {
                    let bh = format!("{here}.p{i}");
                    let e = match b {
                        StepSpec::Call(c) => {
                            let ep = self.endpoint_index(&c.to, &c.endpoint);
                            self.edge(
                                node,
                                &c.to,
                                &format!("call{bh}"),
                                EdgeTask::Handler { endpoint: ep },
                                &c.policy,
                            )
                        }
                        StepSpec::Query(q) => self.query_edge(node, q, &bh),
                        StepSpec::Publish(p) => {
                            let key = p
                                .key
                                .as_ref()
                                .map(|k| self.key(k, node, &format!("pubkey{bh}")));
                            self.edge(
                                node,
                                &p.broker,
                                &format!("publish{bh}"),
                                EdgeTask::Publish { key, rr: 0 },
                                &p.policy,
                            )
                        }
                        _ => unreachable!("validated"),
                    };
                    edges.push(e);
                }
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
            StepSpec::Choose(bs) => {
                // choose -> [Choose][b0..., Jump end][b1..., Jump end]...
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
                    targets,
                    rng: stream(seed, node, &format!("choose{here}")),
                };
            }
        }
    }

    fn query_edge(&mut self, node: &str, q: &QuerySpec, here: &str) -> u32 {
        let tables: BTreeMap<String, u32> = match self.sc.nodes.get(&q.db) {
            Some(NodeSpec::Database(db)) => db
                .tables
                .keys()
                .enumerate()
                .map(|(i, k)| (k.clone(), i as u32))
                .collect(),
            _ => BTreeMap::new(),
        };
        let key = q
            .key
            .as_ref()
            .map(|k| self.key(k, node, &format!("qkey{here}")));
        let task = EdgeTask::Query {
            table: tables[&q.table],
            kind: q.kind,
            rows: count_src(
                &q.rows,
                1,
                stream(self.seed, node, &format!("rows{here}")),
                &tables,
                Some(&q.table),
            ),
            page: q.page_size,
            write: q.write,
            key,
        };
        self.edge(node, &q.db, &format!("query{here}"), task, &q.policy)
    }
}

/// A fresh, idle connection pool.
fn pool(size: u32, acquire_timeout: Option<Time>, max_waiters: Option<u32>) -> PoolRt {
    PoolRt {
        size,
        in_use: 0,
        waiters: VecDeque::new(),
        acquire_timeout,
        max_waiters,
        wait: LatencyHist::new(2),
        timeouts: 0,
        rejected: 0,
        acquired: 0,
        area: 0.0,
        last: 0,
    }
}

/// A fresh replica with `workers` workers and the given pools.
fn station(workers: u32, pools: Vec<PoolRt>) -> Station {
    Station {
        state: RState::Up,
        epoch: 0,
        down_since: 0,
        workers,
        queue: VecDeque::new(),
        lv: Levels::with_capacity(workers),
        c: Counters::default(),
        at_warm: Counters::default(),
        at_window: Counters::default(),
        pools,
        slow: 1.0,
        steal: 0.0,
        err_p: 0.0,
        hung: false,
        mem_extra: 0.0,
        restarts: 0,
        oom_kills: 0,
        drain_down: None,
        drained: false,
        replica: false,
        partitioned: false,
        plain: false,
    }
}

/// Another replica like the node's first one (scale-out).
pub(super) fn new_station(node: &Node) -> Station {
    let pools = node.reps[0]
        .pools
        .iter()
        .map(|p| pool(p.size, p.acquire_timeout, p.max_waiters))
        .collect();
    station(node.workers_spec, pools)
}

/// Unlimited concurrency is modelled as this many workers.
const UNLIMITED: u32 = 1_000_000;

pub(super) fn build(sc: &Scenario, seed: u64) -> Result<Sim, ScenarioError> {
    sc.validate()?;
    let index: BTreeMap<&str, u32> = sc
        .nodes
        .keys()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut b = Builder {
        sc,
        seed,
        index,
        edges: Vec::new(),
        edge_meta: Vec::new(),
        spaces: Vec::new(),
        space_index: BTreeMap::new(),
        locks: Vec::new(),
        lock_index: BTreeMap::new(),
        warm: BTreeMap::new(),
    };
    let mut clients: Vec<String> = Vec::new();
    let mut nodes = Vec::with_capacity(sc.nodes.len());
    for (name, spec) in &sc.nodes {
        let no_pools = BTreeMap::new();
        let mut workers = 1u32;
        let mut reps = 1u32;
        let mut pools = &no_pools;
        let mut queue = QueueSpec::default();
        let mut balance = Balance::RoundRobin;
        let mut error_rate = 0.0;
        let mut unlimited = false;
        let body = match spec {
            NodeSpec::Source(s) => {
                let client_name = s.client.clone().unwrap_or_else(|| name.clone());
                let client = match clients.iter().position(|c| *c == client_name) {
                    Some(i) => i as u32,
                    None => {
                        clients.push(client_name);
                        (clients.len() - 1) as u32
                    }
                };
                let ep = b.endpoint_index(&s.target, &s.endpoint);
                let edge = b.edge(
                    name,
                    &s.target,
                    "client",
                    EdgeTask::Handler { endpoint: ep },
                    &s.policy,
                );
                Body::Source(lower_source(seed, name, s, edge, client))
            }
            NodeSpec::Service(s) => {
                workers = s.workers;
                reps = s.replicas;
                pools = &s.pools;
                queue = s.queue.clone();
                balance = s.balance;
                error_rate = s.error_rate;
                let event_loop = s.model == WorkerModel::EventLoop;
                let mut programs = Vec::new();
                let handler = s.handler();
                if !handler.is_empty() {
                    let mut out = Vec::new();
                    b.lower(name, event_loop, &handler, "", &mut out);
                    programs.push(out);
                }
                for (en, e) in &s.endpoints {
                    let mut out = Vec::new();
                    b.lower(name, event_loop, &e.steps, &format!(".{en}"), &mut out);
                    programs.push(out);
                }
                Body::Service(ServiceRt { programs })
            }
            NodeSpec::External(e) => {
                error_rate = e.error_rate;
                match e.max_concurrency {
                    Some(m) => workers = m,
                    None => {
                        workers = UNLIMITED;
                        unlimited = true;
                    }
                }
                Body::Service(ServiceRt {
                    programs: vec![vec![Op::Compute {
                        dist: e.latency.build(),
                        rng: stream(seed, name, "latency"),
                    }]],
                })
            }
            NodeSpec::Database(d) => {
                workers = d.cores;
                queue = d.queue.clone();
                error_rate = d.error_rate;
                let nrep = d.read_replicas.as_ref().map_or(0, |r| r.count);
                reps = d.shards + nrep;
                Body::Database(DbRt {
                    tables: d
                        .tables
                        .values()
                        .map(|t| Table {
                            rows0: t.rows,
                            growth: t.growth_per_s,
                            row_bytes: t.row_bytes,
                        })
                        .collect(),
                    cost: d.cost.clone(),
                    shards: d.shards,
                    replicas: nrep,
                    lag: d.read_replicas.as_ref().map_or(0, |r| secs_to_ns(r.lag_s)),
                    reads: d.reads,
                    on_partition: d
                        .read_replicas
                        .as_ref()
                        .map_or(PartitionMode::Available, |r| r.on_partition),
                    rr: 0,
                    queries: 0,
                    reads_n: 0,
                    writes_n: 0,
                    stale_reads: 0,
                    rows_returned: 0,
                    bytes_returned: 0.0,
                })
            }
            NodeSpec::Cache(c) => {
                match c.workers {
                    Some(w) => workers = w,
                    None => {
                        workers = UNLIMITED;
                        unlimited = true;
                    }
                }
                Body::Cache(CacheRt {
                    store: CacheStore::new(CacheConfig {
                        capacity_entries: c.capacity_entries,
                        capacity_bytes: c.capacity_mb.map(|m| (m * 1e6) as u64),
                        policy: match c.policy {
                            CachePolicy::Lru => CachePolicyRt::Lru,
                            CachePolicy::Fifo => CachePolicyRt::Fifo,
                        },
                    }),
                    latency: c.latency.build(),
                    rng: stream(seed, name, "cache"),
                    ttl: c.ttl_s.map(secs_to_ns),
                    jitter: c.ttl_jitter,
                    hits: 0,
                    misses: 0,
                    stale: 0,
                    coalesced: 0,
                    fills: 0,
                    flushes: 0,
                    inflight: FxHashMap::default(),
                })
            }
            NodeSpec::Broker(bk) => {
                let handler = bk.handler.as_ref().map(|h| {
                    let ep = b.endpoint_index(&h.to, &h.endpoint);
                    b.edge(
                        name,
                        &h.to,
                        "consume",
                        EdgeTask::Handler { endpoint: ep },
                        &h.policy,
                    )
                });
                let parts = bk.partitions;
                let consumers: Vec<Consumer> = (0..bk.consumers)
                    .map(|c| Consumer {
                        parts: (0..parts)
                            .filter(|p| p % bk.consumers.max(1) == c)
                            .collect(),
                        next: 0,
                        busy: None,
                        wake_at: NEVER,
                    })
                    .collect();
                workers = UNLIMITED;
                unlimited = true;
                Body::Broker(BrokerRt {
                    parts: (0..parts)
                        .map(|_| Partition {
                            q: VecDeque::new(),
                            blocked: VecDeque::new(),
                            max_depth: 0,
                        })
                        .collect(),
                    consumers,
                    active: bk.consumers,
                    capacity: bk.capacity,
                    overflow: bk.overflow,
                    process: bk.process.as_ref().map(|d| d.build()),
                    handler,
                    poison_rate: bk.poison_rate,
                    max_attempts: bk.max_attempts,
                    dlq_on: bk.dlq,
                    redelivery: secs_to_ns(bk.redelivery_s),
                    rng: stream(seed, name, "broker"),
                    published: 0,
                    processed: 0,
                    dead_lettered: 0,
                    discarded: 0,
                    dropped: 0,
                    rejected: 0,
                    failed_attempts: 0,
                    latency: LatencyHist::new(3),
                    depth_area: 0.0,
                    depth: 0,
                    last: 0,
                })
            }
            NodeSpec::LoadBalancer(lb) => {
                balance = lb.policy;
                Body::Balancer(LbRt {
                    backends: lb.backends.iter().map(|n| b.index[n.as_str()]).collect(),
                    detect: lb
                        .health_check
                        .as_ref()
                        .map(|h| secs_to_ns(h.interval_s * h.unhealthy_after as f64)),
                    latency: lb.latency.as_ref().map(|d| d.build()),
                    rng: stream(seed, name, "lb"),
                    routed: 0,
                    to_dead: 0,
                })
            }
        };
        let has_stations = !matches!(body, Body::Source(_) | Body::Balancer(_));
        let mut stations: Vec<Station> = if has_stations {
            (0..reps)
                .map(|_| {
                    let ps = pools
                        .values()
                        .map(|p| pool(p.size, p.acquire_timeout_s.map(secs_to_ns), p.max_waiters))
                        .collect();
                    station(workers, ps)
                })
                .collect()
        } else {
            Vec::new()
        };
        if let NodeSpec::Database(d) = spec {
            for st in stations.iter_mut().skip(d.shards as usize) {
                st.replica = true;
            }
        }
        let (rate, max_in_flight, memory, contention, autoscale) = match spec {
            NodeSpec::Service(s) => (
                s.rate_limit.as_ref().map(|r| RateLimit {
                    per_client: matches!(
                        r,
                        RateLimitSpec::TokenBucket {
                            per_client: true,
                            ..
                        } | RateLimitSpec::LeakyBucket {
                            per_client: true,
                            ..
                        }
                    ),
                    global: None,
                    by_client: Vec::new(),
                    spec: r.clone(),
                    limited: 0,
                }),
                s.max_in_flight,
                s.memory.clone(),
                s.contention.as_ref().map(|c| (c.cores, c.penalty)),
                s.autoscale.as_ref().map(|a| Autoscale {
                    spec: a.clone(),
                    last_action: None,
                    actions: 0,
                    prev_busy: 0.0,
                    prev_cap: 0.0,
                    prev_queue: 0.0,
                    prev_t: 0,
                    prev_soj: (0, 0),
                }),
            ),
            _ => (None, None, None, None, None),
        };
        nodes.push(Node {
            name: name.clone(),
            kind: spec.kind(),
            body,
            reps: stations,
            balancer: Balancer {
                policy: balance,
                rr: u32::MAX,
                rng: stream(seed, name, "balance"),
                sticky: FxHashMap::default(),
            },
            wait: LatencyHist::new(3),
            sojourn: LatencyHist::new(3),
            late: 0,
            side_effects: 0,
            duplicates: 0,
            expired: 0,
            lock_wait: LatencyHist::new(2),
            rate,
            max_in_flight,
            memory,
            contention,
            error_rate,
            err_rng: stream(seed, name, "errors"),
            autoscale,
            instance_area: 0.0,
            inst_last: 0,
            pool_names: pools.keys().cloned().collect(),
            workers_spec: workers,
            unlimited,
            queue_cap: queue.capacity,
            lifo: queue.discipline == Discipline::Lifo,
            autoscale_armed: false,
        });
    }
    let servers: Vec<u32> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind != NodeKind::Source)
        .map(|(i, _)| i as u32)
        .collect();
    let sources: Vec<u32> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == NodeKind::Source)
        .map(|(i, _)| i as u32)
        .collect();
    let faults = sc
        .faults
        .iter()
        .map(|f| FaultRt {
            spec: f.clone(),
            node: b.index.get(f.target.as_str()).copied().unwrap_or(NONE),
            peer: match &f.action {
                FaultAction::Partition { peer } => {
                    b.index.get(peer.as_str()).copied().unwrap_or(NONE)
                }
                _ => NONE,
            },
        })
        .collect();
    let warm = std::mem::take(&mut b.warm);
    let names = |m: &BTreeMap<String, u32>| {
        let mut v: Vec<(u32, String)> = m.iter().map(|(k, i)| (*i, k.clone())).collect();
        v.sort();
        v.into_iter().map(|(_, k)| k).collect::<Vec<String>>()
    };
    let meta = Box::new(super::reconfig::Meta {
        spec: sc.clone(),
        edges: std::mem::take(&mut b.edge_meta),
        spaces: names(&b.space_index),
        locks: names(&b.lock_index),
        retired: Vec::new(),
    });
    let mut sim = Sim {
        cal: Calendar::new(),
        scenario: sc.name.clone(),
        seed,
        warmup: secs_to_ns(sc.warmup_s),
        window: secs_to_ns(sc.metrics.window_s).max(1),
        max_windows: sc.metrics.max_windows,
        nodes,
        servers,
        sources,
        edges: b.edges,
        jobs: Slab::new(),
        calls: Slab::new(),
        spaces: b.spaces,
        locks: b.locks,
        faults,
        e2e: E2eCounts::default(),
        e2e_at_warm: E2eCounts::default(),
        e2e_at_window: E2eCounts::default(),
        latency: LatencyHist::new(3),
        win_latency: WindowLatency::default(),
        win_heat: [0; HEAT_BUCKETS],
        windows: VecDeque::new(),
        window_start: 0,
        events: 0,
        tracer: trace::Tracer::new(sc.traces.every, sc.traces.keep),
        slo: sc.slo.as_ref().map(|s| (secs_to_ns(s.latency_s), s.target)),
        slo_counts: (0, 0),
        win_slo_good: 0,
        table_names: sc
            .nodes
            .iter()
            .filter_map(|(n, s)| match s {
                NodeSpec::Database(d) => Some((n.clone(), d.tables.keys().cloned().collect())),
                _ => None,
            })
            .collect(),
        meta,
        express: true,
        mirror: Mirror::Unset,
        soj_pending: None,
    };
    // Warm caches: the most popular keys of each key space read through them.
    for (cache, spaces) in warm {
        let Body::Cache(c) = &mut sim.nodes[cache as usize].body else {
            continue;
        };
        let Some(n) = sc.nodes.values().nth(cache as usize).and_then(|s| match s {
            NodeSpec::Cache(cs) => cs.warm,
            _ => None,
        }) else {
            continue;
        };
        for (space, keys, _zipf, per_user) in spaces {
            if per_user {
                continue;
            }
            for k in 0..n.min(keys) {
                let exp = c.ttl.map_or(NEVER, |t| t);
                c.store.put(cache_key(space, k, None), 1000, 0, exp);
            }
        }
    }
    if sim.warmup > 0 {
        sim.cal.schedule(sim.warmup, Event::Warmup);
    }
    sim.cal.schedule(sim.window, Event::Window);
    for i in 0..sim.nodes.len() as u32 {
        sim.start_source(i);
        if sim.nodes[i as usize].autoscale.is_some() {
            let iv = secs_to_ns(
                sim.nodes[i as usize]
                    .autoscale
                    .as_ref()
                    .unwrap()
                    .spec
                    .interval_s,
            );
            sim.cal.schedule(iv, Event::Autoscale { node: i });
            sim.nodes[i as usize].autoscale_armed = true;
        }
    }
    for (i, f) in sim.faults.iter().enumerate() {
        sim.cal.schedule(
            secs_to_ns(f.spec.at_s),
            Event::Fault {
                idx: i as u32,
                start: true,
            },
        );
        if let Some(d) = f.spec.duration_s {
            sim.cal.schedule(
                secs_to_ns(f.spec.at_s + d),
                Event::Fault {
                    idx: i as u32,
                    start: false,
                },
            );
        }
    }
    sim.refresh_express();
    Ok(sim)
}

fn lower_source(
    seed: u64,
    name: &str,
    s: &crate::scenario::SourceSpec,
    edge: u32,
    client: u32,
) -> SourceRt {
    let arrival = match &s.arrival {
        ArrivalSpec::Poisson { rate } => Arrival::Poisson {
            rate: *rate,
            exp: Exp::new(rate / 1e9).expect("validated rate"),
        },
        ArrivalSpec::Constant { rate } => Arrival::Constant { rate: *rate },
        ArrivalSpec::Schedule {
            points,
            shape,
            poisson,
        } => Arrival::Schedule {
            points: points
                .iter()
                .map(|p| (secs_to_ns(p.at_s), p.rate))
                .collect(),
            shape: *shape,
            poisson: *poisson,
            max_rate: points.iter().map(|p| p.rate).fold(0.0, f64::max),
        },
        ArrivalSpec::Closed { users, think } => Arrival::Closed {
            users: *users,
            think: think.build(),
            running: vec![false; *users as usize],
        },
    };
    SourceRt {
        edge,
        arrival,
        rng: stream(seed, name, "arrival"),
        gen: 0,
        user_rng: stream(seed, name, "users"),
        users: s.users.as_ref().map(|u| {
            (
                u.count,
                if u.zipf > 0.0 {
                    Some(KeySampler::new(u.count, u.zipf).expect("validated"))
                } else {
                    None
                },
            )
        }),
        items: s.items.as_ref().map(|i| {
            count_src(
                &Some(i.clone()),
                1,
                stream(seed, name, "items"),
                &BTreeMap::new(),
                None,
            )
        }),
        client,
        spike: 1.0,
        e2e: E2e {
            c: E2eCounts::default(),
            at_warm: E2eCounts::default(),
            latency: LatencyHist::new(3),
        },
    }
}
