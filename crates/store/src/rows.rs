//! Reading and writing event rows of a partition.

use std::path::Path;

use netaudit_event::{CompactString, Event, Facility, Param, Severity};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Row};

use crate::encoding::PARAMS_IN_RAW;
use crate::error::{Context, Result, StoreError};

/// Column list shared by INSERT and SELECT, in this order.
pub(crate) const COLUMNS: &str = "seq, epoch, received_ns, ts, time_ns, severity, facility, \
     code, user, host, device, app, pid, client_addr, operation, params, message, parse_error, raw, chain";

pub(crate) const INSERT_SQL: &str = "INSERT INTO events(seq, epoch, received_ns, ts, time_ns, \
     severity, facility, code, user, host, device, app, pid, client_addr, operation, params, \
     message, parse_error, raw, chain) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";

/// An event as stored: its sequence number, epoch and chain value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: u64,
    pub epoch: u64,
    /// The query time: the event time, or the received time when unknown.
    pub ts: i64,
    pub chain: [u8; 32],
    pub event: Event,
}

pub(crate) fn to_i64(what: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { what, value })
}

/// The time the store queries on: the event time when known, else received.
pub fn query_time(event: &Event) -> i64 {
    event.time_ns.unwrap_or(event.received_ns)
}

/// The `params` column: the parameters as compact JSON, one array per run
/// of parameters sharing an SD-ID, `[["sd_id",[["name","value"],...]],...]`,
/// in their original order (strings escaped as `serde_json` escapes them).
/// The SD-ID is written once per element instead of once per parameter:
/// rows are a third smaller than with `[{"sd_id","name","value"},...]`,
/// the format of stores written before, which [`parse_params_json`] still
/// reads. Written by hand because it runs for every stored event.
#[cfg(test)]
pub(crate) fn params_json(params: &[Param]) -> Option<String> {
    let mut out = String::new();
    push_params_json(&mut out, params).then_some(out)
}

/// Appends [`params_json`]'s text to `out`; `false` (nothing written) when
/// there are no parameters.
pub(crate) fn push_params_json(out: &mut String, params: &[Param]) -> bool {
    let Some(first) = params.first() else {
        return false;
    };
    out.push_str("[[");
    push_json_string(out, &first.sd_id);
    out.push_str(",[");
    let mut sd_id = first.sd_id.as_str();
    for (i, p) in params.iter().enumerate() {
        if p.sd_id != sd_id {
            out.push_str("]],[");
            push_json_string(out, &p.sd_id);
            out.push_str(",[");
            sd_id = &p.sd_id;
        } else if i > 0 {
            out.push(',');
        }
        out.push('[');
        push_json_string(out, &p.name);
        out.push(',');
        push_json_string(out, &p.value);
        out.push(']');
    }
    out.push_str("]]]");
    true
}

/// Reads the `params` column in either format (see [`params_json`]).
pub(crate) fn parse_params_json(text: &str) -> std::result::Result<Vec<Param>, serde_json::Error> {
    if text
        .trim_start()
        .strip_prefix('[')
        .map(str::trim_start)
        .is_some_and(|t| t.starts_with('{'))
    {
        return serde_json::from_str(text);
    }
    let elements: Vec<(CompactString, Vec<(CompactString, CompactString)>)> =
        serde_json::from_str(text)?;
    let mut params = Vec::with_capacity(elements.iter().map(|(_, p)| p.len()).sum());
    for (sd_id, pairs) in elements {
        for (name, value) in pairs {
            params.push(Param {
                sd_id: sd_id.clone(),
                name,
                value,
            });
        }
    }
    Ok(params)
}

/// Appends `value` as a JSON string, escaped as `serde_json` escapes.
fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    let bytes = value.as_bytes();
    let mut plain = 0;
    loop {
        let at = plain + first_to_escape(&bytes[plain..]);
        // Bytes that need an escape are below 0x80, whole characters:
        // slicing before and after one is safe.
        out.push_str(&value[plain..at]);
        let Some(&b) = bytes.get(at) else { break };
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => out.push_str(&format!("\\u{b:04x}")),
        }
        plain = at + 1;
    }
    out.push('"');
}

/// The index of the first byte JSON must escape (`"`, `\\`, or below
/// 0x20), or `bytes.len()`. Eight bytes at a time: most values have none,
/// and this runs over every stored parameter.
fn first_to_escape(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Flags the bytes of `w` below `n` (each lane's high bit); a borrow can
    // flag a byte above a flagged one, never below, so the lowest flag is
    // exact.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let hits = below(w, 0x20) | below(w ^ (ONES * 0x22), 1) | below(w ^ (ONES * 0x5c), 1);
        if hits != 0 {
            return offset + (hits.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    offset
        + chunks
            .remainder()
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
            .unwrap_or(chunks.remainder().len())
}

fn bad(path: &Path, seq: i64, what: &str) -> StoreError {
    StoreError::Inconsistent {
        path: path.to_path_buf(),
        reason: format!("event {seq}: {what}"),
    }
}

/// Decodes a row selected with [`COLUMNS`]; malformed values are errors
/// naming the file and the sequence number, never panics.
pub(crate) fn decode_row(path: &Path, row: &Row<'_>) -> Result<StoredEvent> {
    decode_row_as(path, row, true)
}

/// [`decode_row`], leaving the parameters of an event that keeps them in
/// its raw bytes unparsed (`params` empty) unless `parse_params`: the
/// chain covers the raw bytes, so verify has no use for them.
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
    let params_from_raw = params.as_deref() == Some(PARAMS_IN_RAW);
    let params: Vec<Param> = match params {
        None => Vec::new(),
        // Parsed at ingest, so they parse again. Should a later parser
        // reject them, the event still reads, with its raw bytes whole and
        // no parameters (the chain does not cover a separate copy of them,
        // so `verify` is unaffected).
        Some(_) if params_from_raw && !parse_params => Vec::new(),
        Some(_) if params_from_raw => netaudit_syslog::params_of(&raw).unwrap_or_default(),
        Some(text) => parse_params_json(&text)
            .map_err(|e| bad(path, seq, &format!("params are not valid JSON: {e}")))?,
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
        params_from_raw,
    };
    Ok(StoredEvent {
        seq: u64::try_from(seq).map_err(|_| bad(path, seq, "negative sequence number"))?,
        epoch: u64::try_from(epoch).map_err(|_| bad(path, seq, "negative epoch"))?,
        ts: row.get(3).map_err(get)?,
        chain: chain
            .try_into()
            .map_err(|_| bad(path, seq, "chain value is not 32 bytes"))?,
        event,
    })
}

/// Opens an existing database file read-only.
pub(crate) fn open_read_only(path: &Path) -> Result<Connection> {
    if !path.exists() {
        return Err(StoreError::Io {
            path: path.to_path_buf(),
            op: "open database",
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .at(path, "open database read-only")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .at(path, "set busy timeout")?;
    // Scans of the unindexed open partition read every page: map the file
    // instead of copying each page through read(2), and keep a partition's
    // pages cached between queries.
    conn.execute_batch("PRAGMA mmap_size=1073741824; PRAGMA cache_size=-4096;")
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => StoreError::Foreign {
                path: path.to_path_buf(),
                reason: "the file is not an SQLite database (or it is corrupt)".into(),
            },
            _ => StoreError::Sqlite {
                path: path.to_path_buf(),
                op: "set read pragmas",
                source: e,
            },
        })?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn param(sd_id: &str, name: &str, value: &str) -> Param {
        Param {
            sd_id: sd_id.into(),
            name: name.into(),
            value: value.into(),
        }
    }

    fn serde_escaped(value: &str) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn groups_runs_of_one_sd_id_and_escapes_like_serde_json() {
        let odd = "say \"hi\" \\ back\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f} é ✓ / ]";
        let params = vec![
            param("junos@2636.1.1.1.2.18", "username", "regress"),
            param("junos@2636.1.1.1.2.18", "command", "commit"),
            param("x", "q", odd),
            param("junos@2636.1.1.1.2.18", "again", ""),
            param("", "", ""),
        ];
        let text = params_json(&params).unwrap();
        assert_eq!(
            text,
            format!(
                r#"[["junos@2636.1.1.1.2.18",[["username","regress"],["command","commit"]]],["x",[["q",{}]]],["junos@2636.1.1.1.2.18",[["again",""]]],["",[["",""]]]]"#,
                serde_escaped(odd)
            )
        );
        assert_eq!(parse_params_json(&text).unwrap(), params);
        assert_eq!(params_json(&[]), None);
    }

    #[test]
    fn finds_the_first_byte_to_escape_in_any_lane() {
        for len in 0..24 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    // Filler with the high bit set and just above the
                    // limits, which must not count.
                    let mut bytes: Vec<u8> = (0..len)
                        .map(|i| [0xff, 0x20, 0x23, 0x5d, 0x80, b'a'][i % 6])
                        .collect();
                    if at < len {
                        bytes[at] = special;
                        // A later hit must not move the first one.
                        if at + 1 < len {
                            bytes[at + 1] = 0;
                        }
                    }
                    assert_eq!(first_to_escape(&bytes), at, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn reads_the_earlier_format() {
        let params = vec![
            param("junos@2636.1.1.1.2.18", "username", "regress"),
            param("x", "q", "a \"b\""),
        ];
        let old = serde_json::to_string(&params).unwrap();
        assert!(old.starts_with("[{"));
        assert_eq!(parse_params_json(&old).unwrap(), params);
        assert_eq!(
            parse_params_json(" [ {\"sd_id\":\"a\",\"name\":\"b\",\"value\":\"c\"}]").unwrap(),
            vec![param("a", "b", "c")]
        );
    }

    #[test]
    fn malformed_params_are_errors() {
        for text in [
            "",
            "[",
            "[[1,[]]]",
            "[[\"a\",[[\"b\"]]]]",
            "[{\"sd_id\":1}]",
            "{}",
        ] {
            assert!(parse_params_json(text).is_err(), "{text:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn round_trips_and_escapes_like_serde_json(
            params in proptest::collection::vec(("\\PC{0,12}", "[ -~]{0,8}", any::<String>(), any::<bool>()), 1..6)
        ) {
            // A flag per parameter: keep the previous SD-ID (runs) or not.
            let mut last = String::new();
            let params: Vec<Param> = params
                .into_iter()
                .map(|(sd_id, name, value, same)| {
                    let sd_id = if same && !last.is_empty() { last.clone() } else { sd_id };
                    last = sd_id.clone();
                    Param { sd_id: sd_id.into(), name: name.into(), value: value.into() }
                })
                .collect();
            let text = params_json(&params).unwrap();
            // Valid JSON whose strings are serde_json's own escapes.
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&serde_json::to_string(&value).unwrap(), &text);
            prop_assert_eq!(parse_params_json(&text).unwrap(), params);
        }
    }
}
