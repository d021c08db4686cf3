//! Counters of one output, a store consumer (`netaudit_forwarded_total`,
//! `netaudit_output_*`).

use std::sync::atomic::AtomicU64;

/// Counters of one output (store consumer), updated by the forwarders.
#[derive(Debug, Default)]
pub(crate) struct OutputMetrics {
    pub forwarded: AtomicU64,
    /// Events the output's filters skipped.
    pub filtered: AtomicU64,
    pub errors: AtomicU64,
    /// The last store sequence number the output has delivered.
    pub delivered_seq: AtomicU64,
    /// Events sent again after a connection broke before they were
    /// confirmed (the receiver may see them twice).
    pub resent: AtomicU64,
    /// Connections established (the first one and every reconnection).
    pub connects: AtomicU64,
    /// 1 while a syslog output holds a connection.
    pub connected: AtomicU64,
    /// Audit file writes refused because the audit storage was full.
    pub full: AtomicU64,
    /// Audit file archives deleted by `on_full = "overwrite-oldest"`.
    pub archives_removed: AtomicU64,
}
