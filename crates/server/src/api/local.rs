//! The API on its own, in-process: the store and the auth database named by
//! a configuration file, the store writer thread, and the `/api/v1` router,
//! without listeners, outputs or the HTTP socket. `netaudit serve` builds
//! the same router on its running pipeline (`serve/http.rs`); this is for
//! embedding the API and for calling it without a socket (tests).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use tokio::sync::mpsc;

use super::routes::router;
use super::state::ApiState;
use crate::auth::AuthDb;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::pipeline::batcher::{spawn_writer, BatchHandle, BatchPool};
use crate::pipeline::sink::{EventSink, StoreSink};

/// The API on the store of one configuration, with its own store writer.
///
/// Without the serve loop: `GET /api/v1/outputs` and
/// `POST /api/v1/outputs/reload` answer 503, and audit events queued by
/// `netaudit user` stay in the auth database until `netaudit serve` runs.
/// The handlers read the client address from axum's
/// `ConnectInfo<SocketAddr>`: serve the router with
/// `into_make_service_with_connect_info::<SocketAddr>()`, or give it one
/// with `axum::extract::connect_info::MockConnectInfo` when calling it
/// in-process.
pub struct LocalApi {
    state: Arc<ApiState>,
    /// The only strong sender: the writer ends once it is dropped.
    batches: mpsc::Sender<BatchHandle>,
    writer: std::thread::JoinHandle<StoreSink>,
}

impl LocalApi {
    /// Opens the store (`[store]`) and the auth database (`[api]`) of the
    /// configuration file at `config_path` and starts the store writer.
    /// The store must not be open in a running `netaudit serve`.
    pub fn open(config_path: &Path) -> anyhow::Result<LocalApi> {
        let config = Config::load(config_path)?;
        let store =
            netaudit_store::Store::open(config.store.to_store_config()).with_context(|| {
                format!(
                    "store.path {}: cannot open the store",
                    config.store.path.display()
                )
            })?;
        let auth = AuthDb::open(&config.api.auth_db_path(&config.store))?;
        let sink = StoreSink::new(store);
        let metrics = Arc::new(Metrics::new());
        metrics.committed.start_at(sink.last_seq());
        let store = sink.store();
        let (batches, batch_rx) = mpsc::channel(1);
        let writer = spawn_writer(
            sink,
            batch_rx,
            metrics.clone(),
            Arc::new(BatchPool::default()),
            // Never begun: a failing append is retried until it commits.
            Arc::default(),
        )
        .context("cannot start the store writer thread")?;
        let state = Arc::new(ApiState::new(
            auth,
            batches.downgrade(),
            Some(store),
            metrics,
            config.api.clone(),
        ));
        Ok(LocalApi {
            state,
            batches,
            writer,
        })
    }

    /// The `/api/v1` router on this API's state (the same routes as
    /// `netaudit serve`). Call it inside a tokio runtime: it starts the
    /// task that ends idle sessions.
    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    /// Stops the writer after its last batch has committed and closes the
    /// store. Requests still waiting for a commit are answered 503.
    pub async fn close(self) -> anyhow::Result<()> {
        let LocalApi {
            state,
            batches,
            writer,
        } = self;
        drop(batches);
        drop(state);
        let sink = tokio::task::spawn_blocking(move || writer.join())
            .await
            .context("waiting for the store writer")?
            .map_err(|_| anyhow::anyhow!("store writer thread panicked"))?;
        drop(sink);
        Ok(())
    }
}
