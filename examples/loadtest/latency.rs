//! Latency samples and their percentiles.

use std::time::Duration;

/// Every sample of a run, in microseconds (4 bytes each: millions fit).
#[derive(Debug, Default)]
pub(crate) struct Latencies(Vec<u32>);

impl Latencies {
    pub(crate) fn record(&mut self, d: Duration) {
        self.0
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }

    pub(crate) fn append(&mut self, mut other: Latencies) {
        self.0.append(&mut other.0);
    }

    /// The nearest-rank percentile `p` (0 < p <= 100), if any sample.
    pub(crate) fn percentile(&mut self, p: f64) -> Option<Duration> {
        if self.0.is_empty() {
            return None;
        }
        self.0.sort_unstable();
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.0.len()) - 1;
        Some(Duration::from_micros(u64::from(self.0[i])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p99_of_a_hundred_is_the_99th() {
        let mut l = Latencies::default();
        for us in 1..=100 {
            l.record(Duration::from_micros(us));
        }
        assert_eq!(l.percentile(99.0), Some(Duration::from_micros(99)));
        assert_eq!(l.percentile(100.0), Some(Duration::from_micros(100)));
    }
}
