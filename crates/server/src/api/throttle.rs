//! Limits on password work: at most about one argon2 verification per core
//! at a time with a short queue behind them (beyond it: 503 with
//! `Retry-After`), and a count of failed logins per client address (beyond
//! `api.client_max_login_failures` within `api.client_login_window_secs`:
//! 429 without a password check).
//!
//! argon2id takes 19 MiB and tens of milliseconds per check; unbounded,
//! a flood of logins takes the machine's memory and every blocking thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tokio::sync::Semaphore;

use super::error::ApiError;

/// Checks allowed to wait behind the running ones, per running one.
pub(super) const QUEUE_PER_CHECK: usize = 4;

/// Client addresses remembered at most (older windows are forgotten first).
const CLIENTS_MAX: usize = 65_536;

/// The bound on concurrent password checks.
pub(super) struct PasswordGate {
    running: Semaphore,
    admitted: AtomicUsize,
    admit_max: usize,
}

/// One admitted check; frees its place when dropped.
pub(super) struct Admitted<'a>(&'a PasswordGate);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PasswordGate {
    /// `concurrent` checks at once (at least 1), [`QUEUE_PER_CHECK`] times
    /// as many waiting.
    pub(super) fn new(concurrent: usize) -> PasswordGate {
        let concurrent = concurrent.max(1);
        PasswordGate {
            running: Semaphore::new(concurrent),
            admitted: AtomicUsize::new(0),
            admit_max: concurrent * (1 + QUEUE_PER_CHECK),
        }
    }

    /// About one check per core.
    pub(super) fn per_core() -> PasswordGate {
        PasswordGate::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Runs `check` when a place is free; 503 with `Retry-After` at once
    /// when the queue is full.
    pub(super) async fn run<T>(
        &self,
        check: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let admitted = self.admitted.fetch_add(1, Ordering::SeqCst) + 1;
        let place = Admitted(self);
        if admitted > self.admit_max {
            drop(place);
            return Err(ApiError::unavailable(
                "too many password checks at once; try again shortly",
            )
            .retry_after(1));
        }
        let _running = self
            .running
            .acquire()
            .await
            .map_err(|e| ApiError::internal(format!("password gate closed: {e}")))?;
        let result = check.await;
        drop(place);
        result
    }
}

/// Failed logins per client address within a window.
pub(super) struct ClientFailures {
    max: u32,
    window: Duration,
    clients: Mutex<HashMap<String, (Instant, u32)>>,
}

impl ClientFailures {
    pub(super) fn new(max: u32, window: Duration) -> ClientFailures {
        ClientFailures {
            max,
            window,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, u32)>> {
        // Single inserts and removals: a panic elsewhere leaves it whole.
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(429)` with the seconds left when `client` has used up its
    /// failures in the current window.
    pub(super) fn check(&self, client: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut clients = self.clients();
        let Some(&(start, failures)) = clients.get(client) else {
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= self.window {
            clients.remove(client);
            return Ok(());
        }
        if failures < self.max {
            return Ok(());
        }
        let left = self.window.saturating_sub(elapsed).as_secs().max(1);
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed logins from this address; try again later",
        )
        .retry_after(left))
    }

    /// Counts a failed login of `client`.
    pub(super) fn failed(&self, client: &str) {
        let now = Instant::now();
        let mut clients = self.clients();
        if clients.len() >= CLIENTS_MAX && !clients.contains_key(client) {
            let window = self.window;
            clients.retain(|_, (start, _)| now.saturating_duration_since(*start) < window);
            if clients.len() >= CLIENTS_MAX {
                // Still full of live windows: forget the oldest one.
                if let Some(oldest) = clients
                    .iter()
                    .min_by_key(|(_, (start, _))| *start)
                    .map(|(k, _)| k.clone())
                {
                    clients.remove(&oldest);
                }
            }
        }
        let entry = clients.entry(client.to_string()).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_queue_beyond_its_bound_is_refused_at_once() {
        let gate = std::sync::Arc::new(PasswordGate::new(1));
        let (release, wait) = tokio::sync::watch::channel(false);
        let mut held = Vec::new();
        for _ in 0..(1 + QUEUE_PER_CHECK) {
            let (gate, mut wait) = (gate.clone(), wait.clone());
            held.push(tokio::spawn(async move {
                gate.run(async move {
                    let _ = wait.wait_for(|go| *go).await;
                    Ok(())
                })
                .await
            }));
        }
        // Bounded wait until every one of them is admitted.
        for _ in 0..1000 {
            if gate.admitted.load(Ordering::SeqCst) == 1 + QUEUE_PER_CHECK {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let refused = gate.run(async { Ok(()) }).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        release.send(true).unwrap();
        for task in held {
            task.await.unwrap().unwrap();
        }
        gate.run(async { Ok(()) }).await.unwrap();
    }

    #[test]
    fn failures_per_client_are_bounded_within_the_window() {
        let failures = ClientFailures::new(2, Duration::from_secs(3600));
        failures.failed("192.0.2.1");
        assert!(failures.check("192.0.2.1").is_ok());
        failures.failed("192.0.2.1");
        let refused = failures.check("192.0.2.1").unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(failures.check("192.0.2.2").is_ok());
        let short = ClientFailures::new(1, Duration::ZERO);
        short.failed("192.0.2.3");
        assert!(short.check("192.0.2.3").is_ok(), "the window has passed");
    }
}
