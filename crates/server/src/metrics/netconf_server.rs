//! The NETCONF exporter's counters (`[netconf_server]`): sessions open and
//! established, refusals, notifications and streamed lines sent.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use super::prometheus;

/// The exporter's counters; shown in `/metrics` once it is enabled.
#[derive(Debug, Default)]
pub(crate) struct NetconfServerMetrics {
    /// Set when `[netconf_server]` starts: the families are shown from then on.
    pub enabled: AtomicBool,
    /// NETCONF sessions open now.
    pub sessions_open: AtomicU64,
    /// NETCONF sessions established (hellos exchanged).
    pub sessions: AtomicU64,
    /// SSH authentications refused (wrong password, unknown key, role, lock).
    pub auth_failures: AtomicU64,
    /// Sessions refused by max_sessions or max_sessions_per_user.
    pub refused_limit: AtomicU64,
    /// Sessions ended by a protocol error of the client (bad XML, framing).
    pub protocol_errors: AtomicU64,
    /// RFC 5277 notifications sent (events, replayComplete, notificationComplete).
    pub notifications: AtomicU64,
    /// Lines sent in `<get-syslog-events>` replies.
    pub syslog_events: AtomicU64,
}

type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&NetconfServerMetrics) -> &AtomicU64,
);

/// Appends the exporter's families to `/metrics`.
pub(crate) fn render(out: &mut String, m: &NetconfServerMetrics) {
    if !m.enabled.load(Relaxed) {
        return;
    }
    let families: [Family; 7] = [
        (
            "netaudit_netconf_server_sessions_open",
            "gauge",
            "NETCONF exporter sessions open now ([netconf_server]).",
            |m| &m.sessions_open,
        ),
        (
            "netaudit_netconf_server_sessions_total",
            "counter",
            "NETCONF exporter sessions established.",
            |m| &m.sessions,
        ),
        (
            "netaudit_netconf_server_auth_failures_total",
            "counter",
            "SSH authentications the NETCONF exporter refused.",
            |m| &m.auth_failures,
        ),
        (
            "netaudit_netconf_server_refused_total",
            "counter",
            "NETCONF exporter sessions refused by max_sessions or max_sessions_per_user.",
            |m| &m.refused_limit,
        ),
        (
            "netaudit_netconf_server_protocol_errors_total",
            "counter",
            "NETCONF exporter sessions closed for bad input from the client.",
            |m| &m.protocol_errors,
        ),
        (
            "netaudit_netconf_server_notifications_sent_total",
            "counter",
            "RFC 5277 notifications the NETCONF exporter sent.",
            |m| &m.notifications,
        ),
        (
            "netaudit_netconf_server_syslog_events_sent_total",
            "counter",
            "Lines the NETCONF exporter sent in <get-syslog-events> replies.",
            |m| &m.syslog_events,
        ),
    ];
    for (name, kind, help, counter) in families {
        prometheus::single(out, name, kind, help, counter(m).load(Relaxed));
    }
}
