//! Retention: dropping whole indexed partitions, oldest first, each drop
//! recorded in the catalog with the checkpoint that anchors what is kept.

use rusqlite::{params, OptionalExtension};

use crate::archive::{archive_partition, upload};
use crate::clock::now_ns;
use crate::config::{ArchiveDestination, ArchiveFormat, RetentionPolicy};
use crate::error::{Context, Inconsistency, Result, StoreError};
use crate::partitions::PartitionInfo;
use crate::partitions::{load_partitions, PartitionState};
use crate::paths::{remove_with_suffixes, stem, with_suffix};
use crate::rows::to_i64;
use crate::shared::{lock, Shared};

/// The result of a retention pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Sealed partitions removed.
    pub partitions_dropped: u64,
    /// Events in them.
    pub events_dropped: u64,
    /// Events before this sequence number are gone.
    pub first_kept_seq: Option<u64>,
    /// Where the archives written (or found already written) and verified
    /// before their partitions were dropped are: a path, or an `sftp://` URL.
    pub archives: Vec<String>,
    /// Why this pass stopped before a partition that was due: its archive
    /// could not be written or verified (also `Store::retention_waiting`).
    pub waiting: Option<String>,
}

pub(crate) fn apply_retention(
    shared: &Shared,
    policy: &RetentionPolicy,
    max_partitions: u64,
) -> Result<RetentionReport> {
    let path = &shared.config.path;
    let mut report = RetentionReport::default();
    if policy.max_age.is_none() && policy.max_events.is_none() {
        return Ok(report);
    }
    let now = now_ns();
    let cutoff = policy
        .max_age
        .map(|age| now.saturating_sub(i64::try_from(age.as_nanos()).unwrap_or(i64::MAX)));
    while report.partitions_dropped < max_partitions {
        let Some((oldest, too_old)) = due_partition(shared, policy, cutoff)? else {
            *lock(&shared.retention_waiting) = None;
            break;
        };
        let Some(p_last) = oldest.last_seq else { break };
        // The archive is written without holding the catalog: cursors and
        // queries go on meanwhile; only this thread drops partitions.
        if let Some(dest) = &policy.archive_to {
            match archive_to(shared, &oldest, dest, policy.archive_format) {
                Ok(archive) => {
                    *lock(&shared.retention_waiting) = None;
                    report.archives.push(archive);
                }
                Err(err) => {
                    let why = format!(
                        "events {}..{} are due for retention but are kept: their archive in {dest} could not be written and verified: {err}",
                        oldest.first_seq,
                        p_last,
                    );
                    *lock(&shared.retention_waiting) = Some(why.clone());
                    report.waiting = Some(why);
                    break;
                }
            }
        }
        let mut cat = lock(&shared.cursors);
        let anchor: Option<i64> = cat
            .query_row(
                "SELECT epoch FROM checkpoints WHERE last_seq = ?1 ORDER BY epoch DESC LIMIT 1",
                [to_i64("sequence", p_last)?],
                |r| r.get(0),
            )
            .optional()
            .at(path, "find retention anchor")?;
        let Some(anchor) = anchor else {
            return Err(StoreError::Inconsistent {
                path: path.clone(),
                reason: Inconsistency::NoRetentionAnchor { last_seq: p_last },
            });
        };
        let tx = cat.transaction().at(path, "begin retention")?;
        let dropped = tx
            .execute("DELETE FROM partitions WHERE id = ?1", [oldest.id])
            .at(path, "drop partition")?;
        if dropped == 0 {
            // Another retention pass (`Store::apply_retention`) got there first.
            continue;
        }
        tx.execute(
            "INSERT INTO retention(time_ns, first_seq, last_seq, anchor_epoch, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                now,
                to_i64("sequence", oldest.first_seq)?,
                to_i64("sequence", p_last)?,
                anchor,
                if too_old { "age" } else { "count" }
            ],
        )
        .at(path, "record retention")?;
        tx.commit().at(path, "commit retention")?;
        drop(cat);
        // Readers holding the file open keep reading it until they close it.
        lock(&shared.reader).forget(oldest.id);
        remove_with_suffixes(
            &oldest.path,
            &["", "-wal", "-shm"],
            "remove dropped partition",
        )?;
        report.partitions_dropped += 1;
        report.events_dropped += oldest.rows.unwrap_or(0);
        report.first_kept_seq = Some(p_last + 1);
    }
    Ok(report)
}

/// Writes and verifies `part`'s archive at `dest`; returns where it is.
/// For SFTP the archive is written and verified in a local outbox first,
/// uploaded, read back, and only then removed from the outbox.
fn archive_to(
    shared: &Shared,
    part: &PartitionInfo,
    dest: &ArchiveDestination,
    format: ArchiveFormat,
) -> Result<String> {
    match dest {
        ArchiveDestination::Folder(dir) => {
            archive_partition(shared, part, dir, format).map(|p| p.display().to_string())
        }
        ArchiveDestination::Sftp(sftp) => {
            let outbox = with_suffix(&stem(&shared.config.path), ".archive-outbox");
            let local = archive_partition(shared, part, &outbox, format)?;
            let location = upload(sftp, &local)?;
            let _ = std::fs::remove_file(&local);
            Ok(location)
        }
    }
}

/// The oldest partition when retention is due to drop it (and whether by
/// age); `None` when nothing is due.
fn due_partition(
    shared: &Shared,
    policy: &RetentionPolicy,
    cutoff: Option<i64>,
) -> Result<Option<(PartitionInfo, bool)>> {
    let parts = load_partitions(&lock(&shared.cursors), &shared.config.path)?;
    let last = lock(&shared.writer).chain.next_seq - 1;
    let Some(oldest) = parts.first().cloned() else {
        return Ok(None);
    };
    // Only complete, indexed partitions go, and never the open one.
    if oldest.state != PartitionState::Indexed || parts.len() < 2 {
        return Ok(None);
    }
    let Some(p_last) = oldest.last_seq else {
        return Ok(None);
    };
    let too_old = match (cutoff, oldest.max_received_ns) {
        (Some(c), Some(rx)) => rx < c,
        _ => false,
    };
    let too_many = policy
        .max_events
        .is_some_and(|max| last.saturating_sub(p_last) >= max);
    Ok((too_old || too_many).then_some((oldest, too_old)))
}
