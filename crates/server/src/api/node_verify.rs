//! `GET /api/v1/verify` on a PostgreSQL store (and the console's Integrity
//! page there): every node's chain walked with its verify key, reported per
//! node as `netaudit verify --store --json` does. A node finds the verify
//! keys in its own folders: every `*.verify-key` file in the folder of
//! `store.path` (and of `store.key_path`), matched to a chain by store id;
//! its own is written there, the other nodes' are copied there
//! (docs/cluster.md). A node whose key is not there is reported
//! "not verified", and the whole report is then not ok.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;
use netaudit_pgstore::{verify_nodes, GlobalReader};
use netaudit_store::VerifyKey;

use super::error::ApiError;
use crate::config::StoreConfig;
use crate::node_display::node_reports_json;

/// The folders a node reads verify keys from: the folder of `store.path`
/// and, when set elsewhere, that of `store.key_path`.
pub(crate) fn key_folders(store: &StoreConfig) -> Vec<PathBuf> {
    let folder = |p: &Path| {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    };
    let mut folders = vec![folder(&store.path)];
    if let Some(key) = &store.key_path {
        let other = folder(key);
        if !folders.contains(&other) {
            folders.push(other);
        }
    }
    folders
}

/// Every readable `*.verify-key` file in `folders`; one that cannot be
/// read is logged and left out (its node is then reported not verified).
fn read_keys(folders: &[PathBuf]) -> Vec<VerifyKey> {
    let mut keys = Vec::new();
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(folder) else {
            tracing::warn!(folder = %folder.display(), "verify: cannot list the folder for verify keys");
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "verify-key"))
            .collect();
        paths.sort();
        for path in paths {
            match VerifyKey::read(&path) {
                Ok(key) => keys.push(key),
                Err(err) => {
                    tracing::warn!(file = %path.display(), error = %err, "verify: not a verify key; left out")
                }
            }
        }
    }
    keys
}

/// Walks every node's chain in one read-only snapshot; the per-node JSON.
pub(crate) async fn report(
    reader: Arc<GlobalReader>,
    folders: Vec<PathBuf>,
) -> Result<serde_json::Value, ApiError> {
    let found = tokio::task::spawn_blocking(move || {
        let keys = read_keys(&folders);
        reader.with_client(|client, target| verify_nodes(client, target, &keys, None))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| {
        ApiError::hiding(
            StatusCode::SERVICE_UNAVAILABLE,
            "verify: the PostgreSQL store cannot be read (see the server log)",
            e,
        )
    })?;
    Ok(node_reports_json(&found))
}
