//! Counters of the running server, rendered as Prometheus text for `/metrics`.
//!
//! Plain atomics: every hot-path update is one relaxed `fetch_add`. The
//! registry hands out one [`ListenerMetrics`] per listener name and one
//! [`OutputMetrics`] per output name, and keeps them across SIGHUP reloads so
//! that counters never go backwards.

pub(crate) mod histogram;
pub(crate) mod listener;
pub(crate) mod netconf;
pub(crate) mod netconf_server;
pub(crate) mod output;
pub(crate) mod policy;
pub(crate) mod prometheus;
pub(crate) mod radius;
pub(crate) mod store_link;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::commit_signal::CommitSignal;
use histogram::Histogram;
pub(crate) use listener::ListenerMetrics;
pub(crate) use netconf::{CallhomeListenerMetrics, NetconfDeviceMetrics, NetconfDeviceStatus};
pub(crate) use output::OutputMetrics;
pub(crate) use policy::PolicyMetrics;
use radius::{RadiusConsumerMetrics, RadiusMetrics};

/// One labelled series family: name, type, help, and which counter it shows.
type Series<T> = (
    &'static str,
    &'static str,
    &'static str,
    fn(&T) -> &AtomicU64,
);

/// Everything `/metrics` shows.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Events committed to the store.
    pub stored: AtomicU64,
    pub batches: AtomicU64,
    /// The last committed sequence number, and the wake-up of consumers
    /// waiting for commits.
    pub committed: Arc<CommitSignal>,
    pub store_errors: AtomicU64,
    /// False while store appends fail (then `/health` answers 503).
    pub store_healthy: std::sync::atomic::AtomicBool,
    /// The store as `/health` names it while appends fail, when it is not
    /// the embedded one (`PostgreSQL host:port/db as user`).
    pub store_name: std::sync::OnceLock<String>,
    /// True from a start with `--accept-damaged-store` until an
    /// administrator acknowledges the damage (`/health` says `store-damaged`).
    pub store_damaged: std::sync::atomic::AtomicBool,
    /// Events waiting in the channels and the open batch.
    pub pending: AtomicU64,
    /// Internal events netaudit stored about itself (e.g. UDP drops).
    pub internal_events: AtomicU64,
    /// The store's count of sealed partitions waiting for their indexes.
    pub unindexed_partitions: std::sync::OnceLock<Arc<AtomicU64>>,
    /// The writer's sessions to a PostgreSQL store (reconnects, batches in
    /// doubt), when the store is one.
    pub store_link: std::sync::OnceLock<Arc<store_link::StoreLinkMetrics>>,
    /// Unix time (seconds) of the last scheduled chain verification that
    /// found no break; 0 before the first.
    pub verify_last_success_seconds: AtomicU64,
    /// Scheduled chain verifications that found a break or could not run.
    pub verify_failures: AtomicU64,
    /// 1 while retention waits because a partition's archive cannot be
    /// written or verified, else 0.
    pub retention_waiting: AtomicU64,
    /// Time from a batch being handed to the store to its commit.
    commit_latency: Histogram,
    /// Time from the first event of a batch arriving to its commit.
    batch_latency: Histogram,
    listeners: Mutex<BTreeMap<String, Arc<ListenerMetrics>>>,
    outputs: Mutex<BTreeMap<String, Arc<OutputMetrics>>>,
    /// The RADIUS client and consumer counters of each `[[output.radius]]`.
    radius: Mutex<BTreeMap<String, RadiusOutputMetrics>>,
    /// The counters of each event policy, by name.
    policies: Mutex<BTreeMap<String, Arc<PolicyMetrics>>>,
    /// The status of each `[[input.netconf]]` device.
    netconf: Mutex<BTreeMap<String, Arc<NetconfDeviceMetrics>>>,
    /// The connection counters of each `[[input.netconf_callhome]]`.
    callhome: Mutex<BTreeMap<String, Arc<CallhomeListenerMetrics>>>,
    /// The NETCONF exporter (`[netconf_server]`).
    pub netconf_server: netconf_server::NetconfServerMetrics,
    pub started: Option<std::time::Instant>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Metrics {
            started: Some(std::time::Instant::now()),
            store_healthy: std::sync::atomic::AtomicBool::new(true),
            ..Metrics::default()
        }
    }

    /// The counters of listener `name`, created on first use.
    pub(crate) fn listener(&self, name: &str, protocol: &str) -> Arc<ListenerMetrics> {
        let mut map = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(name.to_owned())
            .or_insert_with(|| {
                Arc::new(ListenerMetrics {
                    protocol: protocol.to_owned(),
                    ..ListenerMetrics::default()
                })
            })
            .clone()
    }

    /// The counters of output `name`, created on first use.
    pub(crate) fn output(&self, name: &str) -> Arc<OutputMetrics> {
        let mut map = self.outputs.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(name.to_owned()).or_default().clone()
    }

    /// The status of NETCONF device `name`, created on first use.
    pub(crate) fn netconf_device(&self, name: &str, peer: &str) -> Arc<NetconfDeviceMetrics> {
        let mut map = self.netconf.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(name.to_owned())
            .or_insert_with(|| {
                Arc::new(NetconfDeviceMetrics {
                    peer: std::sync::Mutex::new(peer.to_owned()),
                    ..NetconfDeviceMetrics::default()
                })
            })
            .clone()
    }

    /// The counters of call-home listener `name`, created on first use.
    pub(crate) fn callhome(&self, name: &str) -> Arc<CallhomeListenerMetrics> {
        let mut map = self.callhome.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(name.to_owned()).or_default().clone()
    }

    /// Every NETCONF device's status, by name.
    pub(crate) fn netconf_status(&self) -> Vec<NetconfDeviceStatus> {
        let map = self.netconf.lock().unwrap_or_else(PoisonError::into_inner);
        map.iter().map(|(name, m)| m.status(name)).collect()
    }

    /// The RADIUS counters of output `name`, created on first use.
    pub(crate) fn radius(&self, name: &str) -> RadiusOutputMetrics {
        let mut map = self.radius.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(name.to_owned()).or_default().clone()
    }

    /// The counters of policy `name`, created on first use.
    pub(crate) fn policy(&self, name: &str) -> Arc<PolicyMetrics> {
        let mut map = self.policies.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(name.to_owned()).or_default().clone()
    }

    pub(crate) fn observe_commit(&self, commit: Duration, since_first_event: Duration) {
        self.commit_latency.observe(commit);
        self.batch_latency.observe(since_first_event);
    }

    /// Sum of one listener counter over all listeners.
    pub(crate) fn total(&self, counter: fn(&ListenerMetrics) -> &AtomicU64) -> u64 {
        let map = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.values().map(|l| counter(l).load(Relaxed)).sum()
    }

    /// Prometheus text exposition format, version 0.0.4.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let gauge_or_counter = prometheus::single;
        gauge_or_counter(
            &mut out,
            "netaudit_stored_events_total",
            "counter",
            "Events committed to the store.",
            self.stored.load(Relaxed),
        );
        gauge_or_counter(
            &mut out,
            "netaudit_store_batches_total",
            "counter",
            "Batches committed to the store.",
            self.batches.load(Relaxed),
        );
        gauge_or_counter(
            &mut out,
            "netaudit_store_last_seq",
            "gauge",
            "Sequence number of the last committed event.",
            self.committed.last_seq(),
        );
        gauge_or_counter(
            &mut out,
            "netaudit_store_errors_total",
            "counter",
            "Failed store appends (each is retried).",
            self.store_errors.load(Relaxed),
        );
        gauge_or_counter(
            &mut out,
            "netaudit_pipeline_pending_events",
            "gauge",
            "Events received but not yet committed.",
            self.pending.load(Relaxed),
        );
        gauge_or_counter(
            &mut out,
            "netaudit_internal_events_total",
            "counter",
            "Events netaudit generated about itself (e.g. UDP drop reports).",
            self.internal_events.load(Relaxed),
        );
        if let Some(unindexed) = self.unindexed_partitions.get() {
            gauge_or_counter(
                &mut out,
                "netaudit_store_unindexed_partitions",
                "gauge",
                "Sealed store partitions whose indexes are not built yet (built at idle priority; queries scan them meanwhile).",
                unindexed.load(Relaxed),
            );
        }
        gauge_or_counter(
            &mut out,
            "netaudit_verify_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the last scheduled chain verification that found no break (0: none yet; [integrity] verify_every).",
            self.verify_last_success_seconds.load(Relaxed),
        );
        gauge_or_counter(
            &mut out,
            "netaudit_verify_failures_total",
            "counter",
            "Scheduled chain verifications that found a break or could not run.",
            self.verify_failures.load(Relaxed),
        );
        if let Some(link) = self.store_link.get() {
            link.render(&mut out);
        }
        gauge_or_counter(
            &mut out,
            "netaudit_retention_waiting",
            "gauge",
            "1 while retention keeps a partition that is due because its archive cannot be written or verified (store.retention_archive_to).",
            self.retention_waiting.load(Relaxed),
        );
        self.commit_latency.render(
            &mut out,
            "netaudit_store_commit_seconds",
            "Time to append and commit one batch.",
        );
        self.batch_latency.render(
            &mut out,
            "netaudit_batch_latency_seconds",
            "Time from the first event of a batch arriving to its commit.",
        );

        let listeners = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let listener_counters: [Series<ListenerMetrics>; 12] = [
            (
                "netaudit_received_total",
                "counter",
                "Messages received (datagrams or frames).",
                |l| &l.received,
            ),
            (
                "netaudit_received_bytes_total",
                "counter",
                "Bytes of messages received.",
                |l| &l.received_bytes,
            ),
            (
                "netaudit_parse_errors_total",
                "counter",
                "Messages that did not parse.",
                |l| &l.parse_errors,
            ),
            (
                "netaudit_dropped_total",
                "counter",
                "Messages lost: UDP pipeline full, or unparsable with on_parse_error = drop.",
                |l| &l.dropped,
            ),
            (
                "netaudit_framing_errors_total",
                "counter",
                "TCP/TLS frames breaking the framing rules.",
                |l| &l.framing_errors,
            ),
            (
                "netaudit_oversized_datagrams_total",
                "counter",
                "UDP datagrams longer than max_message_bytes.",
                |l| &l.oversized,
            ),
            (
                "netaudit_connections_accepted_total",
                "counter",
                "TCP/TLS connections accepted.",
                |l| &l.connections_accepted,
            ),
            (
                "netaudit_connections_refused_total",
                "counter",
                "Connections closed at once because max_connections was reached.",
                |l| &l.connections_refused,
            ),
            (
                "netaudit_connections_active",
                "gauge",
                "TCP/TLS connections open now.",
                |l| &l.connections_active,
            ),
            (
                "netaudit_idle_timeouts_total",
                "counter",
                "Connections closed after idle_timeout_secs without data.",
                |l| &l.idle_timeouts,
            ),
            (
                "netaudit_tls_handshake_failures_total",
                "counter",
                "TLS handshakes that failed or timed out.",
                |l| &l.tls_handshake_failures,
            ),
            (
                "netaudit_tls_on_plain_tcp_total",
                "counter",
                "TLS ClientHellos sent to a plain TCP listener.",
                |l| &l.tls_on_plain_tcp,
            ),
        ];
        for (name, kind, help, counter) in listener_counters {
            prometheus::header(&mut out, name, kind, help);
            for (listener, m) in listeners.iter() {
                let labels = [("listener", listener.as_str()), ("protocol", &m.protocol)];
                prometheus::sample(&mut out, name, &labels, counter(m).load(Relaxed));
            }
        }
        drop(listeners);
        netconf::render(
            &mut out,
            &self.netconf.lock().unwrap_or_else(PoisonError::into_inner),
        );
        netconf::render_callhome(
            &mut out,
            &self.callhome.lock().unwrap_or_else(PoisonError::into_inner),
        );
        netconf_server::render(&mut out, &self.netconf_server);

        let outputs = self.outputs.lock().unwrap_or_else(PoisonError::into_inner);
        let last_seq = self.committed.last_seq();
        let output_counters: [Series<OutputMetrics>; 12] = [
            (
                "netaudit_forwarded_total",
                "counter",
                "Events delivered by an output.",
                |o| &o.forwarded,
            ),
            (
                "netaudit_output_filtered_total",
                "counter",
                "Events an output's filters skipped.",
                |o| &o.filtered,
            ),
            (
                "netaudit_output_errors_total",
                "counter",
                "Delivery failures of an output (each is retried).",
                |o| &o.errors,
            ),
            (
                "netaudit_output_resent_total",
                "counter",
                "Events sent again after a connection broke before they were confirmed.",
                |o| &o.resent,
            ),
            (
                "netaudit_output_connects_total",
                "counter",
                "Connections an output established (reconnections = this - 1).",
                |o| &o.connects,
            ),
            (
                "netaudit_output_connected",
                "gauge",
                "1 while a syslog output is connected.",
                |o| &o.connected,
            ),
            (
                "netaudit_output_storage_full_total",
                "counter",
                "Audit file writes refused because the audit storage was full.",
                |o| &o.full,
            ),
            (
                "netaudit_output_archives_removed_total",
                "counter",
                "Audit file archives deleted by on_full = overwrite-oldest.",
                |o| &o.archives_removed,
            ),
            (
                "netaudit_output_lease_owned",
                "gauge",
                "On a PostgreSQL store: 1 while this node owns the output.",
                |o| &o.lease_owned,
            ),
            (
                "netaudit_output_lease_generation",
                "gauge",
                "On a PostgreSQL store: the generation of the output's lease this node holds or last held.",
                |o| &o.lease_generation,
            ),
            (
                "netaudit_output_takeovers_total",
                "counter",
                "On a PostgreSQL store: times this node took the output over from another node.",
                |o| &o.takeovers,
            ),
            (
                "netaudit_output_takeover_resent_total",
                "counter",
                "On a PostgreSQL store: events delivered that the previous owner had read past its cursor (at most the duplicates of a take-over).",
                |o| &o.takeover_resent,
            ),
        ];
        for (name, kind, help, counter) in output_counters {
            prometheus::header(&mut out, name, kind, help);
            for (output, m) in outputs.iter() {
                let labels = [("output", output.as_str())];
                prometheus::sample(&mut out, name, &labels, counter(m).load(Relaxed));
            }
        }
        let name = "netaudit_output_lag_events";
        prometheus::header(
            &mut out,
            name,
            "gauge",
            "Committed events an output has not delivered yet.",
        );
        for (output, m) in outputs.iter() {
            let lag = last_seq.saturating_sub(m.delivered_seq.load(Relaxed));
            prometheus::sample(&mut out, name, &[("output", output)], lag);
        }
        let name = "netaudit_output_cursor_seq";
        prometheus::header(
            &mut out,
            name,
            "gauge",
            "Last store sequence number an output has delivered (its durable cursor).",
        );
        for (output, m) in outputs.iter() {
            let labels = [("output", output.as_str())];
            prometheus::sample(&mut out, name, &labels, m.delivered_seq.load(Relaxed));
        }
        let radius = self.radius.lock().unwrap_or_else(PoisonError::into_inner);
        if !radius.is_empty() {
            let mut text = String::new();
            for (output, (client, consumer)) in radius.iter() {
                client.render(output, &mut text);
                consumer.render(output, &mut text);
            }
            // Each output renders whole families; the exposition format wants
            // one family's samples together under a single HELP/TYPE.
            out.push_str(&prometheus::group_families(&text));
        }
        drop(radius);
        let policies = self.policies.lock().unwrap_or_else(PoisonError::into_inner);
        policy::render(
            &mut out,
            policies.iter().map(|(name, m)| (name, m.as_ref())),
            last_seq,
        );
        drop(policies);
        if let Some(started) = self.started {
            gauge_or_counter(
                &mut out,
                "netaudit_uptime_seconds",
                "gauge",
                "Seconds since the server started.",
                started.elapsed().as_secs(),
            );
        }
        out
    }
}

/// The client and consumer counters of one RADIUS output.
pub(crate) type RadiusOutputMetrics = (Arc<RadiusMetrics>, Arc<RadiusConsumerMetrics>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_outputs_render_each_family_once() {
        let metrics = Metrics::new();
        for name in ["aaa", "bbb"] {
            let (client, _) = metrics.radius(name);
            client.acknowledged.fetch_add(1, Relaxed);
        }
        let text = metrics.render();
        assert_eq!(
            text.matches("# TYPE netaudit_radius_acknowledged_total ")
                .count(),
            1,
            "{text}"
        );
        assert!(text.contains("netaudit_radius_acknowledged_total{output=\"bbb\"} 1"));
    }

    #[test]
    fn renders_counters_with_labels() {
        let metrics = Metrics::new();
        let tcp = metrics.listener("tcp:127.0.0.1:5514", "tcp");
        tcp.received.fetch_add(3, Relaxed);
        metrics.stored.fetch_add(3, Relaxed);
        metrics.committed.publish(10);
        metrics.output("siem").delivered_seq.store(4, Relaxed);
        let text = metrics.render();
        assert!(
            text.contains(
                "netaudit_received_total{listener=\"tcp:127.0.0.1:5514\",protocol=\"tcp\"} 3\n"
            ),
            "{text}"
        );
        assert!(text.contains("netaudit_stored_events_total 3\n"));
        assert!(text.contains("netaudit_output_lag_events{output=\"siem\"} 6\n"));
        assert_eq!(metrics.total(|l| &l.received), 3);
        // The same name gives the same counters (kept across reloads).
        assert_eq!(
            metrics
                .listener("tcp:127.0.0.1:5514", "tcp")
                .received
                .load(Relaxed),
            3
        );
    }

    #[test]
    fn renders_policy_firings_actions_and_lag() {
        let metrics = Metrics::new();
        metrics.committed.publish(10);
        let brute = metrics.policy("brute");
        brute.firings.fetch_add(2, Relaxed);
        brute.evaluated_seq.store(7, Relaxed);
        brute.action_taken("exec", true);
        brute.action_taken("exec", false);
        brute.action_taken("exec", false);
        metrics.policy("quiet");
        let text = metrics.render();
        for line in [
            "netaudit_policy_firings_total{policy=\"brute\"} 2\n",
            "netaudit_policy_firings_total{policy=\"quiet\"} 0\n",
            "netaudit_policy_actions_total{policy=\"brute\",action=\"exec\",result=\"ok\"} 1\n",
            "netaudit_policy_actions_total{policy=\"brute\",action=\"exec\",result=\"failed\"} 2\n",
            "netaudit_policy_lag_events{policy=\"brute\"} 3\n",
            "netaudit_policy_lag_events{policy=\"quiet\"} 10\n",
        ] {
            assert!(text.contains(line), "{line} not in {text}");
        }
        assert_eq!(
            text.matches("# TYPE netaudit_policy_lag_events ").count(),
            1
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = Metrics::new();
        metrics.observe_commit(Duration::from_micros(300), Duration::from_millis(3));
        metrics.observe_commit(Duration::from_secs(10), Duration::from_secs(10));
        let text = metrics.render();
        assert!(
            text.contains("netaudit_store_commit_seconds_bucket{le=\"0.0005\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("netaudit_store_commit_seconds_bucket{le=\"2.5\"} 1\n"));
        assert!(text.contains("netaudit_store_commit_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("netaudit_store_commit_seconds_count 2\n"));
        assert!(text.contains("netaudit_batch_latency_seconds_bucket{le=\"0.005\"} 1\n"));
    }
}
