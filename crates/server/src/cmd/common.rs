//! What the store subcommands share: the `--db` option (how events and
//! times are shown is in `crate::display`, shared with the API).

use std::path::PathBuf;

use netaudit_store::StoreConfig;

/// The store to use.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DbArgs {
    /// The store's catalog database (partitions, key and verify key live beside it).
    #[arg(long = "db", value_name = "PATH", default_value = netaudit_store::DEFAULT_PATH)]
    pub db: PathBuf,
}

impl DbArgs {
    pub(crate) fn config(&self) -> StoreConfig {
        StoreConfig::new(self.db.clone())
    }
}
