//! The events netaudit makes about itself: audit events of its API and
//! command line, and internal events of the server (drops, full storage,
//! undelivered records), plus the event kept for a message that did not
//! parse. Kept on the ground floor so that the API, the outputs and the
//! pipeline can all make them without importing one another.

use netaudit_event::{catalog, CatalogError, Event, EventContext, Facility, Param, Severity};

use crate::clock::now_ns;

/// SD-ID of the parameters netaudit adds to catalog events it makes itself
/// (the syslog crate's, which the forwarded form marks unparsed messages with).
pub(crate) use netaudit_syslog::NETAUDIT_SD_ID;

/// The application name of events made by the API.
pub(crate) const API_APP: &str = "netaudit-api";

/// The application name of events made by `netaudit user`.
pub(crate) const CLI_APP: &str = "netaudit-cli";

/// The application name of internal events of the server.
pub(crate) const INTERNAL_APP: &str = "netaudit";

/// The application name of the events the policy engine makes; policies
/// never look at these (no policy can feed on its own output).
pub(crate) const POLICY_APP: &str = "netaudit-policy";

/// Whether `event` was made by the policy engine. The app name alone is not
/// enough: any syslog sender can name its app `netaudit-policy`, and such a
/// message must neither escape the policies, nor route itself to an output,
/// nor pass for a firing (which would run its actions). Every event received
/// from the network keeps the bytes it came as; the engine's have none.
pub(crate) fn is_policy_engine_event(event: &Event) -> bool {
    event.app.as_deref() == Some(POLICY_APP) && event.raw.is_empty()
}

/// A catalog event made by netaudit itself (`app` names which part); the
/// `extra` pairs go under [`NETAUDIT_SD_ID`].
pub(crate) fn audit_event(
    code: &str,
    vars: &[(&str, &str)],
    extra: &[(&str, &str)],
    app: &str,
) -> Result<Event, CatalogError> {
    let entry = catalog().lookup(code)?;
    let rendered = entry.render(vars)?;
    let mut event = rendered.into_event(&context(app));
    for (name, value) in extra {
        event.params.push(Param {
            sd_id: NETAUDIT_SD_ID.into(),
            name: (*name).into(),
            value: (*value).into(),
        });
    }
    Ok(event)
}

/// The context of an event `app` makes now on this machine.
pub(crate) fn context(app: &str) -> EventContext {
    let now = now_ns();
    EventContext {
        time_ns: Some(now),
        host: hostname(),
        app: Some(app.to_string()),
        received_ns: now,
        ..EventContext::default()
    }
}

/// This machine's name, for the HOSTNAME of events netaudit makes.
pub(crate) fn hostname() -> Option<String> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let mut buf = [0u8; 256];
        // SAFETY: buf is valid for buf.len() bytes; gethostname NUL-terminates
        // on success when the name fits.
        #[allow(unsafe_code)]
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

/// An event netaudit stores about itself (facility syslog, app `netaudit`).
pub(crate) fn internal_event(code: &str, severity: Severity, message: String) -> Event {
    let now = now_ns();
    Event {
        received_ns: now,
        time_ns: Some(now),
        host: None,
        app: Some(INTERNAL_APP.into()),
        facility: Some(Facility::Syslog),
        severity: Some(severity),
        code: Some(code.into()),
        message: Some(message.into()),
        ..Event::default()
    }
}

/// The event stored for a message that did not parse: its raw bytes and why.
pub(crate) fn unparsed_event(raw: &[u8], received_ns: i64, error: String) -> Event {
    Event {
        received_ns,
        raw: raw.to_vec(),
        parse_error: Some(error.into()),
        ..Event::default()
    }
}
