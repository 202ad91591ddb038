//! Sources: when the next request arrives (open loop) or which users are
//! thinking (closed loop), and who sends it (user, items).

use super::config::{ArrivalCfg, SourceCfg};
use super::draw;
use super::streams::Streams;
use crate::calendar::{secs_to_ns, Time};
use crate::rng::Stream;
use crate::scenario::Shape;
use rand::Rng;
use rand_distr::{Distribution, Exp};

/// A source's running state.
pub(crate) struct SourceState {
    /// Bumped when the arrival process changes: arrivals drawn before are
    /// stale.
    gen: u32,
    /// Load-spike factor on the rate (1: none).
    spike: f64,
    /// Closed loop: whether each user's think-then-request cycle runs.
    running: Vec<bool>,
}

impl SourceState {
    pub(crate) fn new(cfg: &SourceCfg) -> SourceState {
        let users = match &cfg.arrival {
            ArrivalCfg::Closed { users, .. } => *users as usize,
            _ => 0,
        };
        SourceState {
            gen: 0,
            spike: 1.0,
            running: vec![false; users],
        }
    }

    #[inline(always)]
    pub(crate) fn gen(&self) -> u32 {
        self.gen
    }
    /// Arrivals scheduled so far become stale.
    pub(crate) fn bump_gen(&mut self) -> u32 {
        self.gen = self.gen.wrapping_add(1);
        self.gen
    }
    #[inline(always)]
    pub(crate) fn spike(&self) -> f64 {
        self.spike
    }
    pub(crate) fn set_spike(&mut self, f: f64) {
        self.spike = f;
    }

    /// Closed loop: user `u` starts its cycle (returns false if it runs).
    pub(crate) fn start_user(&mut self, u: u32) -> bool {
        let u = u as usize;
        if self.running.len() <= u {
            self.running.resize(u + 1, false);
        }
        !std::mem::replace(&mut self.running[u], true)
    }
    /// Closed loop: user `u` retires (the user count shrank).
    pub(crate) fn stop_user(&mut self, u: u32) {
        if let Some(r) = self.running.get_mut(u as usize) {
            *r = false;
        }
    }
}

/// Who sends a new request: the user (drawn, or the closed-loop user
/// itself) and the item count.
#[inline]
pub(crate) fn sender(
    cfg: &SourceCfg,
    streams: &mut Streams,
    closed_user: Option<u64>,
) -> (u64, u32) {
    let user = match (&cfg.users, closed_user) {
        (Some((_, Some(z))), _) => z.sample(streams.get(cfg.user_stream)),
        (Some((n, None)), _) => streams.get(cfg.user_stream).random_range(0..*n),
        (None, Some(u)) => u,
        (None, None) => 0,
    };
    let items = match &cfg.items {
        Some(c) => draw::count_plain(c, streams, 0),
        None => 1,
    };
    (user, items)
}

/// The rate of a schedule at time `t` (requests/s).
fn schedule_rate(points: &[(Time, f64)], shape: Shape, t: Time) -> f64 {
    let k = points.partition_point(|p| p.0 <= t);
    if k == 0 {
        return points[0].1;
    }
    let (t0, r0) = points[k - 1];
    match (shape, points.get(k)) {
        (Shape::Linear, Some(&(t1, r1))) => {
            let f = (t - t0) as f64 / (t1 - t0) as f64;
            r0 + (r1 - r0) * f
        }
        _ => r0,
    }
}

/// The time of the next open-loop arrival after `now`, or `None` if the
/// source never fires again. `spike` multiplies the rate.
#[inline]
pub(crate) fn next_arrival(
    a: &ArrivalCfg,
    spike: f64,
    rng: &mut Stream,
    now: Time,
) -> Option<Time> {
    match a {
        ArrivalCfg::Poisson { exp, rate } => {
            if spike == 1.0 {
                Some(now.saturating_add((exp.sample(rng) + 0.5) as Time))
            } else {
                let e = Exp::new(rate * spike / 1e9).ok()?;
                Some(now.saturating_add((e.sample(rng) + 0.5) as Time))
            }
        }
        ArrivalCfg::Constant { rate } => {
            Some(now.saturating_add(secs_to_ns(1.0 / (rate * spike)).max(1)))
        }
        ArrivalCfg::Schedule {
            points,
            shape,
            poisson,
            max_rate,
        } => next_scheduled(points, *shape, *poisson, max_rate * spike, spike, rng, now),
        ArrivalCfg::Closed { .. } => None,
    }
}

fn next_scheduled(
    points: &[(Time, f64)],
    shape: Shape,
    poisson: bool,
    max_rate: f64,
    spike: f64,
    rng: &mut Stream,
    now: Time,
) -> Option<Time> {
    if poisson {
        // Thinning (Lewis & Shedler): candidates at the peak rate, each kept
        // with probability rate(t) / peak.
        let exp = Exp::new(max_rate / 1e9).ok()?;
        let mut t = now;
        for _ in 0..10_000_000 {
            t = t.saturating_add((exp.sample(rng) + 0.5) as Time);
            let r = schedule_rate(points, shape, t) * spike;
            if rng.random::<f64>() * max_rate < r {
                return Some(t);
            }
            if r == 0.0 && points.last().is_some_and(|p| p.0 <= t) {
                return None;
            }
        }
        None
    } else {
        let mut t = now;
        loop {
            let r = schedule_rate(points, shape, t) * spike;
            if r > 0.0 {
                return Some(t.saturating_add(secs_to_ns(1.0 / r).max(1)));
            }
            let k = points.partition_point(|p| p.0 <= t);
            t = points.get(k)?.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ramp_rate() {
        let pts = vec![(0, 0.0), (secs_to_ns(10.0), 100.0)];
        assert_eq!(schedule_rate(&pts, Shape::Linear, secs_to_ns(5.0)), 50.0);
        assert_eq!(schedule_rate(&pts, Shape::Step, secs_to_ns(5.0)), 0.0);
        assert_eq!(schedule_rate(&pts, Shape::Linear, secs_to_ns(20.0)), 100.0);
    }
}
