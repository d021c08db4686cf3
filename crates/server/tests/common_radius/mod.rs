//! The FreeRADIUS harness under its former name, for a test file
//! `tests/<topic>.rs` that still says `mod common_radius;`: it lives in
//! tests/support/radius.rs.
#![allow(dead_code, unused_imports)] // each test file uses its own subset

#[path = "../support/radius.rs"]
mod radius;

pub use radius::*;
