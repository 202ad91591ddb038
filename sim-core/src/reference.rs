//! A hand-written M/M/c loop: an independent implementation of the simplest
//! scenario, which the engine must agree with *exactly*.
//!
//! The loop draws from the engine's named streams (the source's `arrival`,
//! the service's `compute.0`) in the engine's order (the next arrival when
//! one arrives, a service time when a job starts), keeps departures in a
//! binary heap ordered by (time, sequence), serves FIFO, and records waits,
//! sojourns and latencies of requests that arrived after the warm-up with
//! the report's recorder ([`LatencyHist`]: HDR, 3 significant digits, exact
//! sums), sharing none of the engine's bookkeeping. Same seed, same
//! numbers: the same customers, completions, exact mean wait and quantiles
//! (`tests/it/queueing.rs` checks this), so a bug in the engine's
//! bookkeeping cannot hide behind a statistical tolerance.
//!
//! It is also the speed floor: `cargo xtask bench` times it (the example
//! `mmc_loop`) beside the engine. Everything the engine does beyond this
//! loop (topology, request objects, time series, the checks that let one
//! engine run every scenario) is what the gap between the two costs.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand_distr::{Distribution, Exp};

use crate::calendar::{secs_to_ns, Time};
use crate::dist::DistSpec;
use crate::metrics::LatencyHist;
use crate::rng::stream;

/// One source sending Poisson arrivals straight to one service with `workers`
/// workers, an unbounded FIFO queue and exponential service times.
#[derive(Clone, Debug)]
pub struct Mmc<'a> {
    pub seed: u64,
    /// Node names: they name the random streams.
    pub source: &'a str,
    pub service: &'a str,
    pub rate: f64,
    pub workers: u32,
    pub service_mean_s: f64,
    pub duration_s: f64,
    pub warmup_s: f64,
}

/// What the loop measured, in the report's units.
#[derive(Clone, Debug, PartialEq)]
pub struct MmcResult {
    pub arrived: u64,
    pub completed: u64,
    /// Arrivals plus departures.
    pub events: u64,
    /// Exact mean of the measured waits, seconds.
    pub wait_mean_s: f64,
    pub wait_p50_s: f64,
    pub wait_p99_s: f64,
    pub sojourn_p99_s: f64,
    pub latency_p50_s: f64,
    pub latency_p99_s: f64,
    pub latency_max_s: f64,
    /// Time-average busy workers / workers, after the warm-up.
    pub utilisation: f64,
    /// Time-average queue length, after the warm-up.
    pub queue_len_mean: f64,
}

impl Mmc<'_> {
    pub fn run(&self) -> MmcResult {
        let horizon = secs_to_ns(self.duration_s);
        let warmup = secs_to_ns(self.warmup_s);
        let mut arrival_rng = stream(self.seed, self.source, "arrival");
        let mut service_rng = stream(self.seed, self.service, "compute.0");
        let gap = Exp::new(self.rate / 1e9).expect("a positive rate");
        let service = DistSpec::Exponential {
            mean_s: self.service_mean_s,
        }
        .build();
        // The report's recorder: 3 significant digits and an exact sum.
        let hist = || LatencyHist::new(3);
        let (mut wait, mut sojourn, mut latency) = (hist(), hist(), hist());

        // Departures: (time, sequence, arrival time). Sequence numbers are
        // taken in scheduling order, arrivals' included, as in the calendar.
        let mut departures: BinaryHeap<Reverse<(Time, u64, Time)>> = BinaryHeap::new();
        let mut queue: VecDeque<Time> = VecDeque::new();
        let mut seq = 0u64;
        let mut next_arrival = ((gap.sample(&mut arrival_rng) + 0.5) as Time, seq);
        seq += 1;
        let (mut busy, mut arrived, mut completed) = (0u32, 0u64, 0u64);
        // Areas count from the end of the warm-up, as the report's do.
        let (mut busy_area, mut queue_area, mut last) = (0.0f64, 0.0f64, warmup);
        let mut integrate = |to: Time, busy: u32, queued: usize| {
            if to > last {
                let dt = (to - last) as f64;
                busy_area += dt * busy as f64;
                queue_area += dt * queued as f64;
                last = to;
            }
        };

        loop {
            let dep = departures.peek().map(|Reverse((t, s, _))| (*t, *s));
            let (now, arrival) = match dep {
                Some(d) if d < next_arrival => (d.0, false),
                _ => (next_arrival.0, true),
            };
            if now > horizon {
                break;
            }
            integrate(now, busy, queue.len());
            if arrival {
                arrived += 1;
                next_arrival = (now + (gap.sample(&mut arrival_rng) + 0.5) as Time, seq);
                seq += 1;
                if busy < self.workers && queue.is_empty() {
                    busy += 1;
                    if now >= warmup {
                        wait.record(0);
                    }
                    let done = now + service.sample(&mut service_rng);
                    departures.push(Reverse((done, seq, now)));
                    seq += 1;
                } else {
                    queue.push_back(now);
                }
            } else {
                let Reverse((_, _, t_arrive)) = departures.pop().expect("peeked");
                completed += 1;
                if t_arrive >= warmup {
                    // The service's sojourn and the end-to-end latency: the
                    // report keeps both (they are equal in this topology).
                    sojourn.record(now - t_arrive);
                    latency.record(now - t_arrive);
                }
                match queue.pop_front() {
                    Some(a) => {
                        if a >= warmup {
                            wait.record(now - a);
                        }
                        let done = now + service.sample(&mut service_rng);
                        departures.push(Reverse((done, seq, a)));
                        seq += 1;
                    }
                    None => busy -= 1,
                }
            }
        }
        integrate(horizon, busy, queue.len());
        let span = horizon.saturating_sub(warmup).max(1) as f64;
        MmcResult {
            arrived,
            completed,
            events: arrived + completed,
            wait_mean_s: wait.mean_s(),
            wait_p50_s: wait.quantile_s(0.5),
            wait_p99_s: wait.quantile_s(0.99),
            sojourn_p99_s: sojourn.quantile_s(0.99),
            latency_p50_s: latency.quantile_s(0.5),
            latency_p99_s: latency.quantile_s(0.99),
            latency_max_s: latency.summary().max,
            utilisation: busy_area / (span * self.workers as f64),
            queue_len_mean: queue_area / span,
        }
    }
}
