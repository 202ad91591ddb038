//! Pure, browser-free logic of the live page: speeds, the theory overlay, the
//! windowed-quantile estimator, chart series and number formatting.
//! Everything here is unit-tested natively.

pub use sim_core::pooled::{honest_quantiles, pooled_quantile, recent_p99, MAX_POOLED_WINDOWS};
use sim_core::{theory, NodeSnapshot, Window};

// Slider ranges depend on the scenario: see `scenarios::LiveControls`.

/// How many completed windows the charts show, and how many make up the
/// "windowed" p99 shown beside the Erlang C prediction.
pub const CHART_WINDOWS: usize = 120;
pub const RECENT_WINDOWS: usize = 30;

/// Wall-clock compute budget per animation frame, in milliseconds.
pub const FRAME_BUDGET_MS: f64 = 8.0;

/// How fast simulated time runs relative to wall time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Speed {
    /// Simulated seconds per wall second.
    X(u32),
    /// As fast as the frame budget allows.
    Max,
}

impl Speed {
    pub const ALL: [Speed; 8] = [
        Speed::X(1),
        Speed::X(2),
        Speed::X(5),
        Speed::X(10),
        Speed::X(20),
        Speed::X(50),
        Speed::X(100),
        Speed::Max,
    ];

    /// Value used in the `<select>` (`"10"`, `"max"`).
    pub fn value(self) -> String {
        match self {
            Speed::X(k) => k.to_string(),
            Speed::Max => "max".to_string(),
        }
    }

    /// Human label (`"10×"`, `"max"`).
    pub fn label(self) -> String {
        match self {
            Speed::X(k) => format!("{k}×"),
            Speed::Max => "max".to_string(),
        }
    }

    pub fn parse(s: &str) -> Option<Speed> {
        Speed::ALL.into_iter().find(|sp| sp.value() == s.trim())
    }

    /// Simulated nanoseconds to advance for a frame of `wall_dt_s` wall seconds;
    /// `None` for [`Speed::Max`] (run until the budget is used up).
    pub fn sim_advance_ns(self, wall_dt_s: f64) -> Option<u64> {
        match self {
            Speed::X(k) => Some((wall_dt_s.max(0.0) * k as f64 * 1e9).round() as u64),
            Speed::Max => None,
        }
    }
}

/// The M/M/c prediction for the current settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Prediction {
    Stable {
        rho: f64,
        /// P(wait > 0), Erlang C.
        p_wait: f64,
        /// Predicted p99 response time (wait + service), seconds.
        p99_s: f64,
        /// Predicted mean number waiting (Lq).
        lq: f64,
    },
    /// ρ ≥ 1: no steady state.
    Unstable { rho: f64 },
}

impl Prediction {
    pub fn new(workers: u32, lambda: f64, mu: f64) -> Prediction {
        let c = workers.max(1);
        let rho = lambda / (c as f64 * mu);
        if !(rho < 1.0) {
            return Prediction::Unstable { rho };
        }
        let p_wait = theory::erlang_c(c, lambda, mu);
        let p99_s = theory::mmc_sojourn_quantile(c, lambda, mu, 0.99);
        if !p_wait.is_finite() || !p99_s.is_finite() {
            return Prediction::Unstable { rho };
        }
        let lq = p_wait * rho / (1.0 - rho);
        Prediction::Stable {
            rho,
            p_wait,
            p99_s,
            lq,
        }
    }

    pub fn rho(&self) -> f64 {
        match *self {
            Prediction::Stable { rho, .. } | Prediction::Unstable { rho } => rho,
        }
    }

    pub fn p99_s(&self) -> Option<f64> {
        match *self {
            Prediction::Stable { p99_s, .. } => Some(p99_s),
            Prediction::Unstable { .. } => None,
        }
    }

    /// Text for the `#p99-theory` read-out.
    pub fn p99_text(&self) -> String {
        match *self {
            Prediction::Stable { p99_s, .. } => format_secs(p99_s),
            Prediction::Unstable { .. } => UNSTABLE_TEXT.to_string(),
        }
    }
}

pub const UNSTABLE_TEXT: &str = "unstable: λ ≥ cμ, queue grows without bound";

/// One point per window for the charts: a percentile is `None` where the
/// window (pooled or not) has too few answers for it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartPoint {
    pub t_s: f64,
    pub completed: u64,
    pub p50_s: Option<f64>,
    pub p95_s: Option<f64>,
    pub p99_s: Option<f64>,
    pub utilisation: f64,
    pub queue_len: f64,
}

/// The series both charts draw: the last `CHART_WINDOWS` windows, with the
/// utilisation and queue length of node `node_idx` (the service node).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChartData {
    pub points: Vec<ChartPoint>,
    /// The most windows pooled for one p95 or p99 point (1: none).
    pub pooled: usize,
    /// The seconds those windows span.
    pub pooled_s: f64,
    /// Some window's p99 (or p95) was not drawn: too few answers even pooled.
    pub withheld: bool,
}

impl ChartData {
    pub fn from_windows(windows: &[Window], node_idx: Option<usize>, keep: usize) -> ChartData {
        let start = windows.len().saturating_sub(keep);
        let (p50, _) = honest_quantiles(windows, start, 0.5);
        let (p95, w95) = honest_quantiles(windows, start, 0.95);
        let (p99, w99) = honest_quantiles(windows, start, 0.99);
        let mut withheld = false;
        let points = windows[start..]
            .iter()
            .enumerate()
            .map(|(k, w)| {
                let nw = node_idx.and_then(|i| w.nodes.get(i));
                withheld |= w.completed > 0 && (p99[k].is_none() || p95[k].is_none());
                ChartPoint {
                    t_s: w.t_end_s,
                    completed: w.completed,
                    p50_s: p50[k],
                    p95_s: p95[k],
                    p99_s: p99[k],
                    utilisation: nw.map_or(0.0, |n| n.utilisation),
                    queue_len: nw.map_or(0.0, |n| n.queue_len),
                }
            })
            .collect();
        ChartData {
            points,
            pooled: w95.max(w99),
            pooled_s: sim_core::pooled::pooled_span_s(windows, w95.max(w99)),
            withheld,
        }
    }

    /// The x range to plot: the window span, at least `min_span` seconds wide.
    pub fn x_range(&self, min_span: f64) -> (f64, f64) {
        match (self.points.first(), self.points.last()) {
            (Some(a), Some(b)) => {
                let lo = (a.t_s - 1.0).max(0.0);
                let hi = b.t_s.max(lo + min_span);
                (lo, hi)
            }
            _ => (0.0, min_span),
        }
    }

    /// Top of the latency axis: covers every plotted value and the prediction.
    pub fn latency_top(&self, prediction: Option<f64>) -> f64 {
        let m = self
            .points
            .iter()
            .flat_map(|p| [p.p99_s, p.p95_s, p.p50_s].into_iter().flatten())
            .chain(prediction.filter(|p| p.is_finite()))
            .fold(0.0_f64, f64::max);
        nice_ceil(m.max(0.5) * 1.08)
    }

    /// Top of the queue-length axis.
    pub fn queue_top(&self) -> f64 {
        let m = self
            .points
            .iter()
            .map(|p| p.queue_len)
            .fold(0.0_f64, f64::max);
        nice_ceil(m.max(1.0) * 1.08)
    }
}

/// One row of the node table.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeRow {
    pub name: String,
    pub kind: String,
    /// Replicas up now.
    pub replicas: u32,
    /// Whole-run utilisation; `None` for nodes without a worker limit.
    pub utilisation: Option<f64>,
    pub queue_len: u64,
    pub in_flight: u64,
    /// The kind-specific column: cache hit rate, broker backlog, pool use.
    pub detail: String,
}

impl NodeRow {
    pub fn from_snapshot(n: &NodeSnapshot) -> NodeRow {
        let detail = if let Some(h) = n.hit_rate {
            format!("hit rate {}", format_percent(h))
        } else if let Some(b) = n.backlog {
            format!("backlog {}", format_count(b))
        } else if let Some((used, size)) = n.pool_in_use {
            format!("pool {used} / {size}")
        } else {
            String::new()
        };
        NodeRow {
            name: n.name.clone(),
            kind: n.kind.replace('_', " "),
            replicas: n.replicas,
            utilisation: (n.workers > 0).then_some(n.utilisation),
            queue_len: n.queue_len,
            in_flight: n.in_flight,
            detail,
        }
    }

    /// A node whose replicas are all down (crashed, restarting).
    pub fn is_down(&self) -> bool {
        self.replicas == 0
            && matches!(
                self.kind.as_str(),
                "service" | "database" | "cache" | "external"
            )
    }
}

/// Rounds up to 1, 2, 2.5 or 5 times a power of ten.
pub fn nice_ceil(x: f64) -> f64 {
    if !(x > 0.0) || !x.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= x * (1.0 - 1e-12) {
            return m * p;
        }
    }
    10.0 * p
}

/// Seconds with three significant figures: "0.853 s", "2.31 s", "14.2 s", "153 s".
pub fn format_secs(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    let a = x.abs();
    if a == 0.0 {
        "0 s".to_string()
    } else if a < 0.001 {
        format!("{:.3} ms", x * 1e3)
    } else if a < 1.0 {
        format!("{:.3} s", x)
    } else if a < 10.0 {
        format!("{:.2} s", x)
    } else if a < 100.0 {
        format!("{:.1} s", x)
    } else {
        format!("{:.0} s", x)
    }
}

/// Simulated clock read-out: "12.3 s".
pub fn format_sim_time(t_s: f64) -> String {
    format!("{:.1} s", t_s.max(0.0))
}

/// Longer human form of a simulated time span: "3 min 20 s", "2 h 5 min".
pub fn format_duration_human(t_s: f64) -> String {
    let t = t_s.max(0.0).floor() as u64;
    let (d, h, m, s) = (t / 86_400, (t / 3600) % 24, (t / 60) % 60, t % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

/// Integer counts with thin thousands separators: "1 234 567".
pub fn format_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(ch);
    }
    out
}

pub fn format_percent(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    format!("{:.1} %", x * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window of `n` answers whose p50/p95/p99 are as given.
    fn win(i: usize, n: u64, p50: f64, p95: f64, p99: f64) -> Window {
        Window {
            t_start_s: i as f64,
            t_end_s: i as f64 + 1.0,
            arrived: n,
            attempts: n,
            completed: n,
            failed: 0,
            in_flight: 0,
            throughput_rps: n as f64,
            p50_s: (n > 0).then_some(p50),
            p95_s: (n > 0).then_some(p95),
            p99_s: (n > 0).then_some(p99),
            heat: Vec::new(),
            slo_good: None,
            nodes: Vec::new(),
        }
    }

    #[test]
    fn big_windows_keep_their_own_percentiles_and_empty_ones_are_gaps() {
        let mut ws: Vec<Window> = (0..10).map(|i| win(i, 500, 0.1, 0.4, 0.9)).collect();
        ws[4] = win(4, 0, 0.0, 0.0, 0.0);
        let (p99, widest) = honest_quantiles(&ws, 2, 0.99);
        assert_eq!(widest, 1);
        assert_eq!(p99.len(), 8);
        assert_eq!(p99[0], Some(0.9));
        assert_eq!(p99[2], None, "an empty window is a gap");
        let c = ChartData::from_windows(&ws, None, 8);
        assert_eq!((c.pooled, c.withheld), (1, false));
        // Far too few answers even over 30 windows: nothing drawn, and said.
        let sparse: Vec<Window> = (0..40).map(|i| win(i, 2, 0.1, 0.2, 0.2)).collect();
        let c = ChartData::from_windows(&sparse, None, 40);
        assert!(c.points.iter().all(|p| p.p99_s.is_none()));
        assert!(c.points.iter().all(|p| p.p50_s.is_some()));
        assert!(c.withheld);
    }

    #[test]
    fn speed_round_trips_through_select_values() {
        for sp in Speed::ALL {
            assert_eq!(Speed::parse(&sp.value()), Some(sp));
        }
        assert_eq!(Speed::parse("max"), Some(Speed::Max));
        assert_eq!(Speed::parse("3"), None);
        assert_eq!(Speed::X(10).sim_advance_ns(0.016), Some(160_000_000));
        assert_eq!(Speed::Max.sim_advance_ns(0.016), None);
        assert_eq!(Speed::X(5).sim_advance_ns(-1.0), Some(0));
    }

    #[test]
    fn prediction_matches_known_mmc_values() {
        // M/M/1: P(wait) = rho; response time ~ Exp(mu - lambda), p99 = ln(100)/(mu - lambda).
        let p = Prediction::new(1, 0.5, 1.0);
        match p {
            Prediction::Stable {
                rho,
                p_wait,
                p99_s,
                lq,
            } => {
                assert!((rho - 0.5).abs() < 1e-12);
                assert!((p_wait - 0.5).abs() < 1e-9, "{p_wait}");
                assert!((p99_s - 100f64.ln() / 0.5).abs() < 1e-6, "{p99_s}");
                assert!((lq - 0.5).abs() < 1e-9);
            }
            _ => panic!("expected stable"),
        }
        // The page's default: M/M/10 at rho 0.9 (Erlang C ≈ 0.6687).
        let p = Prediction::new(10, 9.0, 1.0);
        if let Prediction::Stable { p_wait, p99_s, .. } = p {
            assert!((p_wait - 0.6687).abs() < 1e-3, "{p_wait}");
            assert!(p99_s > 4.6 && p99_s < 15.0, "{p99_s}");
        } else {
            panic!("expected stable");
        }
    }

    #[test]
    fn prediction_is_unstable_at_or_above_capacity() {
        assert_eq!(
            Prediction::new(10, 10.0, 1.0),
            Prediction::Unstable { rho: 1.0 }
        );
        let p = Prediction::new(5, 9.0, 1.0);
        assert!(matches!(p, Prediction::Unstable { .. }));
        assert_eq!(p.p99_text(), UNSTABLE_TEXT);
        assert_eq!(p.p99_s(), None);
        assert!((p.rho() - 1.8).abs() < 1e-12);
    }

    #[test]
    fn higher_load_predicts_higher_p99() {
        let a = Prediction::new(10, 9.0, 1.0).p99_s().unwrap();
        let b = Prediction::new(10, 9.8, 1.0).p99_s().unwrap();
        assert!(b > 2.0 * a, "{a} {b}");
    }

    #[test]
    fn node_rows_pick_the_kind_specific_column() {
        let snap = |kind: &str| NodeSnapshot {
            name: "n".into(),
            kind: kind.into(),
            workers: 4,
            replicas: 1,
            busy: 2,
            queue_len: 3,
            in_flight: 5,
            utilisation: 0.5,
            queue_len_mean: 1.0,
            throughput_rps: 1.0,
            arrival_rate_rps: 1.0,
            hit_rate: None,
            backlog: None,
            pool_in_use: None,
        };
        let r = NodeRow::from_snapshot(&snap("service"));
        assert_eq!(
            (r.utilisation, r.queue_len, r.in_flight, r.detail.as_str()),
            (Some(0.5), 3, 5, "")
        );
        assert!(!r.is_down());
        let r = NodeRow::from_snapshot(&NodeSnapshot {
            hit_rate: Some(0.931),
            workers: 0,
            ..snap("cache")
        });
        assert_eq!(
            (r.utilisation, r.detail.as_str()),
            (None, "hit rate 93.1 %")
        );
        let r = NodeRow::from_snapshot(&NodeSnapshot {
            backlog: Some(1234),
            ..snap("broker")
        });
        assert_eq!(r.detail, "backlog 1\u{2009}234");
        let r = NodeRow::from_snapshot(&NodeSnapshot {
            pool_in_use: Some((3, 10)),
            replicas: 0,
            ..snap("service")
        });
        assert_eq!(r.detail, "pool 3 / 10");
        assert!(r.is_down());
        assert_eq!(
            NodeRow::from_snapshot(&snap("load_balancer")).kind,
            "load balancer"
        );
    }

    #[test]
    fn nice_ceil_rounds_up_to_round_numbers() {
        assert_eq!(nice_ceil(0.0), 1.0);
        assert_eq!(nice_ceil(1.0), 1.0);
        assert_eq!(nice_ceil(1.1), 2.0);
        assert_eq!(nice_ceil(2.2), 2.5);
        assert_eq!(nice_ceil(3.0), 5.0);
        assert_eq!(nice_ceil(7.0), 10.0);
        assert_eq!(nice_ceil(0.031), 0.05);
        assert_eq!(nice_ceil(240.0), 250.0);
    }

    #[test]
    fn formats_are_readable() {
        assert_eq!(format_secs(2.3149), "2.31 s");
        assert_eq!(format_secs(0.8534), "0.853 s");
        assert_eq!(format_secs(14.25), "14.2 s");
        assert_eq!(format_secs(153.4), "153 s");
        assert_eq!(format_secs(0.0), "0 s");
        assert_eq!(format_secs(0.0004), "0.400 ms");
        assert_eq!(format_secs(f64::NAN), "—");
        assert_eq!(format_sim_time(12.345), "12.3 s");
        assert_eq!(format_duration_human(200.0), "3 min 20 s");
        assert_eq!(format_duration_human(7500.0), "2 h 5 min");
        assert_eq!(format_duration_human(90_000.0), "1 d 1 h");
        assert_eq!(format_count(1_234_567), "1\u{2009}234\u{2009}567");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_percent(0.9012), "90.1 %");
    }
}
