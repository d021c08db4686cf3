//! The web console (docs/console.md): JUNOScope's screens for examining the
//! audit trail, served by `netaudit serve` at `/` on the same router,
//! sessions, lockout policy and audit events as the HTTP API.
//!
//! Pages are rendered on the server (maud escapes every value); the only
//! script is `assets/console.js`, for the live views. One module per page
//! or concept: `login`, `events` (search, detail, export), `tail`,
//! `overview` (its counts kept in `overview_tally`, or counted by the
//! PostgreSQL store in `overview_nodes`), `users`; `no_route`
//! (404 and 405 pages); `viewer` (who is looking: session cookie, role, CSRF token),
//! `guard` (the role and CSRF checks in front of every page), `security`
//! (response headers, cookies), `layout`, `page_error`, `search` (the
//! search form's parameters), `assets`, `state`.

mod assets;
mod events;
mod events_nodes;
mod guard;
mod integrity;
mod integrity_nodes;
mod layout;
mod login;
mod netconf_devices;
mod no_route;
mod outputs;
mod overview;
mod overview_nodes;
mod overview_tally;
mod page_error;
mod routes;
mod search;
mod security;
mod state;
mod status;
mod svg;
mod tail;
mod users;
mod verify_run;
mod viewer;

pub(crate) use no_route::not_found;
pub(crate) use routes::router;
pub(crate) use state::ConsoleState;
