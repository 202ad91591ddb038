//! Cheap recording into HDR histogram bins.
//!
//! An HDR histogram (Gil Tene's HdrHistogram, here the `hdrhistogram`
//! crate) files a value in a bin by its magnitude and its leading
//! significant digits. Recording through the crate costs a call, range
//! checks and bookkeeping per value; the engine records three latencies per
//! request. [`Bins`] files values in exactly the crate's bins (for the
//! lowest discernible value 1, as every histogram here uses) with a few
//! shifts and one increment, holds only the bins between the smallest and
//! the largest value seen (a node whose latencies all lie between 5 and 9 s
//! holds 6 KB at 3 digits, not the 188 KB of every bin from 1 ns up), and
//! builds the crate's histogram from the bins when something is read,
//! so reads are the crate's own. The tests check bin for bin that both
//! file every value alike.

use hdrhistogram::Histogram;

/// Bins are held in chunks of this many (1 KB): a node that records one
/// latency, or latencies within a few percent of each other, holds one
/// chunk. It divides the bins of a bucket at every precision used (128 at
/// 2 digits, 1024 at 3).
const CHUNK: usize = 128;

/// Counts per HDR bin, for the lowest discernible value 1.
#[derive(Clone, Debug)]
pub struct Bins {
    sigfig: u8,
    /// log2 of half the sub-buckets per bucket.
    half_magnitude: u32,
    /// `64 - log2(sub-buckets)`: the bucket of a value is this minus its
    /// leading zeros (values below the sub-bucket count are bucket 0).
    leading_zero_base: u32,
    /// `sub-buckets - 1`: or-ed into a value, it puts values below the
    /// sub-bucket count in bucket 0.
    sub_mask: u64,
    /// The bin `counts[0]` counts (a multiple of [`CHUNK`]).
    base: usize,
    /// Counts of bins `base..base + counts.len()`, whole chunks.
    counts: Vec<u64>,
    total: u64,
}

impl Bins {
    /// Bins for `sigfig` significant decimal digits (1 to 5).
    pub fn new(sigfig: u8) -> Bins {
        // As hdrhistogram: the sub-bucket count is the power of two at or
        // above 2 * 10^sigfig, so a bucket resolves `sigfig` digits.
        let largest = 2 * 10u64.pow(sigfig as u32);
        let magnitude = 64 - (largest - 1).leading_zeros();
        Bins {
            sigfig,
            half_magnitude: magnitude - 1,
            leading_zero_base: 64 - magnitude,
            sub_mask: (1u64 << magnitude) - 1,
            base: 0,
            counts: Vec::new(),
            total: 0,
        }
    }

    /// The bin of `v`.
    #[inline(always)]
    fn index(&self, v: u64) -> usize {
        let bucket = self.leading_zero_base - (v | self.sub_mask).leading_zeros();
        let sub = (v >> bucket) as usize;
        // The crate's `(bucket + 1) * half + sub - half`, folded.
        ((bucket as usize) << self.half_magnitude) + sub
    }

    /// The smallest value of bin `i`.
    fn value_of(&self, i: usize) -> u64 {
        let half = 1usize << self.half_magnitude;
        let bucket = (i >> self.half_magnitude) as i64 - 1;
        let mut sub = (i & (half - 1)) + half;
        let mut bucket = bucket;
        if bucket < 0 {
            sub -= half;
            bucket = 0;
        }
        (sub as u64) << bucket
    }

    #[inline(always)]
    pub fn record(&mut self, v: u64) {
        // One compare: below `base` wraps to a huge offset.
        let j = self.index(v).wrapping_sub(self.base);
        if j >= self.counts.len() {
            return self.record_outside(v);
        }
        self.counts[j] += 1;
        self.total += 1;
    }

    #[cold]
    fn record_outside(&mut self, v: u64) {
        let i = self.index(v);
        self.cover(i);
        self.counts[i - self.base] += 1;
        self.total += 1;
    }

    /// Widens the bins held, by chunks of [`CHUNK`] bins, to hold bin `i`.
    fn cover(&mut self, i: usize) {
        let first = i / CHUNK * CHUNK;
        let last = first + CHUNK;
        if self.counts.is_empty() {
            self.base = first;
            self.counts.resize(CHUNK, 0);
            return;
        }
        if first < self.base {
            let mut wider = vec![0; self.base - first];
            wider.extend_from_slice(&self.counts);
            self.counts = wider;
            self.base = first;
        }
        if last > self.base + self.counts.len() {
            self.counts.resize(last - self.base, 0);
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn add(&mut self, other: &Bins) {
        assert_eq!(self.sigfig, other.sigfig, "bins of one precision");
        if other.counts.is_empty() {
            return;
        }
        self.cover(other.base);
        self.cover(other.base + other.counts.len() - 1);
        let at = other.base - self.base;
        for (a, b) in self.counts[at..].iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    pub fn reset(&mut self) {
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.total = 0;
    }

    /// Values at or below `v` (its whole bin included).
    pub fn count_at_or_below(&self, v: u64) -> u64 {
        let end = (self.index(v) + 1).saturating_sub(self.base);
        self.counts[..end.min(self.counts.len())].iter().sum()
    }

    /// The largest value filed in the bin of `v`.
    pub fn highest_equivalent(&self, v: u64) -> u64 {
        let i = self.index(v);
        let lowest = self.value_of(i);
        let width = 1u64 << (self.leading_zero_base - (v | self.sub_mask).leading_zeros());
        lowest + width - 1
    }

    pub fn bytes(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<u64>()
    }

    /// The crate's histogram holding these bins (`None` when empty).
    pub fn histogram(&self) -> Option<Histogram<u64>> {
        if self.total == 0 {
            return None;
        }
        let last = self.counts.iter().rposition(|&c| c > 0)?;
        let high = self.value_of(self.base + last).max(2);
        let mut h = Histogram::new_with_bounds(1, high, self.sigfig).expect("valid bounds");
        for (j, &c) in self.counts.iter().enumerate().take(last + 1) {
            if c > 0 {
                h.record_n(self.value_of(self.base + j), c)
                    .expect("within bounds");
            }
        }
        Some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_only_the_bins_between_the_smallest_and_largest_value() {
        // 3 digits: 2048 sub-buckets, 1024 bins a bucket past bucket 0; a
        // bin of bucket k (k >= 1) is 2^k ns wide. 5e9 ns (2^32.2) lies in
        // bucket 22 (values 2^32 to 2^33, bins 2^22 ns = 4.19 ms wide):
        // bin 23 * 1024 + 5e9 / 2^22 - 1024 = 23,720, chunk 185 (of 128
        // bins). 9e9 ns in bucket 23: bin 24 * 1024 + 9e9 / 2^23 - 1024 =
        // 24,624, chunk 192. Chunks 185..=192: 8 KB, where every bin from
        // 1 ns up would be 193 chunks (193 KB).
        let mut b = Bins::new(3);
        b.record(5_000_000_000);
        assert_eq!(b.bytes(), 1024);
        b.record(9_000_000_000);
        assert_eq!(b.bytes(), 8 * 1024);
        // A value below widens the span downwards and keeps the counts:
        // 3e9 ns (2^31.5) is bucket 21, bin 22 * 1024 + 3e9 / 2^21 - 1024
        // = 22,934, chunk 179: chunks 179..=192.
        b.record(3_000_000_000);
        assert_eq!(b.bytes(), 14 * 1024);
        let h = b.histogram().unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(b.count_at_or_below(4_000_000_000), 1);
        assert_eq!(b.count_at_or_below(1), 0);
        assert_eq!(b.count_at_or_below(u64::MAX >> 2), 3);
        // A zero wait, the commonest value, holds one chunk.
        let mut small = Bins::new(3);
        small.record(0);
        assert_eq!(small.bytes(), 1024);
        small.add(&b);
        assert_eq!(small.total(), 4);
        assert_eq!(small.count_at_or_below(4_000_000_000), 2);
    }

    #[test]
    fn merging_into_a_narrower_span_widens_it_both_ways() {
        let (mut a, mut b) = (Bins::new(2), Bins::new(2));
        a.record(1_000_000);
        b.record(10);
        b.record(1_000_000_000);
        a.add(&b);
        let mut both = Bins::new(2);
        for v in [1_000_000, 10, 1_000_000_000] {
            both.record(v);
        }
        assert_eq!((a.base, &a.counts), (both.base, &both.counts));
    }

    /// Values spread over every magnitude up to an hour in ns, with ties.
    fn values(n: usize, mut x: u64) -> Vec<u64> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let mag = x % 42;
                (x >> 8) % (1u64 << mag) + (x % 3)
            })
            .collect()
    }

    #[test]
    fn files_every_value_in_the_crate_bin() {
        for sigfig in [2u8, 3] {
            let b = Bins::new(sigfig);
            let h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, sigfig).unwrap();
            for v in values(200_000, 0x9e37_79b9_7f4a_7c15 + sigfig as u64) {
                let i = b.index(v);
                assert_eq!(b.value_of(i), h.lowest_equivalent(v), "lowest of {v}");
                assert_eq!(
                    b.highest_equivalent(v),
                    h.highest_equivalent(v),
                    "highest of {v}"
                );
            }
        }
    }

    #[test]
    fn reads_equal_recording_into_the_crate() {
        for sigfig in [2u8, 3] {
            for n in [1usize, 2, 7, 1000, 50_000] {
                let mut b = Bins::new(sigfig);
                let mut h =
                    Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, sigfig).unwrap();
                for v in values(n, 0x2545_f491_4f6c_dd1d ^ n as u64) {
                    b.record(v);
                    h.record(v).unwrap();
                }
                let m = b.histogram().unwrap();
                for q in [0.0, 0.001, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
                    assert_eq!(
                        m.value_at_quantile(q),
                        h.value_at_quantile(q),
                        "q {q}, n {n}"
                    );
                }
                assert_eq!(m.max(), h.max());
                assert_eq!(m.len(), h.len());
                let v = h.value_at_quantile(0.3);
                assert_eq!(b.count_at_or_below(v), h.count_between(0, v));
            }
        }
    }

    #[test]
    fn merging_adds_bins() {
        let (mut a, mut b) = (Bins::new(3), Bins::new(3));
        for v in values(1000, 5) {
            a.record(v);
        }
        for v in values(1000, 6) {
            b.record(v * 7);
        }
        let mut both = Bins::new(3);
        for v in values(1000, 5)
            .into_iter()
            .chain(values(1000, 6).into_iter().map(|v| v * 7))
        {
            both.record(v);
        }
        a.add(&b);
        assert_eq!((a.base, &a.counts), (both.base, &both.counts));
        assert_eq!(a.total(), 2000);
        assert!(Bins::new(3).histogram().is_none());
    }
}
