//! Percentiles of windows with few answers, drawn honestly: a window's p99
//! means something only over at least [`min_samples`]`(0.99)` = 100 answers,
//! so a smaller window is pooled with the ones before it (up to
//! [`MAX_POOLED_WINDOWS`]) from their per-window quantiles, or not drawn.
//! The page's charts and the light embed draw the same series from here.

use crate::metrics::min_samples;
use crate::Window;

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

/// The windowed p99 over the last `n` windows (the read-out beside the
/// prediction); `None` while they hold fewer than [`min_samples`]`(0.99)`
/// answers, when a "p99" would only be their largest value.
pub fn recent_p99(windows: &[Window], n: usize) -> Option<f64> {
    let start = windows.len().saturating_sub(n);
    let recent = &windows[start..];
    if recent.iter().map(|w| w.completed).sum::<u64>() < min_samples(0.99) {
        return None;
    }
    let qs: Vec<WindowQuantiles> = recent.iter().map(WindowQuantiles::from).collect();
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

/// Seconds spanned by `n` pooled windows (the windows' width times `n`):
/// what "pooled over" means to a reader, whatever the window width.
pub fn pooled_span_s(windows: &[Window], n: usize) -> f64 {
    let width = windows.last().map_or(1.0, |w| w.t_end_s - w.t_start_s);
    width * n as f64
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
    fn a_pooled_span_is_in_seconds_not_windows() {
        // 40 answers per 5 s window: a p99 needs 100, so three windows
        // are pooled, which span 15 s (not "3 s").
        let ws: Vec<Window> = (0..10)
            .map(|i| {
                let mut w = win(i, 40, 0.1, 0.5, 0.9);
                (w.t_start_s, w.t_end_s) = (5.0 * i as f64, 5.0 * (i + 1) as f64);
                w
            })
            .collect();
        let (_, n) = honest_quantiles(&ws, 0, 0.99);
        assert_eq!(n, 3);
        assert_eq!(pooled_span_s(&ws, n), 15.0);
        assert_eq!(pooled_span_s(&[], 4), 4.0, "no window: 1 s each");
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
    fn the_recent_p99_needs_a_hundred_answers() {
        // 99 answers in the last three windows: their "p99" would be the
        // largest of them, so there is none; one answer more and there is.
        let mut w = vec![win(0, 500, 0.1, 0.2, 9.0), win(1, 33, 0.1, 0.2, 0.3)];
        w.extend([win(2, 33, 0.1, 0.2, 0.3), win(3, 33, 0.1, 0.2, 0.3)]);
        assert_eq!(recent_p99(&w, 3), None);
        w[3] = win(3, 34, 0.1, 0.2, 0.3);
        let p99 = recent_p99(&w, 3).expect("100 answers");
        assert!(
            p99 <= 0.3 + 1e-9,
            "the old window's 9 s tail is not read: {p99}"
        );
        assert!(recent_p99(&w, 4).expect("600 answers") > 0.3);
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
}
