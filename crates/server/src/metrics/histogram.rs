//! The latency histograms of `/metrics` (commit and batch latency).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::metrics::prometheus;

/// Upper bounds (seconds) of the batch commit latency histogram.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default)]
pub(crate) struct Histogram {
    /// Cumulative counts are computed when rendering; these are per bucket,
    /// the last one for +Inf.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub(crate) fn observe(&self, value: Duration) {
        let secs = value.as_secs_f64();
        let index = LATENCY_BUCKETS
            .iter()
            .position(|bound| secs <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        if let Some(bucket) = self.buckets.get(index) {
            bucket.fetch_add(1, Relaxed);
        }
        self.sum_micros.fetch_add(
            u64::try_from(value.as_micros()).unwrap_or(u64::MAX),
            Relaxed,
        );
        self.count.fetch_add(1, Relaxed);
    }

    pub(crate) fn render(&self, out: &mut String, name: &str, help: &str) {
        prometheus::header(out, name, "histogram", help);
        let bucket_name = format!("{name}_bucket");
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Relaxed);
            prometheus::sample(out, &bucket_name, &[("le", &bound.to_string())], cumulative);
        }
        if let Some(inf) = self.buckets.last() {
            cumulative += inf.load(Relaxed);
        }
        prometheus::sample(out, &bucket_name, &[("le", "+Inf")], cumulative);
        let sum = self.sum_micros.load(Relaxed) as f64 / 1e6;
        prometheus::sample(out, &format!("{name}_sum"), &[], sum);
        prometheus::sample(out, &format!("{name}_count"), &[], self.count.load(Relaxed));
    }
}
