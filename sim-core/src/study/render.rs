//! Renderings of [`Replicated`]: JSON (everything), a table (the headline
//! metrics) and CSV (every metric, one row each). Strings only.

use std::fmt::Write;

use super::replicate::Replicated;
use super::table::float_text;
use crate::analysis::metrics::pooled_value;
use crate::analysis::metrics::POOLED_FIELDS;

impl Replicated {
    /// Pretty JSON; deterministic.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("serialises") + "\n"
    }

    /// One row per metric: `kind,metric,n,mean,sd,half_width,lo,hi,min,max`
    /// (`kind` is `replications`), then one `pooled` row per end-to-end
    /// latency statistic (`n` is the number of requests), after a first line
    /// `# tailsim replications {provenance}`.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let head = [
            "kind",
            "metric",
            "n",
            "mean",
            "sd",
            "half_width",
            "lo",
            "hi",
            "min",
            "max",
        ];
        w.write_record(head).expect("in memory");
        let opt = |x: Option<f64>| x.map_or(String::new(), float_text);
        for (name, m) in &self.metrics {
            let i = &m.interval;
            w.write_record([
                "replications".to_string(),
                name.clone(),
                i.n.to_string(),
                float_text(i.mean),
                opt(i.sd),
                opt(i.half_width),
                opt(i.lo),
                opt(i.hi),
                float_text(m.min),
                float_text(m.max),
            ])
            .expect("in memory");
        }
        for f in POOLED_FIELDS {
            let v = float_text(pooled_value(&self.pooled.latency_s, f));
            let name = format!("end_to_end.latency_s.{f}");
            let n = self.pooled.requests.to_string();
            w.write_record(["pooled", &name, &n, &v, "", "", "", "", "", ""])
                .expect("in memory");
        }
        let body = String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8");
        let prov = serde_json::to_string(&self.provenance).expect("serialises");
        format!("# tailsim replications {prov}\n{body}")
    }

    /// The headline metrics with their intervals, the pooled latencies and
    /// what produced them.
    pub fn to_table(&self) -> String {
        let mut s = self.table_header();
        self.table_metrics(&mut s);
        let l = &self.pooled.latency_s;
        let _ = writeln!(s, "\npooled over all {} measured requests of all replications (histograms merged; not an average of percentiles):", self.pooled.requests);
        let _ = writeln!(
            s,
            "  latency s: mean {}  p50 {}  p90 {}  p95 {}  p99 {}  p99.9 {}  max {}",
            sig(l.mean),
            sig(l.p50),
            sig(l.p90),
            sig(l.p95),
            sig(l.p99),
            sig(l.p999),
            sig(l.max)
        );
        let _ = writeln!(
            s,
            "\n{} metrics in all: --format json or csv lists every one.",
            self.metrics.len()
        );
        if !self.conservation.ok {
            let _ = writeln!(s, "\nCONSERVATION VIOLATED:");
            for v in &self.conservation.violations {
                let _ = writeln!(s, "  {v}");
            }
        }
        s
    }

    /// What ran: scenario, seeds, warm-up, provenance, precision.
    fn table_header(&self) -> String {
        let mut s = String::new();
        let p = &self.provenance;
        let seeds = seed_text(&p.seeds);
        let _ = writeln!(
            s,
            "scenario {:?}  {} replications (seeds {seeds})  {} simulated s each",
            p.scenario, self.replications, p.duration_s
        );
        let _ = write!(
            s,
            "warm-up {} s ({})",
            self.warmup.warmup_s, self.warmup.rule
        );
        if let Some(m) = &self.warmup.mser {
            let _ = write!(
                s,
                ": cut {} of {} windows of {} s{}",
                m.cut_windows,
                m.windows,
                m.window_s,
                if m.reliable {
                    ""
                } else {
                    "  (NOT RELIABLE: the best cut is in the second half; run longer)"
                }
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "tailsim {}  scenario sha256 {}{}",
            p.tailsim,
            &p.scenario_sha256[..12.min(p.scenario_sha256.len())],
            if p.sets.is_empty() {
                String::new()
            } else {
                format!("  --set {}", p.sets.join(" --set "))
            }
        );
        if let Some(pr) = &self.precision {
            let _ = writeln!(
                s,
                "precision: {} {} after {} replications: half-width {} of the mean (wanted <= {}; {})",
                pr.target,
                if pr.met { "met" } else { "NOT met" },
                pr.replications,
                pr.achieved.map_or("-".into(), |a| format!("{:.2}%", a * 100.0)),
                format_args!("{}%", pr.relative * 100.0),
                pr.criterion
            );
        }
        s
    }

    /// The headline metrics with their intervals.
    fn table_metrics(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "\nmean over replications, {}% confidence interval (Student t, {} df):",
            self.confidence * 100.0,
            self.replications.saturating_sub(1)
        );
        let _ = writeln!(
            s,
            "  {:<40} {:>12} {:>12} {:>27}",
            "metric", "mean", "± half-width", "interval"
        );
        for name in self.headline() {
            let Some(m) = self.metrics.get(&name) else {
                continue;
            };
            let i = &m.interval;
            let range = match (i.lo, i.hi) {
                (Some(lo), Some(hi)) => format!("[{}, {}]", sig(lo), sig(hi)),
                _ => "(one replication)".into(),
            };
            let hw = i.half_width.map_or("-".into(), sig);
            let _ = writeln!(s, "  {name:<40} {:>12} {hw:>12} {range:>27}", sig(i.mean));
        }
    }

    /// The rows the table shows: end to end, the SLO, each node's load and
    /// times, and a precision target.
    fn headline(&self) -> Vec<String> {
        let mut v: Vec<String> = [
            "throughput_rps",
            "error_rate",
            "latency_s.mean",
            "latency_s.p50",
            "latency_s.p95",
            "latency_s.p99",
            "latency_s.p999",
        ]
        .iter()
        .map(|f| format!("end_to_end.{f}"))
        .collect();
        v.push("slo.compliance".into());
        let nodes: std::collections::BTreeSet<&str> = self
            .metrics
            .keys()
            .filter_map(|k| k.strip_prefix("nodes.")?.split('.').next())
            .collect();
        for n in nodes {
            for f in [
                "utilisation",
                "queue_len_mean",
                "wait_s.mean",
                "sojourn_s.mean",
                "sojourn_s.p99",
            ] {
                v.push(format!("nodes.{n}.{f}"));
            }
        }
        if let Some(p) = &self.precision {
            if !v.contains(&p.target) {
                v.push(p.target.clone());
            }
        }
        v
    }
}

/// Seeds as a range when consecutive.
pub fn seed_text(seeds: &[u64]) -> String {
    match seeds {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] if seeds.windows(2).all(|w| w[1] == w[0] + 1) => {
            format!("{first}..{last}")
        }
        _ => seeds
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// Five significant digits, without exponent for ordinary magnitudes.
pub fn sig(x: f64) -> String {
    crate::report::sig_digits(x, 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_seeds_read_well() {
        assert_eq!(sig(5.123456), "5.1235");
        assert_eq!(sig(0.0123456), "0.012346");
        assert_eq!(sig(12345.6), "12346");
        assert_eq!(sig(1.5e-7), "1.5000e-7");
        assert_eq!(seed_text(&[1, 2, 3]), "1..3");
        assert_eq!(seed_text(&[3, 7, 11]), "3,7,11");
        assert_eq!(seed_text(&[9]), "9");
    }
}
