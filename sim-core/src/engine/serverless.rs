//! A serverless function's instances: a request that finds no warm
//! instance free starts one (a cold start) and waits for it; an instance
//! idle for the idle timeout is reclaimed, down to the warm minimum.
//!
//! Instances are the node's stations, each with `workers` concurrency (1
//! for AWS Lambda). Routing packs requests onto the first free warm
//! instance in slot order, as the platforms reuse warm instances, so the
//! instances the load no longer needs go idle and are reclaimed. A request
//! claims its instance when it is routed: until it arrives (its hop, and
//! the cold start for a new instance) no other request is routed to that
//! worker and the instance is not idle. At `max` live instances (crashed
//! ones do not count) a request waits in the least busy warm instance's
//! queue (the node's queue capacity applies); with none warm yet it fails
//! (throttled). Faults act on instances that exist (up, draining or down),
//! never on empty or starting slots; a `scale` fault does not apply.
//!
//! Invariant: at most one idle check is pending per instance (the
//! station's `idle_check` flag), so pending events stay bounded by
//! `max` whatever the request rate.

use super::event::Event;
use super::station::{Lifecycle, Station};
use super::Sim;
use crate::calendar::Time;

impl Sim {
    /// Where a request to serverless node `to` goes: (node, instance, the
    /// wait for its cold start), or `None` when throttled.
    pub(super) fn route_serverless(&mut self, to: u32) -> Option<(u32, u32, Time)> {
        let ti = to as usize;
        let ncfg = &self.cfg.nodes[ti];
        let f = ncfg.serverless.expect("a serverless node");
        let concurrency = ncfg.workers as u64;
        let stations = &self.nodes[ti].stations;
        let free = stations
            .iter()
            .position(|s| s.is_up() && s.claimed() < concurrency);
        // Crashed instances do not count: the platform replaces them.
        let live = stations
            .iter()
            .filter(|s| !matches!(s.life(), Lifecycle::Retired | Lifecycle::Down))
            .count() as u32;
        let (ri, wait) = if let Some(r) = free {
            (r, 0)
        } else if live < f.max {
            if self.now() >= self.cfg.warmup {
                self.nodes[ti].cold_starts += 1;
            }
            (self.start_instance(ti, f.cold_start), f.cold_start)
        } else {
            // At the limit: the least busy warm instance's queue.
            let (r, _) = stations
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_up())
                .min_by_key(|(_, s)| s.claimed())?;
            (r, 0)
        };
        self.nodes[ti].stations[ri].expect_arrival();
        Some((to, ri as u32, wait))
    }

    /// Starts an instance in a free slot (a reclaimed one first): up after
    /// `boot`. Returns its slot.
    fn start_instance(&mut self, ni: usize, boot: Time) -> usize {
        let ncfg = &self.cfg.nodes[ni];
        let stations = &mut self.nodes[ni].stations;
        let ri = match stations.iter().position(|s| s.life() == Lifecycle::Retired) {
            Some(r) => r,
            None => {
                stations.push(Station::unborn(ncfg.workers, &ncfg.pools));
                stations.len() - 1
            }
        };
        if boot == 0 {
            self.set_life(ni, ri, Lifecycle::Up);
            self.instance_idle(ni, ri);
        } else {
            self.set_life(ni, ri, Lifecycle::Booting);
            self.schedule_up(ni, ri, self.now().saturating_add(boot));
        }
        ri
    }

    /// Instance `ri` of serverless node `ni` may have gone idle (a request
    /// left it, or it came up): if so, its idle check is armed.
    pub(super) fn instance_idle(&mut self, ni: usize, ri: usize) {
        let now = self.now();
        let Some(f) = self.cfg.nodes[ni].serverless else {
            return;
        };
        let st = &mut self.nodes[ni].stations[ri];
        if !st.is_up() || st.claimed() > 0 {
            return;
        }
        st.mark_idle(now);
        self.arm_idle_check(ni, ri, now.saturating_add(f.idle_timeout));
    }

    /// Schedules instance `ri`'s idle check at `at`, unless one is pending.
    fn arm_idle_check(&mut self, ni: usize, ri: usize, at: Time) {
        if self.nodes[ni].stations[ri].arm_idle_check() {
            let (node, rep) = (ni as u32, ri as u32);
            self.cal.schedule(at, Event::InstanceIdle { node, rep });
        }
    }

    /// An instance's idle check: reclaimed if it has served nothing for
    /// the idle timeout and more than the warm minimum are running;
    /// checked again when it went idle later than the check assumed.
    pub(super) fn on_instance_idle(&mut self, node: u32, rep: u32) {
        let (ni, ri) = (node as usize, rep as usize);
        let now = self.now();
        self.nodes[ni].stations[ri].idle_check_fired();
        let Some(f) = self.cfg.nodes[ni].serverless else {
            return;
        };
        let st = &self.nodes[ni].stations[ri];
        if !st.is_up() || st.claimed() > 0 {
            return; // busy: its next idle moment arms a new check
        }
        let due = st.idle_since().saturating_add(f.idle_timeout);
        if due > now {
            return self.arm_idle_check(ni, ri, due);
        }
        let warm = self.nodes[ni]
            .stations
            .iter()
            .filter(|s| matches!(s.life(), Lifecycle::Up | Lifecycle::Booting))
            .count() as u32;
        if warm > f.min {
            self.set_life(ni, ri, Lifecycle::Draining);
            self.maybe_finish_drain(ni, ri);
        }
    }

    /// A live change of the instance rules: instances start (after a cold
    /// start, not counted as a request's) until `min` are warm or starting,
    /// and every idle instance is checked again under the new timeout.
    pub(super) fn migrate_instances(&mut self, ni: usize) {
        let now = self.now();
        let Some(f) = self.cfg.nodes[ni].serverless else {
            return;
        };
        let warm = self.nodes[ni]
            .stations
            .iter()
            .filter(|s| matches!(s.life(), Lifecycle::Up | Lifecycle::Booting))
            .count() as u32;
        for _ in warm..f.min {
            self.start_instance(ni, f.cold_start);
        }
        for ri in 0..self.nodes[ni].stations.len() {
            let st = &mut self.nodes[ni].stations[ri];
            if st.is_up() && st.claimed() == 0 {
                // Checked under the new timeout even if a check under the
                // old one is pending (a stale check finds nothing to do).
                st.arm_idle_check();
                let due = st.idle_since().saturating_add(f.idle_timeout).max(now);
                let (node, rep) = (ni as u32, ri as u32);
                self.cal.schedule(due, Event::InstanceIdle { node, rep });
            }
        }
    }
}
