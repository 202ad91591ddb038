//! Pure, browser-free logic of the live page: speeds, the theory overlay, the
//! windowed-quantile estimator, chart series and number formatting.
//! Everything here is unit-tested natively.

use sim_core::metrics::min_samples;
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

/// Latency quantiles of one window, as the pooled estimator needs them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowQuantiles {
    pub completed: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl From<&Window> for WindowQuantiles {
    fn from(w: &Window) -> Self {
        WindowQuantiles {
            completed: w.completed,
            p50: w.p50_s.unwrap_or(0.0),
            p95: w.p95_s.unwrap_or(0.0),
            p99: w.p99_s.unwrap_or(0.0),
        }
    }
}

fn rank(q: f64, n: u64) -> u64 {
    ((q * n as f64).ceil() as u64).clamp(1, n)
}

/// How many of the `b - a` pseudo-samples at ranks a+1..=b, spread linearly
/// from `lo` (exclusive, at rank a) to `hi` (at rank b), are <= x.
fn seg_count(x: f64, a: u64, b: u64, lo: f64, hi: f64) -> u64 {
    let n = b.saturating_sub(a);
    if n == 0 || x < lo {
        return 0;
    }
    if x >= hi {
        return n;
    }
    // value at rank a + k is lo + (hi - lo) * k / n
    let k = ((x - lo) / (hi - lo) * n as f64).floor() as u64;
    k.min(n)
}

/// Tail coordinate of the sample of rank k out of n: -ln(1 - u) at the
/// plotting position u = (k - 1/2) / n. Latency tails are close to
/// exponential, so values are interpolated linearly in this coordinate.
fn tail_coord(k: u64, n: u64) -> f64 {
    let u = (k as f64 - 0.5) / n as f64;
    -(1.0 - u).ln()
}

/// Like [`seg_count`], but the pseudo-samples between the known ranks a and b
/// of an n-sample window follow an exponential tail (linear in
/// [`tail_coord`]) instead of a straight line.
fn tail_seg_count(x: f64, a: u64, b: u64, n: u64, lo: f64, hi: f64) -> u64 {
    let m = b.saturating_sub(a);
    if m == 0 || x < lo {
        return 0;
    }
    if x >= hi {
        return m;
    }
    let (ta, tb) = (tail_coord(a, n), tail_coord(b, n));
    let t = ta + (x - lo) / (hi - lo) * (tb - ta);
    // largest rank k with tail_coord(k, n) <= t
    let k = ((1.0 - (-t).exp()) * n as f64 + 0.5 + 1e-9).floor() as u64;
    k.saturating_sub(a).min(m)
}

impl WindowQuantiles {
    /// Number of this window's pseudo-samples that are <= x. The window's
    /// samples are reconstructed from its quantiles with the nearest-rank rule
    /// (the value at quantile q is the sample of rank ceil(q·n)): exact at
    /// those ranks; in between, linear below the median and exponential-tailed
    /// above it; samples above the p99 rank are set to the p99 (a lower
    /// bound). In small windows (n < 20) p95 and p99 are the window's maximum,
    /// so pooling loses little.
    fn count_le(&self, x: f64) -> u64 {
        let n = self.completed;
        if n == 0 {
            return 0;
        }
        let (r50, r95, r99) = (rank(0.5, n), rank(0.95, n), rank(0.99, n));
        let (p50, p95, p99) = (
            self.p50,
            self.p95.max(self.p50),
            self.p99.max(self.p95).max(self.p50),
        );
        let below = if p50 <= 0.0 {
            if x >= 0.0 {
                r50
            } else {
                0
            }
        } else {
            seg_count(x, 0, r50, 0.0, p50)
        };
        below
            + tail_seg_count(x, r50, r95, n, p50, p95)
            + tail_seg_count(x, r95, r99, n, p95, p99)
            + if x >= p99 { n - r99 } else { 0 }
    }
}

/// Estimate the q-quantile of the latencies of all requests completed in
/// `windows` by pooling their per-window quantiles. `None` if none completed.
pub fn pooled_quantile(windows: &[WindowQuantiles], q: f64) -> Option<f64> {
    let total: u64 = windows.iter().map(|w| w.completed).sum();
    if total == 0 {
        return None;
    }
    let need = rank(q, total);
    let count = |x: f64| windows.iter().map(|w| w.count_le(x)).sum::<u64>();
    let mut hi = windows
        .iter()
        .filter(|w| w.completed > 0)
        .map(|w| w.p99.max(w.p95).max(w.p50))
        .fold(0.0_f64, f64::max);
    let mut lo = 0.0_f64;
    if count(lo) >= need {
        return Some(0.0);
    }
    // count(hi) == total >= need; bisect to the smallest x with count(x) >= need.
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if count(mid) >= need {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// The windowed p99 over the last `n` windows (the read-out beside the prediction).
pub fn recent_p99(windows: &[Window], n: usize) -> Option<f64> {
    let start = windows.len().saturating_sub(n);
    let qs: Vec<WindowQuantiles> = windows[start..].iter().map(WindowQuantiles::from).collect();
    pooled_quantile(&qs, 0.99)
}

/// At most this many windows are pooled for one percentile (30 s of 1 s
/// windows); a window that does not reach [`min_samples`] even then is not
/// drawn.
pub const MAX_POOLED_WINDOWS: usize = 30;

/// One honest percentile series: per window of `windows[from..]`, its own
/// q-quantile when it holds [`min_samples`]`(q)` answers; else the pooled
/// estimate over it and the windows before it (see [`pooled_quantile`]),
/// at most [`MAX_POOLED_WINDOWS`] of them, once they hold enough; else
/// `None`. A window that answered nothing is always `None` (a gap). Also
/// returns the most windows pooled for one point (1: none pooled).
pub fn honest_quantiles(windows: &[Window], from: usize, q: f64) -> (Vec<Option<f64>>, usize) {
    let own = |w: &Window| match q {
        q if q >= 0.99 => w.p99_s,
        q if q >= 0.95 => w.p95_s,
        _ => w.p50_s,
    };
    let need = min_samples(q);
    let mut widest = 1;
    let out = (from..windows.len())
        .map(|i| {
            let w = &windows[i];
            if w.completed == 0 {
                return None;
            }
            if w.completed >= need {
                return own(w);
            }
            let mut total = 0;
            let mut start = i + 1;
            while start > 0 && i + 1 - start < MAX_POOLED_WINDOWS && total < need {
                start -= 1;
                total += windows[start].completed;
            }
            if total < need {
                return None;
            }
            widest = widest.max(i + 1 - start);
            let qs: Vec<WindowQuantiles> = windows[start..=i]
                .iter()
                .map(WindowQuantiles::from)
                .collect();
            pooled_quantile(&qs, q)
        })
        .collect();
    (out, widest)
}

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
    fn small_windows_pool_before_a_p99_is_drawn_and_p95_is_not_p99() {
        // 9 answers a window (9 req/s, 1 s windows): each window's p95 and
        // p99 are its maximum (nearest rank: ceil(0.95·9) = ceil(0.99·9) = 9).
        let ws: Vec<Window> = (0..40)
            .map(|i| {
                let max = 1.0 + (i % 7) as f64 * 0.3;
                win(i, 9, 0.3, max, max)
            })
            .collect();
        let (p99, widest99) = honest_quantiles(&ws, 0, 0.99);
        // 100 answers take 12 windows (108): the first 11 are not drawn.
        assert!(p99[..11].iter().all(Option::is_none), "{p99:?}");
        assert!(p99[11..].iter().all(Option::is_some));
        assert_eq!(widest99, 12);
        let (p95, widest95) = honest_quantiles(&ws, 0, 0.95);
        // 20 answers take 3 windows.
        assert!(p95[..2].iter().all(Option::is_none) && p95[2..].iter().all(Option::is_some));
        assert_eq!(widest95, 3);
        // Pooled, p95 and p99 are different numbers (not both "the maximum").
        let distinct = (11..40)
            .filter(|&i| p95[i].unwrap() < p99[i].unwrap())
            .count();
        assert!(distinct > 25, "{distinct} of 29");
        for i in 11..40 {
            assert!(p95[i].unwrap() <= p99[i].unwrap() + 1e-9);
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

    fn single(v: f64) -> WindowQuantiles {
        WindowQuantiles {
            completed: 1,
            p50: v,
            p95: v,
            p99: v,
        }
    }

    #[test]
    fn pooled_quantile_is_exact_for_single_sample_windows() {
        // 200 windows holding one sample each: 1..=200. Nearest-rank p99 = 198.
        let ws: Vec<_> = (1..=200).map(|i| single(i as f64)).collect();
        let p = pooled_quantile(&ws, 0.99).unwrap();
        assert!((p - 198.0).abs() < 1e-6, "{p}");
        let p50 = pooled_quantile(&ws, 0.5).unwrap();
        assert!((p50 - 100.0).abs() < 1e-6, "{p50}");
    }

    #[test]
    fn pooled_quantile_of_identical_windows_is_their_quantile() {
        let w = WindowQuantiles {
            completed: 1000,
            p50: 1.0,
            p95: 3.0,
            p99: 5.0,
        };
        let ws = vec![w; 10];
        let p = pooled_quantile(&ws, 0.99).unwrap();
        assert!((p - 5.0).abs() < 1e-6, "{p}");
        let p = pooled_quantile(&ws, 0.95).unwrap();
        assert!((p - 3.0).abs() < 1e-6, "{p}");
    }

    #[test]
    fn pooled_quantile_small_windows_uses_their_maxima() {
        // Nine samples per window: p95 = p99 = the window maximum. 30 windows whose maxima
        // are 1..=30 and whose other samples are small: pooled p99 (rank 268 of 270) is the
        // third largest maximum.
        let ws: Vec<_> = (1..=30)
            .map(|i| WindowQuantiles {
                completed: 9,
                p50: 0.1,
                p95: i as f64,
                p99: i as f64,
            })
            .collect();
        let p = pooled_quantile(&ws, 0.99).unwrap();
        assert!((p - 28.0).abs() < 1e-6, "{p}");
    }

    #[test]
    fn pooled_quantile_ignores_empty_windows() {
        assert_eq!(pooled_quantile(&[], 0.99), None);
        let empty = WindowQuantiles {
            completed: 0,
            p50: 0.0,
            p95: 0.0,
            p99: 0.0,
        };
        assert_eq!(pooled_quantile(&[empty, empty], 0.99), None);
        let p = pooled_quantile(&[empty, single(2.5)], 0.99).unwrap();
        assert!((p - 2.5).abs() < 1e-9);
    }

    #[test]
    fn pooled_quantile_is_monotone_in_q() {
        let ws: Vec<_> = (0..40)
            .map(|i| WindowQuantiles {
                completed: 5 + (i % 7) as u64,
                p50: 0.5 + 0.01 * i as f64,
                p95: 2.0 + 0.1 * (i % 5) as f64,
                p99: 3.0 + 0.2 * (i % 3) as f64,
            })
            .collect();
        let mut last = 0.0;
        for q in [0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99, 0.999] {
            let v = pooled_quantile(&ws, q).unwrap();
            assert!(v >= last - 1e-9, "q={q} {v} < {last}");
            last = v;
        }
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
