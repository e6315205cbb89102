//! A fixed-bucket histogram of atomics: recording is a binary search over constant bounds and
//! two relaxed atomic adds, the bucket and the sum (no lock, no allocation; the count is the
//! buckets' total, added up when read); reading takes a snapshot for the exposition. The
//! bounds are gRFC A66's: latency in seconds, sizes in bytes.

use std::sync::atomic::{AtomicU64, Ordering};

/// gRFC A66's latency bucket bounds, in microseconds (0 s, 10 µs … 100 s).
pub const LATENCY_BOUNDS_MICROS: &[u64] = &[
    0,
    10,
    50,
    100,
    300,
    600,
    800,
    1_000,
    2_000,
    3_000,
    4_000,
    5_000,
    6_000,
    8_000,
    10_000,
    13_000,
    16_000,
    20_000,
    25_000,
    30_000,
    40_000,
    50_000,
    65_000,
    80_000,
    100_000,
    130_000,
    160_000,
    200_000,
    250_000,
    300_000,
    400_000,
    500_000,
    650_000,
    800_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    50_000_000,
    100_000_000,
];

/// gRFC A66's size bucket bounds, in bytes (0 B, 1 KiB … 4 GiB).
pub const SIZE_BOUNDS: &[u64] = &[
    0,
    1_024,
    2_048,
    4_096,
    16_384,
    65_536,
    262_144,
    1_048_576,
    4_194_304,
    16_777_216,
    67_108_864,
    268_435_456,
    1_073_741_824,
    4_294_967_296,
];

/// The largest number of bounds a histogram has.
const MAX_BOUNDS: usize = 41;

/// Counts of observations per bucket (`le` each bound, and one more above the last), their sum
/// and count.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [u64],
    buckets: [AtomicU64; MAX_BOUNDS + 1],
    sum: AtomicU64,
}

/// A histogram read at one moment: cumulative counts per bound (the last is `+Inf`), sum, count.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `(bound, observations ≤ bound)`, ending with `(u64::MAX, count)` for `+Inf`.
    pub cumulative: Vec<(u64, u64)>,
    /// The sum of the observations.
    pub sum: u64,
    /// How many there were.
    pub count: u64,
}

impl Histogram {
    /// An empty histogram over `bounds` (at most 41 of them, increasing).
    pub fn new(bounds: &'static [u64]) -> Histogram {
        debug_assert!(bounds.len() <= MAX_BOUNDS);
        Histogram {
            bounds,
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn record(&self, value: u64) {
        let i = self.bounds.partition_point(|&b| b < value);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// How many observations so far.
    pub fn count(&self) -> u64 {
        let n = self.bounds.len() + 1;
        self.buckets[..n]
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .sum()
    }

    /// The histogram now: the count is the buckets' total, so the `+Inf` bucket is the count
    /// and never less than the last finite bucket. (Under concurrent recording the sum may
    /// hold an observation whose bucket was read before it landed, or the reverse.)
    pub fn snapshot(&self) -> Snapshot {
        let mut cumulative = Vec::with_capacity(self.bounds.len() + 1);
        let mut total = 0;
        for (i, bound) in self.bounds.iter().enumerate() {
            total += self.buckets[i].load(Ordering::Relaxed);
            cumulative.push((*bound, total));
        }
        total += self.buckets[self.bounds.len()].load(Ordering::Relaxed);
        let sum = self.sum.load(Ordering::Relaxed);
        let count = total;
        cumulative.push((u64::MAX, count));
        Snapshot {
            cumulative,
            sum,
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let h = Histogram::new(SIZE_BOUNDS);
        for v in [0, 1, 1_024, 1_025, 5_000_000_000] {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!(s.count, 5);
        assert_eq!(s.sum, 5_000_000_000 + 1 + 1_024 + 1_025);
        assert_eq!(s.cumulative[0], (0, 1));
        assert_eq!(s.cumulative[1], (1_024, 3));
        assert_eq!(s.cumulative[2], (2_048, 4));
        assert_eq!(s.cumulative[SIZE_BOUNDS.len() - 1].1, 4);
        assert_eq!(*s.cumulative.last().unwrap(), (u64::MAX, 5));
        assert_eq!(LATENCY_BOUNDS_MICROS.len(), MAX_BOUNDS);
    }
}
