//! Databases: what a query costs, and the counters of what was queried.

use super::config::DbCfg;
use crate::calendar::{secs_to_ns, Time};
use crate::report::DbReport;
use crate::spec::QueryKind;

/// A database node's running counters.
#[derive(Default)]
pub(crate) struct DbState {
    /// Round-robin position over the read replicas.
    rr: u32,
    queries: u64,
    reads: u64,
    writes: u64,
    stale_reads: u64,
    rows_returned: u64,
    bytes_returned: f64,
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
        self.queries += 1;
        self.rows_returned += rows as u64;
        self.bytes_returned += bytes;
        if write {
            self.writes += 1;
        } else {
            self.reads += 1;
        }
    }

    pub(crate) fn count_stale_read(&mut self) {
        self.stale_reads += 1;
    }

    pub(crate) fn report(&self, cfg: &DbCfg, now: Time) -> DbReport {
        let per_query = |x: f64| {
            if self.queries > 0 {
                x / self.queries as f64
            } else {
                0.0
            }
        };
        DbReport {
            queries: self.queries,
            reads: self.reads,
            writes: self.writes,
            stale_reads: self.stale_reads,
            rows_per_query: per_query(self.rows_returned as f64),
            kb_per_query: per_query(self.bytes_returned) / 1000.0,
            table_rows: cfg
                .table_names
                .iter()
                .enumerate()
                .map(|(i, k)| (k.clone(), cfg.rows_at(i, now).round()))
                .collect(),
        }
    }
}
