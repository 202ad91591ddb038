//! The handler program interpreter: it walks a job's flat program (loops,
//! branches and cache-aside blocks are jumps), doing the control ops
//! itself, and stops at the first op that needs the rest of the engine,
//! which it returns as a [`Step`] for the request path to carry out.
//!
//! Before returning a step it updates the job's position as the step
//! requires (the next op, the children it now waits for), so the request
//! path only performs the effect.

use super::config::{CountCfg, Op, Program};
use super::draw;
use super::job::{Job, Registers};
use super::streams::Streams;
use crate::calendar::Time;
use crate::spec::Invalidate;
use rand::Rng;

/// What the request path must do for a job next.
pub(crate) enum Step {
    /// The program ended: the job finishes (the node's error rate decides
    /// how).
    End,
    /// Compute for this long.
    Compute(Time),
    /// Start `n` calls along `edge` (the job waits for them); then let go of
    /// the worker if `release` (event loop).
    Calls { edge: u32, n: u32, release: bool },
    /// Start one call along each edge of the fork op at `at`.
    Fork { at: u32, release: bool },
    /// Look `key` of `space` up in the cache behind `edge` (by version too
    /// with `versioned` keys); with single flight, join a fill of the key if
    /// one runs. The job's cache registers hold the space and key.
    CacheGet {
        edge: u32,
        space: u32,
        key: u64,
        versioned: bool,
        single_flight: bool,
        release: bool,
    },
    /// Store what was read under `ckey` in the cache behind `edge`.
    CachePut {
        edge: u32,
        ckey: u64,
        size: u64,
        version: u32,
        release: bool,
    },
    /// Write key `key` of `space` (and invalidate it in `cache`).
    Write {
        space: u32,
        key: u64,
        cache: u32,
        invalidate: Invalidate,
    },
    /// Take `(lock, key)`, or wait for it holding the worker.
    Lock { lock: u32, key: u64 },
    /// Let go of `lock`.
    Unlock { lock: u32 },
}

/// Runs `j`'s program from its position to the next step.
#[inline]
pub(crate) fn next(
    prog: &Program,
    j: &mut Job,
    mut regs: Option<&mut Registers>,
    streams: &mut Streams,
    now: Time,
) -> Step {
    loop {
        let Some(op) = prog.ops.get(j.ip as usize) else {
            return Step::End;
        };
        let step = match op {
            Op::Compute { dist, stream } => {
                let d = dist.sample(streams.get(*stream));
                j.ip += 1;
                // No op after it: the step after this compute is `End`
                // (a live reconfiguration keeps a program's shape).
                j.ends = j.ip as usize == prog.ops.len();
                Some(Step::Compute(d))
            }
            Op::Call {
                edge,
                count,
                parallel,
                release,
            } => call(j, streams, *edge, count, *parallel, *release),
            Op::Fork { edges, release } => {
                let at = j.ip;
                j.pending = edges.len() as u32;
                j.ip += 1;
                Some(Step::Fork {
                    at,
                    release: *release,
                })
            }
            Op::CacheGet { .. } | Op::CachePut { .. } => {
                Some(cache(op, j, regs.as_deref_mut(), streams))
            }
            Op::Write {
                key,
                cache,
                invalidate,
            } => {
                let k = draw::key(key, streams, j.attrs.user);
                j.ip += 1;
                Some(Step::Write {
                    space: key.space,
                    key: k,
                    cache: *cache,
                    invalidate: *invalidate,
                })
            }
            Op::LockAcquire { lock, key } => {
                let k = key
                    .as_ref()
                    .map_or(0, |k| draw::key(k, streams, j.attrs.user));
                j.ip += 1;
                let r = regs.as_deref_mut().expect("lock registers");
                r.locks[r.nlocks as usize] = (*lock, k);
                r.nlocks += 1;
                r.lock_since = now;
                Some(Step::Lock {
                    lock: *lock,
                    key: k,
                })
            }
            Op::LockRelease { lock } => {
                j.ip += 1;
                Some(Step::Unlock { lock: *lock })
            }
            _ => {
                control(op, j, regs.as_deref_mut(), streams);
                None
            }
        };
        if let Some(step) = step {
            return step;
        }
    }
}

/// A call step: `count` calls along `edge`, all at once (`parallel`) or
/// one after the other; `None` when the count is zero (the step is done).
fn call(
    j: &mut Job,
    streams: &mut Streams,
    edge: u32,
    count: &CountCfg,
    parallel: bool,
    release: bool,
) -> Option<Step> {
    if j.seq_left == 0 {
        let n = draw::count_plain(count, streams, j.attrs.items);
        if n == 0 {
            j.ip += 1;
            return None;
        }
        if parallel {
            j.pending = n;
            j.ip += 1;
            return Some(Step::Calls { edge, n, release });
        }
        j.seq_left = n;
    }
    j.seq_left -= 1;
    if j.seq_left == 0 {
        j.ip += 1;
    }
    j.pending = 1;
    Some(Step::Calls {
        edge,
        n: 1,
        release,
    })
}

/// A cache lookup (the job waits on it) or the fill after a miss.
fn cache(op: &Op, j: &mut Job, regs: Option<&mut Registers>, streams: &mut Streams) -> Step {
    let r = regs.expect("cache registers");
    match op {
        Op::CacheGet {
            edge,
            key,
            single_flight,
            versioned,
            release,
            ..
        } => {
            let k = draw::key(key, streams, j.attrs.user);
            r.space = key.space;
            r.key = k;
            Step::CacheGet {
                edge: *edge,
                space: key.space,
                key: k,
                versioned: *versioned,
                single_flight: *single_flight,
                release: *release,
            }
        }
        Op::CachePut {
            edge,
            size,
            versioned,
            release,
        } => {
            j.ip += 1;
            // The value stored is the one read after the lookup: its
            // version is the one current at lookup time. A write in
            // between makes this fill stale (the cache-aside race).
            let v = r.version;
            j.pending = 1;
            Step::CachePut {
                edge: *edge,
                ckey: draw::cache_key(r.space, r.key, versioned.then_some(v)),
                size: *size,
                version: v,
                release: *release,
            }
        }
        _ => unreachable!("a cache op"),
    }
}

/// The ops the interpreter does itself: loops, branches and jumps.
fn control(op: &Op, j: &mut Job, regs: Option<&mut Registers>, streams: &mut Streams) {
    match op {
        Op::RepeatBegin { count, end } => {
            let n = draw::count_plain(count, streams, j.attrs.items);
            if n == 0 {
                j.ip = *end + 1;
            } else {
                let r = regs.expect("loop registers");
                r.loops[r.depth as usize] = n;
                r.depth += 1;
                j.ip += 1;
            }
        }
        Op::RepeatEnd { begin } => {
            let r = regs.expect("loop registers");
            let d = r.depth as usize - 1;
            r.loops[d] -= 1;
            if r.loops[d] > 0 {
                j.ip = *begin + 1;
            } else {
                r.depth -= 1;
                j.ip += 1;
            }
        }
        Op::Choose {
            cum,
            targets,
            stream,
        } => {
            let u: f64 = streams.get(*stream).random();
            let i = cum.iter().position(|c| u < *c).unwrap_or(cum.len() - 1);
            j.ip = targets[i];
        }
        Op::Jump { to } => j.ip = *to,
        _ => unreachable!("a control op"),
    }
}

/// Where a waiting cache lookup resumes when its key was filled (past the
/// miss block), if the job sits on a lookup.
pub(crate) fn miss_end(prog: &Program, ip: u32) -> Option<u32> {
    match prog.ops.get(ip as usize) {
        Some(Op::CacheGet { miss_end, .. }) => Some(*miss_end),
        _ => None,
    }
}
