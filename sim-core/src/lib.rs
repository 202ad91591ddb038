//! # sim-core: the tailsim engine
//!
//! A deterministic discrete-event simulator of backend topologies: sources,
//! services with workers and queues, and calls between them. It exists to
//! show *why* backends stop scaling, so its numbers must be right: M/M/c
//! agrees with Erlang C, M/G/1 with Pollaczek–Khinchine (see [`theory`] and
//! the integration tests), and M/M/c equals, value for value, a loop written
//! by hand on the same random streams ([`mod@reference`]).
//!
//! The library does no I/O and reads no clock: the caller drives it.
//!
//! ```
//! use sim_core::{Scenario, Sim};
//!
//! let scenario = Scenario::from_toml_str(r#"
//!     version = 1
//!     name = "M/M/1 at 90% load"
//!     [nodes.clients]
//!     kind = "source"
//!     target = "server"
//!     arrival = { process = "poisson", rate = 0.9 }
//!     [nodes.server]
//!     kind = "service"
//!     workers = 1
//!     service = { dist = "exponential", mean_s = 1.0 }
//! "#).unwrap();
//!
//! let mut sim = Sim::new(&scenario, 42).unwrap();
//! sim.run_until(3_600 * 1_000_000_000).unwrap(); // one simulated hour, in ns
//! let report = sim.report();
//! assert!(report.conservation.ok);        // every request is accounted for
//! let server = &report.nodes["server"];
//! assert!((server.utilisation - 0.9).abs() < 0.1);
//! // Same scenario and seed: byte-identical report.
//! let mut again = Sim::new(&scenario, 42).unwrap();
//! again.run_until(3_600 * 1_000_000_000).unwrap();
//! assert_eq!(again.report().to_json(), report.to_json());
//! ```
//!
//! ## Contracts
//! * Time is integer nanoseconds; events pop by `(time, insertion order)`,
//!   so ties are FIFO ([`calendar`]).
//! * Every random draw comes from a stream named `(seed, node, purpose)`
//!   ([`rng`]); changing one node never changes another node's draws.
//! * Conservation: arrived = completed + failed + rejected + in flight, per
//!   node and end to end, checked by [`Sim::conservation`] in every report.

#[cfg(feature = "research")]
pub mod analysis;
#[cfg(feature = "bundled")]
pub mod bundled;
pub mod cache;
pub mod calendar;
pub mod dist;
mod engine;
mod hdr;
pub mod lesson;
pub mod metrics;
pub mod pooled;
pub mod reference;
pub mod report;
pub mod resilience;
pub mod rng;
pub mod scenario;
#[cfg(feature = "research")]
pub mod study;
pub mod theory;
pub mod workshop;

/// The scenario vocabulary (every `*Spec` type), as `sim_core::spec`.
pub use scenario::spec;

pub use calendar::{ns_to_secs, secs_to_ns, Time};
pub use dist::{Dist, DistSpec};
pub use engine::{
    E2eSnapshot, EdgeSnapshot, FaultError, NodeSnapshot, Outcome, Reconfigured, RunError, Sim,
    Snapshot, Topology,
};
pub use metrics::{NodeWindow, Summary, Window};
pub use report::Report;
pub use report::{Span, SpanKind, Trace};
pub use scenario::{
    bounds, Edit, FieldBounds, Format, NodeKind, NodeSpec, Scenario, ScenarioDoc, ScenarioError,
};

/// The engine's public types under their first path (`sim_core::sim::Snapshot`).
pub mod sim {
    pub use crate::engine::{
        E2eSnapshot, EdgeSnapshot, FaultError, LoopSite, NodeSnapshot, Outcome, OverBudget,
        Reconfigured, RunError, Sim, Snapshot, Stall, StatisticsOverBudget, Topology,
        DEFAULT_MAX_IN_FLIGHT, STALL_EVENTS,
    };
    pub use crate::report::{Span, SpanKind, Trace};
}
