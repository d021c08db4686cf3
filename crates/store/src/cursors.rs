//! Named consumer cursors in the catalog: read, listed, advanced by
//! compare-and-set.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::clock::now_ns;
use crate::error::{Context, Result, StoreError};
use crate::rows::to_i64;

/// The position of cursor `name` (0 when it has never advanced).
pub(crate) fn read(conn: &Connection, path: &Path, name: &str) -> Result<u64> {
    let seq: Option<i64> = conn
        .query_row("SELECT seq FROM cursors WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
        .at(path, "read cursor")?;
    Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
}

/// All cursors and their positions, by name.
pub(crate) fn list(conn: &Connection, path: &Path) -> Result<Vec<(String, u64)>> {
    let mut st = conn
        .prepare("SELECT name, seq FROM cursors ORDER BY name")
        .at(path, "read cursors")?;
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .at(path, "read cursors")?;
    let mut out = Vec::new();
    for row in rows {
        let (name, seq) = row.at(path, "read cursor")?;
        out.push((name, u64::try_from(seq).unwrap_or(0)));
    }
    Ok(out)
}

/// Moves cursor `name` from `from` to `to` (at most `last`) in one
/// immediate transaction: a compare-and-set against other consumers.
pub(crate) fn advance(
    conn: &mut Connection,
    path: &Path,
    name: &str,
    from: u64,
    to: u64,
    last: u64,
) -> Result<()> {
    if to > last {
        return Err(StoreError::CursorBeyondEnd {
            name: name.to_string(),
            to,
            last,
        });
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .at(path, "begin cursor update")?;
    let found = read(&tx, path, name)?;
    if found != from {
        return Err(StoreError::CursorConflict {
            name: name.to_string(),
            expected: from,
            found,
        });
    }
    tx.execute(
        "INSERT INTO cursors(name, seq, updated_ns) VALUES (?1, ?2, ?3) \
             ON CONFLICT(name) DO UPDATE SET seq = excluded.seq, updated_ns = excluded.updated_ns",
        params![name, to_i64("cursor", to)?, now_ns()],
    )
    .at(path, "advance cursor")?;
    tx.commit().at(path, "commit cursor")
}
