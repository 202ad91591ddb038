//! The two live charts, drawn with plotters on any backend (the page uses
//! `plotters-canvas`; the native tests use a counting backend).
//! Colours are the Okabe–Ito palette (safe for the common colour-vision deficiencies).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::model::ChartData;

/// Okabe–Ito colours.
pub mod palette {
    use plotters::style::RGBColor;
    pub const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
    pub const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
    pub const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
    pub const BLUISH_GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
    pub const REDDISH_PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
    pub const SKY_BLUE: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
    pub const BLACK: RGBColor = RGBColor(0x1a, 0x1a, 0x1a);
    /// Chart background, grid and text.
    pub const BG: RGBColor = RGBColor(0xff, 0xff, 0xff);
    pub const GRID: RGBColor = RGBColor(0xec, 0xee, 0xf1);
    pub const GRID_BOLD: RGBColor = RGBColor(0xd5, 0xd9, 0xe0);
    pub const AXIS: RGBColor = RGBColor(0x6b, 0x72, 0x80);
    pub const TEXT: RGBColor = RGBColor(0x37, 0x41, 0x51);
}

/// Hex form of the series colours, for the HTML legends.
pub mod css {
    pub const P50: &str = "#0072B2";
    pub const P95: &str = "#E69F00";
    pub const P99: &str = "#D55E00";
    pub const THEORY: &str = "#1a1a1a";
    pub const UTIL: &str = "#009E73";
    pub const QUEUE: &str = "#CC79A7";
}

/// Minimum x span (simulated seconds) so that a young run doesn't zoom in absurdly.
const MIN_SPAN_S: f64 = 30.0;

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn font(size: f64, scale: f64) -> TextStyle<'static> {
    ("sans-serif", size * scale)
        .into_font()
        .color(&palette::TEXT)
}

fn px(v: f64, scale: f64) -> u32 {
    (v * scale).round().max(1.0) as u32
}

fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a >= 10.0 || (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v)
    } else if a >= 1.0 {
        format!("{:.1}", v)
    } else {
        format!("{:.2}", v)
    }
}

/// Latency per window: p50, p95, p99 and the Erlang C p99 as a dashed line.
/// `scale` is the device-pixel ratio (fonts and strokes grow with it).
pub fn draw_latency<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    predicted_p99: Option<f64>,
    scale: f64,
) -> DrawResult<DB> {
    root.fill(&palette::BG)?;
    let (x0, x1) = data.x_range(MIN_SPAN_S);
    let top = data.latency_top(predicted_p99);
    let mut chart = ChartBuilder::on(root)
        .margin_top(px(10.0, scale))
        .margin_right(px(18.0, scale))
        .margin_left(px(6.0, scale))
        .margin_bottom(px(4.0, scale))
        .x_label_area_size(px(40.0, scale))
        .y_label_area_size(px(58.0, scale))
        .build_cartesian_2d(x0..x1, 0.0..top)?;
    chart
        .configure_mesh()
        .x_max_light_lines(1)
        .y_max_light_lines(1)
        .light_line_style(palette::GRID.stroke_width(px(1.0, scale)))
        .bold_line_style(palette::GRID_BOLD.stroke_width(px(1.0, scale)))
        .axis_style(palette::AXIS.stroke_width(px(1.0, scale)))
        .label_style(font(14.0, scale))
        .axis_desc_style(font(14.0, scale))
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|v| fmt_tick(*v))
        .y_label_formatter(&|v| fmt_tick(*v))
        .x_desc("simulated time (s)")
        .y_desc("latency (s)")
        .draw()?;

    let width = px(2.5, scale);
    // p99 last and widest, on top. A window's percentile is drawn only when
    // it (or it pooled with the windows before it) has enough answers, so
    // p95 and p99 are not both the window's maximum (`ChartData`).
    type Get = dyn Fn(&crate::model::ChartPoint) -> Option<f64>;
    let series: [(&Get, RGBColor, u32); 3] = [
        (&|p| p.p50_s, palette::BLUE, width),
        (&|p| p.p95_s, palette::ORANGE, width),
        (&|p| p.p99_s, palette::VERMILLION, px(4.0, scale)),
    ];
    for (get, colour, w) in series {
        let segs = segments(data.points.iter().map(|p| get(p).map(|v| (p.t_s, v))));
        for seg in segs {
            chart.draw_series(LineSeries::new(seg, colour.stroke_width(w)))?;
        }
    }
    if let Some(p) = predicted_p99.filter(|p| p.is_finite() && *p > 0.0) {
        chart.draw_series(DashedLineSeries::new(
            [(x0, p), (x1, p)],
            px(12.0, scale),
            px(7.0, scale),
            palette::BLACK.stroke_width(px(2.5, scale)),
        ))?;
    }
    root.present()?;
    Ok(())
}

/// Per window: utilisation of the service node (left axis, %) and its
/// time-average queue length (right axis).
pub fn draw_utilisation<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    scale: f64,
) -> DrawResult<DB> {
    root.fill(&palette::BG)?;
    let (x0, x1) = data.x_range(MIN_SPAN_S);
    let qtop = data.queue_top();
    let mut chart = ChartBuilder::on(root)
        .margin_top(px(10.0, scale))
        .margin_right(px(6.0, scale))
        .margin_left(px(6.0, scale))
        .margin_bottom(px(4.0, scale))
        .x_label_area_size(px(40.0, scale))
        .y_label_area_size(px(58.0, scale))
        .right_y_label_area_size(px(58.0, scale))
        .build_cartesian_2d(x0..x1, 0.0..1.05)?
        .set_secondary_coord(x0..x1, 0.0..qtop);
    chart
        .configure_mesh()
        .x_max_light_lines(1)
        .y_max_light_lines(1)
        .light_line_style(palette::GRID.stroke_width(px(1.0, scale)))
        .bold_line_style(palette::GRID_BOLD.stroke_width(px(1.0, scale)))
        .axis_style(palette::AXIS.stroke_width(px(1.0, scale)))
        .label_style(font(14.0, scale))
        .axis_desc_style(font(14.0, scale))
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|v| fmt_tick(*v))
        .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .x_desc("simulated time (s)")
        .y_desc("utilisation")
        .draw()?;
    chart
        .configure_secondary_axes()
        .axis_style(palette::AXIS.stroke_width(px(1.0, scale)))
        .label_style(font(14.0, scale))
        .axis_desc_style(font(14.0, scale))
        .y_labels(6)
        .y_label_formatter(&|v| fmt_tick(*v))
        .y_desc("queue length")
        .draw()?;
    // 100 % utilisation reference
    chart.draw_series(DashedLineSeries::new(
        [(x0, 1.0), (x1, 1.0)],
        px(4.0, scale),
        px(5.0, scale),
        palette::AXIS.stroke_width(px(1.0, scale)),
    ))?;
    chart.draw_secondary_series(LineSeries::new(
        data.points.iter().map(|p| (p.t_s, p.queue_len)),
        palette::REDDISH_PURPLE.stroke_width(px(2.5, scale)),
    ))?;
    chart.draw_series(LineSeries::new(
        data.points
            .iter()
            .map(|p| (p.t_s, p.utilisation.clamp(0.0, 1.05))),
        palette::BLUISH_GREEN.stroke_width(px(3.0, scale)),
    ))?;
    root.present()?;
    Ok(())
}

/// Browser glue: size a canvas to its CSS box × devicePixelRatio and draw on it.
#[cfg(target_arch = "wasm32")]
pub mod canvas {
    use plotters::coord::Shift;
    use plotters::prelude::*;
    use plotters_canvas::CanvasBackend;
    use web_sys::HtmlCanvasElement;

    /// Resizes the backing store to match the on-screen size, then calls `draw`.
    /// Returns an error message if drawing failed (the page shows it inline).
    pub fn draw_on<F>(canvas: &HtmlCanvasElement, draw: F) -> Result<(), String>
    where
        F: FnOnce(&DrawingArea<CanvasBackend, Shift>, f64) -> Result<(), String>,
    {
        let dpr = web_sys::window()
            .map_or(1.0, |w| w.device_pixel_ratio())
            .clamp(1.0, 3.0);
        let (cw, ch) = (canvas.client_width(), canvas.client_height());
        if cw <= 0 || ch <= 0 {
            return Ok(()); // not laid out (hidden): nothing to draw
        }
        let (w, h) = (
            (cw as f64 * dpr).round() as u32,
            (ch as f64 * dpr).round() as u32,
        );
        if canvas.width() != w {
            canvas.set_width(w);
        }
        if canvas.height() != h {
            canvas.set_height(h);
        }
        let backend = CanvasBackend::with_canvas_object(canvas.clone())
            .ok_or_else(|| "this browser has no 2D canvas".to_string())?;
        let root = backend.into_drawing_area();
        draw(&root, dpr)
    }
}

// ======================================================================
// Dashboard charts (see `crate::dashboard` for the component).
//
// Each chart is a pure function over any `DrawingBackend`. Readable on a
// projector: fonts of 16 CSS px (14 when compact), lines 2.5–4 px, the
// Okabe–Ito colours, and a distinct marker per series so the lines can be
// told apart in greyscale. In A/B mode the second run is drawn dashed in
// the same colours; reference lines (SLO, 100 %, 1×) are long-dashed black.
// ======================================================================

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sim_core::metrics::{heat_edge_s, HEAT_BUCKETS};
use sim_core::spec::SloSpec;
use sim_core::Window;

use crate::model::format_secs;

/// A dashboard chart. Lessons name them in `focus.charts`; see [`ChartKind::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChartKind {
    /// End-to-end p50/p95/p99 per window, with the SLO latency.
    Latency,
    /// Offered load, completed, goodput and errors per second.
    Throughput,
    /// Utilisation of the busiest nodes, with the 100 % line.
    Utilisation,
    /// Time-average queue length of the longest-queue nodes.
    Queue,
    /// Active replicas per node.
    Replicas,
    /// Latency heatmap (windows × latency buckets) with the p99 line.
    Heatmap,
    /// Error-budget burn rate, per window and cumulative.
    Burn,
}

impl ChartKind {
    pub const ALL: [ChartKind; 7] = [
        ChartKind::Latency,
        ChartKind::Throughput,
        ChartKind::Utilisation,
        ChartKind::Queue,
        ChartKind::Replicas,
        ChartKind::Heatmap,
        ChartKind::Burn,
    ];

    /// The full dashboard, in order.
    pub const DEFAULT: [ChartKind; 5] = [
        ChartKind::Latency,
        ChartKind::Throughput,
        ChartKind::Utilisation,
        ChartKind::Heatmap,
        ChartKind::Burn,
    ];

    /// A chart name as lessons write it (`focus.charts`). "errors" is the
    /// throughput chart (it plots errors/s); names without a chart here
    /// ("cache", "pool", "backlog", ...) give `None`.
    pub fn parse(name: &str) -> Option<ChartKind> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "latency" | "p99" | "percentiles" => ChartKind::Latency,
            "throughput" | "errors" | "goodput" => ChartKind::Throughput,
            "utilisation" | "utilization" | "saturation" => ChartKind::Utilisation,
            "queue" | "queues" => ChartKind::Queue,
            "replicas" => ChartKind::Replicas,
            "heatmap" => ChartKind::Heatmap,
            "burn" | "slo" | "budget" | "error-budget" | "error_budget" => ChartKind::Burn,
            _ => return None,
        })
    }

    /// Parses a list of names in order, ignoring unknown names and repeats
    /// (`["errors", "throughput"]` is one chart).
    pub fn list<S: AsRef<str>>(names: &[S]) -> Vec<ChartKind> {
        let mut out = Vec::new();
        for k in names.iter().filter_map(|n| ChartKind::parse(n.as_ref())) {
            if !out.contains(&k) {
                out.push(k);
            }
        }
        out
    }

    /// Short name: the `data-testid` is `chart-<slug>`.
    pub fn slug(self) -> &'static str {
        match self {
            ChartKind::Latency => "latency",
            ChartKind::Throughput => "throughput",
            ChartKind::Utilisation => "utilisation",
            ChartKind::Queue => "queue",
            ChartKind::Replicas => "replicas",
            ChartKind::Heatmap => "heatmap",
            ChartKind::Burn => "burn",
        }
    }

    pub fn test_id(self) -> String {
        format!("chart-{}", self.slug())
    }

    pub fn title(self) -> &'static str {
        match self {
            ChartKind::Latency => "End-to-end latency",
            ChartKind::Throughput => "Throughput, goodput and errors",
            ChartKind::Utilisation => "Saturation: utilisation per node",
            ChartKind::Queue => "Queue length per node",
            ChartKind::Replicas => "Replicas per node",
            ChartKind::Heatmap => "Latency heatmap",
            ChartKind::Burn => "Error-budget burn rate",
        }
    }

    /// What to read in the chart (shown under its title).
    pub fn caption(self) -> &'static str {
        match self {
            ChartKind::Latency => {
                "p50, p95 and p99 of the requests answered in each window. Watch the gap \
                 between p50 and p99, and whether p99 stays under the SLO line. A break \
                 in a line is a window in which nothing was answered."
            }
            ChartKind::Throughput => {
                "Offered load against what came back. Completed below offered: work is \
                 piling up or failing. Goodput below completed: answers arrive too late \
                 to count. Errors rising: requests are failing."
            }
            ChartKind::Utilisation => {
                "Busy fraction of each node's workers (the busiest six). A node pinned \
                 near the 100 % line is the bottleneck: its queue and latency keep growing."
            }
            ChartKind::Queue => {
                "Time-average number of requests waiting at each node. A queue that keeps \
                 growing means arrivals exceed capacity."
            }
            ChartKind::Replicas => {
                "Active replicas of each node at the end of each window: scaling, crashes \
                 and deploys show up here."
            }
            ChartKind::Heatmap => {
                "Each column is a window, each row a latency band (doubling upwards); \
                 darker cells hold more requests. A second band higher up is a slow mode \
                 that averages hide. The black line is p99."
            }
            ChartKind::Burn => {
                "How fast failures and slow answers use up the error budget. At 1× the \
                 budget lasts exactly the SLO period; above 1× it runs out early. The \
                 thick line is the whole run so far."
            }
        }
    }
}

/// Everything a dashboard chart draws from.
#[derive(Clone, Copy, Debug)]
pub struct Dash<'a> {
    /// The run (labelled "A" when `compare` is set).
    pub windows: &'a [Window],
    /// A second run drawn dashed on the same axes (labelled "B").
    pub compare: Option<&'a [Window]>,
    /// Names of the non-source nodes, in the order of `Window::nodes`.
    pub node_names: &'a [String],
    pub slo: Option<&'a SloSpec>,
    /// Device-pixel ratio: sizes are CSS pixels times this.
    pub scale: f64,
    /// Smaller type and fewer ticks (a 600 px embed).
    pub compact: bool,
}

impl<'a> Dash<'a> {
    pub fn new(windows: &'a [Window]) -> Dash<'a> {
        Dash {
            windows,
            compare: None,
            node_names: &[],
            slo: None,
            scale: 1.0,
            compact: false,
        }
    }

    /// The runs to draw, with their "A"/"B" tags in A/B mode.
    fn sets(&self) -> Vec<(&'a [Window], Option<&'static str>)> {
        match self.compare {
            None => vec![(self.windows, None)],
            Some(c) => vec![(self.windows, Some("A")), (c, Some("B"))],
        }
    }

    fn all_windows(&self) -> impl Iterator<Item = &'a Window> + '_ {
        self.sets().into_iter().flat_map(|(ws, _)| ws.iter())
    }

    fn px(&self, css: f64) -> u32 {
        px(css, self.scale)
    }

    fn font(&self) -> TextStyle<'static> {
        font(if self.compact { 14.0 } else { 16.0 }, self.scale)
    }

    fn slo_latency(&self) -> Option<f64> {
        self.slo
            .map(|s| s.latency_s)
            .filter(|v| v.is_finite() && *v > 0.0)
    }

    fn x_range(&self) -> (f64, f64) {
        let mut x0 = f64::INFINITY;
        let mut x1 = f64::NEG_INFINITY;
        for w in self.all_windows() {
            x0 = x0.min(w.t_start_s);
            x1 = x1.max(w.t_end_s);
        }
        if !x0.is_finite() {
            x0 = 0.0;
        }
        if !(x1 - x0 >= MIN_SPAN_S) {
            x1 = x0 + MIN_SPAN_S;
        }
        (x0, x1)
    }
}

/// Series label, tagged with the run in A/B mode: "p99 (A)".
fn tagged(name: &str, ab: Option<&str>) -> String {
    match ab {
        Some(t) => format!("{name} ({t})"),
        None => name.to_string(),
    }
}

/// Marker shapes: one per series so lines read in greyscale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    None,
    Circle,
    Triangle,
    Square,
    Diamond,
    Cross,
    Ring,
}

/// How a series is stroked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dashes {
    Solid,
    /// The "B" run.
    Dashed,
    /// Reference lines (SLO, 100 %, 1×).
    Reference,
}

#[derive(Clone, Debug)]
struct Line {
    label: String,
    colour: RGBColor,
    marker: Marker,
    /// CSS px.
    width: f64,
    dashes: Dashes,
}

impl Line {
    fn new(label: String, colour: RGBColor, marker: Marker, width: f64, ab: Option<&str>) -> Line {
        Line {
            label,
            colour,
            marker,
            width,
            dashes: if ab == Some("B") {
                Dashes::Dashed
            } else {
                Dashes::Solid
            },
        }
    }

    fn reference(label: String) -> Line {
        Line {
            label,
            colour: palette::BLACK,
            marker: Marker::None,
            width: 2.0,
            dashes: Dashes::Reference,
        }
    }
}

enum LegendItem {
    Line(Line),
    /// The heatmap's colour ramp.
    Ramp,
}

/// Runs of consecutive defined points: `None` breaks the line (a gap).
pub fn segments<I: IntoIterator<Item = Option<(f64, f64)>>>(points: I) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur = Vec::new();
    for p in points {
        match p {
            Some(p) if p.0.is_finite() && p.1.is_finite() => cur.push(p),
            _ => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A y axis, linear or log10, with its tick values. `lo`, `hi` and `ticks`
/// are in plot space (log10 of the value on a log axis).
#[derive(Clone, Debug, PartialEq)]
struct YAxis {
    log: bool,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    percent: bool,
    /// Decimals of linear tick labels.
    decimals: usize,
    /// Label the bottom tick "0" (the heatmap's first bucket starts at 0).
    zero_at_bottom: bool,
}

fn nice_step(raw: f64) -> f64 {
    if !(raw > 0.0) || !raw.is_finite() {
        return 1.0;
    }
    let e = 10f64.powf(raw.log10().floor());
    let f = raw / e;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * e
}

fn decimals_for(v: f64) -> usize {
    if v >= 1.0 || !(v > 0.0) {
        0
    } else {
        ((-v.log10()) - 1e-9).ceil().clamp(0.0, 6.0) as usize
    }
}

impl YAxis {
    /// 0 to at least `top`, about `n` ticks.
    fn linear(top: f64, n: usize) -> YAxis {
        let top = if top > 0.0 && top.is_finite() {
            top
        } else {
            1.0
        };
        let step = nice_step(top / n.max(1) as f64);
        let hi = (top / step - 1e-9).ceil() * step;
        let ticks = (0..)
            .map(|i| i as f64 * step)
            .take_while(|v| *v <= hi + step * 1e-6)
            .collect();
        YAxis {
            log: false,
            lo: 0.0,
            hi,
            ticks,
            percent: false,
            decimals: decimals_for(step),
            zero_at_bottom: false,
        }
    }

    /// log10 axis spanning `min`..`max` (both > 0), ticks at 1-2-5 values
    /// (only powers of ten when that would be too many).
    fn log(min: f64, max: f64, n: usize) -> YAxis {
        let (lo, hi) = (min.log10(), max.log10().max(min.log10() + 0.3));
        let mut ticks = Vec::new();
        let mut decades = Vec::new();
        for e in (lo.floor() as i32)..=(hi.ceil() as i32) {
            for m in [1.0, 2.0, 5.0] {
                let p = (m * 10f64.powi(e)).log10();
                if p >= lo - 1e-9 && p <= hi + 1e-9 {
                    ticks.push(p);
                    if m == 1.0 {
                        decades.push(p);
                    }
                }
            }
        }
        if ticks.len() > n.max(3) && decades.len() >= 2 {
            ticks = decades;
        }
        YAxis {
            log: true,
            lo,
            hi,
            ticks,
            percent: false,
            decimals: 0,
            zero_at_bottom: false,
        }
    }

    /// Plot-space position of a value (`None` off a log axis for v <= 0).
    fn y(&self, v: f64) -> Option<f64> {
        if !v.is_finite() {
            None
        } else if self.log {
            (v > 0.0).then(|| v.log10())
        } else {
            Some(v)
        }
    }

    fn label(&self, p: f64) -> String {
        if self.zero_at_bottom && (p - self.lo).abs() < 1e-9 {
            return "0".to_string();
        }
        if self.percent {
            return format!("{:.0}%", p * 100.0);
        }
        if self.log {
            let v = 10f64.powf(p);
            // round away the float noise of 10^log10(v)
            let d = decimals_for(v * (1.0 + 1e-9));
            format!("{:.*}", d, v)
        } else {
            format!("{:.*}", self.decimals, p)
        }
    }
}

/// Whether the latency chart uses a log y axis: when p99 spans more than
/// 20× p50 across the windows shown.
pub fn latency_log_scale(sets: &[&[Window]]) -> bool {
    let mut lo = f64::INFINITY;
    let mut hi = 0.0f64;
    for w in sets
        .iter()
        .flat_map(|ws| ws.iter())
        .filter(|w| w.completed > 0)
    {
        if let Some(p50) = w.p50_s.filter(|v| *v > 0.0 && v.is_finite()) {
            lo = lo.min(p50);
        }
        if let Some(p99) = w.p99_s.filter(|v| v.is_finite()) {
            hi = hi.max(p99);
        }
    }
    lo.is_finite() && hi / lo > 20.0
}

/// One window's rates per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    pub t_s: f64,
    pub offered: f64,
    pub completed: f64,
    /// Answered OK within the SLO latency (= completed without an SLO).
    pub goodput: f64,
    pub errors: f64,
}

/// Per-window rates; windows of zero length are skipped.
pub fn rates(windows: &[Window], has_slo: bool) -> Vec<Rates> {
    windows
        .iter()
        .filter_map(|w| {
            let dt = w.t_end_s - w.t_start_s;
            if !(dt > 0.0) {
                return None;
            }
            let good = match (has_slo, w.slo_good) {
                (true, Some(g)) => g.min(w.completed),
                _ => w.completed,
            };
            Some(Rates {
                t_s: w.t_end_s,
                offered: w.arrived as f64 / dt,
                completed: w.completed as f64 / dt,
                goodput: good as f64 / dt,
                errors: w.failed as f64 / dt,
            })
        })
        .collect()
}

/// Error-budget burn at the end of one window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurnPoint {
    pub t_s: f64,
    /// This window's burn rate; `None` when nothing finished in it (a gap).
    pub window: Option<f64>,
    /// Burn rate over the run so far; `None` until something finished.
    pub cumulative: Option<f64>,
}

/// Burn rate = (fraction of finished requests that were bad) / (allowed bad
/// fraction, 1 − target), where finished = completed + failed and good =
/// `slo_good` (answered OK within the SLO latency). 1× spends the budget
/// exactly at the allowed rate. Empty when the target leaves no budget
/// (target ≥ 1) or is not a number.
pub fn burn_series(windows: &[Window], slo: &SloSpec) -> Vec<BurnPoint> {
    let allowed = 1.0 - slo.target;
    if !(allowed > 0.0 && allowed <= 1.0) {
        return Vec::new();
    }
    let (mut good_sum, mut total_sum) = (0u64, 0u64);
    windows
        .iter()
        .map(|w| {
            let total = w.completed + w.failed;
            let window = match w.slo_good {
                Some(good) if total > 0 => {
                    good_sum += good.min(total);
                    total_sum += total;
                    Some((1.0 - good.min(total) as f64 / total as f64) / allowed)
                }
                _ => None,
            };
            let cumulative =
                (total_sum > 0).then(|| (1.0 - good_sum as f64 / total_sum as f64) / allowed);
            BurnPoint {
                t_s: w.t_end_s,
                window,
                cumulative,
            }
        })
        .collect()
}

/// Reversed viridis: `t` = 0 (few) is pale yellow, 1 (many) dark purple, so
/// darker means more on the white page. Lightness falls monotonically and
/// the scale is readable with every common colour-vision deficiency.
pub fn heat_colour(t: f64) -> RGBColor {
    // viridis at 0, 1/8, ..., 1 (matplotlib's table)
    const VIRIDIS: [(u8, u8, u8); 9] = [
        (0x44, 0x01, 0x54),
        (0x47, 0x2d, 0x7b),
        (0x3b, 0x52, 0x8b),
        (0x2c, 0x72, 0x8e),
        (0x21, 0x91, 0x8c),
        (0x28, 0xae, 0x80),
        (0x5e, 0xc9, 0x62),
        (0xad, 0xdc, 0x30),
        (0xfd, 0xe7, 0x25),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = (1.0 - t) * 8.0;
    let i = (x.floor() as usize).min(7);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Position on the colour scale of a heatmap cell holding `count` of a
/// maximum `max`: logarithmic (counts span orders of magnitude), and at
/// least 0.08 so a single request still shows.
pub fn heat_level(count: u32, max: u32) -> Option<f64> {
    if count == 0 || max == 0 {
        return None;
    }
    let t = (1.0 + count as f64).ln() / (1.0 + max as f64).ln();
    Some(0.08 + 0.92 * t.min(1.0))
}

/// Lower and upper latency (s) drawn for heatmap bucket `i`: bucket 0
/// (0–1 ms) is drawn from 0.5 ms on the log axis, the open last bucket as
/// one more doubling.
fn heat_bucket_span(i: usize) -> (f64, f64) {
    let i = i.min(HEAT_BUCKETS - 1);
    let lo = if i == 0 { 0.0005 } else { heat_edge_s(i) };
    let hi = if i + 1 < HEAT_BUCKETS {
        heat_edge_s(i + 1)
    } else {
        2.0 * heat_edge_s(i)
    };
    (lo, hi)
}

fn heat_bucket_of(v: f64) -> usize {
    (0..HEAT_BUCKETS)
        .rev()
        .find(|&i| v >= heat_edge_s(i))
        .unwrap_or(0)
}

// ---- drawing helpers --------------------------------------------------

/// A linear f64 coordinate whose ticks are exactly the given values.
struct TickedCoord {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for TickedCoord {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

type Cart = Cartesian2d<RangedCoordf64, TickedCoord>;

fn draw_marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    marker: Marker,
    colour: RGBColor,
    d: &Dash,
) -> DrawResult<DB>
where
    CT::From: Clone + 'static,
{
    let r = px(if d.compact { 4.0 } else { 5.0 }, d.scale) as i32;
    let fill = colour.filled();
    let ring = colour.stroke_width(px(2.0, d.scale));
    match marker {
        Marker::None => Ok(()),
        Marker::Circle => area.draw(&Circle::new(at, r, fill)),
        Marker::Ring => area.draw(&Circle::new(at, r, ring)),
        Marker::Square => {
            area.draw(&(EmptyElement::at(at) + Rectangle::new([(-r, -r), (r, r)], fill)))
        }
        Marker::Triangle => area.draw(&TriangleMarker::new(at, r + 2, fill)),
        Marker::Diamond => area.draw(
            &(EmptyElement::at(at)
                + Polygon::new(vec![(0, -r - 2), (r + 2, 0), (0, r + 2), (-r - 2, 0)], fill)),
        ),
        Marker::Cross => area.draw(&Cross::new(at, r, ring)),
    }
}

/// Draws a series (its gaps kept) with a marker every few points; a lone
/// point between two gaps always gets its marker. `phase` staggers the
/// markers of different series.
fn plot_line<DB: DrawingBackend>(
    chart: &mut ChartContext<DB, Cart>,
    line: &Line,
    segs: &[Vec<(f64, f64)>],
    phase: usize,
    d: &Dash,
) -> DrawResult<DB> {
    let style = line.colour.stroke_width(d.px(line.width));
    for seg in segs {
        match line.dashes {
            Dashes::Solid => {
                chart.draw_series(LineSeries::new(seg.iter().copied(), style))?;
            }
            Dashes::Dashed => {
                chart.draw_series(DashedLineSeries::new(
                    seg.clone(),
                    d.px(9.0),
                    d.px(6.0),
                    style,
                ))?;
            }
            Dashes::Reference => {
                chart.draw_series(DashedLineSeries::new(
                    seg.clone(),
                    d.px(14.0),
                    d.px(6.0),
                    style,
                ))?;
            }
        }
    }
    if line.marker == Marker::None {
        return Ok(());
    }
    let n: usize = segs.iter().map(Vec::len).sum();
    let step = n.div_ceil(if d.compact { 8 } else { 12 }).max(1);
    let area = chart.plotting_area();
    let mut i = 0;
    for seg in segs {
        for (j, p) in seg.iter().enumerate() {
            if seg.len() == 1
                || (i + phase) % step == 0
                || (seg.len() > 1
                    && j == seg.len() - 1
                    && step > 2
                    && (i + phase) % step > step / 2)
            {
                draw_marker(area, *p, line.marker, line.colour, d)?;
            }
            i += 1;
        }
    }
    Ok(())
}

/// A horizontal reference line across the plot.
fn plot_reference<DB: DrawingBackend>(
    chart: &mut ChartContext<DB, Cart>,
    line: &Line,
    y: f64,
    d: &Dash,
) -> DrawResult<DB> {
    let (x0, x1) = d.x_range();
    plot_line(chart, line, &[vec![(x0, y), (x1, y)]], 0, d)
}

/// Lays out the legend in a band at the top of `root`, draws it, and returns
/// the area below for the chart.
fn with_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    d: &Dash,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let font = d.font();
    let (w, _) = root.dim_in_pixel();
    let sample = d.px(34.0) as i32;
    let ramp = d.px(90.0) as i32;
    let gap = d.px(6.0) as i32;
    let spacing = d.px(18.0) as i32;
    let pad = d.px(6.0) as i32;
    let row_h = d.px(if d.compact { 20.0 } else { 24.0 }) as i32;
    // place items in rows
    let mut placed = Vec::new();
    let (mut x, mut row) = (pad + d.px(8.0) as i32, 0);
    for item in items {
        let (label, lead) = match item {
            LegendItem::Line(l) => (l.label.clone(), sample),
            LegendItem::Ramp => ("fewer → more requests".to_string(), ramp),
        };
        let (tw, _) = root.estimate_text_size(&label, &font)?;
        let iw = lead + gap + tw as i32;
        if x + iw > w as i32 - pad && !placed.is_empty() && x > pad + d.px(8.0) as i32 {
            row += 1;
            x = pad + d.px(8.0) as i32;
        }
        placed.push((item, label, x, row, lead));
        x += iw + spacing;
    }
    let rows = if items.is_empty() { 0 } else { row + 1 };
    let band = (rows * row_h + if rows > 0 { pad } else { 0 }).max(0) as u32;
    let (top, rest) = root.split_vertically(band.max(d.px(8.0)));
    let text_style = font.pos(Pos::new(HPos::Left, VPos::Center));
    for (item, label, x, row, lead) in placed {
        let cy = pad + row * row_h + row_h / 2;
        match item {
            LegendItem::Line(l) => {
                let style = l.colour.stroke_width(d.px(l.width.min(4.0)));
                match l.dashes {
                    Dashes::Solid => {
                        top.draw(&PathElement::new(vec![(x, cy), (x + lead, cy)], style))?;
                    }
                    Dashes::Dashed | Dashes::Reference => {
                        let (dash, sp) = if l.dashes == Dashes::Dashed {
                            (d.px(9.0) as i32, d.px(6.0) as i32)
                        } else {
                            (d.px(14.0) as i32, d.px(6.0) as i32)
                        };
                        let mut sx = x;
                        while sx < x + lead {
                            let ex = (sx + dash).min(x + lead);
                            top.draw(&PathElement::new(vec![(sx, cy), (ex, cy)], style))?;
                            sx = ex + sp;
                        }
                    }
                }
                draw_marker(&top, (x + lead / 2, cy), l.marker, l.colour, d)?;
            }
            LegendItem::Ramp => {
                let h = d.px(7.0) as i32;
                let n = 30;
                for k in 0..n {
                    let x0 = x + lead * k / n;
                    let x1 = x + lead * (k + 1) / n;
                    top.draw(&Rectangle::new(
                        [(x0, cy - h), (x1, cy + h)],
                        heat_colour(0.08 + 0.92 * k as f64 / (n - 1) as f64).filled(),
                    ))?;
                }
            }
        }
        top.draw_text(&label, &text_style, (x + lead + gap, cy))?;
    }
    Ok(rest)
}

/// The axes with units, the grid, and the y ticks of `y`.
fn axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    y: &YAxis,
    x_desc: &str,
    y_desc: &str,
    d: &Dash,
) -> Result<ChartContext<'a, DB, Cart>, DrawingAreaErrorKind<DB::ErrorType>> {
    let (x0, x1) = d.x_range();
    let font_px = if d.compact { 14.0 } else { 16.0 };
    let mut chart = ChartBuilder::on(area)
        .margin_top(d.px(8.0))
        .margin_right(d.px(18.0))
        .margin_left(d.px(6.0))
        .margin_bottom(d.px(4.0))
        .x_label_area_size(d.px(font_px * 2.0 + 14.0))
        .y_label_area_size(d.px(font_px * 3.0 + 24.0))
        .build_cartesian_2d(
            x0..x1,
            TickedCoord {
                inner: (y.lo..y.hi).into(),
                ticks: y.ticks.clone(),
            },
        )?;
    let fmt_y = |v: &f64| y.label(*v);
    chart
        .configure_mesh()
        .x_max_light_lines(1)
        .light_line_style(palette::GRID.stroke_width(d.px(1.0)))
        .bold_line_style(palette::GRID_BOLD.stroke_width(d.px(1.0)))
        .axis_style(palette::AXIS.stroke_width(d.px(1.5)))
        .label_style(d.font())
        .axis_desc_style(d.font())
        .x_labels(if d.compact { 5 } else { 8 })
        .y_labels(y.ticks.len().max(2))
        .x_label_formatter(&|v| fmt_tick(*v))
        .y_label_formatter(&fmt_y)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()?;
    Ok(chart)
}

/// A message in the middle of `area`, wrapped to its width.
fn note<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, d: &Dash) -> DrawResult<DB> {
    let font = d.font();
    let (w, h) = area.dim_in_pixel();
    let max_w = (w as f64 * 0.85) as u32;
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let cand = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if !cur.is_empty() && area.estimate_text_size(&cand, &font)?.0 > max_w {
            lines.push(std::mem::replace(&mut cur, word.to_string()));
        } else {
            cur = cand;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    let line_h = d.px(if d.compact { 20.0 } else { 24.0 }) as i32;
    let top = h as i32 / 2 - line_h * lines.len() as i32 / 2 + line_h / 2;
    let style = font.pos(Pos::new(HPos::Center, VPos::Center));
    for (i, l) in lines.iter().enumerate() {
        area.draw_text(l, &style, (w as i32 / 2, top + i as i32 * line_h))?;
    }
    Ok(())
}

// ---- the charts ---------------------------------------------------------

/// Chart 1: end-to-end p50/p95/p99 per window (windows with no completed
/// request are gaps), the SLO latency as a reference line when there is an
/// SLO; log y when p99 spans more than 20× p50.
pub fn draw_latency_over_time<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &Dash,
) -> DrawResult<DB> {
    root.fill(&palette::BG)?;
    let sets = d.sets();
    let slo = d.slo_latency();
    let mut lo = f64::INFINITY;
    let mut hi = 0.0f64;
    for w in d.all_windows().filter(|w| w.completed > 0) {
        for v in [w.p50_s, w.p95_s, w.p99_s].into_iter().flatten() {
            if v > 0.0 && v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    let has_data = hi > 0.0;
    if let Some(s) = slo {
        lo = lo.min(s);
        hi = hi.max(s);
    }
    let n_ticks = if d.compact { 4 } else { 6 };
    let all: Vec<&[Window]> = sets.iter().map(|(ws, _)| *ws).collect();
    let y = if has_data && latency_log_scale(&all) {
        YAxis::log(lo / 1.25, hi * 1.25, n_ticks + 2)
    } else {
        YAxis::linear(if hi > 0.0 { hi * 1.08 } else { 1.0 }, n_ticks)
    };

    let mut items = Vec::new();
    let mut lines = Vec::new();
    for (ws, ab) in &sets {
        // Each percentile only where its window (pooled with the ones
        // before it, if it is small) has enough answers for it.
        let spec: [(&str, f64, RGBColor, Marker, f64); 3] = [
            ("p99", 0.99, palette::VERMILLION, Marker::Square, 4.0),
            ("p95", 0.95, palette::ORANGE, Marker::Triangle, 2.5),
            ("p50", 0.5, palette::BLUE, Marker::Circle, 2.5),
        ];
        for (name, q, colour, marker, width) in spec {
            let (vals, pooled) = crate::model::honest_quantiles(ws, 0, q);
            let label = if pooled > 1 {
                let span = sim_core::pooled::pooled_span_s(ws, pooled).round();
                format!("{name} (≤{span} s pooled)")
            } else {
                name.to_string()
            };
            let line = Line::new(tagged(&label, *ab), colour, marker, width, *ab);
            let segs = segments(
                ws.iter()
                    .zip(vals)
                    .map(|(w, v)| v.and_then(|p| y.y(p)).map(|v| (w.t_end_s, v))),
            );
            items.push(LegendItem::Line(line.clone()));
            lines.push((line, segs));
        }
    }
    // Drawn p50 first and p99 last: p99 on top.
    lines.reverse();
    let slo_line = slo.map(|s| Line::reference(format!("SLO {}", format_secs(s))));
    if let Some(l) = &slo_line {
        items.push(LegendItem::Line(l.clone()));
    }
    let area = with_legend(root, &items, d)?;
    let y_desc = if y.log {
        "latency (s, log scale)"
    } else {
        "latency (s)"
    };
    let mut chart = axes(&area, &y, "simulated time (s)", y_desc, d)?;
    if let (Some(l), Some(s)) = (&slo_line, slo) {
        if let Some(v) = y.y(s) {
            plot_reference(&mut chart, l, v, d)?;
        }
    }
    for (k, (line, segs)) in lines.iter().enumerate() {
        plot_line(&mut chart, line, segs, k, d)?;
    }
    if !has_data {
        note(
            &chart.plotting_area().strip_coord_spec(),
            "No request has completed yet.",
            d,
        )?;
    }
    root.present()?;
    Ok(())
}

/// Chart 2: offered load (arrivals/s), completed/s, goodput/s (answered OK
/// within the SLO latency; = completed without an SLO) and errors/s.
pub fn draw_throughput<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &Dash,
) -> DrawResult<DB> {
    root.fill(&palette::BG)?;
    let has_slo = d.slo.is_some();
    let sets = d.sets();
    let per_set: Vec<(Vec<Rates>, Option<&str>)> = sets
        .iter()
        .map(|(ws, ab)| (rates(ws, has_slo), *ab))
        .collect();
    let top = per_set
        .iter()
        .flat_map(|(r, _)| r.iter())
        .map(|r| r.offered.max(r.completed).max(r.errors))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let y = YAxis::linear(
        if top > 0.0 { top * 1.08 } else { 1.0 },
        if d.compact { 4 } else { 6 },
    );
    let goodput_name = match d.slo_latency() {
        Some(s) => format!("goodput/s (OK ≤ {})", format_secs(s)),
        None => "goodput/s (= completed, no SLO)".to_string(),
    };
    let mut items = Vec::new();
    let mut lines = Vec::new();
    for (rs, ab) in &per_set {
        type Get = fn(&Rates) -> f64;
        let spec: [(&str, Get, RGBColor, Marker, f64); 4] = [
            (
                "offered (arrivals/s)",
                |r| r.offered,
                palette::BLACK,
                Marker::Ring,
                2.5,
            ),
            (
                "completed/s",
                |r| r.completed,
                palette::BLUE,
                Marker::Circle,
                3.0,
            ),
            (
                &goodput_name,
                |r| r.goodput,
                palette::BLUISH_GREEN,
                Marker::Diamond,
                3.0,
            ),
            (
                "errors/s",
                |r| r.errors,
                palette::VERMILLION,
                Marker::Cross,
                3.0,
            ),
        ];
        for (name, get, colour, marker, width) in spec {
            let line = Line::new(tagged(name, *ab), colour, marker, width, *ab);
            let segs = segments(rs.iter().map(|r| Some((r.t_s, get(r)))));
            items.push(LegendItem::Line(line.clone()));
            lines.push((line, segs));
        }
    }
    let area = with_legend(root, &items, d)?;
    let mut chart = axes(&area, &y, "simulated time (s)", "requests per second", d)?;
    for (k, (line, segs)) in lines.iter().enumerate() {
        plot_line(&mut chart, line, segs, k, d)?;
    }
    root.present()?;
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NodeMetric {
    Utilisation,
    Queue,
    Replicas,
}

impl NodeMetric {
    fn get(self, n: &sim_core::NodeWindow) -> f64 {
        match self {
            NodeMetric::Utilisation => n.utilisation,
            NodeMetric::Queue => n.queue_len,
            NodeMetric::Replicas => n.replicas as f64,
        }
    }
}

const NODE_COLOURS: [RGBColor; 6] = [
    palette::BLUE,
    palette::ORANGE,
    palette::BLUISH_GREEN,
    palette::VERMILLION,
    palette::REDDISH_PURPLE,
    palette::SKY_BLUE,
];
const NODE_MARKERS: [Marker; 6] = [
    Marker::Circle,
    Marker::Triangle,
    Marker::Square,
    Marker::Diamond,
    Marker::Cross,
    Marker::Ring,
];

/// The (at most `k`) nodes with the largest maximum of `metric` over all
/// windows shown, largest first (ties: lower index first).
fn top_nodes(d: &Dash, metric: NodeMetric, k: usize) -> Vec<usize> {
    let mut max: Vec<f64> = Vec::new();
    for w in d.all_windows() {
        if max.len() < w.nodes.len() {
            max.resize(w.nodes.len(), f64::NEG_INFINITY);
        }
        for (i, n) in w.nodes.iter().enumerate() {
            let v = metric.get(n);
            if v.is_finite() {
                max[i] = max[i].max(v);
            }
        }
    }
    let mut idx: Vec<usize> = (0..max.len()).filter(|&i| max[i].is_finite()).collect();
    idx.sort_by(|&a, &b| max[b].total_cmp(&max[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Public form of the node choice for the utilisation chart (tests, captions).
pub fn busiest_nodes(windows: &[Window], k: usize) -> Vec<usize> {
    top_nodes(&Dash::new(windows), NodeMetric::Utilisation, k)
}

/// Colour slots for the chosen nodes: a node keeps slot `index % 6` unless
/// another chosen node has it, so colours rarely move as the ranking changes.
fn node_slots(nodes: &[usize]) -> Vec<usize> {
    let mut by_index: Vec<usize> = nodes.to_vec();
    by_index.sort_unstable();
    let mut taken = [false; 6];
    let mut slot_of = std::collections::HashMap::new();
    for &i in &by_index {
        let mut s = i % 6;
        while taken[s] {
            s = (s + 1) % 6;
        }
        taken[s] = true;
        slot_of.insert(i, s);
    }
    nodes.iter().map(|i| slot_of[i]).collect()
}

fn node_name(d: &Dash, i: usize) -> String {
    d.node_names
        .get(i)
        .cloned()
        .unwrap_or_else(|| format!("node {i}"))
}

/// Charts 3 (utilisation, with the 100 % line), queue length and replicas:
/// one line per node for the top six nodes.
fn draw_node_metric<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &Dash,
    metric: NodeMetric,
) -> DrawResult<DB> {
    root.fill(&palette::BG)?;
    let nodes = top_nodes(d, metric, 6);
    let slots = node_slots(&nodes);
    let top = d
        .all_windows()
        .flat_map(|w| nodes.iter().filter_map(|&i| w.nodes.get(i)))
        .map(|n| metric.get(n))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let n_ticks = if d.compact { 4 } else { 6 };
    let y = match metric {
        NodeMetric::Utilisation => {
            let mut y = YAxis::linear(1.0, 5);
            y.hi = top.max(1.0) * 1.05;
            y.percent = true;
            y
        }
        NodeMetric::Queue => YAxis::linear(if top > 0.0 { top * 1.08 } else { 1.0 }, n_ticks),
        NodeMetric::Replicas => {
            let mut y = YAxis::linear((top + 1.0).max(2.0), n_ticks);
            if y.decimals > 0 {
                y = YAxis::linear(y.hi.max(n_ticks as f64), n_ticks);
            }
            y
        }
    };
    let mut items = Vec::new();
    let mut lines = Vec::new();
    for (ws, ab) in d.sets() {
        for (&i, &slot) in nodes.iter().zip(&slots) {
            let line = Line::new(
                tagged(&node_name(d, i), ab),
                NODE_COLOURS[slot],
                NODE_MARKERS[slot],
                3.0,
                ab,
            );
            let segs = segments(
                ws.iter()
                    .map(|w| w.nodes.get(i).map(|n| (w.t_end_s, metric.get(n)))),
            );
            items.push(LegendItem::Line(line.clone()));
            lines.push((line, segs));
        }
    }
    let full =
        (metric == NodeMetric::Utilisation).then(|| Line::reference("100 % busy".to_string()));
    if let Some(l) = &full {
        items.push(LegendItem::Line(l.clone()));
    }
    let area = with_legend(root, &items, d)?;
    let y_desc = match metric {
        NodeMetric::Utilisation => "utilisation (% of workers busy)",
        NodeMetric::Queue => "queue length (requests)",
        NodeMetric::Replicas => "replicas",
    };
    let mut chart = axes(&area, &y, "simulated time (s)", y_desc, d)?;
    if let Some(l) = &full {
        plot_reference(&mut chart, l, 1.0, d)?;
    }
    for (k, (line, segs)) in lines.iter().enumerate() {
        plot_line(&mut chart, line, segs, k, d)?;
    }
    if nodes.is_empty() {
        note(
            &chart.plotting_area().strip_coord_spec(),
            "No node data yet.",
            d,
        )?;
    }
    root.present()?;
    Ok(())
}

/// Chart 3: utilisation of the (at most six) busiest nodes, with the 100 % line.
pub fn draw_saturation<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &Dash,
) -> DrawResult<DB> {
    draw_node_metric(root, d, NodeMetric::Utilisation)
}

/// Time-average queue length of the (at most six) longest-queue nodes.
pub fn draw_queues<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &Dash) -> DrawResult<DB> {
    draw_node_metric(root, d, NodeMetric::Queue)
}

/// Active replicas of the (at most six) largest nodes.
pub fn draw_replicas<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &Dash,
) -> DrawResult<DB> {
    draw_node_metric(root, d, NodeMetric::Replicas)
}

/// Chart 4: latency heatmap of the first run (x = windows, y = latency
/// buckets on a log axis, colour = count on [`heat_colour`]) with its p99
/// line, and the second run's p99 dashed in A/B mode.
pub fn draw_heatmap<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &Dash) -> DrawResult<DB> {
    root.fill(&palette::BG)?;
    let max = d
        .windows
        .iter()
        .flat_map(|w| w.heat.iter().copied())
        .max()
        .unwrap_or(0);
    // rows shown: the buckets in use and the p99s, at least three buckets
    let mut b_lo = usize::MAX;
    let mut b_hi = 0usize;
    for w in d.windows {
        for (i, &c) in w.heat.iter().enumerate().take(HEAT_BUCKETS) {
            if c > 0 {
                b_lo = b_lo.min(i);
                b_hi = b_hi.max(i);
            }
        }
    }
    for p99 in d.all_windows().filter_map(|w| w.p99_s).filter(|p| *p > 0.0) {
        let b = heat_bucket_of(p99);
        b_lo = b_lo.min(b);
        b_hi = b_hi.max(b);
    }
    if b_lo == usize::MAX {
        (b_lo, b_hi) = (1, 10); // 1 ms .. 1 s
    }
    while b_hi - b_lo < 2 {
        b_lo = b_lo.saturating_sub(1);
        if b_hi - b_lo < 2 && b_hi < HEAT_BUCKETS - 1 {
            b_hi += 1;
        }
    }
    let (lo_s, _) = heat_bucket_span(b_lo);
    let (_, hi_s) = heat_bucket_span(b_hi);
    let mut y = YAxis::log(lo_s, hi_s, if d.compact { 5 } else { 8 });
    y.lo = lo_s.log10();
    y.hi = hi_s.log10();
    if b_lo == 0 {
        y.zero_at_bottom = true;
        if !y.ticks.first().is_some_and(|t| (t - y.lo).abs() < 1e-9) {
            y.ticks.insert(0, y.lo);
        }
    }

    let mut items = vec![LegendItem::Ramp];
    let mut lines = Vec::new();
    for (ws, ab) in d.sets() {
        let line = Line::new(tagged("p99", ab), palette::BLACK, Marker::None, 3.0, ab);
        let segs = segments(ws.iter().map(|w| {
            w.p99_s
                .and_then(|p| y.y(p.max(0.0005)))
                .map(|v| (w.t_end_s, v))
        }));
        items.push(LegendItem::Line(line.clone()));
        lines.push((line, segs));
    }
    let area = with_legend(root, &items, d)?;
    let mut chart = axes(&area, &y, "simulated time (s)", "latency (s, log scale)", d)?;
    for w in d.windows {
        for (i, &c) in w.heat.iter().enumerate().take(HEAT_BUCKETS) {
            if i < b_lo || i > b_hi {
                continue;
            }
            if let Some(t) = heat_level(c, max) {
                let (a, b) = heat_bucket_span(i);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(w.t_start_s, a.log10()), (w.t_end_s, b.log10())],
                    heat_colour(t).filled(),
                )))?;
            }
        }
    }
    for (k, (line, segs)) in lines.iter().enumerate() {
        // a white halo keeps the black line visible on dark cells
        let mut halo = line.clone();
        halo.colour = palette::BG;
        halo.width = line.width + 3.0;
        plot_line(&mut chart, &halo, segs, k, d)?;
        plot_line(&mut chart, line, segs, k, d)?;
    }
    if max == 0 {
        note(
            &chart.plotting_area().strip_coord_spec(),
            "No request has completed yet.",
            d,
        )?;
    }
    root.present()?;
    Ok(())
}

/// "99.9" for 99.900, "99" for 99.0.
fn trim_num(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What the burn chart says instead of a chart, if anything.
pub fn burn_unavailable(d: &Dash) -> Option<String> {
    match d.slo {
        None => Some(
            "This scenario has no SLO, so there is no error budget to burn. \
             Add an [slo] with a latency and a target to see this chart."
                .to_string(),
        ),
        Some(s) if !(s.target < 1.0 && s.target >= 0.0) => Some(format!(
            "The SLO target is {}: it leaves no error budget, so any failure breaks it.",
            s.target
        )),
        Some(_) if d.all_windows().all(|w| w.slo_good.is_none()) && !d.windows.is_empty() => {
            Some("These windows carry no SLO counts.".to_string())
        }
        _ => None,
    }
}

/// Chart 5: error-budget burn rate per window and over the run so far
/// ([`burn_series`]) with the 1× line; without an SLO, a sentence saying so.
pub fn draw_burn<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &Dash) -> DrawResult<DB> {
    root.fill(&palette::BG)?;
    if let Some(msg) = burn_unavailable(d) {
        root.draw(&Rectangle::new(
            [
                (1, 1),
                (
                    root.dim_in_pixel().0 as i32 - 2,
                    root.dim_in_pixel().1 as i32 - 2,
                ),
            ],
            palette::GRID_BOLD.stroke_width(d.px(1.0)),
        ))?;
        note(root, &msg, d)?;
        root.present()?;
        return Ok(());
    }
    let slo = d.slo.expect("checked by burn_unavailable");
    let per_set: Vec<(Vec<BurnPoint>, Option<&str>)> = d
        .sets()
        .into_iter()
        .map(|(ws, ab)| (burn_series(ws, slo), ab))
        .collect();
    let top = per_set
        .iter()
        .flat_map(|(b, _)| b.iter())
        .flat_map(|b| [b.window, b.cumulative])
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let y = YAxis::linear((top * 1.08).max(2.0), if d.compact { 4 } else { 6 });
    let mut items = Vec::new();
    let mut lines = Vec::new();
    for (bs, ab) in &per_set {
        let win = Line::new(
            tagged("per window", *ab),
            palette::VERMILLION,
            Marker::Circle,
            2.5,
            *ab,
        );
        let cum = Line::new(
            tagged("run so far", *ab),
            palette::BLUE,
            Marker::Square,
            4.0,
            *ab,
        );
        let win_segs = segments(bs.iter().map(|b| b.window.map(|v| (b.t_s, v))));
        let cum_segs = segments(bs.iter().map(|b| b.cumulative.map(|v| (b.t_s, v))));
        items.push(LegendItem::Line(win.clone()));
        items.push(LegendItem::Line(cum.clone()));
        lines.push((win, win_segs));
        lines.push((cum, cum_segs));
    }
    let one = Line::reference(format!(
        "1× (SLO {}% within {})",
        trim_num(slo.target * 100.0),
        format_secs(slo.latency_s)
    ));
    items.push(LegendItem::Line(one.clone()));
    let area = with_legend(root, &items, d)?;
    let mut chart = axes(&area, &y, "simulated time (s)", "burn rate (× allowed)", d)?;
    plot_reference(&mut chart, &one, 1.0, d)?;
    for (k, (line, segs)) in lines.iter().enumerate() {
        plot_line(&mut chart, line, segs, k, d)?;
    }
    root.present()?;
    Ok(())
}

/// Draws chart `kind`.
pub fn draw_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    kind: ChartKind,
    d: &Dash,
) -> DrawResult<DB> {
    match kind {
        ChartKind::Latency => draw_latency_over_time(root, d),
        ChartKind::Throughput => draw_throughput(root, d),
        ChartKind::Utilisation => draw_saturation(root, d),
        ChartKind::Queue => draw_queues(root, d),
        ChartKind::Replicas => draw_replicas(root, d),
        ChartKind::Heatmap => draw_heatmap(root, d),
        ChartKind::Burn => draw_burn(root, d),
    }
}

/// One sentence for screen readers: the latest values the chart shows.
pub fn describe(kind: ChartKind, d: &Dash) -> String {
    let last_done = d.windows.iter().rev().find(|w| w.completed > 0);
    let text = match kind {
        ChartKind::Latency | ChartKind::Heatmap => match last_done {
            Some(w) => format!(
                "latest window: p50 {}, p95 {}, p99 {}",
                format_secs(w.p50_s.unwrap_or(0.0)),
                format_secs(w.p95_s.unwrap_or(0.0)),
                format_secs(w.p99_s.unwrap_or(0.0))
            ),
            None => "no request has completed yet".to_string(),
        },
        ChartKind::Throughput => match rates(d.windows, d.slo.is_some()).last() {
            Some(r) => format!(
                "latest window: offered {:.1}/s, completed {:.1}/s, goodput {:.1}/s, errors {:.1}/s",
                r.offered, r.completed, r.goodput, r.errors
            ),
            None => "no data yet".to_string(),
        },
        ChartKind::Utilisation | ChartKind::Queue | ChartKind::Replicas => {
            let metric = match kind {
                ChartKind::Utilisation => NodeMetric::Utilisation,
                ChartKind::Queue => NodeMetric::Queue,
                _ => NodeMetric::Replicas,
            };
            match (top_nodes(d, metric, 1).first(), d.windows.last()) {
                (Some(&i), Some(w)) => match w.nodes.get(i) {
                    Some(n) => {
                        let v = metric.get(n);
                        let v = match metric {
                            NodeMetric::Utilisation => format!("{:.0}% busy", v * 100.0),
                            NodeMetric::Queue => format!("queue {v:.1}"),
                            NodeMetric::Replicas => format!("{v:.0} replicas"),
                        };
                        format!("top node {}: {v} in the latest window", node_name(d, i))
                    }
                    None => "no node data yet".to_string(),
                },
                _ => "no node data yet".to_string(),
            }
        }
        ChartKind::Burn => match burn_unavailable(d) {
            Some(msg) => msg,
            None => match d.slo.and_then(|s| burn_series(d.windows, s).last().copied()) {
                Some(BurnPoint {
                    cumulative: Some(c),
                    ..
                }) => format!("burn rate over the run so far: {c:.2}×"),
                _ => "no request has finished yet".to_string(),
            },
        },
    };
    format!("{}: {}", kind.title(), text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChartPoint;
    use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};
    use std::cell::RefCell;
    use std::collections::HashSet;
    use std::rc::Rc;

    #[derive(Default)]
    pub(super) struct Ink {
        pub texts: Vec<String>,
        pub pixels: usize,
        pub colours: HashSet<(u8, u8, u8)>,
        /// Every non-background pixel: (x, y, colour).
        pub at: Vec<(i32, i32, (u8, u8, u8))>,
    }

    /// A backend that records the pixels drawn in non-background colours.
    pub(super) struct Counting(Rc<RefCell<Ink>>, (u32, u32));

    impl DrawingBackend for Counting {
        type ErrorType = std::io::Error;
        fn get_size(&self) -> (u32, u32) {
            self.1
        }
        fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
            Ok(())
        }
        fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
            Ok(())
        }
        fn draw_pixel(
            &mut self,
            _p: BackendCoord,
            c: BackendColor,
        ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
            if c.rgb != (0xff, 0xff, 0xff) && c.alpha > 0.0 {
                let mut ink = self.0.borrow_mut();
                ink.pixels += 1;
                ink.colours.insert(c.rgb);
                ink.at.push((_p.0, _p.1, c.rgb));
            }
            Ok(())
        }
        fn draw_text<TStyle: BackendTextStyle>(
            &mut self,
            text: &str,
            _style: &TStyle,
            _pos: BackendCoord,
        ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
            self.0.borrow_mut().texts.push(text.to_string());
            Ok(())
        }
        fn estimate_text_size<TStyle: BackendTextStyle>(
            &self,
            text: &str,
            style: &TStyle,
        ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
            let size = style.size().max(1.0);
            let (w, h) = (
                (size * 0.6 * text.len() as f64).ceil() as u32,
                size.ceil() as u32,
            );
            Ok((w, h))
        }
    }

    fn counting() -> (DrawingArea<Counting, Shift>, Rc<RefCell<Ink>>) {
        counting_sized(400, 240)
    }

    pub(super) fn counting_sized(
        w: u32,
        h: u32,
    ) -> (DrawingArea<Counting, Shift>, Rc<RefCell<Ink>>) {
        let ink = Rc::new(RefCell::new(Ink::default()));
        (Counting(ink.clone(), (w, h)).into_drawing_area(), ink)
    }

    fn data(n: usize) -> ChartData {
        ChartData {
            points: (0..n)
                .map(|i| ChartPoint {
                    t_s: i as f64 + 1.0,
                    completed: 9,
                    p50_s: Some(0.7),
                    p95_s: Some(2.5 + (i % 3) as f64),
                    p99_s: Some(4.0 + (i % 5) as f64),
                    utilisation: 0.9,
                    queue_len: (i % 7) as f64,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn rgb(c: RGBColor) -> (u8, u8, u8) {
        (c.0, c.1, c.2)
    }

    #[test]
    fn latency_chart_draws_all_series_and_the_prediction() {
        let (root, ink) = counting();
        draw_latency(&root, &data(120), Some(6.5), 1.0).unwrap();
        let ink = ink.borrow();
        assert!(ink.pixels > 1_000, "{}", ink.pixels);
        assert!(
            ink.texts.iter().any(|t| t == "latency (s)"),
            "{:?}",
            ink.texts
        );
        assert!(
            ink.texts.iter().any(|t| t == "simulated time (s)"),
            "{:?}",
            ink.texts
        );
        for c in [
            palette::BLUE,
            palette::ORANGE,
            palette::VERMILLION,
            palette::BLACK,
        ] {
            assert!(ink.colours.contains(&rgb(c)), "missing {c:?}");
        }
    }

    #[test]
    fn latency_chart_copes_with_no_data_and_no_prediction() {
        let (root, ink) = counting();
        draw_latency(&root, &ChartData::default(), None, 2.0).unwrap();
        draw_latency(&root, &data(1), Some(f64::NAN), 1.0).unwrap();
        assert!(!ink.borrow().colours.contains(&rgb(palette::BLACK)));
    }

    #[test]
    fn utilisation_chart_draws_both_series() {
        let (root, ink) = counting();
        draw_utilisation(&root, &data(50), 1.0).unwrap();
        for c in [palette::BLUISH_GREEN, palette::REDDISH_PURPLE] {
            assert!(ink.borrow().colours.contains(&rgb(c)), "missing {c:?}");
        }
        let (root, _) = counting();
        draw_utilisation(&root, &ChartData::default(), 1.5).unwrap();
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(fmt_tick(120.0), "120");
        assert_eq!(fmt_tick(2.0), "2");
        assert_eq!(fmt_tick(2.5), "2.5");
        assert_eq!(fmt_tick(0.25), "0.25");
    }
}

#[cfg(test)]
mod dash_tests {
    use super::tests::counting_sized;
    use super::*;
    use sim_core::NodeWindow;

    fn rgb(c: RGBColor) -> (u8, u8, u8) {
        (c.0, c.1, c.2)
    }

    /// 1-second windows; nodes: "api" busy 0.5..0.95, "db" 0.2, "cache" 0.05.
    fn windows(n: usize) -> Vec<Window> {
        (0..n)
            .map(|i| {
                let mut heat = vec![0u32; HEAT_BUCKETS];
                heat[5] = 40 + i as u32; // 16–32 ms
                heat[6] = 20;
                heat[9] = (i % 4) as u32; // 128–256 ms: a slow mode
                let completed: u64 = heat.iter().map(|&c| c as u64).sum();
                Window {
                    t_start_s: i as f64,
                    t_end_s: i as f64 + 1.0,
                    arrived: completed + 3,
                    attempts: completed + 3,
                    completed,
                    failed: 2,
                    in_flight: 4,
                    throughput_rps: completed as f64,
                    p50_s: Some(0.020),
                    p95_s: Some(0.040),
                    p99_s: Some(0.150 + (i % 3) as f64 * 0.01),
                    heat,
                    slo_good: Some(completed - (i % 4) as u64),
                    nodes: [0.5 + 0.45 * i as f64 / n as f64, 0.2, 0.05]
                        .iter()
                        .map(|&u| NodeWindow {
                            arrival_rate_rps: 10.0,
                            utilisation: u,
                            queue_len: u * 3.0,
                            in_flight: u * 4.0,
                            throughput_rps: 10.0,
                            failed: 0,
                            rejected: 0,
                            replicas: 2,
                        })
                        .collect(),
                }
            })
            .collect()
    }

    fn names() -> Vec<String> {
        ["api", "db", "cache"].map(String::from).to_vec()
    }

    fn slo() -> SloSpec {
        SloSpec {
            latency_s: 0.1,
            target: 0.99,
        }
    }

    #[test]
    fn chart_names_parse_like_the_lessons_write_them() {
        assert_eq!(ChartKind::parse("latency"), Some(ChartKind::Latency));
        assert_eq!(
            ChartKind::parse(" Utilisation "),
            Some(ChartKind::Utilisation)
        );
        assert_eq!(ChartKind::parse("errors"), Some(ChartKind::Throughput));
        assert_eq!(ChartKind::parse("cache"), None);
        assert_eq!(
            ChartKind::list(&[
                "errors",
                "throughput",
                "cache",
                "heatmap",
                "latency",
                "pool"
            ]),
            vec![
                ChartKind::Throughput,
                ChartKind::Heatmap,
                ChartKind::Latency
            ]
        );
        for k in ChartKind::ALL {
            assert_eq!(ChartKind::parse(k.slug()), Some(k));
            assert_eq!(k.test_id(), format!("chart-{}", k.slug()));
        }
    }

    #[test]
    fn every_chart_names_in_every_lesson_that_we_draw_parses() {
        // Every chart name used by a shipped lesson either parses or is one
        // of the kinds with no window data (cache/pool/backlog).
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/lessons");
        let mut seen = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            for line in text.lines().filter(|l| l.contains("charts = [")) {
                let list = line.split("charts = [").nth(1).unwrap();
                let list = list.split(']').next().unwrap();
                for name in list.split(',').map(|s| s.trim().trim_matches('"')) {
                    seen += 1;
                    assert!(
                        ChartKind::parse(name).is_some()
                            || ["cache", "pool", "backlog"].contains(&name),
                        "unhandled chart name {name:?}"
                    );
                }
            }
        }
        assert!(seen > 20, "{seen}");
    }

    #[test]
    fn every_chart_draws_on_every_input() {
        let ws = windows(60);
        let b = windows(40);
        let names = names();
        let slo = slo();
        for kind in ChartKind::ALL {
            for (compare, slo, compact, scale) in [
                (None, Some(&slo), false, 1.0),
                (Some(&b[..]), Some(&slo), true, 2.0),
                (None, None, false, 1.0),
            ] {
                let (root, ink) = counting_sized(800, 400);
                let d = Dash {
                    windows: &ws,
                    compare,
                    node_names: &names,
                    slo,
                    scale,
                    compact,
                };
                draw_chart(&root, kind, &d).unwrap();
                let ink = ink.borrow();
                assert!(ink.pixels > 2_000, "{kind:?}: {} px", ink.pixels);
                assert!(!ink.texts.is_empty(), "{kind:?}");
            }
            // no data at all: must not panic, and draws axes or a message
            let (root, ink) = counting_sized(300, 200);
            draw_chart(&root, kind, &Dash::new(&[])).unwrap();
            assert!(!ink.borrow().texts.is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn axes_carry_units_and_legends_name_the_series() {
        let ws = windows(30);
        let names = names();
        let slo = slo();
        let d = Dash {
            node_names: &names,
            slo: Some(&slo),
            ..Dash::new(&ws)
        };
        let texts = |kind| {
            let (root, ink) = counting_sized(900, 400);
            draw_chart(&root, kind, &d).unwrap();
            let t = ink.borrow().texts.clone();
            t
        };
        let t = texts(ChartKind::Latency);
        for want in ["simulated time (s)", "p50", "p95", "SLO 0.100 s"] {
            assert!(t.iter().any(|x| x == want), "{want}: {t:?}");
        }
        // These windows hold 60 to 83 answers: p99 pools two (and says so).
        assert!(t.iter().any(|x| x == "p99 (≤2 s pooled)"), "{t:?}");
        assert!(t.iter().any(|x| x.starts_with("latency (s")), "{t:?}");
        let t = texts(ChartKind::Throughput);
        for want in [
            "requests per second",
            "offered (arrivals/s)",
            "completed/s",
            "goodput/s (OK ≤ 0.100 s)",
            "errors/s",
        ] {
            assert!(t.iter().any(|x| x == want), "{want}: {t:?}");
        }
        let t = texts(ChartKind::Utilisation);
        for want in ["api", "db", "cache", "100 % busy", "100%"] {
            assert!(t.iter().any(|x| x == want), "{want}: {t:?}");
        }
        let t = texts(ChartKind::Burn);
        assert!(
            t.iter().any(|x| x == "1× (SLO 99% within 0.100 s)"),
            "{t:?}"
        );
        // A/B labels
        let d = Dash {
            compare: Some(&ws),
            ..d
        };
        let (root, ink) = counting_sized(900, 400);
        draw_chart(&root, ChartKind::Latency, &d).unwrap();
        let t = ink.borrow().texts.clone();
        // (p99 pools two of these windows: "p99 (≤2 s pooled) (A)")
        let p99_of = |lane: &str| {
            t.iter()
                .any(|x| x.starts_with("p99") && x.ends_with(&format!("({lane})")))
        };
        assert!(p99_of("A") && p99_of("B"), "{t:?}");
        assert!(t.iter().any(|x| x == "p95 (A)"), "{t:?}");
    }

    #[test]
    fn slo_line_is_drawn_iff_there_is_an_slo() {
        let ws = windows(30);
        let slo = slo();
        // Black (the reference-line colour) appears in the latency chart only
        // for the SLO line and its legend sample.
        for (s, want) in [(Some(&slo), true), (None, false)] {
            let (root, ink) = counting_sized(800, 400);
            let d = Dash {
                slo: s,
                ..Dash::new(&ws)
            };
            draw_latency_over_time(&root, &d).unwrap();
            let ink = ink.borrow();
            assert_eq!(ink.colours.contains(&rgb(palette::BLACK)), want);
            assert_eq!(ink.texts.iter().any(|t| t.starts_with("SLO")), want);
        }
    }

    #[test]
    fn windows_without_completions_are_gaps_not_zeros() {
        // p50 = 1 s and p99 = 2 s (linear axis from 0) except windows 10..20,
        // which answered nothing and carry zeros.
        let mk = |zero_completed: bool| -> Vec<Window> {
            let mut ws = windows(30);
            for (i, w) in ws.iter_mut().enumerate() {
                w.p50_s = Some(1.0);
                w.p95_s = Some(1.5);
                w.p99_s = Some(2.0);
                if (10..20).contains(&i) {
                    // A window that answered nothing has no percentiles;
                    // one that answered in no time has zeros.
                    let v = if zero_completed { None } else { Some(0.0) };
                    w.p50_s = v;
                    w.p95_s = v;
                    w.p99_s = v;
                    if zero_completed {
                        w.completed = 0;
                    }
                }
            }
            ws
        };
        let blue_rows = |ws: &[Window]| {
            let (root, ink) = counting_sized(800, 400);
            draw_latency_over_time(&root, &Dash::new(ws)).unwrap();
            let rows: std::collections::HashSet<i32> = ink
                .borrow()
                .at
                .iter()
                .filter(|p| p.2 == rgb(palette::BLUE))
                .map(|p| p.1)
                .collect();
            rows.len()
        };
        let gaps = blue_rows(&mk(true));
        // the same zeros in windows that did complete requests drop the line
        // to the axis: many more rows are inked
        let zeros = blue_rows(&mk(false));
        assert!(gaps < 40, "p50 line spans {gaps} rows");
        assert!(zeros > gaps + 100, "{zeros} vs {gaps}");
        let segs = segments(mk(true).iter().map(|w| w.p50_s.map(|p| (w.t_end_s, p))));
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[0].len(), segs[1].len()), (10, 10));
    }

    #[test]
    fn log_scale_when_p99_spans_more_than_20x_p50() {
        let mut ws = windows(10);
        assert!(!latency_log_scale(&[&ws])); // 0.17 / 0.02 = 8.5
        ws[3].p99_s = Some(0.5); // 25×
        assert!(latency_log_scale(&[&ws]));
        ws[3].completed = 0; // an empty window does not count
        (ws[3].p50_s, ws[3].p95_s, ws[3].p99_s) = (None, None, None);
        assert!(!latency_log_scale(&[&ws]));
        let y = YAxis::log(0.004, 3.0, 8);
        let labels: Vec<String> = y.ticks.iter().map(|t| y.label(*t)).collect();
        assert_eq!(labels, ["0.01", "0.1", "1"]);
        let y = YAxis::log(0.04, 0.6, 8);
        let labels: Vec<String> = y.ticks.iter().map(|t| y.label(*t)).collect();
        assert_eq!(labels, ["0.05", "0.1", "0.2", "0.5"]);
        let y = YAxis::linear(0.17, 6);
        let labels: Vec<String> = y.ticks.iter().map(|t| y.label(*t)).collect();
        assert_eq!(labels, ["0.00", "0.05", "0.10", "0.15", "0.20"]);
    }

    #[test]
    fn heatmap_colour_scale_is_monotonic_and_draws_cells() {
        // relative luminance (sRGB -> linear, Rec. 709 weights)
        let lum = |c: RGBColor| {
            let lin = |v: u8| {
                let v = v as f64 / 255.0;
                if v <= 0.04045 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * lin(c.0) + 0.7152 * lin(c.1) + 0.0722 * lin(c.2)
        };
        let mut last = f64::INFINITY;
        for k in 0..=200 {
            let l = lum(heat_colour(k as f64 / 200.0));
            assert!(
                l < last,
                "luminance not falling at t = {}",
                k as f64 / 200.0
            );
            last = l;
        }
        // more requests, further along the scale
        let mut prev = 0.0;
        for c in 1..1000 {
            let t = heat_level(c, 999).unwrap();
            assert!(t > prev);
            prev = t;
        }
        assert_eq!(heat_level(0, 10), None);
        assert_eq!(heat_level(10, 10), Some(1.0));

        let ws = windows(40);
        let (root, ink) = counting_sized(800, 400);
        draw_heatmap(&root, &Dash::new(&ws)).unwrap();
        let ink = ink.borrow();
        // the busiest cells are near the dark end; the p99 line is black
        let max = ws
            .iter()
            .flat_map(|w| w.heat.iter().copied())
            .max()
            .unwrap();
        assert!(ink.colours.contains(&rgb(heat_colour(1.0))));
        assert!(ink
            .colours
            .contains(&rgb(heat_colour(heat_level(20, max).unwrap()))));
        assert!(ink.colours.contains(&rgb(palette::BLACK)));
        assert!(ink.texts.iter().any(|t| t == "latency (s, log scale)"));
    }

    #[test]
    fn burn_rate_matches_a_hand_computed_example() {
        // target 0.99: the allowed bad fraction is 1 - 0.99 = 0.01.
        // w0: 95 completed + 5 failed = 100 finished, 90 good:
        //     bad = 1 - 90/100 = 0.10, burn = 0.10 / 0.01 = 10×; run: 10×.
        // w1: 100 finished, 100 good: burn 0×; run: 1 - 190/200 = 0.05 -> 5×.
        // w2: nothing finished: a gap; run still 5×.
        // w3: 48 completed + 2 failed = 50, 49 good: 1 - 49/50 = 0.02 -> 2×;
        //     run: 1 - 239/250 = 0.044 -> 4.4×.
        let mut ws = windows(4);
        for (w, (c, f, g)) in
            ws.iter_mut()
                .zip([(95, 5, 90), (100, 0, 100), (0, 0, 0), (48, 2, 49)])
        {
            w.completed = c;
            w.failed = f;
            w.slo_good = Some(g);
        }
        let b = burn_series(&ws, &slo());
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
        assert!(
            close(b[0].window, 10.0) && close(b[0].cumulative, 10.0),
            "{:?}",
            b[0]
        );
        assert!(
            close(b[1].window, 0.0) && close(b[1].cumulative, 5.0),
            "{:?}",
            b[1]
        );
        assert!(
            b[2].window.is_none() && close(b[2].cumulative, 5.0),
            "{:?}",
            b[2]
        );
        assert!(
            close(b[3].window, 2.0) && close(b[3].cumulative, 4.4),
            "{:?}",
            b[3]
        );
        // no budget at all: nothing to chart
        assert!(burn_series(
            &ws,
            &SloSpec {
                latency_s: 0.1,
                target: 1.0
            }
        )
        .is_empty());
    }

    #[test]
    fn burn_chart_without_an_slo_says_so() {
        let ws = windows(20);
        let (root, ink) = counting_sized(800, 400);
        draw_burn(&root, &Dash::new(&ws)).unwrap();
        let ink = ink.borrow();
        let all = ink.texts.join(" ");
        assert!(all.contains("no SLO"), "{all}");
        // no series drawn, no axes
        assert!(!ink.colours.contains(&rgb(palette::VERMILLION)));
        assert!(!ink.texts.iter().any(|t| t.contains("burn rate")));
        // with an SLO: both series and the 1× line
        let slo = slo();
        let (root, ink) = counting_sized(800, 400);
        draw_burn(
            &root,
            &Dash {
                slo: Some(&slo),
                ..Dash::new(&ws)
            },
        )
        .unwrap();
        let ink = ink.borrow();
        for c in [palette::VERMILLION, palette::BLUE, palette::BLACK] {
            assert!(ink.colours.contains(&rgb(c)), "{c:?}");
        }
    }

    #[test]
    fn saturation_shows_at_most_six_busiest_nodes_with_stable_colours() {
        let mut ws = windows(10);
        for w in &mut ws {
            w.nodes = (0..9)
                .map(|i| NodeWindow {
                    arrival_rate_rps: 0.0,
                    utilisation: i as f64 / 10.0,
                    queue_len: 0.0,
                    in_flight: 0.0,
                    throughput_rps: 0.0,
                    failed: 0,
                    rejected: 0,
                    replicas: 1,
                })
                .collect();
        }
        assert_eq!(busiest_nodes(&ws, 6), vec![8, 7, 6, 5, 4, 3]);
        // 8 % 6 = 2 and 7 % 6 = 1 keep their slots; 6 % 6 = 0 too
        let slots = node_slots(&[8, 7, 6, 5, 4, 3]);
        assert_eq!(slots, vec![2, 1, 0, 5, 4, 3]);
        let names: Vec<String> = (0..9).map(|i| format!("n{i}")).collect();
        let (root, ink) = counting_sized(900, 400);
        draw_saturation(
            &root,
            &Dash {
                node_names: &names,
                ..Dash::new(&ws)
            },
        )
        .unwrap();
        let t = ink.borrow().texts.clone();
        assert!(
            t.iter().any(|x| x == "n8") && !t.iter().any(|x| x == "n2"),
            "{t:?}"
        );
    }

    #[test]
    fn rates_and_goodput() {
        let mut ws = windows(2);
        ws[0].t_end_s = 2.0; // a 2 s window
        ws[0].arrived = 100;
        ws[0].completed = 80;
        ws[0].failed = 10;
        ws[0].slo_good = Some(60);
        let r = rates(&ws, true)[0];
        assert_eq!(
            (r.offered, r.completed, r.goodput, r.errors),
            (50.0, 40.0, 30.0, 5.0)
        );
        let r = rates(&ws, false)[0];
        assert_eq!(r.goodput, 40.0);
    }

    #[test]
    fn descriptions_read_the_latest_values() {
        let ws = windows(5);
        let names = names();
        let d = Dash {
            node_names: &names,
            ..Dash::new(&ws)
        };
        assert!(
            describe(ChartKind::Latency, &d).contains("p99 0.160 s"),
            "{}",
            describe(ChartKind::Latency, &d)
        );
        assert!(describe(ChartKind::Utilisation, &d).contains("top node api"));
        assert!(describe(ChartKind::Burn, &d).contains("no SLO"));
    }
}
