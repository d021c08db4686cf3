//! What every output task shares with the server.

use std::sync::Arc;

use netaudit_store::Store;
use netaudit_syslog::RawBackedEvent;
use tokio::sync::mpsc;

use crate::metrics::Metrics;
use crate::output::cluster::ClusterOutputs;
use crate::output::pg_source::OwnedOutput;

/// The store the outputs read.
#[derive(Clone)]
pub(crate) enum OutputStore {
    /// The embedded store.
    Sqlite(Arc<Store>),
    /// A node of a cluster on PostgreSQL: an output runs while this node
    /// holds its lease (`owned`, set for the output's run by
    /// `ownership::run_owned`).
    Postgres {
        cluster: Arc<ClusterOutputs>,
        owned: Option<Arc<OwnedOutput>>,
    },
}

impl OutputStore {
    /// The embedded store, if that is what the outputs read.
    pub(crate) fn sqlite(&self) -> Option<&Arc<Store>> {
        match self {
            OutputStore::Sqlite(store) => Some(store),
            OutputStore::Postgres { .. } => None,
        }
    }
}

#[derive(Clone)]
pub(crate) struct OutputContext {
    pub store: OutputStore,
    pub metrics: Arc<Metrics>,
    /// The pipeline into the store, for alert events (e.g. audit storage full).
    pub alerts: mpsc::Sender<Vec<RawBackedEvent>>,
}
