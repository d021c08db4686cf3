//! A batch's event rows, inserted several per statement.
//!
//! One `INSERT ... VALUES (..), (..), ...` of [`ROWS_PER_STATEMENT`] rows
//! runs SQLite's statement start, transaction check, cursor opening, halt
//! and reset once for all of them instead of once per row; the rows are
//! the same, column for column. A batch's last rows, fewer than a group,
//! go in one statement prepared for their count.

use std::path::Path;

use rusqlite::Connection;

use crate::encoding::EncodedFields;
use crate::error::Result;
use crate::rows::{insert_sql, COLUMN_COUNT};
use crate::static_insert::{Bind, StaticInsert};

/// Rows per statement: the statement start is then a few percent of a
/// row's cost; 640 parameters stay far under SQLite's limit (32,766, or
/// 999 in builds before 3.32).
pub(crate) const ROWS_PER_STATEMENT: usize = 32;

/// One event row, every column but those the encoding gives.
pub(crate) struct EventRow<'a> {
    pub(crate) seq: i64,
    pub(crate) epoch: i64,
    pub(crate) fields: EncodedFields<'a>,
    /// The `params` column.
    pub(crate) params: Option<&'a str>,
    pub(crate) chain: [u8; 32],
}

/// Rows gathered into groups, each group one statement, inside the
/// caller's transaction.
pub(crate) struct EventInsert<'conn, 'a> {
    conn: &'conn Connection,
    path: &'conn Path,
    /// The statement for a whole group, prepared at the first one.
    group: Option<StaticInsert<'conn>>,
    pending: Vec<EventRow<'a>>,
}

impl<'conn, 'a> EventInsert<'conn, 'a> {
    pub(crate) fn new(conn: &'conn Connection, path: &'conn Path) -> Self {
        EventInsert {
            conn,
            path,
            group: None,
            pending: Vec::with_capacity(ROWS_PER_STATEMENT),
        }
    }

    /// Adds a row; a full group is inserted at once.
    pub(crate) fn push(&mut self, row: EventRow<'a>) -> Result<()> {
        self.pending.push(row);
        if self.pending.len() < ROWS_PER_STATEMENT {
            return Ok(());
        }
        if self.group.is_none() {
            self.group = Some(StaticInsert::prepare(
                self.conn,
                &insert_sql(ROWS_PER_STATEMENT),
                self.path,
            )?);
        }
        let Some(statement) = self.group.as_mut() else {
            unreachable!("prepared just above")
        };
        run(statement, &self.pending, self.path)?;
        self.pending.clear();
        Ok(())
    }

    /// Inserts the rows of the last, partial group.
    pub(crate) fn finish(self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut statement =
            StaticInsert::prepare(self.conn, &insert_sql(self.pending.len()), self.path)?;
        run(&mut statement, &self.pending, self.path)
    }
}

/// Binds `rows` in column order and runs `statement`.
fn run(statement: &mut StaticInsert<'_>, rows: &[EventRow<'_>], path: &Path) -> Result<()> {
    let mut values = Vec::with_capacity(rows.len() * COLUMN_COUNT);
    for row in rows {
        let f = &row.fields;
        values.extend_from_slice(&[
            Bind::Int(row.seq),
            Bind::Int(row.epoch),
            Bind::Int(f.received_ns),
            // As `query_time`.
            Bind::Int(f.time_ns.unwrap_or(f.received_ns)),
            f.time_ns.into(),
            f.severity.map(i64::from).into(),
            f.facility.map(i64::from).into(),
            f.code.into(),
            f.user.into(),
            f.host.into(),
            f.device.into(),
            f.app.into(),
            f.pid.into(),
            f.client_addr.into(),
            f.operation.into(),
            row.params.into(),
            f.message.into(),
            f.parse_error.into(),
            Bind::Blob(f.raw),
            Bind::Blob(&row.chain),
        ]);
    }
    statement.insert(&values, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{decode_fields, encode_event};
    use crate::rows::COLUMNS;
    use crate::schema::PARTITION_MIGRATIONS;
    use netaudit_event::Event;

    fn encoding(i: usize) -> Vec<u8> {
        let event = Event {
            received_ns: i as i64,
            time_ns: i.is_multiple_of(2).then_some(1_000 + i as i64),
            host: Some(format!("h{i}").into()),
            message: Some("m".into()),
            raw: format!("raw {i}").into_bytes(),
            ..Event::default()
        };
        let mut out = Vec::new();
        encode_event(&event, &mut out);
        out
    }

    /// Every count around the group size gives its rows, in order, each
    /// with its own columns.
    #[test]
    fn inserts_every_row_whatever_the_count() {
        for count in [0, 1, 2, 31, 32, 33, 64, 65, 100] {
            let conn = Connection::open_in_memory().unwrap();
            conn.execute_batch(PARTITION_MIGRATIONS[0]).unwrap();
            let path = Path::new(":memory:");
            let encodings: Vec<Vec<u8>> = (0..count).map(encoding).collect();
            let mut insert = EventInsert::new(&conn, path);
            for (i, e) in encodings.iter().enumerate() {
                insert
                    .push(EventRow {
                        seq: i as i64 + 1,
                        epoch: 7,
                        fields: decode_fields(e).unwrap(),
                        params: i.is_multiple_of(3).then_some("raw"),
                        chain: [i as u8; 32],
                    })
                    .unwrap();
            }
            insert.finish().unwrap();
            type Row = (
                i64,
                i64,
                i64,
                Option<String>,
                Option<String>,
                Vec<u8>,
                Vec<u8>,
            );
            let rows: Vec<Row> = conn
                .prepare("SELECT seq, ts, received_ns, host, params, raw, chain FROM events ORDER BY seq")
                .unwrap()
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(rows.len(), count, "{count} rows");
            for (i, row) in rows.iter().enumerate() {
                let ts = if i.is_multiple_of(2) {
                    1_000 + i as i64
                } else {
                    i as i64
                };
                assert_eq!(row.0, i as i64 + 1);
                assert_eq!((row.1, row.2), (ts, i as i64));
                assert_eq!(row.3.as_deref(), Some(format!("h{i}").as_str()));
                assert_eq!(row.4.as_deref(), i.is_multiple_of(3).then_some("raw"));
                assert_eq!(row.5, format!("raw {i}").into_bytes());
                assert_eq!(row.6, vec![i as u8; 32]);
            }
        }
    }

    /// A row SQLite refuses fails its group's statement with a typed error.
    #[test]
    fn a_refused_row_fails_the_insert() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(PARTITION_MIGRATIONS[0]).unwrap();
        let e = encoding(1);
        let mut insert = EventInsert::new(&conn, Path::new("p.db"));
        let row = |seq| EventRow {
            seq,
            epoch: 0,
            fields: decode_fields(&e).unwrap(),
            params: None,
            chain: [0; 32],
        };
        insert.push(row(1)).unwrap();
        insert.push(row(1)).unwrap();
        let err = insert.finish().unwrap_err().to_string();
        assert!(err.contains("UNIQUE") && err.contains("p.db"), "{err}");
    }

    #[test]
    fn the_statement_names_each_column_once_per_row() {
        assert_eq!(COLUMNS.split(", ").count(), COLUMN_COUNT);
        let sql = insert_sql(3);
        assert_eq!(sql.matches('?').count(), 3 * COLUMN_COUNT);
        assert_eq!(sql.matches("), (").count(), 2);
    }
}
