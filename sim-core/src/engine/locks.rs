//! Shared data the handlers touch: key spaces (the version of every key
//! written, for staleness) and locks (FIFO queues of jobs per key), and a
//! job's release of a lock (the next waiter gets it and runs on).

use super::ids::Ref;
use super::job::JobState;
use super::Sim;
use crate::calendar::Time;
use crate::report::SpanKind;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Every key space's written keys: key -> (version, last write time).
/// Keys never written are at version 0 and are not stored.
#[derive(Default)]
pub(crate) struct KeySpaces {
    spaces: Vec<FxHashMap<u64, (u32, Time)>>,
}

impl KeySpaces {
    pub(crate) fn with_len(n: usize) -> KeySpaces {
        KeySpaces {
            spaces: (0..n).map(|_| FxHashMap::default()).collect(),
        }
    }
    /// Adds a key space (a live reconfiguration named a new one).
    pub(crate) fn push(&mut self) {
        self.spaces.push(FxHashMap::default());
    }
    #[inline]
    pub(crate) fn version(&self, space: u32, k: u64) -> u32 {
        self.spaces[space as usize].get(&k).map_or(0, |v| v.0)
    }
    pub(crate) fn last_write(&self, space: u32, k: u64) -> Option<Time> {
        self.spaces[space as usize].get(&k).map(|v| v.1)
    }
    /// Writes key `k` at `now`; returns the version it had.
    pub(crate) fn write(&mut self, space: u32, k: u64, now: Time) -> u32 {
        let e = self.spaces[space as usize].entry(k).or_insert((0, now));
        let old = e.0;
        e.0 += 1;
        e.1 = now;
        old
    }
}

/// Every lock's queues: key -> jobs, the holder first.
#[derive(Default)]
pub(crate) struct Locks {
    locks: Vec<FxHashMap<u64, VecDeque<Ref>>>,
}

impl Locks {
    pub(crate) fn with_len(n: usize) -> Locks {
        Locks {
            locks: (0..n).map(|_| FxHashMap::default()).collect(),
        }
    }
    pub(crate) fn push(&mut self) {
        self.locks.push(FxHashMap::default());
    }

    /// `job` asks for `(lock, key)`; true if it holds it now (nobody did),
    /// false if it waits in line.
    pub(crate) fn acquire(&mut self, lock: u32, key: u64, job: Ref) -> bool {
        let q = self.locks[lock as usize].entry(key).or_default();
        q.push_back(job);
        q.len() == 1
    }

    /// `job` lets go of `(lock, key)` (held or waited for). If it held it,
    /// returns the next live waiter (`live` tells), which now holds it.
    pub(crate) fn release(
        &mut self,
        lock: u32,
        key: u64,
        job: Ref,
        live: impl Fn(Ref) -> bool,
    ) -> Option<Ref> {
        let held = &mut self.locks[lock as usize];
        let q = held.get_mut(&key)?;
        let was_holder = q.front() == Some(&job);
        q.retain(|r| *r != job);
        if !was_holder {
            return None;
        }
        while let Some(&next) = q.front() {
            if live(next) {
                break;
            }
            q.pop_front();
        }
        let next = q.front().copied();
        if q.is_empty() {
            held.remove(&key);
        }
        next
    }
}

impl Sim {
    /// `job` lets go of `lock`; the next live waiter gets it.
    pub(super) fn release_lock(&mut self, job: Ref, lock: u32) {
        let now = self.now();
        if self.jobs.get(job).is_none() {
            return;
        }
        let r = self.jobs.regs(job);
        let n = r.nlocks as usize;
        let Some(pos) = r.locks[..n].iter().rposition(|(l, _)| *l == lock) else {
            return;
        };
        let k = r.locks[pos].1;
        r.locks.copy_within(pos + 1..n, pos);
        r.nlocks -= 1;
        let jobs = &self.jobs;
        let Some(next) = self.locks.release(lock, k, job, |r| jobs.get(r).is_some()) else {
            return;
        };
        let j = self.jobs.get(next).expect("a live waiter");
        let since = self.jobs.regs_of(j).expect("lock registers").lock_since;
        let waited = now - since;
        if j.measured {
            self.nodes[j.node as usize].lock_wait.record(waited);
        }
        let (attrs, ni, attempt, running) =
            (j.attrs, j.node, j.attempt, j.state == JobState::Running);
        self.span(
            &attrs,
            SpanKind::LockWait,
            ni,
            attempt,
            now - waited,
            now,
            None,
        );
        if running {
            self.advance(next);
        }
    }
}
