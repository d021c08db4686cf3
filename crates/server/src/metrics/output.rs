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
    /// On a PostgreSQL store: 1 while this node owns the output (its lease).
    pub lease_owned: AtomicU64,
    /// On a PostgreSQL store: the generation of the lease this node holds
    /// or last held (grows at each change of owner).
    pub lease_generation: AtomicU64,
    /// On a PostgreSQL store: times this node took the output over from
    /// another node (whose lease had expired or been released).
    pub takeovers: AtomicU64,
    /// On a PostgreSQL store: events delivered that the previous owner (or
    /// this node before a restart) had already read past its cursor, so may
    /// have delivered: the duplicates of a take-over, at most.
    pub takeover_resent: AtomicU64,
}
