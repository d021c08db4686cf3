//! The audit events of the NETCONF channels (NDcPP FTP_ITC.1, FAU_GEN.1):
//! a session established, terminated, or failed, with the peer address,
//! the user, the host-key fingerprint and the reason, as parameters under
//! netaudit's SD-ID (docs/catalog.md).

use netaudit_event::{Event, Facility, Param, Severity};

use crate::self_events::{internal_event, NETAUDIT_SD_ID};

/// The application name of the collector's events.
pub(crate) const NETCONF_APP: &str = "netaudit-netconf";
/// A session with a device is established and its stream requested.
pub(crate) const ESTABLISHED_CODE: &str = "NETAUDIT_NETCONF_ESTABLISHED";
/// An established session ended.
pub(crate) const TERMINATED_CODE: &str = "NETAUDIT_NETCONF_TERMINATED";
/// A session could not be established.
pub(crate) const FAILED_CODE: &str = "NETAUDIT_NETCONF_FAILED";

/// Who and where: the parameters every channel event carries.
pub(crate) struct Channel<'a> {
    pub device: &'a str,
    pub peer: &'a str,
    pub user: &'a str,
    /// SHA-256 fingerprint of the device's host key, once it was presented.
    pub fingerprint: Option<&'a str>,
}

fn event(
    code: &str,
    severity: Severity,
    message: String,
    channel: &Channel<'_>,
    extra: &[(&str, &str)],
) -> Event {
    let mut event = internal_event(code, severity, message);
    event.app = Some(NETCONF_APP.into());
    event.facility = Some(Facility::Auth);
    event.user = Some(channel.user.into());
    event.device = Some(channel.device.into());
    let mut params = vec![
        ("device", channel.device),
        ("peer", channel.peer),
        ("user", channel.user),
        ("host-key", channel.fingerprint.unwrap_or("-")),
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

pub(crate) fn established(channel: &Channel<'_>, negotiated: &str) -> Event {
    event(
        ESTABLISHED_CODE,
        Severity::Notice,
        format!(
            "NETCONF session with device {} ({}) established as user {}: {negotiated}",
            channel.device, channel.peer, channel.user
        ),
        channel,
        &[("negotiated", negotiated)],
    )
}

pub(crate) fn terminated(channel: &Channel<'_>, reason: &str, received: u64) -> Event {
    let count = received.to_string();
    event(
        TERMINATED_CODE,
        Severity::Warning,
        format!(
            "NETCONF session with device {} ({}) ended after {received} event(s): {reason}",
            channel.device, channel.peer
        ),
        channel,
        &[("reason", reason), ("events", &count)],
    )
}

pub(crate) fn failed(channel: &Channel<'_>, stage: &str, reason: &str) -> Event {
    event(
        FAILED_CODE,
        Severity::Error,
        format!(
            "NETCONF session with device {} ({}) as user {} failed at {stage}: {reason}",
            channel.device, channel.peer, channel.user
        ),
        channel,
        &[("stage", stage), ("reason", reason)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_peer_user_key_and_reason() {
        let channel = Channel {
            device: "r1",
            peer: "192.0.2.1:830",
            user: "audit",
            fingerprint: Some("SHA256:abc"),
        };
        let e = failed(&channel, "host-key", "the device's key differs");
        assert_eq!(e.code.as_deref(), Some(FAILED_CODE));
        assert_eq!(e.severity, Some(Severity::Error));
        assert_eq!(e.param("peer"), Some("192.0.2.1:830"));
        assert_eq!(e.param("host-key"), Some("SHA256:abc"));
        assert_eq!(e.param("reason"), Some("the device's key differs"));
        assert!(e.params.iter().all(|p| p.sd_id == NETAUDIT_SD_ID));
        let e = terminated(
            &Channel {
                fingerprint: None,
                ..channel
            },
            "the device closed the session",
            3,
        );
        assert_eq!(e.param("host-key"), Some("-"));
        assert_eq!(e.param("events"), Some("3"));
    }
}
