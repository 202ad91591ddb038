//! # swarm: tailsim's swarm tester
//!
//! VOPR-style random testing of sim-core through its public API only. A
//! root seed fans out to one seed per case; a case is a pure function of
//! its seed ([`gen::case`]), so any failure is reproduced by
//! `cargo xtask fuzz --seed <case seed> --cases 1`.
//!
//! - [`gen`]: the generators (random valid topologies with every node kind,
//!   step and call policy; legal extremes; shipped scenarios and lessons;
//!   invalid documents, text and `--set` edits; the hostile shapes of
//!   issue #17). Cases are plain data ([`case`]).
//! - [`check`]: what is checked per case (messages, round trips, three runs
//!   compared byte for byte); [`run`] drives one run; [`verdict`] names the
//!   failure kinds; [`shrink`] makes a failing case smaller.
//! - [`worker`] runs cases in a child process with a counting allocator
//!   ([`memory`]); [`driver`] fans cases out to workers, enforces the
//!   wall-clock budget, restarts dead workers and prints the summary;
//!   [`corpus`] holds the committed regression cases and the list of
//!   known-open failures.

pub mod case;
pub mod check;
pub mod corpus;
pub mod driver;
pub mod gen;
pub mod memory;
pub mod rng;
pub mod run;
pub mod shrink;
pub mod summary;
pub mod verdict;
pub mod worker;

use std::cell::Cell;

thread_local! {
    static PHASE: Cell<&'static str> = const { Cell::new("") };
}

/// Records what the case is doing now (named in panic reports).
pub fn phase(p: &'static str) {
    PHASE.with(|c| c.set(p));
}

/// What the case was doing when it panicked.
pub fn current_phase() -> &'static str {
    PHASE.with(|c| c.get())
}
