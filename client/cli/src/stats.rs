//! Owns: the one percentile definition every report of the CLI prints
//! (`healthblock bench`).
//!
//! Nearest-rank percentile: the p-th percentile of n sorted values is the
//! value of rank ceil(p/100 * n) (1-based). The rank is computed in integer
//! arithmetic (p in thousandths of a percent), so p95 of 20 values is the 19th
//! value, never the maximum through a rounding artefact. bench/stats.py
//! implements the same definition for the Python reports, tested on the same cases.

/// 1-based nearest rank of the `p`-th percentile (0 < p <= 100) among `n`
/// values; `None` for no values or a `p` outside (0, 100].
pub fn nearest_rank(p: f64, n: usize) -> Option<usize> {
    if n == 0 || !(p > 0.0 && p <= 100.0) {
        return None;
    }
    // p to thousandths of a percent: exact for every percentile a report names.
    let milli = (p * 1000.0).round() as u128;
    let rank = (milli * n as u128).div_ceil(100_000);
    Some((rank as usize).clamp(1, n))
}

/// The nearest-rank `p`-th percentile of `sorted` (ascending); `None` when empty.
pub fn percentile_of_sorted<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    nearest_rank(p, sorted.len()).map(|r| sorted[r - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The percentile of values in any order.
    fn percentile(values: &[u64], p: f64) -> Option<u64> {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        percentile_of_sorted(&sorted, p)
    }

    #[test]
    fn p95_of_20_is_the_19th_value() {
        let values: Vec<u64> = (1..=20).collect();
        assert_eq!(nearest_rank(95.0, 20), Some(19));
        assert_eq!(percentile(&values, 95.0), Some(19));
    }

    #[test]
    fn order_of_input_does_not_matter() {
        assert_eq!(percentile(&[5u64, 1, 4, 2, 3], 50.0), Some(3));
    }

    #[test]
    fn small_and_edge_cases() {
        assert_eq!(percentile(&[7u64], 95.0), Some(7));
        assert_eq!(percentile(&[1u64, 2], 50.0), Some(1));
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 99.0), Some(99));
        assert_eq!(percentile(&hundred, 100.0), Some(100));
        assert_eq!(nearest_rank(99.9, 1000), Some(999));
        assert_eq!(nearest_rank(95.0, 25), Some(24)); // ceil(23.75)
    }

    #[test]
    fn refuses_nonsense() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(nearest_rank(0.0, 10), None);
        assert_eq!(nearest_rank(101.0, 10), None);
        assert_eq!(nearest_rank(f64::NAN, 10), None);
    }
}
