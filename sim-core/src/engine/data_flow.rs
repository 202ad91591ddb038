//! Jobs at data nodes: database queries (cost, staleness of replica reads,
//! writes), cache operations (lookups, fills, and the single-flight
//! waiters), and brokers (publishes, consumers, redelivery).

use super::broker::{Poll, Publish};
use super::call::Origin;
use super::config::{BodyCfg, EdgeTask};
use super::database::query_cost;
use super::event::{Event, MAX_NESTING};
use super::ids::{Outcome, Ref, NEVER, NONE};
use super::job::{Attrs, JobState, Resume, Task};
use super::node::BodyState;
use super::program;
use super::Sim;
use crate::calendar::secs_to_ns;
use crate::spec::PartitionMode;
use rand::Rng;

impl Sim {
    /// A database job: one compute of the query's cost, then the answer.
    pub(super) fn db_step(&mut self, job: Ref) {
        let now = self.now();
        let j = self.jobs.at(job);
        let (ni, ri, task, call) = (j.node as usize, j.rep as usize, j.task, j.call);
        let Task::Query { rows, key, write } = task else {
            return self.finish(job, Outcome::Failed);
        };
        let step = j.ip;
        j.ip += 1;
        let cfg = &*self.cfg;
        let BodyCfg::Database(db) = &cfg.nodes[ni].body else {
            unreachable!()
        };
        let table = match self
            .calls
            .get(call)
            .map(|c| &cfg.edges[c.edge as usize].task)
        {
            Some(EdgeTask::Query { table, kind, .. }) => Some((*table as usize, *kind)),
            _ => None,
        };
        let Some((table, kind)) = table else {
            // The caller is gone; do the minimum.
            if step == 0 {
                return self.compute(job, secs_to_ns(db.cost.base_s));
            }
            return self.finish(job, Outcome::Ok);
        };
        let st = &self.nodes[ni].stations[ri];
        let (replica, partitioned) = (st.read_replica(), st.partitioned());
        if step == 0 {
            if replica && partitioned && db.on_partition == PartitionMode::Consistent {
                // Consistency over availability: refuse what may be stale.
                return self.finish(job, Outcome::Failed);
            }
            let cost = query_cost(db, kind, table, rows, write, now);
            return self.compute(job, cost);
        }
        let bytes = rows as f64 * db.tables[table].row_bytes;
        let stale = match (write, key) {
            (true, Some((space, k))) => {
                self.spaces.write(space, k, now);
                false
            }
            // Stale if the key was written within the replication lag (or
            // at any time since a partition cut replication).
            (false, Some((space, k))) if replica => {
                let lag = if partitioned { NEVER } else { db.lag };
                self.spaces
                    .last_write(space, k)
                    .is_some_and(|w| now.saturating_sub(w) < lag)
            }
            _ => false,
        };
        let BodyState::Database(d) = &mut self.nodes[ni].body else {
            unreachable!()
        };
        d.count_query(rows, bytes, write);
        if stale {
            d.count_stale_read();
        }
        if let Some(c) = self.calls.get_mut(call) {
            c.bytes = bytes;
        }
        self.finish_with_errors_at(job, ni, ri)
    }

    /// A cache job: the operation's latency, then the lookup or the fill.
    pub(super) fn cache_step(&mut self, job: Ref) {
        let now = self.now();
        let j = self.jobs.at(job);
        let (ni, ri, call) = (j.node as usize, j.rep as usize, j.call);
        let step = j.ip;
        j.ip += 1;
        let cfg = &*self.cfg;
        let BodyCfg::Cache(cc) = &cfg.nodes[ni].body else {
            unreachable!()
        };
        if step == 0 {
            let d = cc.latency.sample(self.streams.get(cc.stream));
            return self.compute(job, d);
        }
        let BodyState::Cache(c) = &mut self.nodes[ni].body else {
            unreachable!()
        };
        match self.calls.get(call).map(|c| c.task) {
            Some(Task::CacheGet { ckey }) => {
                let (hit, version) = c.get(ckey, now);
                let cl = self.calls.at(call);
                cl.hit = hit;
                cl.version = version;
            }
            Some(Task::CacheSet {
                ckey,
                size,
                version,
            }) => c.fill(cc, self.streams.get(cc.stream), ckey, size, version, now),
            _ => {}
        }
        self.finish_with_errors_at(job, ni, ri)
    }

    /// A single-flight filler stored the value: its waiters continue as hits.
    pub(super) fn finish_fill(&mut self, job: Ref) {
        self.release_fill(job, true)
    }

    /// A single-flight filler failed or died: its waiters fill themselves.
    pub(super) fn abort_fill(&mut self, job: Ref) {
        self.release_fill(job, false)
    }

    /// Ends a single-flight fill and resumes its waiters: past the miss
    /// block if the value was stored (`filled`), into it otherwise.
    fn release_fill(&mut self, job: Ref, filled: bool) {
        if self.jobs.get(job).is_none() {
            return;
        }
        let Some((cache, ckey)) = self.jobs.regs(job).sf.take() else {
            return;
        };
        let BodyState::Cache(c) = &mut self.nodes[cache as usize].body else {
            return;
        };
        for w in c.end_fill(ckey) {
            // A waiter gone, or finishing (its own end set this off), is
            // passed by.
            let Some(j) = self
                .jobs
                .get_mut(w)
                .filter(|j| j.state != JobState::Transit)
            else {
                continue;
            };
            // Waiters sit on their CacheGet op.
            if filled {
                let prog = &self.cfg.programs(j.node)[j.task.endpoint()];
                if let Some(end) = program::miss_end(prog, j.ip) {
                    j.ip = end;
                }
            } else {
                j.ip += 1;
            }
            j.pending = 0;
            if j.state == JobState::Running {
                self.advance(w);
            } else {
                j.resume = Resume::Advance;
                self.requeue(w);
            }
        }
    }

    /// A publish reaches the broker: append, drop, refuse, or block.
    pub(super) fn publish(&mut self, job: Ref) {
        let now = self.now();
        let j = self.jobs.at(job);
        let ni = j.node as usize;
        let Task::Publish { partition } = j.task else {
            unreachable!("a publish")
        };
        let node = &mut self.nodes[ni];
        let st = &mut node.stations[0];
        st.count_arrival();
        st.enter(now);
        let BodyCfg::Broker(bc) = &self.cfg.nodes[ni].body else {
            unreachable!()
        };
        let BodyState::Broker(b) = &mut node.body else {
            unreachable!()
        };
        let (partition, what) = b.publish(bc, partition, job);
        match what {
            Publish::Enqueue => {
                self.enqueue_msg(ni, partition);
                self.broker_ack(job);
            }
            Publish::Reject => {
                node.stations[0].shed(now);
                self.refuse(job, Outcome::Rejected);
            }
            Publish::Drop => self.broker_ack(job),
            Publish::Block => {}
        }
    }

    fn enqueue_msg(&mut self, ni: usize, partition: u32) {
        let now = self.now();
        let BodyCfg::Broker(bc) = &self.cfg.nodes[ni].body else {
            unreachable!()
        };
        let poison =
            bc.poison_rate > 0.0 && self.streams.get(bc.stream).random::<f64>() < bc.poison_rate;
        let BodyState::Broker(b) = &mut self.nodes[ni].body else {
            unreachable!()
        };
        if let Some(c) = b.enqueue(partition, poison, now) {
            self.consumer_poll(ni as u32, c);
        }
    }

    /// The publish is accepted: answer the producer.
    fn broker_ack(&mut self, job: Ref) {
        let now = self.now();
        let ni = self.jobs.at(job).node as usize;
        self.nodes[ni].stations[0].leave(now, true);
        self.respond(job, Outcome::Ok, ni as u32);
        self.end_job(job);
    }

    /// An idle consumer looks for its next message.
    pub(super) fn consumer_poll(&mut self, node: u32, consumer: u32) {
        let now = self.now();
        if self.nesting >= MAX_NESTING {
            // A backlog drained by messages that end at once (a breaker
            // refusing, a fallback of 0 s) would recurse once a message.
            self.cal
                .schedule(now, Event::ConsumerWake { node, consumer });
            return;
        }
        let BodyState::Broker(b) = &mut self.nodes[node as usize].body else {
            return;
        };
        match b.poll(consumer, now) {
            Poll::Took(pi, blocked) => {
                // A producer blocked on this partition can now get in.
                if let Some(prod) = blocked {
                    if self.jobs.get(prod).is_some() {
                        self.enqueue_msg(node as usize, pi);
                        self.broker_ack(prod);
                    }
                }
                self.nesting += 1;
                self.consume(node, consumer);
                self.nesting -= 1;
            }
            Poll::Wait(Some(at)) => {
                self.cal
                    .schedule(at, Event::ConsumerWake { node, consumer });
            }
            Poll::Wait(None) | Poll::Busy => {}
        }
    }

    /// A consumer processes its message: for a while, or by calling the
    /// handler service.
    fn consume(&mut self, node: u32, consumer: u32) {
        let now = self.now();
        let BodyCfg::Broker(bc) = &self.cfg.nodes[node as usize].body else {
            return;
        };
        if let Some(d) = &bc.process {
            let t = d.sample(self.streams.get(bc.stream));
            self.cal.schedule(
                now.saturating_add(t),
                Event::ConsumerDone { node, consumer },
            );
        } else if let Some(edge) = bc.handler {
            let attrs = Attrs::default();
            let task = self.edge_task(edge, &attrs);
            let origin = Origin::Consumer { node, consumer };
            self.start_call(edge, origin, task, attrs, NEVER, (NONE, NONE));
        }
    }

    /// A consumer finished a message (`ok` from the handler; poison
    /// messages always fail).
    pub(super) fn consumer_done(&mut self, node: u32, consumer: u32, ok: bool) {
        let now = self.now();
        let BodyCfg::Broker(bc) = &self.cfg.nodes[node as usize].body else {
            return;
        };
        let BodyState::Broker(b) = &mut self.nodes[node as usize].body else {
            return;
        };
        if b.done(bc, consumer, ok, now, self.cfg.warmup) {
            self.consumer_poll(node, consumer);
        }
    }
}
