//! A job's answer on its way back to its caller: still awaited, or wasted
//! work (the caller gave up); over the edge's hop, or a shared link; and,
//! when the caller has it at once, the attempt closed there and then.

use super::event::Event;
use super::ids::{Outcome, Ref};
use super::job::Attrs;
use super::Sim;
use crate::report::SpanKind;

/// What an answer needs of the job that gives it.
#[derive(Clone, Copy)]
pub(super) struct Answer {
    pub(super) call: Ref,
    pub(super) attempt: u8,
    pub(super) trace: Ref,
    pub(super) depth: u8,
}

impl Answer {
    /// What a span of the answer needs: the trace and the depth.
    pub(super) fn attrs(&self) -> Attrs {
        Attrs {
            trace: self.trace,
            depth: self.depth,
            ..Attrs::default()
        }
    }
}

impl Sim {
    /// Sends a job's answer back to its call's caller.
    pub(super) fn respond(&mut self, job: Ref, outcome: Outcome, from: u32) {
        let j = self.jobs.at(job);
        let answer = Answer {
            call: j.call,
            attempt: j.attempt,
            trace: j.attrs.trace,
            depth: j.attrs.depth,
        };
        self.answer(answer, outcome, from)
    }

    /// Sends an attempt's answer back over the edge, if it is still awaited.
    #[inline(always)]
    pub(super) fn answer(&mut self, a: Answer, outcome: Outcome, from: u32) {
        let now = self.now();
        let Some(c) = self.calls.get_mut(a.call) else {
            self.nodes[from as usize].late += 1;
            return;
        };
        if !c.awaits(a.attempt) {
            // The caller gave up already: wasted work.
            self.nodes[from as usize].late += 1;
            return;
        }
        let e = &self.cfg.edges[c.edge as usize];
        let bytes = e.resp_bytes + c.bytes;
        if let Some(l) = e.link {
            let (after, wire) = e.link_parts(bytes, self.streams.get(e.stream));
            if wire > 0.0 {
                return self.answer_over_link(l, wire, after, a, outcome, from);
            }
        }
        let d = e.delay(bytes, self.streams.get(e.stream));
        if d == 0 && a.trace.is_none() {
            // The caller has it at once: the attempt closes here, with
            // the call in hand (what `on_response` does after its lookup).
            let (pooled, edge) = (c.close(a.attempt), c.edge as usize);
            self.attempt_closed(a.call, a.attempt, outcome == Outcome::Ok, edge, pooled);
            return self.answered(a.call, edge, outcome);
        }
        if !a.trace.is_none() {
            let attrs = a.attrs();
            self.span(
                &attrs,
                SpanKind::Network,
                from,
                a.attempt,
                now,
                now.saturating_add(d),
                None,
            );
        }
        self.answer_after(d, a.call, a.attempt, outcome, from);
    }

    /// Attempt `attempt`'s answer reaches the caller of `call` in `d` ns
    /// (at once if 0).
    #[inline(always)]
    pub(super) fn answer_after(
        &mut self,
        d: super::Time,
        call: Ref,
        attempt: u8,
        outcome: Outcome,
        from: u32,
    ) {
        if d == 0 {
            self.on_response(call, attempt, outcome, from);
        } else {
            let ev = Event::Respond {
                call,
                attempt,
                outcome,
                from,
            };
            self.cal.schedule_in(d, ev);
        }
    }

    /// An answer crossing shared link `l` (`wire` bytes), then `after` ns.
    fn answer_over_link(
        &mut self,
        l: u32,
        wire: f64,
        after: super::Time,
        a: Answer,
        outcome: Outcome,
        from: u32,
    ) {
        let span = (!a.trace.is_none()).then_some(super::trace::SpanAt {
            trace: a.trace,
            node: from,
            depth: a.depth,
            attempt: a.attempt,
        });
        let then = super::link::Delivery {
            what: super::link::Carried::Answer {
                call: a.call,
                attempt: a.attempt,
                outcome,
                from,
            },
            after,
            since: self.now(),
            span,
        };
        self.link_send(l, wire, then);
    }
}
