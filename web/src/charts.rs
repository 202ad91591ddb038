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

    let pts = || data.points.iter().filter(|p| p.completed > 0);
    let width = px(2.5, scale);
    // p99 first and widest: in small windows p95 == p99 (both the maximum),
    // and the thinner p95 line then stays visible inside the p99 one.
    type Get = dyn Fn(&crate::model::ChartPoint) -> f64;
    let series: [(&Get, RGBColor, u32); 3] = [
        (&|p| p.p99_s, palette::VERMILLION, px(4.0, scale)),
        (&|p| p.p95_s, palette::ORANGE, width),
        (&|p| p.p50_s, palette::BLUE, width),
    ];
    for (get, colour, w) in series {
        chart.draw_series(LineSeries::new(
            pts().map(|p| (p.t_s, get(p))),
            colour.stroke_width(w),
        ))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChartPoint;
    use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};
    use std::cell::RefCell;
    use std::collections::HashSet;
    use std::rc::Rc;

    #[derive(Default)]
    struct Ink {
        texts: Vec<String>,
        pixels: usize,
        colours: HashSet<(u8, u8, u8)>,
    }

    /// A backend that records the pixels drawn in non-background colours.
    struct Counting(Rc<RefCell<Ink>>);

    impl DrawingBackend for Counting {
        type ErrorType = std::io::Error;
        fn get_size(&self) -> (u32, u32) {
            (400, 240)
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
        let ink = Rc::new(RefCell::new(Ink::default()));
        (Counting(ink.clone()).into_drawing_area(), ink)
    }

    fn data(n: usize) -> ChartData {
        ChartData {
            points: (0..n)
                .map(|i| ChartPoint {
                    t_s: i as f64 + 1.0,
                    completed: 9,
                    p50_s: 0.7,
                    p95_s: 2.5 + (i % 3) as f64,
                    p99_s: 4.0 + (i % 5) as f64,
                    utilisation: 0.9,
                    queue_len: (i % 7) as f64,
                })
                .collect(),
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
