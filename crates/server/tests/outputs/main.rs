//! `netaudit serve` with outputs, against real receivers: the local audit
//! file, rsyslog over TCP and TLS, forwarding across outages and crashes,
//! the `forward` action of event policies.

// The shared helpers are `pub` for the modules of this test binary.
#![allow(unreachable_pub)]

#[path = "../support/mod.rs"]
mod support;

mod file;
mod forwarding_safety;
mod outage;
mod policy_forward;
mod rsyslog;
