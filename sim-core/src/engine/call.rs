//! Calls: one caller's request along one edge, with all its attempts
//! (first try, retries, hedges). A call resolves once (the first good
//! answer, or failure once retries, fallbacks and budgets are exhausted)
//! but outlives its resolution until every attempt's job has ended, so late
//! answers count as wasted work and duplicate side effects are exact.
//!
//! This module keeps each call's bookkeeping: which attempts are awaited,
//! waiting for a pool connection or holding one, and what the callee
//! answered. What an attempt does (breaker, pool, dispatch, retry) is the
//! request path's business (`calling.rs`).

use super::ids::{slot, Ref, Slab};
use super::job::{Attrs, Task};
use crate::calendar::Time;

/// Who made a call, and so who learns its result.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Origin {
    /// A source's request; `user` is the closed-loop user, or NONE.
    Root { src: u32, measured: bool, user: u32 },
    /// A step of a job's program.
    Parent(Ref),
    /// A broker's consumer handling a message.
    Consumer { node: u32, consumer: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallState {
    Active,
    WaitingPool,
    Backoff,
    Fallback,
}

pub(crate) struct Call {
    gen: u32,
    live: bool,
    pub edge: u32,
    pub origin: Origin,
    pub task: Task,
    pub attrs: Attrs,
    pub t0: Time,
    pub deadline: Time,
    pub state: CallState,
    pub resolved: bool,
    /// Attempts dispatched so far.
    pub attempts: u8,
    /// Retries scheduled so far.
    pub retries: u8,
    /// Bit `a` set: attempt `a` is awaited.
    pub outstanding: u32,
    /// Bit `a` set: attempt `a` holds a pool connection.
    pub pooled: u32,
    /// Bit `a` set: attempt `a` is waiting for a pool connection.
    pub pool_wait: u32,
    pub pool_since: Time,
    pub jobs_alive: u16,
    /// Executions applied at the callee (side effects).
    pub applied: u16,
    pub last_backoff: Time,
    /// Result registers filled by the callee.
    pub hit: bool,
    pub version: u32,
    pub bytes: f64,
    /// The caller's station (for pools): (node, replica), or NONE.
    pub caller: (u32, u32),
}
slot!(Call);

impl Call {
    /// A call along `edge` that has not started an attempt yet.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn new(
        edge: u32,
        origin: Origin,
        task: Task,
        attrs: Attrs,
        t0: Time,
        deadline: Time,
        caller: (u32, u32),
    ) -> impl FnOnce(u32) -> Call {
        move |gen| Call {
            gen,
            live: true,
            edge,
            origin,
            task,
            attrs,
            t0,
            deadline,
            state: CallState::Active,
            resolved: false,
            attempts: 0,
            retries: 0,
            outstanding: 0,
            pooled: 0,
            pool_wait: 0,
            pool_since: 0,
            jobs_alive: 0,
            applied: 0,
            last_backoff: 0,
            hit: false,
            version: 0,
            bytes: 0.0,
            caller,
        }
    }

    /// Whether attempt `attempt` is still awaited.
    #[inline(always)]
    pub(crate) fn awaits(&self, attempt: u8) -> bool {
        !self.resolved && self.outstanding & (1 << attempt) != 0
    }

    /// Marks the next attempt dispatched and returns its number.
    #[inline(always)]
    pub(crate) fn dispatch_attempt(&mut self) -> u8 {
        let attempt = self.attempts;
        self.attempts += 1;
        self.outstanding |= 1 << attempt;
        self.state = CallState::Active;
        attempt
    }

    /// Stops awaiting `attempt`; returns whether it held a pool connection.
    #[inline(always)]
    pub(crate) fn close(&mut self, attempt: u8) -> bool {
        let bit = 1u32 << attempt;
        self.outstanding &= !bit;
        self.pooled & bit != 0
    }

    /// Another attempt is still out or waiting for a connection.
    #[inline(always)]
    pub(crate) fn busy(&self) -> bool {
        self.outstanding != 0 || self.pool_wait != 0
    }

    /// A pool connection handed to `attempt` (after waiting since
    /// `pool_since` if it waited).
    pub(crate) fn hold_connection(&mut self, attempt: u8) {
        let bit = 1u32 << attempt;
        self.pool_wait &= !bit;
        self.pooled |= bit;
    }

    /// Whether `attempt` waits for a pool connection.
    pub(crate) fn waits_pool(&self, attempt: u8) -> bool {
        !self.resolved && self.pool_wait & (1 << attempt) != 0
    }

    /// Gives up the connection `attempt` held; returns whether it held one.
    pub(crate) fn drop_connection(&mut self, attempt: u8) -> bool {
        let bit = 1u32 << attempt;
        let held = self.pooled & bit != 0;
        self.pooled &= !bit;
        held
    }
}

/// Every live call.
pub(crate) struct Calls {
    slab: Slab<Call>,
    /// Calls made since the run began (a measure of its work).
    made: u64,
}

impl Calls {
    pub(crate) fn new() -> Calls {
        Calls {
            slab: Slab::new(),
            made: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn insert(&mut self, make: impl FnOnce(u32) -> Call) -> Ref {
        self.made += 1;
        self.slab.insert(make)
    }

    /// Calls made since the run began.
    #[inline(always)]
    pub(crate) fn made(&self) -> u64 {
        self.made
    }
    #[inline(always)]
    pub(crate) fn get(&self, r: Ref) -> Option<&Call> {
        self.slab.get(r)
    }
    #[inline(always)]
    pub(crate) fn get_mut(&mut self, r: Ref) -> Option<&mut Call> {
        self.slab.get_mut(r)
    }
    /// The live call `r` (a logic error if it is gone).
    #[inline(always)]
    pub(crate) fn at(&mut self, r: Ref) -> &mut Call {
        self.slab.get_mut(r).expect("live call")
    }
    #[inline(always)]
    pub(crate) fn remove(&mut self, r: Ref) {
        self.slab.remove(r);
    }

    /// A job of the call ended: frees the call once it is resolved and
    /// jobless.
    #[inline(always)]
    pub(crate) fn job_ended(&mut self, r: Ref) {
        self.slab.remove_if(r, |c| {
            c.jobs_alive -= 1;
            c.resolved && c.jobs_alive == 0
        });
    }

    pub(crate) fn live(&self) -> impl Iterator<Item = (Ref, &Call)> {
        self.slab.live()
    }
    pub(crate) fn live_mut(&mut self) -> impl Iterator<Item = &mut Call> {
        self.slab.live_mut()
    }
    /// Live calls.
    pub(crate) fn held(&self) -> usize {
        self.slab.held()
    }
}
