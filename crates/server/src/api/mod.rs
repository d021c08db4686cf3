//! The HTTP API under `/api/v1` (docs/api.md): event submission for
//! applications, sessions, users and the authentication policy, examination
//! of the store, operations and their leaves. [`router`] is the whole API.

mod error;
mod events;
mod http_errors;
mod input;
mod openapi;
mod operations;
mod outbox;
mod outputs;
mod principal;
mod routes;
mod session;
mod state;
mod throttle;
mod users;

pub use http_errors::{json_errors, not_found};
pub use outbox::drain_outbox;
pub use routes::router;
pub use state::ApiState;
