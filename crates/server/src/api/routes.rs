//! The `/api/v1` router: one group of routes per role set of docs/api.md,
//! each route naming what it does (for the 403 message). The guard
//! authenticates and checks the role once; handlers take the [`Principal`]
//! it found.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;

use super::error::{log_causes, ApiError};
use super::http_errors::json_bodies;
use super::principal::{check_role, spawn_session_sweeper, Principal};
use super::state::ApiState;
use super::{events, inputs, openapi, operations, outputs, policies, report, store_damage, users};
use crate::auth::Role;

type Route = MethodRouter<Arc<ApiState>>;

/// The `/api/v1` routes with their state; starts the session sweeper.
pub(crate) fn router(state: Arc<ApiState>) -> Router {
    let limit = state.config.body_limit_bytes;
    spawn_session_sweeper(Arc::downgrade(&state));
    let admin = Group::new(&state, &[Role::Admin]);
    let auditor = Group::new(&state, &[Role::Auditor]);
    let reporter = Group::new(&state, &[Role::Reporter]);
    let examiner = Group::new(&state, &[Role::Admin, Role::Auditor]);

    // No role: the document, login, and logout (any session).
    let open = Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/login", post(users::login))
        .route("/api/v1/logout", post(users::logout));
    let admin = Router::new()
        .route(
            "/api/v1/users",
            admin
                .on("listing users", get(users::list))
                .merge(admin.on("creating users", post(users::create))),
        )
        .route(
            "/api/v1/users/:name",
            admin.on("deleting users", delete(users::delete)),
        )
        .route(
            "/api/v1/users/:name/password",
            admin.on("changing passwords", put(users::set_password)),
        )
        .route(
            "/api/v1/users/:name/lock",
            admin.on("locking users", post(users::lock)),
        )
        .route(
            "/api/v1/users/:name/unlock",
            admin.on("unlocking users", post(users::unlock)),
        )
        .route(
            "/api/v1/users/:name/tokens",
            admin.on("making API tokens", post(users::token)),
        )
        .route(
            "/api/v1/outputs/reload",
            admin.on("reloading the configuration", post(outputs::reload)),
        )
        .route(
            "/api/v1/store/damage/ack",
            admin.on(
                "acknowledging store damage",
                post(store_damage::acknowledge),
            ),
        );
    let auditor = Router::new()
        .route(
            "/api/v1/events",
            auditor.on("reading events", get(events::query)),
        )
        .route(
            "/api/v1/events/stream",
            auditor.on("reading events", get(events::stream)),
        )
        .route(
            "/api/v1/verify",
            auditor.on("verifying the store", get(events::verify)),
        )
        .route(
            "/api/v1/export",
            auditor.on("exporting events", get(events::export)),
        )
        .route(
            "/api/v1/report/ndcpp",
            auditor.on("reporting NDcPP coverage", get(report::ndcpp)),
        );
    let examiner = Router::new()
        .route(
            "/api/v1/outputs",
            examiner.on("listing outputs", get(outputs::list)),
        )
        .route(
            "/api/v1/policies",
            examiner.on("listing policies", get(policies::list)),
        )
        .route(
            "/api/v1/inputs/netconf",
            examiner.on("viewing NETCONF inputs", get(inputs::netconf)),
        )
        .route(
            "/api/v1/operations",
            examiner.on("viewing operations", get(operations::list)),
        );
    let reporter = Router::new()
        .route(
            "/api/v1/events",
            reporter.on("submitting events", post(events::submit)),
        )
        .route(
            "/api/v1/operations",
            reporter.on("creating operations", post(operations::create)),
        )
        .route(
            "/api/v1/operations/:name/leaves/:device",
            reporter.on("reporting leaves", put(operations::report_leaf)),
        );
    open.merge(admin)
        .merge(auditor)
        .merge(examiner)
        .merge(reporter)
        .route_layer(from_fn(log_causes))
        .layer(from_fn(json_bodies))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The routes that need one of `roles`.
struct Group {
    state: Arc<ApiState>,
    roles: &'static [Role],
}

/// What the guard of one route checks.
#[derive(Clone)]
struct Need {
    state: Arc<ApiState>,
    roles: &'static [Role],
    /// What the route does, as the 403 message names it.
    what: &'static str,
}

impl Group {
    fn new(state: &Arc<ApiState>, roles: &'static [Role]) -> Group {
        Group {
            state: state.clone(),
            roles,
        }
    }

    /// `route` behind the guard. A route layer: a method the path does not
    /// have still gets 405, whoever asks.
    fn on(&self, what: &'static str, route: Route) -> Route {
        let need = Need {
            state: self.state.clone(),
            roles: self.roles,
            what,
        };
        route.route_layer(from_fn_with_state(need, guard))
    }
}

/// 401 without a valid credential, 403 without the role; otherwise the
/// request goes on with its [`Principal`].
async fn guard(
    State(need): State<Need>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let principal = Principal::from_request_parts(&mut parts, &need.state).await?;
    check_role(&principal, need.roles, need.what)?;
    parts.extensions.insert(principal);
    Ok(next.run(Request::from_parts(parts, body)).await)
}
