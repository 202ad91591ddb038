//! An edge's running state: its counters and the stateful parts of its
//! policy (circuit breaker, retry budget), and whether a partition cuts it.

use super::config::EdgeCfg;
use crate::report::EdgeReport;
use crate::resilience::{CircuitBreaker, RetryBudget};

/// Per-edge counters.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EdgeStats {
    pub calls: u64,
    pub attempts: u64,
    pub retries: u64,
    pub retries_denied: u64,
    pub timeouts: u64,
    pub errors: u64,
    pub fallbacks: u64,
    pub breaker_rejects: u64,
    pub hedges: u64,
    pub failed_calls: u64,
}

pub(crate) struct EdgeState {
    pub stats: EdgeStats,
    pub breaker: Option<CircuitBreaker>,
    pub budget: Option<RetryBudget>,
    /// A network partition cuts this edge.
    pub partitioned: bool,
    /// Round-robin position over a broker's partitions (unkeyed publishes).
    pub rr: u32,
}

impl EdgeState {
    pub(crate) fn new(cfg: &EdgeCfg) -> EdgeState {
        EdgeState {
            stats: EdgeStats::default(),
            breaker: cfg.breaker.as_ref().map(|b| b.build()),
            budget: cfg
                .retries
                .as_ref()
                .and_then(|r| r.budget.as_ref())
                .map(|b| b.build()),
            partitioned: false,
            rr: 0,
        }
    }

    pub(crate) fn report(&self, from: String, to: String) -> EdgeReport {
        let s = &self.stats;
        EdgeReport {
            from,
            to,
            calls: s.calls,
            attempts: s.attempts,
            retries: s.retries,
            retries_denied: s.retries_denied,
            hedges: s.hedges,
            timeouts: s.timeouts,
            errors: s.errors,
            fallbacks: s.fallbacks,
            breaker_rejects: s.breaker_rejects,
            breaker_opened: self.breaker.as_ref().map_or(0, |b| b.opened()),
            failed_calls: s.failed_calls,
            amplification: s.attempts as f64 / s.calls as f64,
        }
    }
}
