//! The run's two guards, so that no scenario can hang the host or fill its
//! memory, whatever numbers it holds:
//! - simulated time must advance: a million events in a row at one instant
//!   (or ten million units of work: events and the calls they make, for a
//!   loop whose every turn fans out thousands of calls) means something
//!   repeats in zero simulated time (a zero delay, think time, backoff or
//!   service time in a loop). The run stops, naming the events and nodes
//!   that repeat, and the seed.
//! - the requests the simulated system holds at once stay within a budget:
//!   an overloaded unbounded queue is the simulated system's problem, so the
//!   run stops with the node that holds the most, before the host's memory
//!   runs out (a browser tab's in particular).
//!
//!   The latency histograms count too: they grow with the spread of the
//!   values each node records, and thousands of nodes can hold a lot.
//!
//! Either guard stops the run with a [`RunError`]. The simulation stays
//! readable (its report covers the run so far) but processes no more events:
//! every later `step` or `run_until` returns the same error.

use super::event::Event;
use super::node::BodyState;
use super::Sim;
use crate::calendar::{ns_to_secs, Time};

/// Events at one simulated instant after which the run stops as a zero-time
/// loop. A real burst (every user of a closed loop waking together, a
/// fan-out of thousands) puts a few events per request at one instant;
/// a million with the clock standing still is a loop.
pub const STALL_EVENTS: u64 = 1_000_000;

/// Work (events and calls made) at one instant, per event of the stall
/// threshold, after which the run stops as a zero-time loop: a loop whose
/// turns each fan out 10,000 calls stops after 1,000 turns, not 10^6. A
/// real burst stays far below: 1,000 users waking together, each request
/// fanning out 1,000 calls, is 10^6 calls.
const STALL_WORK_PER_EVENT: u64 = 10;

/// The last events of a stall are tallied by (event, node) to name the loop.
const TALLY_EVENTS: u64 = 4096;

/// Requests (live calls between nodes) the simulated system may hold at
/// once, by default. A request costs the host about 300 bytes (its call,
/// its job, its place in a queue), so a million take about 300 MB: room in
/// a browser tab. The CLI's `--max-in-flight` changes it.
pub const DEFAULT_MAX_IN_FLIGHT: u64 = 1_000_000;

/// Host bytes a request of the budget stands for: the latency histograms
/// may take as many bytes as the budget's requests would (300 MB by
/// default).
const BYTES_PER_REQUEST: u64 = 300;

/// The least the statistics may take, however small the in-flight budget
/// (a budget of 50 requests bounds a queue, not the histograms).
const MIN_STATISTICS_BYTES: u64 = 1 << 20;

/// Bytes the latency histograms may take under a budget of `requests`.
fn statistics_budget(requests: u64) -> u64 {
    requests
        .saturating_mul(BYTES_PER_REQUEST)
        .max(MIN_STATISTICS_BYTES)
}

/// A size in words: "850 KB", "323 MB".
fn size(bytes: u64) -> String {
    if bytes < 1_000_000 {
        format!("{:.0} KB", bytes as f64 / 1e3)
    } else {
        format!("{:.0} MB", bytes as f64 / 1e6)
    }
}

/// Messages waiting in brokers, per request of the budget: a message is a
/// few dozen bytes, an eighth of a request.
const MESSAGES_PER_REQUEST: u64 = 8;

/// Events between two checks of the brokers' backlogs against the budget
/// (a pass over the nodes); requests are checked at every event.
const BUDGET_EVERY: u64 = 4096;

/// Why a run stopped before its end.
#[derive(Clone, Debug, PartialEq)]
pub enum RunError {
    /// Simulated time stopped advancing.
    Stalled(Stall),
    /// The simulated system holds more requests than the budget allows.
    OverBudget(OverBudget),
    /// The run's latency statistics outgrew the budget.
    StatisticsOverBudget(StatisticsOverBudget),
}

/// The latency histograms take more host memory than the budget allows.
#[derive(Clone, Debug, PartialEq)]
pub struct StatisticsOverBudget {
    pub at: Time,
    pub seed: u64,
    /// Bytes the histograms hold, and the budget's.
    pub bytes: u64,
    pub limit: u64,
    /// Nodes that hold a histogram.
    pub nodes: usize,
    /// The node whose histograms are largest, and their bytes.
    pub node: String,
    pub node_bytes: u64,
}

/// A zero-time loop: what repeated, where, when.
#[derive(Clone, Debug, PartialEq)]
pub struct Stall {
    /// The instant the clock stood still at.
    pub at: Time,
    /// Events in a row at that instant, and the calls they made.
    pub events: u64,
    pub calls: u64,
    pub seed: u64,
    /// What the last events were, most frequent first.
    pub looping: Vec<LoopSite>,
}

/// One kind of event that repeats in a stall, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct LoopSite {
    /// The event (`response`, `retry`, `consumer wakes`, ...).
    pub event: &'static str,
    /// The node (or the call `caller -> callee`) it happens at.
    pub at: String,
    /// How many of the last few thousand events were this one.
    pub count: u64,
}

/// The simulated system outgrew its budget.
#[derive(Clone, Debug, PartialEq)]
pub struct OverBudget {
    pub at: Time,
    pub seed: u64,
    /// Requests in flight (live calls).
    pub requests: u64,
    /// Messages waiting in brokers.
    pub messages: u64,
    /// The budget, in requests.
    pub limit: u64,
    /// The node holding the most, what it holds and how many.
    pub node: String,
    pub holds: &'static str,
    pub node_held: u64,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Stalled(s) => {
                write!(
                    f,
                    "simulated time stopped advancing at t = {} s: {} events in a row at that \
                     instant, making {} calls (seed {}). What repeats: ",
                    ns_to_secs(s.at),
                    s.events,
                    s.calls,
                    s.seed
                )?;
                for (i, l) in s.looping.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{} at {} ({} times)", l.event, l.at, l.count)?;
                }
                write!(
                    f,
                    ". Something in this loop takes no simulated time (a zero delay, think time, \
                     timeout, backoff or service time): give it a duration"
                )
            }
            RunError::OverBudget(o) => write!(
                f,
                "the simulated system holds {} requests in flight and {} queued messages at \
                 t = {} s (seed {}), over its budget of {} requests (node {} holds {} in its {}): \
                 it receives more work than it finishes and nothing bounds the backlog. Bound the \
                 queue (queue capacity), shed or limit load, or add capacity; a larger budget \
                 only delays this (the CLI's --max-in-flight)",
                o.requests,
                o.messages,
                ns_to_secs(o.at),
                o.seed,
                o.limit,
                o.node,
                o.node_held,
                o.holds
            ),
            RunError::StatisticsOverBudget(o) => write!(
                f,
                "the run's latency statistics take {} at t = {} s (seed {}), over their \
                 budget of {}: {} nodes record latencies (node {} holds {}). A \
                 histogram grows with the spread of the latencies it records (every \
                 tenfold adds about 30 KB), so thousands of nodes whose latencies span \
                 microseconds to minutes outgrow a browser tab. Use fewer nodes, or a larger \
                 budget (the CLI's --max-in-flight)",
                size(o.bytes),
                ns_to_secs(o.at),
                o.seed,
                size(o.limit),
                o.nodes,
                o.node,
                size(o.node_bytes)
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// The guards' state.
pub(crate) struct Guard {
    /// The instant of the last event, and how many events in a row came at it.
    still_at: Time,
    still: u64,
    /// Work done when the clock reached `still_at`.
    still_from: u64,
    /// (event, node, callee or NONE, count) of the last events of a stall.
    tally: Vec<(&'static str, u32, u32, u64)>,
    stall_events: u64,
    max_in_flight: u64,
    halted: Option<RunError>,
}

impl Guard {
    /// Work at one instant that makes a stall.
    fn stall_work(&self) -> u64 {
        self.stall_events.saturating_mul(STALL_WORK_PER_EVENT)
    }
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            still_at: 0,
            still: 0,
            still_from: 0,
            tally: Vec::new(),
            stall_events: STALL_EVENTS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            halted: None,
        }
    }
}

const NONE: u32 = u32::MAX;

impl Sim {
    /// Sets the budget of requests in flight (at least 1).
    pub fn set_max_in_flight(&mut self, requests: u64) {
        self.guard.max_in_flight = requests.max(1);
    }

    /// Sets how many events in a row at one instant make a stall (at least
    /// 2; the default is [`STALL_EVENTS`]); ten times as much work (events
    /// and calls) at one instant does too.
    pub fn set_stall_events(&mut self, events: u64) {
        self.guard.stall_events = events.max(2);
    }

    /// Why the run stopped early, if it did.
    pub fn halted(&self) -> Option<&RunError> {
        self.guard.halted.as_ref()
    }

    /// The error of a stopped run.
    #[inline(always)]
    pub(super) fn check_halted(&self) -> Result<(), RunError> {
        match &self.guard.halted {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        }
    }

    /// Checks an event popped at `t`, before it is handled.
    #[inline(always)]
    pub(super) fn guard_event(&mut self, t: Time, ev: &Event) -> Result<(), RunError> {
        let work = self.work();
        let g = &mut self.guard;
        if t != g.still_at {
            g.still_at = t;
            g.still = 0;
            g.still_from = work;
            if !g.tally.is_empty() {
                g.tally.clear();
            }
        } else {
            g.still += 1;
            if g.still >= g.stall_events.saturating_sub(TALLY_EVENTS)
                || work - g.still_from >= g.stall_work().saturating_sub(g.stall_work() / 10)
            {
                self.tally(ev, work)?;
            }
        }
        // Requests every event (one load and a compare: an event can start
        // a fan-out of 10^5, the work estimate's bound), brokers' backlogs
        // now and then (a pass over the nodes).
        if self.calls.held() as u64 > self.guard.max_in_flight || self.events % BUDGET_EVERY == 0 {
            self.check_budget()?;
        }
        Ok(())
    }

    #[cold]
    fn tally(&mut self, ev: &Event, work: u64) -> Result<(), RunError> {
        let (event, node, peer) = self.event_site(ev);
        let tally = &mut self.guard.tally;
        match tally
            .iter_mut()
            .find(|s| (s.0, s.1, s.2) == (event, node, peer))
        {
            Some(s) => s.3 += 1,
            None => tally.push((event, node, peer, 1)),
        }
        let g = &self.guard;
        if g.still < g.stall_events && work - g.still_from < g.stall_work() {
            return Ok(());
        }
        let mut sites = std::mem::take(&mut self.guard.tally);
        sites.sort_by(|a, b| b.3.cmp(&a.3).then(a.0.cmp(b.0)).then(a.1.cmp(&b.1)));
        let name = |n: u32| match self.cfg.nodes.get(n as usize) {
            Some(c) => c.name.clone(),
            None => "the run".to_string(),
        };
        let looping = sites
            .iter()
            .take(6)
            .map(|&(event, node, peer, count)| LoopSite {
                event,
                at: if peer == NONE {
                    name(node)
                } else {
                    format!("{} -> {}", name(node), name(peer))
                },
                count,
            })
            .collect();
        let err = RunError::Stalled(Stall {
            at: self.guard.still_at,
            events: self.guard.still,
            calls: work - self.guard.still_from - self.guard.still,
            seed: self.cfg.seed,
            looping,
        });
        self.guard.halted = Some(err.clone());
        Err(err)
    }

    /// (event name, node, callee or NONE) of an event.
    fn event_site(&self, ev: &Event) -> (&'static str, u32, u32) {
        let job = |r| self.jobs.get(r).map_or(NONE, |j| j.node);
        let call = |r| match self.calls.get(r) {
            Some(c) => {
                let e = &self.cfg.edges[c.edge as usize];
                (e.from, e.to)
            }
            None => (NONE, NONE),
        };
        let on_call = |name, r| {
            let (a, b) = call(r);
            (name, a, b)
        };
        match *ev {
            Event::Warmup => ("warm-up end", NONE, NONE),
            Event::Window => ("window close", NONE, NONE),
            Event::Arrival { src, .. } => ("arrival", src, NONE),
            Event::UserWake { src, .. } => ("user wakes", src, NONE),
            Event::Deliver { job: j } => ("delivery", job(j), NONE),
            Event::ComputeDone { job: j } => ("compute done", job(j), NONE),
            Event::Continue { job: j } => ("continuation", job(j), NONE),
            Event::Expire { job: j } => ("expired drop", job(j), NONE),
            Event::Admit { job: j } => ("rate-limit admit", job(j), NONE),
            Event::Respond { call: c, .. } => on_call("response", c),
            Event::AttemptTimeout { call: c, .. } => on_call("timeout", c),
            Event::RetryFire { call: c } => on_call("retry", c),
            Event::HedgeFire { call: c } => on_call("hedge", c),
            Event::PoolTimeout { call: c, .. } => on_call("pool timeout", c),
            Event::FallbackDone { call: c } => on_call("fallback", c),
            Event::Fault { .. } => ("fault", NONE, NONE),
            Event::ReplicaUp { node, .. } => ("replica up", node, NONE),
            Event::Autoscale { node } => ("autoscaler tick", node, NONE),
            Event::InstanceIdle { node, .. } => ("serverless idle check", node, NONE),
            Event::ConsumerWake { node, .. } => ("consumer wakes", node, NONE),
            Event::ConsumerDone { node, .. } => ("message done", node, NONE),
            Event::LinkDone { .. } => ("link transfer done", NONE, NONE),
        }
    }

    /// Stops the run if the simulated system holds more than its budget,
    /// or its statistics take more memory.
    fn check_budget(&mut self) -> Result<(), RunError> {
        let requests = self.calls.held() as u64;
        let limit = self.guard.max_in_flight;
        let (mut messages, mut bytes) = (0u64, self.stats.stats_bytes() as u64);
        for n in &self.nodes {
            bytes += n.stats_bytes() as u64;
            if let BodyState::Broker(b) = &n.body {
                messages += b.backlog();
            }
        }
        // What the simulated system holds is named first: it is the cause
        // a scenario can act on.
        if requests > limit || messages / MESSAGES_PER_REQUEST > limit {
            return self.over_budget(requests, messages);
        }
        if bytes > statistics_budget(limit) {
            return self.statistics_over_budget(bytes);
        }
        Ok(())
    }

    #[cold]
    fn statistics_over_budget(&mut self, bytes: u64) -> Result<(), RunError> {
        let sizes = self.nodes.iter().map(|n| n.stats_bytes() as u64);
        let (mut worst, mut nodes) = ((0, 0u64), 0);
        for (i, b) in sizes.enumerate() {
            nodes += usize::from(b > 0);
            if b > worst.1 {
                worst = (i, b);
            }
        }
        let err = RunError::StatisticsOverBudget(StatisticsOverBudget {
            at: self.cal.now(),
            seed: self.cfg.seed,
            bytes,
            limit: statistics_budget(self.guard.max_in_flight),
            nodes,
            node: if worst.1 > 0 {
                self.cfg.nodes[worst.0].name.clone()
            } else {
                "(end to end)".to_string()
            },
            node_bytes: worst.1,
        });
        self.guard.halted = Some(err.clone());
        Err(err)
    }

    #[cold]
    fn over_budget(&mut self, requests: u64, messages: u64) -> Result<(), RunError> {
        let mut worst = (0, "queue", 0u64);
        for (i, n) in self.nodes.iter().enumerate() {
            let (holds, held) = match &n.body {
                BodyState::Broker(b) => ("backlog", b.backlog() / MESSAGES_PER_REQUEST),
                _ => ("queue", n.stations.iter().map(|s| s.in_system()).sum()),
            };
            if held > worst.2 {
                worst = (i, holds, held);
            }
        }
        let (i, holds, _) = worst;
        let node_held = match &self.nodes[i].body {
            BodyState::Broker(b) => b.backlog(),
            _ => worst.2,
        };
        let err = RunError::OverBudget(OverBudget {
            at: self.cal.now(),
            seed: self.cfg.seed,
            requests,
            messages,
            limit: self.guard.max_in_flight,
            node: self.cfg.nodes[i].name.clone(),
            holds,
            node_held,
        });
        self.guard.halted = Some(err.clone());
        Err(err)
    }
}
