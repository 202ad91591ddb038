//! The sandbox's topology canvas and editor: a self-contained Yew
//! component, [`TopologyPanel`], that draws the scenario's topology, edits
//! it and overlays the engine's live numbers.
//!
//! Layout: [`model`] (the document and every edit, pure, natively tested),
//! [`scene`] (layout, viewport, hit tests, colours, rates and dots, pure,
//! natively tested), `canvas` (2D-context drawing, wasm only) and
//! `inspector` (the selected node's fields, wasm only).
//!
//! # Component API
//!
//! ```text
//! html! {
//!     <TopologyPanel
//!         scenario={Rc::new(toml_text)}          // TOML or JSON of the scenario the app runs
//!         snapshot={Some(Rc::new(sim.snapshot()))} // live numbers (optional)
//!         topology={Some(Rc::new(sim.topology()))} // edge order of snapshot.edges (optional)
//!         editable={true}
//!         on_apply={Callback::from(|toml: String| { /* restart with it */ })}
//!         on_error={Some(Callback::from(|msg: String| { /* optional */ }))}
//!         on_layout={None}                          // optional, see below
//!     />
//! }
//! ```
//!
//! * `on_apply` receives the whole new scenario as TOML after every valid
//!   edit (the panel never emits a scenario that does not build). When the
//!   app passes that same text back as `scenario`, the panel keeps its undo
//!   history; any other text reloads the panel (history cleared).
//! * `on_layout`: if given, edits that only move nodes (the `[layout]`
//!   table, which the engine ignores) go here instead of `on_apply`, so the
//!   app need not restart the run; if absent they go to `on_apply`.
//! * `on_error` receives each refused edit's message ("path: message").
//! * Rates (calls/s, error %, retries/s) are measured by the panel between
//!   the current snapshot and one at least [`scene::RATE_WINDOW_S`]
//!   simulated seconds older; a snapshot whose clock went back (a restart)
//!   starts over. The snapshot's `edges` must follow `topology.edges`.
//!
//! # Editing
//!
//! * Palette: one button per node kind adds a node with valid defaults and
//!   a unique name (`service`, `service2`, ...).
//! * Drag a node to move it (writes `[layout]`; the first move writes every
//!   node's position). Arrow keys move the selected node (Shift: finer).
//! * Connect: drag from a node's "+" handle (or Shift+drag from the node) to
//!   another node, or use the inspector's "Connect to" select and button.
//!   source→X sets `target`; service→service/external/load balancer appends
//!   a `call` step; service→database a `query` (of its first table);
//!   service→cache a `cache_read`; service→broker a `publish`; load
//!   balancer→service/external adds a backend; broker→X sets the consumers'
//!   `handler`. Other pairs are refused with a message.
//! * Delete/Backspace (or the Delete button) removes the selected node or
//!   arrow and every reference to it (see [`model::EditorDoc::delete_node`]).
//! * Undo/redo: buttons, Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y (Cmd on macOS).
//!   Escape clears the selection. Keys act when focus is in the panel and
//!   not in a text field.
//!
//! # Test hooks (`data-testid`)
//!
//! `topology-panel` (root), `topology-canvas`, `palette-<kind>` (e.g.
//! `palette-load_balancer`), `editor-undo`, `editor-redo`, `editor-delete`,
//! `node-select` (select a node by keyboard), `editor-message` (last
//! success), `editor-error` (last refused edit), `inspector-node`,
//! `field-<dotted.path>` (relative to `nodes.<name>`, e.g.
//! `field-service.mean_s`), `inspector-error` (under an invalid field or the
//! raw text), `node-raw`, `node-raw-apply`, `connect-target`, `connect-go`,
//! `edge-remove-<to>`, `edge-info` (a selected arrow).

pub mod model;
#[cfg(test)]
mod round_trip;
pub mod scene;

#[cfg(target_arch = "wasm32")]
pub mod canvas;
#[cfg(target_arch = "wasm32")]
pub mod inspector;
#[cfg(target_arch = "wasm32")]
mod panel;

#[cfg(target_arch = "wasm32")]
pub use panel::{TopologyPanel, TopologyPanelProps};
