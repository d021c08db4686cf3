//! One module per subcommand: each has an `Args` (clap) and a `run`.

pub mod catalog;
pub mod check_config;
pub mod format;
pub mod parse;
pub mod serve;
pub mod radius;
pub mod common;
pub mod import;
pub mod keys;
pub mod query;
pub mod tail;
pub mod verify;
