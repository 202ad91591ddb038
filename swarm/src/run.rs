//! One run of a scenario under a plan: live actions at their instants,
//! observations (conservation, snapshot, windows) at others, watched for
//! stalls, memory and its event budget.
//!
//! The first run of a case decides where every run stops: at the horizon,
//! or at the instant its event budget ran out. Later runs stop at the same
//! instant, so their reports must be byte-identical to the first one's.

use crate::case::{Action, Op};
use crate::memory;
use crate::verdict::{non_finite, Failure, Kind};
use sim_core::spec::FaultSpec;
use sim_core::{Scenario, Sim, Snapshot, Time};

/// Budgets of one run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Work (events handled and calls made, `Sim::work`) one run may do
    /// before it stops (not a failure). Work, not events: one event may
    /// make thousands of calls (a fan-out refused at once), and the budget
    /// must bound the CPU a case takes.
    pub max_work: u64,
    /// Events at one simulated instant that make a stall.
    pub stall_events: u64,
    /// Live heap bytes that make a `memory` failure.
    pub soft_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_work: 120_000,
            stall_events: 100_000,
            soft_bytes: 1 << 30,
        }
    }
}

const CHUNK: u64 = 20_000;

/// Seconds to nanoseconds, saturating (the harness's own conversion: an
/// overflow found must be the engine's, not ours).
pub fn ns(s: f64) -> Time {
    if s.is_nan() || s <= 0.0 {
        0
    } else if s * 1e9 >= u64::MAX as f64 {
        u64::MAX
    } else {
        (s * 1e9).round() as Time
    }
}

/// What happens at one instant of a run.
#[derive(Clone, Debug)]
pub enum Point {
    Act(usize),
    Observe,
    /// Reconfigure to the running scenario itself.
    Same,
}

/// What a finished run leaves.
pub struct Ran {
    pub json: String,
    pub stop: Time,
    pub events: u64,
    /// Events handled and calls made (`Sim::work`).
    pub work: u64,
    /// Per action of the plan: applied (true) or refused.
    pub applied: Vec<bool>,
    /// Messages of refused actions (checked for naming a field).
    pub refusals: Vec<sim_core::ScenarioError>,
    pub arrived: u64,
    pub finished: u64,
    pub budget_hit: bool,
    /// The engine's message, if it stopped the run.
    pub halted: Option<String>,
    pub report: Option<sim_core::Report>,
}

/// A run in progress.
pub struct Runner<'a> {
    pub sim: Sim,
    pub limits: Limits,
    /// Where to stop: None for the first run (it decides).
    pub stop: Option<Time>,
    pub actions: &'a [Action],
    pub current: Scenario,
    pub applied: Vec<bool>,
    pub refusals: Vec<sim_core::ScenarioError>,
    pub budget_hit: bool,
    /// The engine stopped the run (a zero-time loop, the in-flight budget):
    /// its message.
    pub halted: Option<String>,
}

impl<'a> Runner<'a> {
    pub fn new(
        sc: &Scenario,
        seed: u64,
        actions: &'a [Action],
        limits: Limits,
        stop: Option<Time>,
    ) -> Result<Runner<'a>, Failure> {
        crate::phase("Sim::new");
        let mut sim = Sim::new(sc, seed).map_err(|e| {
            Failure::new(
                Kind::Build,
                e.path.clone(),
                format!("Sim::new refused a validated scenario: {e}"),
            )
        })?;
        // The engine's own progress guard fires at the harness's threshold,
        // so a zero-time loop ends with the engine's message, as it would
        // in the CLI or the page.
        sim.set_stall_events(limits.stall_events);
        Ok(Runner {
            sim,
            limits,
            stop,
            actions,
            current: sc.clone(),
            applied: vec![false; actions.len()],
            refusals: Vec::new(),
            budget_hit: false,
            halted: None,
        })
    }

    /// Runs to `t` (or to the stop instant, whichever is first). Returns
    /// false once the run is over.
    pub fn advance(&mut self, t: Time) -> Result<bool, Failure> {
        crate::phase("run");
        match self.stop {
            Some(stop) => {
                let target = t.min(stop);
                let room = self
                    .limits
                    .max_work
                    .saturating_mul(2)
                    .saturating_sub(self.sim.work());
                let reached = match self.sim.run_until_bounded(target, room) {
                    Ok(reached) => reached,
                    Err(e) => return self.halt(e),
                };
                if !reached {
                    return Err(Failure::new(
                        Kind::Nondeterminism,
                        "a repeated run needs more work",
                        format!("a repeated run did {} units of work before t = {target} ns, where the first stopped", self.sim.work()),
                    ));
                }
                Ok(t <= stop)
            }
            None => self.advance_first(t),
        }
    }

    /// The first run: in chunks, watching for stalls, memory and budget.
    fn advance_first(&mut self, t: Time) -> Result<bool, Failure> {
        let mut still = self.sim.now();
        let mut from = (self.sim.events(), self.sim.work());
        loop {
            let reached = match self.sim.run_until_bounded(t, CHUNK) {
                Ok(reached) => reached,
                Err(e) => return self.halt(e),
            };
            let now = self.sim.now();
            if now != still {
                still = now;
                from = (self.sim.events(), self.sim.work());
            } else if self.past_backstop(from) {
                return Err(self.stall());
            }
            if memory::live() > self.limits.soft_bytes {
                return Err(self.memory());
            }
            if reached {
                return Ok(true);
            }
            if self.sim.work() >= self.limits.max_work {
                // Finish this instant, then stop here.
                let stop = self.sim.now();
                let from = (self.sim.events(), self.sim.work());
                loop {
                    match self.sim.run_until_bounded(stop, CHUNK) {
                        Ok(true) => break,
                        Ok(false) if self.past_backstop(from) => return Err(self.stall()),
                        Ok(false) => {}
                        Err(e) => return self.halt(e),
                    }
                }
                self.stop = Some(stop);
                self.budget_hit = true;
                return Ok(false);
            }
        }
    }

    /// The engine stopped the run with an error: the run ends there (a
    /// repeated run must stop at the same instant). The message must say
    /// what happened and give the seed.
    fn halt(&mut self, e: sim_core::RunError) -> Result<bool, Failure> {
        let msg = e.to_string();
        if !msg.contains("seed") {
            return Err(Failure::new(
                Kind::Message,
                "a run error without its seed",
                msg,
            ));
        }
        let now = self.sim.now();
        match self.stop {
            Some(stop) if stop != now => Err(Failure::new(
                Kind::Nondeterminism,
                "a repeated run stopped elsewhere",
                format!("a repeated run stopped at t = {now} ns, the first at {stop} ns: {msg}"),
            )),
            _ => {
                self.stop = Some(now);
                self.halted = Some(msg);
                Ok(false)
            }
        }
    }

    /// Events at one instant after which the harness calls a stall itself:
    /// twice the engine's own threshold, so that a zero-time loop ends with
    /// the engine's message (as in the CLI or the page) and the harness only
    /// catches a guard that failed to fire. At the same threshold the two
    /// raced: an instant that began as the harness started counting reached
    /// its count one event before the engine's (found by the swarm: a
    /// closed loop with zero think time against a restarting service).
    fn backstop(&self) -> u64 {
        self.limits.stall_events.saturating_mul(2)
    }

    /// Since `from` (events, work) at this instant, past the backstop: in
    /// events, or in work at ten times it (as the engine's guard counts).
    fn past_backstop(&self, from: (u64, u64)) -> bool {
        self.sim.events() - from.0 >= self.backstop()
            || self.sim.work() - from.1 >= self.backstop().saturating_mul(10)
    }

    fn stall(&self) -> Failure {
        let snap = self.sim.snapshot();
        let busy: Vec<String> = snap
            .nodes
            .iter()
            .filter(|n| n.in_flight > 0 || n.queue_len > 0 || n.backlog.unwrap_or(0) > 0)
            .map(|n| {
                format!(
                    "{} ({}: {} in flight, {} queued)",
                    n.name, n.kind, n.in_flight, n.queue_len
                )
            })
            .collect();
        Failure::new(
            Kind::Stall,
            "simulated time stopped advancing",
            format!(
                "{} events at t = {} s without the clock moving; busy nodes: {}",
                self.backstop(),
                self.sim.now_s(),
                if busy.is_empty() {
                    "none".into()
                } else {
                    busy.join(", ")
                }
            ),
        )
    }

    fn memory(&self) -> Failure {
        let snap = self.sim.snapshot();
        let mut held: Vec<(u64, String)> = snap
            .nodes
            .iter()
            .map(|n| {
                (
                    n.in_flight + n.queue_len + n.backlog.unwrap_or(0),
                    n.name.clone(),
                )
            })
            .collect();
        held.sort();
        let top: Vec<String> = held
            .iter()
            .rev()
            .take(3)
            .map(|(n, name)| format!("{name} holds {n}"))
            .collect();
        Failure::new(
            Kind::Memory,
            "the heap outgrew the soft budget",
            format!(
                "{} MB live at t = {} s after {} events ({}); end to end {} in flight",
                memory::live() >> 20,
                self.sim.now_s(),
                self.sim.events(),
                top.join(", "),
                snap.end_to_end.in_flight
            ),
        )
    }

    /// Applies action `i` of the plan.
    pub fn act(&mut self, i: usize) -> Result<(), Failure> {
        match &self.actions[i].op {
            Op::Fault(v) => {
                crate::phase("inject_fault");
                let Ok(f) = serde_json::from_value::<FaultSpec>(v.clone()) else {
                    return Ok(());
                };
                match self.sim.inject_fault(f) {
                    Ok(()) => self.applied[i] = true,
                    Err(e) => self
                        .refusals
                        .push(sim_core::ScenarioError::new("fault", e.0)),
                }
            }
            Op::Reconfigure(doc) => {
                crate::phase("Scenario::from_value (reconfiguration)");
                let sc = match Scenario::from_value(doc) {
                    Ok(sc) => sc,
                    Err(e) => {
                        self.refusals.push(e);
                        return Ok(());
                    }
                };
                crate::phase("Sim::reconfigure");
                match self.sim.reconfigure(&sc) {
                    Ok(_) => {
                        self.applied[i] = true;
                        self.current = sc;
                    }
                    Err(e) => self.refusals.push(e),
                }
            }
        }
        Ok(())
    }

    /// Reconfigures to the running scenario: must be accepted.
    pub fn same(&mut self) -> Result<(), Failure> {
        crate::phase("Sim::reconfigure (same scenario)");
        let sc = self.current.clone();
        self.sim.reconfigure(&sc).map(|_| ()).map_err(|e| {
            Failure::new(
                Kind::ReconfigureSame,
                generalise_err(&e),
                format!("reconfiguring to the running scenario was refused: {e}"),
            )
        })
    }

    /// Conservation, a snapshot and the windows, checked.
    pub fn observe(&mut self) -> Result<(), Failure> {
        crate::phase("conservation/snapshot");
        let c = self.sim.conservation();
        if !c.ok {
            return Err(conservation(&c.violations, self.sim.now_s()));
        }
        let snap = self.sim.snapshot();
        let json = serde_json::to_string(&snap).unwrap_or_default();
        if let Some(f) = non_finite::<Snapshot>("snapshot", &json) {
            return Err(f);
        }
        let _ = self.sim.windows_after(self.sim.now_s() / 2.0, 10);
        Ok(())
    }

    /// The end: the report, checked.
    pub fn finish(mut self) -> Result<Ran, Failure> {
        crate::phase("report");
        let stop = self.stop.unwrap_or(self.sim.now());
        self.observe()?;
        let report = self.sim.report();
        if !report.conservation.ok {
            return Err(conservation(
                &report.conservation.violations,
                report.sim_time_s,
            ));
        }
        let e = &report.end_to_end;
        Ok(Ran {
            json: report.to_json(),
            stop,
            events: self.sim.events(),
            work: self.sim.work(),
            applied: self.applied,
            refusals: self.refusals,
            arrived: e.arrived,
            finished: e.completed + e.failed + e.rejected,
            budget_hit: self.budget_hit,
            halted: self.halted,
            report: Some(report),
        })
    }
}

fn generalise_err(e: &sim_core::ScenarioError) -> String {
    crate::verdict::generalise(&e.path)
}

fn conservation(violations: &[String], t: f64) -> Failure {
    let first = violations.first().cloned().unwrap_or_default();
    let sig: String = first
        .split(':')
        .nth(1)
        .unwrap_or(&first)
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    Failure::new(
        Kind::Conservation,
        crate::verdict::generalise(&sig),
        format!("at t = {t} s: {}", violations.join("; ")),
    )
}
