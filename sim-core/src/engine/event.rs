//! The closed set of events. Every event the calendar holds is one of
//! these; the engine's `handle` matches them exhaustively.

use super::ids::{Outcome, Ref};

/// How deep same-instant work may nest on the stack. A job's next step and
/// a zero-delay delivery run at once while fewer than this many are open
/// beneath them; deeper, they are queued as [`Event::Continue`],
/// [`Event::Deliver`] or [`Event::Expire`] at the same instant (after what
/// is queued there already). An instant publish acknowledged in a loop, a
/// breaker refusing a `repeat` of calls, a consumer draining a backlog, or
/// a queue of requests whose deadlines have passed (each dropped as it
/// gets a worker, which starts the next) would otherwise recurse once per
/// iteration and overflow the stack (1 MiB in a browser). The depth is a
/// function of the run alone, so native and wasm runs agree.
pub(crate) const MAX_NESTING: u32 = 64;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    /// The warm-up ends: statistics start here.
    Warmup,
    /// A time-series window closes.
    Window,
    /// An open-loop source's next request (`gen` drops stale arrivals after
    /// a rate change).
    Arrival {
        src: u32,
        gen: u32,
    },
    /// A closed-loop user finished thinking.
    UserWake {
        src: u32,
        user: u32,
    },
    /// A job reaches its station after the hop.
    Deliver {
        job: Ref,
    },
    /// A job's compute step ends.
    ComputeDone {
        job: Ref,
    },
    /// A job continues its program at this instant: same-instant work that
    /// would have nested deeper than [`MAX_NESTING`] on the stack.
    Continue {
        job: Ref,
    },
    /// A job given a worker after its deadline passed is dropped at this
    /// instant: a run of expired jobs that would have nested deeper than
    /// [`MAX_NESTING`] on the stack.
    Expire {
        job: Ref,
    },
    /// A leaky-bucket delay ended: admit the job.
    Admit {
        job: Ref,
    },
    /// An attempt's answer reaches the caller.
    Respond {
        call: Ref,
        attempt: u8,
        outcome: Outcome,
        from: u32,
    },
    AttemptTimeout {
        call: Ref,
        attempt: u8,
    },
    RetryFire {
        call: Ref,
    },
    HedgeFire {
        call: Ref,
    },
    PoolTimeout {
        call: Ref,
        attempt: u8,
    },
    FallbackDone {
        call: Ref,
    },
    /// Fault `idx` starts or ends.
    Fault {
        idx: u32,
        start: bool,
    },
    /// A replica finishes booting or restarting (`gen`: its epoch then).
    ReplicaUp {
        node: u32,
        rep: u32,
        gen: u32,
    },
    Autoscale {
        node: u32,
    },
    /// A serverless instance may have been idle for the idle timeout.
    InstanceIdle {
        node: u32,
        rep: u32,
    },
    ConsumerWake {
        node: u32,
        consumer: u32,
    },
    ConsumerDone {
        node: u32,
        consumer: u32,
    },
    /// The next transfer on shared link `link` ends (`gen`: the arming
    /// still in force).
    LinkDone {
        link: u32,
        gen: u32,
    },
}
