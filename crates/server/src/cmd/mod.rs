//! One module per subcommand: each has an `Args` (clap) and a `run`.

pub(crate) mod archive;
pub(crate) mod catalog;
pub(crate) mod check_config;
pub(crate) mod common;
pub(crate) mod completions;
pub(crate) mod format;
pub(crate) mod import;
pub(crate) mod keys;
pub(crate) mod man;
pub(crate) mod netconf;
pub(crate) mod parse;
pub(crate) mod query;
pub(crate) mod query_global;
pub(crate) mod radius;
pub(crate) mod report;
pub(crate) mod serve;
pub(crate) mod setup;
pub(crate) mod store;
pub(crate) mod store_target;
pub(crate) mod tail;
pub(crate) mod tail_global;
pub(crate) mod user;
pub(crate) mod verify;
