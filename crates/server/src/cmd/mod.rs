//! One module per subcommand: each has an `Args` (clap) and a `run`.

pub mod catalog;
pub mod check_config;
pub mod common;
pub mod format;
pub mod import;
pub mod keys;
pub mod parse;
pub mod query;
pub mod radius;
pub mod serve;
pub mod tail;
pub mod user;
pub mod verify;
