//! The classroom server over real sockets on loopback: one binary, a module
//! per concern.

mod flow;
mod hostile;
mod support;
