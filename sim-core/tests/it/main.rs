//! sim-core integration tests: one binary, one module per concern.

mod determinism;
mod queueing;
mod scenarios;
mod support;
