//! Every node's events received since a time, counted by the database (the
//! console's Overview on a node: docs/cluster.md): per minute of receipt and
//! severity, the top codes, devices and failed logins' client addresses, and
//! each sending host's count and latest receipt. One GROUP BY per count, all
//! in one read-only repeatable-read transaction, so the counts agree with
//! one another; the window is a `received_ns` range, which the global-order
//! index serves.

use postgres::{Client, IsolationLevel, Row};

use crate::error::Result;
use crate::row_value::RowValues;
use crate::schema::query_error;

/// Nanoseconds in a minute: the buckets of [`WindowCounts::per_minute`].
const MINUTE_NS: i64 = 60_000_000_000;

/// How many events were received in one minute with one severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteCount {
    /// Minutes since the Unix epoch (`received_ns` / 60 s).
    pub minute: i64,
    /// The stored severity code (`None`: the event has none).
    pub severity: Option<i16>,
    /// How many events.
    pub events: u64,
}

/// One sending host's events in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSeen {
    /// The host.
    pub host: String,
    /// How many events it sent.
    pub events: u64,
    /// When the latest was received, Unix ns.
    pub last_received_ns: i64,
}

/// The counts of every node's events received at or after a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowCounts {
    /// By minute and severity, in that order.
    pub per_minute: Vec<MinuteCount>,
    /// The largest counts by code (`None`: no code), largest first, ties by
    /// code in byte order.
    pub codes: Vec<(Option<String>, u64)>,
    /// Every host that sent an event, by host in byte order.
    pub hosts: Vec<HostSeen>,
    /// The largest counts by device (events without one left out).
    pub devices: Vec<(String, u64)>,
    /// The largest counts of the failed-login code's events by client
    /// address (`None`: no address).
    pub failed: Vec<(Option<String>, u64)>,
}

/// What [`count_window`] counts.
#[derive(Debug, Clone)]
pub struct WindowSpec<'a> {
    /// The window's start: events received at or after it (Unix ns, at or
    /// after the epoch), later ones included however far ahead.
    pub since_ns: i64,
    /// How many rows each top list keeps.
    pub top: usize,
    /// The code whose events are failed logins.
    pub failed_login_code: &'a str,
}

/// Counts every node's events of `spec`'s window.
pub fn count_window(
    client: &mut Client,
    target: &str,
    spec: &WindowSpec<'_>,
) -> Result<WindowCounts> {
    let since = spec.since_ns.max(0);
    let top = i64::try_from(spec.top).unwrap_or(i64::MAX);
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| query_error(target, "start the overview's transaction", &e))?;
    // received_ns is at or after `since` >= 0: integer division is the floor.
    let rows = tx
        .query(
            "SELECT received_ns / $2::int8 AS minute, severity, count(*) FROM netaudit.events \
             WHERE received_ns >= $1 GROUP BY 1, 2 ORDER BY 1, 2",
            &[&since, &MINUTE_NS],
        )
        .map_err(|e| query_error(target, "count events per minute", &e))?;
    let mut per_minute = Vec::with_capacity(rows.len());
    for row in &rows {
        let r = values(row, target, "per minute");
        per_minute.push(MinuteCount {
            minute: r.get(0)?,
            severity: r.get(1)?,
            events: count(&r, 2)?,
        });
    }
    let rows = tx
        .query(
            "SELECT code, count(*) AS n FROM netaudit.events WHERE received_ns >= $1 \
             GROUP BY code ORDER BY n DESC, code COLLATE \"C\" NULLS LAST LIMIT $2",
            &[&since, &top],
        )
        .map_err(|e| query_error(target, "count events by code", &e))?;
    let codes = keyed(&rows, target, "by code")?;
    let rows = tx
        .query(
            "SELECT host, count(*), max(received_ns) FROM netaudit.events \
             WHERE received_ns >= $1 AND host IS NOT NULL GROUP BY host ORDER BY host COLLATE \"C\"",
            &[&since],
        )
        .map_err(|e| query_error(target, "count events by host", &e))?;
    let mut hosts = Vec::with_capacity(rows.len());
    for row in &rows {
        let r = values(row, target, "by host");
        hosts.push(HostSeen {
            host: r.get(0)?,
            events: count(&r, 1)?,
            last_received_ns: r.get(2)?,
        });
    }
    let rows = tx
        .query(
            "SELECT device, count(*) AS n FROM netaudit.events \
             WHERE received_ns >= $1 AND device IS NOT NULL \
             GROUP BY device ORDER BY n DESC, device COLLATE \"C\" LIMIT $2",
            &[&since, &top],
        )
        .map_err(|e| query_error(target, "count events by device", &e))?;
    let mut devices = Vec::with_capacity(rows.len());
    for (key, n) in keyed(&rows, target, "by device")? {
        devices.extend(key.map(|k| (k, n)));
    }
    let rows = tx
        .query(
            "SELECT client_addr, count(*) AS n FROM netaudit.events \
             WHERE received_ns >= $1 AND code = $3 \
             GROUP BY client_addr ORDER BY n DESC, client_addr COLLATE \"C\" NULLS LAST LIMIT $2",
            &[&since, &top, &spec.failed_login_code],
        )
        .map_err(|e| query_error(target, "count failed logins by address", &e))?;
    let failed = keyed(&rows, target, "failed logins by address")?;
    tx.commit()
        .map_err(|e| query_error(target, "end the overview's transaction", &e))?;
    Ok(WindowCounts {
        per_minute,
        codes,
        hosts,
        devices,
        failed,
    })
}

/// A counted row's columns; `what` names the count in an error.
fn values<'r>(row: &'r Row, target: &'r str, what: &str) -> RowValues<'r> {
    RowValues::new(row, target, "events", format!("overview count {what}"))
}

/// Column `idx`, a `count(*)`.
fn count(r: &RowValues<'_>, idx: usize) -> Result<u64> {
    // count(*) is never negative.
    Ok(u64::try_from(r.get::<i64>(idx)?).unwrap_or(0))
}

/// `(key, count)` rows.
fn keyed(rows: &[Row], target: &str, what: &str) -> Result<Vec<(Option<String>, u64)>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let r = values(row, target, what);
        out.push((r.get(0)?, count(&r, 1)?));
    }
    Ok(out)
}
