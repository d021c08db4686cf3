//! The RADIUS accounting part of a catalog entry: which records an event
//! produces, with their Acct-Status-Type (RFC 2866 section 5.1) and
//! Acct-Terminate-Cause (section 5.10). Re-exported by [`crate::catalog`].

use serde::{Deserialize, Serialize};

/// RADIUS Acct-Status-Type (RFC 2866 section 5.1), the values JUNOScope uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AcctStatusType {
    /// Start (1): a session or operation begins.
    Start,
    /// Stop (2): it ends.
    Stop,
    /// Interim-Update (3): it is still going on.
    InterimUpdate,
}

impl AcctStatusType {
    /// The attribute value on the wire.
    pub fn code(self) -> u32 {
        match self {
            AcctStatusType::Start => 1,
            AcctStatusType::Stop => 2,
            AcctStatusType::InterimUpdate => 3,
        }
    }

    /// The RFC 2866 name.
    pub fn name(self) -> &'static str {
        match self {
            AcctStatusType::Start => "Start",
            AcctStatusType::Stop => "Stop",
            AcctStatusType::InterimUpdate => "Interim-Update",
        }
    }
}

/// RADIUS Acct-Terminate-Cause (RFC 2866 section 5.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TerminateCause {
    /// User-Request (1).
    UserRequest,
    /// Lost-Carrier (2).
    LostCarrier,
    /// Lost-Service (3).
    LostService,
    /// Idle-Timeout (4).
    IdleTimeout,
    /// Session-Timeout (5).
    SessionTimeout,
    /// Admin-Reset (6).
    AdminReset,
    /// Admin-Reboot (7).
    AdminReboot,
    /// Port-Error (8).
    PortError,
    /// NAS-Error (9).
    NasError,
    /// NAS-Request (10).
    NasRequest,
    /// NAS-Reboot (11).
    NasReboot,
    /// Port-Unneeded (12).
    PortUnneeded,
    /// Port-Preempted (13).
    PortPreempted,
    /// Port-Suspended (14).
    PortSuspended,
    /// Service-Unavailable (15).
    ServiceUnavailable,
    /// Callback (16).
    Callback,
    /// User-Error (17).
    UserError,
    /// Host-Request (18).
    HostRequest,
}

impl TerminateCause {
    /// The attribute value on the wire (RFC 2866 numbers them 1..=18 in
    /// declaration order).
    pub fn code(self) -> u32 {
        self as u32 + 1
    }

    /// The RFC 2866 name.
    pub fn name(self) -> &'static str {
        match self {
            TerminateCause::UserRequest => "User-Request",
            TerminateCause::LostCarrier => "Lost-Carrier",
            TerminateCause::LostService => "Lost-Service",
            TerminateCause::IdleTimeout => "Idle-Timeout",
            TerminateCause::SessionTimeout => "Session-Timeout",
            TerminateCause::AdminReset => "Admin-Reset",
            TerminateCause::AdminReboot => "Admin-Reboot",
            TerminateCause::PortError => "Port-Error",
            TerminateCause::NasError => "NAS-Error",
            TerminateCause::NasRequest => "NAS-Request",
            TerminateCause::NasReboot => "NAS-Reboot",
            TerminateCause::PortUnneeded => "Port-Unneeded",
            TerminateCause::PortPreempted => "Port-Preempted",
            TerminateCause::PortSuspended => "Port-Suspended",
            TerminateCause::ServiceUnavailable => "Service-Unavailable",
            TerminateCause::Callback => "Callback",
            TerminateCause::UserError => "User-Error",
            TerminateCause::HostRequest => "Host-Request",
        }
    }
}

/// One RADIUS accounting record an event produces. User-Name is always the
/// session user (the event's acting user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiusRecord {
    /// Acct-Status-Type of the record.
    pub status_type: AcctStatusType,
    /// Acct-Terminate-Cause, for Stop records that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminate_cause: Option<TerminateCause>,
    /// Juniper-JUNOScope-Privileged-Command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged_command: Option<String>,
    /// The variable whose value is sent as Juniper-JUNOScope-Target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_variable: Option<String>,
    /// Juniper-JUNOScope-Login-Failure-Reason sent by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_failure_reason: Option<String>,
    /// Every Login-Failure-Reason value the seed allows for this record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub login_failure_reasons: Vec<String>,
}

/// The RADIUS accounting records of one event, in sending order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiusSpec {
    /// The records, in sending order.
    pub records: Vec<RadiusRecord>,
}
