//! End-to-end statistics: what the sources' requests did (counts, latency,
//! SLO), and the windowed time series. Node-level counters live with the
//! stations; the window gathers them (`observe.rs`).

use super::ids::Outcome;
use crate::calendar::{ns_to_secs, Time};
use crate::metrics::{heat_index, LatencyHist, NodeWindow, Window, WindowLatency, HEAT_BUCKETS};
use crate::report::{E2eReport, SloReport, SourceReport};
use std::collections::VecDeque;

/// End-to-end request counts.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct E2eCounts {
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    pub rejected: u64,
    pub timed_out: u64,
}

impl E2eCounts {
    /// Requests issued and not finished yet.
    pub(crate) fn in_flight(&self) -> u64 {
        self.arrived - self.completed - self.failed - self.rejected
    }

    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.completed += 1,
            Outcome::Rejected => self.rejected += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Timeout => {
                self.failed += 1;
                self.timed_out += 1;
            }
        }
    }
}

/// One source's share.
#[derive(Clone)]
struct SourceE2e {
    c: E2eCounts,
    at_warm: E2eCounts,
    latency: LatencyHist,
}

pub(crate) struct Stats {
    e2e: E2eCounts,
    at_warm: E2eCounts,
    at_window: E2eCounts,
    /// Per node index (sources only are used).
    per_source: Vec<SourceE2e>,
    /// Sources (more than one: each keeps its own latency histogram).
    sources: usize,
    latency: LatencyHist,
    win_latency: WindowLatency,
    win_heat: [u32; HEAT_BUCKETS],
    /// Measured requests (good, total) against the SLO.
    slo_counts: (u64, u64),
    /// Requests answered OK within the SLO in the current window.
    win_slo_good: u64,
    /// Attempts the sources sent in the current window.
    win_attempts: u64,
    windows: VecDeque<Window>,
    window_start: Time,
}

impl Stats {
    pub(crate) fn new(nodes: usize, sources: usize) -> Stats {
        Stats {
            e2e: E2eCounts::default(),
            at_warm: E2eCounts::default(),
            at_window: E2eCounts::default(),
            per_source: vec![
                SourceE2e {
                    c: E2eCounts::default(),
                    at_warm: E2eCounts::default(),
                    latency: LatencyHist::new(3),
                };
                nodes
            ],
            sources,
            latency: LatencyHist::new(3),
            win_latency: WindowLatency::default(),
            win_heat: [0; HEAT_BUCKETS],
            slo_counts: (0, 0),
            win_slo_good: 0,
            win_attempts: 0,
            windows: VecDeque::new(),
            window_start: 0,
        }
    }

    /// A root request of source `src` is issued.
    #[inline(always)]
    pub(crate) fn arrive(&mut self, src: u32) {
        self.per_source[src as usize].c.arrived += 1;
        self.e2e.arrived += 1;
    }

    /// A source sent an attempt (a request, or a retry or hedge of one).
    #[inline(always)]
    pub(crate) fn root_attempt(&mut self) {
        self.win_attempts += 1;
    }

    /// A root request of `src` ended with `outcome` after `lat`; `slo` is
    /// the scenario's (threshold, target).
    #[inline]
    pub(crate) fn root_done(
        &mut self,
        src: u32,
        measured: bool,
        lat: Time,
        outcome: Outcome,
        slo: Option<(Time, f64)>,
    ) {
        if let Some((limit, _)) = slo {
            let good = outcome == Outcome::Ok && lat <= limit;
            self.win_slo_good += good as u64;
            if measured {
                self.slo_counts.1 += 1;
                self.slo_counts.0 += good as u64;
            }
        }
        self.e2e.count(outcome);
        let s = &mut self.per_source[src as usize];
        s.c.count(outcome);
        if outcome == Outcome::Ok {
            if measured {
                self.latency.record(lat);
                // With one source its histogram is the end-to-end one (the
                // report reads that); a scenario's sources never change
                // mid-run (`reconfigure` refuses new nodes).
                if self.sources > 1 {
                    s.latency.record(lat);
                }
            }
            self.win_latency.record(lat);
            self.win_heat[heat_index(lat)] += 1;
        }
    }

    pub(crate) fn totals(&self) -> E2eCounts {
        self.e2e
    }
    pub(crate) fn source(&self, src: u32) -> E2eCounts {
        self.per_source[src as usize].c
    }
    /// Host memory held by its latency histograms.
    pub(crate) fn stats_bytes(&self) -> usize {
        let sources: usize = self.per_source.iter().map(|s| s.latency.bytes()).sum();
        sources + self.latency.bytes()
    }
    pub(crate) fn latency(&self) -> &LatencyHist {
        &self.latency
    }

    /// The warm-up ends now.
    pub(crate) fn mark_warm(&mut self) {
        self.at_warm = self.e2e;
        for s in &mut self.per_source {
            s.at_warm = s.c;
        }
    }

    /// Closes the window ending at `now` with the nodes' shares; keeps at
    /// most `keep` windows. `slo`: whether the scenario has an SLO.
    pub(crate) fn close_window(
        &mut self,
        now: Time,
        nodes: Vec<NodeWindow>,
        slo: bool,
        keep: usize,
    ) {
        let attempts = std::mem::take(&mut self.win_attempts);
        let len_s = ns_to_secs(now - self.window_start);
        let (e, w) = (self.e2e, self.at_window);
        self.at_window = e;
        let completed = e.completed - w.completed;
        let heat = std::mem::replace(&mut self.win_heat, [0; HEAT_BUCKETS]);
        let q = self.win_latency.p50_p95_p99_s();
        self.windows.push_back(Window {
            t_start_s: ns_to_secs(self.window_start),
            t_end_s: ns_to_secs(now),
            arrived: e.arrived - w.arrived,
            attempts,
            completed,
            failed: (e.failed + e.rejected) - (w.failed + w.rejected),
            in_flight: e.in_flight(),
            throughput_rps: completed as f64 / len_s,
            p50_s: q.map(|q| q[0]),
            p95_s: q.map(|q| q[1]),
            p99_s: q.map(|q| q[2]),
            heat: heat.to_vec(),
            slo_good: slo.then(|| std::mem::take(&mut self.win_slo_good)),
            nodes,
        });
        self.win_latency.reset();
        while self.windows.len() > keep {
            self.windows.pop_front();
        }
        self.window_start = now;
    }

    pub(crate) fn window_start(&self) -> Time {
        self.window_start
    }
    pub(crate) fn windows(&self) -> &VecDeque<Window> {
        &self.windows
    }

    /// The end-to-end section of the report; `secs` measured seconds.
    pub(crate) fn e2e_report(&self, warm: bool, secs: f64) -> E2eReport {
        let e = self.e2e;
        let w = if warm { self.at_warm } else { e };
        let completed = e.completed - w.completed;
        let failed = (e.failed + e.rejected) - (w.failed + w.rejected);
        let finished = completed + failed;
        E2eReport {
            arrived: e.arrived,
            completed: e.completed,
            failed: e.failed,
            rejected: e.rejected,
            timed_out: e.timed_out,
            in_flight: e.in_flight(),
            throughput_rps: if secs > 0.0 {
                completed as f64 / secs
            } else {
                0.0
            },
            error_rate: if finished > 0 {
                failed as f64 / finished as f64
            } else {
                0.0
            },
            latency_s: self.latency.summary(),
        }
    }

    /// Source `src`'s section of the report.
    pub(crate) fn source_report(&self, src: u32, warm: bool, secs: f64) -> SourceReport {
        let s = &self.per_source[src as usize];
        let c = s.c;
        let w = if warm { s.at_warm } else { c };
        SourceReport {
            arrived: c.arrived,
            completed: c.completed,
            failed: c.failed,
            rejected: c.rejected,
            timed_out: c.timed_out,
            throughput_rps: if secs > 0.0 {
                (c.completed - w.completed) as f64 / secs
            } else {
                0.0
            },
            latency_s: if self.sources > 1 {
                s.latency.summary()
            } else {
                self.latency.summary()
            },
        }
    }

    pub(crate) fn slo_report(&self, slo: Option<(Time, f64)>) -> Option<SloReport> {
        slo.map(|(limit, target)| {
            let (good, total) = self.slo_counts;
            let compliance = if total > 0 {
                good as f64 / total as f64
            } else {
                1.0
            };
            SloReport {
                latency_s: ns_to_secs(limit),
                target,
                requests: total,
                compliance,
                burn_rate: (1.0 - compliance) / (1.0 - target),
            }
        })
    }
}
