//! Sweep charts: a metric against the first varied parameter, one line per
//! combination of the others, each with its confidence band, drawn with
//! plotters to SVG or PNG (DejaVu Sans compiled in, so text renders the same
//! on any machine).

use plotters::coord::Shift;
use plotters::prelude::*;
use sim_core::study::grid::value_text;
use sim_core::study::table::SweepOutput;
use std::path::Path;

/// One line: its label and (x, mean, lo, hi) points sorted by x.
struct Line {
    label: String,
    points: Vec<(f64, f64, f64, f64)>,
}

const SIZE: (u32, u32) = (960, 600);

/// Draws `metric` from a sweep's summary rows into `path` (.svg or .png),
/// written whole.
pub fn chart(o: &SweepOutput, metric: &str, log: bool, path: &Path) -> Result<(), String> {
    let lines = lines(o, metric)?;
    let m = o
        .provenance
        .metrics
        .iter()
        .position(|x| x == metric)
        .expect("checked by the caller");
    let n = o.points.first().map_or(0, |p| p.summary[m].n);
    let conf = o.provenance.confidence.unwrap_or(0.95) * 100.0;
    let title = format!("{metric}: mean of {n} replications, {conf}% intervals");
    let x_label = o.provenance.vary[0].path.clone();
    register_font();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
                draw(root, &lines, &title, &x_label, metric, log)?;
            }
            crate::io::write_atomic(path, svg.as_bytes())
        }
        Some("png") => {
            let tmp = crate::io::temp_beside(path, ".png");
            let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
            let res = draw(root, &lines, &title, &x_label, metric, log).and_then(|()| {
                std::fs::rename(&tmp, path)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))
            });
            if res.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            res
        }
        _ => Err(format!(
            "--plot {}: the chart must be a .svg or .png file",
            path.display()
        )),
    }
}

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| unreachable!("DejaVu Sans is a valid font"));
    });
}

/// Groups the points by the values of the parameters after the first.
fn lines(o: &SweepOutput, metric: &str) -> Result<Vec<Line>, String> {
    let m = o
        .provenance
        .metrics
        .iter()
        .position(|x| x == metric)
        .ok_or_else(|| format!("{metric} is not among the sweep's metrics"))?;
    let first = &o.provenance.vary[0].path;
    let mut out: Vec<Line> = Vec::new();
    for p in &o.points {
        let x = p.params[0].as_f64().ok_or_else(|| {
            format!(
                "--plot needs numbers on the x axis; {first} = {} is not one (put a numeric --vary first)",
                value_text(&p.params[0])
            )
        })?;
        let label = o.provenance.vary[1..]
            .iter()
            .zip(&p.params[1..])
            .map(|(v, x)| format!("{} = {}", short_path(&v.path), value_text(x)))
            .collect::<Vec<_>>()
            .join(", ");
        let s = &p.summary[m];
        let point = (x, s.mean, s.lo.unwrap_or(s.mean), s.hi.unwrap_or(s.mean));
        match out.iter_mut().find(|l| l.label == label) {
            Some(l) => l.points.push(point),
            None => out.push(Line {
                label,
                points: vec![point],
            }),
        }
    }
    for l in &mut out {
        l.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    Ok(out)
}

/// The last two segments of a path: `api.workers` for `nodes.api.workers`.
fn short_path(p: &str) -> String {
    let segs: Vec<&str> = p.split('.').collect();
    segs[segs.len().saturating_sub(2)..].join(".")
}

fn bounds(lines: &[Line], log: bool) -> ((f64, f64), (f64, f64)) {
    let all = lines.iter().flat_map(|l| &l.points);
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, _, lo, hi) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(lo);
        y1 = y1.max(hi);
    }
    if x0 == x1 {
        (x0, x1) = (x0 - 1.0, x1 + 1.0);
    }
    // Room above the data for the legend, a line of it per series.
    let rows = if lines.len() > 1 {
        lines.len().min(10)
    } else {
        0
    };
    if log {
        y0 = y0.max(y1 * 1e-6).max(f64::MIN_POSITIVE);
        let room = (y1 / y0).powf(0.07 * rows as f64);
        return ((x0, x1), (y0 / 1.5, y1 * 1.5 * room));
    }
    let pad = ((y1 - y0) * 0.08).max(y1.abs() * 1e-3).max(1e-12);
    let lo = if y0 >= 0.0 {
        (y0 - pad).max(0.0)
    } else {
        y0 - pad
    };
    let room = (y1 - lo) * 0.07 * rows as f64;
    ((x0, x1), (lo, y1 + pad + room))
}

/// Ten colours that stay apart on white (the "tab10" palette).
const COLOURS: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

fn colour(i: usize) -> RGBAColor {
    let (r, g, b) = COLOURS[i % COLOURS.len()];
    RGBColor(r, g, b).to_rgba()
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    lines: &[Line],
    title: &str,
    x_label: &str,
    y_label: &str,
    log: bool,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("drawing the chart: {e}");
    root.fill(&WHITE).map_err(e)?;
    let ((x0, x1), (y0, y1)) = bounds(lines, log);
    let mut b = ChartBuilder::on(&root);
    b.caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80);
    if log {
        let mut chart = b
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(("sans-serif", 14))
            .light_line_style(BLACK.mix(0.04))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(e)?;
        series(&mut chart, lines).map_err(e)?;
        legend(&mut chart, lines).map_err(e)?;
    } else {
        let mut chart = b.build_cartesian_2d(x0..x1, y0..y1).map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(("sans-serif", 14))
            .light_line_style(BLACK.mix(0.04))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(e)?;
        series(&mut chart, lines).map_err(e)?;
        legend(&mut chart, lines).map_err(e)?;
    }
    root.present().map_err(e)
}

type Chart<'a, DB, Y> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>;

/// Per line: the interval band, the mean line and its points.
fn series<'a, DB: DrawingBackend + 'a, Y>(
    chart: &mut Chart<'a, DB, Y>,
    lines: &[Line],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    Y: Ranged<ValueType = f64>,
{
    for (i, l) in lines.iter().enumerate() {
        let color = colour(i);
        let mut band: Vec<(f64, f64)> = l.points.iter().map(|p| (p.0, p.2)).collect();
        band.extend(l.points.iter().rev().map(|p| (p.0, p.3)));
        chart.draw_series(std::iter::once(Polygon::new(
            band,
            color.mix(0.18).filled(),
        )))?;
        let label = if l.label.is_empty() {
            "mean".to_string()
        } else {
            l.label.clone()
        };
        chart
            .draw_series(LineSeries::new(
                l.points.iter().map(|p| (p.0, p.1)),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        chart.draw_series(
            l.points
                .iter()
                .map(|p| Circle::new((p.0, p.1), 3, color.filled())),
        )?;
    }
    Ok(())
}

fn legend<'a, DB: DrawingBackend + 'a, Y>(
    chart: &mut Chart<'a, DB, Y>,
    lines: &[Line],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    Y: Ranged<ValueType = f64>,
{
    if lines.len() < 2 && lines.first().is_none_or(|l| l.label.is_empty()) {
        return Ok(());
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 15))
        .draw()
}
