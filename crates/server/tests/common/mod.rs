//! The shared helpers under their former name, for a test file
//! `tests/<topic>.rs` that still says `mod common;` (and `mod
//! common_radius;`): the same files as tests/support/, without `radius`,
//! so that both old modules can be used together. New tests go into one of
//! the binaries tests/{api,cli,outputs,serve}/ as a module.
#![allow(dead_code, unused_imports)] // each test file uses its own subset

#[path = "../support/rsyslog.rs"]
pub mod rsyslog;
#[path = "../support/server.rs"]
mod server;

pub use server::*;
