//! The class's guesses as bars (SVG, drawn by Yew: every label is a text
//! node, so a nickname or a number can never become markup), with the
//! simulated answer's bin marked and, on a student's page, their own guess.
//!
//! Test ids: `class-histogram` (with `data-total`, `data-answered`),
//! `hist-bin` (with `data-count`, `data-lo`, `data-hi`, and
//! `data-answer="true"` / `data-mine="true"` on the marked bins),
//! `hist-below`, `hist-above`, `hist-summary`.

use classroom::histogram::{Histogram, Scale};
use yew::prelude::*;

use crate::lessons::fmt_num;
use crate::teach::with_unit;

#[derive(Properties, PartialEq)]
pub struct HistogramProps {
    pub histogram: Histogram,
    pub unit: String,
    /// The simulated answer (its bin is marked).
    #[prop_or_default]
    pub answer: Option<f64>,
    /// The viewer's own guess (its bin is outlined).
    #[prop_or_default]
    pub mine: Option<f64>,
    /// Students in the room (for "12 of 30 answered").
    #[prop_or_default]
    pub of: Option<u32>,
}

const W: f64 = 640.0;
const H: f64 = 220.0;
const PAD_X: f64 = 8.0;
const TOP: f64 = 24.0;
const AXIS: f64 = 40.0;

/// One bar of the chart: (label, count, lo, hi), the overflow bars with
/// open ends.
struct Bar {
    label: String,
    count: u32,
    lo: f64,
    hi: f64,
    testid: &'static str,
}

fn bars(h: &Histogram, unit: &str) -> Vec<Bar> {
    let mut out = Vec::new();
    if h.below > 0 {
        let edge = h.bins.first().map_or(0.0, |b| b.lo);
        out.push(Bar {
            label: format!("< {}", with_unit(edge, unit)),
            count: h.below,
            lo: f64::NEG_INFINITY,
            hi: edge,
            testid: "hist-below",
        });
    }
    for b in &h.bins {
        out.push(Bar {
            label: fmt_num(b.lo),
            count: b.count,
            lo: b.lo,
            hi: b.hi,
            testid: "hist-bin",
        });
    }
    if h.above > 0 {
        let edge = h.bins.last().map_or(0.0, |b| b.hi);
        out.push(Bar {
            label: format!("\u{2265} {}", with_unit(edge, unit)),
            count: h.above,
            lo: edge,
            hi: f64::INFINITY,
            testid: "hist-above",
        });
    }
    out
}

/// A sentence for screen readers and the page: what the chart shows.
pub fn summary(h: &Histogram, unit: &str, of: Option<u32>) -> String {
    let answered = match of {
        Some(n) => format!("{} of {n} answered", h.total),
        None => format!("{} answered", h.total),
    };
    match h.median {
        Some(m) => format!("{answered}; median guess {}", with_unit(m, unit)),
        None => answered,
    }
}

#[component(ClassHistogram)]
pub fn class_histogram(p: &HistogramProps) -> Html {
    let h = &p.histogram;
    let bars = bars(h, &p.unit);
    let max = h.max_count().max(1) as f64;
    let n = bars.len().max(1) as f64;
    let slot = (W - 2.0 * PAD_X) / n;
    let inside = |x: Option<f64>, b: &Bar| x.is_some_and(|x| b.lo <= x && x < b.hi);
    let scale_note = match h.scale {
        Scale::Log => "bins grow by 2x and 2.5x (a log scale)",
        Scale::Linear => "equal bins",
    };
    html! {
        <figure class="class-histogram" data-testid="class-histogram"
                data-total={h.total.to_string()} data-answered={h.total.to_string()}>
            <svg viewBox={format!("0 0 {W} {H}")} role="img"
                 aria-label={summary(h, &p.unit, p.of)} preserveAspectRatio="none">
                { for bars.iter().enumerate().map(|(i, b)| {
                    let x = PAD_X + i as f64 * slot;
                    let bh = (H - TOP - AXIS) * b.count as f64 / max;
                    let y = H - AXIS - bh;
                    let answer = inside(p.answer, b);
                    let mine = inside(p.mine, b);
                    let class = classes!("bar", answer.then_some("answer"), mine.then_some("mine"));
                    html! {
                        <g data-testid={b.testid} data-count={b.count.to_string()}
                           data-lo={b.lo.to_string()} data-hi={b.hi.to_string()}
                           data-answer={answer.then_some("true")} data-mine={mine.then_some("true")}>
                            <rect class={class} x={format!("{:.1}", x + 2.0)} y={format!("{y:.1}")}
                                  width={format!("{:.1}", (slot - 4.0).max(1.0))} height={format!("{bh:.1}")} />
                            if b.count > 0 {
                                <text class="count" x={format!("{:.1}", x + slot / 2.0)} y={format!("{:.1}", y - 6.0)}
                                      text-anchor="middle">{ b.count }</text>
                            }
                            <text class="tick" x={format!("{:.1}", x + slot / 2.0)} y={format!("{:.1}", H - AXIS + 16.0)}
                                  text-anchor="middle">{ &b.label }</text>
                            if answer {
                                // a mark even when no guess shares the answer's bin
                                <rect class="answer-mark" x={format!("{:.1}", x + slot / 2.0 - 1.5)} y={format!("{TOP:.1}")}
                                      width="3" height={format!("{:.1}", H - TOP - AXIS)} />
                                <text class="answer-label" x={format!("{:.1}", x + slot / 2.0)} y={format!("{:.1}", H - 6.0)}
                                      text-anchor={if i + 1 == bars.len() { "end" } else { "middle" }}>{ "\u{25B2} simulated" }</text>
                            } else if mine {
                                <text class="mine-label" x={format!("{:.1}", x + slot / 2.0)} y={format!("{:.1}", H - 6.0)}
                                      text-anchor="middle">{ "\u{25B2} you" }</text>
                            }
                        </g>
                    }
                }) }
            </svg>
            <figcaption data-testid="hist-summary">
                { summary(h, &p.unit, p.of) }
                if !p.unit.is_empty() { { format!(" (in {}; {scale_note})", p.unit) } }
                else { { format!(" ({scale_note})") } }
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use classroom::histogram::histogram;

    #[test]
    fn bars_cover_every_guess_and_the_summary_counts_them() {
        let h = histogram(&[0.5, 0.5, 0.6, 0.6, 0.7, 0.7, 0.8, 0.8, 0.9, 1e9], None);
        let b = bars(&h, "s");
        assert_eq!(b.iter().map(|b| b.count).sum::<u32>(), 10);
        assert_eq!(b.last().unwrap().testid, "hist-above");
        assert!(b.last().unwrap().label.starts_with('\u{2265}'));
        assert_eq!(
            summary(&h, "s", Some(30)),
            "10 of 30 answered; median guess 0.7 s"
        );
        assert_eq!(summary(&histogram(&[], None), "", None), "0 answered");
    }
}
