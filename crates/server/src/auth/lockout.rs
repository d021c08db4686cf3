//! The login policy: Maximum Login Attempts within an Access Window lock an
//! account; an administrator unlocks it, or, with `lockout_ns`, the time
//! does (NDcPP FIA_AFL.1).
//!
//! Every check costs the same password verification, whether the name is
//! unknown, the password wrong or the account locked, so that neither the
//! answer nor its time tells them apart; only the outcome (for the event
//! trail) differs.

use rusqlite::{params, OptionalExtension};

use super::db::AuthDb;
use super::error::AuthError;
use super::passwords::{dummy_hash, verify_password};
use super::shared_users::SharedUsers;
use super::users::{shared_user, User};
use netaudit_pgstore::LoginDecision;

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum LoginRefusal {
    /// Unknown user or wrong password.
    BadCredentials,
    /// The account is locked (even the right password is refused).
    Locked,
}

impl LoginRefusal {
    /// Juniper-JUNOScope-Login-Failure-Reason wording.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            LoginRefusal::BadCredentials => "Authentication Failure",
            LoginRefusal::Locked => "User Account Locked",
        }
    }
}

/// The outcome of a password check under the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum LoginOutcome {
    Accepted(User),
    /// Refused; `now_locked` when this failure reached Maximum Login Attempts.
    Refused {
        refusal: LoginRefusal,
        now_locked: bool,
    },
}

/// Maximum Login Attempts within an Access Window, and how long the lock
/// that follows lasts (`None`: until an administrator unlocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub max_login_attempts: u32,
    pub access_window_ns: i64,
    pub lockout_ns: Option<i64>,
}

/// role, created_ns, locked, failures, first_failure_ns, auto_locked_ns
type PolicyRow = (String, i64, bool, u32, Option<i64>, Option<i64>);

fn refused(refusal: LoginRefusal) -> LoginOutcome {
    LoginOutcome::Refused {
        refusal,
        now_locked: false,
    }
}

impl AuthDb {
    /// Checks a password under `policy`: failures within the access window
    /// are counted and reaching the maximum locks the account; a locked
    /// account is refused whatever the password (after the same
    /// verification), until an administrator unlocks it or `lockout_ns`
    /// has passed since the policy locked it.
    pub(crate) fn check_login(
        &self,
        name: &str,
        password: &str,
        policy: Policy,
        now: i64,
    ) -> Result<LoginOutcome, AuthError> {
        if let Some(shared) = &self.shared {
            return check_shared_login(shared, name, password, policy);
        }
        let stored: Option<String> = self
            .conn()?
            .query_row(
                "SELECT password_hash FROM users WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        let Some(hash) = stored else {
            // Same cost as a real check, so timing does not tell names apart.
            let _ = verify_password(password, dummy_hash());
            return Ok(refused(LoginRefusal::BadCredentials));
        };
        let password_ok = verify_password(password, &hash);
        // The decision under the write lock: concurrent failures cannot be
        // lost, only the failure that reaches the maximum reports the lock,
        // and a lock made while the password was checked is respected.
        self.with_write_tx(|tx| {
            let current: Option<PolicyRow> = tx
                .query_row(
                    "SELECT role, created_ns, locked, failures, first_failure_ns, auto_locked_ns FROM users WHERE name = ?1",
                    params![name],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                )
                .optional()?;
            let Some((role, created_ns, mut locked, mut failures, mut first_failure, auto_locked)) =
                current
            else {
                // Deleted meanwhile.
                return Ok(refused(LoginRefusal::BadCredentials));
            };
            if locked {
                let expired = match (auto_locked, policy.lockout_ns) {
                    (Some(at), Some(lockout)) => now.saturating_sub(at) >= lockout,
                    _ => false,
                };
                if !expired {
                    return Ok(refused(LoginRefusal::Locked));
                }
                tx.execute(
                    "UPDATE users SET locked = 0, failures = 0, first_failure_ns = NULL, auto_locked_ns = NULL WHERE name = ?1",
                    params![name],
                )?;
                tracing::info!(user = %name, "account unlocked: api.lockout_secs have passed since the policy locked it");
                (locked, failures, first_failure) = (false, 0, None);
            }
            debug_assert!(!locked);
            if password_ok {
                tx.execute(
                    "UPDATE users SET failures = 0, first_failure_ns = NULL WHERE name = ?1",
                    params![name],
                )?;
                return Ok(LoginOutcome::Accepted(User {
                    name: name.to_string(),
                    role: role.parse()?,
                    locked: false,
                    created_ns,
                    credentials: 0,
                }));
            }
            // A failure outside the window starts a new count.
            let (failures, first) = match first_failure {
                Some(first) if now.saturating_sub(first) <= policy.access_window_ns => {
                    (failures.saturating_add(1), first)
                }
                _ => (1, now),
            };
            let now_locked = failures >= policy.max_login_attempts;
            tx.execute(
                "UPDATE users SET failures = ?2, first_failure_ns = ?3, locked = ?4, auto_locked_ns = ?5 WHERE name = ?1",
                params![name, failures, first, now_locked, now_locked.then_some(now)],
            )?;
            Ok(LoginOutcome::Refused {
                refusal: LoginRefusal::BadCredentials,
                now_locked,
            })
        })
    }
}

/// [`AuthDb::check_login`] on a PostgreSQL store: the same password check,
/// then the attempt recorded by `netaudit.login_attempt` under the user's
/// row lock, so that attempts on every node are counted one after another
/// (the database's clock decides the window and the lockout time).
fn check_shared_login(
    shared: &SharedUsers,
    name: &str,
    password: &str,
    policy: Policy,
) -> Result<LoginOutcome, AuthError> {
    let mut c = shared.conn()?;
    let target = c.target().to_string();
    let Some(hash) = netaudit_pgstore::password_hash(c.client(), &target, name)? else {
        // Same cost as a real check, so timing does not tell names apart.
        let _ = verify_password(password, dummy_hash());
        return Ok(refused(LoginRefusal::BadCredentials));
    };
    let password_ok = verify_password(password, &hash);
    let shared_policy = netaudit_pgstore::LoginPolicy {
        max_login_attempts: policy.max_login_attempts,
        access_window: ns_duration(policy.access_window_ns),
        lockout: policy.lockout_ns.map(ns_duration),
    };
    let decision =
        netaudit_pgstore::record_login(c.client(), &target, name, password_ok, &shared_policy)?;
    Ok(match decision {
        LoginDecision::Accepted => {
            match netaudit_pgstore::find_user(c.client(), &target, name)? {
                Some(record) => LoginOutcome::Accepted(shared_user(record)?),
                // Deleted meanwhile.
                None => refused(LoginRefusal::BadCredentials),
            }
        }
        LoginDecision::Refused { now_locked, .. } => LoginOutcome::Refused {
            refusal: LoginRefusal::BadCredentials,
            now_locked,
        },
        // Locked, or an outcome this build does not know: refused.
        _ => refused(LoginRefusal::Locked),
    })
}

fn ns_duration(ns: i64) -> std::time::Duration {
    std::time::Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::super::role::Role;
    use super::*;

    fn policy() -> Policy {
        Policy {
            max_login_attempts: 3,
            access_window_ns: 60_000_000_000,
            lockout_ns: None,
        }
    }

    #[test]
    fn failures_within_the_window_lock_and_a_locked_user_cannot_log_in() {
        let dir = tempfile::tempdir().unwrap();
        let db = AuthDb::open(&dir.path().join("auth.db")).unwrap();
        db.add_user("alice", Role::Auditor, "a long enough password")
            .unwrap();
        let t0 = 1_000_000_000_000;
        for i in 0..3 {
            let outcome = db.check_login("alice", "wrong", policy(), t0 + i).unwrap();
            assert_eq!(
                outcome,
                LoginOutcome::Refused {
                    refusal: LoginRefusal::BadCredentials,
                    now_locked: i == 2
                }
            );
        }
        let outcome = db
            .check_login("alice", "a long enough password", policy(), t0 + 10)
            .unwrap();
        assert_eq!(outcome, refused(LoginRefusal::Locked));
        // Without lockout_ns the lock does not pass with time.
        let much_later = t0 + 1_000_000_000_000_000;
        assert_eq!(
            db.check_login("alice", "a long enough password", policy(), much_later)
                .unwrap(),
            refused(LoginRefusal::Locked)
        );
        db.set_locked("alice", false).unwrap();
        assert!(matches!(
            db.check_login("alice", "a long enough password", policy(), t0 + 20)
                .unwrap(),
            LoginOutcome::Accepted(_)
        ));
    }

    #[test]
    fn a_policy_lock_passes_after_lockout_ns_but_an_administrators_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = AuthDb::open(&dir.path().join("auth.db")).unwrap();
        db.add_user("dave", Role::Auditor, "a long enough password")
            .unwrap();
        let timed = Policy {
            lockout_ns: Some(1_000),
            ..policy()
        };
        for i in 0..3 {
            db.check_login("dave", "wrong", timed, 10 + i).unwrap();
        }
        assert!(db.user("dave").unwrap().unwrap().locked);
        assert_eq!(
            db.check_login("dave", "a long enough password", timed, 12 + 999)
                .unwrap(),
            refused(LoginRefusal::Locked)
        );
        assert!(matches!(
            db.check_login("dave", "a long enough password", timed, 12 + 1_000)
                .unwrap(),
            LoginOutcome::Accepted(_)
        ));
        assert!(!db.user("dave").unwrap().unwrap().locked);
        db.set_locked("dave", true).unwrap();
        assert_eq!(
            db.check_login("dave", "a long enough password", timed, i64::MAX)
                .unwrap(),
            refused(LoginRefusal::Locked)
        );
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let dir = tempfile::tempdir().unwrap();
        let db = AuthDb::open(&dir.path().join("auth.db")).unwrap();
        db.add_user("bob", Role::Reporter, "a long enough password")
            .unwrap();
        let window = policy().access_window_ns;
        for i in 0..5 {
            let outcome = db
                .check_login("bob", "wrong", policy(), i * (window + 1))
                .unwrap();
            assert!(matches!(
                outcome,
                LoginOutcome::Refused {
                    now_locked: false,
                    ..
                }
            ));
        }
    }

    #[test]
    fn concurrent_failures_are_all_counted_and_lock_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = std::sync::Arc::new(AuthDb::open(&dir.path().join("auth.db")).unwrap());
        db.add_user("carol", Role::Auditor, "a long enough password")
            .unwrap();
        let policy = Policy {
            max_login_attempts: 4,
            access_window_ns: i64::MAX,
            lockout_ns: None,
        };
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let db = db.clone();
                std::thread::spawn(move || {
                    db.check_login("carol", "wrong", policy, 1_000 + i).unwrap()
                })
            })
            .collect();
        let outcomes: Vec<LoginOutcome> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let locks = outcomes
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    LoginOutcome::Refused {
                        now_locked: true,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(locks, 1, "{outcomes:?}");
        assert!(db.user("carol").unwrap().unwrap().locked);
    }
}
