//! `/health`, `/metrics` and the API over HTTP/1.1 (axum on hyper), with
//! the port's connection limits and header timeout.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio_util::sync::CancellationToken;

use tower_service::Service;

use crate::config::HttpConfig;
use crate::metrics::Metrics;

/// Binds `http.address` and serves until `cancel` fires: each connection
/// on its own task, within the port's connection limits (total and per
/// client address; beyond them a connection is closed at once) and with the
/// header timeout, so idle and slow clients cannot take every descriptor.
pub(crate) async fn start(
    config: &HttpConfig,
    metrics: Arc<Metrics>,
    api: Option<Arc<crate::api::ApiState>>,
    cancel: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let address = config.address;
    let nofile = crate::fdlimit::raise_nofile();
    let total = crate::fdlimit::http_share(config.max_connections, nofile);
    if total < config.max_connections {
        tracing::warn!(
            configured = config.max_connections,
            used = total,
            open_file_limit = ?nofile,
            "http.max_connections lowered to a quarter of the open-file limit left for connections"
        );
    }
    let limits = Arc::new(ConnectionLimits::new(
        total,
        config.max_connections_per_client.min(total),
    ));
    let header_timeout = Duration::from_secs(config.header_timeout_secs);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("http.address {address}: cannot bind: {e}"))?;
    let app = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .with_state(metrics);
    // The API (docs/api.md) needs the client address of every request.
    let tls = match &config.tls {
        Some(tls) => Some(
            super::tls::acceptor(&crate::config::ListenerTlsConfig {
                cert: tls.cert.clone(),
                key: tls.key.clone(),
                client_ca: None,
                require_client_cert: false,
            })
            .map_err(|e| anyhow::anyhow!("http: {e}"))?,
        ),
        None => None,
    };
    let app = match api {
        Some(api) if config.console => {
            // Cookies are `Secure` over HTTPS; over plain HTTP (loopback, or
            // allowed by http.console_plain_http) a browser would never send
            // a `Secure` cookie back.
            let console = crate::console::ConsoleState::new(api.clone(), tls.is_some());
            // A path no route has: the console's page for a person, JSON
            // under /api, /health and /metrics.
            app.merge(crate::api::router(api))
                .merge(crate::console::router(Arc::new(console)))
                .fallback(crate::console::not_found)
        }
        Some(api) => app
            .merge(crate::api::router(api))
            .fallback(crate::api::not_found),
        None => app.fallback(crate::api::not_found),
    };
    // Every other error as JSON (docs/api.md); the console's pages carry
    // their own.
    let app = app.layer(axum::middleware::from_fn(crate::api::json_errors));
    tracing::info!(%address, max_connections = total, console = config.console, "serving /health, /metrics, /api/v1 and the console at /");
    Ok(tokio::spawn(serve(
        listener,
        app,
        tls,
        limits,
        header_timeout,
        cancel,
    )))
}

async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Arc<ConnectionLimits>,
    header_timeout: Duration,
    cancel: CancellationToken,
) {
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // EMFILE and friends: wait a little instead of spinning.
                tracing::warn!(error = %err, "HTTP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = limits.admit(peer.ip()) else {
            tracing::debug!(%peer, "HTTP connection refused: connection limit");
            drop(stream);
            continue;
        };
        let app = app.clone();
        let cancel = cancel.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_connection(stream, peer, app, header_timeout, cancel).await,
                Some(acceptor) => {
                    // The handshake gets the header timeout too.
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve_connection(stream, peer, app, header_timeout, cancel).await
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(%peer, error = %err, "HTTPS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "HTTPS handshake timed out"),
                    }
                }
            }
        });
    }
    connections.close();
    let _ = tokio::time::timeout(Duration::from_secs(10), connections.wait()).await;
}

/// Serves one connection (plain or TLS) until it ends or `cancel` fires.
async fn serve_connection<I>(
    io: I,
    peer: std::net::SocketAddr,
    app: Router,
    header_timeout: Duration,
    cancel: CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut app = app.clone();
            async move { app.call(request.map(axum::body::Body::new)).await }
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout);
    let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => {
            if let Err(err) = served {
                tracing::debug!(%peer, error = %err, "HTTP connection ended");
            }
        }
        _ = cancel.cancelled() => {
            // Let an answer in progress finish, then close.
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
        }
    }
}

/// Open connections of the port, in all and per client address.
struct ConnectionLimits {
    total: usize,
    per_client: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One admitted connection; frees its place when dropped.
struct Slot {
    limits: Arc<ConnectionLimits>,
    client: IpAddr,
}

impl ConnectionLimits {
    fn new(total: usize, per_client: usize) -> ConnectionLimits {
        ConnectionLimits {
            total,
            per_client,
            open: Mutex::new((0, HashMap::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<IpAddr, usize>)> {
        // Counters only: a panic elsewhere leaves them whole.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn admit(self: &Arc<Self>, client: IpAddr) -> Option<Slot> {
        let mut open = self.lock();
        let (all, per) = &mut *open;
        let mine = per.get(&client).copied().unwrap_or(0);
        if *all >= self.total || mine >= self.per_client {
            return None;
        }
        *all += 1;
        per.insert(client, mine + 1);
        Some(Slot {
            limits: self.clone(),
            client,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limits.lock();
        let (all, per) = &mut *open;
        *all = all.saturating_sub(1);
        if let Some(mine) = per.get_mut(&self.client) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                per.remove(&self.client);
            }
        }
    }
}

/// 200 while the last store append succeeded, 503 while appends fail
/// (`store-failing`, with `store` naming a PostgreSQL store) or while a damage found at start is not acknowledged
/// (`store-damaged`).
async fn health(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    let failing = !metrics.store_healthy.load(Relaxed);
    let damaged = metrics.store_damaged.load(Relaxed);
    let healthy = !failing && !damaged;
    // Which store is failing, when it is a database rather than the
    // embedded one (the client sees only the database's name, no password).
    let store = match metrics.store_name.get() {
        Some(name) if failing => format!(",\"store\":{}", serde_json::Value::from(name.as_str())),
        _ => String::new(),
    };
    let body = format!(
        "{{\"status\":\"{}\"{store},\"stored\":{},\"last_seq\":{},\"pending\":{}}}\n",
        if failing {
            "store-failing"
        } else if damaged {
            "store-damaged"
        } else {
            "ok"
        },
        metrics.stored.load(Relaxed),
        metrics.committed.last_seq(),
        metrics.pending.load(Relaxed),
    );
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body)
}

async fn metrics_text(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
}
