//! `/health` and `/metrics` over HTTP/1.1 (axum).

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Binds `address` and serves until `cancel` fires.
pub async fn start(
    address: SocketAddr,
    metrics: Arc<Metrics>,
    api: Option<Arc<crate::api::ApiState>>,
    cancel: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("http.address {address}: cannot bind: {e}"))?;
    let app = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .with_state(metrics);
    // The API (docs/api.md) needs the client address of every request.
    let app = match api {
        Some(api) => app.merge(crate::api::router(api)),
        None => app,
    };
    // Every error as JSON, unknown routes included (docs/api.md).
    let app = app
        .fallback(crate::api::not_found)
        .layer(axum::middleware::from_fn(crate::api::json_errors));
    tracing::info!(%address, "serving /health, /metrics and /api/v1");
    Ok(tokio::spawn(async move {
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await;
        if let Err(err) = served {
            tracing::error!(error = %err, "HTTP server failed");
        }
    }))
}

/// 200 while the last store append succeeded, 503 while appends fail.
async fn health(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    let healthy = metrics.store_healthy.load(Relaxed);
    let body = format!(
        "{{\"status\":\"{}\",\"stored\":{},\"last_seq\":{},\"pending\":{}}}\n",
        if healthy { "ok" } else { "store-failing" },
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
