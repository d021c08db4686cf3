//! What every output task shares with the server.

use std::sync::Arc;

use netaudit_store::Store;
use netaudit_syslog::RawBackedEvent;
use tokio::sync::mpsc;

use crate::metrics::Metrics;

#[derive(Clone)]
pub(crate) struct OutputContext {
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    /// The pipeline into the store, for alert events (e.g. audit storage full).
    pub alerts: mpsc::Sender<Vec<RawBackedEvent>>,
}
