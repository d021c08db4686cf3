//! Local users, roles, argon2id password hashes, API tokens and the
//! authentication policy, kept in a small SQLite file (`auth.db`) of its own.
//!
//! Events are not kept here: whatever happens to a user is an event in the
//! main store. This file holds only the state the policy needs, and the
//! audit outbox: events of changes made while the store belongs to a
//! running server (`netaudit user`), queued in the change's own transaction
//! until the server moves them into the store.
//!
//! On a PostgreSQL store (`store.backend = "postgres"`), users, API tokens,
//! lock states and the lockout counters are in that database instead,
//! shared by every node (`shared_users`); the same methods of [`AuthDb`]
//! answer from one or the other, so the sign-in logic is written once.
//!
//! One module per concept: `db` (opening, connections, audited changes),
//! `schema` (migrations), `users`, `names`, `passwords`, `tokens`,
//! `lockout` (the login policy), `outbox`, `role`, `error`, `shared_users`
//! (the PostgreSQL backend).

mod db;
mod error;
mod lockout;
mod names;
mod outbox;
mod passwords;
mod role;
mod schema;
mod shared_users;
mod tokens;
mod users;

pub(crate) use crate::clock::now_ns;
pub(crate) use db::AuthDb;
pub(crate) use error::AuthError;
pub(crate) use lockout::{LoginOutcome, Policy};
pub(crate) use names::{validate_name, NAME_MAX};
pub(crate) use passwords::validate_password;
pub(crate) use role::Role;
pub(crate) use shared_users::SharedUsers;
pub(crate) use tokens::{random_secret, token_digest, TOKEN_PREFIX};
pub(crate) use users::User;
