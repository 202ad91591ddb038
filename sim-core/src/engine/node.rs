//! A node's running state: its replicas, what it counts as a whole (waits,
//! sojourns, late answers, side effects), its rate limiter and autoscaler,
//! and the state of its kind (a source's arrivals, a cache's store, a
//! broker's partitions, a database's counters).

use super::balancer::{Balancer, LbState};
use super::broker::BrokerState;
use super::cache_node::CacheState;
use super::config::{BodyCfg, NodeCfg};
use super::database::DbState;
use super::source::SourceState;
use super::station::Station;
use crate::calendar::Time;
use crate::metrics::LatencyHist;
use crate::resilience::{LeakyBucket, LeakyBucketSpec, TokenBucket, TokenBucketSpec};
use crate::spec::RateLimitSpec;

pub(crate) enum BodyState {
    Source(SourceState),
    Service,
    Database(DbState),
    Cache(CacheState),
    Broker(BrokerState),
    Balancer(LbState),
}

pub(crate) struct NodeState {
    pub stations: Vec<Station>,
    pub balancer: Balancer,
    pub body: BodyState,
    pub wait: LatencyHist,
    pub sojourn: LatencyHist,
    pub lock_wait: LatencyHist,
    /// Answers that arrived after the caller gave up (wasted work).
    pub late: u64,
    pub side_effects: u64,
    pub duplicates: u64,
    /// Jobs that started after their propagated deadline.
    pub expired: u64,
    pub rate: RateState,
    pub autoscale: Option<Autoscaler>,
    /// An `Autoscale` event is pending (the autoscaler's tick is running).
    pub autoscale_armed: bool,
    /// Serverless: instances started for a request that found none free
    /// (measured period only).
    pub cold_starts: u64,
    instance_area: f64,
    inst_last: Time,
}

impl NodeState {
    pub(crate) fn new(cfg: &NodeCfg) -> NodeState {
        let body = match &cfg.body {
            BodyCfg::Source(s) => BodyState::Source(SourceState::new(s)),
            BodyCfg::Service(_) => BodyState::Service,
            BodyCfg::Database(_) => BodyState::Database(DbState::default()),
            BodyCfg::Cache(c) => BodyState::Cache(CacheState::new(c)),
            BodyCfg::Broker(b) => BodyState::Broker(BrokerState::new(b)),
            BodyCfg::Balancer(_) => BodyState::Balancer(LbState::default()),
        };
        let mut stations: Vec<Station> = (0..cfg.stations)
            .map(|_| Station::new(cfg.workers, &cfg.pools))
            .collect();
        if let BodyCfg::Database(d) = &cfg.body {
            for st in stations.iter_mut().skip(d.shards as usize) {
                st.make_read_replica();
            }
        }
        if cfg.serverless.is_some_and(|f| f.min == 0) {
            // Scaled to zero: the slot waits for the first request.
            stations[0] = Station::unborn(cfg.workers, &cfg.pools);
        }
        NodeState {
            stations,
            balancer: Balancer::default(),
            body,
            wait: LatencyHist::new(3),
            sojourn: LatencyHist::new(3),
            lock_wait: LatencyHist::new(2),
            late: 0,
            side_effects: 0,
            duplicates: 0,
            expired: 0,
            rate: RateState::default(),
            autoscale: cfg.autoscale.as_ref().map(|_| Autoscaler::default()),
            autoscale_armed: false,
            cold_starts: 0,
            instance_area: 0.0,
            inst_last: 0,
        }
    }

    /// Host memory held by its latency histograms (they grow with the
    /// spread of the values recorded, not their count).
    pub(crate) fn stats_bytes(&self) -> usize {
        let pools: usize = self
            .stations
            .iter()
            .flat_map(|s| s.pools())
            .map(|p| p.stats_bytes())
            .sum();
        let body = match &self.body {
            BodyState::Broker(b) => b.stats_bytes(),
            _ => 0,
        };
        self.wait.bytes() + self.sojourn.bytes() + self.lock_wait.bytes() + pools + body
    }

    /// Replicas that are up.
    pub(crate) fn up(&self) -> u32 {
        self.stations.iter().filter(|s| s.is_up()).count() as u32
    }

    /// Adds the instances billed since the last change, up to `now`.
    pub(crate) fn touch_instances(&mut self, now: Time) {
        let n = self.stations.iter().filter(|s| s.billed()).count();
        self.instance_area += (now - self.inst_last) as f64 * n as f64;
        self.inst_last = now;
    }

    /// Instance-nanoseconds billed from 0 to `now`.
    pub(crate) fn instance_area(&self, now: Time) -> f64 {
        let n = self.stations.iter().filter(|s| s.billed()).count();
        self.instance_area + (now - self.inst_last) as f64 * n as f64
    }
}

enum Limiter {
    Token(TokenBucket),
    Leaky(LeakyBucket),
}

fn limiter(spec: &RateLimitSpec) -> Limiter {
    match spec {
        RateLimitSpec::TokenBucket { rate, burst, .. } => Limiter::Token(
            TokenBucketSpec {
                rate: *rate,
                burst: *burst,
            }
            .build(),
        ),
        RateLimitSpec::LeakyBucket { rate, capacity, .. } => Limiter::Leaky(
            LeakyBucketSpec {
                rate: *rate,
                capacity: *capacity,
            }
            .build(),
        ),
    }
}

/// What a rate limit says to a request.
pub(crate) enum Verdict {
    Admit,
    Shed,
    /// Admit after this delay (a leaky bucket's queue).
    Delay(Time),
}

/// A rate limit's buckets, global or per client, created on first use.
#[derive(Default)]
pub(crate) struct RateState {
    global: Option<Limiter>,
    by_client: Vec<Option<Limiter>>,
    limited: u64,
}

impl RateState {
    /// A request of `client` at `now` under `spec`.
    pub(crate) fn admit(&mut self, spec: &RateLimitSpec, client: u32, now: Time) -> Verdict {
        let per_client = matches!(
            spec,
            RateLimitSpec::TokenBucket {
                per_client: true,
                ..
            } | RateLimitSpec::LeakyBucket {
                per_client: true,
                ..
            }
        );
        let lim = if per_client {
            let k = client as usize;
            if self.by_client.len() <= k {
                self.by_client.resize_with(k + 1, || None);
            }
            self.by_client[k].get_or_insert_with(|| limiter(spec))
        } else {
            self.global.get_or_insert_with(|| limiter(spec))
        };
        let v = match lim {
            Limiter::Token(tb) => {
                if tb.try_take(now) {
                    Verdict::Admit
                } else {
                    Verdict::Shed
                }
            }
            Limiter::Leaky(lb) => match lb.admit(now) {
                None => Verdict::Shed,
                Some(0) => Verdict::Admit,
                Some(d) => Verdict::Delay(d),
            },
        };
        if matches!(v, Verdict::Shed) {
            self.limited += 1;
        }
        v
    }

    /// The limit's spec changed: new buckets. The count of limited
    /// requests stays while a limit remains, and is cleared with the limit.
    pub(crate) fn reset_buckets(&mut self, limit_remains: bool) {
        self.global = None;
        self.by_client.clear();
        if !limit_remains {
            self.limited = 0;
        }
    }

    pub(crate) fn limited(&self) -> u64 {
        self.limited
    }
}

/// An autoscaler's memory between ticks.
#[derive(Default, Clone, Copy)]
pub(crate) struct Autoscaler {
    pub last_action: Option<Time>,
    pub actions: u64,
    pub prev_busy: f64,
    pub prev_cap: f64,
    pub prev_queue: f64,
    pub prev_t: Time,
    pub prev_soj: (u128, u64),
}
