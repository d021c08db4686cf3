//! Attribute numbers and enumerated values that netaudit's accounting
//! records use (RFC 2865, RFC 2866, RFC 2869), and the JUNOScope vendor
//! attribute names (numbers come from the dictionary: they are configurable).

/// Standard attribute numbers.
pub mod attr {
    /// User-Name (RFC 2865 section 5.1).
    pub const USER_NAME: u8 = 1;
    /// NAS-IP-Address (RFC 2865 section 5.4).
    pub const NAS_IP_ADDRESS: u8 = 4;
    /// NAS-Port (RFC 2865 section 5.5).
    pub const NAS_PORT: u8 = 5;
    /// Service-Type (RFC 2865 section 5.6).
    pub const SERVICE_TYPE: u8 = 6;
    /// Reply-Message (RFC 2865 section 5.18).
    pub const REPLY_MESSAGE: u8 = 18;
    /// Class (RFC 2865 section 5.25).
    pub const CLASS: u8 = 25;
    /// Vendor-Specific (RFC 2865 section 5.26).
    pub const VENDOR_SPECIFIC: u8 = 26;
    /// Called-Station-Id (RFC 2865 section 5.30).
    pub const CALLED_STATION_ID: u8 = 30;
    /// Calling-Station-Id (RFC 2865 section 5.31).
    pub const CALLING_STATION_ID: u8 = 31;
    /// NAS-Identifier (RFC 2865 section 5.32).
    pub const NAS_IDENTIFIER: u8 = 32;
    /// Proxy-State (RFC 2865 section 5.33).
    pub const PROXY_STATE: u8 = 33;
    /// Acct-Status-Type (RFC 2866 section 5.1).
    pub const ACCT_STATUS_TYPE: u8 = 40;
    /// Acct-Delay-Time (RFC 2866 section 5.2).
    pub const ACCT_DELAY_TIME: u8 = 41;
    /// Acct-Input-Octets (RFC 2866 section 5.3).
    pub const ACCT_INPUT_OCTETS: u8 = 42;
    /// Acct-Output-Octets (RFC 2866 section 5.4).
    pub const ACCT_OUTPUT_OCTETS: u8 = 43;
    /// Acct-Session-Id (RFC 2866 section 5.5).
    pub const ACCT_SESSION_ID: u8 = 44;
    /// Acct-Authentic (RFC 2866 section 5.6).
    pub const ACCT_AUTHENTIC: u8 = 45;
    /// Acct-Session-Time (RFC 2866 section 5.7).
    pub const ACCT_SESSION_TIME: u8 = 46;
    /// Acct-Input-Packets (RFC 2866 section 5.8).
    pub const ACCT_INPUT_PACKETS: u8 = 47;
    /// Acct-Output-Packets (RFC 2866 section 5.9).
    pub const ACCT_OUTPUT_PACKETS: u8 = 48;
    /// Acct-Terminate-Cause (RFC 2866 section 5.10).
    pub const ACCT_TERMINATE_CAUSE: u8 = 49;
    /// Acct-Multi-Session-Id (RFC 2866 section 5.11).
    pub const ACCT_MULTI_SESSION_ID: u8 = 50;
    /// Acct-Link-Count (RFC 2866 section 5.12).
    pub const ACCT_LINK_COUNT: u8 = 51;
    /// Event-Timestamp (RFC 2869 section 5.3).
    pub const EVENT_TIMESTAMP: u8 = 55;
    /// NAS-Port-Type (RFC 2865 section 5.41).
    pub const NAS_PORT_TYPE: u8 = 61;
    /// Message-Authenticator (RFC 2869 section 5.14).
    pub const MESSAGE_AUTHENTICATOR: u8 = 80;
    /// NAS-Port-Id (RFC 2869 section 5.17).
    pub const NAS_PORT_ID: u8 = 87;
}

/// Juniper Networks' IANA private enterprise number.
pub const JUNIPER_VENDOR_ID: u32 = 2636;

/// Dictionary names of the JUNOScope vendor attributes (seed 000).
pub mod junoscope {
    /// The catalog code of a privileged operation (e.g. `DEVICE_ADDED`).
    pub const PRIVILEGED_COMMAND: &str = "Juniper-JUNOScope-Privileged-Command";
    /// The name Juniper's guide also uses for [`PRIVILEGED_COMMAND`]; same number.
    pub const PRIVILEGED_OPERATION: &str = "Juniper-JUNOScope-Privileged-Operation";
    /// What the operation acted on (device, label, user, server address).
    pub const TARGET: &str = "Juniper-JUNOScope-Target";
    /// Why a login failed (`Authentication Failure`, `User Account Locked`).
    pub const LOGIN_FAILURE_REASON: &str = "Juniper-JUNOScope-Login-Failure-Reason";
}

macro_rules! enumerated {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $number:literal => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum $name {
            // Each value's doc is its dictionary name and number, which is
            // all RFC 2866 says about it.
            $(#[doc = concat!("`", $text, "` (", stringify!($number), ").")] $variant = $number,)*
        }

        impl $name {
            /// Every value, in number order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The value on the wire.
            pub fn number(self) -> u32 {
                self as u32
            }

            /// The value for a number, if defined.
            pub fn from_number(number: u32) -> Option<$name> {
                match number {
                    $($number => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The dictionary name (FreeRADIUS's spelling).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

enumerated! {
    /// Acct-Status-Type values (RFC 2866 section 5.1).
    AcctStatusType {
        Start = 1 => "Start",
        Stop = 2 => "Stop",
        InterimUpdate = 3 => "Interim-Update",
        AccountingOn = 7 => "Accounting-On",
        AccountingOff = 8 => "Accounting-Off",
    }
}

enumerated! {
    /// Acct-Terminate-Cause values (RFC 2866 section 5.10).
    AcctTerminateCause {
        UserRequest = 1 => "User-Request",
        LostCarrier = 2 => "Lost-Carrier",
        LostService = 3 => "Lost-Service",
        IdleTimeout = 4 => "Idle-Timeout",
        SessionTimeout = 5 => "Session-Timeout",
        AdminReset = 6 => "Admin-Reset",
        AdminReboot = 7 => "Admin-Reboot",
        PortError = 8 => "Port-Error",
        NasError = 9 => "NAS-Error",
        NasRequest = 10 => "NAS-Request",
        NasReboot = 11 => "NAS-Reboot",
        PortUnneeded = 12 => "Port-Unneeded",
        PortPreempted = 13 => "Port-Preempted",
        PortSuspended = 14 => "Port-Suspended",
        ServiceUnavailable = 15 => "Service-Unavailable",
        Callback = 16 => "Callback",
        UserError = 17 => "User-Error",
        HostRequest = 18 => "Host-Request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for value in AcctStatusType::ALL {
            assert_eq!(AcctStatusType::from_number(value.number()), Some(*value));
        }
        for value in AcctTerminateCause::ALL {
            assert_eq!(
                AcctTerminateCause::from_number(value.number()),
                Some(*value)
            );
        }
        assert_eq!(AcctTerminateCause::ALL.len(), 18);
        assert_eq!(AcctStatusType::from_number(4), None);
        assert_eq!(AcctTerminateCause::UserError.number(), 17);
        assert_eq!(
            AcctTerminateCause::SessionTimeout.to_string(),
            "Session-Timeout"
        );
    }
}
