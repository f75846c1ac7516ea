//! Percentiles and distributions.

use serde_json::{json, Value};

/// Nearest-rank percentile of an ascending slice (`p` in 0..=100); `None` when empty.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    let idx = rank.clamp(1, n) - 1;
    Some(sorted[idx])
}

/// Summary of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dist {
    pub n: usize,
    pub min: u64,
    pub p1: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

impl Dist {
    /// Sorts `v` and summarises it; `None` when it is empty.
    pub fn of(mut v: Vec<u64>) -> Option<Dist> {
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        Some(Dist {
            n: v.len(),
            min: v[0],
            p1: percentile(&v, 1.0)?,
            p50: percentile(&v, 50.0)?,
            p99: percentile(&v, 99.0)?,
            max: v[v.len() - 1],
        })
    }

    /// JSON with every figure divided by `div` (e.g. µs → ms with 1000).
    pub fn to_json(self, div: f64) -> Value {
        let f = |x: u64| round2(x as f64 / div);
        json!({"n": self.n, "min": f(self.min), "p1": f(self.p1), "p50": f(self.p50),
               "p99": f(self.p99), "max": f(self.max)})
    }
}

/// Rounds to two decimals (for printing and JSON).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        // 10 samples: p99 is the largest, p50 the fifth.
        let v: Vec<u64> = (10..20).collect();
        assert_eq!(percentile(&v, 99.0), Some(19));
        assert_eq!(percentile(&v, 50.0), Some(14));
    }

    #[test]
    fn dist_sorts_and_summarises() {
        let d = Dist::of(vec![5, 1, 9, 3, 7]).expect("non-empty");
        assert_eq!((d.n, d.min, d.p50, d.p99, d.max), (5, 1, 5, 9, 9));
        assert_eq!(Dist::of(Vec::new()), None);
        let j = Dist::of(vec![1500, 2500])
            .expect("non-empty")
            .to_json(1000.0);
        assert_eq!(j["p50"], 1.5);
        assert_eq!(j["max"], 2.5);
    }
}
