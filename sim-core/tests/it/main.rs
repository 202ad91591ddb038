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
mod scenarios;
mod statistics;
mod support;
mod workshops;
