//! Lowering: a validated scenario becomes the configuration (indexed nodes,
//! edges and flat handler programs). Every random stream is named here,
//! from (node, purpose), so that adding a node or a step never changes
//! another's draws. `program.rs` lowers handler steps; `start.rs` builds a
//! run's initial state from a configuration.

mod program;
mod start;

use super::alerts::{AlertCfg, AlertRule};
use super::config::*;
use super::streams::{StreamId, StreamNames};
use crate::cache::{KeySampler, Policy as CachePolicyRt};
use crate::calendar::secs_to_ns;
use crate::dist::{Dist, DistSpec};
use crate::scenario::{ArrivalSpec, NodeSpec, Scenario, ScenarioError, SourceSpec};
use crate::spec::*;
use rand_distr::Exp;
use std::collections::BTreeMap;

/// Builds the configuration of `sc` with root seed `seed`.
pub(super) fn build(sc: &Scenario, seed: u64) -> Result<Config, ScenarioError> {
    sc.validate()?;
    let index: BTreeMap<&str, u32> = sc
        .nodes
        .keys()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut b = Builder {
        sc,
        index,
        edges: Vec::new(),
        streams: StreamNames::default(),
        space_index: BTreeMap::new(),
        lock_index: BTreeMap::new(),
        clients: Vec::new(),
    };
    let mut nodes: Vec<NodeCfg> = sc
        .nodes
        .iter()
        .map(|(name, spec)| b.node(name, spec))
        .collect();
    CallPlan::assign_lanes(&mut b.edges);
    mark_side_effects(&mut nodes, &b.edges);
    mark_limited_pools(&mut nodes, &b.edges);
    let servers = (0..nodes.len() as u32)
        .filter(|&i| nodes[i as usize].kind != crate::scenario::NodeKind::Source)
        .collect();
    let sources = (0..nodes.len() as u32)
        .filter(|&i| nodes[i as usize].kind == crate::scenario::NodeKind::Source)
        .collect();
    let names = |m: &BTreeMap<String, u32>| {
        let mut v: Vec<(u32, String)> = m.iter().map(|(k, i)| (*i, k.clone())).collect();
        v.sort();
        v.into_iter().map(|(_, k)| k).collect::<Vec<String>>()
    };
    Ok(Config {
        spec: sc.clone(),
        seed,
        warmup: secs_to_ns(sc.warmup_s),
        window: secs_to_ns(sc.metrics.window_s).max(1),
        max_windows: sc.metrics.max_windows,
        nodes,
        edges: b.edges,
        retired: Vec::new(),
        servers,
        sources,
        streams: b.streams,
        spaces: names(&b.space_index),
        locks: names(&b.lock_index),
        links: sc
            .links
            .iter()
            .map(|(name, l)| LinkCfg {
                name: name.clone(),
                bandwidth_mbps: l.bandwidth_mbps,
                bytes_per_ns: l.bandwidth_mbps * 1e6 / 8.0 / 1e9,
            })
            .collect(),
        slo: sc.slo.as_ref().map(|s| (secs_to_ns(s.latency_s), s.target)),
        alerts: alerts(sc),
        trace_every: sc.traces.every,
        trace_keep: sc.traces.keep,
    })
}

/// The alert rules (validation: only with an SLO).
fn alerts(sc: &Scenario) -> Vec<AlertCfg> {
    let budget = sc.slo.as_ref().map_or(1.0, |s| 1.0 - s.target);
    sc.alerts
        .iter()
        .map(|(name, a)| AlertCfg {
            name: name.clone(),
            rule: match *a {
                AlertSpec::Threshold { window_s, above } => AlertRule::Threshold {
                    span: secs_to_ns(window_s),
                    above,
                },
                AlertSpec::BurnRate {
                    long_s,
                    short_s,
                    above,
                } => AlertRule::BurnRate {
                    long: secs_to_ns(long_s),
                    short: secs_to_ns(short_s),
                    above,
                    budget,
                },
            },
        })
        .collect()
}

struct Builder<'a> {
    sc: &'a Scenario,
    index: BTreeMap<&'a str, u32>,
    edges: Vec<EdgeCfg>,
    streams: StreamNames,
    space_index: BTreeMap<String, u32>,
    lock_index: BTreeMap<String, u32>,
    /// Client identities, in order of first appearance.
    clients: Vec<String>,
}

/// A node's settings common to every kind, before its kind fills them in.
struct Common {
    workers: u32,
    unlimited: bool,
    stations: u32,
    queue: QueueSpec,
    balance: Balance,
    error_rate: f64,
    pools: BTreeMap<String, PoolSpec>,
}

impl Default for Common {
    fn default() -> Self {
        Common {
            workers: 1,
            unlimited: false,
            stations: 1,
            queue: QueueSpec::default(),
            balance: Balance::RoundRobin,
            error_rate: 0.0,
            pools: BTreeMap::new(),
        }
    }
}

impl<'a> Builder<'a> {
    fn stream(&mut self, node: &str, purpose: &str) -> StreamId {
        self.streams.add(node, purpose)
    }

    fn space(&mut self, name: &str) -> u32 {
        let n = self.space_index.len() as u32;
        *self.space_index.entry(name.to_string()).or_insert(n)
    }

    fn lock(&mut self, name: &str) -> u32 {
        let n = self.lock_index.len() as u32;
        *self.lock_index.entry(name.to_string()).or_insert(n)
    }

    fn key(&mut self, k: &KeySpec, node: &str, purpose: &str) -> KeyCfg {
        KeyCfg {
            space: self.space(&k.space),
            n: k.n,
            per_user: k.per_user,
            sampler: (k.n > 1).then(|| KeySampler::new(k.n, k.zipf).expect("validated key space")),
            stream: self.stream(node, purpose),
        }
    }

    fn count(
        &mut self,
        c: &Option<Count>,
        default: u32,
        node: &str,
        purpose: &str,
        tables: Option<(&DatabaseSpec, &str)>,
    ) -> CountCfg {
        let kind = match c {
            None => CountKind::Constant(default),
            Some(Count::Constant(n)) => CountKind::Constant(*n),
            Some(Count::Dist(d)) => match d {
                CountDist::Constant { value } => CountKind::Constant(*value),
                CountDist::Uniform { min, max } => CountKind::Uniform(*min, *max),
                CountDist::Poisson { mean } if *mean > 0.0 => {
                    CountKind::Poisson(rand_distr::Poisson::new(*mean).expect("validated mean"))
                }
                CountDist::Poisson { .. } => CountKind::Constant(0),
                CountDist::Geometric { mean } => CountKind::Geometric(*mean),
                CountDist::Items { plus, times } => CountKind::Items {
                    plus: *plus,
                    times: *times,
                },
                CountDist::Table { fraction } => CountKind::Table {
                    table: tables
                        .and_then(|(db, t)| db.tables.keys().position(|k| k == t))
                        .map_or(0, |i| i as u32),
                    fraction: *fraction,
                },
            },
        };
        CountCfg {
            kind,
            stream: self.stream(node, purpose),
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

    /// A new edge from `from` to `to`; `purpose` names its stream.
    fn edge(&mut self, from: &str, to: &str, purpose: &str, task: EdgeTask, p: &CallPolicy) -> u32 {
        let pool = p.pool.as_ref().map(|name| match self.sc.nodes.get(from) {
            Some(NodeSpec::Service(s)) => s
                .pools
                .keys()
                .position(|k| k == name)
                .expect("validated pool") as u32,
            _ => unreachable!("validated: pools belong to services"),
        });
        let build_dist =
            |d: &Option<DistSpec>| d.as_ref().map(|d| d.build()).unwrap_or(Dist::Constant(0));
        // A stream of its own: turning keep-alive off or on leaves every
        // other draw of the edge where it was (common random numbers).
        let handshake = match &p.connection {
            Some(c) if !c.keep_alive => Some(Handshake {
                round_trips: c.handshake_round_trips,
                cpu: secs_to_ns(c.handshake_cpu_s),
                stream: self.stream(from, &format!("{purpose}->{to}:handshake")),
            }),
            _ => None,
        };
        let mut e = EdgeCfg {
            from: self.index[from],
            to: self.index[to],
            task,
            hop: build_dist(&p.hop),
            stream: self.stream(from, &format!("{purpose}->{to}")),
            bandwidth: p.bandwidth_mbps.map(|m| m * 1e6 / 8.0 / 1e9),
            link: p.link.as_ref().map(|l| {
                self.sc
                    .links
                    .keys()
                    .position(|k| k == l)
                    .expect("validated link") as u32
            }),
            req_bytes: p.request_kb.unwrap_or(0.0) * 1000.0,
            resp_bytes: p.response_kb.unwrap_or(0.0) * 1000.0,
            compress: p
                .compression
                .as_ref()
                .map(|c| (c.ratio, c.cpu_s_per_mb * 1e9 / 1e6)),
            handshake,
            timeout: p.timeout_s.map(secs_to_ns),
            deadline_prop: p.deadline_propagation,
            retries: p.retries.as_ref().map(|r| RetryCfg {
                max: r.max,
                backoff: r.backoff.as_ref().map(|b| b.build()),
                budget: r.budget.clone(),
            }),
            breaker: p.breaker.clone(),
            fallback: p.fallback.as_ref().map(|f| build_dist(&f.latency)),
            hedge: p.hedge.as_ref().map(|h| secs_to_ns(h.after_s)),
            pool,
            side_effect: p.side_effect,
            idempotent: p.idempotency_key,
            policy: p.clone(),
            site: format!("nodes.{from} ({purpose}->{to})"),
            plan: CallPlan::default(),
        };
        e.plan = CallPlan::of(&e);
        self.edges.push(e);
        (self.edges.len() - 1) as u32
    }

    fn node(&mut self, name: &str, spec: &NodeSpec) -> NodeCfg {
        let mut c = Common::default();
        let body = match spec {
            NodeSpec::Source(s) => BodyCfg::Source(self.source(name, s)),
            NodeSpec::Service(s) => {
                c.workers = s.workers;
                // A serverless function's slots: its warm instances (at
                // least one slot, retired until a request starts it).
                c.stations = s
                    .serverless
                    .as_ref()
                    .map_or(s.replicas, |f| f.min_instances.max(1));
                c.pools = s.pools.clone();
                c.queue = s.queue.clone();
                c.balance = s.balance;
                c.error_rate = s.error_rate;
                BodyCfg::Service(self.service(name, s))
            }
            NodeSpec::External(e) => {
                c.error_rate = e.error_rate;
                (c.workers, c.unlimited) = limited(e.max_concurrency);
                let program = Program {
                    ops: vec![Op::Compute {
                        dist: e.latency.build(),
                        stream: self.stream(name, "latency"),
                    }],
                    needs: Needs::default(),
                };
                BodyCfg::Service(ServiceCfg {
                    programs: vec![program],
                })
            }
            NodeSpec::Database(d) => {
                c.workers = d.cores;
                c.queue = d.queue.clone();
                c.error_rate = d.error_rate;
                let nrep = d.read_replicas.as_ref().map_or(0, |r| r.count);
                c.stations = d.shards + nrep;
                BodyCfg::Database(database(d))
            }
            NodeSpec::Cache(cs) => {
                (c.workers, c.unlimited) = limited(cs.workers);
                BodyCfg::Cache(CacheCfg {
                    latency: cs.latency.build(),
                    stream: self.stream(name, "cache"),
                    ttl: cs.ttl_s.map(secs_to_ns),
                    jitter: cs.ttl_jitter,
                    capacity_entries: cs.capacity_entries,
                    capacity_bytes: cs.capacity_mb.map(|m| (m * 1e6) as u64),
                    policy: match cs.policy {
                        CachePolicy::Lru => CachePolicyRt::Lru,
                        CachePolicy::Fifo => CachePolicyRt::Fifo,
                    },
                })
            }
            NodeSpec::Broker(bk) => {
                (c.workers, c.unlimited) = limited(None);
                BodyCfg::Broker(self.broker(name, bk))
            }
            NodeSpec::LoadBalancer(lb) => {
                c.balance = lb.policy;
                c.stations = 0;
                BodyCfg::Balancer(LbCfg {
                    backends: lb.backends.iter().map(|n| self.index[n.as_str()]).collect(),
                    detect: lb
                        .health_check
                        .as_ref()
                        .map(|h| secs_to_ns(h.interval_s * h.unhealthy_after as f64)),
                    latency: lb.latency.as_ref().map(|d| d.build()),
                    stream: self.stream(name, "lb"),
                })
            }
        };
        if matches!(body, BodyCfg::Source(_)) {
            c.stations = 0;
        }
        self.finish_node(name, spec, c, body)
    }

    fn finish_node(&mut self, name: &str, spec: &NodeSpec, c: Common, body: BodyCfg) -> NodeCfg {
        let service = match spec {
            NodeSpec::Service(s) => Some(s),
            _ => None,
        };
        // Streams in the order the first engine named them.
        let balance_stream = self.stream(name, "balance");
        let err_stream = self.stream(name, "errors");
        NodeCfg {
            name: name.to_string(),
            kind: spec.kind(),
            body,
            workers: c.workers,
            unlimited: c.unlimited,
            stations: c.stations,
            queue_cap: c.queue.capacity,
            lifo: c.queue.discipline == Discipline::Lifo,
            balance: c.balance,
            balance_stream,
            error_rate: c.error_rate,
            err_stream,
            rate_limit: service.and_then(|s| s.rate_limit.clone()),
            max_in_flight: service.and_then(|s| s.max_in_flight),
            memory: service.and_then(|s| s.memory.clone()),
            contention: service.and_then(|s| s.contention.as_ref().map(|c| (c.cores, c.penalty))),
            load_per_request: service
                .and_then(|s| s.load.as_ref().map(|l| secs_to_ns(l.per_request_s))),
            autoscale: service.and_then(|s| s.autoscale.clone()),
            serverless: service
                .and_then(|s| s.serverless.as_ref())
                .map(|f| ServerlessCfg {
                    cold_start: secs_to_ns(f.cold_start_s),
                    idle_timeout: secs_to_ns(f.idle_timeout_s),
                    min: f.min_instances,
                    max: f.max_instances,
                }),
            pools: c
                .pools
                .values()
                .map(|p| PoolCfg {
                    size: p.size,
                    acquire_timeout: p.acquire_timeout_s.map(secs_to_ns),
                    max_waiters: p.max_waiters,
                    min_idle: p.min_idle,
                    limited_db: None,
                })
                .collect(),
            pool_names: c.pools.keys().cloned().collect(),
            side_effects: false,
        }
    }

    fn source(&mut self, name: &str, s: &SourceSpec) -> SourceCfg {
        let client_name = s.client.clone().unwrap_or_else(|| name.to_string());
        let client = match self.clients.iter().position(|c| *c == client_name) {
            Some(i) => i as u32,
            None => {
                self.clients.push(client_name);
                (self.clients.len() - 1) as u32
            }
        };
        let ep = self.endpoint_index(&s.target, &s.endpoint);
        let edge = self.edge(
            name,
            &s.target,
            "client",
            EdgeTask::Handler { endpoint: ep },
            &s.policy,
        );
        let arrival = match &s.arrival {
            ArrivalSpec::Poisson { rate } => ArrivalCfg::Poisson {
                rate: *rate,
                exp: Exp::new(rate / 1e9).expect("validated rate"),
            },
            ArrivalSpec::Constant { rate } => ArrivalCfg::Constant { rate: *rate },
            ArrivalSpec::Schedule {
                points,
                shape,
                poisson,
            } => ArrivalCfg::Schedule {
                points: points
                    .iter()
                    .map(|p| (secs_to_ns(p.at_s), p.rate))
                    .collect(),
                shape: *shape,
                poisson: *poisson,
            },
            ArrivalSpec::Closed { users, think } => ArrivalCfg::Closed {
                users: *users,
                think: think.build(),
            },
        };
        SourceCfg {
            edge,
            arrival,
            arrival_stream: self.stream(name, "arrival"),
            users: s.users.as_ref().map(|u| {
                let z =
                    (u.zipf > 0.0).then(|| KeySampler::new(u.count, u.zipf).expect("validated"));
                (u.count, z)
            }),
            user_stream: self.stream(name, "users"),
            items: s
                .items
                .as_ref()
                .map(|i| self.count(&Some(i.clone()), 1, name, "items", None)),
            client,
        }
    }

    fn service(&mut self, name: &str, s: &ServiceSpec) -> ServiceCfg {
        let event_loop = s.model == WorkerModel::EventLoop;
        let mut programs = Vec::new();
        let handler = s.handler();
        if !handler.is_empty() {
            programs.push(self.program(name, event_loop, &handler, ""));
        }
        for (en, e) in &s.endpoints {
            programs.push(self.program(name, event_loop, &e.steps, &format!(".{en}")));
        }
        ServiceCfg { programs }
    }

    fn broker(&mut self, name: &str, bk: &BrokerSpec) -> BrokerCfg {
        let handler = bk.handler.as_ref().map(|h| {
            let ep = self.endpoint_index(&h.to, &h.endpoint);
            self.edge(
                name,
                &h.to,
                "consume",
                EdgeTask::Handler { endpoint: ep },
                &h.policy,
            )
        });
        BrokerCfg {
            partitions: bk.partitions,
            consumers: bk.consumers,
            capacity: bk.capacity,
            overflow: bk.overflow,
            process: bk.process.as_ref().map(|d| d.build()),
            handler,
            poison_rate: bk.poison_rate,
            max_attempts: bk.max_attempts,
            dlq: bk.dlq,
            redelivery: secs_to_ns(bk.redelivery_s),
            stream: self.stream(name, "broker"),
        }
    }
}

/// Marks the nodes whose jobs may answer a side-effecting edge.
pub(super) fn mark_side_effects(nodes: &mut [NodeCfg], edges: &[EdgeCfg]) {
    for n in nodes.iter_mut() {
        n.side_effects = false;
    }
    for e in edges.iter().filter(|e| e.side_effect) {
        nodes[e.to as usize].side_effects = true;
        // A balancer's backends run the jobs.
        if let BodyCfg::Balancer(lb) = &nodes[e.to as usize].body {
            for b in lb.backends.clone() {
                nodes[b as usize].side_effects = true;
            }
        }
    }
}

/// Workers of a node whose concurrency may be unlimited.
fn limited(max: Option<u32>) -> (u32, bool) {
    match max {
        Some(m) => (m, false),
        None => (UNLIMITED, true),
    }
}

/// Each pool whose calls reach a database with `max_connections` holds that
/// database's connections.
fn mark_limited_pools(nodes: &mut [NodeCfg], edges: &[EdgeCfg]) {
    for e in edges {
        let limited = matches!(
            &nodes[e.to as usize].body,
            BodyCfg::Database(d) if d.max_connections.is_some()
        );
        if let (Some(p), true) = (e.pool, limited) {
            nodes[e.from as usize].pools[p as usize].limited_db = Some(e.to);
        }
    }
}

fn database(d: &DatabaseSpec) -> DbCfg {
    DbCfg {
        tables: d
            .tables
            .values()
            .map(|t| TableCfg {
                rows0: t.rows,
                growth: t.growth_per_s,
                row_bytes: t.row_bytes,
                log2_rows0: libm::log2(t.rows.max(1.0)),
            })
            .collect(),
        table_names: d.tables.keys().cloned().collect(),
        cost: d.cost.clone(),
        shards: d.shards,
        replicas: d.read_replicas.as_ref().map_or(0, |r| r.count),
        lag: d.read_replicas.as_ref().map_or(0, |r| secs_to_ns(r.lag_s)),
        reads: d.reads,
        on_partition: d
            .read_replicas
            .as_ref()
            .map_or(PartitionMode::Available, |r| r.on_partition),
        max_connections: d.max_connections,
    }
}
