//! The users of a cluster on PostgreSQL (`store.backend = "postgres"`):
//! users, password hashes, API tokens' digests, lock states and the
//! lockout counters in the shared database (`netaudit_pgstore`'s users and
//! lockout), so that every node sees the same users and a brute force
//! spread over nodes is counted in one place.
//!
//! Connections come from a small pool, opened on first use (callers run
//! on the blocking pool: the synchronous client must not run on an async
//! worker); each new one checks the schema first, so a database not
//! migrated is named as such.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use netaudit_pgstore::{ConnectionSpec, QueuedAudit};
use postgres::Client;

use super::error::AuthError;

/// Idle connections kept for reuse.
const POOL_KEEP: usize = 4;

/// A connection idle this long is checked before reuse (the database may
/// have restarted or failed over meanwhile: one round trip rather than a
/// failed request).
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// How long that check waits.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a node holds queued audit events it took before another node
/// may take them again (it died before storing them).
pub(crate) const OUTBOX_HOLD: Duration = Duration::from_secs(60);

/// The shared users' database.
pub(crate) struct SharedUsers {
    spec: ConnectionSpec,
    /// Who takes queued audit events (the node id; `netaudit user` never does).
    node: String,
    /// Idle connections and since when.
    idle: Mutex<Vec<(Client, Instant)>>,
}

/// A connection taken from the pool; it goes back when dropped unless the
/// session broke.
pub(super) struct PgConn<'a> {
    users: &'a SharedUsers,
    client: Option<Client>,
}

impl PgConn<'_> {
    pub(super) fn client(&mut self) -> &mut Client {
        // Present from creation until drop.
        self.client.as_mut().expect("pooled client present")
    }

    pub(super) fn target(&self) -> &str {
        self.users.spec.target()
    }
}

impl Drop for PgConn<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if client.is_closed() {
                return;
            }
            let mut idle = self.users.idle();
            if idle.len() < POOL_KEEP {
                idle.push((client, Instant::now()));
            }
        }
    }
}

impl SharedUsers {
    /// Users in the database `spec` names, for node `node`. Connects on
    /// first use.
    pub(crate) fn new(spec: ConnectionSpec, node: &str) -> SharedUsers {
        SharedUsers {
            spec,
            node: node.to_string(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// `host:port/db as user`, for messages.
    pub(crate) fn target(&self) -> &str {
        self.spec.target()
    }

    pub(crate) fn node(&self) -> &str {
        &self.node
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(Client, Instant)>> {
        // A plain list: a panic elsewhere leaves it consistent.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection: an idle one, or a new one (schema checked).
    pub(super) fn conn(&self) -> Result<PgConn<'_>, AuthError> {
        let client = match self.reusable() {
            Some(client) => client,
            None => {
                let mut client = self.spec.connect()?;
                netaudit_pgstore::check_schema(&mut client, self.spec.target())?;
                client
            }
        };
        Ok(PgConn {
            users: self,
            client: Some(client),
        })
    }
}

impl Drop for SharedUsers {
    /// The synchronous client runs a runtime of its own to close: the idle
    /// ones are dropped on a thread of their own, since the last owner may
    /// be an async task (a server shutting down).
    fn drop(&mut self) {
        let idle = std::mem::take(&mut *self.idle());
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

impl SharedUsers {
    /// An idle connection that still works, if any (broken ones are dropped).
    fn reusable(&self) -> Option<Client> {
        loop {
            let (mut client, since) = self.idle().pop()?;
            if client.is_closed() {
                continue;
            }
            if since.elapsed() < CHECK_AFTER_IDLE || client.is_valid(CHECK_TIMEOUT).is_ok() {
                return Some(client);
            }
        }
    }
}

/// The event queued with a change, as the outbox keeps it.
pub(super) fn queued(text: Option<&str>, created_ns: i64) -> Option<QueuedAudit<'_>> {
    text.map(|event| QueuedAudit { event, created_ns })
}
