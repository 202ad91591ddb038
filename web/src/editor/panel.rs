//! The `TopologyPanel` component (wasm only): state, pointer and keyboard
//! handling, the animation loop. See the module docs of `editor`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use gloo::render::{request_animation_frame, AnimationFrame};
use serde_json::Value;
use sim_core::{NodeKind, ScenarioError, Snapshot, Topology};
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, HtmlElement, HtmlSelectElement};
use yew::prelude::*;

use super::canvas::{self, Frame};
use super::inspector::Inspector;
use super::model::{kind_label, Edge, EditResult, EditorDoc, Selection};
use super::scene::{self, hit_edge, hit_handle, hit_node, Overlay, RateTracker, Viewport};

#[derive(Properties)]
pub struct TopologyPanelProps {
    /// TOML or JSON text of the scenario the app runs.
    pub scenario: Rc<String>,
    /// The engine's latest snapshot (live overlay), if running.
    #[prop_or_default]
    pub snapshot: Option<Rc<Snapshot>>,
    /// The running topology: `snapshot.edges` follow `topology.edges`.
    #[prop_or_default]
    pub topology: Option<Rc<Topology>>,
    /// Show the palette, connect handles and inspector inputs.
    #[prop_or(true)]
    pub editable: bool,
    /// The new scenario as TOML, after each valid edit.
    pub on_apply: Callback<String>,
    /// Each refused edit's message.
    #[prop_or_default]
    pub on_error: Option<Callback<String>>,
    /// If given: layout-only edits (moves) go here instead of `on_apply`.
    #[prop_or_default]
    pub on_layout: Option<Callback<String>>,
}

fn rc_eq<T>(a: &Option<Rc<T>>, b: &Option<Rc<T>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Rc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

impl PartialEq for TopologyPanelProps {
    fn eq(&self, o: &Self) -> bool {
        self.scenario == o.scenario
            && rc_eq(&self.snapshot, &o.snapshot)
            && rc_eq(&self.topology, &o.topology)
            && self.editable == o.editable
            && self.on_apply == o.on_apply
            && self.on_error == o.on_error
            && self.on_layout == o.on_layout
    }
}

enum Drag {
    Move {
        name: String,
        grab: (f64, f64),
        at: (f64, f64),
        moved: bool,
        vp: Viewport,
    },
    Connect {
        from: String,
        cursor: (f64, f64),
        vp: Viewport,
    },
}

#[derive(Clone, PartialEq)]
struct Message {
    error: bool,
    text: String,
}

/// Derived drawing data, recomputed after each change of the document.
#[derive(Default)]
struct Geom {
    nodes: Vec<(String, NodeKind)>,
    edges: Vec<Edge>,
    pos: BTreeMap<String, (f64, f64)>,
}

struct Panel {
    doc: Option<EditorDoc>,
    /// The scenario text the panel reflects (the prop, or what it emitted).
    loaded: String,
    geom: Geom,
    selection: Selection,
    drag: Option<Drag>,
    viewport: Viewport,
    /// The viewport a drop left, kept while it shows every node.
    keep: Option<Viewport>,
    rates: RateTracker,
    overlay: Option<Overlay>,
    phase: f64,
    last_ts: Option<f64>,
    dirty: bool,
    size: (i32, i32),
    message: Option<Message>,
    editable: bool,
    on_layout_set: bool,
}

impl Panel {
    fn new(text: &str) -> Panel {
        let mut p = Panel {
            doc: None,
            loaded: String::new(),
            geom: Geom::default(),
            selection: Selection::None,
            drag: None,
            viewport: Viewport::default(),
            keep: None,
            rates: RateTracker::default(),
            overlay: None,
            phase: 0.0,
            last_ts: None,
            dirty: true,
            size: (0, 0),
            message: None,
            editable: true,
            on_layout_set: false,
        };
        p.load(text);
        p
    }

    fn load(&mut self, text: &str) {
        self.loaded = text.to_string();
        match EditorDoc::parse(text) {
            Ok(d) => {
                self.doc = Some(d);
                if matches!(self.message, Some(Message { error: true, .. })) {
                    self.message = None;
                }
            }
            Err(e) => {
                self.doc = None;
                self.message = Some(Message {
                    error: true,
                    text: format!("cannot show this scenario: {e}"),
                });
            }
        }
        self.refresh();
    }

    /// Recomputes the geometry and drops a selection that no longer exists.
    fn refresh(&mut self) {
        let geom = match &self.doc {
            Some(d) => Geom {
                nodes: d.nodes(),
                edges: d.edges(),
                pos: d.positions(),
            },
            None => Geom::default(),
        };
        if geom.nodes != self.geom.nodes {
            // Another scenario, or nodes added or removed: fit it afresh.
            self.keep = None;
        }
        self.geom = geom;
        let keep = match &self.selection {
            Selection::None => true,
            Selection::Node(n) => self.geom.pos.contains_key(n),
            Selection::Edge { from, to } => self
                .geom
                .edges
                .iter()
                .any(|e| &e.from == from && &e.to == to),
        };
        if !keep {
            self.selection = Selection::None;
        }
        self.dirty = true;
    }

    /// Positions with a node being dragged where the pointer is.
    fn positions(&self) -> std::borrow::Cow<'_, BTreeMap<String, (f64, f64)>> {
        match &self.drag {
            Some(Drag::Move { name, at, .. }) => {
                let mut p = self.geom.pos.clone();
                p.insert(name.clone(), *at);
                std::borrow::Cow::Owned(p)
            }
            _ => std::borrow::Cow::Borrowed(&self.geom.pos),
        }
    }

    fn draw(&mut self, el: &HtmlCanvasElement) {
        let pos = self.positions();
        let (ghost, frozen) = match &self.drag {
            Some(Drag::Connect { from, cursor, vp }) => (Some((from.clone(), *cursor)), Some(*vp)),
            Some(Drag::Move { vp, .. }) => (None, Some(*vp)),
            None => (None, None),
        };
        let frame = Frame {
            nodes: &self.geom.nodes,
            edges: &self.geom.edges,
            pos: &pos,
            selection: &self.selection,
            overlay: self.overlay.as_ref(),
            phase: self.phase,
            ghost,
            editable: self.editable,
            viewport: frozen,
            keep: self.keep,
        };
        match canvas::draw(el, &frame) {
            Ok(vp) => {
                let centres = node_centres(&pos, vp);
                drop(pos);
                if el.get_attribute("data-nodes").as_deref() != Some(centres.as_str()) {
                    el.set_attribute("data-nodes", &centres).ok();
                }
                self.viewport = vp;
                if frozen.is_none() && self.keep != Some(vp) {
                    self.keep = None; // refitted: a node left the view
                }
            }
            Err(e) => {
                drop(pos);
                self.message = Some(Message {
                    error: true,
                    text: format!("drawing failed: {e}"),
                });
            }
        }
        self.dirty = false;
        self.size = (el.client_width(), el.client_height());
    }
}

/// Each node's centre on the canvas, in CSS pixels from its top left
/// (`name x y`, one node per `;`): where a pointer aims, for tools and for
/// the end-to-end tests that drag nodes.
fn node_centres(pos: &BTreeMap<String, (f64, f64)>, vp: Viewport) -> String {
    pos.iter()
        .map(|(n, &p)| {
            let (x, y) = vp.to_screen(p);
            format!("{n} {x:.0} {y:.0}")
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// What an edit hands back to the component after the borrow is released.
enum Outcome {
    Apply(String),
    Layout(String),
    Nothing,
}

fn strip_layout(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("layout");
    }
    v
}

#[derive(Clone)]
struct Ctx {
    panel: Rc<RefCell<Panel>>,
    on_apply: Callback<String>,
    on_error: Option<Callback<String>>,
    on_layout: Option<Callback<String>>,
    update: UseForceUpdateHandle,
}

impl Ctx {
    /// Runs one edit: on success the new TOML goes to `on_apply` (or
    /// `on_layout`); on failure the message shows (if `report`) and goes to
    /// `on_error`. Returns the error for the inspector.
    fn edit(
        &self,
        report: bool,
        f: impl FnOnce(&mut EditorDoc, &mut Selection) -> EditResult<String>,
    ) -> Option<ScenarioError> {
        let (outcome, err) = {
            let mut p = self.panel.borrow_mut();
            let p = &mut *p;
            let Some(doc) = p.doc.as_mut() else {
                return Some(ScenarioError::new("", "no valid scenario loaded"));
            };
            let before = doc.value().clone();
            let res = f(doc, &mut p.selection);
            match res {
                Ok(msg) => {
                    let after = doc.value();
                    let outcome = if &before == after {
                        Outcome::Nothing
                    } else {
                        let toml = doc.to_toml();
                        p.loaded = toml.clone();
                        if strip_layout(&before) == strip_layout(after) && p.on_layout_set {
                            Outcome::Layout(toml)
                        } else {
                            Outcome::Apply(toml)
                        }
                    };
                    if report && !msg.is_empty() {
                        p.message = Some(Message {
                            error: false,
                            text: msg,
                        });
                    }
                    p.refresh();
                    (outcome, None)
                }
                Err(e) => {
                    if report {
                        p.message = Some(Message {
                            error: true,
                            text: e.to_string(),
                        });
                    }
                    p.dirty = true;
                    (Outcome::Nothing, Some(e))
                }
            }
        };
        match outcome {
            Outcome::Apply(t) => self.on_apply.emit(t),
            Outcome::Layout(t) => {
                if let Some(cb) = &self.on_layout {
                    cb.emit(t)
                }
            }
            Outcome::Nothing => {}
        }
        if let (Some(e), Some(cb)) = (&err, &self.on_error) {
            cb.emit(e.to_string());
        }
        self.update.force_update();
        err
    }

    fn undo(&self, redo: bool) {
        self.edit(true, move |d, _| {
            let ok = if redo { d.redo() } else { d.undo() };
            match (ok, redo) {
                (true, false) => Ok("undone".into()),
                (true, true) => Ok("redone".into()),
                (false, false) => Err(ScenarioError::new("", "nothing to undo")),
                (false, true) => Err(ScenarioError::new("", "nothing to redo")),
            }
        });
    }

    fn delete(&self) {
        self.edit(true, |d, sel| {
            let msg = d.delete_selection(sel)?;
            *sel = Selection::None;
            Ok(msg)
        });
    }

    fn select(&self, sel: Selection) {
        let mut p = self.panel.borrow_mut();
        if p.selection != sel {
            p.selection = sel;
            p.dirty = true;
            drop(p);
            self.update.force_update();
        }
    }
}

fn is_text_target(e: &KeyboardEvent) -> bool {
    let Some(el) = e.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) else {
        return false;
    };
    matches!(
        el.tag_name().to_ascii_uppercase().as_str(),
        "INPUT" | "TEXTAREA" | "SELECT"
    ) || el.is_content_editable()
}

fn schedule(
    slot: Rc<RefCell<Option<AnimationFrame>>>,
    alive: Rc<Cell<bool>>,
    panel: Rc<RefCell<Panel>>,
    canvas: NodeRef,
) {
    let slot2 = slot.clone();
    let handle = request_animation_frame(move |ts| {
        if !alive.get() || crate::panic::has_panicked() {
            return;
        }
        if let Ok(mut p) = panel.try_borrow_mut() {
            let dt = p.last_ts.map_or(0.0, |prev| (ts - prev).clamp(0.0, 100.0));
            p.last_ts = Some(ts);
            if p.overlay.as_ref().is_some_and(|o| !o.edges.is_empty()) {
                // dots travel an edge in about 2 s of wall time
                p.phase = (p.phase + dt / 2000.0).rem_euclid(1.0);
                p.dirty = true;
            }
            if let Some(el) = canvas.cast::<HtmlCanvasElement>() {
                if p.size != (el.client_width(), el.client_height()) {
                    p.dirty = true;
                }
                if p.dirty {
                    p.draw(&el);
                }
            }
        }
        if alive.get() {
            schedule(slot2, alive, panel, canvas);
        }
    });
    *slot.borrow_mut() = Some(handle);
}

/// The topology canvas with its palette, toolbar and inspector.
#[component(TopologyPanel)]
pub fn topology_panel(props: &TopologyPanelProps) -> Html {
    let panel = use_mut_ref(|| Panel::new(&props.scenario));
    let canvas_ref = use_node_ref();
    let update = use_force_update();
    {
        let mut p = panel.borrow_mut();
        p.editable = props.editable;
        p.on_layout_set = props.on_layout.is_some();
    }
    let ctx = Ctx {
        panel: panel.clone(),
        on_apply: props.on_apply.clone(),
        on_error: props.on_error.clone(),
        on_layout: props.on_layout.clone(),
        update: update.clone(),
    };

    // A different scenario from the app (not the one we emitted): reload.
    {
        let (panel, update) = (panel.clone(), update.clone());
        use_effect_with(props.scenario.clone(), move |text| {
            let changed = {
                let mut p = panel.borrow_mut();
                if p.loaded != **text && p.doc.as_ref().is_some_and(|d| d.means(text)) {
                    // Our own edit, as the engine wrote it back: keep the
                    // history and the view.
                    p.loaded = text.to_string();
                    false
                } else if p.loaded != **text {
                    p.load(text);
                    p.rates.clear();
                    p.overlay = None;
                    true
                } else {
                    false
                }
            };
            if changed {
                update.force_update();
            }
            || ()
        });
    }

    // New snapshot: update rates and the overlay.
    {
        let panel = panel.clone();
        let snap = props.snapshot.clone();
        let topo = props.topology.clone();
        let key = (
            snap.as_ref().map(|s| Rc::as_ptr(s) as usize),
            topo.as_ref().map(|t| Rc::as_ptr(t) as usize),
        );
        use_effect_with(key, move |_| {
            let mut p = panel.borrow_mut();
            match snap {
                Some(s) => {
                    p.rates.push(s);
                    let o = p
                        .rates
                        .pair()
                        .map(|(prev, cur)| scene::overlay(Some(prev), cur, topo.as_deref()));
                    p.overlay = o;
                }
                None => {
                    p.rates.clear();
                    p.overlay = None;
                }
            }
            p.dirty = true;
            || ()
        });
    }

    // The animation loop, owned by the component and stopped on unmount.
    {
        let (panel, canvas_ref) = (panel.clone(), canvas_ref.clone());
        use_effect_with((), move |_| {
            let alive = Rc::new(Cell::new(true));
            let slot: Rc<RefCell<Option<AnimationFrame>>> = Rc::new(RefCell::new(None));
            schedule(slot.clone(), alive.clone(), panel, canvas_ref);
            move || {
                alive.set(false);
                slot.borrow_mut().take();
            }
        });
    }

    // Draw right after each render too (selection, edits), not only per frame.
    {
        let (panel, canvas_ref) = (panel.clone(), canvas_ref.clone());
        use_effect(move || {
            if let (Some(el), Ok(mut p)) = (
                canvas_ref.cast::<HtmlCanvasElement>(),
                panel.try_borrow_mut(),
            ) {
                p.draw(&el);
            }
            || ()
        });
    }

    // ----- pointer ---------------------------------------------------------
    let world = |panel: &Panel, e: &PointerEvent| -> (f64, f64) {
        let vp = match &panel.drag {
            Some(Drag::Move { vp, .. }) | Some(Drag::Connect { vp, .. }) => *vp,
            None => panel.viewport,
        };
        vp.to_world((e.offset_x() as f64, e.offset_y() as f64))
    };
    let onpointerdown = {
        let ctx = ctx.clone();
        let editable = props.editable;
        Callback::from(move |e: PointerEvent| {
            if e.button() != 0 {
                return;
            }
            let mut p = ctx.panel.borrow_mut();
            let w = world(&p, &e);
            let vp = p.viewport;
            let handle = if editable {
                hit_handle(&p.geom.pos, w).filter(|n| {
                    !matches!(
                        p.geom.nodes.iter().find(|(m, _)| m == n).map(|x| x.1),
                        Some(NodeKind::Database | NodeKind::Cache)
                    )
                })
            } else {
                None
            };
            let sel = if let Some(n) = handle {
                p.drag = Some(Drag::Connect {
                    from: n.clone(),
                    cursor: w,
                    vp,
                });
                Selection::Node(n)
            } else if let Some(n) = hit_node(&p.geom.pos, w) {
                if editable {
                    let at = p.geom.pos[&n];
                    p.drag = Some(if e.shift_key() {
                        Drag::Connect {
                            from: n.clone(),
                            cursor: w,
                            vp,
                        }
                    } else {
                        Drag::Move {
                            name: n.clone(),
                            grab: (w.0 - at.0, w.1 - at.1),
                            at,
                            moved: false,
                            vp,
                        }
                    });
                }
                Selection::Node(n)
            } else if let Some(i) = hit_edge(&p.geom.pos, &p.geom.edges, w, 8.0 / vp.scale) {
                let ed = &p.geom.edges[i];
                Selection::Edge {
                    from: ed.from.clone(),
                    to: ed.to.clone(),
                }
            } else {
                Selection::None
            };
            if p.drag.is_some() {
                if let Some(t) = e.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) {
                    t.set_pointer_capture(e.pointer_id()).ok();
                }
            }
            p.dirty = true;
            drop(p);
            ctx.select(sel);
        })
    };
    let onpointermove = {
        let panel = panel.clone();
        Callback::from(move |e: PointerEvent| {
            let mut p = panel.borrow_mut();
            let w = world(&p, &e);
            match &mut p.drag {
                Some(Drag::Move {
                    grab, at, moved, ..
                }) => {
                    let next = (w.0 - grab.0, w.1 - grab.1);
                    if (next.0 - at.0).abs() + (next.1 - at.1).abs() > 2.0 || *moved {
                        *at = next;
                        *moved = true;
                    }
                }
                Some(Drag::Connect { cursor, .. }) => *cursor = w,
                None => return,
            }
            p.dirty = true;
        })
    };
    let onpointerup = {
        let ctx = ctx.clone();
        Callback::from(move |e: PointerEvent| {
            let (drag, w, target) = {
                let mut p = ctx.panel.borrow_mut();
                let w = world(&p, &e);
                let target = hit_node(&p.geom.pos, w);
                p.dirty = true;
                (p.drag.take(), w, target)
            };
            let _ = w;
            match drag {
                Some(Drag::Move {
                    name,
                    at,
                    moved: true,
                    vp,
                    ..
                }) => {
                    ctx.panel.borrow_mut().keep = Some(vp);
                    ctx.edit(false, move |d, _| {
                        d.move_node(&name, at.0, at.1)?;
                        Ok(String::new())
                    });
                }
                Some(Drag::Connect { from, .. }) => match target {
                    Some(to) if to != from => {
                        ctx.edit(true, move |d, _| d.connect(&from, &to));
                    }
                    _ => ctx.update.force_update(),
                },
                _ => {}
            }
        })
    };
    let onpointercancel = {
        let panel = panel.clone();
        Callback::from(move |_: PointerEvent| {
            let mut p = panel.borrow_mut();
            p.drag = None;
            p.dirty = true;
        })
    };

    // ----- keyboard ---------------------------------------------------------
    let onkeydown = {
        let ctx = ctx.clone();
        let editable = props.editable;
        Callback::from(move |e: KeyboardEvent| {
            if is_text_target(&e) {
                return;
            }
            let key = e.key();
            let cmd = e.ctrl_key() || e.meta_key();
            if key == "Escape" {
                ctx.panel.borrow_mut().drag = None;
                ctx.select(Selection::None);
                return;
            }
            if !editable {
                return;
            }
            match key.as_str() {
                "Delete" | "Backspace" if !cmd => {
                    e.prevent_default();
                    ctx.delete();
                }
                "z" | "Z" if cmd => {
                    e.prevent_default();
                    ctx.undo(e.shift_key());
                }
                "y" | "Y" if cmd => {
                    e.prevent_default();
                    ctx.undo(true);
                }
                "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" if !cmd => {
                    let sel = ctx.panel.borrow().selection.clone();
                    if let Selection::Node(n) = sel {
                        e.prevent_default();
                        let step = if e.shift_key() { 5.0 } else { 20.0 };
                        let (dx, dy) = match key.as_str() {
                            "ArrowLeft" => (-step, 0.0),
                            "ArrowRight" => (step, 0.0),
                            "ArrowUp" => (0.0, -step),
                            _ => (0.0, step),
                        };
                        ctx.edit(false, move |d, _| {
                            let (x, y) = d.positions()[&n];
                            d.move_node(&n, x + dx, y + dy)?;
                            Ok(String::new())
                        });
                    }
                }
                _ => {}
            }
        })
    };

    // ----- view -------------------------------------------------------------
    let p = panel.borrow();
    let can_undo = p.doc.as_ref().is_some_and(|d| d.can_undo());
    let can_redo = p.doc.as_ref().is_some_and(|d| d.can_redo());
    let has_sel = p.selection != Selection::None;
    let no_doc = p.doc.is_none();
    let palette = NodeKind::ALL.iter().map(|&k| {
        let ctx = ctx.clone();
        let st = scene::kind_style(k);
        let onclick = Callback::from(move |_: MouseEvent| {
            ctx.edit(true, move |d, sel| {
                let n = d.add_node(k, None)?;
                *sel = Selection::Node(n.clone());
                Ok(format!("added {} {n}", kind_label(k)))
            });
        });
        html! {
            <button type="button" class="editor-palette-btn" data-testid={format!("palette-{}", k.as_str())}
                title={format!("Add a {}", kind_label(k))} disabled={no_doc} {onclick}>
                <span class="editor-swatch" style={format!("border-color:{}", st.colour)} aria-hidden="true">{ st.glyph }</span>
                { kind_label(k) }
            </button>
        }
    });
    let undo = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| ctx.undo(false))
    };
    let redo = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| ctx.undo(true))
    };
    let delete = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| ctx.delete())
    };
    let node_select = {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            ctx.select(if v.is_empty() {
                Selection::None
            } else {
                Selection::Node(v)
            });
        })
    };
    let selected_name = match &p.selection {
        Selection::Node(n) => n.clone(),
        _ => String::new(),
    };

    let details = match (&p.selection, &p.doc) {
        (Selection::Node(n), Some(doc)) => {
            let kind = doc.kind_of(n).unwrap_or(NodeKind::Service);
            let value = Rc::new(doc.node_value(n).cloned().unwrap_or(Value::Null));
            let text = Rc::new(doc.node_text(n));
            let others = Rc::new(
                p.geom
                    .nodes
                    .iter()
                    .filter(|(m, _)| m != n)
                    .map(|(m, _)| m.clone())
                    .collect::<Vec<_>>(),
            );
            let outgoing = Rc::new(
                p.geom
                    .edges
                    .iter()
                    .filter(|e| &e.from == n)
                    .map(|e| e.to.clone())
                    .collect::<Vec<_>>(),
            );
            let check = {
                let (panel, n) = (panel.clone(), n.clone());
                Callback::from(move |(path, raw): (String, String)| {
                    let p = panel.borrow();
                    p.doc.as_ref()?.check_field(&n, &path, &raw).err()
                })
            };
            let apply = {
                let (ctx, n) = (ctx.clone(), n.clone());
                Callback::from(move |(path, raw): (String, String)| {
                    let n = n.clone();
                    ctx.edit(false, move |d, _| {
                        d.set_field(&n, &path, &raw)?;
                        Ok(format!("set nodes.{n}.{path}"))
                    })
                })
            };
            let check_text = {
                let (panel, n) = (panel.clone(), n.clone());
                Callback::from(move |t: String| {
                    let p = panel.borrow();
                    p.doc.as_ref()?.check_node_text(&n, &t).err()
                })
            };
            let apply_text = {
                let (ctx, n) = (ctx.clone(), n.clone());
                Callback::from(move |t: String| {
                    let n = n.clone();
                    ctx.edit(false, move |d, _| {
                        d.replace_node(&n, &t)?;
                        Ok(format!("replaced nodes.{n}"))
                    })
                })
            };
            let connect = {
                let (ctx, n) = (ctx.clone(), n.clone());
                Callback::from(move |to: String| {
                    let n = n.clone();
                    ctx.edit(true, move |d, _| d.connect(&n, &to));
                })
            };
            let remove_edge = {
                let (ctx, n) = (ctx.clone(), n.clone());
                Callback::from(move |to: String| {
                    let n = n.clone();
                    ctx.edit(true, move |d, _| d.delete_edge(&n, &to));
                })
            };
            html! {
                <Inspector key={n.clone()} node={n.clone()} {kind} {value} {text} {others} {outgoing}
                    editable={props.editable} {check} {apply} {check_text} {apply_text} {connect} {remove_edge} />
            }
        }
        (Selection::Edge { from, to }, Some(doc)) => {
            let kind = p
                .geom
                .edges
                .iter()
                .find(|e| &e.from == from && &e.to == to)
                .map(|e| format!("{:?}", e.kind).to_lowercase())
                .unwrap_or_default();
            let live = p
                .overlay
                .as_ref()
                .and_then(|o| o.edges.get(&(from.clone(), to.clone())))
                .map(|l| l.label());
            let _ = doc;
            html! {
                <section class="editor-inspector" aria-label="Selected arrow">
                    <h3 data-testid="edge-info">{ format!("{from} → {to}") }</h3>
                    <p class="editor-hint">{ format!("kind: {kind}") }</p>
                    if let Some(l) = live { <p class="editor-hint">{ l }</p> }
                </section>
            }
        }
        _ => html! {
            <section class="editor-inspector editor-empty">
                <p class="editor-hint">
                    { "Select a node (click it, or pick it in the list) to see and edit its parameters. " }
                    if props.editable {
                        { "Drag a node to move it; drag from its + handle (or Shift+drag) onto another node to connect them." }
                    }
                </p>
            </section>
        },
    };

    let aria = format!(
        "Topology: {} nodes, {} arrows. Use the node list and the inspector to edit with the keyboard.",
        p.geom.nodes.len(),
        p.geom.edges.len()
    );
    let message = p.message.clone();
    let node_names: Vec<String> = p.geom.nodes.iter().map(|(n, _)| n.clone()).collect();
    drop(p);

    html! {
        <div class="editor" data-testid="topology-panel" {onkeydown}>
            if props.editable {
                <div class="editor-toolbar" role="toolbar" aria-label="Topology editor">
                    <div class="editor-palette" role="group" aria-label="Add a node">{ for palette }</div>
                    <div class="editor-actions" role="group" aria-label="Edit">
                        <button type="button" data-testid="editor-undo" onclick={undo} disabled={!can_undo}
                            title="Undo (Ctrl+Z)">{ "Undo" }</button>
                        <button type="button" data-testid="editor-redo" onclick={redo} disabled={!can_redo}
                            title="Redo (Ctrl+Shift+Z or Ctrl+Y)">{ "Redo" }</button>
                        <button type="button" data-testid="editor-delete" onclick={delete} disabled={!has_sel}
                            title="Delete the selection (Delete)">{ "Delete" }</button>
                    </div>
                </div>
            }
            <div class="editor-body">
                <div class="editor-canvas-wrap">
                    <canvas ref={canvas_ref} class="editor-canvas" data-testid="topology-canvas" tabindex="0"
                        role="img" aria-label={aria}
                        {onpointerdown} {onpointermove} {onpointerup} {onpointercancel}></canvas>
                    <ul class="editor-legend" aria-label="Legend">
                        <li><span class="editor-dot call" aria-hidden="true"></span>{ "request" }</li>
                        <li><span class="editor-dot retry" aria-hidden="true"></span>{ "retry" }</li>
                        <li><span class="editor-ramp" aria-hidden="true"></span>{ "utilisation 0 → 100%" }</li>
                    </ul>
                </div>
                <aside class="editor-side">
                    <label class="editor-node-select">
                        { "Node " }
                        <select data-testid="node-select" onchange={node_select}>
                            <option value="" selected={selected_name.is_empty()}>{ "(none)" }</option>
                            { for node_names.iter().map(|n| html! {
                                <option value={n.clone()} selected={*n == selected_name}>{ n.clone() }</option>
                            }) }
                        </select>
                    </label>
                    { details }
                </aside>
            </div>
            if let Some(m) = message {
                if m.error {
                    <p class="editor-msg error" data-testid="editor-error" role="alert">{ m.text }</p>
                } else {
                    <p class="editor-msg" data-testid="editor-message" role="status">{ m.text }</p>
                }
            }
        </div>
    }
}
