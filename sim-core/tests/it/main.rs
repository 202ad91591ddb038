//! sim-core integration tests: one binary, one module per concern.

mod components;
mod determinism;
mod docs;
mod express;
mod lessons;
mod queueing;
mod reconfig;
mod scenarios;
mod support;
mod workshops;
