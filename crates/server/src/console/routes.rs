//! The console's routes at `/`, each page behind its role's guard
//! (`guard.rs`), every response with the console's security headers.

use std::sync::Arc;

use axum::middleware::from_fn;
use axum::routing::{get, post};
use axum::Router;

use super::guard::{guarded, ANY_ROLE};
use super::state::ConsoleState;
use super::{
    assets, events, events_nodes, integrity, login, no_route, outputs, overview, security, status,
    tail, users,
};
use crate::auth::Role;

const AUDITOR: &[Role] = &[Role::Auditor];
const ADMIN: &[Role] = &[Role::Admin];
const EXAMINER: &[Role] = &[Role::Admin, Role::Auditor];

/// The console's router.
pub(crate) fn router(state: Arc<ConsoleState>) -> Router {
    let s = &state;
    Router::new()
        .route("/assets/console.css", get(assets::stylesheet))
        .route("/assets/console.js", get(assets::script))
        .route("/login", get(login::form).post(login::submit))
        .route("/", guarded(s, ANY_ROLE, "the console", get(login::home)))
        .route(
            "/logout",
            guarded(s, ANY_ROLE, "logging out", post(login::logout)),
        )
        .route(
            "/events",
            guarded(
                s,
                AUDITOR,
                "reading events",
                get(events_nodes::search_route),
            ),
        )
        .route(
            "/events/export",
            guarded(s, AUDITOR, "exporting events", get(events::export)),
        )
        .route(
            "/events/:seq",
            guarded(s, AUDITOR, "reading events", get(events::detail)),
        )
        .route(
            "/tail",
            guarded(s, AUDITOR, "reading events", get(tail::view)),
        )
        .route(
            "/tail/stream",
            guarded(s, AUDITOR, "reading events", get(tail::stream)),
        )
        .route(
            "/overview",
            guarded(s, AUDITOR, "the overview of events", get(overview::view)),
        )
        .route(
            "/status",
            guarded(s, EXAMINER, "viewing operations", get(status::view)),
        )
        .route(
            "/integrity",
            guarded(s, EXAMINER, "verifying the store", get(integrity::view)),
        )
        .route(
            "/integrity/verify",
            guarded(s, EXAMINER, "verifying the store", post(integrity::run)),
        )
        .route(
            "/outputs",
            guarded(s, EXAMINER, "listing outputs", get(outputs::view)),
        )
        .route(
            "/outputs/reload",
            guarded(
                s,
                ADMIN,
                "reloading the configuration",
                post(outputs::reload),
            ),
        )
        .route(
            "/users",
            guarded(
                s,
                ADMIN,
                "managing users",
                get(users::list).post(users::create),
            ),
        )
        .route(
            "/users/:name/:action",
            guarded(s, ADMIN, "managing users", post(users::change)),
        )
        .layer(from_fn(no_route::method_not_allowed))
        .layer(from_fn(security::headers))
        .with_state(state)
}
