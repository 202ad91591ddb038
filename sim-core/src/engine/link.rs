//! Shared network links: every transfer on a link gets an equal share of
//! its bandwidth (processor sharing), so concurrent calls slow each other
//! down, and a link carrying more than its capacity queues without bound.
//!
//! Processor sharing is kept in virtual time: `served` counts the bytes
//! each active transfer has received since the link's start, advancing at
//! rate `capacity / active`; a transfer of `b` bytes that starts at
//! `served = v` ends when `served` reaches `v + b`. Only the next ending
//! needs an event; a start or an end re-arms it (`gen` drops the stale
//! one).

use super::ids::Ref;
use crate::calendar::{ns_to_secs, Time};
use crate::report::LinkReport;

/// What a finished transfer delivers, `after` ns later (the hop).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delivery {
    pub what: Carried,
    pub after: Time,
    /// The transfer's start and its span (traced requests).
    pub since: Time,
    pub span: Option<super::trace::SpanAt>,
}

/// What crosses the link.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Carried {
    /// A request: the job reaches its station.
    Job(Ref),
    /// An answer: it reaches the caller.
    Answer {
        call: Ref,
        attempt: u8,
        outcome: super::ids::Outcome,
        from: u32,
    },
}

#[derive(Clone, Copy, Debug)]
struct Transfer {
    /// The value of `served` at which it is complete.
    done_at: f64,
    bytes: f64,
    then: Delivery,
}

/// What a link counts (from the start of the run): transfers and bytes
/// delivered.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    transfers: u64,
    bytes: f64,
    /// Time with at least one transfer (ns), and the integral of the
    /// number of transfers (transfer-ns).
    busy: f64,
    active_area: f64,
}

pub(crate) struct LinkState {
    /// Bytes per ns.
    capacity: f64,
    active: Vec<Transfer>,
    served: f64,
    last: Time,
    gen: u32,
    c: Counts,
    at_warm: Counts,
}

impl LinkState {
    pub(crate) fn new(bytes_per_ns: f64) -> LinkState {
        LinkState {
            capacity: bytes_per_ns,
            active: Vec::new(),
            served: 0.0,
            last: 0,
            gen: 0,
            c: Counts::default(),
            at_warm: Counts::default(),
        }
    }

    /// Serves the active transfers up to `now`.
    fn advance(&mut self, now: Time) {
        let dt = (now - self.last) as f64;
        let n = self.active.len();
        if n > 0 {
            self.served += dt * self.capacity / n as f64;
            self.c.busy += dt;
            self.c.active_area += dt * n as f64;
        }
        self.last = now;
    }

    /// The bandwidth changed (a live reconfiguration): what was sent so far
    /// stands; returns the re-armed next ending.
    pub(crate) fn set_capacity(&mut self, now: Time, bytes_per_ns: f64) -> Option<(Time, u32)> {
        self.advance(now);
        self.capacity = bytes_per_ns;
        self.next(now)
    }

    /// A transfer of `bytes` starts now; returns the (re-armed) time of the
    /// next ending and its generation, to schedule.
    pub(crate) fn start(&mut self, now: Time, bytes: f64, then: Delivery) -> Option<(Time, u32)> {
        self.advance(now);
        self.active.push(Transfer {
            done_at: self.served + bytes,
            bytes,
            then,
        });
        self.next(now)
    }

    /// The next ending after a change at `now` (a new generation).
    fn next(&mut self, now: Time) -> Option<(Time, u32)> {
        self.gen = self.gen.wrapping_add(1);
        let first = self
            .active
            .iter()
            .map(|t| t.done_at)
            .fold(f64::INFINITY, f64::min);
        if !first.is_finite() {
            return None;
        }
        let n = self.active.len() as f64;
        let wait = ((first - self.served) * n / self.capacity).max(0.0).ceil();
        let at = if wait >= (Time::MAX - now) as f64 {
            Time::MAX
        } else {
            now.saturating_add(wait as Time)
        };
        Some((at, self.gen))
    }

    /// The ending armed with generation `gen` fires at `now`: the finished
    /// transfers (in the order they started), and the next ending to arm.
    pub(crate) fn finish(
        &mut self,
        now: Time,
        gen: u32,
    ) -> Option<(Vec<Delivery>, Option<(Time, u32)>)> {
        if gen != self.gen {
            return None;
        }
        self.advance(now);
        // The ending was rounded up to a whole ns: a transfer within a
        // millionth of a byte of its end is done.
        let done = self.served + 1e-6;
        let mut out = Vec::new();
        let c = &mut self.c;
        self.active.retain(|t| {
            let end = t.done_at <= done;
            if end {
                out.push(t.then);
                c.transfers += 1;
                c.bytes += t.bytes;
            }
            !end
        });
        Some((out, self.next(now)))
    }

    /// The warm-up ends now.
    pub(crate) fn mark_warm(&mut self, now: Time) {
        self.advance(now);
        self.at_warm = self.c;
    }

    /// The report over the measured period (from `since`, the warm-up's
    /// end) up to `now`.
    pub(crate) fn report(&self, now: Time, since: Time, bandwidth_mbps: f64) -> LinkReport {
        let mut c = self.c;
        let dt = (now - self.last) as f64;
        let n = self.active.len();
        if n > 0 {
            c.busy += dt;
            c.active_area += dt * n as f64;
        }
        let w = if now >= since { self.at_warm } else { c };
        let span = now.saturating_sub(since).max(1) as f64;
        LinkReport {
            bandwidth_mbps,
            transfers: c.transfers - w.transfers,
            mb: (c.bytes - w.bytes) / 1e6,
            utilisation: (c.busy - w.busy) / span,
            transfers_mean: (c.active_area - w.active_area) / span,
            goodput_mbps: (c.bytes - w.bytes) * 8.0 / 1e6 / ns_to_secs(span as Time).max(1e-9),
            active: n as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(i: u32) -> Delivery {
        Delivery {
            what: Carried::Job(Ref { idx: i, gen: 0 }),
            after: 0,
            since: 0,
            span: None,
        }
    }

    fn idx(d: &Delivery) -> u32 {
        match d.what {
            Carried::Job(job) => job.idx,
            _ => u32::MAX,
        }
    }

    #[test]
    fn two_transfers_share_the_bandwidth() {
        // 1 byte/ns. A: 1000 bytes at t=0; B: 1000 bytes at t=500. A alone
        // gets 500 bytes by 500; then each gets 0.5 byte/ns: A's last 500
        // bytes take 1000 ns (ends at 1500); B has then 500 left, alone at
        // full speed: ends at 2000. (Alone each would take 1000 ns.)
        let mut l = LinkState::new(1.0);
        let (t, g) = l.start(0, 1000.0, job(1)).unwrap();
        assert_eq!(t, 1000);
        let (t, g2) = l.start(500, 1000.0, job(2)).unwrap();
        assert_eq!(t, 1500);
        assert!(
            l.finish(1000, g).is_none(),
            "the re-armed ending replaces the first"
        );
        let (done, next) = l.finish(1500, g2).unwrap();
        assert_eq!(done.iter().map(idx).collect::<Vec<_>>(), vec![1]);
        let (t, g3) = next.unwrap();
        assert_eq!(t, 2000);
        let (done, next) = l.finish(2000, g3).unwrap();
        assert_eq!(done.iter().map(idx).collect::<Vec<_>>(), vec![2]);
        assert!(next.is_none());
        let r = l.report(2000, 0, 8000.0);
        assert_eq!(r.transfers, 2);
        assert_eq!(r.utilisation, 1.0);
        // 1 transfer on [0,500) and [1500,2000), 2 on [500,1500): 3000/2000.
        assert_eq!(r.transfers_mean, 1.5);
    }

    #[test]
    fn equal_transfers_end_together_in_start_order() {
        let mut l = LinkState::new(2.0);
        l.start(0, 100.0, job(1));
        let (t, g) = l.start(0, 100.0, job(2)).unwrap();
        assert_eq!(t, 100);
        let (done, next) = l.finish(t, g).unwrap();
        assert_eq!(done.iter().map(idx).collect::<Vec<_>>(), vec![1, 2]);
        assert!(next.is_none());
        assert_eq!(l.active.len(), 0);
    }
}
