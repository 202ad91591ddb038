//! Cache nodes: the store, its counters, and single flight (the misses
//! waiting for one request to fill a key).

use super::config::CacheCfg;
use super::ids::{Ref, NEVER};
use crate::cache::{CacheConfig, CacheStore, Lookup};
use crate::calendar::Time;
use crate::report::CacheReport;
use crate::rng::Stream;
use rand::Rng;
use rustc_hash::FxHashMap;

pub(crate) struct CacheState {
    store: CacheStore,
    hits: u64,
    misses: u64,
    stale: u64,
    coalesced: u64,
    fills: u64,
    flushes: u64,
    /// Single flight: cache key -> jobs waiting for the fill.
    inflight: FxHashMap<u64, Vec<Ref>>,
}

impl CacheState {
    pub(crate) fn new(cfg: &CacheCfg) -> CacheState {
        CacheState {
            store: CacheStore::new(CacheConfig {
                capacity_entries: cfg.capacity_entries,
                capacity_bytes: cfg.capacity_bytes,
                policy: cfg.policy,
            }),
            hits: 0,
            misses: 0,
            stale: 0,
            coalesced: 0,
            fills: 0,
            flushes: 0,
            inflight: FxHashMap::default(),
        }
    }

    /// Looks `ckey` up at `now`: (hit, version stored).
    pub(crate) fn get(&mut self, ckey: u64, now: Time) -> (bool, u32) {
        match self.store.get(ckey, now) {
            Lookup::Hit { version, .. } => (true, version),
            _ => (false, 0),
        }
    }

    /// Stores a value (a fill), with the TTL and jitter of `cfg`.
    pub(crate) fn fill(
        &mut self,
        cfg: &CacheCfg,
        rng: &mut Stream,
        ckey: u64,
        size: u64,
        version: u32,
        now: Time,
    ) {
        let exp = match cfg.ttl {
            None => NEVER,
            Some(t) => {
                let f = if cfg.jitter > 0.0 {
                    1.0 + cfg.jitter * (2.0 * rng.random::<f64>() - 1.0)
                } else {
                    1.0
                };
                now + (t as f64 * f) as Time
            }
        };
        self.fills += 1;
        self.store.put(ckey, size, version, exp);
    }

    /// Puts a warm entry (start of run).
    pub(crate) fn warm(&mut self, ckey: u64, expires: Time) {
        self.store.put(ckey, 1000, 0, expires);
    }

    pub(crate) fn delete(&mut self, ckey: u64) {
        self.store.delete(ckey);
    }

    pub(crate) fn flush(&mut self) {
        self.store.flush();
        self.flushes += 1;
    }

    pub(crate) fn set_capacity(&mut self, entries: Option<u64>, bytes: Option<u64>) {
        let c = *self.store.config();
        if (c.capacity_entries, c.capacity_bytes) != (entries, bytes) {
            self.store.set_capacity(entries, bytes);
        }
    }

    pub(crate) fn policy(&self) -> crate::cache::Policy {
        self.store.config().policy
    }

    /// A lookup hit; `stale` if what it read is older than the truth.
    pub(crate) fn count_hit(&mut self, stale: bool) {
        self.hits += 1;
        if stale {
            self.stale += 1;
        }
    }
    pub(crate) fn count_miss(&mut self) {
        self.misses += 1;
    }

    /// Single flight: if `ckey` is being filled, `job` waits for it
    /// (returns true).
    pub(crate) fn join_fill(&mut self, ckey: u64, job: Ref) -> bool {
        match self.inflight.get_mut(&ckey) {
            Some(waiters) => {
                self.coalesced += 1;
                waiters.push(job);
                true
            }
            None => false,
        }
    }
    /// Single flight: a fill of `ckey` starts (its filler missed first).
    pub(crate) fn start_fill(&mut self, ckey: u64) {
        self.inflight.insert(ckey, Vec::new());
    }
    /// Single flight: the fill of `ckey` ended; its waiters.
    pub(crate) fn end_fill(&mut self, ckey: u64) -> Vec<Ref> {
        self.inflight.remove(&ckey).unwrap_or_default()
    }

    /// Lookups so far and the hit rate (0 before any).
    pub(crate) fn hit_rate(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups > 0 {
            self.hits as f64 / lookups as f64
        } else {
            0.0
        }
    }

    pub(crate) fn report(&self) -> CacheReport {
        let s = self.store.stats();
        CacheReport {
            hits: self.hits,
            misses: self.misses,
            hit_rate: self.hit_rate(),
            stale_reads: self.stale,
            stale_fraction: if self.hits > 0 {
                self.stale as f64 / self.hits as f64
            } else {
                0.0
            },
            evictions: s.evictions,
            expirations: s.expirations,
            entries: self.store.len(),
            memory_mb: self.store.bytes() as f64 / 1e6,
            coalesced: self.coalesced,
            fills: self.fills,
            flushes: self.flushes,
        }
    }
}
