//! Per-request traces: for one request in `traces.every`, every hop's
//! network time, queue wait, pool wait, lock wait, compute, backoff and
//! fallback, with the call tree's depth, so the page can draw where a slow
//! request spent its time. Bounded: the most recent `keep` traces and the
//! `keep` slowest are kept; a trace holds at most `MAX_SPANS` spans.

use super::*;
use serde::{Deserialize, Serialize};

const MAX_SPANS: usize = 4000;

/// What a span measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// A call as the caller sees it, first send to answer (all attempts).
    Call,
    /// Time on the wire (hop latency plus transfer), either way.
    Network,
    /// Waiting in a node's queue for a worker.
    Queue,
    /// Waiting for a pool connection.
    PoolWait,
    /// Waiting for a lock.
    LockWait,
    /// Work on a worker.
    Compute,
    /// Waiting before a retry.
    Backoff,
    /// Producing a fallback answer.
    Fallback,
    /// A request's whole stay in a node.
    Job,
}

/// One span of a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub kind: SpanKind,
    pub node: String,
    /// Depth in the call tree (0 = the client's call).
    pub depth: u8,
    /// Attempt number of the call it belongs to (0 = first try).
    pub attempt: u8,
    /// Seconds since the request started.
    pub start_s: f64,
    pub end_s: f64,
    /// For calls and jobs: ok, rejected, failed, timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// A finished request's trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// The request's number among its source's requests.
    pub id: u64,
    pub source: String,
    /// Simulated time the request started.
    pub start_s: f64,
    pub latency_s: f64,
    pub outcome: String,
    pub spans: Vec<Span>,
    /// True if spans were dropped (MAX_SPANS).
    pub truncated: bool,
}

#[derive(Clone, Copy)]
pub(super) struct RawSpan {
    kind: SpanKind,
    node: u32,
    depth: u8,
    attempt: u8,
    start: Time,
    end: Time,
    outcome: Option<Outcome>,
}

pub(super) struct TraceBuf {
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
pub(super) struct Finished {
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

/// The tracer's state.
pub(super) struct Tracer {
    pub(super) every: u64,
    pub(super) keep: usize,
    counter: u64,
    /// Requests until the next traced one (`counter % every == 0`).
    until: u64,
    bufs: Slab<TraceBuf>,
    pub(super) recent: VecDeque<Finished>,
    pub(super) slowest: Vec<Finished>,
}

impl Tracer {
    pub(super) fn new(every: u64, keep: usize) -> Self {
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
}

pub(super) fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Rejected => "rejected",
        Outcome::Failed => "failed",
        Outcome::Timeout => "timeout",
    }
}

impl Tracer {
    /// Changes the sampling mid-run: afterwards the same requests are
    /// traced as `counter % every == 0` picks.
    pub(super) fn set_sampling(&mut self, every: u64, keep: usize) {
        self.every = every;
        self.keep = keep;
        self.until = if every == 0 {
            0
        } else {
            every - self.counter % every
        };
    }
}

impl Sim {
    /// Decides whether a new root request is traced.
    pub(super) fn trace_begin(&mut self, src: u32) -> Ref {
        let now = self.now();
        let t = &mut self.tracer;
        t.counter += 1;
        if t.every == 0 || t.keep == 0 {
            return NO_TRACE;
        }
        // Same as `counter % every != 0`, without a division per request.
        t.until -= 1;
        if t.until != 0 {
            return NO_TRACE;
        }
        t.until = t.every;
        let id = t.counter;
        t.bufs.insert(|gen| TraceBuf {
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
    pub(super) fn span(
        &mut self,
        attrs: &Attrs,
        kind: SpanKind,
        node: u32,
        attempt: u8,
        start: Time,
        end: Time,
        outcome: Option<Outcome>,
    ) {
        if attrs.trace.idx == NONE {
            return;
        }
        if let Some(b) = self.tracer.bufs.get_mut(attrs.trace) {
            if b.spans.len() < MAX_SPANS {
                b.spans.push(RawSpan {
                    kind,
                    node,
                    depth: attrs.depth,
                    attempt,
                    start,
                    end,
                    outcome,
                });
            } else {
                b.truncated = true;
            }
        }
    }

    /// The root request finished: keep its trace.
    pub(super) fn trace_end(&mut self, trace: Ref, outcome: Outcome) {
        if trace.idx == NONE {
            return;
        }
        let now = self.now();
        let Some(b) = self.tracer.bufs.get_mut(trace) else {
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
        self.tracer.bufs.remove(trace);
        let keep = self.tracer.keep;
        let slow = &mut self.tracer.slowest;
        let lat = tr.latency_s();
        let pos = slow.partition_point(|x| x.latency_s() >= lat);
        if pos < keep {
            slow.insert(pos, tr.clone());
            slow.truncate(keep);
        }
        self.tracer.recent.push_back(tr);
        while self.tracer.recent.len() > keep {
            self.tracer.recent.pop_front();
        }
    }

    /// A finished trace with node names and times in seconds since its start.
    fn trace_of(&self, b: &Finished) -> Trace {
        let t0 = b.t0;
        let s = |t: Time| ns_to_secs(t.saturating_sub(t0));
        let name = |n: u32| {
            if n == NONE {
                String::new()
            } else {
                self.nodes[n as usize].name.clone()
            }
        };
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
                outcome: r.outcome.map(|o| outcome_str(o).to_string()),
            })
            .collect();
        spans.sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then(a.depth.cmp(&b.depth)));
        Trace {
            id: b.id,
            source: name(b.src),
            start_s: ns_to_secs(t0),
            latency_s: b.latency_s(),
            outcome: outcome_str(b.outcome).to_string(),
            spans,
            truncated: b.truncated,
        }
    }

    /// The most recent finished traces, oldest first.
    pub fn recent_traces(&self) -> Vec<Trace> {
        self.tracer
            .recent
            .iter()
            .map(|b| self.trace_of(b))
            .collect()
    }

    /// The slowest finished traces, slowest first.
    pub fn slowest_traces(&self) -> Vec<Trace> {
        self.tracer
            .slowest
            .iter()
            .map(|b| self.trace_of(b))
            .collect()
    }
}
