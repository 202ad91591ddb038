//! Databases: what a query costs, and the counters of what was queried.

use super::config::DbCfg;
use crate::calendar::{secs_to_ns, Time};
use crate::report::DbReport;
use crate::spec::QueryKind;

/// What a database counts (from the start of the run).
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    queries: u64,
    reads: u64,
    writes: u64,
    stale_reads: u64,
    rows_returned: u64,
    bytes_returned: f64,
}

/// A database node's running counters, and a snapshot of them when the
/// warm-up ended (the report covers the measured period).
#[derive(Default)]
pub(crate) struct DbState {
    /// Round-robin position over the read replicas.
    rr: u32,
    c: Counts,
    at_warm: Counts,
}

/// The CPU cost of a query on `table` returning `rows`, at `now`.
pub(crate) fn query_cost(
    db: &DbCfg,
    kind: QueryKind,
    table: usize,
    rows: u32,
    write: bool,
    now: Time,
) -> Time {
    let table_rows = db.rows_at(table, now).max(1.0);
    let c = &db.cost;
    let lookup = match kind {
        QueryKind::Pk => 0.0,
        QueryKind::Indexed => c.per_log_row_s * libm::log2(table_rows),
        QueryKind::Scan => c.per_row_scanned_s * table_rows,
    };
    secs_to_ns(
        c.base_s
            + lookup
            + c.per_row_returned_s * rows as f64
            + if write { c.write_s } else { 0.0 },
    )
}

impl DbState {
    /// The read replica to try `k`-th for the next read, of `n`.
    pub(crate) fn next_replica_start(&mut self) -> u32 {
        let start = self.rr;
        self.rr = self.rr.wrapping_add(1);
        start
    }

    /// A query answered `rows` rows of `bytes`.
    pub(crate) fn count_query(&mut self, rows: u32, bytes: f64, write: bool) {
        let c = &mut self.c;
        c.queries += 1;
        c.rows_returned += rows as u64;
        c.bytes_returned += bytes;
        if write {
            c.writes += 1;
        } else {
            c.reads += 1;
        }
    }

    pub(crate) fn count_stale_read(&mut self) {
        self.c.stale_reads += 1;
    }

    /// The warm-up ends now: the report counts from here.
    pub(crate) fn mark_warm(&mut self) {
        self.at_warm = self.c;
    }

    /// The report at `now`; `warm`: the measured period has begun.
    pub(crate) fn report(&self, cfg: &DbCfg, now: Time, warm: bool) -> DbReport {
        let (c, w) = (self.c, if warm { self.at_warm } else { self.c });
        let queries = c.queries - w.queries;
        let per_query = |x: f64| if queries > 0 { x / queries as f64 } else { 0.0 };
        DbReport {
            queries,
            reads: c.reads - w.reads,
            writes: c.writes - w.writes,
            stale_reads: c.stale_reads - w.stale_reads,
            rows_per_query: per_query((c.rows_returned - w.rows_returned) as f64),
            kb_per_query: per_query(c.bytes_returned - w.bytes_returned) / 1000.0,
            table_rows: cfg
                .table_names
                .iter()
                .enumerate()
                .map(|(i, k)| (k.clone(), cfg.rows_at(i, now).round()))
                .collect(),
        }
    }
}
