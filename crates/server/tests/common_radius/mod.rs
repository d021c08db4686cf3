//! The FreeRADIUS harness under its former name, for a test file
//! `tests/<topic>.rs` that still says `mod common_radius;`: it lives in
//! tests/support/radius.rs.
#![allow(unused_imports)]

#[path = "../support/radius.rs"]
mod radius;

pub use radius::*;
