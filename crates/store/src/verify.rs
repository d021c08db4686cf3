//! Walks the chain and reports the first place where it breaks, and why.

use std::path::Path;

use crate::chain::{self, KeyFile, VerifyKey};
use crate::chain_walk::ChainWalk;
use crate::checkpoint_copies;
use crate::error::{KeyProblem, Result, StoreError};
use crate::query::Reader;
use crate::verify_report::{BreakKind, VerifiedThrough, VerifyReport};

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
    let mut walk = ChainWalk::new(verify_key);
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
        let covered = reader
            .retention_log()?
            .iter()
            .filter(|r| r.last_seq < first)
            .map(|r| r.last_seq)
            .max()
            == Some(first - 1);
        walk.start_after_retention(first, covered);
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
    walk.check_end();
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
    Ok(walk.into_report())
}
