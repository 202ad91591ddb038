//! Per-request draws from the configuration's count and key models: how
//! many calls or rows, how many loop iterations, which key.

use super::config::{CountCfg, CountKind, KeyCfg};
use super::streams::Streams;
use rand::Rng;
use rand_distr::Distribution;

/// Draws a count. `items` is the request's item count; `tables` gives the
/// current rows of the callee's tables (for `fraction` of a table).
#[inline]
pub(crate) fn count(
    c: &CountCfg,
    streams: &mut Streams,
    items: u32,
    table_rows: impl Fn(u32) -> f64,
) -> u32 {
    match &c.kind {
        CountKind::Constant(n) => *n,
        CountKind::Uniform(lo, hi) => streams.get(c.stream).random_range(*lo..=*hi),
        CountKind::Poisson(p) => p.sample(streams.get(c.stream)) as u32,
        CountKind::Geometric(mean) => {
            // Number of failures before a success with p = 1 / (1 + mean).
            let p = 1.0 / (1.0 + mean);
            let u: f64 = streams.get(c.stream).random();
            (libm::log(1.0 - u) / libm::log(1.0 - p)).floor() as u32
        }
        CountKind::Items { plus, times } => {
            (items as i64 * *times as i64 + *plus as i64).max(0) as u32
        }
        CountKind::Table { table, fraction } => {
            let rows = table_rows(*table);
            (rows * fraction).round().min(u32::MAX as f64) as u32
        }
    }
}

/// A count that depends on no table.
#[inline]
pub(crate) fn count_plain(c: &CountCfg, streams: &mut Streams, items: u32) -> u32 {
    count(c, streams, items, |_| 0.0)
}

/// Draws a key for `user` (per-user keys are distinct per user).
#[inline]
pub(crate) fn key(k: &KeyCfg, streams: &mut Streams, user: u64) -> u64 {
    let x = match &k.sampler {
        Some(s) => s.sample(streams.get(k.stream)),
        None => 0,
    };
    if k.per_user {
        user.wrapping_mul(k.n).wrapping_add(x)
    } else {
        x
    }
}

/// The cache key of `(space, key)`, or of `(space, key, version)` with
/// versioned keys.
#[inline]
pub(crate) fn cache_key(space: u32, key: u64, version: Option<u32>) -> u64 {
    let base = crate::rng::mix64(((space as u64) << 48) ^ key);
    match version {
        Some(v) => crate::rng::mix64(base ^ ((v as u64 + 1) << 20)),
        None => base,
    }
}
