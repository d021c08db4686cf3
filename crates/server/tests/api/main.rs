//! The HTTP API (docs/api.md). Behaviour tests call the router in-process
//! (`client`: `netaudit::api::LocalApi` and `tower::ServiceExt::oneshot`);
//! `wire` and `outputs` run `netaudit serve` over real HTTP where the
//! running server is the point (its syslog output, the outbox of
//! `netaudit user`, SIGHUP and SIGTERM, the serve loop's outputs).

// The shared helpers are `pub` for the modules of this test binary.
#![allow(unreachable_pub)]

#[path = "../support/mod.rs"]
mod support;

mod auth;
mod client;
mod events;
mod operations;
mod outputs;
mod raw_http;
mod report;
mod security;
mod security_support;
mod wire;
