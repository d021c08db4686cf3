//! Changes to users by an administrator, shared by the API's user routes
//! and the console's Users pages: each change is made in `auth.db`, ends
//! the sessions it must, and is recorded as its catalog event with the
//! acting administrator and their client address.

use axum::http::StatusCode;

use super::error::ApiError;
use super::principal::Principal;
use super::state::ApiState;
use crate::auth::{validate_name, Role, User};

/// A name in a path or form that cannot be a user's: 404 (no such user).
pub(crate) fn checked_name(name: &str) -> Result<(), ApiError> {
    validate_name(name).map_err(|e| ApiError::new(StatusCode::NOT_FOUND, e.to_string()))
}

/// Every user.
pub(crate) async fn list_users(state: &ApiState) -> Result<Vec<User>, ApiError> {
    state.db(|auth| auth.users()).await
}

/// JUNOSCOPE_USER_CREATED.
pub(crate) async fn create_user(
    state: &ApiState,
    actor: &Principal,
    name: String,
    role: Role,
    password: String,
) -> Result<User, ApiError> {
    validate_name(&name)?;
    let user = state
        .passwords
        .run(state.db(move |auth| auth.add_user(&name, role, &password)))
        .await?;
    state
        .audit(
            "JUNOSCOPE_USER_CREATED",
            &[
                ("new-user", &user.name),
                ("username", &actor.user),
                ("client-address", &actor.client),
            ],
        )
        .await?;
    Ok(user)
}

/// JUNOSCOPE_USER_DELETED; the user's sessions end.
pub(crate) async fn delete_user(
    state: &ApiState,
    actor: &Principal,
    name: &str,
) -> Result<(), ApiError> {
    checked_name(name)?;
    if name == actor.user {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "an administrator cannot delete their own account",
        ));
    }
    {
        let name = name.to_string();
        state.db(move |auth| auth.delete_user(&name)).await?;
    }
    state.sessions.close_all_of(name);
    state
        .audit(
            "JUNOSCOPE_USER_DELETED",
            &[
                ("deleted-user", name),
                ("username", &actor.user),
                ("client-address", &actor.client),
            ],
        )
        .await?;
    Ok(())
}

/// JUNOSCOPE_USER_PASSWORD_CHANGED; every other session of the user ends.
pub(crate) async fn change_password(
    state: &ApiState,
    actor: &Principal,
    name: &str,
    password: String,
) -> Result<(), ApiError> {
    checked_name(name)?;
    let credentials = {
        let name = name.to_string();
        state
            .passwords
            .run(state.db(move |auth| auth.set_password(&name, &password)))
            .await?
    };
    // Whoever knew the old password is out (on the other nodes of a
    // PostgreSQL store, at their next request: `principal`).
    state
        .sessions
        .close_others_of(name, actor.session.as_deref());
    if let Some(key) = actor.session.as_deref().filter(|_| name == actor.user) {
        state.sessions.renew_credentials(key, credentials);
    }
    state
        .audit(
            "JUNOSCOPE_USER_PASSWORD_CHANGED",
            &[
                ("target-user", name),
                ("username", &actor.user),
                ("client-address", &actor.client),
            ],
        )
        .await?;
    Ok(())
}

/// JUNOSCOPE_USER_LOCKED_BY_ADMIN (the user's sessions end) or
/// JUNOSCOPE_USER_UNLOCKED_BY_ADMIN.
pub(crate) async fn set_locked(
    state: &ApiState,
    actor: &Principal,
    name: &str,
    locked: bool,
) -> Result<(), ApiError> {
    checked_name(name)?;
    if locked && name == actor.user {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "an administrator cannot lock their own account",
        ));
    }
    {
        let name = name.to_string();
        state.db(move |auth| auth.set_locked(&name, locked)).await?;
    }
    if locked {
        state.sessions.close_all_of(name);
    }
    state
        .audit(
            if locked {
                "JUNOSCOPE_USER_LOCKED_BY_ADMIN"
            } else {
                "JUNOSCOPE_USER_UNLOCKED_BY_ADMIN"
            },
            &[
                ("username", name),
                ("client-address", &actor.client),
                ("admin-username", &actor.user),
            ],
        )
        .await?;
    Ok(())
}

/// A new API token for `name`, to be shown once. The catalog has no
/// message for token creation, so it goes to netaudit's own log rather
/// than into the store as a catalog event.
pub(crate) async fn make_token(
    state: &ApiState,
    actor: &Principal,
    name: &str,
) -> Result<String, ApiError> {
    checked_name(name)?;
    let token = {
        let name = name.to_string();
        state.db(move |auth| auth.create_token(&name)).await?
    };
    tracing::info!(user = %name, by = %actor.user, client = %actor.client, "API token created");
    Ok(token)
}
