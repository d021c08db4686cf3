//! The audit events of the exporter's sessions (NDcPP FTP_ITC.1,
//! FAU_GEN.1): a client's session established, terminated, or refused,
//! with its peer address, user, authentication method and reason, as
//! parameters under netaudit's SD-ID (docs/catalog.md).

use netaudit_event::{Event, Facility, Param, Severity};

use crate::self_events::{internal_event, NETAUDIT_SD_ID};

/// The application name of the exporter's events.
pub(crate) const EXPORTER_APP: &str = "netaudit-netconf-server";
/// A client's NETCONF session is established (authenticated, hellos exchanged).
pub(crate) const ESTABLISHED_CODE: &str = "NETAUDIT_NETCONF_SERVER_ESTABLISHED";
/// An established session ended.
pub(crate) const TERMINATED_CODE: &str = "NETAUDIT_NETCONF_SERVER_TERMINATED";
/// A client's connection or session was refused or failed before it was established.
pub(crate) const FAILED_CODE: &str = "NETAUDIT_NETCONF_SERVER_FAILED";

/// Who and where: the parameters every exporter event carries.
pub(crate) struct Client<'a> {
    /// `address:port` of the client.
    pub peer: &'a str,
    /// The SSH user name as the client sent it (`-` before it sent one).
    pub user: &'a str,
    /// `password` or `publickey`, `-` before authentication.
    pub method: &'a str,
}

fn event(
    code: &str,
    severity: Severity,
    message: String,
    client: &Client<'_>,
    extra: &[(&str, &str)],
) -> Event {
    let mut event = internal_event(code, severity, message);
    event.app = Some(EXPORTER_APP.into());
    event.facility = Some(Facility::Auth);
    let user = netaudit_event::recorded_user_name(client.user);
    event.user = Some(user.as_ref().into());
    event.client_addr = Some(client.peer.into());
    let mut params = vec![
        ("peer", client.peer),
        ("user", user.as_ref()),
        ("auth-method", client.method),
    ];
    params.extend_from_slice(extra);
    event.params = params
        .into_iter()
        .map(|(name, value)| Param {
            sd_id: NETAUDIT_SD_ID.into(),
            name: name.into(),
            value: value.into(),
        })
        .collect();
    event
}

pub(crate) fn established(client: &Client<'_>, session_id: u32, negotiated: &str) -> Event {
    let id = session_id.to_string();
    event(
        ESTABLISHED_CODE,
        Severity::Notice,
        format!(
            "NETCONF client {} ({}) established session {id} by {}: {negotiated}",
            client.user, client.peer, client.method
        ),
        client,
        &[("session-id", &id), ("negotiated", negotiated)],
    )
}

pub(crate) fn terminated(client: &Client<'_>, session_id: u32, reason: &str, sent: u64) -> Event {
    let id = session_id.to_string();
    let count = sent.to_string();
    event(
        TERMINATED_CODE,
        Severity::Notice,
        format!(
            "NETCONF client {} ({}) session {id} ended after {sent} event(s) sent: {reason}",
            client.user, client.peer
        ),
        client,
        &[("session-id", &id), ("reason", reason), ("events", &count)],
    )
}

pub(crate) fn failed(client: &Client<'_>, stage: &str, reason: &str) -> Event {
    event(
        FAILED_CODE,
        Severity::Error,
        format!(
            "NETCONF client {} ({}) refused at {stage}: {reason}",
            client.user, client.peer
        ),
        client,
        &[("stage", stage), ("reason", reason)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_peer_user_method_and_reason() {
        let client = Client {
            peer: "127.0.0.1:40000",
            user: "audit",
            method: "password",
        };
        let e = failed(&client, "authentication", "wrong password");
        assert_eq!(e.code.as_deref(), Some(FAILED_CODE));
        assert_eq!(e.param("peer"), Some("127.0.0.1:40000"));
        assert_eq!(e.param("auth-method"), Some("password"));
        assert_eq!(e.param("reason"), Some("wrong password"));
        assert!(e.params.iter().all(|p| p.sd_id == NETAUDIT_SD_ID));
        let e = terminated(&client, 7, "close-session", 3);
        assert_eq!(e.param("session-id"), Some("7"));
        assert_eq!(e.param("events"), Some("3"));
        // A name that cannot be a user name is recorded marked, never as sent.
        let odd = Client {
            user: "a\"b<c>\n",
            ..client
        };
        let e = established(&odd, 1, "base:1.1");
        assert_ne!(e.param("user"), Some("a\"b<c>\n"));
    }
}
