//! The login lockout shared by every node: each user's failed-login
//! counter and lock state in `netaudit.login_state`, decided by the
//! database function `netaudit.login_attempt` under the user's row lock, so
//! that attempts made at once on several nodes each count exactly once and
//! the failure that reaches the limit is the one that locks. The rules are
//! the embedded users database's (NDcPP FIA_AFL.1): Maximum Login Attempts
//! within an Access Window lock the account; an administrator unlocks it,
//! or the lockout time does; a success resets the count; a locked account
//! is refused whatever the password. Times are the database's clock.
//!
//! The caller checks the password first (the same cost whatever the
//! outcome) and then records the attempt here with its result.

use std::time::Duration;

use postgres::GenericClient;

use crate::error::{PgStoreError, Result};
use crate::schema::query_error;

/// The policy (the `api.*` login settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures that lock the account.
    pub max_login_attempts: u32,
    /// Failures further apart than this start a new count.
    pub access_window: Duration,
    /// How long a lock made by the policy lasts (`None`: until an
    /// administrator unlocks).
    pub lockout: Option<Duration>,
}

/// What the attempt amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginDecision {
    /// The password was right and the account is not locked.
    Accepted,
    /// The password was wrong: this failure is number `failures` of the
    /// window; `now_locked` when it reached the limit.
    Refused {
        /// Failures counted in the window, this one included.
        failures: u32,
        /// Whether this failure locked the account.
        now_locked: bool,
    },
    /// The account is locked: refused whatever the password, not counted.
    Locked,
}

/// Records one login attempt of `user` whose password was `password_ok`,
/// under `policy`, in one statement.
pub fn record_login(
    client: &mut impl GenericClient,
    target: &str,
    user: &str,
    password_ok: bool,
    policy: &LoginPolicy,
) -> Result<LoginDecision> {
    let max = i32::try_from(policy.max_login_attempts.max(1)).unwrap_or(i32::MAX);
    let window = nanos(policy.access_window);
    let lockout = policy.lockout.map(nanos);
    let row = client
        .query_one(
            "SELECT outcome, failures, now_locked FROM netaudit.login_attempt($1, $2, $3, $4, $5)",
            &[&user, &password_ok, &max, &window, &lockout],
        )
        .map_err(|e| query_error(target, "record a login attempt", &e))?;
    let outcome: String = row.get(0);
    let failures = u32::try_from(row.get::<_, i32>(1)).unwrap_or(0);
    match outcome.as_str() {
        "accepted" => Ok(LoginDecision::Accepted),
        "locked" => Ok(LoginDecision::Locked),
        "refused" => Ok(LoginDecision::Refused {
            failures,
            now_locked: row.get(2),
        }),
        other => Err(PgStoreError::Query {
            target: target.to_string(),
            op: "record a login attempt",
            detail: format!("unexpected outcome {other:?}"),
        }),
    }
}

/// A user's lock state: (failures in the window, locked).
pub fn login_state(
    client: &mut impl GenericClient,
    target: &str,
    user: &str,
) -> Result<(u32, bool)> {
    Ok(client
        .query_opt(
            "SELECT failures, locked FROM netaudit.login_state WHERE user_name = $1",
            &[&user],
        )
        .map_err(|e| query_error(target, "read a login state", &e))?
        .map_or((0, false), |r| {
            (u32::try_from(r.get::<_, i32>(0)).unwrap_or(0), r.get(1))
        }))
}

/// An administrator locks `user` (no lockout time ends it) or unlocks it
/// (the count starts again).
pub fn set_user_locked(
    client: &mut impl GenericClient,
    target: &str,
    user: &str,
    locked: bool,
) -> Result<()> {
    client
        .execute(
            "INSERT INTO netaudit.login_state AS s (user_name, locked) VALUES ($1, $2) \
             ON CONFLICT (user_name) DO UPDATE SET locked = EXCLUDED.locked, failures = 0, \
                 first_failure_ns = NULL, auto_locked_ns = NULL",
            &[&user, &locked],
        )
        .map_err(|e| query_error(target, "lock or unlock a user", &e))?;
    Ok(())
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
