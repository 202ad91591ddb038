//! Data-layer mechanisms: database queries, cache operations (with single
//! flight), and the message broker.

use super::*;

impl Sim {
    /// A database job: one compute of the query's cost, then the answer.
    pub(super) fn db_step(&mut self, job: Ref) {
        let now = self.now();
        self.call_of(job);
        let j = self.jobs.get_mut(job).unwrap();
        let (ni, ri, task) = (j.node as usize, j.rep as usize, j.task);
        let Task::Query { rows, key, write } = task else {
            return self.finish(job, Outcome::Failed);
        };
        let call = j.call;
        let step = j.ip;
        j.ip += 1;
        let node = &mut self.nodes[ni];
        let replica = node.reps[ri].replica;
        let partitioned = node.reps[ri].partitioned;
        let Body::Database(db) = &mut node.body else {
            unreachable!()
        };
        let table = match self.calls.get(call).map(|c| c.edge) {
            Some(e) => match &self.edges[e as usize].task {
                EdgeTask::Query { table, kind, .. } => Some((*table, *kind)),
                _ => None,
            },
            None => None,
        };
        let Some((table, kind)) = table else {
            // The caller is gone; do the minimum.
            if step == 0 {
                let base = secs_to_ns(db.cost.base_s);
                return self.compute(job, base);
            }
            return self.finish(job, Outcome::Ok);
        };
        let t = &db.tables[table as usize];
        let table_rows = (t.rows0 + t.growth * ns_to_secs(now)).max(1.0);
        if step == 0 {
            if replica && partitioned && db.on_partition == PartitionMode::Consistent {
                // Consistency over availability: refuse what may be stale.
                return self.finish(job, Outcome::Failed);
            }
            let c = &db.cost;
            let lookup = match kind {
                QueryKind::Pk => 0.0,
                QueryKind::Indexed => c.per_log_row_s * libm::log2(table_rows),
                QueryKind::Scan => c.per_row_scanned_s * table_rows,
            };
            let cost = secs_to_ns(
                c.base_s
                    + lookup
                    + c.per_row_returned_s * rows as f64
                    + if write { c.write_s } else { 0.0 },
            );
            return self.compute(job, cost);
        }
        db.queries += 1;
        let bytes = rows as f64 * t.row_bytes;
        db.rows_returned += rows as u64;
        db.bytes_returned += bytes;
        if write {
            db.writes_n += 1;
            if let Some((space, k)) = key {
                let e = self.spaces[space as usize]
                    .versions
                    .entry(k)
                    .or_insert((0, now));
                e.0 += 1;
                e.1 = now;
            }
        } else {
            db.reads_n += 1;
            if replica {
                if let Some((space, k)) = key {
                    // Stale if the key was written within the replication lag
                    // (or at any time since a partition cut replication).
                    let lag = if partitioned { NEVER } else { db.lag };
                    if let Some(w) = self.spaces[space as usize].last_write(k) {
                        if now.saturating_sub(w) < lag {
                            db.stale_reads += 1;
                        }
                    }
                }
            }
        }
        if let Some(c) = self.calls.get_mut(call) {
            c.bytes = bytes;
        }
        self.finish_with_errors(job)
    }

    /// Finishes with the node's (and any injected) error rate.
    pub(super) fn finish_with_errors(&mut self, job: Ref) {
        let j = self.jobs.get(job).unwrap();
        let (ni, ri) = (j.node as usize, j.rep as usize);
        let node = &mut self.nodes[ni];
        let p = node.error_rate + node.reps[ri].err_p;
        let failed = p > 0.0 && node.err_rng.random::<f64>() < p;
        self.finish(job, if failed { Outcome::Failed } else { Outcome::Ok })
    }

    /// A cache job: the operation's latency, then the lookup or the fill.
    pub(super) fn cache_step(&mut self, job: Ref) {
        let now = self.now();
        let call = self.call_of(job);
        let j = self.jobs.get_mut(job).unwrap();
        let ni = j.node as usize;
        let step = j.ip;
        j.ip += 1;
        let Body::Cache(c) = &mut self.nodes[ni].body else {
            unreachable!()
        };
        if step == 0 {
            let d = c.latency.sample(&mut c.rng);
            return self.compute(job, d);
        }
        let task = self.calls.get(call).map(|c| c.task);
        match task {
            Some(Task::CacheGet { ckey }) => {
                let (hit, version) = match c.store.get(ckey, now) {
                    crate::cache::Lookup::Hit { version, .. } => (true, version),
                    _ => (false, 0),
                };
                let cl = self.calls.get_mut(call).unwrap();
                cl.hit = hit;
                cl.version = version;
            }
            Some(Task::CacheSet {
                ckey,
                size,
                version,
            }) => {
                let exp = match c.ttl {
                    None => NEVER,
                    Some(t) => {
                        let f = if c.jitter > 0.0 {
                            1.0 + c.jitter * (2.0 * c.rng.random::<f64>() - 1.0)
                        } else {
                            1.0
                        };
                        now + (t as f64 * f) as Time
                    }
                };
                c.fills += 1;
                c.store.put(ckey, size, version, exp);
            }
            _ => {}
        }
        self.finish_with_errors(job)
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
        let Some((cache, ckey)) = self.jobs.get_mut(job).and_then(|j| j.sf.take()) else {
            return;
        };
        let Body::Cache(c) = &mut self.nodes[cache as usize].body else {
            return;
        };
        let waiters = c.inflight.remove(&ckey).unwrap_or_default();
        for w in waiters {
            let Some(j) = self.jobs.get_mut(w) else {
                continue;
            };
            // Waiters sit on their CacheGet op.
            if filled {
                let endpoint = match j.task {
                    Task::Handler { endpoint } => endpoint as usize,
                    _ => 0,
                };
                if let Body::Service(s) = &self.nodes[j.node as usize].body {
                    if let Some(Op::CacheGet { miss_end, .. }) =
                        s.programs[endpoint].get(j.ip as usize)
                    {
                        j.ip = *miss_end;
                    }
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

    // ----- broker ------------------------------------------------------------------

    fn broker_touch(b: &mut BrokerRt, now: Time) {
        b.depth_area += (now - b.last) as f64 * b.depth as f64;
        b.last = now;
    }

    /// A publish reaches the broker: append, drop, refuse, or block.
    pub(super) fn publish(&mut self, job: Ref) {
        let now = self.now();
        let j = self.jobs.get(job).unwrap();
        let ni = j.node as usize;
        let Task::Publish { partition } = j.task else {
            unreachable!()
        };
        let node = &mut self.nodes[ni];
        let st = &mut node.reps[0];
        st.c.arrived += 1;
        st.lv.insys_up(now);
        let Body::Broker(b) = &mut node.body else {
            unreachable!()
        };
        // A publish sent before a live repartitioning lands modulo the
        // current partition count (identity otherwise).
        let partition = partition % b.parts.len() as u32;
        let p = &mut b.parts[partition as usize];
        let full = b.capacity.is_some_and(|c| p.q.len() as u64 >= c);
        if full {
            match b.overflow {
                Overflow::Reject => {
                    b.rejected += 1;
                    st.lv.insys_down(now);
                    st.c.rejected += 1;
                    return self.refuse(job, Outcome::Rejected);
                }
                Overflow::Drop => {
                    b.dropped += 1;
                    b.published += 1;
                    return self.broker_ack(job);
                }
                Overflow::Block => {
                    p.blocked.push_back(job);
                    return;
                }
            }
        }
        self.enqueue_msg(ni, partition);
        self.broker_ack(job);
    }

    fn enqueue_msg(&mut self, ni: usize, partition: u32) {
        let now = self.now();
        let Body::Broker(b) = &mut self.nodes[ni].body else {
            unreachable!()
        };
        let poison = b.poison_rate > 0.0 && b.rng.random::<f64>() < b.poison_rate;
        Self::broker_touch(b, now);
        b.published += 1;
        b.depth += 1;
        let p = &mut b.parts[partition as usize];
        p.q.push_back(Msg {
            t_pub: now,
            poison,
            attempts: 0,
            ready_at: now,
        });
        p.max_depth = p.max_depth.max(p.q.len() as u64);
        let consumers = b.active;
        if consumers > 0 {
            let c = partition % consumers;
            if b.consumers[c as usize].busy.is_none() {
                self.consumer_poll(ni as u32, c);
            }
        }
    }

    /// The publish is accepted: answer the producer.
    fn broker_ack(&mut self, job: Ref) {
        let now = self.now();
        let ni = self.jobs.get(job).unwrap().node as usize;
        let st = &mut self.nodes[ni].reps[0];
        st.lv.insys_down(now);
        st.c.completed += 1;
        self.respond(job, Outcome::Ok, ni as u32);
        self.end_job(job);
    }

    /// An idle consumer looks for its next message.
    pub(super) fn consumer_poll(&mut self, node: u32, consumer: u32) {
        let now = self.now();
        let ni = node as usize;
        let Body::Broker(b) = &mut self.nodes[ni].body else {
            return;
        };
        let c = &mut b.consumers[consumer as usize];
        if c.wake_at <= now {
            c.wake_at = NEVER;
        }
        if c.busy.is_some() {
            return;
        }
        let n = c.parts.len();
        let mut earliest = NEVER;
        let mut taken = None;
        for k in 0..n {
            let pi = c.parts[(c.next + k) % n];
            let p = &mut b.parts[pi as usize];
            let Some(head) = p.q.front() else { continue };
            if head.ready_at > now {
                // In-order delivery: a redelivered head blocks its partition.
                earliest = earliest.min(head.ready_at);
                continue;
            }
            let msg = p.q.pop_front().unwrap();
            c.next = (c.next + k + 1) % n;
            c.busy = Some((pi, msg));
            taken = Some((pi, p.blocked.pop_front()));
            break;
        }
        match taken {
            Some((pi, blocked)) => {
                Self::broker_touch(b, now);
                b.depth -= 1;
                // A producer blocked on this partition can now get in.
                if let Some(prod) = blocked {
                    if self.jobs.get(prod).is_some() {
                        self.enqueue_msg(ni, pi);
                        self.broker_ack(prod);
                    }
                }
                self.consume(node, consumer);
            }
            None => {
                let c = &mut b.consumers[consumer as usize];
                if earliest < c.wake_at {
                    c.wake_at = earliest;
                    self.cal
                        .schedule(earliest, Event::ConsumerWake { node, consumer });
                }
            }
        }
    }

    fn consume(&mut self, node: u32, consumer: u32) {
        let now = self.now();
        let Body::Broker(b) = &mut self.nodes[node as usize].body else {
            return;
        };
        if let Some(d) = &b.process {
            let t = d.sample(&mut b.rng);
            self.cal
                .schedule(now + t, Event::ConsumerDone { node, consumer });
        } else if let Some(edge) = b.handler {
            let attrs = Attrs::default();
            let task = self.edge_task(edge, &attrs);
            let call = self.new_call(
                edge,
                Origin::Consumer { node, consumer },
                task,
                attrs,
                NEVER,
                (NONE, NONE),
            );
            self.start_call(call);
        }
    }

    /// A consumer finished a message (`ok` from the handler; poison
    /// messages always fail).
    pub(super) fn consumer_done(&mut self, node: u32, consumer: u32, ok: bool) {
        let now = self.now();
        let Body::Broker(b) = &mut self.nodes[node as usize].body else {
            return;
        };
        let Some((pi, mut msg)) = b.consumers[consumer as usize].busy.take() else {
            return;
        };
        msg.attempts += 1;
        if ok && !msg.poison {
            b.processed += 1;
            b.latency.record(now - msg.t_pub);
        } else {
            b.failed_attempts += 1;
            if b.max_attempts.is_some_and(|m| msg.attempts >= m) {
                if b.dlq_on {
                    b.dead_lettered += 1;
                } else {
                    b.discarded += 1;
                }
            } else {
                // Redeliver: back to the head of its partition after a delay.
                msg.ready_at = now + b.redelivery;
                Self::broker_touch(b, now);
                b.depth += 1;
                b.parts[pi as usize].q.push_front(msg);
            }
        }
        self.consumer_poll(node, consumer);
    }
}
