//! The helpers every server test binary shares (each `main.rs` includes
//! this file with `#[path = "../support/mod.rs"] mod support;`): `server`
//! (free loopback ports, the built binary started with a private
//! configuration and stopped by PID, its metrics, and what it stored),
//! `rsyslog` (a private rsyslog, TLS material), `radius` (a private
//! FreeRADIUS) and `sshd` (a private OpenSSH server for SFTP).
#![allow(dead_code, unused_imports)] // each test binary uses its own subset

pub mod radius;
pub mod rsyslog;
mod server;
pub mod sshd;

pub use server::*;
