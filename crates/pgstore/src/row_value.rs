//! Reading a fetched row's columns without panicking: a NULL, or a type
//! the schema does not give (a table altered by hand), is a
//! [`PgStoreError::BadValue`] naming the table, the column and the row,
//! where `Row::get` would panic.

use postgres::types::{FromSql, WasNull};
use postgres::Row;

use crate::connection::error_chain;
use crate::error::{PgStoreError, Result};

/// One row of `table`, read column by column.
pub(crate) struct RowValues<'r> {
    row: &'r Row,
    target: &'r str,
    table: &'static str,
    place: String,
}

impl<'r> RowValues<'r> {
    /// `place` says which row it is in an error (`node "n1", sequence 5`).
    pub(crate) fn new(row: &'r Row, target: &'r str, table: &'static str, place: String) -> Self {
        RowValues {
            row,
            target,
            table,
            place,
        }
    }

    /// Names the row once its key columns are read.
    pub(crate) fn set_place(&mut self, place: String) {
        self.place = place;
    }

    /// The value of column `idx`.
    pub(crate) fn get<T: FromSql<'r>>(&self, idx: usize) -> Result<T> {
        self.row.try_get(idx).map_err(|e| {
            let detail = if std::error::Error::source(&e).is_some_and(|s| s.is::<WasNull>()) {
                "NULL where the schema requires a value".into()
            } else {
                error_chain(&e).into()
            };
            PgStoreError::BadValue {
                target: self.target.to_string(),
                table: self.table,
                column: self
                    .row
                    .columns()
                    .get(idx)
                    .map_or_else(|| format!("#{idx}").into(), |c| c.name().into()),
                row: self.place.as_str().into(),
                detail,
            }
        })
    }
}
