//! Reconnecting after the database went away (the primary died and a
//! standby was promoted, a restart, a network cut): which errors mean the
//! session is lost rather than the statement wrong, and connecting again
//! with a bounded backoff, trying every host of the connection string
//! (with `target_session_attrs=read-write`, the one that now takes writes).

use std::time::{Duration, Instant};

use postgres::Client;

use crate::connection::ConnectionSpec;
use crate::error::{PgStoreError, Result};

/// How long and how often to try again once the session is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// The wait after the first failed attempt; doubled after each one.
    pub first_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
    /// Give up (and report the database unreachable) after this long; the
    /// next operation starts trying again.
    pub give_up_after: Duration,
}

impl Default for ReconnectPolicy {
    /// 50 ms doubling up to 2 s, for 60 s: long enough for a standby's
    /// promotion, short enough that the caller sees an outage.
    fn default() -> Self {
        ReconnectPolicy {
            first_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            give_up_after: Duration::from_secs(60),
        }
    }
}

/// Whether `e` means the session is gone or unusable for writes (connect
/// again), rather than a statement the server refused (report it).
pub(crate) fn is_session_lost(e: &postgres::Error) -> bool {
    match e.as_db_error() {
        // Client side: closed connection, I/O error, timeout.
        None => true,
        Some(db) => {
            let code = db.code().code();
            // 08: connection exception; 57P01-57P03: admin or crash
            // shutdown, cannot connect now; 25006: read-only transaction
            // (the server we are on is, or became, a standby).
            code.starts_with("08") || code.starts_with("57P") || code == "25006"
        }
    }
}

/// Whether a connect error is worth another attempt (the database is
/// unreachable, or only a standby answered, or it is starting up), not a
/// refused login or a malformed string.
pub(crate) fn is_retryable_connect(e: &PgStoreError) -> bool {
    match e {
        PgStoreError::Unreachable { .. } => true,
        PgStoreError::Query { detail, .. } => {
            detail.contains("SQLSTATE 57P") || detail.contains("SQLSTATE 08")
        }
        _ => false,
    }
}

/// Connects with `policy`'s backoff until a host accepts (and takes
/// writes, with `target_session_attrs=read-write`), `ready` accepts the
/// new session (e.g. takes the node's lock: `Ok(false)` means not yet),
/// or the time is up. Returns the client and how many attempts failed.
pub(crate) fn reconnect(
    spec: &ConnectionSpec,
    policy: &ReconnectPolicy,
    mut ready: impl FnMut(&mut Client) -> Result<bool>,
) -> Result<(Client, u32)> {
    let started = Instant::now();
    let mut delay = policy.first_delay;
    let mut failed = 0u32;
    loop {
        let last = match spec.connect() {
            Ok(mut client) => match ready(&mut client) {
                Ok(true) => return Ok((client, failed)),
                Ok(false) => None,
                Err(e) => Some(e),
            },
            Err(e) if is_retryable_connect(&e) => Some(e),
            Err(e) => return Err(e),
        };
        failed += 1;
        if started.elapsed() + delay > policy.give_up_after {
            return Err(last.unwrap_or_else(|| PgStoreError::Unreachable {
                target: spec.target().to_string(),
                detail: format!(
                    "no usable session after {:?} of reconnecting",
                    policy.give_up_after
                ),
            }));
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(policy.max_delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_backoff_is_bounded() {
        let p = ReconnectPolicy::default();
        assert!(p.first_delay < p.max_delay && p.max_delay < p.give_up_after);
    }

    #[test]
    fn an_unreachable_database_is_retried_until_the_bound() {
        // A port nobody listens on (bound then released by the kernel).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let spec = ConnectionSpec::parse_with_env(
            &format!("postgres://u@127.0.0.1:{port}/db?connect_timeout=1"),
            Some("pw"),
        )
        .unwrap();
        let policy = ReconnectPolicy {
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            give_up_after: Duration::from_millis(300),
        };
        let started = Instant::now();
        let e = reconnect(&spec, &policy, |_| Ok(true)).err().unwrap();
        assert!(matches!(e, PgStoreError::Unreachable { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!e.to_string().contains("pw"));
    }
}
