//! The HTTP API under `/api/v1` (docs/api.md): event submission for
//! applications, sessions, users and the authentication policy, examination
//! of the store, operations and their leaves. [`router`] is the whole API.

mod error;
mod events;
mod input;
mod openapi;
mod operations;
mod outbox;
mod outputs;
mod principal;
mod routes;
mod session;
mod state;
mod users;

pub use outbox::drain_outbox;
pub use routes::router;
pub(crate) use state::audit_event;
pub use state::ApiState;

/// SD-ID of the parameters netaudit adds to catalog events it makes itself
/// (private enterprise number placeholder of RFC 5424's examples).
pub const NETAUDIT_SD_ID: &str = "netaudit@32473";

/// The application name of events made by the API.
pub const API_APP: &str = "netaudit-api";

/// This machine's name, for the HOSTNAME of events netaudit makes.
pub(crate) fn hostname() -> Option<String> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let mut buf = [0u8; 256];
        // SAFETY: buf is valid for buf.len() bytes; gethostname NUL-terminates
        // on success when the name fits.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc != 0 {
            return None;
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        std::str::from_utf8(buf.get(..end)?)
            .ok()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    })
    .clone()
}
