//! Event rows in PostgreSQL: the same columns as a partition of the
//! embedded store (docs/store.md), with the node id first. Rows go in by
//! binary COPY and come back as `StoredEvent`s, so that re-encoding a row
//! gives the bytes its chain value covers.

use netaudit_event::{CompactString, Event, Facility, Severity};
use netaudit_store::{params_column, params_from_column, query_time, AppendEvent, StoredEvent};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::Row;

use crate::error::{PgStoreError, Result};
use crate::row_value::RowValues;

/// The columns, in the order of COPY and SELECT.
pub(crate) const EVENT_COLUMNS: &str = "node_id, seq, epoch, received_ns, ts, time_ns, severity, \
    facility, code, \"user\", host, device, app, pid, client_addr, operation, params, message, \
    parse_error, raw, chain";

/// Their types, for the binary COPY.
pub(crate) const EVENT_TYPES: [Type; 21] = [
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT2,
    Type::INT2,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BYTEA,
    Type::BYTEA,
];

/// The COPY statement the writer and the copy stream rows into.
pub(crate) fn copy_statement() -> String {
    format!("COPY netaudit.events ({EVENT_COLUMNS}) FROM STDIN (FORMAT binary)")
}

/// Writes one event row into a binary COPY.
pub(crate) fn write_row<E: AppendEvent + ?Sized>(
    writer: &mut BinaryCopyInWriter<'_>,
    node_id: &str,
    seq: u64,
    epoch: u64,
    event: &E,
    chain: &[u8; 32],
) -> std::result::Result<(), postgres::Error> {
    let params = params_column(event);
    write_columns(
        writer,
        node_id,
        seq,
        epoch,
        event.event(),
        params.as_deref(),
        chain,
    )
}

/// Writes one event row from its fields and its params column as stored
/// (what [`write_row`] computes, or what a prepared batch holds).
pub(crate) fn write_columns(
    writer: &mut BinaryCopyInWriter<'_>,
    node_id: &str,
    seq: u64,
    epoch: u64,
    e: &Event,
    params: Option<&str>,
    chain: &[u8; 32],
) -> std::result::Result<(), postgres::Error> {
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let epoch = i64::try_from(epoch).unwrap_or(i64::MAX);
    let ts = query_time(e);
    let severity = e.severity.map(|s| i16::from(s.code()));
    let facility = e.facility.map(|f| i16::from(f.code()));
    let text = |v: &Option<CompactString>| v.as_ref().map(|s| s.as_str().to_owned());
    let (code, user, host, device, app, pid, client_addr, operation, message, parse_error) = (
        text(&e.code),
        text(&e.user),
        text(&e.host),
        text(&e.device),
        text(&e.app),
        text(&e.pid),
        text(&e.client_addr),
        text(&e.operation),
        text(&e.message),
        text(&e.parse_error),
    );
    let chain: &[u8] = chain;
    let raw: &[u8] = &e.raw;
    let values: [&(dyn ToSql + Sync); 21] = [
        &node_id,
        &seq,
        &epoch,
        &e.received_ns,
        &ts,
        &e.time_ns,
        &severity,
        &facility,
        &code,
        &user,
        &host,
        &device,
        &app,
        &pid,
        &client_addr,
        &operation,
        &params,
        &message,
        &parse_error,
        &raw,
        &chain,
    ];
    writer.write(&values)
}

/// [`read_row`] with the parameters parsed out of the raw bytes when the
/// row keeps them there, as the embedded store's queries give them: what
/// the API, the console, the outputs and the reports read (verify and copy
/// read the row as it is, since the chain covers the raw bytes).
pub(crate) fn read_row_with_params(row: &Row, target: &str) -> Result<StoredEvent> {
    let mut event = read_row(row, target)?;
    event.parse_params();
    Ok(event)
}

/// Reads a row selected with [`EVENT_COLUMNS`]; a value the schema allows
/// but an event cannot hold (a hand-edited row) is an error naming the node
/// and the sequence number, and a NULL or a value of another type (an
/// altered table) one naming the column too. An event that keeps its
/// parameters in its raw bytes comes back with them unparsed, as
/// `Reader::scan` gives them.
pub(crate) fn read_row(row: &Row, target: &str) -> Result<StoredEvent> {
    let mut values = RowValues::new(row, target, "events", "an event row".into());
    let node: String = values.get(0)?;
    values.set_place(format!("node \"{node}\""));
    let seq: i64 = values.get(1)?;
    values.set_place(format!("node \"{node}\", sequence {seq}"));
    let bad = |detail: String| PgStoreError::BadRow {
        target: target.to_string(),
        node: node.clone(),
        seq,
        detail,
    };
    let text = |i: usize| -> Result<Option<CompactString>> {
        Ok(values.get::<Option<&str>>(i)?.map(CompactString::new))
    };
    let severity = values
        .get::<Option<i16>>(6)?
        .map(|s| {
            u8::try_from(s)
                .ok()
                .and_then(|s| Severity::from_code(s).ok())
                .ok_or_else(|| bad(format!("severity {s} out of range")))
        })
        .transpose()?;
    let facility = values
        .get::<Option<i16>>(7)?
        .map(|f| {
            u8::try_from(f)
                .ok()
                .and_then(|f| Facility::from_code(f).ok())
                .ok_or_else(|| bad(format!("facility {f} out of range")))
        })
        .transpose()?;
    let (params, params_in_raw) = match values.get::<Option<&str>>(16)? {
        None => (Vec::new(), false),
        Some(t) => params_from_column(t).map_err(|e| bad(format!("params is not JSON: {e}")))?,
    };
    let chain: &[u8] = values.get(20)?;
    let chain: [u8; 32] = chain
        .try_into()
        .map_err(|_| bad("chain value is not 32 bytes".into()))?;
    let epoch: i64 = values.get(2)?;
    let event = Event {
        received_ns: values.get(3)?,
        time_ns: values.get(5)?,
        host: text(10)?,
        app: text(12)?,
        pid: text(13)?,
        facility,
        severity,
        code: text(8)?,
        user: text(9)?,
        client_addr: text(14)?,
        device: text(11)?,
        operation: text(15)?,
        params,
        message: text(17)?,
        raw: values.get::<Vec<u8>>(19)?,
        parse_error: text(18)?,
    };
    Ok(StoredEvent {
        seq: u64::try_from(seq).map_err(|_| bad("negative sequence number".into()))?,
        epoch: u64::try_from(epoch).map_err(|_| bad("negative epoch".into()))?,
        ts: values.get(4)?,
        chain,
        event,
        params_in_raw,
    })
}
