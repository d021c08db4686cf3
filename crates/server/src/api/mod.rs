//! The HTTP API under `/api/v1` (docs/api.md): event submission for
//! applications, sessions, users and the authentication policy, examination
//! of the store, operations and their leaves. `routes::router` is the whole
//! API; `netaudit serve` mounts it on its running pipeline, and
//! [`LocalApi`] builds it in-process on a store of its own.

pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod global_events;
mod http_errors;
mod input;
mod inputs;
mod local;
pub(crate) mod node_verify;
mod openapi;
pub(crate) mod operations;
mod outbox;
pub(crate) mod outputs;
mod policies;
pub(crate) mod principal;
mod report;
mod routes;
mod session;
pub(crate) mod sign_in;
pub(crate) mod state;
mod store_damage;
mod throttle;
pub(crate) mod user_admin;
mod users;

pub(crate) use http_errors::{json_errors, not_found};
pub use local::LocalApi;
pub(crate) use outbox::drain_outbox;
pub(crate) use routes::router;
pub(crate) use state::ApiState;
