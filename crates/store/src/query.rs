//! Queries: filters over the partitions, merged in sequence order, with
//! stable paging by sequence number.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use netaudit_event::Severity;
use rusqlite::types::Value;
use rusqlite::Connection;

use crate::chain::Checkpoint;
use crate::cursors;
use crate::error::{at_first_read, Context, ForeignReason, Inconsistency, Result, StoreError};
use crate::partitions::{load_partitions, open_partition, PartitionInfo, PartitionState};
use crate::rows::{decode_row_as, to_i64, StoredEvent, COLUMNS};
use crate::schema::{CATALOG_APP_ID, CATALOG_MIGRATIONS};
use crate::sqlite::{open_read_only, DEFAULT_READER_MMAP_BYTES};

/// Result order, by sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Oldest first; continue with `after_seq = page.next`.
    #[default]
    Ascending,
    /// Newest first; continue with `before_seq = page.next`.
    Descending,
}

/// What to look for. Every filter is optional; all given filters must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Query time (event time, else received time) at or after, Unix ns.
    pub since_ns: Option<i64>,
    /// Query time strictly before, Unix ns.
    pub until_ns: Option<i64>,
    /// Code or tag, as an SQLite GLOB (`*`, `?`, `[...]`; case-sensitive).
    pub code: Option<String>,
    /// At least this severe (severity code <= this one's).
    pub min_severity: Option<Severity>,
    /// Exactly this acting user.
    pub user: Option<String>,
    /// Exactly this sender host name.
    pub host: Option<String>,
    /// Exactly this device.
    pub device: Option<String>,
    /// Exactly this operation (archive, scan, restore ... by its name).
    pub operation: Option<String>,
    /// Substring of the message text (ASCII case-insensitive).
    pub text: Option<String>,
    /// Only sequence numbers greater than this.
    pub after_seq: Option<u64>,
    /// Only sequence numbers less than this.
    pub before_seq: Option<u64>,
    /// Oldest or newest first.
    pub order: Order,
    /// At most this many events per page (at least 1).
    pub limit: usize,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            since_ns: None,
            until_ns: None,
            code: None,
            min_severity: None,
            user: None,
            host: None,
            device: None,
            operation: None,
            text: None,
            after_seq: None,
            before_seq: None,
            order: Order::Ascending,
            limit: 100,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The events, in the query's order.
    pub events: Vec<StoredEvent>,
    /// The sequence number to continue from (as `after_seq` when ascending,
    /// `before_seq` when descending), when the page is full.
    pub next: Option<u64>,
}

/// `%text%` for LIKE, with `%`, `_` and `\` escaped (SQLite's and
/// PostgreSQL's LIKE both take `\` as the escape here).
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Events `first_seq..=last_seq` were dropped by retention at `time_ns`;
/// the checkpoint of `anchor_epoch` anchors the chain after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRecord {
    /// The first dropped sequence number.
    pub first_seq: u64,
    /// The last dropped sequence number.
    pub last_seq: u64,
    /// The epoch whose checkpoint the chain after the gap continues from.
    pub anchor_epoch: u64,
    /// When they were dropped (Unix nanoseconds, UTC).
    pub time_ns: i64,
    /// "age" or "count".
    pub reason: String,
}

/// A read-only view of a store; many may be open while a `Store` writes.
pub struct Reader {
    path: PathBuf,
    catalog: Connection,
    partitions: HashMap<i64, Connection>,
    /// How much of each partition file its connection maps.
    mmap_bytes: u64,
}

impl Reader {
    /// Opens the catalog at `path` read-only.
    pub fn open(path: &Path) -> Result<Reader> {
        let catalog = open_read_only(path)?;
        let check = |e| at_first_read(path, "read schema version", e);
        let app_id: i64 = catalog
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(check)?;
        let version: i64 = catalog
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(check)?;
        if app_id != CATALOG_APP_ID {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
                reason: ForeignReason::NotACatalog { found: app_id },
            });
        }
        let supported = i64::try_from(CATALOG_MIGRATIONS.len()).unwrap_or(i64::MAX);
        if version > supported {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                supported,
            });
        }
        Ok(Reader {
            path: path.to_path_buf(),
            catalog,
            partitions: HashMap::new(),
            mmap_bytes: DEFAULT_READER_MMAP_BYTES,
        })
    }

    /// Maps at most `bytes` of each partition file from now on (0: none;
    /// connections already open keep theirs). See
    /// [`StoreConfig::reader_mmap_bytes`](crate::StoreConfig::reader_mmap_bytes).
    pub fn set_mmap_bytes(&mut self, bytes: u64) {
        self.mmap_bytes = bytes;
    }

    /// The catalog database this reader opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn forget(&mut self, partition_id: i64) {
        self.partitions.remove(&partition_id);
    }

    /// Every partition the catalog lists, oldest first.
    pub fn partitions(&self) -> Result<Vec<PartitionInfo>> {
        load_partitions(&self.catalog, &self.path)
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        use rusqlite::OptionalExtension;
        self.catalog
            .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .at(&self.path, "read meta")
    }

    /// The store's identity (written when it was first opened for writing).
    pub fn store_id(&self) -> Result<[u8; 16]> {
        self.meta("store_id")?
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| StoreError::Inconsistent {
                path: self.path.clone(),
                reason: Inconsistency::NoStoreIdentity,
            })
    }

    /// The checkpoint signing public key, when the catalog holds it.
    pub fn public_key(&self) -> Result<Option<[u8; 32]>> {
        Ok(self.meta("public_key")?.and_then(|v| v.try_into().ok()))
    }

    /// Checkpoints kept in the catalog, by epoch.
    pub fn catalog_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        Checkpoint::load_all(&self.catalog, &self.path)
    }

    /// Retention records, oldest first.
    pub fn retention_log(&self) -> Result<Vec<RetentionRecord>> {
        let mut st = self
            .catalog
            .prepare("SELECT first_seq, last_seq, anchor_epoch, time_ns, reason FROM retention ORDER BY first_seq")
            .at(&self.path, "read retention log")?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .at(&self.path, "read retention log")?;
        let mut out = Vec::new();
        for row in rows {
            let (a, b, e, t, reason) = row.at(&self.path, "read retention record")?;
            out.push(RetentionRecord {
                first_seq: u64::try_from(a).unwrap_or(0),
                last_seq: u64::try_from(b).unwrap_or(0),
                anchor_epoch: u64::try_from(e).unwrap_or(0),
                time_ns: t,
                reason,
            });
        }
        Ok(out)
    }

    /// The position of cursor `name` (0 when it was never advanced).
    pub fn cursor(&self, name: &str) -> Result<u64> {
        cursors::read(&self.catalog, &self.path, name)
    }

    /// Every cursor and its position, by name.
    pub fn cursors(&self) -> Result<Vec<(String, u64)>> {
        cursors::list(&self.catalog, &self.path)
    }

    /// The connection to a partition, or `None` for an open partition whose
    /// file a crash kept from being created (it holds no event yet).
    pub(crate) fn connection(&mut self, part: &PartitionInfo) -> Result<Option<&Connection>> {
        use std::collections::hash_map::Entry;
        match self.partitions.entry(part.id) {
            Entry::Occupied(e) => Ok(Some(e.into_mut())),
            Entry::Vacant(v) => {
                Ok(open_partition(part, self.mmap_bytes)?.map(|conn| &*v.insert(conn)))
            }
        }
    }

    /// The last stored sequence number (0 when empty).
    pub fn last_seq(&mut self) -> Result<u64> {
        let parts = self.partitions()?;
        for part in parts.iter().rev() {
            if let Some(last) = part.last_seq {
                return Ok(last);
            }
            let Some(conn) = self.connection(part)? else {
                continue;
            };
            let max: Option<i64> = conn
                .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
                .at(&part.path, "read last sequence")?;
            if let Some(m) = max {
                return Ok(u64::try_from(m).unwrap_or(0));
            }
        }
        Ok(0)
    }

    /// Runs a query over every partition that can hold matches.
    pub fn query(&mut self, q: &Query) -> Result<Page> {
        self.query_as(q, true)
    }

    /// [`Reader::query`], leaving the parameters of events that keep them
    /// in their raw bytes unparsed (`params` empty, `params_in_raw` set;
    /// [`StoredEvent::with_params`] parses them): for readers that look at
    /// the parameters of few events, since parsing them is most of a row's
    /// decoding.
    pub fn query_params_unparsed(&mut self, q: &Query) -> Result<Page> {
        self.query_as(q, false)
    }

    fn query_as(&mut self, q: &Query, parse_params: bool) -> Result<Page> {
        if q.limit == 0 {
            return Err(StoreError::ZeroLimit);
        }
        let mut parts = self.partitions()?;
        // Let go of partitions that retention dropped.
        self.partitions
            .retain(|id, _| parts.iter().any(|p| p.id == *id));
        if q.order == Order::Descending {
            parts.reverse();
        }
        let mut events = Vec::new();
        for part in &parts {
            if events.len() >= q.limit {
                break;
            }
            if let (Some(after), Some(last)) = (q.after_seq, part.last_seq) {
                if last <= after {
                    continue;
                }
            }
            if let Some(before) = q.before_seq {
                if part.first_seq >= before {
                    continue;
                }
            }
            let indexed = part.state == PartitionState::Indexed;
            let (mut use_since, mut use_until) = (q.since_ns, q.until_ns);
            if let (true, Some(min), Some(max)) = (indexed, part.min_ts, part.max_ts) {
                if q.since_ns.is_some_and(|s| max < s) || q.until_ns.is_some_and(|u| min >= u) {
                    continue;
                }
                // A bound the whole partition satisfies only misleads the planner.
                if q.since_ns.is_some_and(|s| min >= s) {
                    use_since = None;
                }
                if q.until_ns.is_some_and(|u| max < u) {
                    use_until = None;
                }
            }
            let mut sql = format!("SELECT {COLUMNS} FROM events WHERE 1");
            let mut args: Vec<Value> = Vec::new();
            if let Some(after) = q.after_seq {
                sql.push_str(" AND seq > ?");
                args.push(Value::Integer(to_i64("sequence", after)?));
            }
            if let Some(before) = q.before_seq {
                sql.push_str(" AND seq < ?");
                args.push(Value::Integer(to_i64("sequence", before)?));
            }
            if let Some(s) = use_since {
                sql.push_str(" AND ts >= ?");
                args.push(Value::Integer(s));
            }
            if let Some(u) = use_until {
                sql.push_str(" AND ts < ?");
                args.push(Value::Integer(u));
            }
            if let Some(code) = &q.code {
                sql.push_str(" AND code GLOB ?");
                args.push(Value::Text(code.clone()));
            }
            if let Some(sev) = q.min_severity {
                sql.push_str(" AND severity <= ?");
                args.push(Value::Integer(i64::from(sev.code())));
            }
            for (column, value) in [
                ("user", &q.user),
                ("host", &q.host),
                ("device", &q.device),
                ("operation", &q.operation),
            ] {
                if let Some(v) = value {
                    sql.push_str(&format!(" AND {column} = ?"));
                    args.push(Value::Text(v.clone()));
                }
            }
            if let Some(text) = &q.text {
                sql.push_str(" AND message LIKE ? ESCAPE '\\'");
                args.push(Value::Text(like_pattern(text)));
            }
            sql.push_str(match q.order {
                Order::Ascending => " ORDER BY seq ASC LIMIT ?",
                Order::Descending => " ORDER BY seq DESC LIMIT ?",
            });
            let want = q.limit - events.len();
            args.push(Value::Integer(i64::try_from(want).unwrap_or(i64::MAX)));
            let path = part.path.clone();
            let conn = match self.connection(part) {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                // Dropped by retention between listing and opening.
                Err(StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            let mut st = conn.prepare_cached(&sql).at(&path, "prepare query")?;
            let mut rows = st
                .query(rusqlite::params_from_iter(args))
                .at(&path, "run query")?;
            while let Some(row) = rows.next().at(&path, "read query result")? {
                events.push(decode_row_as(&path, row, parse_params)?);
            }
        }
        let next = if events.len() >= q.limit {
            events.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(Page { events, next })
    }

    /// Calls `f` for every stored event with `from <= seq <= to`, in
    /// partition order then sequence order (so that misplaced rows show).
    /// An event that keeps its parameters in its raw bytes comes with
    /// `params` empty and `params_in_raw` set (this walk is for verify,
    /// whose chain covers the raw bytes; `netaudit_syslog::params_of`
    /// parses them when wanted).
    pub fn scan(
        &mut self,
        from: u64,
        to: u64,
        mut f: impl FnMut(StoredEvent) -> Result<bool>,
    ) -> Result<()> {
        let parts = self.partitions()?;
        let (lo, hi) = (
            i64::try_from(from).unwrap_or(i64::MAX),
            i64::try_from(to).unwrap_or(i64::MAX),
        );
        for part in &parts {
            if part.last_seq.is_some_and(|l| l < from) || part.first_seq > to {
                continue;
            }
            let path = part.path.clone();
            let Some(conn) = self.connection(part)? else {
                continue;
            };
            let mut st = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM events WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq"
                ))
                .at(&path, "prepare scan")?;
            let mut rows = st.query([lo, hi]).at(&path, "scan events")?;
            while let Some(row) = rows.next().at(&path, "read event")? {
                if !f(decode_row_as(&path, row, false)?)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// All checkpoints stored in partition files, with the file each is in.
    pub fn partition_checkpoints(&mut self) -> Result<Vec<(PathBuf, Checkpoint)>> {
        let parts = self.partitions()?;
        let mut out = Vec::new();
        for part in &parts {
            let path = part.path.clone();
            let Some(conn) = self.connection(part)? else {
                continue;
            };
            for c in Checkpoint::load_all(conn, &path)? {
                out.push((path.clone(), c));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
