//! Reading and writing event rows of a partition.

use std::path::Path;

use netaudit_event::{CompactString, Event, Facility, Param, Severity};
use rusqlite::types::ValueRef;
use rusqlite::Row;

use crate::append_event::AppendEvent;
use crate::error::{EventProblem, Inconsistency, Result, StoreError};
use crate::params_column::{parse_params_json, PARAMS_IN_RAW};

/// Column list shared by INSERT and SELECT, in this order.
pub(crate) const COLUMNS: &str = "seq, epoch, received_ns, ts, time_ns, severity, facility, \
     code, user, host, device, app, pid, client_addr, operation, params, message, parse_error, raw, chain";

/// How many columns [`COLUMNS`] names.
pub(crate) const COLUMN_COUNT: usize = 20;

/// `INSERT INTO events(COLUMNS) VALUES (?, ...), ...` for `rows` rows, the
/// parameters numbered in order, row after row.
pub(crate) fn insert_sql(rows: usize) -> String {
    let row = format!("({})", vec!["?"; COLUMN_COUNT].join(", "));
    format!(
        "INSERT INTO events({COLUMNS}) VALUES {}",
        vec![row; rows].join(", ")
    )
}

/// An event as stored: its sequence number, epoch and chain value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The event's sequence number (from 1, no gaps except retention's).
    pub seq: u64,
    /// The epoch whose key sealed it.
    pub epoch: u64,
    /// The query time: the event time, or the received time when unknown.
    pub ts: i64,
    /// The chain value: HMAC over the previous one, `seq`, `epoch` and the
    /// canonical encoding.
    pub chain: [u8; 32],
    /// The event's fields.
    pub event: Event,
    /// The row keeps the parameters only in the raw bytes (encoding
    /// version 2, `params` column `raw`): `event.params` holds what the
    /// raw bytes parse to (or nothing, from [`Reader::scan`](crate::Reader::scan)).
    pub params_in_raw: bool,
}

impl StoredEvent {
    /// Parses the parameters out of the raw bytes into `event.params` when
    /// the read left them there, as a read that parses them does
    /// (`params_in_raw` stays set: the chain covers the raw bytes).
    pub fn parse_params(&mut self) {
        if self.params_in_raw && self.event.params.is_empty() {
            self.event.params = netaudit_syslog::params_of(&self.event.raw).unwrap_or_default();
        }
    }

    /// The event with its parameters, parsed from the raw bytes now if the
    /// read left them there ([`Store::query_params_unparsed`](crate::Store::query_params_unparsed));
    /// the same parameters a read that parsed them gives.
    pub fn with_params(&self) -> std::borrow::Cow<'_, Event> {
        if self.params_in_raw && self.event.params.is_empty() {
            let mut event = self.event.clone();
            event.params = netaudit_syslog::params_of(&event.raw).unwrap_or_default();
            std::borrow::Cow::Owned(event)
        } else {
            std::borrow::Cow::Borrowed(&self.event)
        }
    }
}

impl AppendEvent for StoredEvent {
    /// The event as read back.
    fn event(&self) -> &Event {
        &self.event
    }

    /// As stored: re-encoding a stored event gives the bytes its chain
    /// value covers.
    fn params_in_raw(&self) -> bool {
        self.params_in_raw
    }
}

pub(crate) fn to_i64(what: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { what, value })
}

/// The time the store queries on: the event time when known, else received.
pub fn query_time(event: &Event) -> i64 {
    event.time_ns.unwrap_or(event.received_ns)
}

fn bad(path: &Path, seq: i64, what: &'static str) -> StoreError {
    bad_row(path, seq, EventProblem::Column(what))
}

fn bad_row(path: &Path, seq: i64, what: EventProblem) -> StoreError {
    StoreError::Inconsistent {
        path: path.to_path_buf(),
        reason: Inconsistency::Event { seq, what },
    }
}

/// Decodes a row selected with [`COLUMNS`]; malformed values are errors
/// naming the file and the sequence number, never panics. The parameters
/// of an event that keeps them in its raw bytes stay unparsed (`params`
/// empty) unless `parse_params`: verify has no use for them (the chain
/// covers the raw bytes), and a reader that looks at few events' parameters
/// parses those with [`StoredEvent::with_params`].
pub(crate) fn decode_row_as(path: &Path, row: &Row<'_>, parse_params: bool) -> Result<StoredEvent> {
    let get = |e: rusqlite::Error| StoreError::Sqlite {
        path: path.to_path_buf(),
        op: "read event row",
        source: e,
    };
    // Text columns straight into the event's strings (short ones inline).
    let text = |i: usize| -> Result<Option<CompactString>> {
        match row.get_ref(i).map_err(get)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .map(|t| Some(CompactString::new(t)))
                .map_err(|e| get(rusqlite::Error::Utf8Error(e))),
            other => Err(get(rusqlite::Error::InvalidColumnType(
                i,
                COLUMNS.split(", ").nth(i).unwrap_or("?").into(),
                other.data_type(),
            ))),
        }
    };
    let seq: i64 = row.get(0).map_err(get)?;
    let epoch: i64 = row.get(1).map_err(get)?;
    let severity: Option<i64> = row.get(5).map_err(get)?;
    let facility: Option<i64> = row.get(6).map_err(get)?;
    let params: Option<String> = row.get(15).map_err(get)?;
    let chain: Vec<u8> = row.get(19).map_err(get)?;
    let severity = severity
        .map(|s| {
            u8::try_from(s)
                .ok()
                .and_then(|s| Severity::from_code(s).ok())
                .ok_or_else(|| bad(path, seq, "severity out of range"))
        })
        .transpose()?;
    let facility = facility
        .map(|f| {
            u8::try_from(f)
                .ok()
                .and_then(|f| Facility::from_code(f).ok())
                .ok_or_else(|| bad(path, seq, "facility out of range"))
        })
        .transpose()?;
    let raw: Vec<u8> = row.get(18).map_err(get)?;
    let params_in_raw = params.as_deref() == Some(PARAMS_IN_RAW);
    let params: Vec<Param> = match params {
        None => Vec::new(),
        // Parsed at ingest, so they parse again. Should a later parser
        // reject them, the event still reads, with its raw bytes whole and
        // no parameters (the chain does not cover a separate copy of them,
        // so `verify` is unaffected).
        Some(_) if params_in_raw && !parse_params => Vec::new(),
        Some(_) if params_in_raw => netaudit_syslog::params_of(&raw).unwrap_or_default(),
        Some(text) => parse_params_json(&text)
            .map_err(|e| bad_row(path, seq, EventProblem::ParamsNotJson(e.to_string())))?,
    };
    let event = Event {
        received_ns: row.get(2).map_err(get)?,
        time_ns: row.get(4).map_err(get)?,
        host: text(9)?,
        app: text(11)?,
        pid: text(12)?,
        facility,
        severity,
        code: text(7)?,
        user: text(8)?,
        client_addr: text(13)?,
        device: text(10)?,
        operation: text(14)?,
        params,
        message: text(16)?,
        raw,
        parse_error: text(17)?,
    };
    Ok(StoredEvent {
        seq: u64::try_from(seq).map_err(|_| bad(path, seq, "negative sequence number"))?,
        epoch: u64::try_from(epoch).map_err(|_| bad(path, seq, "negative epoch"))?,
        ts: row.get(3).map_err(get)?,
        chain: chain
            .try_into()
            .map_err(|_| bad(path, seq, "chain value is not 32 bytes"))?,
        event,
        params_in_raw,
    })
}
