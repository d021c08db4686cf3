//! What a walk along a chain found: the report and the first break
//! (shared by the embedded store's verify and `ChainWalk`).

use std::fmt;

/// What kind of damage verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// An event's content no longer matches its seal.
    Changed,
    /// Events are missing from the middle of the chain.
    Deleted,
    /// An event sits at another sequence number than the one it was sealed at.
    Reordered,
    /// An event that is not part of the chain was put into it.
    Inserted,
    /// Events are missing at the end (a checkpoint or the live key says so).
    Truncated,
    /// An epoch is skipped, or its seals do not verify under the key that
    /// follows from the previous epoch.
    EpochKey,
    /// A checkpoint is missing, altered, or disagrees with the chain.
    Checkpoint,
}

impl fmt::Display for BreakKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakKind::Changed => "changed",
            BreakKind::Deleted => "deleted",
            BreakKind::Reordered => "reordered",
            BreakKind::Inserted => "inserted",
            BreakKind::Truncated => "truncated",
            BreakKind::EpochKey => "epoch key",
            BreakKind::Checkpoint => "checkpoint",
        })
    }
}

/// The first break found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The sequence number where the chain breaks.
    pub seq: u64,
    /// What kind of break it is.
    pub kind: BreakKind,
    /// What was found, for the report.
    pub detail: String,
}

/// What verification established.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events whose chain values were recomputed and matched.
    pub events_verified: u64,
    /// Checkpoints whose MAC and signature were checked.
    pub checkpoints_verified: u64,
    /// First and last sequence number examined.
    pub first_seq: Option<u64>,
    /// See `first_seq`.
    pub last_seq: Option<u64>,
    /// The last sequence number covered by a verified checkpoint.
    pub sealed_through: u64,
    /// The epoch the walk ended in.
    pub epoch: u64,
    /// Events removed by retention (recorded in the catalog).
    pub removed_by_retention: Option<(u64, u64)>,
    /// Chained events after the last checkpoint: their seals rest on the
    /// current key, which whoever holds the machine also holds.
    pub unsealed: Option<(u64, u64)>,
    /// The epoch of the live key file, when it was read.
    pub live_key_epoch: Option<u64>,
    /// Epochs whose checkpoint is in its partition but not yet copied to
    /// the catalog, all newer than the catalog's newest (a crash between the
    /// two commits, or a verify between them; the next start copies them).
    /// A copy missing from the catalog before its newest is a failure.
    pub checkpoints_not_in_catalog_yet: Vec<u64>,
    /// The newest checkpoint this walk verified (MAC, signature, chain):
    /// where the next incremental walk ([`verify_after`]) may start.
    pub verified_through: Option<VerifiedThrough>,
    /// The first break, if any.
    pub failure: Option<Break>,
}

/// A checkpoint an earlier walk verified: an incremental walk starts after
/// it, with the key of the next epoch and its chain value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedThrough {
    /// The checkpoint's epoch.
    pub epoch: u64,
    /// The last sequence number it covers.
    pub last_seq: u64,
    /// The chain value at `last_seq`.
    pub chain: [u8; 32],
}

impl VerifyReport {
    /// Whether the walk found no break.
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}
