//! What the handlers share, and the one way their events reach the store:
//! each request's events go to the store writer as a batch of their own and
//! the request is answered only after it has committed, with the sequence
//! numbers from the writer's acknowledgement.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use netaudit_event::Event;
use netaudit_syslog::RawBackedEvent;
use tokio::sync::mpsc;

use super::error::ApiError;
use super::session::Sessions;
use super::throttle::{ClientFailures, PasswordGate};
use crate::auth::{AuthDb, AuthError, Policy};
use crate::config::ApiConfig;
use crate::metrics::Metrics;
use crate::output::control::ControlRequest;
use crate::pipeline::batcher::BatchHandle;
use crate::self_events::API_APP;

/// How long a request waits for its events' commit before answering 503
/// (the store writer retries a failing append every second meanwhile).
pub(super) const COMMIT_WAIT: Duration = Duration::from_secs(30);

/// What the handlers share.
pub(crate) struct ApiState {
    pub auth: Arc<AuthDb>,
    /// Weak, so that the writer thread ends at shutdown once the batcher
    /// has handed over its last batch.
    writer: mpsc::WeakSender<BatchHandle>,
    store: Option<Arc<netaudit_store::Store>>,
    /// Every node's events when the server is a node on PostgreSQL.
    cluster: Option<Arc<netaudit_pgstore::GlobalReader>>,
    /// On PostgreSQL: the folders holding the nodes' verify keys.
    verify_key_folders: Vec<std::path::PathBuf>,
    pub(crate) metrics: Arc<Metrics>,
    pub(super) sessions: Sessions,
    pub(crate) config: ApiConfig,
    /// Requests to the serve loop (output reload and listing).
    pub(super) control: Option<mpsc::Sender<ControlRequest>>,
    /// The bound on concurrent argon2 work.
    pub(super) passwords: PasswordGate,
    /// Failed logins per client address.
    pub(super) client_failures: ClientFailures,
}

impl ApiState {
    pub(crate) fn new(
        auth: AuthDb,
        writer: mpsc::WeakSender<BatchHandle>,
        store: Option<Arc<netaudit_store::Store>>,
        metrics: Arc<Metrics>,
        config: ApiConfig,
    ) -> ApiState {
        ApiState {
            auth: Arc::new(auth),
            writer,
            store,
            cluster: None,
            verify_key_folders: Vec::new(),
            metrics,
            sessions: Sessions::default(),
            passwords: PasswordGate::per_core(),
            client_failures: ClientFailures::new(
                config.client_max_login_failures,
                Duration::from_secs(config.client_login_window_secs),
            ),
            config,
            control: None,
        }
    }

    /// Queries read every node's events from PostgreSQL.
    pub(crate) fn with_cluster(
        mut self,
        cluster: Option<Arc<netaudit_pgstore::GlobalReader>>,
    ) -> ApiState {
        self.cluster = cluster;
        self
    }

    /// Where verify reads the nodes' verify keys on PostgreSQL
    /// (`api::node_verify`).
    pub(crate) fn with_verify_key_folders(mut self, folders: Vec<std::path::PathBuf>) -> ApiState {
        self.verify_key_folders = folders;
        self
    }

    pub(crate) fn verify_key_folders(&self) -> Vec<std::path::PathBuf> {
        self.verify_key_folders.clone()
    }

    /// The PostgreSQL store's reader, on a node of a cluster.
    pub(crate) fn cluster(&self) -> Option<Arc<netaudit_pgstore::GlobalReader>> {
        self.cluster.clone()
    }

    /// Lets the API reload and list the outputs through the serve loop.
    pub(crate) fn with_control(mut self, control: mpsc::Sender<ControlRequest>) -> ApiState {
        self.control = Some(control);
        self
    }

    pub(super) fn policy(&self) -> Policy {
        Policy {
            max_login_attempts: self.config.max_login_attempts,
            access_window_ns: secs_to_ns(self.config.access_window_secs),
            lockout_ns: self.config.lockout_secs.map(secs_to_ns),
        }
    }

    /// Runs `work` on the auth database on the blocking pool: SQLite may
    /// wait for another process's lock (up to `auth::BUSY_TIMEOUT`) and must
    /// not hold an async worker meanwhile.
    pub(crate) async fn db<T: Send + 'static>(
        &self,
        work: impl FnOnce(&AuthDb) -> Result<T, AuthError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let auth = self.auth.clone();
        Ok(tokio::task::spawn_blocking(move || work(&auth))
            .await
            .map_err(ApiError::internal)??)
    }

    pub(crate) fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.config.session_idle_timeout_secs)
    }

    pub(crate) fn store(&self) -> Result<Arc<netaudit_store::Store>, ApiError> {
        self.store.clone().ok_or_else(|| {
            if self.cluster.is_some() {
                ApiError::unavailable(
                    "not available on a PostgreSQL store yet (docs/cluster.md); GET /api/v1/events, the event stream, export, verify and the NDcPP report are",
                )
            } else {
                ApiError::unavailable("this server runs without a store")
            }
        })
    }

    /// Hands `events` to the store writer and waits for the commit; returns
    /// their sequence numbers (consecutive: one transaction).
    pub(crate) async fn commit(&self, events: Vec<Event>) -> Result<Vec<u64>, ApiError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let count = events.len() as u64;
        let writer = self
            .writer
            .upgrade()
            .ok_or_else(|| ApiError::unavailable("the server is shutting down"))?;
        let events = events.into_iter().map(RawBackedEvent::from).collect();
        let (batch, ack) = BatchHandle::acknowledged(events);
        self.metrics.pending.fetch_add(count, Relaxed);
        if writer.send(batch).await.is_err() {
            return Err(ApiError::unavailable("the store writer has stopped"));
        }
        drop(writer);
        let last = match tokio::time::timeout(COMMIT_WAIT, ack).await {
            Ok(Ok(last)) => last,
            Ok(Err(_)) => {
                return Err(ApiError::unavailable(
                    "the store writer stopped before committing",
                ))
            }
            // The batch stays queued and is committed once the store
            // recovers; the caller only stops waiting.
            Err(_) => return Err(ApiError::unavailable(queued_message())),
        };
        let first = last.saturating_add(1).saturating_sub(count);
        Ok((first..=last).collect())
    }

    /// Records one catalog event made by netaudit itself (logins, user
    /// changes); waits for its commit.
    pub(crate) async fn audit(&self, code: &str, vars: &[(&str, &str)]) -> Result<u64, ApiError> {
        self.audit_with(code, vars, &[]).await
    }

    /// Like [`ApiState::audit`] with extra parameters in netaudit's own
    /// SD element (e.g. the login failure reason).
    pub(crate) async fn audit_with(
        &self,
        code: &str,
        vars: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Result<u64, ApiError> {
        let event = audit_event(code, vars, extra, API_APP)?;
        let seqs = self.commit(vec![event]).await?;
        seqs.last()
            .copied()
            .ok_or_else(|| ApiError::internal("commit returned no sequence number"))
    }
}

/// The 503 of a commit that did not finish in [`COMMIT_WAIT`] although
/// its events were handed over: they will be stored.
fn queued_message() -> String {
    format!(
        "the store has not committed within {} s (see /health); the events are queued and will be stored once it recovers",
        COMMIT_WAIT.as_secs()
    )
}

/// True when `err` is [`ApiState::commit`]'s answer for events that are
/// queued and will be stored (as opposed to events that were not taken).
pub(super) fn commit_was_queued(err: &ApiError) -> bool {
    err.message == queued_message()
}

fn secs_to_ns(secs: u64) -> i64 {
    i64::try_from(secs)
        .unwrap_or(i64::MAX / 1_000_000_000)
        .saturating_mul(1_000_000_000)
}

/// A catalog event made by netaudit itself (`app` names which part); a
/// catalog failure is an internal error of this server.
pub(crate) fn audit_event(
    code: &str,
    vars: &[(&str, &str)],
    extra: &[(&str, &str)],
    app: &str,
) -> Result<Event, ApiError> {
    crate::self_events::audit_event(code, vars, extra, app).map_err(ApiError::internal)
}
