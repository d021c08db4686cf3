//! Severity, facility and PRI (RFC 5424 section 6.2.1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Errors for names and numbers of severities, facilities and priorities.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PriorityError {
    /// A severity name that is neither a Junos nor a syslog keyword.
    #[error("unknown severity '{0}' (expected one of emergency, alert, critical, error, warning, notice, info, debug)")]
    UnknownSeverity(String),
    /// A facility name outside RFC 5424's table and its aliases.
    #[error("unknown facility '{0}' (expected kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, audit, alert, clock or local0..local7)")]
    UnknownFacility(String),
    /// A severity number above 7.
    #[error("severity number {0} out of range 0..=7")]
    SeverityOutOfRange(u8),
    /// A facility number above 23.
    #[error("facility number {0} out of range 0..=23")]
    FacilityOutOfRange(u8),
    /// A PRI value above 191 (facility 23, severity 7).
    #[error("PRI value {0} out of range 0..=191")]
    PriOutOfRange(u32),
}

/// Message severity, 0 (most severe) to 7. Names are the ones Junos uses in
/// its configuration (`emergency` ... `info`, `debug`); the short syslog
/// keywords (`emerg`, `crit`, `err`, `warn`) are accepted when parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String", into = "&'static str")]
#[repr(u8)]
pub enum Severity {
    /// System is unusable.
    Emergency = 0,
    /// Action must be taken immediately.
    Alert = 1,
    /// Critical conditions.
    Critical = 2,
    /// Error conditions.
    Error = 3,
    /// Warning conditions.
    Warning = 4,
    /// Normal but significant condition.
    Notice = 5,
    /// Informational messages.
    Info = 6,
    /// Debug-level messages.
    Debug = 7,
}

impl Severity {
    /// Every severity, most severe first (index = code).
    pub const ALL: [Severity; 8] = [
        Severity::Emergency,
        Severity::Alert,
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Notice,
        Severity::Info,
        Severity::Debug,
    ];

    /// The numeric code (0..=7).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The severity with this numeric code (0..=7).
    pub fn from_code(code: u8) -> Result<Self, PriorityError> {
        Self::ALL
            .get(usize::from(code))
            .copied()
            .ok_or(PriorityError::SeverityOutOfRange(code))
    }

    /// The canonical (Junos) name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Emergency => "emergency",
            Severity::Alert => "alert",
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
            Severity::Info => "info",
            Severity::Debug => "debug",
        }
    }

    /// True when `self` is at least as severe as `min` (lower code = more severe).
    pub fn at_least(self, min: Severity) -> bool {
        self.code() <= min.code()
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Severity {
    type Err = PriorityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "emergency" | "emerg" | "panic" => Severity::Emergency,
            "alert" => Severity::Alert,
            "critical" | "crit" => Severity::Critical,
            "error" | "err" => Severity::Error,
            "warning" | "warn" => Severity::Warning,
            "notice" => Severity::Notice,
            "info" | "informational" => Severity::Info,
            "debug" => Severity::Debug,
            _ => {
                if let Ok(n) = lower.parse::<u8>() {
                    return Severity::from_code(n);
                }
                return Err(PriorityError::UnknownSeverity(s.to_string()));
            }
        })
    }
}

impl TryFrom<String> for Severity {
    type Error = PriorityError;
    fn try_from(s: String) -> Result<Self, PriorityError> {
        s.parse()
    }
}

impl From<Severity> for &'static str {
    fn from(s: Severity) -> Self {
        s.name()
    }
}

/// Syslog facility, 0..=23 (RFC 5424 table 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
#[repr(u8)]
pub enum Facility {
    /// Kernel messages.
    Kern = 0,
    /// User-level messages.
    User = 1,
    /// Mail system.
    Mail = 2,
    /// System daemons.
    Daemon = 3,
    /// Security/authorization messages.
    Auth = 4,
    /// Messages generated internally by syslogd.
    Syslog = 5,
    /// Line printer subsystem.
    Lpr = 6,
    /// Network news subsystem.
    News = 7,
    /// UUCP subsystem.
    Uucp = 8,
    /// Clock (cron) daemon.
    Cron = 9,
    /// Security/authorization messages (private).
    Authpriv = 10,
    /// FTP daemon.
    Ftp = 11,
    /// NTP subsystem.
    Ntp = 12,
    /// Log audit.
    Audit = 13,
    /// Log alert.
    Alert = 14,
    /// Clock daemon.
    Clock = 15,
    /// Local use 0.
    Local0 = 16,
    /// Local use 1.
    Local1 = 17,
    /// Local use 2.
    Local2 = 18,
    /// Local use 3.
    Local3 = 19,
    /// Local use 4.
    Local4 = 20,
    /// Local use 5.
    Local5 = 21,
    /// Local use 6.
    Local6 = 22,
    /// Local use 7.
    Local7 = 23,
}

impl Facility {
    /// Every facility in code order (index = code).
    pub const ALL: [Facility; 24] = [
        Facility::Kern,
        Facility::User,
        Facility::Mail,
        Facility::Daemon,
        Facility::Auth,
        Facility::Syslog,
        Facility::Lpr,
        Facility::News,
        Facility::Uucp,
        Facility::Cron,
        Facility::Authpriv,
        Facility::Ftp,
        Facility::Ntp,
        Facility::Audit,
        Facility::Alert,
        Facility::Clock,
        Facility::Local0,
        Facility::Local1,
        Facility::Local2,
        Facility::Local3,
        Facility::Local4,
        Facility::Local5,
        Facility::Local6,
        Facility::Local7,
    ];

    /// The numeric code (0..=23).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The facility with this numeric code (0..=23).
    pub fn from_code(code: u8) -> Result<Self, PriorityError> {
        Self::ALL
            .get(usize::from(code))
            .copied()
            .ok_or(PriorityError::FacilityOutOfRange(code))
    }

    /// The canonical (RFC 5424 / syslog.conf) name, e.g. `local2`.
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 24] = [
            "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
            "authpriv", "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2",
            "local3", "local4", "local5", "local6", "local7",
        ];
        NAMES[usize::from(self.code())]
    }

    /// True for local0..local7, the only facilities JUNOScope lets an
    /// installer choose (seed 000).
    pub fn is_local(self) -> bool {
        self.code() >= 16
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Facility {
    type Err = PriorityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "security" | "authorization" => Some(Facility::Auth),
            "kernel" => Some(Facility::Kern),
            _ => None,
        };
        if let Some(f) = alias {
            return Ok(f);
        }
        if let Some(f) = Self::ALL.iter().find(|f| f.name() == lower) {
            return Ok(*f);
        }
        if let Ok(n) = lower.parse::<u8>() {
            return Facility::from_code(n);
        }
        Err(PriorityError::UnknownFacility(s.to_string()))
    }
}

impl TryFrom<String> for Facility {
    type Error = PriorityError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Facility> for &'static str {
    fn from(f: Facility) -> Self {
        f.name()
    }
}

/// A PRI value: facility x 8 + severity (0..=191).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Priority {
    /// Who sent the message (the PRI value divided by 8).
    pub facility: Facility,
    /// How severe it is (the PRI value modulo 8).
    pub severity: Severity,
}

impl Priority {
    /// The priority of `facility` and `severity`.
    pub fn new(facility: Facility, severity: Severity) -> Self {
        Priority { facility, severity }
    }

    /// The numeric PRI value.
    pub fn code(self) -> u8 {
        self.facility.code() * 8 + self.severity.code()
    }

    /// Splits a numeric PRI value (0..=191) into facility and severity.
    pub fn from_code(pri: u32) -> Result<Self, PriorityError> {
        if pri > 191 {
            return Err(PriorityError::PriOutOfRange(pri));
        }
        // pri <= 191 so both casts are lossless.
        let facility = Facility::from_code((pri / 8) as u8)?;
        let severity = Severity::from_code((pri % 8) as u8)?;
        Ok(Priority { facility, severity })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pri_round_trips_every_value() {
        for pri in 0..=191u32 {
            let p = Priority::from_code(pri).unwrap();
            assert_eq!(u32::from(p.code()), pri);
        }
        assert_eq!(
            Priority::from_code(192),
            Err(PriorityError::PriOutOfRange(192))
        );
    }

    #[test]
    fn seed_sample_pri_165_is_local4_notice() {
        let p = Priority::from_code(165).unwrap();
        assert_eq!(p.facility, Facility::Local4);
        assert_eq!(p.severity, Severity::Notice);
    }

    #[test]
    fn names_parse_and_aliases() {
        assert_eq!("local2".parse::<Facility>().unwrap(), Facility::Local2);
        assert_eq!("LOCAL7".parse::<Facility>().unwrap(), Facility::Local7);
        assert!("local8".parse::<Facility>().is_err());
        assert_eq!("err".parse::<Severity>().unwrap(), Severity::Error);
        assert_eq!("Info".parse::<Severity>().unwrap(), Severity::Info);
        assert!("loud".parse::<Severity>().is_err());
        for s in Severity::ALL {
            assert_eq!(s.name().parse::<Severity>().unwrap(), s);
        }
        for f in Facility::ALL {
            assert_eq!(f.name().parse::<Facility>().unwrap(), f);
        }
    }

    #[test]
    fn at_least_orders_by_severity() {
        assert!(Severity::Error.at_least(Severity::Warning));
        assert!(!Severity::Info.at_least(Severity::Warning));
        assert!(Severity::Warning.at_least(Severity::Warning));
    }
}
