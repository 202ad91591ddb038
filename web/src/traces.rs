//! "Why is it slow?": pure logic of the trace panel. Picks the slowest of the
//! recent traced requests and lays a trace's spans out as a waterfall
//! (percentages of the trace's latency, labels, colours). No DOM here: the
//! component in `app.rs` only turns [`WaterfallRow`]s into divs.

use sim_core::{SpanKind, Trace};

use crate::model::format_secs;

/// The slow-request list is refreshed at most this often (wall ms).
pub const TRACE_REFRESH_MS: f64 = 500.0;
/// How many requests the list shows.
pub const SLOW_LIST_LEN: usize = 12;

/// The slowest `n` of `traces`, slowest first; ties: the latest first.
pub fn slowest(mut traces: Vec<Trace>, n: usize) -> Vec<Trace> {
    traces.sort_by(|a, b| {
        b.latency_s
            .total_cmp(&a.latency_s)
            .then(b.start_s.total_cmp(&a.start_s))
            .then(b.id.cmp(&a.id))
    });
    traces.truncate(n);
    traces
}

/// The span kind as shown on the page ("pool wait").
pub fn kind_label(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Call => "call",
        SpanKind::Network => "network",
        SpanKind::Queue => "queue",
        SpanKind::PoolWait => "pool wait",
        SpanKind::LockWait => "lock wait",
        SpanKind::Compute => "compute",
        SpanKind::Backoff => "backoff",
        SpanKind::Fallback => "fallback",
        SpanKind::Job => "job",
    }
}

/// A CSS class name for the kind (`span-pool_wait`).
pub fn kind_class(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Call => "span-call",
        SpanKind::Network => "span-network",
        SpanKind::Queue => "span-queue",
        SpanKind::PoolWait => "span-pool_wait",
        SpanKind::LockWait => "span-lock_wait",
        SpanKind::Compute => "span-compute",
        SpanKind::Backoff => "span-backoff",
        SpanKind::Fallback => "span-fallback",
        SpanKind::Job => "span-job",
    }
}

/// Every kind, in legend order.
pub const KINDS: [SpanKind; 9] = [
    SpanKind::Call,
    SpanKind::Job,
    SpanKind::Network,
    SpanKind::Queue,
    SpanKind::PoolWait,
    SpanKind::LockWait,
    SpanKind::Compute,
    SpanKind::Backoff,
    SpanKind::Fallback,
];

/// Bar colour: the page's Okabe–Ito palette. The two structural kinds (a
/// call as the caller sees it, a whole stay in a node) are neutral greys so
/// that the waits and work inside them stand out; the label names the kind
/// too, so colour is never the only cue.
pub fn kind_color(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Call => "#9aa3af",
        SpanKind::Job => "#4b5563",
        SpanKind::Network => "#56B4E9",  // sky blue
        SpanKind::Queue => "#D55E00",    // vermillion
        SpanKind::PoolWait => "#E69F00", // orange
        SpanKind::LockWait => "#CC79A7", // reddish purple
        SpanKind::Compute => "#0072B2",  // blue
        SpanKind::Backoff => "#F0E442",  // yellow
        SpanKind::Fallback => "#009E73", // bluish green
    }
}

/// A duration for the labels: "31.2 ms", "850 µs", "1.24 s".
pub fn format_duration(s: f64) -> String {
    if !s.is_finite() {
        return "—".to_string();
    }
    let a = s.abs();
    if a == 0.0 {
        "0 ms".to_string()
    } else if a < 1e-3 {
        format!("{:.0} µs", s * 1e6)
    } else if a < 0.01 {
        format!("{:.2} ms", s * 1e3)
    } else if a < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format_secs(s)
    }
}

/// One bar of the waterfall.
#[derive(Clone, Debug, PartialEq)]
pub struct WaterfallRow {
    pub kind: SpanKind,
    pub node: String,
    pub depth: u8,
    /// Bar position and length, percent of the trace's latency (0..=100).
    pub left_pct: f64,
    pub width_pct: f64,
    pub duration_s: f64,
    /// "db · compute · 31.2 ms"
    pub label: String,
    /// The tooltip: label plus start, end, attempt and outcome.
    pub title: String,
}

/// The time scale of a trace: its latency, or the last span end if a span
/// runs past it (never zero).
pub fn scale_s(trace: &Trace) -> f64 {
    let end = trace
        .spans
        .iter()
        .map(|s| s.end_s)
        .filter(|e| e.is_finite())
        .fold(0.0, f64::max);
    let scale = if trace.latency_s.is_finite() {
        trace.latency_s.max(end)
    } else {
        end
    };
    if scale > 0.0 {
        scale
    } else {
        1.0
    }
}

/// One row per span, in start order (on a tie what contains before what is
/// contained, a wait before the work), positioned as a percentage of the trace's latency.
pub fn layout(trace: &Trace) -> Vec<WaterfallRow> {
    let scale = scale_s(trace);
    let pct = |t: f64| {
        if t.is_finite() {
            (t / scale * 100.0).clamp(0.0, 100.0)
        } else {
            0.0
        }
    };
    let mut spans: Vec<_> = trace.spans.iter().collect();
    // start order; on a tie the parent (shallower; a call before its job,
    // a wait before the work) first, then the longer
    let rank = |k: SpanKind| KINDS.iter().position(|x| *x == k).unwrap_or(KINDS.len());
    spans.sort_by(|a, b| {
        a.start_s
            .total_cmp(&b.start_s)
            .then(a.depth.cmp(&b.depth))
            .then(rank(a.kind).cmp(&rank(b.kind)))
            .then(b.end_s.total_cmp(&a.end_s))
    });
    spans
        .into_iter()
        .map(|s| {
            let left = pct(s.start_s);
            let right = pct(s.end_s).max(left);
            let duration_s = (s.end_s - s.start_s).max(0.0);
            let node = if s.node.is_empty() {
                trace.source.clone()
            } else {
                s.node.clone()
            };
            let label = format!(
                "{node} · {} · {}",
                kind_label(s.kind),
                format_duration(duration_s)
            );
            let mut title = format!(
                "{label}\n{} → {}",
                format_duration(s.start_s),
                format_duration(s.end_s)
            );
            if s.attempt > 0 {
                title.push_str(&format!("\nretry {}", s.attempt));
            }
            if let Some(o) = &s.outcome {
                title.push_str(&format!("\noutcome: {o}"));
            }
            WaterfallRow {
                kind: s.kind,
                node,
                depth: s.depth,
                left_pct: left,
                width_pct: right - left,
                duration_s,
                label,
                title,
            }
        })
        .collect()
}

/// A list entry: "142.0 ms · clients · ok".
pub fn summary(trace: &Trace) -> String {
    format!(
        "{} · {} · {}",
        format_duration(trace.latency_s),
        trace.source,
        trace.outcome
    )
}

/// Where the time went: total leaf time (waits, network, compute, backoff,
/// fallback) per kind, largest first. Calls and jobs contain the others and
/// are left out.
pub fn breakdown(trace: &Trace) -> Vec<(SpanKind, f64)> {
    let mut out: Vec<(SpanKind, f64)> = Vec::new();
    for s in &trace.spans {
        if matches!(s.kind, SpanKind::Call | SpanKind::Job) {
            continue;
        }
        let d = (s.end_s - s.start_s).max(0.0);
        if !d.is_finite() {
            continue;
        }
        match out.iter_mut().find(|(k, _)| *k == s.kind) {
            Some((_, t)) => *t += d,
            None => out.push((s.kind, d)),
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Span;

    fn span(kind: SpanKind, node: &str, depth: u8, start_s: f64, end_s: f64) -> Span {
        Span {
            kind,
            node: node.into(),
            depth,
            attempt: 0,
            start_s,
            end_s,
            outcome: None,
        }
    }

    fn trace(id: u64, latency_s: f64, spans: Vec<Span>) -> Trace {
        Trace {
            id,
            source: "clients".into(),
            start_s: id as f64,
            latency_s,
            outcome: "ok".into(),
            spans,
            truncated: false,
        }
    }

    #[test]
    fn slowest_sorts_by_latency_and_truncates() {
        let ts = vec![
            trace(1, 0.05, vec![]),
            trace(2, 0.20, vec![]),
            trace(3, f64::NAN, vec![]),
            trace(4, 0.10, vec![]),
            trace(5, 0.20, vec![]),
        ];
        let ids: Vec<u64> = slowest(ts.clone(), 10).iter().map(|t| t.id).collect();
        // NaN sorts as the largest under total_cmp: it is shown, not lost
        assert_eq!(ids, [3, 5, 2, 4, 1]);
        let ids: Vec<u64> = slowest(ts[..2].to_vec(), 1).iter().map(|t| t.id).collect();
        assert_eq!(ids, [2]);
        assert!(slowest(vec![], 5).is_empty());
    }

    #[test]
    fn layout_scales_to_the_latency_and_labels_each_span() {
        let t = trace(
            1,
            0.040,
            vec![
                span(SpanKind::Compute, "db", 1, 0.010, 0.040),
                span(SpanKind::Call, "api", 0, 0.0, 0.040),
                span(SpanKind::Network, "db", 1, 0.005, 0.010),
                span(SpanKind::Network, "api", 0, 0.0, 0.002),
            ],
        );
        let rows = layout(&t);
        let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "api · call · 40.0 ms",
                "api · network · 2.00 ms",
                "db · network · 5.00 ms",
                "db · compute · 30.0 ms"
            ]
        );
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(rows[0].left_pct, 0.0) && close(rows[0].width_pct, 100.0));
        assert!(close(rows[2].left_pct, 12.5) && close(rows[2].width_pct, 12.5));
        assert!(close(rows[3].left_pct, 25.0) && close(rows[3].width_pct, 75.0));
        assert_eq!(rows[3].depth, 1);
        assert!(rows
            .iter()
            .all(|r| r.left_pct + r.width_pct <= 100.0 + 1e-9));
    }

    #[test]
    fn on_a_tie_the_container_and_the_wait_come_first() {
        let t = trace(
            1,
            0.01,
            vec![
                span(SpanKind::Compute, "api", 1, 0.0, 0.01),
                span(SpanKind::Queue, "api", 1, 0.0, 0.0),
                span(SpanKind::Job, "api", 1, 0.0, 0.01),
                span(SpanKind::Network, "api", 0, 0.0, 0.002),
                span(SpanKind::Call, "api", 0, 0.0, 0.01),
            ],
        );
        let kinds: Vec<_> = layout(&t).iter().map(|r| kind_label(r.kind)).collect();
        assert_eq!(kinds, ["call", "network", "job", "queue", "compute"]);
    }

    #[test]
    fn layout_survives_odd_spans() {
        // a span past the latency stretches the scale; an empty node name is
        // the source; reversed, NaN and zero-latency spans stay in 0..=100
        let mut s = span(SpanKind::Backoff, "", 0, 0.0, 0.02);
        s.attempt = 2;
        s.outcome = Some("timeout".into());
        let t = trace(
            1,
            0.010,
            vec![
                s,
                span(SpanKind::Queue, "api", 1, 0.015, 0.010),
                span(SpanKind::Job, "api", 1, f64::NAN, f64::NAN),
            ],
        );
        assert_eq!(scale_s(&t), 0.02);
        let rows = layout(&t);
        assert_eq!(rows.len(), 3);
        let back = rows.iter().find(|r| r.kind == SpanKind::Backoff).unwrap();
        assert_eq!(back.node, "clients");
        assert!((back.width_pct - 100.0).abs() < 1e-9);
        assert!(back.title.contains("retry 2") && back.title.contains("outcome: timeout"));
        for r in &rows {
            assert!(r.left_pct >= 0.0 && r.width_pct >= 0.0, "{r:?}");
            assert!(r.left_pct + r.width_pct <= 100.0 + 1e-9, "{r:?}");
        }
        let zero = trace(2, 0.0, vec![span(SpanKind::Compute, "db", 0, 0.0, 0.0)]);
        assert_eq!(scale_s(&zero), 1.0);
        assert_eq!(layout(&zero)[0].width_pct, 0.0);
    }

    #[test]
    fn durations_and_summaries_read_well() {
        assert_eq!(format_duration(0.0), "0 ms");
        assert_eq!(format_duration(0.000_85), "850 µs");
        assert_eq!(format_duration(0.0312), "31.2 ms");
        assert_eq!(format_duration(0.004_25), "4.25 ms");
        assert_eq!(format_duration(1.5), "1.50 s");
        assert_eq!(format_duration(f64::NAN), "—");
        assert_eq!(summary(&trace(1, 0.142, vec![])), "142.0 ms · clients · ok");
    }

    #[test]
    fn breakdown_sums_leaf_time_per_kind() {
        let t = trace(
            1,
            0.05,
            vec![
                span(SpanKind::Call, "api", 0, 0.0, 0.05),
                span(SpanKind::Queue, "db", 1, 0.0, 0.01),
                span(SpanKind::Compute, "api", 1, 0.01, 0.02),
                span(SpanKind::Queue, "api", 1, 0.02, 0.045),
            ],
        );
        let b = breakdown(&t);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].0, SpanKind::Queue);
        assert!((b[0].1 - 0.035).abs() < 1e-12);
    }

    #[test]
    fn every_kind_has_a_distinct_colour_and_class() {
        let mut colours: Vec<_> = KINDS.iter().map(|k| kind_color(*k)).collect();
        colours.sort();
        colours.dedup();
        assert_eq!(colours.len(), KINDS.len());
        let mut classes: Vec<_> = KINDS.iter().map(|k| kind_class(*k)).collect();
        classes.sort();
        classes.dedup();
        assert_eq!(classes.len(), KINDS.len());
    }

    #[test]
    fn the_chain_scenario_yields_traces_with_a_db_span() {
        let text = crate::scenarios::find("chain.toml").unwrap().text;
        let sc = sim_core::Scenario::from_str_any(text).unwrap();
        let mut sim = sim_core::Sim::new(&sc, sc.seed).unwrap();
        sim.run_until(20 * 1_000_000_000).unwrap();
        let slow = slowest(sim.recent_traces(), SLOW_LIST_LEN);
        assert!(!slow.is_empty());
        assert!(slow.windows(2).all(|w| w[0].latency_s >= w[1].latency_s));
        let rows = layout(&slow[0]);
        assert!(rows.iter().any(|r| r.node == "db" && r.width_pct > 0.0));
    }
}
