//! The systemd notification protocol (sd_notify), for `Type=notify` units:
//! `READY=1` once every listener is bound and the HTTP port is open,
//! `WATCHDOG=1` every half `WATCHDOG_USEC` while the store commits (a
//! store that keeps failing stops the pings, so systemd restarts the
//! service), `STOPPING=1` on SIGTERM. Without `NOTIFY_SOCKET` (not started
//! by systemd) nothing is sent.

use std::os::unix::net::UnixDatagram;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// The service manager's socket, when there is one.
pub(crate) struct Notifier {
    socket: UnixDatagram,
    address: std::os::unix::net::SocketAddr,
}

impl Notifier {
    /// From `NOTIFY_SOCKET` (a path, or `@name` for an abstract socket).
    pub(crate) fn from_env() -> Option<Notifier> {
        let name = std::env::var_os("NOTIFY_SOCKET")?;
        let name = name.to_string_lossy();
        let address = match name.strip_prefix('@') {
            Some(abstract_name) => {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes()).ok()?
            }
            None => std::os::unix::net::SocketAddr::from_pathname(name.as_ref()).ok()?,
        };
        let socket = UnixDatagram::unbound().ok()?;
        Some(Notifier { socket, address })
    }

    /// Sends one notification; a failure is logged, never fatal.
    pub(crate) fn send(&self, state: &str) {
        if let Err(err) = self.socket.send_to_addr(state.as_bytes(), &self.address) {
            tracing::warn!(error = %err, state, "cannot notify the service manager");
        }
    }
}

/// The watchdog period systemd asked for (`WATCHDOG_USEC`), when it is
/// meant for this process (`WATCHDOG_PID` unset or ours).
fn watchdog_period() -> Option<Duration> {
    if let Some(pid) = std::env::var_os("WATCHDOG_PID") {
        if pid.to_string_lossy().parse::<u32>().ok() != Some(std::process::id()) {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// After start: `READY=1`, then the watchdog pings until `cancel`.
pub(crate) fn ready(metrics: Arc<Metrics>, cancel: CancellationToken) {
    let Some(notifier) = Notifier::from_env() else {
        return;
    };
    notifier.send(&format!(
        "READY=1\nMAINPID={}\nSTATUS=receiving",
        std::process::id()
    ));
    let Some(period) = watchdog_period() else {
        return;
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period / 2);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {
                    // A store that keeps failing appends is not alive.
                    if metrics.store_healthy.load(Relaxed) {
                        notifier.send("WATCHDOG=1");
                    }
                }
            }
        }
    });
}

/// On SIGTERM or SIGINT: the service manager knows the stop has begun.
pub(crate) fn stopping() {
    if let Some(notifier) = Notifier::from_env() {
        notifier.send("STOPPING=1");
    }
}
