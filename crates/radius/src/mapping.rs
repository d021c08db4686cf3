//! From stored JUNOScope events to RADIUS accounting records (seed 000's
//! "RADIUS Attributes" of every catalog entry). Pure: no I/O, no clock.
//!
//! [`AccountingMapper::map`] turns one event into zero, one or two records:
//!
//! * login success: Start; logout: Stop; session timeout: Stop with
//!   Acct-Terminate-Cause Session-Timeout (the seed prints "Start" there, but
//!   RFC 2866 section 5.10 allows a terminate cause only in a Stop, and the
//!   timeout ends the session the login started);
//! * login failure and automatic lock: Start then Stop, with Acct-Terminate-Cause
//!   User-Error and Juniper-JUNOScope-Login-Failure-Reason;
//! * privileged actions: Interim-Update with Juniper-JUNOScope-Privileged-Command
//!   and Juniper-JUNOScope-Target;
//! * catalog entries without RADIUS attributes, and non-catalog events: nothing.
//!
//! Every record carries User-Name (the acting user), Acct-Session-Id,
//! NAS-Identifier (and NAS-IP-Address when configured), Event-Timestamp and
//! Calling-Station-Id (the client address). Acct-Delay-Time is not part of a
//! record: the client adds it each time it encodes one, because it changes.
//!
//! Acct-Session-Id: a login's Start derives it from the login event alone
//! (MD5 of user name, client address and event time in nanoseconds, first 8
//! octets in hex), so the same stored event always gives the same id, after
//! restarts too. The mapper remembers open sessions by (user, client
//! address); the logout or timeout Stop and the Interim-Updates of that user
//! from that address reuse the id. A Start/Stop pair (failed login, automatic
//! lock) and any event without an open session get an id derived the same
//! way from the event itself. After a restart the consumer replays the
//! events before its cursor through [`AccountingMapper::map`] (discarding
//! the records) to learn the sessions still open.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use md5::{Digest, Md5};
use netaudit_event::catalog::{self, CatalogEntry, RadiusRecord};
use netaudit_event::{Catalog, Event};

use crate::packet::{Attribute, MAX_ATTRIBUTE_VALUE_LEN, MAX_VENDOR_VALUE_LEN};
use crate::types::{attr, junoscope, AcctStatusType, AcctTerminateCause};
use crate::{Dictionary, RadiusError};

/// How many open sessions the mapper remembers; when full, the oldest login
/// is forgotten (its Stop then gets an id of its own). Bounds memory against
/// a flood of logins without logouts.
pub const MAX_OPEN_SESSIONS: usize = 65_536;

/// The reasons netaudit sends in Juniper-JUNOScope-Login-Failure-Reason,
/// worded as the seed's JUNOSCOPE_LOGIN_FAILURE entry words them.
pub const REASON_AUTHENTICATION_FAILURE: &str = "Authentication Failure";
/// See [`REASON_AUTHENTICATION_FAILURE`].
pub const REASON_USER_ACCOUNT_LOCKED: &str = "User Account Locked";

/// Who the accounting client says it is (RFC 2866 section 4.1: a request
/// carries NAS-IP-Address or NAS-Identifier; netaudit always sends the
/// identifier and adds the address when one is configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NasIdentity {
    /// NAS-Identifier, always sent.
    pub identifier: String,
    /// NAS-IP-Address, sent when configured.
    pub ip_address: Option<Ipv4Addr>,
}

impl NasIdentity {
    /// Fails if the identifier is empty or longer than an attribute holds.
    pub fn new(
        identifier: impl Into<String>,
        ip_address: Option<Ipv4Addr>,
    ) -> Result<NasIdentity, RadiusError> {
        let identifier = identifier.into();
        if identifier.is_empty() || identifier.len() > MAX_ATTRIBUTE_VALUE_LEN {
            return Err(RadiusError::InvalidValue {
                attribute: "NAS-Identifier".to_string(),
                value: identifier,
                expected: "1 to 253 octets of text".to_string(),
            });
        }
        Ok(NasIdentity {
            identifier,
            ip_address,
        })
    }
}

/// One accounting record, ready for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountingRecord {
    /// The store sequence number of the event it comes from.
    pub sequence: u64,
    /// Its position among the records of that event (0, or 0 and 1 for a
    /// Start/Stop pair).
    pub index: u8,
    /// Acct-Status-Type.
    pub status_type: AcctStatusType,
    /// Acct-Session-Id.
    pub session_id: String,
    /// Event-Timestamp: seconds since 1970, also the base of Acct-Delay-Time.
    pub event_time: u32,
    /// Every attribute but Acct-Delay-Time.
    pub attributes: Vec<Attribute>,
}

impl AccountingRecord {
    /// The attributes to encode after `delay_seconds` of trying to send
    /// (RFC 2866 section 5.2): the record's, then Acct-Delay-Time.
    pub fn attributes_with_delay(&self, delay_seconds: u32) -> Vec<Attribute> {
        let mut attributes = self.attributes.clone();
        attributes.push(Attribute::integer(attr::ACCT_DELAY_TIME, delay_seconds));
        attributes
    }

    /// Acct-Delay-Time for a record sent at `now` (seconds since 1970): how
    /// long after the event it goes out, 0 if the clock is behind the event.
    pub fn delay_at(&self, now: u64) -> u32 {
        u32::try_from(now.saturating_sub(u64::from(self.event_time))).unwrap_or(u32::MAX)
    }
}

/// An open session: the Start's id and time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OpenSession {
    id: String,
    start_time: u32,
    /// The login's sequence number, to find the oldest when full.
    sequence: u64,
}

/// Turns events into accounting records and keeps the open sessions.
#[derive(Debug, Clone)]
pub struct AccountingMapper {
    catalog: &'static Catalog,
    nas: NasIdentity,
    /// (vendor id, vendor type) of the three JUNOScope attributes.
    privileged_command: (u32, u8),
    target: (u32, u8),
    failure_reason: (u32, u8),
    sessions: HashMap<(String, String), OpenSession>,
}

impl AccountingMapper {
    /// A mapper for the built-in catalog. The JUNOScope attribute numbers
    /// come from `dictionary` (they are configurable); fails if it lacks one
    /// of them or defines it as a standard attribute.
    pub fn new(dictionary: &Dictionary, nas: NasIdentity) -> Result<AccountingMapper, RadiusError> {
        let vendor_number = |name: &str| {
            dictionary
                .attribute(name)
                .and_then(|def| def.vendor.map(|vendor| (vendor, def.number)))
                .ok_or_else(|| RadiusError::UnknownAttribute {
                    name: name.to_string(),
                })
        };
        Ok(AccountingMapper {
            catalog: netaudit_event::catalog(),
            nas,
            privileged_command: vendor_number(junoscope::PRIVILEGED_COMMAND)?,
            target: vendor_number(junoscope::TARGET)?,
            failure_reason: vendor_number(junoscope::LOGIN_FAILURE_REASON)?,
            sessions: HashMap::new(),
        })
    }

    /// How many sessions are open (logged in, not yet logged out).
    pub fn open_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// The records for the event stored as `sequence`, in sending order.
    ///
    /// Events without a catalog code, and catalog entries without RADIUS
    /// attributes, give no records. Never fails: text longer than an
    /// attribute holds is cut at a character boundary (the store keeps the
    /// whole event), and an event that names no user is attributed as
    /// [`AccountingMapper::unnamed_actor`] says.
    pub fn map(&mut self, sequence: u64, event: &Event) -> Vec<AccountingRecord> {
        let Some(entry) = event
            .code
            .as_deref()
            .and_then(|code| self.catalog.get_by_msgid(code))
        else {
            return Vec::new();
        };
        let Some(spec) = &entry.radius else {
            return Vec::new();
        };
        let variables = event_variables(entry, event);
        let lookup = |name: &str| {
            variables
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let client = lookup("client-address")
            .or(event.client_addr.as_deref())
            .unwrap_or_default()
            .to_string();
        let user = match lookup("admin-username")
            .or_else(|| lookup("username"))
            .or(event.user.as_deref().filter(|u| !u.is_empty()))
        {
            Some(user) => user.to_string(),
            None => self.unnamed_actor(&client, event),
        };
        let time_ns = event.time_ns.unwrap_or(event.received_ns);
        let event_time = unix_seconds(time_ns)
            .or_else(|| unix_seconds(event.received_ns))
            .unwrap_or(0);

        let key = (user.clone(), client.clone());
        let own_id = session_id(&user, &client, time_ns);
        let pair = spec.records.len() > 1;
        let mut records = Vec::with_capacity(spec.records.len());
        for (index, record) in spec.records.iter().enumerate() {
            let status_type = status_type(record);
            // A Start/Stop pair is a session of its own; otherwise a Start
            // opens the user's session and later records join it.
            let (session_id, session_time) = match (pair, status_type) {
                (true, _) | (false, AcctStatusType::Start) => (own_id.clone(), Some(0)),
                _ => match self.sessions.get(&key) {
                    Some(open) => (
                        open.id.clone(),
                        Some(event_time.saturating_sub(open.start_time)),
                    ),
                    None => (own_id.clone(), None),
                },
            };
            let mut attributes = vec![
                Attribute::integer(attr::ACCT_STATUS_TYPE, status_type.number()),
                text(attr::USER_NAME, &user),
                text(attr::ACCT_SESSION_ID, &session_id),
                text(attr::NAS_IDENTIFIER, &self.nas.identifier),
            ];
            if let Some(address) = self.nas.ip_address {
                attributes.push(Attribute::ipaddr(attr::NAS_IP_ADDRESS, address));
            }
            if !client.is_empty() {
                attributes.push(text(attr::CALLING_STATION_ID, &client));
            }
            attributes.push(Attribute::date(attr::EVENT_TIMESTAMP, event_time));
            if status_type == AcctStatusType::Stop {
                if let Some(seconds) = session_time {
                    attributes.push(Attribute::integer(attr::ACCT_SESSION_TIME, seconds));
                }
                if let Some(cause) = terminate_cause(record) {
                    attributes.push(Attribute::integer(
                        attr::ACCT_TERMINATE_CAUSE,
                        cause.number(),
                    ));
                }
                if let Some(reason) = failure_reason(record) {
                    attributes.push(self.vendor_text(self.failure_reason, reason));
                }
            }
            if status_type == AcctStatusType::InterimUpdate {
                attributes.push(
                    self.vendor_text(self.privileged_command, &privileged_command(entry, record)),
                );
                if let Some(target) = target_variable(entry, record).and_then(|name| lookup(&name))
                {
                    attributes.push(self.vendor_text(self.target, target));
                }
            }
            records.push(AccountingRecord {
                sequence,
                index: u8::try_from(index).unwrap_or(u8::MAX),
                status_type,
                session_id,
                event_time,
                attributes,
            });
        }

        if !pair {
            match records.first().map(|r| r.status_type) {
                Some(AcctStatusType::Start) => self.open(key, own_id, event_time, sequence),
                Some(AcctStatusType::Stop) => {
                    self.sessions.remove(&key);
                }
                _ => {}
            }
        }
        records
    }

    /// User-Name for an event whose text names no user (the RADIUS
    /// configuration and software install/download messages): the user of
    /// the only session open from the same client address, else the
    /// reporting JUNOScope process (`junoscope7080`) or host, else
    /// `junoscope`. User-Name is sent in every record.
    fn unnamed_actor(&self, client: &str, event: &Event) -> String {
        if !client.is_empty() {
            let mut from_client = self.sessions.keys().filter(|(_, c)| c == client);
            if let (Some((user, _)), None) = (from_client.next(), from_client.next()) {
                return user.clone();
            }
        }
        event
            .app
            .as_deref()
            .or(event.host.as_deref())
            .filter(|name| !name.is_empty())
            .unwrap_or("junoscope")
            .to_string()
    }

    fn open(&mut self, key: (String, String), id: String, start_time: u32, sequence: u64) {
        if self.sessions.len() >= MAX_OPEN_SESSIONS && !self.sessions.contains_key(&key) {
            let oldest = self
                .sessions
                .iter()
                .min_by_key(|(_, open)| open.sequence)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.sessions.remove(&oldest);
            }
        }
        // A second login of the same user from the same address replaces the
        // first session, whose Stop was never seen.
        self.sessions.insert(
            key,
            OpenSession {
                id,
                start_time,
                sequence,
            },
        );
    }

    fn vendor_text(&self, (vendor_id, vendor_type): (u32, u8), value: &str) -> Attribute {
        Attribute::vendor_string(vendor_id, vendor_type, cut(value, MAX_VENDOR_VALUE_LEN))
    }
}

/// A text attribute, cut to what fits.
fn text(kind: u8, value: &str) -> Attribute {
    Attribute::string(kind, cut(value, MAX_ATTRIBUTE_VALUE_LEN))
}

/// The longest prefix of `value` of at most `max` octets that ends on a
/// character boundary.
fn cut(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while end > 0 && !value.is_char_boundary(end) {
        end -= 1;
    }
    value.get(..end).unwrap_or_default()
}

/// Seconds since 1970 for a nanosecond time, if it fits a RADIUS date.
fn unix_seconds(time_ns: i64) -> Option<u32> {
    u32::try_from(time_ns.div_euclid(1_000_000_000)).ok()
}

/// The Acct-Session-Id a session started by this event has: the first 8
/// octets of MD5(user, 0, client address, 0, time in ns), in upper-case hex.
pub fn session_id(user: &str, client: &str, time_ns: i64) -> String {
    let mut md5 = Md5::new();
    md5.update(user.as_bytes());
    md5.update([0]);
    md5.update(client.as_bytes());
    md5.update([0]);
    md5.update(time_ns.to_string().as_bytes());
    let digest = md5.finalize();
    digest
        .iter()
        .take(8)
        .map(|octet| format!("{octet:02X}"))
        .collect()
}

fn status_type(record: &RadiusRecord) -> AcctStatusType {
    match record.status_type {
        catalog::AcctStatusType::Start => AcctStatusType::Start,
        catalog::AcctStatusType::Stop => AcctStatusType::Stop,
        catalog::AcctStatusType::InterimUpdate => AcctStatusType::InterimUpdate,
    }
}

/// The catalog's cause; a Stop that reports a login failure reason and names
/// no cause is a User-Error (the seed's LOGIN_FAILURE entry defines the
/// Start/Stop pattern with "User Error"; its USER_AUTO_LOCKED entry uses the
/// same pattern but leaves the cause out).
fn terminate_cause(record: &RadiusRecord) -> Option<AcctTerminateCause> {
    match record.terminate_cause {
        Some(cause) => AcctTerminateCause::from_number(cause.code()),
        None => record
            .login_failure_reason
            .as_ref()
            .map(|_| AcctTerminateCause::UserError),
    }
}

/// The catalog's default reason in netaudit's two-word vocabulary: the seed
/// words the reasons "Authentication Failure" / "User Account Locked" in the
/// LOGIN_FAILURE entry and "user locked" / "login failure" in the
/// USER_AUTO_LOCKED one; a server's policy should see one spelling per
/// reason.
fn failure_reason(record: &RadiusRecord) -> Option<&str> {
    let reason = record.login_failure_reason.as_deref()?;
    Some(match reason.to_ascii_lowercase().as_str() {
        "user locked" | "user account locked" => REASON_USER_ACCOUNT_LOCKED,
        "login failure" | "authentication failure" => REASON_AUTHENTICATION_FAILURE,
        _ => reason,
    })
}

/// The catalog's privileged command, else the code without its `JUNOSCOPE_`
/// prefix (the seed leaves it out for the lock/unlock and RADIUS
/// configuration entries; where it gives one it is that same form, e.g.
/// USER_CREATED).
fn privileged_command(entry: &CatalogEntry, record: &RadiusRecord) -> String {
    match &record.privileged_command {
        Some(command) => command.clone(),
        None => entry
            .code
            .strip_prefix(catalog::CODE_PREFIX)
            .unwrap_or(&entry.code)
            .to_string(),
    }
}

/// The catalog's target variable, else the first variable that names
/// neither the actor nor the client (the seed gives no target for the image
/// import and delete entries; their object is the image).
fn target_variable(entry: &CatalogEntry, record: &RadiusRecord) -> Option<String> {
    if let Some(name) = &record.target_variable {
        return Some(name.clone());
    }
    entry
        .variables
        .iter()
        .map(|v| v.name.as_str())
        .find(|name| !matches!(*name, "username" | "admin-username" | "client-address"))
        .map(str::to_string)
}

/// The entry's variables for this event: its structured parameters, else
/// (JUNOScope standard-format lines carry none) read back from the message
/// text through the template.
fn event_variables(entry: &CatalogEntry, event: &Event) -> Vec<(String, String)> {
    let from_params: Vec<(String, String)> = entry
        .variables
        .iter()
        .filter_map(|v| {
            event
                .param(&v.name)
                .map(|value| (v.name.clone(), value.to_string()))
        })
        .collect();
    if from_params.len() == entry.variables.len() {
        return from_params;
    }
    event
        .message
        .as_deref()
        .and_then(|message| match_template(&entry.template, message))
        .unwrap_or(from_params)
}

/// Reads the variables of `text` rendered from `template`. Each variable
/// ends at the first occurrence of the literal after it, except the last,
/// which ends where the template's final literal starts at the end of the
/// text. `None` if the text does not fit the template.
pub fn match_template(template: &str, text: &str) -> Option<Vec<(String, String)>> {
    let pieces = template_pieces(template)?;
    let mut values = Vec::new();
    let mut rest = text;
    let mut index = 0;
    while let Some(piece) = pieces.get(index) {
        match piece {
            Piece::Literal(literal) => rest = rest.strip_prefix(literal)?,
            Piece::Variable(name) => {
                let end = match pieces.get(index + 1) {
                    None => rest.len(),
                    Some(Piece::Variable(_)) => return None,
                    Some(Piece::Literal(literal)) if index + 2 == pieces.len() => {
                        rest.strip_suffix(literal)?.len()
                    }
                    Some(Piece::Literal(literal)) => rest.find(literal)?,
                };
                let (value, after) = rest.split_at(end);
                values.push((name.to_string(), value.to_string()));
                rest = after;
            }
        }
        index += 1;
    }
    rest.is_empty().then_some(values)
}

enum Piece<'a> {
    Literal(&'a str),
    Variable(&'a str),
}

/// `literal{name}literal...`; `None` on unbalanced braces (the catalog's
/// templates are checked when it loads, so this does not happen there).
fn template_pieces(template: &str) -> Option<Vec<Piece<'_>>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        match rest.find('{') {
            None => {
                pieces.push(Piece::Literal(rest));
                break;
            }
            Some(open) => {
                let (literal, tail) = rest.split_at(open);
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(literal));
                }
                let body = tail.get(1..)?;
                let close = body.find('}')?;
                pieces.push(Piece::Variable(body.get(..close)?));
                rest = body.get(close + 1..)?;
            }
        }
    }
    Some(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netaudit_event::EventContext;

    const SECOND: i64 = 1_000_000_000;

    fn mapper() -> AccountingMapper {
        AccountingMapper::new(
            &Dictionary::builtin(),
            NasIdentity::new("netaudit-test", Some(Ipv4Addr::new(192, 0, 2, 7))).unwrap(),
        )
        .unwrap()
    }

    fn event(code: &str, vars: &[(&str, &str)], time_s: i64) -> Event {
        netaudit_event::catalog()
            .lookup(code)
            .unwrap()
            .render(vars)
            .unwrap()
            .into_event(&EventContext {
                time_ns: Some(time_s * SECOND),
                received_ns: time_s * SECOND + 5,
                ..EventContext::default()
            })
    }

    fn login(code: &str, user: &str, client: &str, time_s: i64) -> Event {
        event(
            code,
            &[("username", user), ("client-address", client)],
            time_s,
        )
    }

    fn get(record: &AccountingRecord, kind: u8) -> Option<&Attribute> {
        record
            .attributes
            .iter()
            .find(|a| matches!(a, Attribute::Standard { kind: k, .. } if *k == kind))
    }

    fn vendor(record: &AccountingRecord, number: u8) -> Option<&str> {
        record
            .attributes
            .iter()
            .find(|a| a.vendor_id() == Some(2636) && a.number() == number)
            .and_then(Attribute::as_str)
    }

    #[test]
    fn login_logout_share_the_session_id_and_time_is_counted() {
        let mut m = mapper();
        let start = m.map(
            1,
            &login("JUNOSCOPE_LOGIN_SUCCESSFUL", "bob", "10.0.0.9", 1000),
        );
        assert_eq!(start.len(), 1);
        assert_eq!(start[0].status_type, AcctStatusType::Start);
        assert_eq!(m.open_sessions(), 1);
        let interim = m.map(
            2,
            &event(
                "JUNOSCOPE_DEVICE_ADDED",
                &[
                    ("device-name", "r1"),
                    ("username", "bob"),
                    ("client-address", "10.0.0.9"),
                ],
                1010,
            ),
        );
        let stop = m.map(3, &login("JUNOSCOPE_LOGOUT", "bob", "10.0.0.9", 1100));
        assert_eq!(stop[0].status_type, AcctStatusType::Stop);
        assert_eq!(
            start[0].session_id,
            session_id("bob", "10.0.0.9", 1000 * SECOND)
        );
        assert_eq!(interim[0].session_id, start[0].session_id);
        assert_eq!(stop[0].session_id, start[0].session_id);
        assert_eq!(
            get(&stop[0], attr::ACCT_SESSION_TIME).and_then(Attribute::as_u32),
            Some(100)
        );
        assert_eq!(get(&stop[0], attr::ACCT_TERMINATE_CAUSE), None);
        assert_eq!(m.open_sessions(), 0);
        // Common attributes.
        let r = &start[0];
        assert_eq!(
            get(r, attr::USER_NAME).and_then(Attribute::as_str),
            Some("bob")
        );
        assert_eq!(
            get(r, attr::CALLING_STATION_ID).and_then(Attribute::as_str),
            Some("10.0.0.9")
        );
        assert_eq!(
            get(r, attr::NAS_IDENTIFIER).and_then(Attribute::as_str),
            Some("netaudit-test")
        );
        assert_eq!(
            get(r, attr::NAS_IP_ADDRESS).map(Attribute::value),
            Some(&[192, 0, 2, 7][..])
        );
        assert_eq!(
            get(r, attr::EVENT_TIMESTAMP).and_then(Attribute::as_u32),
            Some(1000)
        );
        assert_eq!(get(r, attr::ACCT_DELAY_TIME), None);
        assert_eq!(r.event_time, 1000);
        // A new login gets a new id.
        let again = m.map(
            4,
            &login("JUNOSCOPE_LOGIN_SUCCESSFUL", "bob", "10.0.0.9", 2000),
        );
        assert_ne!(again[0].session_id, start[0].session_id);
    }

    #[test]
    fn session_timeout_is_a_stop_with_session_timeout() {
        let mut m = mapper();
        let start = m.map(1, &login("JUNOSCOPE_LOGIN_SUCCESS", "ann", "10.1.1.1", 50));
        let stop = m.map(
            2,
            &login("JUNOSCOPE_SESSION_TIMEOUT", "ann", "10.1.1.1", 950),
        );
        assert_eq!(stop.len(), 1);
        assert_eq!(stop[0].status_type, AcctStatusType::Stop);
        assert_eq!(stop[0].session_id, start[0].session_id);
        assert_eq!(
            get(&stop[0], attr::ACCT_TERMINATE_CAUSE).and_then(Attribute::as_u32),
            Some(AcctTerminateCause::SessionTimeout.number())
        );
    }

    #[test]
    fn failures_are_a_start_stop_pair_with_user_error_and_reason() {
        let mut m = mapper();
        m.map(
            1,
            &login("JUNOSCOPE_LOGIN_SUCCESSFUL", "eve", "10.2.2.2", 10),
        );
        for (code, reason) in [
            ("JUNOSCOPE_LOGIN_FAILURE", REASON_AUTHENTICATION_FAILURE),
            ("JUNOSCOPE_USER_AUTO_LOCKED", REASON_USER_ACCOUNT_LOCKED),
        ] {
            let records = m.map(2, &login(code, "eve", "10.2.2.2", 20));
            assert_eq!(records.len(), 2, "{code}");
            assert_eq!(records[0].status_type, AcctStatusType::Start);
            assert_eq!(records[1].status_type, AcctStatusType::Stop);
            assert_eq!((records[0].index, records[1].index), (0, 1));
            assert_eq!(records[0].session_id, records[1].session_id);
            assert_eq!(
                records[0].session_id,
                session_id("eve", "10.2.2.2", 20 * SECOND)
            );
            assert_eq!(
                get(&records[1], attr::ACCT_TERMINATE_CAUSE).and_then(Attribute::as_u32),
                Some(AcctTerminateCause::UserError.number()),
                "{code}"
            );
            assert_eq!(vendor(&records[1], 202), Some(reason));
            assert_eq!(vendor(&records[0], 202), None);
            assert_eq!(get(&records[0], attr::ACCT_TERMINATE_CAUSE), None);
        }
        // The pair neither opens nor closes the user's real session.
        assert_eq!(m.open_sessions(), 1);
    }

    #[test]
    fn every_privileged_action_is_an_interim_update_with_command_and_target() {
        let catalog = netaudit_event::catalog();
        let mut m = mapper();
        let mut seen = 0;
        for entry in catalog.entries() {
            let Some(spec) = &entry.radius else { continue };
            if spec
                .records
                .iter()
                .all(|r| r.status_type != catalog::AcctStatusType::InterimUpdate)
            {
                continue;
            }
            let values: Vec<(String, String)> = entry
                .variables
                .iter()
                .map(|v| (v.name.clone(), format!("v-{}", v.name)))
                .collect();
            let vars: Vec<(&str, &str)> = values
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let records = m.map(7, &event(&entry.code, &vars, 100));
            assert_eq!(records.len(), 1, "{}", entry.code);
            let r = &records[0];
            assert_eq!(r.status_type, AcctStatusType::InterimUpdate);
            let command = vendor(r, 200).unwrap_or_else(|| panic!("{} has no command", entry.code));
            assert!(
                entry.code.contains(command.trim_end_matches("_SUCCESS")),
                "{}: {command}",
                entry.code
            );
            let target = vendor(r, 201).unwrap_or_else(|| panic!("{} has no target", entry.code));
            assert!(target.starts_with("v-"), "{}: {target}", entry.code);
            seen += 1;
        }
        // users 5, RADIUS config 3, auth info, access method, label, commit,
        // archive, restore, devices 3, images 4
        assert_eq!(seen, 21);
        let lock = m.map(
            8,
            &event(
                "JUNOSCOPE_USER_LOCKED_BY_ADMIN",
                &[
                    ("username", "bob"),
                    ("client-address", "10.9.9.9"),
                    ("admin-username", "root"),
                ],
                5,
            ),
        );
        assert_eq!(
            get(&lock[0], attr::USER_NAME).and_then(Attribute::as_str),
            Some("root")
        );
        assert_eq!(vendor(&lock[0], 200), Some("USER_LOCKED_BY_ADMIN"));
        assert_eq!(vendor(&lock[0], 201), Some("bob"));
    }

    #[test]
    fn events_without_radius_attributes_are_not_sent() {
        let mut m = mapper();
        let scan = event(
            "JUNOSCOPE_SCAN_SUCCESS",
            &netaudit_event::catalog()
                .lookup("JUNOSCOPE_SCAN_SUCCESS")
                .unwrap()
                .variables
                .iter()
                .map(|v| (v.name.as_str(), "x"))
                .collect::<Vec<_>>(),
            1,
        );
        assert_eq!(m.map(1, &scan), Vec::new());
        let junos = Event {
            code: Some("UI_COMMIT".into()),
            user: Some("root".into()),
            ..Event::default()
        };
        assert_eq!(m.map(2, &junos), Vec::new());
        assert_eq!(m.map(3, &Event::default()), Vec::new());
    }

    #[test]
    fn standard_format_lines_are_read_through_the_template() {
        let mut m = mapper();
        let parsed = Event {
            code: Some("JUNOSCOPE_LOGIN_FAILURE".into()),
            message: Some("Failed to login: username: 'o'brien' client address: '10.3.3.3'".into()),
            time_ns: Some(77 * SECOND),
            ..Event::default()
        };
        let records = m.map(1, &parsed);
        assert_eq!(
            get(&records[0], attr::USER_NAME).and_then(Attribute::as_str),
            Some("o'brien")
        );
        assert_eq!(
            get(&records[0], attr::CALLING_STATION_ID).and_then(Attribute::as_str),
            Some("10.3.3.3")
        );
        // The short MSGID form of a long code is understood too.
        assert!(netaudit_event::catalog()
            .get_by_msgid("SOFTWARE_IMAGE_DOWNLOAD_ERROR")
            .is_some());
    }

    #[test]
    fn events_naming_no_user_are_attributed() {
        let mut m = mapper();
        let garbled = Event {
            code: Some("JUNOSCOPE_LOGOUT".into()),
            message: Some("garbled".into()),
            app: Some("junoscope7080".into()),
            ..Event::default()
        };
        let r = m.map(42, &garbled);
        assert_eq!(
            get(&r[0], attr::USER_NAME).and_then(Attribute::as_str),
            Some("junoscope7080")
        );
        let r = m.map(
            43,
            &Event {
                app: None,
                ..garbled
            },
        );
        assert_eq!(
            get(&r[0], attr::USER_NAME).and_then(Attribute::as_str),
            Some("junoscope")
        );
        // The one user logged in from the client address made the change.
        m.map(
            44,
            &login("JUNOSCOPE_LOGIN_SUCCESSFUL", "admin", "10.4.4.4", 1),
        );
        let change = event(
            "JUNOSCOPE_RADIUS_CONFIG_ADDED",
            &[
                ("radius-server-address", "10.5.5.5"),
                ("client-address", "10.4.4.4"),
            ],
            2,
        );
        let r = m.map(45, &change);
        assert_eq!(
            get(&r[0], attr::USER_NAME).and_then(Attribute::as_str),
            Some("admin")
        );
        assert_eq!(vendor(&r[0], 200), Some("RADIUS_CONFIG_ADDED"));
        assert_eq!(vendor(&r[0], 201), Some("10.5.5.5"));
        assert_eq!(r[0].session_id, session_id("admin", "10.4.4.4", SECOND));
    }

    #[test]
    fn long_values_are_cut_on_character_boundaries() {
        let mut m = mapper();
        let long_user = "é".repeat(200); // 400 octets
        let records = m.map(
            1,
            &login("JUNOSCOPE_LOGIN_SUCCESSFUL", &long_user, "10.0.0.1", 1),
        );
        let name = get(&records[0], attr::USER_NAME)
            .and_then(Attribute::as_str)
            .unwrap();
        assert_eq!(name.len(), 252);
        let secret = crate::SharedSecret::new("0123456789abcdef").unwrap();
        crate::encode_accounting_request(1, &records[0].attributes_with_delay(3), &secret).unwrap();
        assert_eq!(cut("abc", 2), "ab");
        assert_eq!(cut("é", 1), "");
    }

    #[test]
    fn delay_is_counted_from_the_event_time() {
        let mut m = mapper();
        let r = m
            .map(1, &login("JUNOSCOPE_LOGIN_SUCCESSFUL", "a", "b", 100))
            .remove(0);
        assert_eq!(r.delay_at(130), 30);
        assert_eq!(r.delay_at(90), 0);
        let with = r.attributes_with_delay(30);
        assert_eq!(with.last().and_then(Attribute::as_u32), Some(30));
        assert_eq!(with.len(), r.attributes.len() + 1);
    }

    #[test]
    fn renumbered_vendor_attributes_are_used() {
        let dictionary = Dictionary::builtin()
            .with_overrides([(junoscope::TARGET, 210u8)])
            .unwrap();
        let mut m =
            AccountingMapper::new(&dictionary, NasIdentity::new("n", None).unwrap()).unwrap();
        let r = m.map(
            1,
            &event(
                "JUNOSCOPE_DEVICE_DELETED",
                &[
                    ("device-name", "r9"),
                    ("username", "u"),
                    ("client-address", "c"),
                ],
                1,
            ),
        );
        assert_eq!(vendor(&r[0], 210), Some("r9"));
        assert_eq!(get(&r[0], attr::NAS_IP_ADDRESS), None);
        assert!(
            AccountingMapper::new(&Dictionary::new(), NasIdentity::new("n", None).unwrap())
                .is_err()
        );
        assert!(NasIdentity::new("", None).is_err());
    }

    #[test]
    fn template_matching() {
        let t = "User '{username}' deleted image '{image-name}'";
        assert_eq!(
            match_template(t, "User 'a' deleted image 'b'c'"),
            Some(vec![
                ("username".into(), "a".into()),
                ("image-name".into(), "b'c".into())
            ])
        );
        assert_eq!(match_template(t, "User 'a' removed image 'b'"), None);
        assert_eq!(
            match_template("Import failed", "Import failed"),
            Some(vec![])
        );
        assert_eq!(match_template("Import failed", "Import failed!"), None);
        assert_eq!(match_template("a {x", "a b"), None);
        assert_eq!(match_template("{x}{y}", "ab"), None);
    }

    #[test]
    fn session_table_is_bounded() {
        let mut m = mapper();
        for i in 0..(MAX_OPEN_SESSIONS as u64 + 10) {
            let user = format!("u{i}");
            m.map(i, &login("JUNOSCOPE_LOGIN_SUCCESSFUL", &user, "c", 1));
        }
        assert_eq!(m.open_sessions(), MAX_OPEN_SESSIONS);
    }
}
