//! The topology drawing's pure geometry and live overlay: automatic layout,
//! the fit-to-canvas viewport, hit tests, kind styles, the sequential colour
//! scale, per-edge rates from two snapshots and the animated dots. No DOM:
//! `canvas.rs` turns these into pixels.

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use sim_core::{NodeKind, NodeSnapshot, Snapshot, Topology};

use super::model::Edge;

/// Node box in layout units (the drawing scales it with the rest).
pub const NODE_W: f64 = 124.0;
pub const NODE_H: f64 = 64.0;
/// Automatic layout spacing.
pub const COL_GAP: f64 = 230.0;
pub const ROW_GAP: f64 = 130.0;
/// Most animated dots on the whole canvas.
pub const MAX_DOTS: usize = 400;
/// Most dots on one edge.
pub const MAX_DOTS_PER_EDGE: usize = 40;
/// Rates are measured over at least this much simulated time.
pub const RATE_WINDOW_S: f64 = 1.0;

/// How a node kind looks: shape, glyph and Okabe–Ito colour, so that no
/// kind is told apart by colour alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A "home plate" pointing right.
    Pentagon,
    RoundedRect,
    Hexagon,
    Cylinder,
    Circle,
    /// A rectangle with slots (a queue).
    Slotted,
    Diamond,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindStyle {
    pub shape: Shape,
    pub glyph: &'static str,
    pub colour: &'static str,
}

pub fn kind_style(kind: NodeKind) -> KindStyle {
    let (shape, glyph, colour) = match kind {
        NodeKind::Source => (Shape::Pentagon, "SRC", "#0072B2"),
        NodeKind::Service => (Shape::RoundedRect, "SVC", "#009E73"),
        NodeKind::External => (Shape::Hexagon, "EXT", "#CC79A7"),
        NodeKind::Database => (Shape::Cylinder, "DB", "#D55E00"),
        NodeKind::Cache => (Shape::Circle, "$", "#E69F00"),
        NodeKind::Broker => (Shape::Slotted, "MQ", "#000000"),
        NodeKind::LoadBalancer => (Shape::Diamond, "LB", "#56B4E9"),
    };
    KindStyle {
        shape,
        glyph,
        colour,
    }
}

/// Parses "load_balancer" into a kind.
pub fn parse_kind(s: &str) -> Option<NodeKind> {
    NodeKind::ALL.iter().copied().find(|k| k.as_str() == s)
}

/// Viridis (colour-blind safe, monotone in lightness), light at 0 and dark
/// at 1: the utilisation fill.
pub fn viridis(t: f64) -> (u8, u8, u8) {
    const STOPS: [(u8, u8, u8); 5] = [
        (0xfd, 0xe7, 0x25),
        (0x5e, 0xc9, 0x62),
        (0x21, 0x91, 0x8c),
        (0x3b, 0x52, 0x8b),
        (0x44, 0x01, 0x54),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    (lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

pub fn rgb_css((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Black or white, whichever reads better on `bg`.
pub fn ink_on((r, g, b): (u8, u8, u8)) -> &'static str {
    let lum = 0.2126 * r as f64 + 0.7152 * g as f64 + 0.0722 * b as f64;
    if lum > 140.0 {
        "#111111"
    } else {
        "#ffffff"
    }
}

/// Layered layout by call depth: sources in column 0, each node one column
/// right of its deepest caller, databases and caches in the last column.
/// Within a column nodes are ordered by their callers' rows (fewer
/// crossings), then by name; columns are centred vertically.
pub fn auto_layout(nodes: &[(String, NodeKind)], edges: &[Edge]) -> BTreeMap<String, (f64, f64)> {
    let mut depth: BTreeMap<&str, usize> = nodes
        .iter()
        .map(|(n, k)| (n.as_str(), usize::from(*k != NodeKind::Source)))
        .collect();
    // Longest path, relaxed at most |nodes| times (so a cycle cannot loop).
    for _ in 0..nodes.len() {
        let mut changed = false;
        for e in edges {
            let (Some(&df), Some(&dt)) = (depth.get(e.from.as_str()), depth.get(e.to.as_str()))
            else {
                continue;
            };
            if dt < df + 1 && df < nodes.len() {
                depth.insert(e.to.as_str(), df + 1);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let is_store = |k: NodeKind| matches!(k, NodeKind::Database | NodeKind::Cache);
    let last = nodes
        .iter()
        .filter(|(_, k)| !is_store(*k))
        .map(|(n, _)| depth[n.as_str()])
        .max()
        .unwrap_or(0)
        + 1;
    let mut cols: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (n, k) in nodes {
        let c = if is_store(*k) {
            last.max(depth[n.as_str()])
        } else {
            depth[n.as_str()]
        };
        cols.entry(c).or_default().push(n.as_str());
    }
    let mut row: BTreeMap<&str, f64> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (c, mut names) in cols {
        let key = |n: &str| -> f64 {
            let ys: Vec<f64> = edges
                .iter()
                .filter(|e| e.to == n)
                .filter_map(|e| row.get(e.from.as_str()).copied())
                .collect();
            if ys.is_empty() {
                f64::MAX
            } else {
                ys.iter().sum::<f64>() / ys.len() as f64
            }
        };
        names.sort_by(|a, b| key(a).total_cmp(&key(b)).then(a.cmp(b)));
        let h = (names.len() as f64 - 1.0) * ROW_GAP;
        for (i, n) in names.iter().enumerate() {
            let y = i as f64 * ROW_GAP - h / 2.0;
            row.insert(n, y);
            out.insert(n.to_string(), (c as f64 * COL_GAP, y));
        }
    }
    out
}

/// Layout units to canvas pixels (CSS pixels): `screen = world * scale + offset`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewport {
    pub scale: f64,
    pub ox: f64,
    pub oy: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport {
            scale: 1.0,
            ox: 0.0,
            oy: 0.0,
        }
    }
}

impl Viewport {
    /// Fits every node box (plus a margin for labels) into `w` x `h`,
    /// centred, never magnifying beyond 1.5x.
    pub fn fit<'a>(pos: impl IntoIterator<Item = &'a (f64, f64)>, w: f64, h: f64) -> Viewport {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &(x, y) in pos {
            x0 = x0.min(x - NODE_W / 2.0);
            x1 = x1.max(x + NODE_W / 2.0);
            y0 = y0.min(y - NODE_H / 2.0);
            y1 = y1.max(y + NODE_H / 2.0 + 34.0); // name and metric under the box
        }
        if x0 > x1 || w <= 0.0 || h <= 0.0 {
            return Viewport::default();
        }
        let margin = 24.0;
        let (bw, bh) = ((x1 - x0).max(1.0), (y1 - y0).max(1.0));
        let scale = ((w - 2.0 * margin) / bw)
            .min((h - 2.0 * margin) / bh)
            .clamp(0.05, 1.5);
        Viewport {
            scale,
            ox: (w - bw * scale) / 2.0 - x0 * scale,
            oy: (h - bh * scale) / 2.0 - y0 * scale,
        }
    }

    pub fn to_screen(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (x * self.scale + self.ox, y * self.scale + self.oy)
    }

    pub fn to_world(&self, (x, y): (f64, f64)) -> (f64, f64) {
        ((x - self.ox) / self.scale, (y - self.oy) / self.scale)
    }
}

/// The node whose box contains the world point (the last drawn wins).
pub fn hit_node(pos: &BTreeMap<String, (f64, f64)>, (x, y): (f64, f64)) -> Option<String> {
    pos.iter()
        .rev()
        .find(|(_, &(nx, ny))| (x - nx).abs() <= NODE_W / 2.0 && (y - ny).abs() <= NODE_H / 2.0)
        .map(|(n, _)| n.clone())
}

/// A box on the screen: (left, top, right, bottom).
pub type Rect = (f64, f64, f64, f64);

/// What a node covers on the screen: its box, and its name and metric
/// under it.
pub fn node_rect(vp: &Viewport, p: (f64, f64)) -> Rect {
    let (x, y) = vp.to_screen(p);
    let (w, h) = (NODE_W * vp.scale / 2.0, NODE_H * vp.scale / 2.0);
    (x - w, y - h, x + w, y + h + 34.0 * vp.scale)
}

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Where the label of the edge a -> b (screen points) goes: the centre of
/// a `w` x `h` box beside the line, left of the direction of travel (the
/// two directions of a pair take opposite sides), at the first of a few
/// spots from the middle outwards, then on the other side, that covers no
/// box in `taken` (nodes, labels placed before); the middle if none is free.
pub fn label_spot(a: (f64, f64), b: (f64, f64), w: f64, h: f64, taken: &[Rect]) -> (f64, f64) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = dx.hypot(dy).max(1.0);
    let (nx, ny) = (dy / len, -dx / len);
    // Far enough from the line for the box's half-extent across it.
    let off = 6.0 + (nx * w / 2.0).abs() + (ny * h / 2.0).abs();
    let spot = |t: f64, side: f64| {
        let (mx, my) = (a.0 + dx * t, a.1 + dy * t);
        (mx + nx * off * side, my + ny * off * side)
    };
    let free = |(x, y): (f64, f64)| {
        let r = (x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0);
        !taken.iter().any(|&t| overlaps(r, t))
    };
    for side in [1.0, -1.0] {
        for t in [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8] {
            if free(spot(t, side)) {
                return spot(t, side);
            }
        }
    }
    spot(0.5, 1.0)
}

impl Viewport {
    /// Every node (box, name and metric) lies within a `cw` x `ch` canvas.
    pub fn shows_all<'a>(
        &self,
        pos: impl IntoIterator<Item = &'a (f64, f64)>,
        cw: f64,
        ch: f64,
    ) -> bool {
        pos.into_iter().all(|&p| {
            let r = node_rect(self, p);
            r.0 >= 0.0 && r.1 >= 0.0 && r.2 <= cw && r.3 <= ch
        })
    }
}

/// The connect handle of a node: a small circle on its right edge.
pub fn handle_pos((x, y): (f64, f64)) -> (f64, f64) {
    (x + NODE_W / 2.0, y)
}
pub const HANDLE_R: f64 = 9.0;

/// The node whose connect handle is at the world point.
pub fn hit_handle(pos: &BTreeMap<String, (f64, f64)>, p: (f64, f64)) -> Option<String> {
    pos.iter()
        .find(|(_, &q)| {
            let h = handle_pos(q);
            (p.0 - h.0).hypot(p.1 - h.1) <= HANDLE_R * 1.4
        })
        .map(|(n, _)| n.clone())
}

/// Where an arrow between two node centres leaves and enters the boxes.
pub fn clip_to_box(from: (f64, f64), to: (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    if dx == 0.0 && dy == 0.0 {
        return from;
    }
    let (hw, hh) = (NODE_W / 2.0 + 4.0, NODE_H / 2.0 + 4.0);
    let t = (hw / dx.abs()).min(hh / dy.abs()).min(1.0);
    (from.0 + dx * t, from.1 + dy * t)
}

/// An edge's drawn segment (start, end), clipped to the node boxes.
pub fn edge_segment(a: (f64, f64), b: (f64, f64)) -> ((f64, f64), (f64, f64)) {
    (clip_to_box(a, b), clip_to_box(b, a))
}

fn dist_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (vx, vy) = (b.0 - a.0, b.1 - a.1);
    let len2 = vx * vx + vy * vy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * vx + (p.1 - a.1) * vy) / len2).clamp(0.0, 1.0)
    };
    (p.0 - a.0 - t * vx).hypot(p.1 - a.1 - t * vy)
}

/// The edge within `tol` (world units) of the point, nearest first.
pub fn hit_edge(
    pos: &BTreeMap<String, (f64, f64)>,
    edges: &[Edge],
    p: (f64, f64),
    tol: f64,
) -> Option<usize> {
    edges
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let (a, b) = edge_segment(*pos.get(&e.from)?, *pos.get(&e.to)?);
            let d = dist_to_segment(p, a, b);
            (d <= tol).then_some((i, d))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// Keeps recent snapshots so that rates are measured over at least
/// [`RATE_WINDOW_S`] of simulated time (one frame apart is too noisy).
#[derive(Clone, Debug, Default)]
pub struct RateTracker {
    history: VecDeque<Rc<Snapshot>>,
}

impl RateTracker {
    /// Records `snap`; a clock that went back (a restart) forgets the past.
    pub fn push(&mut self, snap: Rc<Snapshot>) {
        if let Some(last) = self.history.back() {
            if Rc::ptr_eq(last, &snap) {
                return;
            }
            if snap.t_s < last.t_s || snap.edges.len() != last.edges.len() {
                self.history.clear();
            }
        }
        self.history.push_back(snap);
        // Drop old ones while the next-oldest is still a full window back.
        let now = self.history.back().map_or(0.0, |s| s.t_s);
        while self.history.len() > 2 && now - self.history[1].t_s >= RATE_WINDOW_S {
            self.history.pop_front();
        }
        while self.history.len() > 256 {
            self.history.pop_front();
        }
    }

    /// (previous, current) for rates.
    pub fn pair(&self) -> Option<(&Snapshot, &Snapshot)> {
        let cur = self.history.back()?;
        let prev = self.history.front()?;
        Some((prev, cur))
    }

    pub fn clear(&mut self) {
        self.history.clear();
    }
}

/// Live numbers of one edge (per second of simulated time).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EdgeLive {
    pub calls_per_s: f64,
    pub attempts_per_s: f64,
    pub retries_per_s: f64,
    /// Failed attempts (errors + timeouts) / attempts, 0..1.
    pub error_frac: f64,
}

impl EdgeLive {
    /// "12.3/s · 4.0% err · 1.2 retries/s"
    pub fn label(&self) -> String {
        let mut s = format!("{}/s", fmt_rate(self.calls_per_s));
        if self.error_frac > 0.0 {
            s.push_str(&format!(" · {:.1}% err", self.error_frac * 100.0));
        }
        if self.retries_per_s > 0.0 {
            s.push_str(&format!(" · {} retries/s", fmt_rate(self.retries_per_s)));
        }
        s
    }
}

pub fn fmt_rate(r: f64) -> String {
    if !r.is_finite() {
        "—".into()
    } else if r >= 100.0 {
        format!("{r:.0}")
    } else if r >= 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}

/// The live layer: per node (by name) its snapshot and metric line, per
/// drawn edge (by from, to) its rates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overlay {
    pub nodes: BTreeMap<String, NodeLive>,
    pub edges: BTreeMap<(String, String), EdgeLive>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeLive {
    pub utilisation: f64,
    /// "ρ 82% · q 12 · pool 8/10"
    pub metric: String,
}

/// The metric line of a node, as fits its kind.
pub fn node_metric(n: &NodeSnapshot) -> String {
    let util = format!("ρ {:.0}%", n.utilisation.clamp(0.0, 9.99) * 100.0);
    match parse_kind(&n.kind) {
        Some(NodeKind::Cache) => match n.hit_rate {
            Some(h) => format!("hit {:.0}% · {util}", h * 100.0),
            None => util,
        },
        Some(NodeKind::Broker) => format!("backlog {}", n.backlog.unwrap_or(n.queue_len)),
        Some(NodeKind::External) | Some(NodeKind::LoadBalancer) => {
            format!("in flight {}", n.in_flight)
        }
        _ => {
            let mut s = format!("{util} · q {}", n.queue_len);
            if let Some((used, size)) = n.pool_in_use {
                s.push_str(&format!(" · pool {used}/{size}"));
            }
            s
        }
    }
}

/// Builds the overlay from (previous, current) snapshots and the topology
/// whose edge order the snapshot's edges follow. Edges of the engine
/// between the same two nodes (several steps, a cache's get and put) are
/// summed. Without a previous snapshot (or no time between) there are no
/// rates.
pub fn overlay(prev: Option<&Snapshot>, cur: &Snapshot, topo: Option<&Topology>) -> Overlay {
    let mut o = Overlay::default();
    for n in &cur.nodes {
        o.nodes.insert(
            n.name.clone(),
            NodeLive {
                utilisation: if n.utilisation.is_finite() {
                    n.utilisation.clamp(0.0, 1.0)
                } else {
                    0.0
                },
                metric: node_metric(n),
            },
        );
    }
    let (Some(prev), Some(topo)) = (prev, topo) else {
        return o;
    };
    let dt = cur.t_s - prev.t_s;
    if !(dt > 0.0) || prev.edges.len() != cur.edges.len() || cur.edges.len() != topo.edges.len() {
        return o;
    }
    let mut sums: BTreeMap<(String, String), [u64; 5]> = BTreeMap::new();
    for ((from, to), (a, b)) in topo.edges.iter().zip(prev.edges.iter().zip(&cur.edges)) {
        let d = |x: u64, y: u64| y.saturating_sub(x);
        let s = sums.entry((from.clone(), to.clone())).or_default();
        s[0] += d(a.calls, b.calls);
        s[1] += d(a.attempts, b.attempts);
        s[2] += d(a.retries, b.retries);
        s[3] += d(a.errors, b.errors);
        s[4] += d(a.timeouts, b.timeouts);
    }
    for (k, s) in sums {
        o.edges.insert(
            k,
            EdgeLive {
                calls_per_s: s[0] as f64 / dt,
                attempts_per_s: s[1] as f64 / dt,
                retries_per_s: s[2] as f64 / dt,
                error_frac: if s[1] > 0 {
                    ((s[3] + s[4]) as f64 / s[1] as f64).min(1.0)
                } else {
                    0.0
                },
            },
        );
    }
    o
}

/// Dots per edge for the given request rates: more with the rate
/// (logarithmically: 1 req/s and 10,000 req/s both stay readable), at most
/// [`MAX_DOTS_PER_EDGE`] each and [`MAX_DOTS`] in all.
pub fn dot_counts(rates: &[f64]) -> Vec<usize> {
    let mut n: Vec<usize> = rates
        .iter()
        .map(|&r| {
            if r.is_finite() && r > 0.0 {
                ((6.0 * (1.0 + r).log10()).ceil() as usize + 1).min(MAX_DOTS_PER_EDGE)
            } else {
                0
            }
        })
        .collect();
    let total: usize = n.iter().sum();
    if total > MAX_DOTS {
        let f = MAX_DOTS as f64 / total as f64;
        for x in &mut n {
            *x = (*x as f64 * f).floor() as usize;
        }
    }
    n
}

/// Which of `n` dots are retries, spread evenly, for a retry fraction.
pub fn retry_pattern(n: usize, frac: f64) -> Vec<bool> {
    let f = if frac.is_finite() {
        frac.clamp(0.0, 1.0)
    } else {
        0.0
    };
    (0..n)
        .map(|i| ((i + 1) as f64 * f).floor() > (i as f64 * f).floor())
        .collect()
}

/// Positions (0..1 along the edge) of `n` dots at animation phase `phase`.
pub fn dot_positions(n: usize, phase: f64) -> Vec<f64> {
    (0..n)
        .map(|i| (phase + i as f64 / n as f64).rem_euclid(1.0))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_viewport_shows_all_only_when_every_node_and_its_caption_fit() {
        use super::{Viewport, NODE_H, NODE_W};
        let vp = Viewport {
            scale: 1.0,
            ox: 0.0,
            oy: 0.0,
        };
        // A node at (100, 100) covers 38..162 across and 68..166 down
        // (its 64 px box and 34 px of caption).
        let at = [(100.0, 100.0)];
        assert!(vp.shows_all(&at, 162.0, 166.0));
        assert!(!vp.shows_all(&at, 161.0, 166.0));
        assert!(!vp.shows_all(&at, 162.0, 165.0));
        assert_eq!((NODE_W, NODE_H), (124.0, 64.0));
        assert!(!vp.shows_all(&[(20.0, 100.0)], 1000.0, 1000.0));
    }

    #[test]
    fn an_edge_label_moves_off_a_node_that_sits_on_its_middle() {
        use super::label_spot;
        // A horizontal edge from (0, 0) to (200, 0): the label (60 x 16)
        // goes above the line (left of travel, the screen's y points
        // down), centred at x = 100, 6 + 8 = 14 px from the line.
        let free = label_spot((0.0, 0.0), (200.0, 0.0), 60.0, 16.0, &[]);
        assert_eq!(free, (100.0, -14.0));
        // A node covering the middle above the line: the label slides
        // along the line to the first free spot (t = 0.2: x = 40, its box
        // 10..70 clear of the node's 70..130).
        let node = (70.0, -40.0, 130.0, -2.0);
        assert_eq!(
            label_spot((0.0, 0.0), (200.0, 0.0), 60.0, 16.0, &[node]),
            (40.0, -14.0)
        );
        // Nodes over every spot above: it goes below the line.
        let wide = (-100.0, -40.0, 300.0, -2.0);
        assert_eq!(
            label_spot((0.0, 0.0), (200.0, 0.0), 60.0, 16.0, &[wide]),
            (100.0, 14.0)
        );
        // Nowhere free: the middle, as before.
        let all = (-100.0, -40.0, 300.0, 40.0);
        assert_eq!(
            label_spot((0.0, 0.0), (200.0, 0.0), 60.0, 16.0, &[all]),
            free
        );
    }

    use super::*;
    use crate::editor::model::EdgeKind;
    use sim_core::{E2eSnapshot, EdgeSnapshot, Summary};

    fn e(f: &str, t: &str) -> Edge {
        Edge {
            from: f.into(),
            to: t.into(),
            kind: EdgeKind::Call,
        }
    }

    #[test]
    fn layout_layers_by_depth_with_stores_right() {
        let nodes = vec![
            ("c".to_string(), NodeKind::Source),
            ("api".to_string(), NodeKind::Service),
            ("auth".to_string(), NodeKind::Service),
            ("db".to_string(), NodeKind::Database),
            ("kv".to_string(), NodeKind::Cache),
            ("lonely".to_string(), NodeKind::Service),
        ];
        let edges = vec![
            e("c", "api"),
            e("api", "auth"),
            e("api", "kv"),
            e("auth", "db"),
        ];
        let p = auto_layout(&nodes, &edges);
        assert_eq!(p["c"].0, 0.0);
        assert_eq!(p["api"].0, COL_GAP);
        assert_eq!(p["auth"].0, 2.0 * COL_GAP);
        assert_eq!(p["lonely"].0, COL_GAP);
        // both stores in the last column, right of every other node
        assert_eq!(p["db"].0, 3.0 * COL_GAP);
        assert_eq!(p["kv"].0, 3.0 * COL_GAP);
        // no two nodes at one place
        let mut seen: Vec<(i64, i64)> = p.values().map(|q| (q.0 as i64, q.1 as i64)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), nodes.len());
        // A cycle (invalid, but drawn while typing) terminates.
        let p = auto_layout(&nodes[..3], &[e("api", "auth"), e("auth", "api")]);
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn viewport_fits_and_inverts() {
        let pos = [(0.0, 0.0), (1000.0, 400.0)];
        let v = Viewport::fit(pos.iter(), 800.0, 400.0);
        for &p in &pos {
            let s = v.to_screen(p);
            assert!(
                s.0 >= 0.0 && s.0 <= 800.0 && s.1 >= 0.0 && s.1 <= 400.0,
                "{s:?}"
            );
            let w = v.to_world(s);
            assert!((w.0 - p.0).abs() < 1e-9 && (w.1 - p.1).abs() < 1e-9);
        }
        // a single node is not blown up more than 1.5x
        let v = Viewport::fit([(5.0, 5.0)].iter(), 2000.0, 2000.0);
        assert_eq!(v.scale, 1.5);
        assert_eq!(Viewport::fit([].iter(), 10.0, 10.0), Viewport::default());
    }

    #[test]
    fn hits() {
        let mut pos = BTreeMap::new();
        pos.insert("a".to_string(), (0.0, 0.0));
        pos.insert("b".to_string(), (300.0, 0.0));
        assert_eq!(hit_node(&pos, (10.0, 10.0)).as_deref(), Some("a"));
        assert_eq!(hit_node(&pos, (150.0, 0.0)), None);
        assert_eq!(
            hit_handle(&pos, handle_pos((0.0, 0.0))).as_deref(),
            Some("a")
        );
        let edges = vec![e("a", "b")];
        assert_eq!(hit_edge(&pos, &edges, (150.0, 3.0), 6.0), Some(0));
        assert_eq!(hit_edge(&pos, &edges, (150.0, 30.0), 6.0), None);
        let (s, t) = edge_segment(pos["a"], pos["b"]);
        assert!((s.0 - (NODE_W / 2.0 + 4.0)).abs() < 1e-9 && s.1 == 0.0);
        assert!((t.0 - (300.0 - NODE_W / 2.0 - 4.0)).abs() < 1e-9);
    }

    #[test]
    fn styles_are_distinct_and_palette_is_monotone() {
        let styles: Vec<KindStyle> = NodeKind::ALL.iter().map(|&k| kind_style(k)).collect();
        for (i, a) in styles.iter().enumerate() {
            for b in &styles[i + 1..] {
                assert_ne!(a.shape, b.shape);
                assert_ne!(a.glyph, b.glyph);
                assert_ne!(a.colour, b.colour);
            }
        }
        // Lightness falls monotonically: readable in greyscale.
        let lum = |c: (u8, u8, u8)| 0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64;
        let mut last = f64::MAX;
        for i in 0..=20 {
            let l = lum(viridis(i as f64 / 20.0));
            assert!(l < last, "{i}");
            last = l;
        }
        assert_eq!(rgb_css(viridis(0.0)), "#fde725");
        assert_eq!(rgb_css(viridis(f64::NAN)), "#fde725");
        assert_eq!(ink_on(viridis(0.0)), "#111111");
        assert_eq!(ink_on(viridis(1.0)), "#ffffff");
    }

    fn snap(t: f64, calls: &[u64], retries: &[u64], errors: &[u64]) -> Snapshot {
        Snapshot {
            t_s: t,
            events: 0,
            end_to_end: E2eSnapshot {
                arrived: 0,
                completed: 0,
                failed: 0,
                rejected: 0,
                in_flight: 0,
                latency_s: Summary::default(),
            },
            nodes: vec![NodeSnapshot {
                name: "kv".into(),
                kind: "cache".into(),
                workers: 0,
                replicas: 1,
                busy: 0,
                queue_len: 0,
                in_flight: 3,
                utilisation: 0.25,
                queue_len_mean: 0.0,
                throughput_rps: 0.0,
                arrival_rate_rps: 0.0,
                hit_rate: Some(0.9),
                backlog: None,
                pool_in_use: None,
            }],
            edges: calls
                .iter()
                .zip(retries)
                .zip(errors)
                .map(|((&c, &r), &e)| EdgeSnapshot {
                    calls: c,
                    attempts: c + r,
                    retries: r,
                    errors: e,
                    timeouts: 0,
                    failed_calls: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn overlay_rates_sum_parallel_edges() {
        let topo = Topology {
            nodes: vec![],
            edges: vec![
                ("api".into(), "kv".into()),
                ("api".into(), "kv".into()),
                ("c".into(), "api".into()),
            ],
        };
        let a = snap(10.0, &[100, 50, 1000], &[0, 0, 10], &[0, 0, 0]);
        let b = snap(12.0, &[140, 70, 1200], &[0, 0, 30], &[0, 0, 11]);
        let o = overlay(Some(&a), &b, Some(&topo));
        let kv = o.edges[&("api".to_string(), "kv".to_string())];
        // (40 + 20) calls in 2 s
        assert_eq!(kv.calls_per_s, 30.0);
        assert_eq!(kv.error_frac, 0.0);
        let c = o.edges[&("c".to_string(), "api".to_string())];
        assert_eq!(c.calls_per_s, 100.0);
        assert_eq!(c.retries_per_s, 10.0);
        // 11 errors in 200 + 20 attempts
        assert!((c.error_frac - 0.05).abs() < 1e-12);
        assert_eq!(c.label(), "100/s · 5.0% err · 10.0 retries/s");
        assert_eq!(o.nodes["kv"].metric, "hit 90% · ρ 25%");
        // no previous snapshot or no time: no rates, node state still shown
        assert!(overlay(None, &b, Some(&topo)).edges.is_empty());
        assert!(overlay(Some(&b), &b, Some(&topo)).edges.is_empty());
        assert_eq!(overlay(None, &b, None).nodes.len(), 1);
    }

    #[test]
    fn rate_tracker_keeps_a_window() {
        let mut t = RateTracker::default();
        assert!(t.pair().is_none());
        for i in 0..50 {
            t.push(Rc::new(snap(i as f64 * 0.1, &[i], &[0], &[0])));
        }
        let (p, c) = t.pair().unwrap();
        assert!((c.t_s - 4.9).abs() < 1e-9);
        let span = c.t_s - p.t_s;
        assert!(
            (RATE_WINDOW_S..RATE_WINDOW_S + 0.2).contains(&span),
            "{span}"
        );
        // a restart (time goes back) starts over
        t.push(Rc::new(snap(0.5, &[1], &[0], &[0])));
        let (p, c) = t.pair().unwrap();
        assert_eq!(p.t_s, c.t_s);
    }

    #[test]
    fn dots_follow_rate_and_are_capped() {
        let n = dot_counts(&[0.0, 1.0, 10.0, 1000.0, f64::NAN]);
        assert_eq!(n[0], 0);
        assert_eq!(n[4], 0);
        assert!(n[1] > 0 && n[1] < n[2] && n[2] < n[3], "{n:?}");
        let many = dot_counts(&vec![1e6; 100]);
        assert!(many.iter().sum::<usize>() <= MAX_DOTS);
        assert!(many.iter().all(|&x| x > 0));
        let p = retry_pattern(10, 0.3);
        assert_eq!(p.iter().filter(|&&x| x).count(), 3);
        assert!(retry_pattern(5, 0.0).iter().all(|&x| !x));
        assert!(retry_pattern(5, 1.0).iter().all(|&x| x));
        let d = dot_positions(4, 0.9);
        assert_eq!(d.len(), 4);
        assert!(d.iter().all(|&x| (0.0..1.0).contains(&x)));
    }
}
