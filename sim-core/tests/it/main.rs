//! sim-core integration tests: one binary, one module per concern.

mod components;
mod determinism;
mod docs;
mod golden;
mod guards;
mod lessons;
mod mechanisms;
mod parsers;
mod queueing;
mod reconfig;
#[cfg(feature = "research")]
mod research;
#[cfg(feature = "cli")]
mod research_cli;
mod scenarios;
mod serverless;
mod statistics;
mod support;
mod workshops;
