//! Per-request traces: for one request in `traces.every`, every hop's
//! network time, queue wait, pool wait, lock wait, compute, backoff and
//! fallback, with the call tree's depth, so the page can draw where a slow
//! request spent its time. Bounded: the most recent `keep` traces and the
//! `keep` slowest are kept; a trace holds at most `MAX_SPANS` spans.

use super::ids::{slot, Outcome, Ref, Slab, NONE};
use crate::calendar::{ns_to_secs, Time};
use crate::report::{Span, SpanKind, Trace};
use std::collections::VecDeque;

const MAX_SPANS: usize = 4000;

#[derive(Clone, Copy)]
struct RawSpan {
    kind: SpanKind,
    node: u32,
    depth: u8,
    attempt: u8,
    start: Time,
    end: Time,
    outcome: Option<Outcome>,
}

struct TraceBuf {
    gen: u32,
    live: bool,
    id: u64,
    src: u32,
    t0: Time,
    spans: Vec<RawSpan>,
    truncated: bool,
}
slot!(TraceBuf);

/// A finished trace in engine terms (node indices, nanoseconds); turned
/// into a [`Trace`] only when asked for, since most are dropped unseen.
#[derive(Clone)]
struct Finished {
    id: u64,
    src: u32,
    t0: Time,
    end: Time,
    outcome: Outcome,
    spans: Vec<RawSpan>,
    truncated: bool,
}

impl Finished {
    fn latency_s(&self) -> f64 {
        ns_to_secs(self.end - self.t0)
    }
}

/// Where a span sits: its node, depth in the call tree and attempt.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SpanAt {
    pub trace: Ref,
    pub node: u32,
    pub depth: u8,
    pub attempt: u8,
}

pub(crate) struct Tracer {
    every: u64,
    keep: usize,
    counter: u64,
    /// Requests until the next traced one (`counter % every == 0`).
    until: u64,
    bufs: Slab<TraceBuf>,
    recent: VecDeque<Finished>,
    slowest: Vec<Finished>,
}

impl Tracer {
    pub(crate) fn new(every: u64, keep: usize) -> Self {
        Tracer {
            every,
            keep,
            counter: 0,
            until: every,
            bufs: Slab::new(),
            recent: VecDeque::new(),
            slowest: Vec::new(),
        }
    }

    /// Changes the sampling mid-run: afterwards the same requests are
    /// traced as `counter % every == 0` picks.
    pub(crate) fn set_sampling(&mut self, every: u64, keep: usize) {
        self.every = every;
        self.keep = keep;
        self.until = if every == 0 {
            0
        } else {
            every - self.counter % every
        };
    }

    /// Decides whether a new root request of `src` is traced.
    #[inline]
    pub(crate) fn begin(&mut self, src: u32, now: Time) -> Ref {
        self.counter += 1;
        if self.every == 0 || self.keep == 0 {
            return Ref::NONE;
        }
        // Same as `counter % every != 0`, without a division per request.
        self.until -= 1;
        if self.until != 0 {
            return Ref::NONE;
        }
        self.until = self.every;
        let id = self.counter;
        self.bufs.insert(|gen| TraceBuf {
            gen,
            live: true,
            id,
            src,
            t0: now,
            spans: Vec::new(),
            truncated: false,
        })
    }

    /// Records a span if the request is traced.
    #[inline]
    pub(crate) fn span(
        &mut self,
        at: SpanAt,
        kind: SpanKind,
        start: Time,
        end: Time,
        outcome: Option<Outcome>,
    ) {
        if at.trace.is_none() {
            return;
        }
        if let Some(b) = self.bufs.get_mut(at.trace) {
            if b.spans.len() < MAX_SPANS {
                b.spans.push(RawSpan {
                    kind,
                    node: at.node,
                    depth: at.depth,
                    attempt: at.attempt,
                    start,
                    end,
                    outcome,
                });
            } else {
                b.truncated = true;
            }
        }
    }

    /// The root request finished: keep its trace (if it is traced: one
    /// test here, the rest out of line).
    #[inline(always)]
    pub(crate) fn end(&mut self, trace: Ref, outcome: Outcome, now: Time) {
        if !trace.is_none() {
            self.keep_trace(trace, outcome, now);
        }
    }

    /// [`Tracer::end`] of a traced request.
    #[inline(never)]
    fn keep_trace(&mut self, trace: Ref, outcome: Outcome, now: Time) {
        let Some(b) = self.bufs.get_mut(trace) else {
            return;
        };
        let tr = Finished {
            id: b.id,
            src: b.src,
            t0: b.t0,
            end: now,
            outcome,
            spans: std::mem::take(&mut b.spans),
            truncated: b.truncated,
        };
        self.bufs.remove(trace);
        let lat = tr.latency_s();
        let pos = self.slowest.partition_point(|x| x.latency_s() >= lat);
        if pos < self.keep {
            self.slowest.insert(pos, tr.clone());
            self.slowest.truncate(self.keep);
        }
        self.recent.push_back(tr);
        while self.recent.len() > self.keep {
            self.recent.pop_front();
        }
    }

    /// The most recent finished traces, oldest first.
    pub(crate) fn recent(&self, name: &dyn Fn(u32) -> String) -> Vec<Trace> {
        self.recent.iter().map(|b| convert(b, name)).collect()
    }

    /// The slowest finished traces, slowest first.
    pub(crate) fn slowest(&self, name: &dyn Fn(u32) -> String) -> Vec<Trace> {
        self.slowest.iter().map(|b| convert(b, name)).collect()
    }
}

/// A finished trace with node names and times in seconds since its start.
fn convert(b: &Finished, name: &dyn Fn(u32) -> String) -> Trace {
    let t0 = b.t0;
    let s = |t: Time| ns_to_secs(t.saturating_sub(t0));
    let name = |n: u32| if n == NONE { String::new() } else { name(n) };
    let mut spans: Vec<Span> = b
        .spans
        .iter()
        .map(|r| Span {
            kind: r.kind,
            node: name(r.node),
            depth: r.depth,
            attempt: r.attempt,
            start_s: s(r.start),
            end_s: s(r.end),
            outcome: r.outcome.map(|o| o.as_str().to_string()),
        })
        .collect();
    spans.sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then(a.depth.cmp(&b.depth)));
    Trace {
        id: b.id,
        source: name(b.src),
        start_s: ns_to_secs(t0),
        latency_s: b.latency_s(),
        outcome: b.outcome.as_str().to_string(),
        spans,
        truncated: b.truncated,
    }
}
