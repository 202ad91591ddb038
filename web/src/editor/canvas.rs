//! Drawing the topology on an HTML canvas (wasm only). All geometry,
//! colours and rates come from the pure `scene` module; this file only
//! turns them into 2D-context calls, sized for the device pixel ratio.

use std::collections::BTreeMap;

use sim_core::NodeKind;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use super::model::{Edge, EdgeKind, Selection};
use super::scene::{
    self, dot_counts, dot_positions, edge_segment, handle_pos, ink_on, kind_style, label_spot,
    node_rect, retry_pattern, rgb_css, viridis, Overlay, Rect, Shape, Viewport, HANDLE_R, NODE_H,
    NODE_W,
};

/// Calls (blue circles) and retries (orange diamonds): colour and shape.
pub const CALL_DOT: &str = "#0072B2";
pub const RETRY_DOT: &str = "#E69F00";
const EDGE: &str = "#4b5563";
const SELECT: &str = "#0072B2";
const TEXT: &str = "#1f2933";
const TEXT_2: &str = "#4b5563";

/// Everything one frame needs.
pub struct Frame<'a> {
    pub nodes: &'a [(String, NodeKind)],
    pub edges: &'a [Edge],
    pub pos: &'a BTreeMap<String, (f64, f64)>,
    pub selection: &'a Selection,
    /// The live layer, if the engine runs this scenario.
    pub overlay: Option<&'a Overlay>,
    /// Animation phase of the dots (0..1, advancing with wall time).
    pub phase: f64,
    /// A connection being dragged: from the node, to a world point.
    pub ghost: Option<(String, (f64, f64))>,
    pub editable: bool,
    /// Keep this viewport (while dragging) instead of refitting.
    pub viewport: Option<Viewport>,
    /// Keep this viewport (after the user moved a node) while it still
    /// shows every node: refitting after a drop made the other nodes jump.
    pub keep: Option<Viewport>,
}

/// Draws `f` on `canvas`; returns the viewport used (for pointer events).
pub fn draw(canvas: &HtmlCanvasElement, f: &Frame) -> Result<Viewport, String> {
    let dpr = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .clamp(1.0, 4.0);
    let (cw, ch) = (canvas.client_width() as f64, canvas.client_height() as f64);
    if cw <= 0.0 || ch <= 0.0 {
        return Ok(f.viewport.unwrap_or_default()); // hidden: nothing to draw
    }
    let (w, h) = ((cw * dpr).round() as u32, (ch * dpr).round() as u32);
    if canvas.width() != w {
        canvas.set_width(w);
    }
    if canvas.height() != h {
        canvas.set_height(h);
    }
    let ctx: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(|e| format!("{e:?}"))?
        .ok_or("this browser has no 2D canvas")?
        .dyn_into()
        .map_err(|_| "not a 2D context".to_string())?;
    ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0)
        .map_err(|e| format!("{e:?}"))?;
    ctx.set_fill_style_str("#ffffff");
    ctx.fill_rect(0.0, 0.0, cw, ch);

    let kept = f.keep.filter(|k| k.shows_all(f.pos.values(), cw, ch));
    let vp = f
        .viewport
        .or(kept)
        .unwrap_or_else(|| Viewport::fit(f.pos.values(), cw, ch));
    let s = vp.scale;
    let font_px = (12.0 * s.clamp(0.75, 1.25)).round();

    // Edges, then their live labels and dots, then nodes on top.
    let mut segs = Vec::with_capacity(f.edges.len());
    for e in f.edges {
        let (Some(&a), Some(&b)) = (f.pos.get(&e.from), f.pos.get(&e.to)) else {
            segs.push(None);
            continue;
        };
        let (a, b) = edge_segment(a, b);
        let (a, b) = (vp.to_screen(a), vp.to_screen(b));
        let selected =
            matches!(f.selection, Selection::Edge { from, to } if *from == e.from && *to == e.to);
        arrow(&ctx, a, b, e.kind, selected, s);
        segs.push(Some((a, b)));
    }
    if let Some(o) = f.overlay {
        let live: Vec<_> = f
            .edges
            .iter()
            .map(|e| o.edges.get(&(e.from.clone(), e.to.clone())).copied())
            .collect();
        let rates: Vec<f64> = live
            .iter()
            .map(|l| l.map_or(0.0, |l| l.calls_per_s))
            .collect();
        let counts = dot_counts(&rates);
        // Labels keep off the nodes and each other.
        let mut taken: Vec<Rect> = f.pos.values().map(|&p| node_rect(&vp, p)).collect();
        for ((seg, l), n) in segs.iter().zip(&live).zip(counts) {
            let (Some((a, b)), Some(l)) = (seg, l) else {
                continue;
            };
            let frac = if l.attempts_per_s > 0.0 {
                l.retries_per_s / l.attempts_per_s
            } else {
                0.0
            };
            let kinds = retry_pattern(n, frac);
            for (t, retry) in dot_positions(n, f.phase).into_iter().zip(kinds) {
                let p = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
                dot(&ctx, p, retry, s);
            }
            taken.push(label(&ctx, *a, *b, &l.label(), font_px, &taken));
        }
    }
    if let Some((from, to)) = &f.ghost {
        if let Some(&a) = f.pos.get(from) {
            let a = vp.to_screen(handle_pos(a));
            let b = vp.to_screen(*to);
            ctx.save();
            ctx.set_line_dash(&dash(&[6.0, 4.0])).ok();
            ctx.set_stroke_style_str(SELECT);
            ctx.set_line_width(2.0);
            ctx.begin_path();
            ctx.move_to(a.0, a.1);
            ctx.line_to(b.0, b.1);
            ctx.stroke();
            ctx.restore();
        }
    }
    for (name, kind) in f.nodes {
        let Some(&p) = f.pos.get(name) else { continue };
        let live = f.overlay.and_then(|o| o.nodes.get(name));
        let selected = matches!(f.selection, Selection::Node(n) if n == name);
        node(
            &ctx, &vp, name, *kind, p, live, selected, f.editable, font_px,
        );
    }
    Ok(vp)
}

fn dash(v: &[f64]) -> JsValue {
    let a = js_sys::Array::new();
    for x in v {
        a.push(&JsValue::from_f64(*x));
    }
    a.into()
}

fn arrow(
    ctx: &CanvasRenderingContext2d,
    a: (f64, f64),
    b: (f64, f64),
    kind: EdgeKind,
    selected: bool,
    s: f64,
) {
    ctx.save();
    let colour = if selected { SELECT } else { EDGE };
    ctx.set_stroke_style_str(colour);
    ctx.set_fill_style_str(colour);
    ctx.set_line_width(if selected { 3.5 } else { 1.6 });
    match kind {
        EdgeKind::Publish | EdgeKind::Handler => {
            ctx.set_line_dash(&dash(&[7.0, 4.0])).ok();
        }
        EdgeKind::Backend => {
            ctx.set_line_dash(&dash(&[2.0, 3.0])).ok();
        }
        _ => {}
    }
    ctx.begin_path();
    ctx.move_to(a.0, a.1);
    ctx.line_to(b.0, b.1);
    ctx.stroke();
    ctx.set_line_dash(&dash(&[])).ok();
    let ang = (b.1 - a.1).atan2(b.0 - a.0);
    let l = (11.0 * s.clamp(0.7, 1.3)) + if selected { 3.0 } else { 0.0 };
    ctx.begin_path();
    ctx.move_to(b.0, b.1);
    ctx.line_to(b.0 - l * (ang - 0.4).cos(), b.1 - l * (ang - 0.4).sin());
    ctx.line_to(b.0 - l * (ang + 0.4).cos(), b.1 - l * (ang + 0.4).sin());
    ctx.close_path();
    ctx.fill();
    ctx.restore();
}

fn dot(ctx: &CanvasRenderingContext2d, (x, y): (f64, f64), retry: bool, s: f64) {
    let r = 3.2 * s.clamp(0.8, 1.3);
    ctx.begin_path();
    if retry {
        let r = r * 1.5;
        ctx.move_to(x, y - r);
        ctx.line_to(x + r, y);
        ctx.line_to(x, y + r);
        ctx.line_to(x - r, y);
        ctx.close_path();
        ctx.set_fill_style_str(RETRY_DOT);
    } else {
        ctx.arc(x, y, r, 0.0, std::f64::consts::TAU).ok();
        ctx.set_fill_style_str(CALL_DOT);
    }
    ctx.fill();
    ctx.set_stroke_style_str("#ffffff");
    ctx.set_line_width(0.8);
    ctx.stroke();
}

/// Draws an edge's label where it covers nothing in `taken`; returns its box.
fn label(
    ctx: &CanvasRenderingContext2d,
    a: (f64, f64),
    b: (f64, f64),
    text: &str,
    font_px: f64,
    taken: &[Rect],
) -> Rect {
    ctx.save();
    ctx.set_font(&format!("{}px system-ui, sans-serif", font_px - 1.0));
    ctx.set_text_align("center");
    ctx.set_text_baseline("middle");
    let w = ctx.measure_text(text).map_or(60.0, |m| m.width()) + 6.0;
    let h = font_px + 4.0;
    let (x, y) = label_spot(a, b, w, h, taken);
    ctx.set_fill_style_str("rgba(255,255,255,0.88)");
    ctx.fill_rect(x - w / 2.0, y - h / 2.0, w, h);
    ctx.set_fill_style_str(TEXT);
    ctx.fill_text(text, x, y).ok();
    ctx.restore();
    (x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0)
}

fn shape_path(ctx: &CanvasRenderingContext2d, shape: Shape, cx: f64, cy: f64, w: f64, h: f64) {
    let (x0, y0, x1, y1) = (cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0);
    ctx.begin_path();
    match shape {
        Shape::Pentagon => {
            let tip = h * 0.45;
            ctx.move_to(x0, y0);
            ctx.line_to(x1 - tip, y0);
            ctx.line_to(x1, cy);
            ctx.line_to(x1 - tip, y1);
            ctx.line_to(x0, y1);
            ctx.close_path();
        }
        Shape::RoundedRect | Shape::Slotted => {
            let r = if shape == Shape::Slotted {
                3.0
            } else {
                (h * 0.22).min(14.0)
            };
            ctx.move_to(x0 + r, y0);
            ctx.arc_to(x1, y0, x1, y1, r).ok();
            ctx.arc_to(x1, y1, x0, y1, r).ok();
            ctx.arc_to(x0, y1, x0, y0, r).ok();
            ctx.arc_to(x0, y0, x1, y0, r).ok();
            ctx.close_path();
        }
        Shape::Hexagon => {
            let d = h * 0.35;
            ctx.move_to(x0 + d, y0);
            ctx.line_to(x1 - d, y0);
            ctx.line_to(x1, cy);
            ctx.line_to(x1 - d, y1);
            ctx.line_to(x0 + d, y1);
            ctx.line_to(x0, cy);
            ctx.close_path();
        }
        Shape::Cylinder => {
            let ry = h * 0.14;
            ctx.move_to(x0, y0 + ry);
            ctx.line_to(x0, y1 - ry);
            let pi = std::f64::consts::PI;
            ctx.ellipse_with_anticlockwise(cx, y1 - ry, w / 2.0, ry, 0.0, pi, 0.0, true)
                .ok();
            ctx.line_to(x1, y0 + ry);
            ctx.ellipse_with_anticlockwise(cx, y0 + ry, w / 2.0, ry, 0.0, 0.0, pi, true)
                .ok();
            ctx.close_path();
            // the lid's front rim
            ctx.move_to(x0, y0 + ry);
            ctx.ellipse_with_anticlockwise(cx, y0 + ry, w / 2.0, ry, 0.0, pi, 0.0, true)
                .ok();
        }
        Shape::Circle => {
            ctx.ellipse(
                cx,
                cy,
                w / 2.0,
                h / 2.0 + 4.0,
                0.0,
                0.0,
                std::f64::consts::TAU,
            )
            .ok();
        }
        Shape::Diamond => {
            ctx.move_to(cx, y0 - 4.0);
            ctx.line_to(x1, cy);
            ctx.line_to(cx, y1 + 4.0);
            ctx.line_to(x0, cy);
            ctx.close_path();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn node(
    ctx: &CanvasRenderingContext2d,
    vp: &Viewport,
    name: &str,
    kind: NodeKind,
    p: (f64, f64),
    live: Option<&scene::NodeLive>,
    selected: bool,
    editable: bool,
    font_px: f64,
) {
    let st = kind_style(kind);
    let (cx, cy) = vp.to_screen(p);
    let (w, h) = (NODE_W * vp.scale, NODE_H * vp.scale);
    let fill = match live {
        Some(l) => viridis(l.utilisation),
        None => (0xff, 0xff, 0xff),
    };
    ctx.save();
    if selected {
        shape_path(ctx, st.shape, cx, cy, w + 12.0, h + 12.0);
        ctx.set_line_dash(&dash(&[5.0, 3.0])).ok();
        ctx.set_stroke_style_str(SELECT);
        ctx.set_line_width(2.0);
        ctx.stroke();
        ctx.set_line_dash(&dash(&[])).ok();
    }
    shape_path(ctx, st.shape, cx, cy, w, h);
    ctx.set_fill_style_str(&rgb_css(fill));
    ctx.fill();
    ctx.set_stroke_style_str(st.colour);
    ctx.set_line_width(4.0);
    ctx.stroke();
    if st.shape == Shape::Slotted {
        // the queue's slots
        ctx.set_line_width(2.0);
        for i in 1..=3 {
            let x = cx + w / 2.0 - i as f64 * w * 0.09;
            ctx.begin_path();
            ctx.move_to(x, cy - h * 0.32);
            ctx.line_to(x, cy + h * 0.32);
            ctx.stroke();
        }
    }
    ctx.set_text_align("center");
    ctx.set_text_baseline("middle");
    ctx.set_fill_style_str(ink_on(fill));
    ctx.set_font(&format!("700 {}px system-ui, sans-serif", font_px + 2.0));
    ctx.fill_text(
        st.glyph,
        cx,
        cy - if live.is_some() { h * 0.14 } else { 0.0 },
    )
    .ok();
    if let Some(l) = live {
        ctx.set_font(&format!("{}px system-ui, sans-serif", font_px - 1.0));
        ctx.fill_text(&format!("{:.0}%", l.utilisation * 100.0), cx, cy + h * 0.22)
            .ok();
    }
    let below =
        cy + h / 2.0 + 6.0 + font_px / 2.0 + if st.shape == Shape::Circle { 4.0 } else { 0.0 };
    ctx.set_fill_style_str(TEXT);
    ctx.set_font(&format!("600 {font_px}px system-ui, sans-serif"));
    ctx.fill_text(name, cx, below).ok();
    if let Some(l) = live {
        ctx.set_fill_style_str(TEXT_2);
        ctx.set_font(&format!("{}px system-ui, sans-serif", font_px - 1.0));
        ctx.fill_text(&l.metric, cx, below + font_px + 2.0).ok();
    }
    if editable && kind != NodeKind::Database && kind != NodeKind::Cache {
        // The connect handle: drag from it to another node.
        let (hx, hy) = vp.to_screen(handle_pos(p));
        ctx.begin_path();
        ctx.arc(
            hx,
            hy,
            HANDLE_R * vp.scale.clamp(0.7, 1.2),
            0.0,
            std::f64::consts::TAU,
        )
        .ok();
        ctx.set_fill_style_str("#ffffff");
        ctx.fill();
        ctx.set_stroke_style_str(st.colour);
        ctx.set_line_width(2.5);
        ctx.stroke();
        ctx.set_fill_style_str(TEXT);
        ctx.set_font(&format!("700 {font_px}px system-ui, sans-serif"));
        ctx.fill_text("+", hx, hy + 0.5).ok();
    }
    ctx.restore();
}
