//! Event summaries: the few columns that counts over time are made of
//! (query time, received time, severity, code, host, device, client
//! address), read from one partition without decoding whole events (no
//! raw bytes, no parameters), for callers that keep counts per partition
//! and read each partition's events once.

use rusqlite::types::ValueRef;

use crate::error::{Context, EventProblem, Inconsistency, Result, StoreError};
use crate::partitions::{PartitionInfo, PartitionState};
use crate::query::Reader;
use crate::rows::to_i64;

/// One event's summary, borrowed from the row being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSummary<'a> {
    /// Its sequence number.
    pub seq: u64,
    /// The query time: the event time, or the received time when unknown.
    pub ts: i64,
    /// When netaudit received it (Unix ns, UTC).
    pub received_ns: i64,
    /// The RFC 5424 severity code (0..=7), when it has one.
    pub severity: Option<u8>,
    /// The event code or tag.
    pub code: Option<&'a str>,
    /// The sending host.
    pub host: Option<&'a str>,
    /// The device it is about.
    pub device: Option<&'a str>,
    /// The client address it names.
    pub client_addr: Option<&'a str>,
}

const SUMMARY_SQL: &str = "SELECT seq, ts, received_ns, severity, code, host, device, client_addr \
     FROM events WHERE seq > ?1 AND seq <= ?2 AND ts >= ?3 ORDER BY seq";

impl Reader {
    /// Calls `f` with the summary of every event of partition `part` whose
    /// sequence number is above `after_seq` and whose query time is at or
    /// after `since_ns`, in sequence order. Returns the sequence number it
    /// read through (the partition's last event when it is sealed; the
    /// last committed one when it is open), so that the next call with
    /// that as `after_seq` reads only what arrived since; `after_seq`
    /// itself when the partition has no file yet (an open partition a
    /// crash kept from being created) or was dropped by retention
    /// meanwhile.
    pub fn summaries(
        &mut self,
        part: &PartitionInfo,
        after_seq: u64,
        since_ns: i64,
        mut f: impl FnMut(&EventSummary<'_>),
    ) -> Result<u64> {
        let path = part.path.clone();
        let conn = match self.connection(part) {
            Ok(Some(conn)) => conn,
            Ok(None) => return Ok(after_seq),
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(after_seq)
            }
            Err(e) => return Err(e),
        };
        // An open partition grows while it is read: the bound is read
        // first, so that everything up to it is read and nothing after it.
        let through = match (part.state, part.last_seq) {
            (PartitionState::Sealed | PartitionState::Indexed, Some(last)) => last,
            _ => {
                let max: Option<i64> = conn
                    .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
                    .at(&path, "read last sequence")?;
                max.and_then(|m| u64::try_from(m).ok()).unwrap_or(0)
            }
        };
        if through <= after_seq {
            return Ok(after_seq);
        }
        let mut st = conn
            .prepare_cached(SUMMARY_SQL)
            .at(&path, "prepare event summaries")?;
        let mut rows = st
            .query(rusqlite::params![
                to_i64("sequence", after_seq)?,
                to_i64("sequence", through)?,
                since_ns
            ])
            .at(&path, "read event summaries")?;
        while let Some(row) = rows.next().at(&path, "read event summary")? {
            let seq: i64 = row.get(0).at(&path, "read event summary")?;
            let bad = |what| StoreError::Inconsistent {
                path: path.clone(),
                reason: Inconsistency::Event {
                    seq,
                    what: EventProblem::Column(what),
                },
            };
            let text = |i: usize| -> Result<Option<&str>> {
                match row.get_ref(i).at(&path, "read event summary")? {
                    ValueRef::Null => Ok(None),
                    ValueRef::Text(t) => std::str::from_utf8(t)
                        .map(Some)
                        .map_err(|_| bad("text column is not UTF-8")),
                    _ => Err(bad("text column holds another type")),
                }
            };
            let severity: Option<i64> = row.get(3).at(&path, "read event summary")?;
            let summary = EventSummary {
                seq: u64::try_from(seq).map_err(|_| bad("negative sequence number"))?,
                ts: row.get(1).at(&path, "read event summary")?,
                received_ns: row.get(2).at(&path, "read event summary")?,
                severity: severity
                    .map(|s| {
                        u8::try_from(s)
                            .ok()
                            .filter(|s| *s <= 7)
                            .ok_or_else(|| bad("severity out of range"))
                    })
                    .transpose()?,
                code: text(4)?,
                host: text(5)?,
                device: text(6)?,
                client_addr: text(7)?,
            };
            f(&summary);
        }
        Ok(through)
    }
}
