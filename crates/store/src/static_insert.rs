//! The event insert, bound without copies.
//!
//! rusqlite binds every text and blob with `SQLITE_TRANSIENT`, so SQLite
//! allocates a buffer for each value and copies it there before the row is
//! built (which copies it once more): about a sixth of the writer's time,
//! the one thread that bounds ingest. Here values are bound with
//! `SQLITE_STATIC`, borrowing the caller's bytes, and the bindings are
//! cleared before [`StaticInsert::insert`] returns, so SQLite never holds a
//! pointer past the borrow.

// Calls into SQLite's C API; each unsafe block says why it is sound.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr};
use std::marker::PhantomData;
use std::path::Path;
use std::ptr;

use rusqlite::{ffi, Connection};

use crate::error::{Result, StoreError};

/// One bound value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bind<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl<'a> From<Option<&'a str>> for Bind<'a> {
    fn from(value: Option<&'a str>) -> Self {
        value.map_or(Bind::Null, Bind::Text)
    }
}

impl From<Option<i64>> for Bind<'_> {
    fn from(value: Option<i64>) -> Self {
        value.map_or(Bind::Null, Bind::Int)
    }
}

/// A prepared statement on `conn`, finalized on drop; it cannot outlive
/// the connection (the lifetime ties them).
pub(crate) struct StaticInsert<'conn> {
    db: *mut ffi::sqlite3,
    stmt: *mut ffi::sqlite3_stmt,
    params: usize,
    _conn: PhantomData<&'conn Connection>,
}

impl<'conn> StaticInsert<'conn> {
    pub(crate) fn prepare(conn: &'conn Connection, sql: &str, path: &Path) -> Result<Self> {
        let len = c_int::try_from(sql.len()).map_err(|_| {
            failure(
                path,
                "prepare insert",
                ffi::SQLITE_TOOBIG,
                "statement too long".into(),
            )
        })?;
        let mut stmt = ptr::null_mut();
        // SAFETY: `conn` is open for 'conn; `sql` is valid for `len` bytes
        // (SQLite copies what it needs), and `stmt` receives the result.
        unsafe {
            let db = conn.handle();
            let rc = ffi::sqlite3_prepare_v2(
                db,
                sql.as_ptr().cast::<c_char>(),
                len,
                &mut stmt,
                ptr::null_mut(),
            );
            if rc != ffi::SQLITE_OK || stmt.is_null() {
                let message = errmsg(db);
                ffi::sqlite3_finalize(stmt);
                return Err(failure(path, "prepare insert", rc, message));
            }
            let params = usize::try_from(ffi::sqlite3_bind_parameter_count(stmt)).unwrap_or(0);
            Ok(StaticInsert {
                db,
                stmt,
                params,
                _conn: PhantomData,
            })
        }
    }

    /// Binds `values` (one per parameter, in order), runs the statement and
    /// clears the bindings.
    pub(crate) fn insert(&mut self, values: &[Bind<'_>], path: &Path) -> Result<()> {
        if values.len() != self.params {
            return Err(failure(
                path,
                "insert event",
                ffi::SQLITE_RANGE,
                format!("{} values for {} parameters", values.len(), self.params),
            ));
        }
        // SAFETY: `stmt` is a live statement of `db`. Every pointer bound
        // with SQLITE_STATIC borrows from `values`, which outlives this
        // call, and the bindings are cleared (after the reset) before it
        // returns, on every path.
        unsafe {
            let mut rc = ffi::SQLITE_OK;
            for (i, value) in values.iter().enumerate() {
                let index = c_int::try_from(i + 1).unwrap_or(c_int::MAX);
                rc = match *value {
                    Bind::Null => ffi::sqlite3_bind_null(self.stmt, index),
                    Bind::Int(v) => ffi::sqlite3_bind_int64(self.stmt, index, v),
                    Bind::Text(s) => match c_int::try_from(s.len()) {
                        Ok(len) => ffi::sqlite3_bind_text(
                            self.stmt,
                            index,
                            s.as_ptr().cast::<c_char>(),
                            len,
                            ffi::SQLITE_STATIC(),
                        ),
                        Err(_) => ffi::SQLITE_TOOBIG,
                    },
                    Bind::Blob(b) => match c_int::try_from(b.len()) {
                        Ok(len) => ffi::sqlite3_bind_blob(
                            self.stmt,
                            index,
                            b.as_ptr().cast(),
                            len,
                            ffi::SQLITE_STATIC(),
                        ),
                        Err(_) => ffi::SQLITE_TOOBIG,
                    },
                };
                if rc != ffi::SQLITE_OK {
                    break;
                }
            }
            let mut message = String::new();
            if rc == ffi::SQLITE_OK {
                rc = ffi::sqlite3_step(self.stmt);
                if rc == ffi::SQLITE_DONE {
                    rc = ffi::SQLITE_OK;
                } else {
                    rc = ffi::sqlite3_extended_errcode(self.db);
                    message = errmsg(self.db);
                }
            } else {
                message = errmsg(self.db);
            }
            ffi::sqlite3_reset(self.stmt);
            ffi::sqlite3_clear_bindings(self.stmt);
            if rc != ffi::SQLITE_OK {
                return Err(failure(path, "insert event", rc, message));
            }
        }
        Ok(())
    }
}

impl Drop for StaticInsert<'_> {
    fn drop(&mut self) {
        // SAFETY: `stmt` came from sqlite3_prepare_v2 and is finalized once.
        unsafe {
            ffi::sqlite3_finalize(self.stmt);
        }
    }
}

/// SQLite's message for the last error on `db`.
///
/// # Safety
/// `db` must be an open connection.
unsafe fn errmsg(db: *mut ffi::sqlite3) -> String {
    let message = ffi::sqlite3_errmsg(db);
    if message.is_null() {
        String::new()
    } else {
        CStr::from_ptr(message).to_string_lossy().into_owned()
    }
}

fn failure(path: &Path, op: &'static str, code: c_int, message: String) -> StoreError {
    StoreError::Sqlite {
        path: path.to_path_buf(),
        op,
        source: rusqlite::Error::SqliteFailure(ffi::Error::new(code), Some(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_every_kind_and_reports_constraint_errors() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT, b BLOB, n)")
            .unwrap();
        let path = Path::new(":memory:");
        let mut insert = StaticInsert::prepare(
            &conn,
            "INSERT INTO t(id, s, b, n) VALUES (?1, ?2, ?3, ?4)",
            path,
        )
        .unwrap();
        let text = String::from("héllo");
        let blob = vec![0u8, 1, 2];
        insert
            .insert(
                &[
                    Bind::Int(1),
                    Bind::Text(&text),
                    Bind::Blob(&blob),
                    Bind::Null,
                ],
                path,
            )
            .unwrap();
        insert
            .insert(
                &[Bind::Int(2), Bind::Text(""), Bind::Blob(&[]), Bind::Int(7)],
                path,
            )
            .unwrap();
        // The same primary key again: a typed error, and the statement
        // stays usable.
        let err = insert
            .insert(&[Bind::Int(1), Bind::Null, Bind::Null, Bind::Null], path)
            .unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        assert!(insert
            .insert(&[Bind::Int(1)], path)
            .unwrap_err()
            .to_string()
            .contains("1 values for 4 parameters"));
        insert
            .insert(&[Bind::Int(3), Bind::Null, Bind::Null, Bind::Null], path)
            .unwrap();
        drop(insert);
        type Row = (i64, Option<String>, Option<Vec<u8>>, Option<i64>);
        let rows: Vec<Row> = conn
            .prepare("SELECT id, s, b, n FROM t ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, Some(text), Some(blob), None),
                (2, Some(String::new()), Some(Vec::new()), Some(7)),
                (3, None, None, None),
            ]
        );
    }
}
