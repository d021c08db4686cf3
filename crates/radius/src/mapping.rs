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
mod tests;
