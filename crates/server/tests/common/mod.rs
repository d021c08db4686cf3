//! The shared helpers under their former name, for a test file
//! `tests/<topic>.rs` that still says `mod common;`: everything in
//! tests/support/ (and `common::rsyslog`, `common::radius`). New tests go
//! into one of the binaries tests/{api,cli,outputs,serve}/ as a module.
#![allow(unused_imports)]

#[path = "../support/mod.rs"]
mod support;

pub use support::*;
