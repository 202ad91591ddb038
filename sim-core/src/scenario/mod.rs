//! The scenario format: a topology declared as data, and the one way to
//! change it.
//!
//! A scenario is read from TOML or JSON into a generic document
//! ([`ScenarioDoc`]), changed by [`Edit`]s at dotted paths (the CLI's
//! `--set nodes.api.workers=12`, a lesson's toggle, the page's sliders and
//! editors), then typed and validated into a [`Scenario`]. Every error
//! names the field path and what is wrong; nothing here panics on bad input.
//!
//! The module map, each file depending only on those above it:
//! * `doc.rs`: the document, paths, edits, [`ScenarioError`];
//! * `steps.rs`, `spec.rs`: the typed vocabulary (every `*Spec`);
//! * `bounds.rs`: the range of every numeric field, one table ([`bounds`]);
//! * `visit.rs`: the walker over handler steps ([`walk_steps`]) and the
//!   call graph ([`Scenario::call_edges`]);
//! * `validate/`: every rule;
//! * `read.rs`: document to typed scenario ([`Scenario::from_value`]).

mod bounds;
mod doc;
mod faults;
mod locate;
mod read;
pub mod spec;
mod steps;
mod strict;
mod validate;
mod visit;

pub use bounds::{bounds, FieldBounds, MAX_ARRIVAL_RATE, MAX_COUNT};
pub use doc::{
    join_path, split_path, Edit, Format, ScenarioDoc, ScenarioError, MAX_DEPTH, MAX_PATH_SEGMENTS,
    MAX_TEXT_BYTES,
};
pub(crate) use read::path_err;
pub use read::SCHEMA_VERSION;
pub use spec::*;
pub use validate::{work_per_request, MAX_WORK};
pub use visit::{walk_steps, Block, CallEdge, EdgeKind, StepAt};
