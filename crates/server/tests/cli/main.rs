//! The subcommands run as the built binary: `format` and `catalog`,
//! `parse`, the store subcommands (import, query, tail, verify, keys), the
//! PostgreSQL store (store migrate, store copy, verify --store), and
//! `radius test` against a real FreeRADIUS.

// The shared helpers are `pub` for the modules of this test binary.
#![allow(unreachable_pub)]

#[path = "../support/mod.rs"]
mod support;

mod format;
mod man;
mod parse;
mod pg_store;
mod radius;
mod report;
mod setup;
mod setup_https;
mod store;
