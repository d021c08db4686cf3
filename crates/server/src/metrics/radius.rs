//! Counters of the RADIUS accounting outputs (`netaudit_radius_*`): the
//! client's and the consumer's of each `[[output.radius]]`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::metrics::prometheus;

/// Counters of one accounting client, plain atomics for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct RadiusMetrics {
    /// Accounting-Requests built and sent (new identifier and authenticator).
    pub requests: AtomicU64,
    /// Identical retransmissions.
    pub retransmissions: AtomicU64,
    /// Requests answered by a valid Accounting-Response.
    pub acknowledged: AtomicU64,
    /// Waits for a reply that ran out.
    pub timeouts: AtomicU64,
    /// Datagrams discarded: strangers, malformed, oversized, wrong code,
    /// identifier or authenticator, or answering no waiting request.
    pub invalid_replies: AtomicU64,
    /// Times a request moved on to the next server.
    pub failovers: AtomicU64,
    /// Requests no server acknowledged.
    pub failures: AtomicU64,
    /// Socket errors while sending.
    pub send_errors: AtomicU64,
    /// The round trip of the last acknowledged request, microseconds.
    pub last_round_trip_micros: AtomicU64,
}

impl RadiusMetrics {
    /// Prometheus text for these counters, labelled `output="name"`.
    pub(crate) fn render(&self, output: &str, out: &mut String) {
        let series: [(&str, &str, &str, &AtomicU64); 9] = [
            (
                "netaudit_radius_requests_total",
                "counter",
                "Accounting-Requests sent with a new identifier.",
                &self.requests,
            ),
            (
                "netaudit_radius_retransmissions_total",
                "counter",
                "Identical retransmissions of Accounting-Requests.",
                &self.retransmissions,
            ),
            (
                "netaudit_radius_acknowledged_total",
                "counter",
                "Accounting-Requests acknowledged by a server.",
                &self.acknowledged,
            ),
            (
                "netaudit_radius_timeouts_total",
                "counter",
                "Waits for an Accounting-Response that timed out.",
                &self.timeouts,
            ),
            (
                "netaudit_radius_invalid_replies_total",
                "counter",
                "Datagrams discarded as invalid replies.",
                &self.invalid_replies,
            ),
            (
                "netaudit_radius_failovers_total",
                "counter",
                "Requests moved on to the next server.",
                &self.failovers,
            ),
            (
                "netaudit_radius_failures_total",
                "counter",
                "Requests that no server acknowledged.",
                &self.failures,
            ),
            (
                "netaudit_radius_send_errors_total",
                "counter",
                "Socket errors while sending.",
                &self.send_errors,
            ),
            (
                "netaudit_radius_last_round_trip_microseconds",
                "gauge",
                "Round trip of the last acknowledged request.",
                &self.last_round_trip_micros,
            ),
        ];
        for (name, kind, help, value) in series {
            prometheus::header(out, name, kind, help);
            prometheus::sample(out, name, &[("output", output)], value.load(Relaxed));
        }
    }
}

/// Progress counters of a RADIUS output's consumer, next to its client's.
#[derive(Debug, Default)]
pub(crate) struct RadiusConsumerMetrics {
    /// The durable cursor: every record up to this event was acknowledged.
    pub delivered_seq: AtomicU64,
    /// Committed events after the cursor.
    pub lag_events: AtomicU64,
    /// Records mapped and not yet acknowledged.
    pub queued_records: AtomicU64,
    /// Seconds since 1970 of the first failure of the current outage, 0 when none.
    pub failing_since: AtomicU64,
    /// Alert events stored.
    pub alerts: AtomicU64,
    /// Store reads or cursor writes that failed (retried).
    pub store_errors: AtomicU64,
}

impl RadiusConsumerMetrics {
    /// Prometheus text, labelled `output="name"`.
    pub(crate) fn render(&self, output: &str, out: &mut String) {
        let series: [(&str, &str, &str, &AtomicU64); 6] = [
            (
                "netaudit_radius_delivered_seq",
                "gauge",
                "Store sequence number up to which every record was acknowledged.",
                &self.delivered_seq,
            ),
            (
                "netaudit_radius_lag_events",
                "gauge",
                "Committed events the RADIUS output has not delivered yet.",
                &self.lag_events,
            ),
            (
                "netaudit_radius_queued_records",
                "gauge",
                "Accounting records mapped and not yet acknowledged.",
                &self.queued_records,
            ),
            (
                "netaudit_radius_failing_since_seconds",
                "gauge",
                "Unix time of the first failure of the current outage (0: none).",
                &self.failing_since,
            ),
            (
                "netaudit_radius_alerts_total",
                "counter",
                "Alert events stored for undelivered records.",
                &self.alerts,
            ),
            (
                "netaudit_radius_store_errors_total",
                "counter",
                "Store reads or cursor writes that failed.",
                &self.store_errors,
            ),
        ];
        for (name, kind, help, value) in series {
            prometheus::header(out, name, kind, help);
            prometheus::sample(out, name, &[("output", output)], value.load(Relaxed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_with_the_output_label() {
        let m = RadiusMetrics::default();
        m.acknowledged.store(3, Relaxed);
        let mut out = String::new();
        m.render("aaa", &mut out);
        assert!(
            out.contains("netaudit_radius_acknowledged_total{output=\"aaa\"} 3\n"),
            "{out}"
        );
    }
}
