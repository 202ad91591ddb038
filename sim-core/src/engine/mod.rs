//! The engine: a scenario lowered to a configuration, driven by the event
//! calendar over state that each module owns.
//!
//! # A request's life
//! A source issues a *call* along an *edge*. Each attempt of the call
//! (first try, retries, hedges) creates a *job* at a *station* (one replica
//! of the callee) after the edge's hop. The job waits for a worker, then runs
//! its node's program: compute steps, nested calls (holding the worker, or
//! releasing it on an event loop), cache lookups, locks, loops. When done it
//! frees the worker and its answer travels back. The call resolves on the
//! first good answer, or fails once retries, fallbacks and budgets are
//! exhausted. Zero-latency hops are delivered without an event (in the same
//! instant); everything else goes through the calendar. There is no notion
//! of an "anti-pattern" here, only mechanisms and their parameters.
//!
//! # How the code is cut
//! - Configuration (`config.rs`, built by `build.rs`) is immutable and
//!   shared; a live reconfiguration builds a new one and migrates the state
//!   (`reconfig.rs`).
//! - State lives in leaf modules that own it behind methods and never call
//!   each other: `station` (a replica's workers, queue, levels, pools),
//!   `node` (per-node counters, rate limiter, autoscaler), `call` and `job`
//!   (request records), `source`, `database`, `cache_node`, `broker`,
//!   `balancer`, `locks`, `edge`, `streams`, `stats`, `trace`, `alerts`.
//! - Control flow lives in the files that `impl Sim`: `calling` (a call's
//!   life), `serving` (a job's life at a station), `data_flow` (database,
//!   cache and broker jobs), `ops` (faults, lifecycle, autoscaling: the
//!   control plane), `serverless` (instances started on demand, cold
//!   starts, idle reclaim), `observe` (warm-up, windows, report, snapshot). They
//!   ask leaves what to do and route the answers; a leaf's answer is a value
//!   (a verdict, the next job to start), never a call into another leaf.

mod alerts;
mod answering;
mod balancer;
mod broker;
mod build;
mod cache_node;
mod call;
mod calling;
mod config;
mod data_flow;
mod database;
mod draw;
mod edge;
mod event;
mod guard;
mod ids;
mod issuing;
mod job;
mod link;
mod locks;
mod networking;
mod node;
mod observe;
mod ops;
mod program;
mod reconfig;
mod routing;
mod serverless;
mod serving;
mod source;
mod station;
mod stats;
mod streams;
mod trace;

use crate::calendar::{ns_to_secs, secs_to_ns, Calendar, Time};
use crate::report::SpanKind;
use crate::scenario::{Scenario, ScenarioError};
use std::sync::Arc;

use call::Calls;
use config::Config;
use edge::EdgeState;
use event::Event;
use job::{Attrs, Jobs};
use locks::{KeySpaces, Locks};
use node::NodeState;
use ops::FaultRt;
use stats::Stats;
use streams::Streams;
use trace::{SpanAt, Tracer};

pub use guard::{
    LoopSite, OverBudget, RunError, Stall, StatisticsOverBudget, DEFAULT_MAX_IN_FLIGHT,
    STALL_EVENTS,
};
pub use ids::Outcome;
pub use observe::{E2eSnapshot, EdgeSnapshot, NodeSnapshot, Snapshot, Topology};
pub use ops::FaultError;
pub use reconfig::Reconfigured;

/// A running simulation.
pub struct Sim {
    cfg: Arc<Config>,
    cal: Calendar<Event>,
    events: u64,
    streams: Streams,
    nodes: Vec<NodeState>,
    edges: Vec<EdgeState>,
    calls: Calls,
    jobs: Jobs,
    spaces: KeySpaces,
    locks: Locks,
    /// Scheduled faults, then injected ones.
    faults: Vec<FaultRt>,
    stats: Stats,
    /// Alert rules' state (`alerts.rs`).
    alerts: alerts::Alerts,
    tracer: Tracer,
    /// Shared links, by index.
    links: Vec<link::LinkState>,
    /// Scratch space for routing candidates (no allocation per request).
    cands: Vec<balancer::Candidate>,
    /// Progress and the in-flight budget (`guard.rs`).
    guard: guard::Guard,
    /// Same-instant steps and deliveries open on the stack now (bounded by
    /// [`event::MAX_NESTING`]).
    nesting: u32,
}

impl Sim {
    /// Lowers a validated scenario. `seed` is the root seed of every random
    /// stream (pass `scenario.seed` for the file's own).
    pub fn new(sc: &Scenario, seed: u64) -> Result<Sim, ScenarioError> {
        let cfg = build::build(sc, seed)?;
        Ok(Sim::begin(cfg))
    }

    /// The simulated clock in nanoseconds.
    pub fn now(&self) -> Time {
        self.cal.now()
    }

    /// The simulated clock in seconds.
    pub fn now_s(&self) -> f64 {
        ns_to_secs(self.cal.now())
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The root seed.
    pub fn seed(&self) -> u64 {
        self.cfg.seed
    }

    /// Processes the next event; returns its time, or `None` when nothing is
    /// scheduled. An error stops the run for good ([`RunError`]).
    pub fn step(&mut self) -> Result<Option<Time>, RunError> {
        self.check_halted()?;
        let Some((t, ev)) = self.cal.pop() else {
            return Ok(None);
        };
        self.events += 1;
        self.guard_event(t, &ev)?;
        self.handle(ev);
        Ok(Some(t))
    }

    /// Processes every event at or before `t`, then sets the clock to `t`.
    /// An error stops the run for good, at the instant it was found.
    pub fn run_until(&mut self, t: Time) -> Result<(), RunError> {
        self.check_halted()?;
        while let Some((at, ev)) = self.cal.pop_until(t) {
            self.events += 1;
            self.guard_event(at, &ev)?;
            self.handle(ev);
        }
        self.cal.advance_to(t);
        Ok(())
    }

    /// The work done so far: events handled plus calls made. An event can
    /// make many calls at once (a fan-out of 10,000 queries is one event),
    /// so a bound on work, not on events, bounds the CPU time a slice of a
    /// run takes.
    pub fn work(&self) -> u64 {
        self.events + self.calls.made()
    }

    /// Like [`Sim::run_until`] but stops once `max_work` units of work
    /// ([`Sim::work`]) are done (the event that passes the bound finishes).
    /// Returns true if the clock reached `t`.
    pub fn run_until_bounded(&mut self, t: Time, max_work: u64) -> Result<bool, RunError> {
        self.check_halted()?;
        let until = self.work().saturating_add(max_work);
        while let Some(next) = self.cal.peek_time() {
            if next > t {
                break;
            }
            if self.work() >= until {
                return Ok(false);
            }
            self.step()?;
        }
        self.cal.advance_to(t);
        Ok(true)
    }

    /// Runs to `duration_s` seconds from the start and returns the report.
    pub fn run_for(&mut self, duration_s: f64) -> Result<crate::report::Report, RunError> {
        self.run_until(secs_to_ns(duration_s))?;
        Ok(self.report())
    }

    /// Widens the time-series window so a run of `duration_s` keeps about
    /// 1000 windows (never narrower than the scenario's own), as the CLI and
    /// the benchmarks do. Call before the run starts.
    pub fn auto_window(&mut self, duration_s: f64) {
        let w = (duration_s / 1000.0).max(ns_to_secs(self.cfg.window));
        let keep = self.cfg.max_windows.max(1000);
        self.set_window(w, keep);
    }

    /// Overrides the time-series window before the run starts (the CLI keeps
    /// about 1000 windows over a long run).
    pub fn set_window(&mut self, window_s: f64, max_windows: usize) {
        assert_eq!(self.cal.now(), 0, "set_window is for the start of a run");
        let cfg = Arc::get_mut(&mut self.cfg).expect("the configuration is not shared yet");
        cfg.window = secs_to_ns(window_s).max(1);
        cfg.max_windows = max_windows.max(1);
        let mut old = std::mem::take(&mut self.cal);
        let mut kept = Vec::new();
        while let Some((t, e)) = old.pop() {
            if !matches!(e, Event::Window) {
                kept.push((t, e));
            }
        }
        for (t, e) in kept {
            self.cal.schedule(t, e);
        }
        self.cal.schedule(self.cfg.window, Event::Window);
    }

    /// The one dispatch of events to the request path and the control plane.
    #[inline(always)]
    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Warmup => self.on_warmup(),
            Event::Window => self.on_window(),
            Event::Arrival { src, gen } => self.on_arrival(src, gen),
            Event::UserWake { src, user } => self.on_user_wake(src, user),
            Event::Deliver { job } => {
                if self.jobs.get(job).is_some() {
                    self.arrive(job)
                }
            }
            Event::ComputeDone { job } | Event::Continue { job } => self.on_compute_done(job),
            Event::Expire { job } => self.expire(job),
            Event::Admit { job } => {
                if self.jobs.get(job).is_some() {
                    self.admit(job)
                }
            }
            Event::Respond {
                call,
                attempt,
                outcome,
                from,
            } => self.on_response(call, attempt, outcome, from),
            Event::AttemptTimeout { call, attempt } => self.on_attempt_timeout(call, attempt),
            Event::RetryFire { call } => self.on_retry_fire(call),
            Event::HedgeFire { call } => self.on_hedge(call),
            Event::PoolTimeout { call, attempt } => self.on_pool_timeout(call, attempt),
            Event::FallbackDone { call } => self.on_fallback_done(call),
            Event::Fault { idx, start } => self.on_fault(idx, start),
            Event::ReplicaUp { node, rep, gen } => self.on_replica_up(node, rep, gen),
            Event::Autoscale { node } => self.on_autoscale(node),
            Event::InstanceIdle { node, rep } => self.on_instance_idle(node, rep),
            Event::ConsumerWake { node, consumer } => self.consumer_poll(node, consumer),
            Event::ConsumerDone { node, consumer } => self.consumer_done(node, consumer, true),
            Event::LinkDone { link, gen } => self.on_link_done(link, gen),
        }
    }

    /// Records a span of a traced request (nothing for untraced ones).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        attrs: &Attrs,
        kind: SpanKind,
        node: u32,
        attempt: u8,
        start: Time,
        end: Time,
        outcome: Option<Outcome>,
    ) {
        if attrs.trace.is_none() {
            return;
        }
        let at = SpanAt {
            trace: attrs.trace,
            node,
            depth: attrs.depth,
            attempt,
        };
        self.tracer.span(at, kind, start, end, outcome);
    }
}
#[cfg(test)]
mod tests;
