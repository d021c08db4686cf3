//! The status of each `[[input.netconf]]` device: connected or not, events
//! received, the last one's time, reconnects and failures (a call-home
//! device's too). `/metrics` and `GET /api/v1/inputs/netconf` show the same
//! values. Each `[[input.netconf_callhome]]` listener counts its
//! connections: handed to a device, refused, closed over `max_pending`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use super::prometheus;

/// The counters and state of one device's collector.
#[derive(Debug, Default)]
pub(crate) struct NetconfDeviceMetrics {
    /// `address:port` connected to (a call-home device: the address it
    /// last connected from).
    pub peer: Mutex<String>,
    /// 1 while a NETCONF session streams, else 0.
    pub connected: AtomicU64,
    /// Syslog lines received from the device (all sessions).
    pub events_received: AtomicU64,
    /// When the last line arrived (Unix nanoseconds; 0: none yet).
    pub last_event_ns: AtomicU64,
    /// Sessions established.
    pub sessions: AtomicU64,
    /// Sessions established after the first (each one a reconnection).
    pub reconnects: AtomicU64,
    /// Connection attempts and sessions that failed.
    pub failures: AtomicU64,
    /// Why the last attempt or session failed; empty when it did not.
    pub last_error: Mutex<String>,
    /// What the running session negotiated (framing, session-id), or the last one's.
    pub negotiated: Mutex<String>,
}

/// One device's status as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NetconfDeviceStatus {
    pub device: String,
    pub peer: String,
    pub connected: bool,
    pub events_received: u64,
    /// RFC 3339 time of the last line received, if any.
    pub last_event_time: Option<String>,
    pub sessions: u64,
    pub reconnects: u64,
    pub failures: u64,
    pub last_error: Option<String>,
    pub negotiated: Option<String>,
}

fn text(m: &Mutex<String>) -> Option<String> {
    let value = m.lock().unwrap_or_else(PoisonError::into_inner);
    (!value.is_empty()).then(|| value.clone())
}

impl NetconfDeviceMetrics {
    pub(crate) fn set_text(m: &Mutex<String>, value: &str) {
        let mut slot = m.lock().unwrap_or_else(PoisonError::into_inner);
        slot.clear();
        slot.push_str(value);
    }

    pub(crate) fn status(&self, device: &str) -> NetconfDeviceStatus {
        let last = self.last_event_ns.load(Relaxed);
        NetconfDeviceStatus {
            device: device.to_string(),
            peer: text(&self.peer).unwrap_or_default(),
            connected: self.connected.load(Relaxed) == 1,
            events_received: self.events_received.load(Relaxed),
            last_event_time: (last > 0)
                .then(|| {
                    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(last))
                        .ok()
                        .and_then(|t| {
                            t.format(&time::format_description::well_known::Rfc3339)
                                .ok()
                        })
                })
                .flatten(),
            sessions: self.sessions.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            failures: self.failures.load(Relaxed),
            last_error: text(&self.last_error),
            negotiated: text(&self.negotiated),
        }
    }
}

type DeviceSeries = (
    &'static str,
    &'static str,
    &'static str,
    fn(&NetconfDeviceMetrics) -> u64,
);

/// Appends the device families to `/metrics`.
pub(crate) fn render(
    out: &mut String,
    devices: &BTreeMap<String, std::sync::Arc<NetconfDeviceMetrics>>,
) {
    if devices.is_empty() {
        return;
    }
    let series: [DeviceSeries; 6] = [
        (
            "netaudit_netconf_connected",
            "gauge",
            "1 while the device's NETCONF session streams ([[input.netconf]]).",
            |d| d.connected.load(Relaxed),
        ),
        (
            "netaudit_netconf_events_received_total",
            "counter",
            "Syslog lines received from the device over NETCONF.",
            |d| d.events_received.load(Relaxed),
        ),
        (
            "netaudit_netconf_last_event_timestamp_seconds",
            "gauge",
            "Unix time of the last line received from the device (0: none yet).",
            |d| d.last_event_ns.load(Relaxed) / 1_000_000_000,
        ),
        (
            "netaudit_netconf_sessions_total",
            "counter",
            "NETCONF sessions established with the device.",
            |d| d.sessions.load(Relaxed),
        ),
        (
            "netaudit_netconf_reconnects_total",
            "counter",
            "NETCONF sessions established with the device after the first.",
            |d| d.reconnects.load(Relaxed),
        ),
        (
            "netaudit_netconf_failures_total",
            "counter",
            "Connection attempts and sessions with the device that failed.",
            |d| d.failures.load(Relaxed),
        ),
    ];
    for (name, kind, help, value) in series {
        prometheus::header(out, name, kind, help);
        for (device, m) in devices {
            prometheus::sample(out, name, &[("device", device.as_str())], value(m));
        }
    }
}

/// The connections of one `[[input.netconf_callhome]]` listener.
#[derive(Debug, Default)]
pub(crate) struct CallhomeListenerMetrics {
    /// Identified and handed to their device's session.
    pub accepted: AtomicU64,
    /// Refused: header, device id, HMAC, host key, SSH handshake.
    pub refused: AtomicU64,
    /// Closed at once: `max_pending` connections were being identified.
    pub over_limit: AtomicU64,
}

/// Appends the call-home listeners' connection counts to `/metrics`.
pub(crate) fn render_callhome(
    out: &mut String,
    listeners: &BTreeMap<String, std::sync::Arc<CallhomeListenerMetrics>>,
) {
    if listeners.is_empty() {
        return;
    }
    let name = "netaudit_netconf_callhome_connections_total";
    prometheus::header(
        out,
        name,
        "counter",
        "Connections to a [[input.netconf_callhome]] listener, by result (accepted, refused, over-limit).",
    );
    for (listener, m) in listeners {
        for (result, value) in [
            ("accepted", &m.accepted),
            ("refused", &m.refused),
            ("over-limit", &m.over_limit),
        ] {
            prometheus::sample(
                out,
                name,
                &[("listener", listener.as_str()), ("result", result)],
                value.load(Relaxed),
            );
        }
    }
}
