//! The two copies of every checkpoint: one in the partition it closes (in
//! the transaction of the epoch's last events), one in the catalog. Verify
//! compares them; a missing or differing copy is a break that names the
//! partition, the epoch and which copy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::chain::{self, Checkpoint, VerifyKey};
use crate::partitions::{PartitionInfo, PartitionState};

/// One missing or differing copy: where the break is reported, and why.
pub(crate) struct CopyProblem {
    pub(crate) seq: u64,
    pub(crate) detail: String,
}

/// What the comparison found.
#[derive(Default)]
pub(crate) struct Copies {
    pub(crate) problems: Vec<CopyProblem>,
    /// Epochs whose checkpoint is in a partition and newer than every
    /// checkpoint of the catalog: committed to the partition, not yet
    /// copied to the catalog (a crash between the two commits, or a verify
    /// running between them); the next start copies them.
    pub(crate) not_in_catalog_yet: Vec<u64>,
}

/// The partition's file name, as verify names a partition (never the path:
/// the report may go to an API client).
pub(crate) fn partition_name(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string())
}

/// Compares the catalog's checkpoints with the partitions' ones.
pub(crate) fn compare(
    store_id: &[u8; 16],
    verify_key: &VerifyKey,
    catalog: &[Checkpoint],
    parts: &[PartitionInfo],
    in_parts: &[(PathBuf, Checkpoint)],
) -> Copies {
    let mut out = Copies::default();
    let by_epoch: BTreeMap<u64, &Checkpoint> = catalog.iter().map(|c| (c.epoch, c)).collect();
    let newest_in_catalog = by_epoch.keys().next_back().copied();
    let authentic = |c: &Checkpoint| {
        c.signature_ok(store_id, &verify_key.public_key)
            && c.mac_ok(store_id, &chain::derive(&verify_key.epoch0_key, 0, c.epoch))
    };
    for (file, c) in in_parts {
        let part = partition_name(file);
        match by_epoch.get(&c.epoch) {
            Some(k) if *k != c => {
                let which = match (authentic(c), authentic(k)) {
                    (false, true) => "the partition's copy was altered (it does not verify; the catalog's does)".to_string(),
                    (true, false) => "the catalog's copy was altered (it does not verify; the partition's does)".to_string(),
                    (false, false) => "neither copy verifies".to_string(),
                    (true, true) => "both copies verify".to_string(),
                };
                out.problems.push(CopyProblem {
                    seq: c.last_seq,
                    detail: format!(
                        "the checkpoint of epoch {} in partition {part} differs from the catalog's copy: {which}",
                        c.epoch
                    ),
                });
            }
            Some(_) => {}
            None if newest_in_catalog.is_none_or(|n| c.epoch > n) => {
                out.not_in_catalog_yet.push(c.epoch);
            }
            None => out.problems.push(CopyProblem {
                seq: c.last_seq,
                detail: format!(
                    "the catalog's copy of the checkpoint of epoch {} is missing (the copy in partition {part} is there)",
                    c.epoch
                ),
            }),
        }
    }
    let in_a_partition: BTreeSet<u64> = in_parts.iter().map(|(_, c)| c.epoch).collect();
    let first_kept = parts.first().map_or(1, |p| p.first_seq);
    for c in catalog {
        if in_a_partition.contains(&c.epoch) || c.last_seq < first_kept {
            // Present, or its partition was dropped by retention (the
            // catalog keeps the checkpoint as the anchor).
            continue;
        }
        let empty_epoch = match c.epoch.checked_sub(1) {
            Some(prev) => by_epoch
                .get(&prev)
                .is_some_and(|p| p.last_seq == c.last_seq),
            None => c.last_seq + 1 == first_kept,
        };
        if let Some(part) = holder(parts, c.last_seq, empty_epoch) {
            out.problems.push(CopyProblem {
                seq: c.last_seq,
                detail: format!(
                    "the checkpoint of epoch {} (events up to {}) is missing from partition {}; \
                     the catalog's copy is there",
                    c.epoch,
                    c.last_seq,
                    partition_name(&part.path)
                ),
            });
        }
    }
    out
}

/// The partition that must hold the checkpoint ending at `last_seq`: the one
/// holding its epoch's events; for an epoch without events, the one that
/// was open then (holding `last_seq` or starting right after it). `None`
/// when that partition's file was never made (an open partition a crash
/// kept from being created holds nothing).
fn holder(parts: &[PartitionInfo], last_seq: u64, empty_epoch: bool) -> Option<&PartitionInfo> {
    let contains = |i: usize| {
        let p = &parts[i];
        let end = parts.get(i + 1).map_or(u64::MAX, |n| n.first_seq - 1);
        p.first_seq <= last_seq && last_seq <= end
    };
    let mut found = (0..parts.len()).find(|&i| contains(i)).map(|i| &parts[i]);
    if empty_epoch {
        // Either place will do; if it is in neither, name the later one.
        if let Some(next) = parts.iter().find(|p| p.first_seq == last_seq + 1) {
            found = Some(next);
        }
    }
    found.filter(|p| p.state != PartitionState::Open || p.path.exists())
}
