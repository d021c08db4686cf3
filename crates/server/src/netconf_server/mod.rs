//! `[netconf_server]`: netaudit as a NETCONF server over SSH, exporting
//! its own stream (RFC 5277 subscriptions with replay from the store, and
//! Junos `<get-syslog-events>` so that another netaudit can collect from
//! it). docs/netconf.md, "The exporter".
//!
//! ```text
//! host_key.rs         the SSH host key: read, or made on the first start (0600)
//! authorized_keys.rs  the public keys of each user (one file per user)
//! limits.rs           sessions in total and per user
//! ssh.rs              russh server: authentication, the netconf subsystem
//! wire.rs             messages in and out in the negotiated framing
//! shared.rs           what the connections share; one session with its events
//! session.rs          the hello, each <rpc> answered, the feed sent between
//! feed.rs             the store read by sequence: replay, then live commits
//! events.rs           the audit events of the sessions
//! ```

pub(crate) mod authorized_keys;
pub(crate) mod events;
pub(crate) mod feed;
pub(crate) mod host_key;
pub(crate) mod limits;
pub(crate) mod session;
#[cfg(test)]
mod session_tests;
pub(crate) mod shared;
pub(crate) mod ssh;
pub(crate) mod wire;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::{AuthDb, Policy};
use crate::config::netconf_server::NetconfServerConfig;
use crate::config::{ApiConfig, StoreConfig};
use crate::metrics::Metrics;
use crate::pipeline::origin::Chunk;
use events::Client;
use limits::SessionLimits;
use session::SessionContext;
use shared::Shared;
use ssh::ClientHandler;

/// What the exporter needs from `serve`.
pub(crate) struct ExporterContext {
    pub store: Arc<netaudit_store::Store>,
    pub metrics: Arc<Metrics>,
    /// The pipeline, for the audit events of the sessions.
    pub events: mpsc::Sender<Chunk>,
}

/// The running exporter.
pub(crate) struct NetconfExporter {
    cancel: CancellationToken,
    accept: JoinHandle<()>,
    tasks: TaskTracker,
}

impl NetconfExporter {
    /// Binds the address, reads or makes the host key, and accepts
    /// clients; `None` when `[netconf_server]` is off.
    pub(crate) async fn start(
        config: &NetconfServerConfig,
        store_config: &StoreConfig,
        api: &ApiConfig,
        ctx: ExporterContext,
    ) -> anyhow::Result<Option<NetconfExporter>> {
        if !config.enabled {
            return Ok(None);
        }
        let host_key = host_key::load_or_create(&config.host_key_path(store_config))?;
        let auth = AuthDb::open_for(api, store_config)
            .context("netconf_server: cannot open the users database")?;
        let listener = TcpListener::bind(config.address).await.with_context(|| {
            format!(
                "netconf_server.address: cannot listen on {}",
                config.address
            )
        })?;
        let mut methods = russh::MethodSet::empty();
        methods.push(russh::MethodKind::PublicKey);
        if config.password_auth {
            methods.push(russh::MethodKind::Password);
        }
        let ssh_config = Arc::new(russh::server::Config {
            methods,
            keys: vec![host_key],
            keepalive_interval: Some(config.keepalive_interval),
            keepalive_max: 3,
            // Keepalives find a dead client; a subscriber that only
            // listens is not idle.
            inactivity_timeout: None,
            max_auth_attempts: 6,
            nodelay: true,
            ..russh::server::Config::default()
        });
        let cancel = CancellationToken::new();
        let tasks = TaskTracker::new();
        ctx.metrics.netconf_server.enabled.store(true, Relaxed);
        let shared = Arc::new(Shared {
            config: config.clone(),
            authorized_keys: config.authorized_keys_path(store_config),
            auth: Arc::new(auth),
            policy: login_policy(api),
            passwords: Semaphore::new(2),
            limits: SessionLimits::new(config.max_sessions, config.max_sessions_per_user),
            events: ctx.events,
            session: SessionContext {
                committed: ctx.metrics.committed.clone(),
                store: ctx.store,
                metrics: ctx.metrics,
                cancel: cancel.clone(),
                hello_timeout: config.handshake_timeout,
            },
            next_session_id: AtomicU32::new(1),
            tasks: tasks.clone(),
        });
        tracing::info!(address = %config.address, "NETCONF exporter listening (SSH, subsystem netconf)");
        let accept = tokio::spawn(accept_loop(listener, shared, ssh_config, cancel.clone()));
        Ok(Some(NetconfExporter {
            cancel,
            accept,
            tasks,
        }))
    }

    /// Ends every session (each stores its termination event) and waits
    /// for them, so that nothing holds the pipeline open after.
    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        let _ = self.accept.await;
        self.tasks.close();
        self.tasks.wait().await;
    }
}

fn login_policy(api: &ApiConfig) -> Policy {
    let ns = |secs: u64| {
        i64::try_from(secs)
            .unwrap_or(i64::MAX / 1_000_000_000)
            .saturating_mul(1_000_000_000)
    };
    Policy {
        max_login_attempts: api.max_login_attempts,
        access_window_ns: ns(api.access_window_secs),
        lockout_ns: api.lockout_secs.map(ns),
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    config: Arc<russh::server::Config>,
    cancel: CancellationToken,
) {
    loop {
        let (socket, peer) = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %err, "NETCONF exporter: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = socket.set_nodelay(true);
        shared.tasks.spawn(connection(
            socket,
            peer.to_string(),
            shared.clone(),
            config.clone(),
            cancel.clone(),
        ));
    }
}

/// One SSH connection: the handshake and authentication must lead to the
/// netconf subsystem within the handshake timeout.
async fn connection(
    socket: tokio::net::TcpStream,
    peer: String,
    shared: Arc<Shared>,
    config: Arc<russh::server::Config>,
    cancel: CancellationToken,
) {
    let started = Arc::new(AtomicBool::new(false));
    let handler = ClientHandler::new(shared.clone(), peer.clone(), started.clone());
    let timeout = shared.config.handshake_timeout;
    let failed = |reason: String| {
        let shared = shared.clone();
        let peer = peer.clone();
        async move {
            let client = Client {
                peer: &peer,
                user: "-",
                method: "-",
            };
            tracing::warn!(peer = %peer, reason = %reason, "NETCONF exporter: connection failed");
            shared
                .record(events::failed(&client, "ssh-handshake", &reason))
                .await;
        }
    };
    let mut session =
        match tokio::time::timeout(timeout, russh::server::run_stream(config, socket, handler))
            .await
        {
            Ok(Ok(session)) => session,
            Ok(Err(err)) => return failed(format!("SSH: {err}")).await,
            Err(_) => {
                return failed(format!(
                    "no SSH identification within {} s",
                    timeout.as_secs()
                ))
                .await
            }
        };
    let handle = session.handle();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut deadline_passed = false;
    let result = loop {
        tokio::select! {
            result = &mut session => break Some(result),
            _ = &mut deadline, if !deadline_passed => {
                // The subsystem may have started since this select began.
                deadline_passed = true;
                if started.load(Relaxed) {
                    continue;
                }
                let _ = handle
                    .disconnect(russh::Disconnect::ByApplication, "handshake timeout".into(), "en".into())
                    .await;
                failed(format!(
                    "the client did not authenticate and start the netconf subsystem within {} s",
                    timeout.as_secs()
                ))
                .await;
                break None;
            }
            _ = cancel.cancelled() => {
                // The NETCONF session records its own end; then the connection goes.
                let _ = handle
                    .disconnect(russh::Disconnect::ByApplication, "netaudit is stopping".into(), "en".into())
                    .await;
                break None;
            }
        }
    };
    if let Some(Err(err)) = result {
        if !started.load(Relaxed) {
            failed(format!("SSH: {err}")).await;
        } else {
            tracing::debug!(peer = %peer, error = %err, "NETCONF exporter: SSH connection ended with an error");
        }
    }
    // Bounded: russh ends the session once disconnected.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), session).await;
}
