//! Message brokers: partitions, a consumer group, redelivery of failed
//! messages, dead-lettering, and the producers blocked on a full partition.
//!
//! This module keeps the messages and counters and decides what happens to
//! a publish, a poll and a finished message; answering producers and
//! calling a handler service is the request path's (`data_flow.rs`).

use super::config::BrokerCfg;
use super::ids::{Ref, NEVER};
use crate::calendar::{ns_to_secs, Time};
use crate::metrics::LatencyHist;
use crate::report::BrokerReport;
use crate::spec::Overflow;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug)]
struct Msg {
    t_pub: Time,
    poison: bool,
    attempts: u32,
    ready_at: Time,
}

#[derive(Default)]
struct Partition {
    q: VecDeque<Msg>,
    /// Producers blocked on the full partition (overflow = block).
    blocked: VecDeque<Ref>,
    max_depth: u64,
}

struct Consumer {
    parts: Vec<u32>,
    next: usize,
    /// The message in processing: (partition, message).
    busy: Option<(u32, Msg)>,
    wake_at: Time,
}

impl Consumer {
    fn idle() -> Consumer {
        Consumer {
            parts: Vec::new(),
            next: 0,
            busy: None,
            wake_at: NEVER,
        }
    }
}

pub(crate) struct BrokerState {
    parts: Vec<Partition>,
    consumers: Vec<Consumer>,
    /// Consumers in service: the first `active` (the rest were retired by a
    /// live reconfiguration and own no partitions).
    active: u32,
    c: Counts,
    /// The counters when the warm-up ended, and when that was: the report
    /// covers the measured period; conservation uses the whole run.
    at_warm: Counts,
    warm_at: Time,
    /// Publish to processing, of messages published after the warm-up.
    latency: LatencyHist,
    depth: u64,
    last: Time,
}

/// What a broker counts (from the start of the run).
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    published: u64,
    processed: u64,
    dead_lettered: u64,
    discarded: u64,
    dropped: u64,
    rejected: u64,
    failed_attempts: u64,
    /// Integral of the backlog over time, up to `last`.
    depth_area: f64,
}

/// What happens to a publish that reaches the broker.
pub(crate) enum Publish {
    /// Appended: answer the producer (and poll this consumer if idle).
    Enqueue,
    /// The partition is full and refuses.
    Reject,
    /// The partition is full and drops the message (acknowledged).
    Drop,
    /// The partition is full; the producer waits.
    Block,
}

/// What an idle consumer found.
pub(crate) enum Poll {
    /// A message from partition `.0`; `.1` is a producer that was blocked
    /// on it and may now publish.
    Took(u32, Option<Ref>),
    /// Nothing ready; wake at this time (already armed if `None`).
    Wait(Option<Time>),
    Busy,
}

impl BrokerState {
    pub(crate) fn new(cfg: &BrokerCfg) -> BrokerState {
        let mut b = BrokerState {
            parts: Vec::new(),
            consumers: Vec::new(),
            active: 0,
            c: Counts::default(),
            at_warm: Counts::default(),
            warm_at: 0,
            latency: LatencyHist::new(3),
            depth: 0,
            last: 0,
        };
        b.resize(cfg.partitions as usize, cfg.consumers);
        b
    }

    fn touch(&mut self, now: Time) {
        self.c.depth_area += (now - self.last) as f64 * self.depth as f64;
        self.last = now;
    }

    /// The warm-up ends now: the report counts from here.
    pub(crate) fn mark_warm(&mut self, now: Time) {
        self.touch(now);
        self.at_warm = self.c;
        self.warm_at = now;
    }

    pub(crate) fn partitions(&self) -> u32 {
        self.parts.len() as u32
    }
    pub(crate) fn backlog(&self) -> u64 {
        self.depth
    }
    pub(crate) fn active(&self) -> u32 {
        self.active
    }

    /// A publish for `partition` arrives (`partition` modulo the current
    /// count: a publish sent before a live repartitioning).
    pub(crate) fn publish(&mut self, cfg: &BrokerCfg, partition: u32, job: Ref) -> (u32, Publish) {
        let partition = partition % self.parts.len() as u32;
        let p = &mut self.parts[partition as usize];
        if !cfg.capacity.is_some_and(|c| p.q.len() as u64 >= c) {
            return (partition, Publish::Enqueue);
        }
        let what = match cfg.overflow {
            Overflow::Reject => {
                self.c.rejected += 1;
                Publish::Reject
            }
            Overflow::Drop => {
                self.c.dropped += 1;
                self.c.published += 1;
                Publish::Drop
            }
            Overflow::Block => {
                p.blocked.push_back(job);
                Publish::Block
            }
        };
        (partition, what)
    }

    /// Appends a message; returns the consumer to poll if it is idle.
    pub(crate) fn enqueue(&mut self, partition: u32, poison: bool, now: Time) -> Option<u32> {
        self.touch(now);
        self.c.published += 1;
        self.depth += 1;
        let p = &mut self.parts[partition as usize];
        p.q.push_back(Msg {
            t_pub: now,
            poison,
            attempts: 0,
            ready_at: now,
        });
        p.max_depth = p.max_depth.max(p.q.len() as u64);
        if self.active == 0 {
            return None;
        }
        let c = partition % self.active;
        self.consumers[c as usize].busy.is_none().then_some(c)
    }

    /// An idle consumer looks for its next ready message.
    pub(crate) fn poll(&mut self, consumer: u32, now: Time) -> Poll {
        let c = &mut self.consumers[consumer as usize];
        if c.wake_at <= now {
            c.wake_at = NEVER;
        }
        if c.busy.is_some() {
            return Poll::Busy;
        }
        let n = c.parts.len();
        let mut earliest = NEVER;
        for k in 0..n {
            let pi = c.parts[(c.next + k) % n];
            let p = &mut self.parts[pi as usize];
            let Some(head) = p.q.front() else { continue };
            if head.ready_at > now {
                // In-order delivery: a redelivered head blocks its partition.
                earliest = earliest.min(head.ready_at);
                continue;
            }
            let msg = p.q.pop_front().expect("a head");
            c.next = (c.next + k + 1) % n;
            c.busy = Some((pi, msg));
            let blocked = p.blocked.pop_front();
            self.touch(now);
            self.depth -= 1;
            return Poll::Took(pi, blocked);
        }
        if earliest < c.wake_at {
            c.wake_at = earliest;
            return Poll::Wait(Some(earliest));
        }
        Poll::Wait(None)
    }

    /// Consumer `consumer` finished its message (`ok` from the handler;
    /// poison messages always fail): processed, redelivered later, or
    /// dead-lettered. Latencies count for messages published at or after
    /// `warmup`.
    pub(crate) fn done(
        &mut self,
        cfg: &BrokerCfg,
        consumer: u32,
        ok: bool,
        now: Time,
        warmup: Time,
    ) -> bool {
        let Some((pi, mut msg)) = self.consumers[consumer as usize].busy.take() else {
            return false;
        };
        msg.attempts += 1;
        if ok && !msg.poison {
            self.c.processed += 1;
            if msg.t_pub >= warmup {
                self.latency.record(now - msg.t_pub);
            }
        } else {
            self.c.failed_attempts += 1;
            if cfg.max_attempts.is_some_and(|m| msg.attempts >= m) {
                if cfg.dlq {
                    self.c.dead_lettered += 1;
                } else {
                    self.c.discarded += 1;
                }
            } else {
                // Redeliver: back to the head of its partition after a delay.
                msg.ready_at = now.saturating_add(cfg.redelivery);
                self.touch(now);
                self.depth += 1;
                self.parts[pi as usize].q.push_front(msg);
            }
        }
        true
    }

    /// Partitions and consumers change count. The backlog of removed
    /// partitions moves (in order) to partition `p % n`; consumers beyond
    /// the new count finish their message and retire.
    pub(crate) fn resize(&mut self, np: usize, nc: u32) {
        while self.parts.len() < np {
            self.parts.push(Partition::default());
        }
        if self.parts.len() > np {
            let extra: Vec<Partition> = self.parts.drain(np..).collect();
            for (k, p) in extra.into_iter().enumerate() {
                let to = &mut self.parts[(np + k) % np];
                to.q.extend(p.q);
                to.blocked.extend(p.blocked);
                to.max_depth = to.max_depth.max(p.max_depth).max(to.q.len() as u64);
            }
            for c in self.consumers.iter_mut() {
                if let Some((pi, _)) = &mut c.busy {
                    *pi %= np as u32;
                }
            }
        }
        while (self.consumers.len() as u32) < nc {
            self.consumers.push(Consumer::idle());
        }
        self.active = nc;
        for (c, cons) in self.consumers.iter_mut().enumerate() {
            cons.parts = if (c as u32) < nc {
                (0..np as u32).filter(|p| p % nc == c as u32).collect()
            } else {
                Vec::new()
            };
            cons.next = 0;
        }
    }

    /// Messages waiting and in processing, for conservation.
    pub(crate) fn conservation(&self) -> Option<String> {
        let waiting: u64 = self.parts.iter().map(|p| p.q.len() as u64).sum();
        let busy = self.consumers.iter().filter(|c| c.busy.is_some()).count() as u64;
        let c = &self.c;
        let accounted = c.processed + c.dead_lettered + c.discarded + c.dropped + waiting + busy;
        if c.published != accounted {
            return Some(format!(
                "published {} != processed {} + dead-lettered {} + discarded {} + dropped {} + waiting {waiting} + in processing {busy}",
                c.published, c.processed, c.dead_lettered, c.discarded, c.dropped
            ));
        }
        if self.depth != waiting {
            return Some(format!("depth {} != waiting {waiting}", self.depth));
        }
        None
    }

    /// The report at `now`; `warm`: the measured period has begun.
    pub(crate) fn report(&self, now: Time, warm: bool) -> BrokerReport {
        let backlog: Vec<u64> = self.parts.iter().map(|p| p.q.len() as u64).collect();
        let oldest = self
            .parts
            .iter()
            .filter_map(|p| p.q.iter().map(|m| m.t_pub).min())
            .min();
        let area = self.c.depth_area + (now - self.last) as f64 * self.depth as f64;
        let (c, w) = (self.c, if warm { self.at_warm } else { self.c });
        let span = if warm { now - self.warm_at } else { 0 };
        BrokerReport {
            published: c.published - w.published,
            processed: c.processed - w.processed,
            dead_lettered: c.dead_lettered - w.dead_lettered,
            discarded: c.discarded - w.discarded,
            dropped: c.dropped - w.dropped,
            rejected: c.rejected - w.rejected,
            failed_attempts: c.failed_attempts - w.failed_attempts,
            processed_rps: if span > 0 {
                (c.processed - w.processed) as f64 / crate::calendar::ns_to_secs(span)
            } else {
                0.0
            },
            backlog: backlog.iter().sum(),
            backlog_mean: (area - w.depth_area) / span.max(1) as f64,
            backlog_max_partition: self.parts.iter().map(|p| p.max_depth).max().unwrap_or(0),
            oldest_age_s: oldest.map_or(0.0, |t| ns_to_secs(now - t)),
            partition_backlog: backlog,
            latency_s: self.latency.summary(),
        }
    }
}
