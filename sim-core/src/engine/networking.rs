//! Calls crossing shared links: a request or an answer joins its link's
//! transfers (`link.rs`), and is delivered when its bytes are through,
//! after the hop.

use super::event::Event;
use super::link::{Carried, Delivery};
use super::Sim;
use crate::report::SpanKind;

impl Sim {
    /// Sends `bytes` over link `l`; `then` is delivered when they are
    /// through (and its hop has passed).
    pub(super) fn link_send(&mut self, l: u32, bytes: f64, then: Delivery) {
        let now = self.now();
        if let Some((at, gen)) = self.links[l as usize].start(now, bytes, then) {
            self.cal.schedule(at, Event::LinkDone { link: l, gen });
        }
    }

    /// The next transfer ending on link `l` (if `gen` is still armed).
    pub(super) fn on_link_done(&mut self, l: u32, gen: u32) {
        let now = self.now();
        let Some((done, next)) = self.links[l as usize].finish(now, gen) else {
            return;
        };
        if let Some((at, gen)) = next {
            self.cal.schedule(at, Event::LinkDone { link: l, gen });
        }
        for d in done {
            self.deliver(d);
        }
    }

    /// A transfer is through: after its hop, the job arrives or the answer
    /// reaches the caller.
    fn deliver(&mut self, d: Delivery) {
        let now = self.now();
        if let Some(at) = d.span {
            self.tracer.span(
                at,
                SpanKind::Network,
                d.since,
                now.saturating_add(d.after),
                None,
            );
        }
        match (d.what, d.after) {
            (Carried::Job(job), 0) => {
                if self.jobs.get(job).is_some() {
                    self.arrive(job)
                }
            }
            (Carried::Job(job), after) => {
                self.cal
                    .schedule(now.saturating_add(after), Event::Deliver { job });
            }
            (
                Carried::Answer {
                    call,
                    attempt,
                    outcome,
                    from,
                },
                after,
            ) => self.answer_after(after, call, attempt, outcome, from),
        }
    }
}
