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
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};

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

/// A consumer of the group. It owns the partitions `p` with `p % active ==
/// its index` and takes from them in turn (round robin by partition
/// number, from where it last took). The partitions it owns are indexed by
/// the state of their head, so a poll costs O(log partitions) however many
/// it owns (a consumer of 10,000 partitions scanned them all at each poll):
/// `ready` holds those whose head may be taken now, `delayed` those whose
/// head is a redelivery not yet due (by due time; an entry may be stale and
/// is checked against the head when it falls due). An empty partition is
/// in neither.
struct Consumer {
    ready: BTreeSet<u32>,
    delayed: BinaryHeap<Reverse<(Time, u32)>>,
    /// Where the round robin resumes: the first partition number it tries.
    next: u32,
    /// The message in processing: (partition, message).
    busy: Option<(u32, Msg)>,
    wake_at: Time,
}

impl Consumer {
    fn idle() -> Consumer {
        Consumer {
            ready: BTreeSet::new(),
            delayed: BinaryHeap::new(),
            next: 0,
            busy: None,
            wake_at: NEVER,
        }
    }

    /// Files partition `pi` by its head (`head_ready_at`: `None` if it is
    /// empty) at `now`.
    fn file(&mut self, pi: u32, head_ready_at: Option<Time>, now: Time) {
        match head_ready_at {
            Some(t) if t > now => {
                self.ready.remove(&pi);
                self.delayed.push(Reverse((t, pi)));
            }
            Some(_) => {
                self.ready.insert(pi);
            }
            None => {
                self.ready.remove(&pi);
            }
        }
    }

    /// The next ready partition in round-robin order.
    fn next_ready(&self) -> Option<u32> {
        let after = self.ready.range(self.next..).next();
        after.or_else(|| self.ready.iter().next()).copied()
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
    /// Host memory held by its latency histogram.
    pub(crate) fn stats_bytes(&self) -> usize {
        self.latency.bytes()
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
        let first = p.q.len() == 1;
        if self.active == 0 {
            return None;
        }
        let c = partition % self.active;
        let cons = &mut self.consumers[c as usize];
        if first {
            cons.file(partition, Some(now), now);
        }
        cons.busy.is_none().then_some(c)
    }

    /// The head of partition `pi`: when it may be taken (`None`: empty).
    fn head_ready_at(&self, pi: u32) -> Option<Time> {
        self.parts[pi as usize].q.front().map(|m| m.ready_at)
    }

    /// An idle consumer looks for its next ready message.
    pub(crate) fn poll(&mut self, consumer: u32, now: Time) -> Poll {
        let ci = consumer as usize;
        if self.consumers[ci].wake_at <= now {
            self.consumers[ci].wake_at = NEVER;
        }
        if self.consumers[ci].busy.is_some() {
            return Poll::Busy;
        }
        self.ripen(ci, now);
        loop {
            let c = &mut self.consumers[ci];
            let Some(pi) = c.next_ready() else {
                let earliest = c.delayed.peek().map_or(NEVER, |Reverse((t, _))| *t);
                if earliest < c.wake_at {
                    c.wake_at = earliest;
                    return Poll::Wait(Some(earliest));
                }
                return Poll::Wait(None);
            };
            // After a repartitioning every non-empty partition is filed as
            // ready; its head decides.
            let head = self.head_ready_at(pi);
            if head.is_none_or(|t| t > now) {
                self.consumers[ci].file(pi, head, now);
                continue;
            }
            return self.take(ci, pi, now);
        }
    }

    /// Consumer `ci` takes the head of partition `pi`.
    fn take(&mut self, ci: usize, pi: u32, now: Time) -> Poll {
        let p = &mut self.parts[pi as usize];
        let msg = p.q.pop_front().expect("a ready partition has a head");
        let blocked = p.blocked.pop_front();
        let head = p.q.front().map(|m| m.ready_at);
        let c = &mut self.consumers[ci];
        c.next = pi + 1;
        c.busy = Some((pi, msg));
        c.file(pi, head, now);
        self.touch(now);
        self.depth -= 1;
        Poll::Took(pi, blocked)
    }

    /// Redeliveries of consumer `ci` that are now due become ready.
    fn ripen(&mut self, ci: usize, now: Time) {
        while let Some(&Reverse((t, pi))) = self.consumers[ci].delayed.peek() {
            if t > now {
                break;
            }
            self.consumers[ci].delayed.pop();
            // A stale entry (the head changed since) is filed anew.
            let head = self.head_ready_at(pi);
            if head == Some(t) || head.is_some_and(|h| h <= now) {
                self.consumers[ci].ready.insert(pi);
            } else if let Some(h) = head {
                self.consumers[ci].delayed.push(Reverse((h, pi)));
            }
        }
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
                let ready_at = msg.ready_at;
                self.parts[pi as usize].q.push_front(msg);
                self.file(pi, ready_at, now);
            }
        }
        true
    }

    /// Files partition `pi` with the consumer that owns it, by its head
    /// `ready_at` (a message was just put back at its head).
    fn file(&mut self, pi: u32, ready_at: Time, now: Time) {
        if self.active > 0 {
            let c = (pi % self.active) as usize;
            self.consumers[c].file(pi, Some(ready_at), now);
        }
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
        for cons in self.consumers.iter_mut() {
            cons.ready.clear();
            cons.delayed.clear();
            cons.next = 0;
        }
        if nc == 0 {
            return;
        }
        for pi in 0..np as u32 {
            if !self.parts[pi as usize].q.is_empty() {
                // Filed as ready: the next poll checks the head and moves
                // a redelivery not yet due aside.
                self.consumers[(pi % nc) as usize].ready.insert(pi);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(partitions: u32, consumers: u32, redelivery: Time) -> BrokerCfg {
        BrokerCfg {
            partitions,
            consumers,
            capacity: None,
            overflow: Overflow::Reject,
            process: None,
            handler: None,
            poison_rate: 0.0,
            max_attempts: None,
            dlq: false,
            redelivery,
            stream: 0,
        }
    }

    /// Publishes one message to each partition in `parts` at `now`.
    fn publish(b: &mut BrokerState, parts: &[u32], now: Time) {
        for &p in parts {
            b.enqueue(p, false, now);
        }
    }

    /// Takes and finishes (`ok`) the consumer's next message; its partition.
    fn take(b: &mut BrokerState, c: &BrokerCfg, consumer: u32, ok: bool, now: Time) -> Option<u32> {
        let Poll::Took(pi, _) = b.poll(consumer, now) else {
            return None;
        };
        b.done(c, consumer, ok, now, 0);
        Some(pi)
    }

    #[test]
    fn a_consumer_takes_its_partitions_in_turn_from_where_it_stopped() {
        // One consumer owns partitions 0..6; messages on 1, 3 (two) and 4.
        // Round robin by partition number: 1, 3, 4, then back to 3.
        let c = cfg(6, 1, 0);
        let mut b = BrokerState::new(&c);
        publish(&mut b, &[3, 1, 3, 4], 0);
        let order: Vec<u32> = (0..5)
            .filter_map(|_| take(&mut b, &c, 0, true, 0))
            .collect();
        assert_eq!(order, [1, 3, 4, 3]);
        assert_eq!(b.conservation(), None);
    }

    #[test]
    fn consumers_own_the_partitions_equal_to_their_index_modulo_the_group() {
        // Two consumers: consumer 1 owns the odd partitions only.
        let c = cfg(4, 2, 0);
        let mut b = BrokerState::new(&c);
        publish(&mut b, &[0, 2, 3], 0);
        assert_eq!(take(&mut b, &c, 1, true, 0), Some(3));
        assert_eq!(take(&mut b, &c, 1, true, 0), None);
        assert_eq!(take(&mut b, &c, 0, true, 0), Some(0));
        assert_eq!(take(&mut b, &c, 0, true, 0), Some(2));
    }

    #[test]
    fn a_redelivered_head_blocks_its_partition_until_due_but_not_the_others() {
        // A failure at t=0 with redelivery 100 puts the message back at
        // the head of partition 0, due at 100: partition 1 is served
        // meanwhile, then the consumer waits for 100 and retakes it.
        let c = cfg(2, 1, 100);
        let mut b = BrokerState::new(&c);
        publish(&mut b, &[0, 0, 1], 0);
        assert_eq!(take(&mut b, &c, 0, false, 0), Some(0));
        assert_eq!(take(&mut b, &c, 0, true, 10), Some(1));
        assert!(matches!(b.poll(0, 20), Poll::Wait(Some(100))));
        // Armed already: a second idle poll schedules nothing new.
        assert!(matches!(b.poll(0, 30), Poll::Wait(None)));
        assert_eq!(take(&mut b, &c, 0, true, 100), Some(0));
        assert_eq!(take(&mut b, &c, 0, true, 100), Some(0));
        assert_eq!(take(&mut b, &c, 0, true, 100), None);
        assert_eq!(b.conservation(), None);
        assert_eq!(b.backlog(), 0);
    }

    #[test]
    fn a_repartitioning_keeps_a_pending_redelivery_waiting() {
        // Partition 3's head is a redelivery due at 100; shrinking to two
        // partitions moves it behind partition 1's message. Partition 1's
        // own message goes first; the moved redelivery then holds the
        // partition until it is due.
        let c = cfg(4, 1, 100);
        let mut b = BrokerState::new(&c);
        publish(&mut b, &[3], 0);
        assert_eq!(take(&mut b, &c, 0, false, 0), Some(3));
        publish(&mut b, &[1], 5);
        b.resize(2, 1);
        assert_eq!(take(&mut b, &c, 0, true, 10), Some(1));
        assert!(matches!(b.poll(0, 10), Poll::Wait(Some(100))));
        assert_eq!(take(&mut b, &c, 0, true, 100), Some(1));
        assert_eq!(b.conservation(), None);
    }

    #[test]
    fn ten_thousand_partitions_are_served_without_loss() {
        // The shape that scanned every partition at each poll: one
        // consumer of 10,000 partitions, a message on every 7th.
        let c = cfg(10_000, 1, 0);
        let mut b = BrokerState::new(&c);
        let parts: Vec<u32> = (0..10_000).step_by(7).collect();
        publish(&mut b, &parts, 0);
        let order: Vec<u32> = std::iter::from_fn(|| take(&mut b, &c, 0, true, 1)).collect();
        assert_eq!(order, parts);
        assert_eq!(b.conservation(), None);
    }
}
