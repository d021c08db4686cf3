//! The check `serve` runs before it opens the store: what is cheap and
//! decisive. Each partition's sequence range and last chain value against
//! the catalog and the checkpoints, SQLite's quick check on the open
//! partition, and the open partition's (and the catalog's) WAL against its
//! `-shm` index, which says how many frames the WAL held when the writer
//! stopped: a deleted or truncated `-wal` loses commits that nothing else
//! would notice. It must run before SQLite opens those files (opening
//! rebuilds the index from what is left). `verify` is the full check.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::chain::Checkpoint;
use crate::checkpoint_copies::partition_name;
use crate::config::StoreConfig;
use crate::error::Result;
use crate::partitions::{load_partitions, PartitionInfo, PartitionState};
use crate::paths::{partitions_dir, with_suffix};
use crate::sqlite::open_read_only;

/// One break found at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The file name of the partition (or `netaudit.db` for the catalog).
    pub partition: String,
    /// The sequence numbers concerned, when known.
    pub seqs: Option<(u64, u64)>,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seqs {
            Some((a, b)) if a == b => {
                write!(f, "partition {}, event {a}: {}", self.partition, self.what)
            }
            Some((a, b)) => write!(
                f,
                "partition {}, events {a}..{b}: {}",
                self.partition, self.what
            ),
            None => write!(f, "partition {}: {}", self.partition, self.what),
        }
    }
}

/// Checks the store at `config.path` (nothing when it does not exist yet).
/// `Err` only when a file cannot be read at all; what is found is returned.
pub fn check_store(config: &StoreConfig) -> Result<Vec<Damage>> {
    let path = &config.path;
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    // First the WALs, before any SQLite connection touches their index.
    let catalog_name = partition_name(path);
    if let Some(what) = wal_loss(path) {
        out.push(Damage {
            partition: catalog_name.clone(),
            seqs: None,
            what,
        });
    }
    let newest = newest_partition_file(&partitions_dir(path));
    if let Some(file) = &newest {
        if let Some(what) = wal_loss(file) {
            out.push(Damage {
                partition: partition_name(file),
                seqs: None,
                what,
            });
        }
    }
    let catalog = open_read_only(path)?;
    let parts = load_partitions(&catalog, path)?;
    let checkpoints: BTreeMap<u64, Checkpoint> = Checkpoint::load_all(&catalog, path)?
        .into_iter()
        .map(|c| (c.epoch, c))
        .collect();
    drop(catalog);
    // The chain value each checkpoint's last event must carry.
    let sealed_at: BTreeMap<u64, [u8; 32]> = checkpoints
        .values()
        .map(|c| (c.last_seq, c.chain))
        .collect();
    let newest_ckpt = checkpoints.values().next_back();
    for (i, part) in parts.iter().enumerate() {
        let next_first = parts.get(i + 1).map(|n| n.first_seq);
        check_partition(part, next_first, &sealed_at, newest_ckpt, &mut out);
    }
    Ok(out)
}

fn check_partition(
    part: &PartitionInfo,
    next_first: Option<u64>,
    sealed_at: &BTreeMap<u64, [u8; 32]>,
    newest_ckpt: Option<&Checkpoint>,
    out: &mut Vec<Damage>,
) {
    let name = partition_name(&part.path);
    let mut damage = |seqs: Option<(u64, u64)>, what: String| {
        out.push(Damage {
            partition: name.clone(),
            seqs,
            what,
        })
    };
    let open = part.state == PartitionState::Open;
    if !part.path.exists() {
        if !open {
            damage(
                part.last_seq.map(|l| (part.first_seq, l)),
                "the partition file is missing".into(),
            );
        }
        return;
    }
    let conn = match open_read_only(&part.path) {
        Ok(conn) => conn,
        Err(e) => return damage(None, format!("cannot be opened: {e}")),
    };
    if open {
        match conn.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0)) {
            Ok(s) if s == "ok" => {}
            Ok(s) => damage(None, format!("SQLite quick_check: {s}")),
            Err(e) => return damage(None, format!("SQLite quick_check failed: {e}")),
        }
    }
    let range = conn
        .query_row("SELECT min(seq), max(seq) FROM events", [], |r| {
            Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
        })
        .map(|(a, b)| (a.map(|a| a as u64), b.map(|b| b as u64)));
    let (min, max) = match range {
        Ok(r) => r,
        Err(e) => return damage(None, format!("cannot read its events: {e}")),
    };
    if let Some(min) = min {
        if min != part.first_seq {
            damage(
                Some((part.first_seq, min.max(part.first_seq + 1) - 1)),
                format!(
                    "the catalog says it starts at {}, its first event is {min}",
                    part.first_seq
                ),
            );
        }
    }
    // Where the partition must end: the catalog's last_seq for a sealed
    // one; for the open one, at least the newest checkpoint's end.
    let must_end = if open {
        newest_ckpt
            .map(|c| c.last_seq)
            .filter(|&l| l >= part.first_seq)
    } else {
        part.last_seq
    };
    let end = max.unwrap_or(part.first_seq.saturating_sub(1));
    if let Some(must) = must_end {
        if end < must {
            let what = if open {
                "the newest checkpoint covers them but the open partition ends before them (lost commits: a deleted or truncated -wal, or removed rows)"
            } else {
                "the catalog lists them in this sealed partition but they are gone"
            };
            damage(Some((end + 1, must)), what.into());
        } else if !open && end > must {
            damage(
                Some((must + 1, end)),
                "these events are in the sealed partition past the end the catalog records".into(),
            );
        }
    }
    if let (false, Some(next)) = (open, next_first) {
        if part.last_seq.is_some_and(|l| l + 1 != next) {
            damage(
                None,
                format!("the next partition starts at {next}, not right after this one"),
            );
        }
    }
    // The last chain value: a sealed partition ends with a checkpoint of
    // its last event; the open one holds the newest checkpoint's event.
    let sealed_seq = if open { must_end } else { part.last_seq };
    if let Some(seq) = sealed_seq.filter(|&s| s <= end && s >= part.first_seq) {
        let Some(expected) = sealed_at.get(&seq) else {
            if !open {
                damage(
                    Some((seq, seq)),
                    "no checkpoint in the catalog ends at the partition's last event".into(),
                );
            }
            return;
        };
        match last_chain(&conn, seq) {
            Ok(Some(chain)) if &chain == expected => {}
            Ok(_) => damage(
                Some((seq, seq)),
                "its chain value is not the one the checkpoint sealed".into(),
            ),
            Err(e) => damage(Some((seq, seq)), format!("cannot read it: {e}")),
        }
    }
}

fn last_chain(conn: &Connection, seq: u64) -> rusqlite::Result<Option<[u8; 32]>> {
    conn.query_row(
        "SELECT chain FROM events WHERE seq = ?1",
        [seq as i64],
        |r| r.get::<_, Vec<u8>>(0),
    )
    .optional()
    .map(|v| v.and_then(|v| v.try_into().ok()))
}

/// The partition file with the highest first sequence number.
fn newest_partition_file(dir: &Path) -> Option<std::path::PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "db")
                && p.file_stem()
                    .and_then(|s| s.to_str())
                    .is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
        })
        .max()
}

/// Whether `db`'s `-shm` index says its WAL held frames not yet copied
/// into the database that the `-wal` no longer has (deleted or cut short).
fn wal_loss(db: &Path) -> Option<String> {
    let shm = std::fs::read(with_suffix(db, "-shm")).ok()?;
    let header = WalIndexHeader::parse(&shm)?;
    if header.max_frame <= header.backfilled {
        return None; // everything is in the database file already
    }
    let frame = 24 + u64::from(header.page_size);
    let needed = 32 + u64::from(header.max_frame) * frame;
    let wal = with_suffix(db, "-wal");
    match std::fs::metadata(&wal) {
        Err(_) => Some(format!(
            "its -wal is missing, but its -shm index says it held {} frame(s) of commits not yet in the database file",
            header.max_frame - header.backfilled
        )),
        Ok(m) if m.len() < needed => Some(format!(
            "its -wal is {} bytes, but its -shm index says it held {} frames ({needed} bytes): commits were cut off",
            m.len(),
            header.max_frame
        )),
        Ok(_) => None,
    }
}

/// The part of SQLite's wal-index header (the first 136 bytes of `-shm`,
/// native byte order, two copies of the 48-byte header then the
/// checkpoint info) that this check needs.
struct WalIndexHeader {
    page_size: u32,
    max_frame: u32,
    backfilled: u32,
}

impl WalIndexHeader {
    fn parse(shm: &[u8]) -> Option<WalIndexHeader> {
        let u32_at = |at: usize| -> Option<u32> {
            Some(u32::from_ne_bytes(shm.get(at..at + 4)?.try_into().ok()?))
        };
        let first = shm.get(0..48)?;
        // The two copies agree when the writer stopped between updates.
        if first != shm.get(48..96)? || shm.get(12) != Some(&1) {
            return None;
        }
        let raw_page = u16::from_ne_bytes(shm.get(14..16)?.try_into().ok()?);
        let page_size = if raw_page == 1 {
            65_536
        } else {
            u32::from(raw_page)
        };
        Some(WalIndexHeader {
            page_size,
            max_frame: u32_at(16)?,
            backfilled: u32_at(96)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::WalIndexHeader;

    #[test]
    fn a_short_or_unfinished_index_is_not_read() {
        assert!(WalIndexHeader::parse(&[0u8; 20]).is_none());
        assert!(WalIndexHeader::parse(&[0u8; 200]).is_none()); // isInit = 0
    }
}
