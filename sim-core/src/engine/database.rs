//! Databases: what a query costs, and the counters of what was queried.

use super::config::DbCfg;
use crate::calendar::{secs_to_ns, Time};
use crate::report::{ConnectionsReport, DbReport};
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
    /// Connections a pool asked for past `max_connections`.
    refused: u64,
}

/// A database node's running counters, and a snapshot of them when the
/// warm-up ended (the report covers the measured period).
#[derive(Default)]
pub(crate) struct DbState {
    /// Round-robin position over the read replicas.
    rr: u32,
    c: Counts,
    at_warm: Counts,
    /// Connections the callers' pools hold open (databases with
    /// `max_connections`), and the most at once.
    open: u32,
    peak_open: u32,
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
    let c = &db.cost;
    let lookup = match kind {
        QueryKind::Pk => 0.0,
        QueryKind::Indexed => {
            let t = &db.tables[table];
            let depth = if t.growth == 0.0 {
                t.log2_rows0
            } else {
                libm::log2(db.rows_at(table, now).max(1.0))
            };
            c.per_log_row_s * depth
        }
        QueryKind::Scan => c.per_row_scanned_s * db.rows_at(table, now).max(1.0),
    };
    secs_to_ns(
        c.base_s
            + lookup
            + c.per_row_returned_s * rows as f64
            + if write { c.write_s } else { 0.0 },
    )
}

impl DbState {
    /// A pool asks for one more connection: granted while fewer than `max`
    /// are open, else refused ("too many clients").
    pub(crate) fn open_connection(&mut self, max: u32) -> bool {
        if self.open >= max {
            self.c.refused += 1;
            return false;
        }
        self.open += 1;
        self.peak_open = self.peak_open.max(self.open);
        true
    }

    /// A pool asks for `want` connections at once (a replica starts):
    /// those below `max` are granted, the rest refused; how many granted.
    pub(crate) fn open_many(&mut self, max: u32, want: u32) -> u32 {
        let granted = want.min(max.saturating_sub(self.open));
        self.c.refused += (want - granted) as u64;
        self.open += granted;
        self.peak_open = self.peak_open.max(self.open);
        granted
    }

    /// A replica's pool closed `n` connections (it died or retired).
    pub(crate) fn close_connections(&mut self, n: u32) {
        self.open -= n;
    }

    /// Connections open, for the check that they are the pools' own.
    pub(crate) fn open_connections(&self) -> u32 {
        self.open
    }

    /// After a live reconfiguration: the pools hold `open` connections.
    pub(crate) fn recount_connections(&mut self, open: u32) {
        self.open = open;
        self.peak_open = self.peak_open.max(open);
    }

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
            connections: cfg.max_connections.map(|max| ConnectionsReport {
                max,
                open: self.open,
                peak: self.peak_open,
                refused: c.refused - w.refused,
            }),
            table_rows: cfg
                .table_names
                .iter()
                .enumerate()
                .map(|(i, k)| (k.clone(), cfg.rows_at(i, now).round()))
                .collect(),
        }
    }
}
