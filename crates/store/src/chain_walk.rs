//! One walk along one chain, event by event, against a verify key: the
//! rules shared by every store that keeps a chain (the embedded store's
//! `verify`, and a PostgreSQL node's chain in netaudit-pgstore). Where the
//! rows come from, retention anchors and live keys are the caller's.

use std::collections::BTreeMap;

use crate::chain::{self, evolve, Checkpoint, SecretKey, VerifyKey};
use crate::encoding::encode_event;
use crate::rows::{query_time, StoredEvent};
use crate::verify_report::{Break, BreakKind, VerifiedThrough, VerifyReport};

/// The state of a walk along one chain (docs/store.md, "The chain"): feed
/// it the checkpoints, then every row in sequence order, then call
/// [`ChainWalk::check_end`] and [`ChainWalk::into_report`].
pub struct ChainWalk {
    pub(crate) store_id: [u8; 16],
    pub(crate) public: ed25519_dalek::VerifyingKey,
    pub(crate) checkpoints: BTreeMap<u64, Checkpoint>,
    pub(crate) epoch: u64,
    pub(crate) key: SecretKey,
    pub(crate) prev: [u8; 32],
    pub(crate) expected: u64,
    pub(crate) epoch_first_seq: u64,
    pub(crate) report: VerifyReport,
    /// The row at which the chain failed, for classification.
    pub(crate) failed_row: Option<StoredEvent>,
    pub(crate) buf: Vec<u8>,
}

impl ChainWalk {
    /// A walk from the genesis of the chain the verify key names, at epoch 0.
    pub fn new(verify_key: &VerifyKey) -> ChainWalk {
        ChainWalk {
            store_id: verify_key.store_id,
            public: verify_key.public_key,
            checkpoints: BTreeMap::new(),
            epoch: 0,
            key: verify_key.epoch0_key.clone(),
            prev: chain::genesis(&verify_key.store_id),
            expected: 1,
            epoch_first_seq: 1,
            report: VerifyReport::default(),
            failed_row: None,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Adds a checkpoint the chain must meet (the first one given for an
    /// epoch is kept).
    pub fn add_checkpoint(&mut self, c: Checkpoint) {
        self.checkpoints.entry(c.epoch).or_insert(c);
    }

    /// Starts the walk at `first`, the first kept event of a chain whose
    /// events `1..first` retention removed, after the checkpoints are
    /// added: the checkpoint ending at `first - 1` (the retention anchor,
    /// its MAC under the key derived from the verify key and its signature)
    /// anchors the rest, and `retention_covers` says whether a retention
    /// record accounts for the removed events. Without both, the walk fails
    /// (`Truncated` at 1, or `Checkpoint` at `first`). Nothing to do when
    /// `first` is 1 or a break was already found.
    pub fn start_after_retention(&mut self, first: u64, retention_covers: bool) {
        if first <= 1 || self.report.failure.is_some() {
            return;
        }
        let anchor = self
            .checkpoints
            .values()
            .find(|c| c.last_seq + 1 == first)
            .cloned();
        match anchor {
            Some(a) if retention_covers => {
                let key = chain::derive(&self.key, self.epoch, a.epoch);
                if !a.mac_ok(&self.store_id, &key) || !a.signature_ok(&self.store_id, &self.public)
                {
                    self.fail(
                        first,
                        BreakKind::Checkpoint,
                        format!(
                            "the retention anchor (checkpoint of epoch {}) does not verify",
                            a.epoch
                        ),
                    );
                } else {
                    self.report.removed_by_retention = Some((1, first - 1));
                    self.epoch = a.epoch + 1;
                    self.key = evolve(&key, self.epoch);
                    self.prev = a.chain;
                    self.expected = first;
                    self.epoch_first_seq = first;
                    self.report.sealed_through = a.last_seq;
                    self.checkpoints.retain(|e, _| *e > a.epoch);
                }
            }
            _ => self.fail(
                1,
                BreakKind::Truncated,
                format!(
                    "events 1..={} are missing and no retention record accounts for them",
                    first - 1
                ),
            ),
        }
    }

    /// Records a break found outside the walk (the first one is kept).
    pub fn fail_at(&mut self, seq: u64, kind: BreakKind, detail: String) {
        self.fail(seq, kind, detail);
    }

    /// Whether a break has been found.
    pub fn failed(&self) -> bool {
        self.report.failure.is_some()
    }

    /// The row [`ChainWalk::row`] stopped at, once, for [`ChainWalk::classify`].
    pub fn take_failed_row(&mut self) -> Option<StoredEvent> {
        self.failed_row.take()
    }

    /// After the last row: the checkpoints of epochs that ended with no new
    /// event, and a checkpoint beyond the end (truncation).
    pub fn check_end(&mut self) {
        if self.report.failure.is_none() {
            // Checkpoints of epochs that ended with no new event.
            self.close_epochs_before(u64::MAX);
        }
        if self.report.failure.is_none() {
            let end = self.expected - 1;
            if let Some(c) = self
                .checkpoints
                .range(self.epoch..)
                .next()
                .map(|(_, c)| c.clone())
            {
                let (kind, detail) = if c.epoch == self.epoch && c.last_seq > end {
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
                            self.epoch, c.epoch
                        ),
                    )
                };
                self.fail(end + 1, kind, detail);
            }
        }
    }

    /// The report: what was verified, the unsealed tail, the first break.
    pub fn into_report(mut self) -> VerifyReport {
        let end = self.expected - 1;
        if end > self.report.sealed_through {
            self.report.unsealed = Some((self.report.sealed_through + 1, end));
        }
        self.report.epoch = self.epoch;
        self.report
    }

    pub(crate) fn fail(&mut self, seq: u64, kind: BreakKind, detail: String) {
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
    pub(crate) fn close_epochs_before(&mut self, seq: u64) -> bool {
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
            if !c.signature_ok(&self.store_id, &self.public) {
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

    /// Walks one row, in sequence order; `false` when the chain breaks at it
    /// (then [`ChainWalk::take_failed_row`] and [`ChainWalk::classify`] say why).
    pub fn row(&mut self, row: StoredEvent) -> bool {
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
    /// Works out why the failed row broke, from the rows around it (`window`:
    /// up to 16 rows either side), and records the break.
    pub fn classify(&mut self, r: &StoredEvent, window: &[StoredEvent]) {
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
