//! `store.backend`, `store.connection`, `store.node`,
//! `store.output_lease_secs`: the embedded SQLite
//! store (the default) or a node of a cluster on PostgreSQL
//! (docs/cluster.md).

use std::time::Duration;

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
    /// How long an output's lease lasts unless renewed: the longest an
    /// output stands still after its owner died (docs/cluster.md).
    pub output_lease: Duration,
}

/// `store.output_lease_secs` unless set.
pub(crate) const DEFAULT_OUTPUT_LEASE_SECS: u64 = 10;

/// The longest `store.output_lease_secs` taken: an hour without outputs
/// after a node died is already more than anyone means.
const MAX_OUTPUT_LEASE_SECS: u64 = 3600;

impl std::fmt::Debug for PostgresNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresNode")
            .field("node", &self.node)
            .field("output_lease", &self.output_lease)
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

/// Checks the four keys together.
pub(crate) fn resolve(
    backend: Option<RawBackend>,
    connection: Option<String>,
    node: Option<String>,
    output_lease_secs: Option<u64>,
) -> Result<StoreBackend, ConfigError> {
    match backend.unwrap_or(RawBackend::Sqlite) {
        RawBackend::Sqlite => {
            for (key, set) in [
                ("store.connection", connection.is_some()),
                ("store.node", node.is_some()),
                ("store.output_lease_secs", output_lease_secs.is_some()),
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
            let lease_secs = output_lease_secs.unwrap_or(DEFAULT_OUTPUT_LEASE_SECS);
            if !(1..=MAX_OUTPUT_LEASE_SECS).contains(&lease_secs) {
                return Err(ConfigError::invalid(
                    "store.output_lease_secs",
                    format!(
                        "must be 1 to {MAX_OUTPUT_LEASE_SECS} seconds (the longest an output stands still after its node died), not {lease_secs}"
                    ),
                ));
            }
            let checked = PostgresNode {
                connection,
                node,
                output_lease: Duration::from_secs(lease_secs),
            };
            checked.spec()?;
            Ok(StoreBackend::Postgres(checked))
        }
    }
}

/// What does not run on a PostgreSQL node yet (RADIUS outputs, whose
/// session replay reads before the cursor by sequence number, policies,
/// the scheduled check and retention are the cluster's next parts:
/// docs/cluster.md): refused rather than silently not done. Syslog, RELP
/// and file outputs run there, each owned by one node at a time.
pub(crate) fn check_postgres_parts(
    radius_outputs: bool,
    policies: bool,
    integrity: bool,
    retention: bool,
) -> Result<(), ConfigError> {
    for (set, key, what) in [
        (radius_outputs, "output.radius", "RADIUS outputs"),
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
        let ok = resolve(pg, url(), Some("n1".into()), None).unwrap();
        let StoreBackend::Postgres(node) = &ok else {
            panic!("{ok:?}")
        };
        assert_eq!(node.node, "n1");
        assert_eq!(
            node.output_lease,
            Duration::from_secs(DEFAULT_OUTPUT_LEASE_SECS)
        );
        assert!(!format!("{ok:?}").contains("s3cret"));
        let err = resolve(pg, None, Some("n1".into()), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("store.connection") && err.contains("required"),
            "{err}"
        );
        let err = resolve(pg, url(), None, None).unwrap_err().to_string();
        assert!(err.contains("store.node"), "{err}");
        let err = resolve(pg, url(), Some("bad node".into()), None)
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
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("store.connection") && err.contains("malformed"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
        let err = resolve(None, url(), None, None).unwrap_err().to_string();
        assert!(
            err.contains("store.connection") && err.contains("is not"),
            "{err}"
        );
        assert_eq!(
            resolve(None, None, None, None).unwrap(),
            StoreBackend::Sqlite
        );
    }

    #[test]
    fn an_output_lease_of_zero_or_absurd_length_is_refused() {
        let pg = Some(RawBackend::Postgres);
        let url = || Some("postgres://audit@127.0.0.1:5432/audit".to_string());
        for bad in [0, MAX_OUTPUT_LEASE_SECS + 1, u64::MAX] {
            let err = resolve(pg, url(), Some("n1".into()), Some(bad))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("store.output_lease_secs") && err.contains(&bad.to_string()),
                "{err}"
            );
        }
        let ok = resolve(pg, url(), Some("n1".into()), Some(3)).unwrap();
        let StoreBackend::Postgres(node) = ok else {
            panic!("{ok:?}")
        };
        assert_eq!(node.output_lease, Duration::from_secs(3));
        let err = resolve(None, None, None, Some(3)).unwrap_err().to_string();
        assert!(err.contains("store.output_lease_secs"), "{err}");
    }
}
