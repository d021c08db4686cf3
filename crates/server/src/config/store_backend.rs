//! `store.backend`, `store.connection`, `store.node`: the embedded SQLite
//! store (the default) or a node of a cluster on PostgreSQL
//! (docs/cluster.md).

use serde::Deserialize;

use super::error::ConfigError;

/// `store.backend` as written.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawBackend {
    Sqlite,
    Postgres,
}

/// Where `serve` stores events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum StoreBackend {
    /// The embedded store at `store.path`.
    #[default]
    Sqlite,
    /// One node's chain in a PostgreSQL database shared with other nodes.
    Postgres(PostgresNode),
}

/// `backend = "postgres"`, checked: the connection string reads (its
/// password file too) and the node id is one a chain may have.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PostgresNode {
    /// The connection string as written (it may hold a password: never
    /// shown; `Debug` shows only the node).
    pub connection: String,
    /// The node id: this process's chain in the database.
    pub node: String,
}

impl std::fmt::Debug for PostgresNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresNode")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl PostgresNode {
    /// The connection string read again (the password file and
    /// `PGPASSWORD` as they are now).
    pub(crate) fn spec(&self) -> Result<netaudit_pgstore::ConnectionSpec, ConfigError> {
        netaudit_pgstore::ConnectionSpec::parse(&self.connection)
            .map_err(|e| ConfigError::invalid("store.connection", e.to_string()))
    }
}

/// Checks the three keys together.
pub(crate) fn resolve(
    backend: Option<RawBackend>,
    connection: Option<String>,
    node: Option<String>,
) -> Result<StoreBackend, ConfigError> {
    match backend.unwrap_or(RawBackend::Sqlite) {
        RawBackend::Sqlite => {
            for (key, set) in [
                ("store.connection", connection.is_some()),
                ("store.node", node.is_some()),
            ] {
                if set {
                    return Err(ConfigError::invalid(
                        key,
                        "is set but store.backend is not \"postgres\"",
                    ));
                }
            }
            Ok(StoreBackend::Sqlite)
        }
        RawBackend::Postgres => {
            let connection = connection.ok_or_else(|| {
                ConfigError::invalid(
                    "store.connection",
                    "is required with backend = \"postgres\" (a libpq URL or key=value string)",
                )
            })?;
            let node = node.ok_or_else(|| {
                ConfigError::invalid(
                    "store.node",
                    "is required with backend = \"postgres\" (this node's id, 1 to 64 of A-Z a-z 0-9 . _ -)",
                )
            })?;
            netaudit_pgstore::check_node_id(&node)
                .map_err(|e| ConfigError::invalid("store.node", e.to_string()))?;
            let checked = PostgresNode { connection, node };
            checked.spec()?;
            Ok(StoreBackend::Postgres(checked))
        }
    }
}

/// What does not run on a PostgreSQL node yet (outputs with failover,
/// policies, the scheduled check and retention are the cluster's next
/// parts: docs/cluster.md): refused rather than silently not done.
pub(crate) fn check_postgres_parts(
    outputs: bool,
    policies: bool,
    integrity: bool,
    retention: bool,
) -> Result<(), ConfigError> {
    for (set, key, what) in [
        (outputs, "output", "outputs"),
        (policies, "policy", "event policies"),
        (integrity, "integrity", "the scheduled chain check"),
        (retention, "store.retention_max_age_days", "retention"),
    ] {
        if set {
            return Err(ConfigError::invalid(
                key,
                format!(
                    "{what} cannot run on store.backend = \"postgres\" yet (docs/cluster.md, what remains); \
                     remove them or use the embedded store"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_needs_a_readable_connection_and_a_node_id() {
        let pg = Some(RawBackend::Postgres);
        let url = || Some("postgres://audit:s3cret@127.0.0.1:5432/audit".to_string());
        let ok = resolve(pg, url(), Some("n1".into())).unwrap();
        let StoreBackend::Postgres(node) = &ok else {
            panic!("{ok:?}")
        };
        assert_eq!(node.node, "n1");
        assert!(!format!("{ok:?}").contains("s3cret"));
        let err = resolve(pg, None, Some("n1".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("store.connection") && err.contains("required"),
            "{err}"
        );
        let err = resolve(pg, url(), None).unwrap_err().to_string();
        assert!(err.contains("store.node"), "{err}");
        let err = resolve(pg, url(), Some("bad node".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("store.node") && err.contains("not valid"),
            "{err}"
        );
        let err = resolve(
            pg,
            Some("postgres://u:s3cret@h/db?bogus_key=1".into()),
            Some("n1".into()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("store.connection") && err.contains("malformed"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
        let err = resolve(None, url(), None).unwrap_err().to_string();
        assert!(
            err.contains("store.connection") && err.contains("is not"),
            "{err}"
        );
        assert_eq!(resolve(None, None, None).unwrap(), StoreBackend::Sqlite);
    }
}
