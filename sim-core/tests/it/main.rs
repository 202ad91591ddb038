//! sim-core integration tests: one binary, one module per concern.

mod components;
mod determinism;
mod docs;
mod express;
mod lessons;
mod queueing;
mod reconfig;
#[cfg(feature = "research")]
mod research;
#[cfg(feature = "cli")]
mod research_cli;
mod scenarios;
mod support;
