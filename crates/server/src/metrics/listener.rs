//! Counters of one listener (`netaudit_received_total` and the like).

use std::sync::atomic::AtomicU64;

/// Counters of one listener.
#[derive(Debug, Default)]
pub(crate) struct ListenerMetrics {
    pub protocol: String,
    /// Messages taken from the network (datagrams or frames).
    pub received: AtomicU64,
    pub received_bytes: AtomicU64,
    /// Messages that did not parse (stored or dropped as configured).
    pub parse_errors: AtomicU64,
    /// Messages lost: UDP datagrams that found the pipeline full, and
    /// unparsable messages when `on_parse_error = "drop"`.
    pub dropped: AtomicU64,
    /// TCP/TLS frames that broke the framing rules (oversized, bad count).
    pub framing_errors: AtomicU64,
    /// UDP datagrams longer than `max_message_bytes` (cut and flagged).
    pub oversized: AtomicU64,
    pub connections_accepted: AtomicU64,
    /// Connections closed at once because `max_connections` was reached.
    pub connections_refused: AtomicU64,
    pub connections_active: AtomicU64,
    pub idle_timeouts: AtomicU64,
    pub tls_handshake_failures: AtomicU64,
    /// A TLS ClientHello on a plain TCP listener.
    pub tls_on_plain_tcp: AtomicU64,
}
