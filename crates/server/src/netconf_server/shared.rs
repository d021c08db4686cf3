//! What every connection of the exporter shares: configuration, the
//! users database and its login policy, the session limits, the pipeline
//! for the audit events; and one NETCONF session run with its events.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;

use netaudit_event::Event;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::task::TaskTracker;

use super::events::{self, Client, EXPORTER_APP};
use super::limits::SessionLimits;
use super::session::{self, SessionContext};
use crate::auth::{AuthDb, LoginOutcome, Policy};
use crate::config::netconf_server::NetconfServerConfig;
use crate::metrics::netconf_server::NetconfServerMetrics;
use crate::pipeline::origin::Chunk;

/// What every connection shares.
pub(crate) struct Shared {
    pub(super) config: NetconfServerConfig,
    pub(super) authorized_keys: PathBuf,
    pub(super) auth: Arc<AuthDb>,
    pub(super) policy: Policy,
    /// Bounds the argon2 work of password checks.
    pub(super) passwords: Semaphore,
    pub(super) limits: SessionLimits,
    pub(super) events: mpsc::Sender<Chunk>,
    pub(super) session: SessionContext,
    pub(super) next_session_id: AtomicU32,
    pub(super) tasks: TaskTracker,
}

impl Shared {
    pub(super) fn metrics(&self) -> &NetconfServerMetrics {
        &self.session.metrics.netconf_server
    }

    /// Stores one audit event through the pipeline.
    pub(super) async fn record(&self, event: Event) {
        if self
            .events
            .send(Chunk::internal(vec![event.into()]))
            .await
            .is_ok()
        {
            self.session.metrics.internal_events.fetch_add(1, Relaxed);
        } else {
            tracing::error!("NETCONF exporter: the pipeline is closed; a session event is lost");
        }
    }

    pub(super) async fn record_auto_lock(&self, user: &str, peer: &str) {
        let recorded = netaudit_event::recorded_user_name(user);
        match crate::self_events::audit_event(
            "JUNOSCOPE_USER_AUTO_LOCKED",
            &[("username", recorded.as_ref()), ("client-address", peer)],
            &[],
            EXPORTER_APP,
        ) {
            Ok(event) => self.record(event).await,
            Err(err) => {
                tracing::error!(error = %err, "NETCONF exporter: cannot make the lock event")
            }
        }
    }

    /// The password check of the HTTP login: the same policy, the same
    /// count of failures toward the lock.
    pub(super) async fn check_password(
        &self,
        user: &str,
        password: &str,
    ) -> Result<LoginOutcome, String> {
        let _permit = self.passwords.acquire().await;
        let auth = self.auth.clone();
        let (name, password) = (user.to_string(), password.to_string());
        let policy = self.policy;
        let now = crate::auth::now_ns();
        tokio::task::spawn_blocking(move || auth.check_login(&name, &password, policy, now))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    /// One NETCONF session on an authenticated channel, with its events.
    pub(super) async fn run_session<S>(&self, io: S, peer: &str, user: &str, method: &'static str)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let id = self.next_session_id.fetch_add(1, Relaxed).max(1);
        let client = Client { peer, user, method };
        let session = match session::hello(io, id, self.session.clone()).await {
            Ok(session) => session,
            Err(reason) => {
                self.metrics().protocol_errors.fetch_add(1, Relaxed);
                tracing::warn!(peer, user, reason = %reason, "NETCONF exporter: hello failed");
                self.record(events::failed(&client, "hello", &reason)).await;
                return;
            }
        };
        let metrics = self.metrics();
        metrics.sessions.fetch_add(1, Relaxed);
        metrics.sessions_open.fetch_add(1, Relaxed);
        tracing::info!(peer, user, method, negotiated = %session.negotiated, "NETCONF exporter: session established");
        self.record(events::established(&client, id, &session.negotiated))
            .await;
        let (end, sent) = session.serve().await;
        metrics.sessions_open.fetch_sub(1, Relaxed);
        tracing::info!(peer, user, reason = %end.reason(), sent, "NETCONF exporter: session ended");
        self.record(events::terminated(&client, id, &end.reason(), sent))
            .await;
    }
}
