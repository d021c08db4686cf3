//! The audit outbox: events of changes made by `netaudit user` while a
//! server owns the store, until that server moves them into the store.

use rusqlite::params;

use super::db::AuthDb;
use super::error::AuthError;
use super::shared_users::OUTBOX_HOLD;

impl AuthDb {
    /// Up to `limit` queued audit events, oldest first, with their ids. A
    /// row that is not a valid event (edited by hand) comes back as an
    /// unparsed event carrying its text, so that it is stored, not lost.
    pub(crate) fn outbox(
        &self,
        limit: usize,
    ) -> Result<Vec<(i64, netaudit_event::Event)>, AuthError> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT id, event, created_ns FROM audit_outbox ORDER BY id LIMIT ?1")?;
        let rows = stmt.query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (id, text, created_ns) = row?;
            events.push((id, queued_event(id, text, created_ns)));
        }
        Ok(events)
    }

    /// Forgets queued audit events up to `id` (they are in the store).
    pub(crate) fn remove_from_outbox(&self, through_id: i64) -> Result<usize, AuthError> {
        Ok(self.conn()?.execute(
            "DELETE FROM audit_outbox WHERE id <= ?1",
            params![through_id],
        )?)
    }
}

/// A queued event; a row edited into garbage is handed over as an
/// unparsed event rather than lost.
fn queued_event(id: i64, text: String, created_ns: i64) -> netaudit_event::Event {
    serde_json::from_str(&text).unwrap_or_else(|e| netaudit_event::Event {
        received_ns: created_ns,
        raw: text.clone().into_bytes(),
        parse_error: Some(format!("audit outbox row {id} is not a valid event: {e}").into()),
        ..netaudit_event::Event::default()
    })
}

impl AuthDb {
    /// On a PostgreSQL store, takes up to `limit` audit events queued in the
    /// database (`netaudit user --store`) for this node to store, for
    /// [`OUTBOX_HOLD`]; empty on `auth.db`.
    pub(crate) fn claim_shared_outbox(
        &self,
        limit: usize,
    ) -> Result<Vec<(i64, netaudit_event::Event)>, AuthError> {
        let Some(shared) = &self.shared else {
            return Ok(Vec::new());
        };
        let mut c = shared.conn()?;
        let target = c.target().to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows =
            netaudit_pgstore::claim_outbox(c.client(), &target, shared.node(), limit, OUTBOX_HOLD)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.id, queued_event(r.id, r.event, r.created_ns)))
            .collect())
    }

    /// Removes stored events from the database's outbox.
    pub(crate) fn remove_from_shared_outbox(&self, ids: &[i64]) -> Result<u64, AuthError> {
        let Some(shared) = &self.shared else {
            return Ok(0);
        };
        let mut c = shared.conn()?;
        let target = c.target().to_string();
        Ok(netaudit_pgstore::remove_from_outbox(
            c.client(),
            &target,
            ids,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::super::error::AuthError;
    use super::super::schema::SCHEMA_V1;
    use super::AuthDb;

    #[test]
    fn a_version_1_database_gains_the_outbox_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "BEGIN; {SCHEMA_V1} PRAGMA user_version = 1; COMMIT;"
            ))
            .unwrap();
            conn.execute(
                "INSERT INTO users (name, role, password_hash, created_ns) VALUES ('old', 'admin', 'x', 1)",
                [],
            )
            .unwrap();
        }
        let db = AuthDb::open(&path).unwrap();
        assert!(db.user("old").unwrap().is_some(), "users kept");
        let event = netaudit_event::Event {
            code: Some("JUNOSCOPE_USER_LOCKED_BY_ADMIN".into()),
            ..netaudit_event::Event::default()
        };
        db.set_locked_audited("old", true, Some(&event)).unwrap();
        // A refused change queues nothing.
        assert!(db.set_locked_audited("ghost", true, Some(&event)).is_err());
        let queued = db.outbox(10).unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].1, event);
        assert_eq!(db.remove_from_outbox(queued[0].0).unwrap(), 1);
        assert!(db.outbox(10).unwrap().is_empty());
        // A row edited into garbage is handed over as an unparsed event.
        db.with_conn(|c| {
            c.execute(
                "INSERT INTO audit_outbox (event, created_ns) VALUES ('not json', 5)",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        let garbage = db.outbox(10).unwrap();
        assert_eq!(garbage[0].1.raw, b"not json");
        assert!(garbage[0]
            .1
            .parse_error
            .as_deref()
            .unwrap()
            .contains("not a valid event"));
        drop(db);
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 4;")
            .unwrap();
        assert!(matches!(
            AuthDb::open(&path),
            Err(AuthError::SchemaTooNew(4))
        ));
    }
}
