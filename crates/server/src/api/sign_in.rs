//! Signing in and out under the authentication policy, shared by the API's
//! `/api/v1/login` and `/logout` and the console's login page: the client
//! address throttle, the password check, the lockout policy, the session,
//! and their events (JUNOSCOPE_LOGIN_SUCCESSFUL, _LOGIN_FAILURE,
//! _USER_AUTO_LOCKED, _LOGOUT).

use axum::http::StatusCode;

use super::error::ApiError;
use super::state::ApiState;
use crate::auth::{LoginOutcome, Role};

/// `failure-reason` of a login refused because its client address has
/// failed too often (`api.client_max_login_failures`).
const CLIENT_THROTTLED: &str = "Too Many Failed Logins From Client Address";

/// The one answer to a refused login.
pub(crate) const LOGIN_REFUSED: &str = "login refused: Authentication Failure";

/// A session opened by [`sign_in`].
pub(crate) struct SignedIn {
    /// The session's secret (bearer token or cookie value).
    pub secret: String,
    pub user: String,
    pub role: Role,
}

/// Checks `username` and `password` from `client` under the policy and
/// opens a session; every attempt is recorded. A refusal is 401 with
/// [`LOGIN_REFUSED`] whatever the reason, 429 when the address is
/// throttled, 503 when too many password checks run.
pub(crate) async fn sign_in(
    state: &ApiState,
    username: &str,
    password: String,
    client: &str,
) -> Result<SignedIn, ApiError> {
    if let Err(refused) = state.client_failures.check(client) {
        // Refused without a password check; the trail has every attempt.
        state
            .audit_with(
                "JUNOSCOPE_LOGIN_FAILURE",
                &[("username", username), ("client-address", client)],
                &[("failure-reason", CLIENT_THROTTLED)],
            )
            .await?;
        return Err(refused);
    }
    let policy = state.policy();
    let now = crate::auth::now_ns();
    let check = {
        let name = username.to_string();
        // argon2 takes tens of milliseconds: off the async workers.
        state
            .passwords
            .run(state.db(move |auth| auth.check_login(&name, &password, policy, now)))
            .await?
    };
    // A name that cannot be a user name is recorded marked and escaped.
    let recorded = netaudit_event::recorded_user_name(username);
    let user = recorded.as_ref();
    match check {
        LoginOutcome::Accepted(account) => {
            state
                .audit(
                    "JUNOSCOPE_LOGIN_SUCCESSFUL",
                    &[("username", user), ("client-address", client)],
                )
                .await?;
            let secret =
                state
                    .sessions
                    .open(&account.name, account.role, client, account.credentials);
            Ok(SignedIn {
                secret,
                user: account.name,
                role: account.role,
            })
        }
        LoginOutcome::Refused {
            refusal,
            now_locked,
        } => {
            state.client_failures.failed(client);
            state
                .audit_with(
                    "JUNOSCOPE_LOGIN_FAILURE",
                    &[("username", user), ("client-address", client)],
                    &[("failure-reason", refusal.reason())],
                )
                .await?;
            if now_locked {
                state
                    .audit(
                        "JUNOSCOPE_USER_AUTO_LOCKED",
                        &[("username", user), ("client-address", client)],
                    )
                    .await?;
                state.sessions.close_all_of(user);
            }
            // One answer for an unknown name, a wrong password and a locked
            // account (after the same password check): the reason is in
            // the event trail, not for the client to probe.
            Err(ApiError::new(StatusCode::UNAUTHORIZED, LOGIN_REFUSED))
        }
    }
}

/// Ends the session keyed `key` of `user`; JUNOSCOPE_LOGOUT when it was
/// still open.
pub(crate) async fn sign_out(
    state: &ApiState,
    key: &str,
    user: &str,
    client: &str,
) -> Result<(), ApiError> {
    if state.sessions.close(key) {
        state
            .audit(
                "JUNOSCOPE_LOGOUT",
                &[("username", user), ("client-address", client)],
            )
            .await?;
    }
    Ok(())
}
