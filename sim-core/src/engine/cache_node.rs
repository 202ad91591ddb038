//! Cache nodes: the store, its counters, and single flight (the misses
//! waiting for one request to fill a key).
//!
//! The counters are kept from the start of the run and snapshotted when
//! the warm-up ends, so the report covers the measured period (a cold start
//! does not bias the hit rate); the entries held are integrated over time
//! for the time-averaged occupancy beside the end-of-run count.

use super::config::CacheCfg;
use super::ids::{Ref, NEVER};
use crate::cache::{CacheConfig, CacheStore, Lookup};
use crate::calendar::Time;
use crate::report::CacheReport;
use crate::rng::Stream;
use rand::Rng;
use rustc_hash::FxHashMap;

/// What a cache counts (from the start of the run).
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    hits: u64,
    misses: u64,
    stale: u64,
    coalesced: u64,
    fills: u64,
    flushes: u64,
    evictions: u64,
    expirations: u64,
    /// Integral of the entries held over time (entry-ns), up to `last`.
    entry_area: f64,
}

pub(crate) struct CacheState {
    store: CacheStore,
    c: Counts,
    at_warm: Counts,
    /// When the entries were last integrated, and when the warm-up ended.
    last: Time,
    warm_at: Time,
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
            c: Counts::default(),
            at_warm: Counts::default(),
            last: 0,
            warm_at: 0,
            inflight: FxHashMap::default(),
        }
    }

    /// Integrates the entries held up to `now` (call before the store
    /// changes).
    #[inline]
    fn touch(&mut self, now: Time) {
        self.c.entry_area += (now - self.last) as f64 * self.store.len() as f64;
        self.last = now;
    }

    /// Looks `ckey` up at `now`: (hit, version stored).
    pub(crate) fn get(&mut self, ckey: u64, now: Time) -> (bool, u32) {
        self.touch(now);
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
                now.saturating_add((t as f64 * f) as Time)
            }
        };
        self.touch(now);
        self.c.fills += 1;
        self.store.put(ckey, size, version, exp);
    }

    /// Puts a warm entry (at the start of the run).
    pub(crate) fn warm(&mut self, ckey: u64, expires: Time) {
        self.store.put(ckey, 1000, 0, expires);
    }

    pub(crate) fn delete(&mut self, ckey: u64, now: Time) {
        self.touch(now);
        self.store.delete(ckey);
    }

    pub(crate) fn flush(&mut self, now: Time) {
        self.touch(now);
        self.store.flush();
        self.c.flushes += 1;
    }

    pub(crate) fn set_capacity(&mut self, entries: Option<u64>, bytes: Option<u64>, now: Time) {
        let c = *self.store.config();
        if (c.capacity_entries, c.capacity_bytes) != (entries, bytes) {
            self.touch(now);
            self.store.set_capacity(entries, bytes);
        }
    }

    /// A lookup hit; `stale` if what it read is older than the truth.
    pub(crate) fn count_hit(&mut self, stale: bool) {
        self.c.hits += 1;
        if stale {
            self.c.stale += 1;
        }
    }
    pub(crate) fn count_miss(&mut self) {
        self.c.misses += 1;
    }

    /// Single flight: if `ckey` is being filled, `job` waits for it
    /// (returns true).
    pub(crate) fn join_fill(&mut self, ckey: u64, job: Ref) -> bool {
        match self.inflight.get_mut(&ckey) {
            Some(waiters) => {
                self.c.coalesced += 1;
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

    /// The counters from the start, with the store's own.
    fn counts(&self, now: Time) -> Counts {
        let s = self.store.stats();
        let mut c = self.c;
        c.evictions = s.evictions;
        c.expirations = s.expirations;
        c.entry_area += (now - self.last) as f64 * self.store.len() as f64;
        c
    }

    /// The warm-up ends now: the report counts from here.
    pub(crate) fn mark_warm(&mut self, now: Time) {
        self.at_warm = self.counts(now);
        self.warm_at = now;
    }

    /// Hit rate over the measured period (0 before any lookup).
    pub(crate) fn hit_rate(&self, now: Time) -> f64 {
        let m = self.measured(now);
        ratio(m.hits, m.hits + m.misses)
    }

    /// The counters of the measured period (all zero before it starts).
    fn measured(&self, now: Time) -> Counts {
        let (c, w) = (self.counts(now), self.at_warm);
        Counts {
            hits: c.hits - w.hits,
            misses: c.misses - w.misses,
            stale: c.stale - w.stale,
            coalesced: c.coalesced - w.coalesced,
            fills: c.fills - w.fills,
            flushes: c.flushes - w.flushes,
            evictions: c.evictions - w.evictions,
            expirations: c.expirations - w.expirations,
            entry_area: c.entry_area - w.entry_area,
        }
    }

    /// The report at `now`; `warm`: the measured period has begun.
    pub(crate) fn report(&self, now: Time, warm: bool) -> CacheReport {
        let m = if warm {
            self.measured(now)
        } else {
            Counts::default()
        };
        let span = now.saturating_sub(self.warm_at);
        CacheReport {
            hits: m.hits,
            misses: m.misses,
            hit_rate: ratio(m.hits, m.hits + m.misses),
            stale_reads: m.stale,
            stale_fraction: ratio(m.stale, m.hits),
            evictions: m.evictions,
            expirations: m.expirations,
            entries: self.store.len(),
            entries_mean: if warm && span > 0 {
                m.entry_area / span as f64
            } else {
                0.0
            },
            memory_mb: self.store.bytes() as f64 / 1e6,
            coalesced: m.coalesced,
            fills: m.fills,
            flushes: m.flushes,
        }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b > 0 {
        a as f64 / b as f64
    } else {
        0.0
    }
}
