//! The topology editor in a real browser: mount `TopologyPanel`, click
//! through the palette, the inspector and the keyboard, and check what
//! `on_apply` receives and that the canvas is drawn.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use sim_core::{Scenario, Sim};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{
    CanvasRenderingContext2d, HtmlCanvasElement, HtmlElement, HtmlInputElement, HtmlSelectElement,
    HtmlTextAreaElement,
};
use yew::prelude::*;

use web::editor::model::EditorDoc;
use web::editor::scene::{viridis, Viewport, NODE_W};
use web::editor::{TopologyPanel, TopologyPanelProps};

wasm_bindgen_test_configure!(run_in_browser);

const CHAIN: &str = r#"
version = 1
name = "chain"
duration_s = 60
[nodes.clients]
kind = "source"
target = "api"
arrival = { process = "poisson", rate = 50 }
[nodes.api]
kind = "service"
workers = 4
steps = [ { compute = { dist = "exponential", mean_s = 0.01 } }, { query = { db = "db", table = "users" } } ]
[nodes.db]
kind = "database"
tables = { users = { rows = 1000 } }
"#;

fn doc() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// The element with `data-testid` inside `root`.
fn by_testid(root: &web_sys::Element, id: &str) -> Option<HtmlElement> {
    root.query_selector(&format!("[data-testid=\"{id}\"]"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into().ok())
}

async fn wait_for(mut cond: impl FnMut() -> bool, ms: u32) -> bool {
    let mut waited = 0;
    while waited < ms {
        if cond() {
            return true;
        }
        TimeoutFuture::new(25).await;
        waited += 25;
    }
    cond()
}

/// Waits until the inspector shows node `name`.
async fn inspecting(root: &web_sys::Element, name: &str) -> bool {
    wait_for(
        || by_testid(root, "inspector-node").and_then(|e| e.text_content()) == Some(name.into()),
        2_000,
    )
    .await
}

/// Picks node `name` in the node list and waits for the inspector to show it.
async fn select_node(root: &web_sys::Element, name: &str) {
    choose(&by_testid(root, "node-select").unwrap(), name);
    assert!(
        inspecting(root, name).await,
        "the inspector did not show {name}"
    );
}

fn bubbling(kind: &str) -> web_sys::Event {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    web_sys::Event::new_with_event_init_dict(kind, &init).unwrap()
}

fn key(el: &HtmlElement, key: &str, ctrl: bool, shift: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_ctrl_key(ctrl);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let ev = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    el.dispatch_event(&ev).unwrap();
}

fn type_into(el: &HtmlElement, text: &str) {
    el.clone()
        .dyn_into::<HtmlInputElement>()
        .unwrap()
        .set_value(text);
    el.dispatch_event(&bubbling("input")).unwrap();
}

fn choose(el: &HtmlElement, value: &str) {
    el.clone()
        .dyn_into::<HtmlSelectElement>()
        .unwrap()
        .set_value(value);
    el.dispatch_event(&bubbling("change")).unwrap();
}

/// Pixels of the canvas that are not the white background.
fn inked_pixels(canvas: &HtmlCanvasElement) -> usize {
    let ctx: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    let (w, h) = (canvas.width(), canvas.height());
    if w == 0 || h == 0 {
        return 0;
    }
    let data = ctx
        .get_image_data(0.0, 0.0, w as f64, h as f64)
        .unwrap()
        .data();
    data.chunks(4)
        .filter(|p| p[3] > 0 && (p[0] < 235 || p[1] < 235 || p[2] < 235))
        .count()
}

/// A pixel at CSS coordinates of the canvas.
fn pixel(canvas: &HtmlCanvasElement, x: f64, y: f64) -> [u8; 4] {
    let ctx: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    let dpr = canvas.width() as f64 / canvas.client_width() as f64;
    let d = ctx
        .get_image_data((x * dpr).round(), (y * dpr).round(), 1.0, 1.0)
        .unwrap()
        .data();
    [d[0], d[1], d[2], d[3]]
}

/// What `on_apply` and `on_error` received.
type Log = Rc<RefCell<Vec<String>>>;

fn mount(
    scenario: &str,
    snapshot: Option<Rc<sim_core::Snapshot>>,
    topology: Option<Rc<sim_core::Topology>>,
) -> (web_sys::Element, Log, Log) {
    // The page's stylesheet, so the canvas has its real size.
    if doc().get_element_by_id("app-css").is_none() {
        let style = doc().create_element("style").unwrap();
        style.set_id("app-css");
        style.set_text_content(Some(include_str!("../../assets/styles/app.css")));
        doc().head().unwrap().append_child(&style).unwrap();
    }
    let root = doc().create_element("div").unwrap();
    root.set_attribute("style", "width: 1100px").unwrap();
    doc().body().unwrap().append_child(&root).unwrap();
    let applied = Rc::new(RefCell::new(Vec::new()));
    let errors = Rc::new(RefCell::new(Vec::new()));
    let (a, e) = (applied.clone(), errors.clone());
    let props = TopologyPanelProps {
        scenario: Rc::new(scenario.to_string()),
        snapshot,
        topology,
        editable: true,
        on_apply: Callback::from(move |t: String| a.borrow_mut().push(t)),
        on_error: Some(Callback::from(move |t: String| e.borrow_mut().push(t))),
        on_layout: None,
    };
    yew::Renderer::<TopologyPanel>::with_root_and_props(root.clone(), props).render();
    (root, applied, errors)
}

#[wasm_bindgen_test]
async fn palette_adds_a_node_and_canvas_draws() {
    let (root, applied, _) = mount(CHAIN, None, None);
    assert!(
        wait_for(|| by_testid(&root, "palette-service").is_some(), 3_000).await,
        "panel did not mount"
    );
    let canvas: HtmlCanvasElement = by_testid(&root, "topology-canvas")
        .unwrap()
        .dyn_into()
        .unwrap();
    // The three nodes are drawn: plenty of non-white pixels, and the
    // backing store follows the CSS size (x devicePixelRatio).
    assert!(
        wait_for(|| inked_pixels(&canvas) > 2_000, 3_000).await,
        "canvas is blank: {} inked pixels, {}x{}",
        inked_pixels(&canvas),
        canvas.width(),
        canvas.height()
    );
    assert!(canvas.client_height() >= 400, "{}", canvas.client_height());
    let before = inked_pixels(&canvas);

    by_testid(&root, "palette-service").unwrap().click();
    assert!(
        wait_for(|| !applied.borrow().is_empty(), 3_000).await,
        "on_apply was not called"
    );
    let toml = applied.borrow().last().unwrap().clone();
    let sc = Scenario::from_toml_str(&toml).expect("on_apply got a scenario that builds");
    assert_eq!(sc.nodes.len(), 4, "{toml}");
    assert!(sc.nodes.contains_key("service"), "{toml}");
    // The new node is selected and shown in the inspector, and drawn.
    assert!(inspecting(&root, "service").await);
    assert!(
        wait_for(|| inked_pixels(&canvas) > before, 2_000).await,
        "the new node was not drawn"
    );
    root.remove();
}

#[wasm_bindgen_test]
async fn inspector_validates_connects_deletes_and_undoes() {
    let (root, applied, errors) = mount(CHAIN, None, None);
    assert!(wait_for(|| by_testid(&root, "node-select").is_some(), 3_000).await);
    choose(&by_testid(&root, "node-select").unwrap(), "api");
    assert!(
        wait_for(|| by_testid(&root, "field-workers").is_some(), 2_000).await,
        "inspector did not open"
    );
    // Every leaf has a labelled input.
    for f in [
        "field-kind",
        "field-steps.0.compute.mean_s",
        "field-steps.1.query.table",
    ] {
        let el = by_testid(&root, f).unwrap_or_else(|| panic!("{f} missing"));
        let id = el.id();
        assert!(
            root.query_selector(&format!("label[for=\"{id}\"]"))
                .unwrap()
                .is_some(),
            "{f} has no label"
        );
    }

    // An invalid value: error under the field, nothing applied.
    let workers = by_testid(&root, "field-workers").unwrap();
    type_into(&workers, "0");
    assert!(
        wait_for(|| by_testid(&root, "inspector-error").is_some(), 2_000).await,
        "no inline error"
    );
    let err = by_testid(&root, "inspector-error")
        .unwrap()
        .text_content()
        .unwrap();
    assert!(err.contains("nodes.api.workers"), "{err}");
    key(&workers, "Enter", false, false);
    TimeoutFuture::new(50).await;
    assert!(applied.borrow().is_empty(), "an invalid edit was applied");

    // A valid value applies on Enter.
    type_into(&workers, "12");
    assert!(wait_for(|| by_testid(&root, "inspector-error").is_none(), 2_000).await);
    key(&workers, "Enter", false, false);
    assert!(wait_for(|| applied.borrow().len() == 1, 2_000).await);
    let sc = Scenario::from_toml_str(applied.borrow().last().unwrap()).unwrap();
    assert!(matches!(&sc.nodes["api"], sim_core::NodeSpec::Service(s) if s.workers == 12));

    // Connect by keyboard: add an external, then api -> external.
    by_testid(&root, "palette-external").unwrap().click();
    assert!(wait_for(|| applied.borrow().len() == 2, 2_000).await);
    // (the new node is selected: wait for that render before going on)
    assert!(inspecting(&root, "external").await);
    select_node(&root, "api").await;
    choose(&by_testid(&root, "connect-target").unwrap(), "external");
    by_testid(&root, "connect-go").unwrap().click();
    assert!(
        wait_for(|| applied.borrow().len() == 3, 2_000).await,
        "connect not applied: errors {:?}, message {:?}, select {:?}",
        errors.borrow(),
        by_testid(&root, "editor-message").and_then(|e| e.text_content()),
        by_testid(&root, "connect-target").map(|e| e.outer_html())
    );
    let t = applied.borrow().last().unwrap().clone();
    let sc = Scenario::from_toml_str(&t).unwrap();
    let api = match &sc.nodes["api"] {
        sim_core::NodeSpec::Service(s) => s.clone(),
        _ => unreachable!(),
    };
    assert_eq!(api.steps.len(), 3, "{t}");
    assert!(wait_for(|| by_testid(&root, "edge-remove-external").is_some(), 2_000).await);

    // A bad pair is refused with a message and changes nothing.
    select_node(&root, "db").await;
    choose(&by_testid(&root, "connect-target").unwrap(), "api");
    by_testid(&root, "connect-go").unwrap().click();
    assert!(wait_for(|| by_testid(&root, "editor-error").is_some(), 2_000).await);
    assert_eq!(applied.borrow().len(), 3);
    assert!(errors.borrow().last().unwrap().contains("does not call"));

    // Delete the external with the keyboard: the call step goes too.
    choose(&by_testid(&root, "node-select").unwrap(), "external");
    let canvas = by_testid(&root, "topology-canvas").unwrap();
    canvas.focus().unwrap();
    key(&canvas, "Delete", false, false);
    assert!(wait_for(|| applied.borrow().len() == 4, 2_000).await);
    let sc = Scenario::from_toml_str(applied.borrow().last().unwrap()).unwrap();
    assert!(!sc.nodes.contains_key("external"));
    assert!(matches!(&sc.nodes["api"], sim_core::NodeSpec::Service(s) if s.steps.len() == 2));

    // Ctrl+Z brings it back (the same scenario as before the delete);
    // Ctrl+Y removes it again; the Undo button undoes.
    key(&canvas, "z", true, false);
    assert!(wait_for(|| applied.borrow().len() == 5, 2_000).await);
    assert_eq!(applied.borrow()[4], applied.borrow()[2]);
    key(&canvas, "y", true, false);
    assert!(wait_for(|| applied.borrow().len() == 6, 2_000).await);
    assert_eq!(applied.borrow()[5], applied.borrow()[3]);
    by_testid(&root, "editor-undo").unwrap().click();
    assert!(wait_for(|| applied.borrow().len() == 7, 2_000).await);
    assert_eq!(applied.borrow()[6], applied.borrow()[2]);

    // A blur and a Ctrl+Enter right after typing, in the same task (no
    // render in between): they act on what was typed, not on the last render.
    select_node(&root, "api").await;
    let workers = by_testid(&root, "field-workers").unwrap();
    workers.focus().unwrap();
    type_into(&workers, "7");
    workers.blur().unwrap();
    assert!(
        wait_for(|| applied.borrow().len() == 8, 2_000).await,
        "the blur right after typing did not apply"
    );
    let sc = Scenario::from_toml_str(applied.borrow().last().unwrap()).unwrap();
    assert!(matches!(&sc.nodes["api"], sim_core::NodeSpec::Service(s) if s.workers == 7));
    assert!(
        wait_for(
            || by_testid(&root, "node-raw")
                .and_then(|t| t.dyn_into::<HtmlTextAreaElement>().ok())
                .is_some_and(|t| t.value().contains("workers = 7")),
            2_000
        )
        .await
    );
    let raw: HtmlTextAreaElement = by_testid(&root, "node-raw").unwrap().dyn_into().unwrap();
    let edited = raw.value().replace("workers = 7", "workers = 5");
    assert_ne!(edited, raw.value());
    raw.set_value(&edited);
    raw.dispatch_event(&bubbling("input")).unwrap();
    key(&raw, "Enter", true, false);
    assert!(
        wait_for(|| applied.borrow().len() == 9, 2_000).await,
        "Ctrl+Enter right after typing did not apply"
    );
    let sc = Scenario::from_toml_str(applied.borrow().last().unwrap()).unwrap();
    assert!(matches!(&sc.nodes["api"], sim_core::NodeSpec::Service(s) if s.workers == 5));
    root.remove();
}

/// Where the panel draws `name`: the same pure layout and fit it uses.
fn screen_pos(canvas: &HtmlCanvasElement, name: &str) -> ((f64, f64), f64) {
    let d = EditorDoc::parse(CHAIN).unwrap();
    let pos = d.positions();
    let vp = Viewport::fit(
        pos.values(),
        canvas.client_width() as f64,
        canvas.client_height() as f64,
    );
    (vp.to_screen(pos[name]), vp.scale)
}

fn pointer(canvas: &HtmlCanvasElement, kind: &str, (x, y): (f64, f64), shift: bool) {
    let r = canvas.get_bounding_client_rect();
    let init = web_sys::PointerEventInit::new();
    init.set_pointer_id(1);
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_client_x((r.left() + x).round() as i32);
    init.set_client_y((r.top() + y).round() as i32);
    init.set_shift_key(shift);
    init.set_button(0);
    let ev = web_sys::PointerEvent::new_with_event_init_dict(kind, &init).unwrap();
    canvas.dispatch_event(&ev).unwrap();
}

#[wasm_bindgen_test]
async fn live_overlay_fills_by_utilisation_and_drag_connects() {
    let sc = Scenario::from_toml_str(CHAIN).unwrap();
    let mut sim = Sim::new(&sc, 1).unwrap();
    let topo = Rc::new(sim.topology());
    sim.run_until(5_000_000_000).unwrap();
    let snap = Rc::new(sim.snapshot());
    let util = snap
        .nodes
        .iter()
        .find(|n| n.name == "api")
        .unwrap()
        .utilisation;
    assert!(util > 0.0, "the api did some work");
    let (root, applied, errors) = mount(CHAIN, Some(snap.clone()), Some(topo.clone()));
    assert!(wait_for(|| by_testid(&root, "topology-canvas").is_some(), 3_000).await);
    let canvas: HtmlCanvasElement = by_testid(&root, "topology-canvas")
        .unwrap()
        .dyn_into()
        .unwrap();
    assert!(wait_for(|| inked_pixels(&canvas) > 2_000, 3_000).await);
    // Inside the api's box, left of its glyph: the utilisation colour.
    let ((cx, cy), s) = screen_pos(&canvas, "api");
    let inside = (cx - NODE_W * s / 2.0 + 12.0, cy);
    let want = viridis(util.clamp(0.0, 1.0));
    let got = pixel(&canvas, inside.0, inside.1);
    let close = |a: u8, b: u8| a.abs_diff(b) <= 3;
    assert!(
        close(got[0], want.0) && close(got[1], want.1) && close(got[2], want.2),
        "api fill {got:?}, want viridis({util}) = {want:?}"
    );

    // Drag from the source's + handle onto the database: a bad pair,
    // refused with a message; nothing applied.
    let ((sx, sy), _) = screen_pos(&canvas, "clients");
    let handle = (sx + NODE_W * s / 2.0, sy);
    let ((dx, dy), _) = screen_pos(&canvas, "db");
    pointer(&canvas, "pointerdown", handle, false);
    pointer(
        &canvas,
        "pointermove",
        ((handle.0 + dx) / 2.0, (handle.1 + dy) / 2.0),
        false,
    );
    pointer(&canvas, "pointerup", (dx, dy), false);
    assert!(
        wait_for(|| !errors.borrow().is_empty(), 2_000).await,
        "the drag did not try to connect"
    );
    assert!(
        errors.borrow()[0].contains("nodes.clients"),
        "{:?}",
        errors.borrow()
    );
    assert!(applied.borrow().is_empty());

    // Drag the db down by 60 px: on_apply gets a [layout] with it moved.
    pointer(&canvas, "pointerdown", (dx, dy), false);
    pointer(&canvas, "pointermove", (dx, dy + 30.0), false);
    pointer(&canvas, "pointermove", (dx, dy + 60.0), false);
    pointer(&canvas, "pointerup", (dx, dy + 60.0), false);
    assert!(
        wait_for(|| applied.borrow().len() == 1, 2_000).await,
        "move not applied"
    );
    let moved = Scenario::from_toml_str(&applied.borrow()[0]).unwrap();
    assert_eq!(moved.layout.len(), 3);
    let d = EditorDoc::parse(CHAIN).unwrap().positions();
    let dy_world = moved.layout["db"].y - d["db"].1;
    assert!(
        (dy_world - 60.0 / s).abs() < 2.0,
        "moved by {dy_world}, scale {s}"
    );
    assert_eq!(moved.layout["api"].y, d["api"].1.round());
    root.remove();
}
