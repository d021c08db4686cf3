//! Walks the chain and reports the first place where it breaks, and why.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::chain::{self, evolve, Checkpoint, KeyFile, SecretKey, VerifyKey};
use crate::checkpoint_copies;
use crate::encoding::encode_event;
use crate::error::{KeyProblem, Result, StoreError};
use crate::query::Reader;
use crate::rows::{query_time, StoredEvent};

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

struct Walk<'a> {
    store_id: [u8; 16],
    public: &'a ed25519_dalek::VerifyingKey,
    checkpoints: BTreeMap<u64, Checkpoint>,
    epoch: u64,
    key: SecretKey,
    prev: [u8; 32],
    expected: u64,
    epoch_first_seq: u64,
    report: VerifyReport,
    /// The row at which the chain failed, for classification.
    failed_row: Option<StoredEvent>,
    buf: Vec<u8>,
}

impl Walk<'_> {
    fn fail(&mut self, seq: u64, kind: BreakKind, detail: String) {
        if self.report.failure.is_none() {
            self.report.failure = Some(Break { seq, kind, detail });
        }
    }

    fn chain_of(
        &mut self,
        key: &SecretKey,
        prev: &[u8; 32],
        seq: u64,
        e: &StoredEvent,
    ) -> [u8; 32] {
        self.buf.clear();
        encode_event(e, &mut self.buf);
        chain::chain_value(key, prev, seq, e.epoch, &self.buf)
    }

    /// Closes every epoch whose checkpoint ends before `seq`.
    fn close_epochs_before(&mut self, seq: u64) -> bool {
        while let Some(c) = self.checkpoints.get(&self.epoch).cloned() {
            if c.last_seq >= seq {
                break;
            }
            let last = self.expected - 1;
            if c.last_seq > last {
                let kind = if seq == u64::MAX {
                    BreakKind::Truncated
                } else {
                    BreakKind::Deleted
                };
                let what = if seq == u64::MAX {
                    "the store ends before them"
                } else {
                    "they are missing"
                };
                self.fail(
                    self.expected,
                    kind,
                    format!(
                        "the checkpoint of epoch {} covers events up to {} but events {}..={} are gone ({what})",
                        c.epoch, c.last_seq, self.expected, c.last_seq
                    ),
                );
                return false;
            }
            if c.last_seq < last {
                self.fail(
                    c.last_seq + 1,
                    BreakKind::Checkpoint,
                    format!(
                        "the checkpoint of epoch {} ends at {} but events up to {} carry epoch {}",
                        c.epoch, c.last_seq, last, c.epoch
                    ),
                );
                return false;
            }
            if c.chain != self.prev {
                self.fail(
                    c.last_seq,
                    BreakKind::Checkpoint,
                    format!(
                        "the checkpoint of epoch {} does not match the chain at {}",
                        c.epoch, c.last_seq
                    ),
                );
                return false;
            }
            if !c.mac_ok(&self.store_id, &self.key) {
                self.fail(
                    c.last_seq,
                    BreakKind::Checkpoint,
                    format!(
                        "the checkpoint of epoch {} is not sealed with epoch {}'s key",
                        c.epoch, c.epoch
                    ),
                );
                return false;
            }
            if !c.signature_ok(&self.store_id, self.public) {
                self.fail(
                    c.last_seq,
                    BreakKind::Checkpoint,
                    format!(
                        "the signature of the checkpoint of epoch {} is invalid",
                        c.epoch
                    ),
                );
                return false;
            }
            self.report.checkpoints_verified += 1;
            self.report.sealed_through = c.last_seq;
            self.report.verified_through = Some(VerifiedThrough {
                epoch: c.epoch,
                last_seq: c.last_seq,
                chain: c.chain,
            });
            self.epoch += 1;
            self.key = evolve(&self.key, self.epoch);
            self.epoch_first_seq = c.last_seq + 1;
        }
        true
    }

    fn row(&mut self, row: StoredEvent) -> bool {
        if !self.close_epochs_before(row.seq) {
            return false;
        }
        if row.seq > self.expected {
            self.fail(
                self.expected,
                BreakKind::Deleted,
                format!("events {}..={} are missing", self.expected, row.seq - 1),
            );
            return false;
        }
        if row.seq < self.expected {
            self.fail(
                row.seq,
                BreakKind::Inserted,
                format!(
                    "event {} appears again after {} (a duplicate or misplaced row)",
                    row.seq,
                    self.expected - 1
                ),
            );
            return false;
        }
        if row.epoch != self.epoch {
            let detail = if row.epoch > self.epoch {
                format!(
                    "event {} claims epoch {} but epoch {} has no checkpoint before it: epochs cannot be skipped",
                    row.seq, row.epoch, self.epoch
                )
            } else {
                format!(
                    "event {} claims epoch {}, before the current epoch {}",
                    row.seq, row.epoch, self.epoch
                )
            };
            self.fail(row.seq, BreakKind::EpochKey, detail);
            return false;
        }
        if row.ts != query_time(&row.event) {
            self.fail(
                row.seq,
                BreakKind::Changed,
                format!("event {}: its query time column was altered", row.seq),
            );
            return false;
        }
        let key = self.key.clone();
        let prev = self.prev;
        if self.chain_of(&key, &prev, row.seq, &row) != row.chain {
            self.failed_row = Some(row);
            return false;
        }
        if self.report.first_seq.is_none() {
            self.report.first_seq = Some(row.seq);
        }
        self.report.last_seq = Some(row.seq);
        self.report.events_verified += 1;
        self.prev = row.chain;
        self.expected += 1;
        true
    }

    /// Works out why `r` failed, from the rows around it.
    fn classify(&mut self, r: &StoredEvent, window: &[StoredEvent]) {
        let s = r.seq;
        let key = self.key.clone();
        let next = window.iter().find(|w| w.seq == s + 1).cloned();
        if let Some(n) = &next {
            if self.chain_of(&key, &r.chain, s + 1, n) == n.chain {
                return self.fail(
                    s,
                    BreakKind::Changed,
                    format!("event {s} was altered after it was sealed (the next event still links to its original seal)"),
                );
            }
            if self.chain_of(&key, &r.chain, s + 2, n) == n.chain {
                return self.fail(
                    s,
                    BreakKind::Deleted,
                    format!("event {s} was deleted and the events after it renumbered (seq {s} holds the event sealed as {})", s + 1),
                );
            }
        }
        let mut prevs = vec![self.prev];
        prevs.extend(window.iter().map(|w| w.chain));
        for w in window {
            for p in &prevs {
                if w.seq != s && self.chain_of(&key, p, w.seq, r) == r.chain {
                    return self.fail(
                        s,
                        BreakKind::Reordered,
                        format!(
                            "event {s} holds the event sealed as {}: events were reordered",
                            w.seq
                        ),
                    );
                }
            }
        }
        if let Some(n) = &next {
            let prev = self.prev;
            if self.chain_of(&key, &prev, s, n) == n.chain {
                return self.fail(
                    s,
                    BreakKind::Inserted,
                    format!("event {s} is not part of the chain: it was inserted, and the event sealed as {s} is now at {}", s + 1),
                );
            }
        }
        if s == self.epoch_first_seq {
            if let Some(n) = &next {
                if n.epoch == self.epoch && self.chain_of(&key, &r.chain, s + 1, n) != n.chain {
                    let detail = if self.epoch == 0 {
                        "the seals of epoch 0 do not verify under the verify key (wrong key, or the store was resealed)".to_string()
                    } else {
                        format!(
                            "the seals of epoch {} do not verify under the key that follows from epoch {}",
                            self.epoch,
                            self.epoch - 1
                        )
                    };
                    return self.fail(s, BreakKind::EpochKey, detail);
                }
            }
        }
        let detail = if next.is_none() {
            format!(
                "the last event {s} does not match its seal (altered, or appended without the key)"
            )
        } else {
            format!("event {s} does not match its seal (content or seal altered)")
        };
        self.fail(s, BreakKind::Changed, detail)
    }
}

/// Verifies the store at `path` with the exported verify key. When
/// `live_key` names the store's key file, its epoch is checked too: it
/// must follow from the verify key and must not be ahead of the chain.
pub fn verify(
    path: &Path,
    verify_key: &VerifyKey,
    live_key: Option<&Path>,
) -> Result<VerifyReport> {
    verify_after(path, verify_key, live_key, None)
}

/// [`verify`], but when `after` is given, the chain is walked only after
/// that checkpoint (which an earlier walk verified): the checkpoint must
/// still be in the store, unchanged, and the walk continues from its chain
/// value with the next epoch's key. The checkpoint copies and the live key
/// are checked in full either way. A checkpoint that retention has since
/// passed is ignored (the walk starts at the retention anchor).
pub fn verify_after(
    path: &Path,
    verify_key: &VerifyKey,
    live_key: Option<&Path>,
    after: Option<&VerifiedThrough>,
) -> Result<VerifyReport> {
    let mut reader = Reader::open(path)?;
    let store_id = reader.store_id()?;
    if store_id != verify_key.store_id {
        return Err(StoreError::Key {
            path: path.to_path_buf(),
            reason: KeyProblem::VerifyKeyForOtherStore {
                key_store: verify_key.store_id,
                store: store_id,
            },
        });
    }
    let mut walk = Walk {
        store_id,
        public: &verify_key.public_key,
        checkpoints: BTreeMap::new(),
        epoch: 0,
        key: verify_key.epoch0_key.clone(),
        prev: chain::genesis(&store_id),
        expected: 1,
        epoch_first_seq: 1,
        report: VerifyReport::default(),
        failed_row: None,
        buf: Vec::with_capacity(4096),
    };
    if reader.public_key()? != Some(verify_key.public_key.to_bytes()) {
        walk.fail(
            0,
            BreakKind::Checkpoint,
            "the store's checkpoint signing key is not the one in the verify key".into(),
        );
    }
    let catalog = reader.catalog_checkpoints()?;
    let in_parts = reader.partition_checkpoints()?;
    let parts = reader.partitions()?;
    let copies = checkpoint_copies::compare(&store_id, verify_key, &catalog, &parts, &in_parts);
    for problem in copies.problems {
        walk.fail(problem.seq, BreakKind::Checkpoint, problem.detail);
    }
    walk.report.checkpoints_not_in_catalog_yet = copies.not_in_catalog_yet;
    for c in catalog {
        walk.checkpoints.insert(c.epoch, c);
    }
    for (_, c) in in_parts {
        walk.checkpoints.entry(c.epoch).or_insert(c);
    }
    // Retention: the first kept event must follow a checkpoint, whose MAC
    // (under a key derived from the verify key) anchors the rest.
    let first = parts.first().map_or(1, |p| p.first_seq);
    if first > 1 && walk.report.failure.is_none() {
        let anchor = walk
            .checkpoints
            .values()
            .find(|c| c.last_seq + 1 == first)
            .cloned();
        let covered = reader
            .retention_log()?
            .iter()
            .filter(|r| r.last_seq < first)
            .map(|r| r.last_seq)
            .max()
            == Some(first - 1);
        match anchor {
            Some(a) if covered => {
                let key = chain::derive(&verify_key.epoch0_key, 0, a.epoch);
                if !a.mac_ok(&store_id, &key) || !a.signature_ok(&store_id, &verify_key.public_key)
                {
                    walk.fail(
                        first,
                        BreakKind::Checkpoint,
                        format!(
                            "the retention anchor (checkpoint of epoch {}) does not verify",
                            a.epoch
                        ),
                    );
                } else {
                    walk.report.removed_by_retention = Some((1, first - 1));
                    walk.epoch = a.epoch + 1;
                    walk.key = evolve(&key, walk.epoch);
                    walk.prev = a.chain;
                    walk.expected = first;
                    walk.epoch_first_seq = first;
                    walk.report.sealed_through = a.last_seq;
                    walk.checkpoints.retain(|e, _| *e > a.epoch);
                }
            }
            _ => walk.fail(
                1,
                BreakKind::Truncated,
                format!(
                    "events 1..={} are missing and no retention record accounts for them",
                    first - 1
                ),
            ),
        }
    }
    let mut scan_from = 0;
    if let Some(a) = after.filter(|a| a.last_seq >= walk.expected && walk.report.failure.is_none())
    {
        if walk
            .checkpoints
            .get(&a.epoch)
            .map(|c| (c.last_seq, c.chain))
            == Some((a.last_seq, a.chain))
        {
            walk.epoch = a.epoch + 1;
            walk.key = chain::derive(&verify_key.epoch0_key, 0, walk.epoch);
            walk.prev = a.chain;
            walk.expected = a.last_seq + 1;
            walk.epoch_first_seq = a.last_seq + 1;
            walk.report.sealed_through = a.last_seq;
            walk.report.verified_through = Some(*a);
            walk.checkpoints.retain(|e, _| *e > a.epoch);
            scan_from = a.last_seq + 1;
        } else {
            walk.fail(
                a.last_seq,
                BreakKind::Checkpoint,
                format!(
                    "the checkpoint of epoch {} (events up to {}), verified by an earlier walk, is gone or was changed",
                    a.epoch, a.last_seq
                ),
            );
        }
    }
    if walk.report.failure.is_none() {
        reader.scan(scan_from, u64::MAX, |row| Ok(walk.row(row)))?;
    }
    if let Some(r) = walk.failed_row.take() {
        let mut window = Vec::new();
        reader.scan(r.seq.saturating_sub(16), r.seq + 16, |w| {
            window.push(w);
            Ok(true)
        })?;
        walk.classify(&r, &window);
    }
    if walk.report.failure.is_none() {
        // Checkpoints of epochs that ended with no new event.
        walk.close_epochs_before(u64::MAX);
    }
    if walk.report.failure.is_none() {
        let end = walk.expected - 1;
        if let Some(c) = walk
            .checkpoints
            .range(walk.epoch..)
            .next()
            .map(|(_, c)| c.clone())
        {
            let (kind, detail) = if c.epoch == walk.epoch && c.last_seq > end {
                (
                    BreakKind::Truncated,
                    format!(
                        "the checkpoint of epoch {} covers events up to {} but the store ends at {end}",
                        c.epoch, c.last_seq
                    ),
                )
            } else {
                (
                    BreakKind::Checkpoint,
                    format!(
                        "epoch {} has no checkpoint, but epoch {} has one",
                        walk.epoch, c.epoch
                    ),
                )
            };
            walk.fail(end + 1, kind, detail);
        }
    }
    if let Some(key_path) = live_key {
        let (_, state) = KeyFile::open_read_only(key_path)?;
        walk.report.live_key_epoch = Some(state.epoch);
        let derived = chain::derive(&verify_key.epoch0_key, 0, state.epoch);
        if derived.bytes() != state.chain_key.bytes() {
            walk.fail(
                walk.expected,
                BreakKind::EpochKey,
                format!(
                    "the live key file {} (epoch {}) does not follow from the verify key",
                    key_path.display(),
                    state.epoch
                ),
            );
        } else if state.epoch > walk.epoch && walk.report.failure.is_none() {
            walk.fail(
                walk.expected,
                BreakKind::Truncated,
                format!(
                    "the live key is at epoch {} but the store's checkpoints end with epoch {}: \
                     events and checkpoints after {} were removed",
                    state.epoch,
                    i128::from(walk.epoch) - 1,
                    walk.expected - 1
                ),
            );
        }
    }
    let end = walk.expected - 1;
    if end > walk.report.sealed_through {
        walk.report.unsealed = Some((walk.report.sealed_through + 1, end));
    }
    walk.report.epoch = walk.epoch;
    Ok(walk.report)
}
