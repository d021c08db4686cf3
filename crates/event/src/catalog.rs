//! The JUNOScope event catalog: every message of the JUNOScope system log
//! chapter (seed 000), from `crates/event/catalog/junoscope.toml`, compiled in.
//!
//! [`catalog()`] parses the data file once. Each [`CatalogEntry`] knows its
//! message template with named variables, its type and severity and the
//! RADIUS accounting records it produces; [`CatalogEntry::render`] fills the
//! template and [`RenderedEvent::into_event`] turns the result into the
//! stored [`Event`]. Decisions about the seed's contradictions are recorded in
//! `docs/catalog.md`.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::event::CompactString;
pub use crate::radius_spec::{AcctStatusType, RadiusRecord, RadiusSpec, TerminateCause};
use crate::text_value::push_text_value;
use crate::{Event, Facility, Param, Severity};

/// The catalog data file, compiled in.
pub const CATALOG_TOML: &str = include_str!("../catalog/junoscope.toml");

/// SD-ID used for the catalog variables when the caller does not choose one:
/// the Junos platform id of seed 002's sample (see docs/catalog.md).
pub const DEFAULT_SD_ID: &str = "junos@2636.1.1.1.2.18";

/// RFC 5424 limits SD-NAMEs (SD-IDs and PARAM-NAMEs) to 32 characters.
const SD_NAME_MAX: usize = 32;

/// Errors of the catalog: loading the data file, looking up codes and
/// rendering templates. Messages list what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The data file does not parse as the catalog schema.
    #[error("catalog data is not valid TOML for the catalog schema: {0}")]
    Syntax(String),
    /// An entry breaks a rule of the catalog (template, variables, RADIUS).
    #[error("catalog entry {code}: {reason}")]
    InvalidEntry {
        /// The entry's code.
        code: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two entries claim the same code or alias.
    #[error("catalog code or alias {code} is defined twice")]
    DuplicateCode {
        /// The code or alias defined twice.
        code: String,
    },
    /// A lookup by a code that is neither a code nor an alias.
    #[error("unknown catalog code '{code}'{}; run `netaudit catalog` for the list", did_you_mean(.suggestions))]
    UnknownCode {
        /// The code asked for.
        code: String,
        /// Close codes, for "did you mean".
        suggestions: Vec<String>,
    },
    /// A value given for a variable the template does not have.
    #[error("{code} has no variable '{name}' (expected: {})", list_or_none(.expected))]
    UnknownVariable {
        /// The entry's code.
        code: String,
        /// The variable given.
        name: String,
        /// The entry's variables.
        expected: Vec<String>,
    },
    /// Rendering without a value for every variable of the template.
    #[error("{code} is missing variable(s) {} (expected: {})", .missing.join(", "), list_or_none(.expected))]
    MissingVariables {
        /// The entry's code.
        code: String,
        /// The variables without a value.
        missing: Vec<String>,
        /// The entry's variables.
        expected: Vec<String>,
    },
    /// The same variable given twice.
    #[error("{code}: variable '{name}' given more than once")]
    DuplicateVariable {
        /// The entry's code.
        code: String,
        /// The variable given twice.
        name: String,
    },
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", suggestions.join(", "))
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "no variables".to_string()
    } else {
        names.join(", ")
    }
}

/// The seed's "Type" column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// An event (the seed's type `Event`).
    Event,
    /// An error (the seed's type `Error`).
    Error,
}

impl EventKind {
    /// The seed's spelling, `Event` or `Error`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Event => "Event",
            EventKind::Error => "Error",
        }
    }
}

/// One template variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// Kebab-case, like Junos SD parameter names (`username`, `client-address`).
    pub name: String,
    /// What the variable holds, from the seed.
    pub description: String,
}

/// One message of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// Canonical code, e.g. `JUNOSCOPE_LOGIN_FAILURE`.
    pub code: String,
    /// Other spellings the seed uses for the same message.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The seed's section, e.g. `Login`, `Users Setup`.
    pub group: String,
    /// English text with `{variable}` placeholders.
    pub template: String,
    /// The template's variables, in template order.
    pub variables: Vec<Variable>,
    /// Event or error, the seed's "Type" column.
    pub kind: EventKind,
    /// The seed's severity for the message.
    pub severity: Severity,
    /// The seed's description of when the message is logged.
    pub description: String,
    /// What an operator should do about it, where the seed says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The RADIUS accounting records the event produces, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius: Option<RadiusSpec>,
}

/// A piece of a template: literal text or a variable name.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Literal(&'a str),
    Variable(&'a str),
}

/// Splits a template into pieces; `Err` names the problem.
fn template_pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            None => {
                pieces.push(Piece::Literal(rest));
                break;
            }
            Some(at) => {
                let (literal, tail) = rest.split_at(at);
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(literal));
                }
                if tail.starts_with('}') {
                    return Err(format!(
                        "unmatched '}}' at byte {}",
                        template.len() - tail.len()
                    ));
                }
                let body = &tail[1..];
                let Some(end) = body.find('}') else {
                    return Err(format!(
                        "unclosed '{{' at byte {}",
                        template.len() - tail.len()
                    ));
                };
                let name = &body[..end];
                if !is_variable_name(name) {
                    return Err(format!(
                        "placeholder '{{{name}}}' is not a kebab-case variable name"
                    ));
                }
                pieces.push(Piece::Variable(name));
                rest = &body[end + 1..];
            }
        }
    }
    Ok(pieces)
}

/// Kebab-case ASCII, usable as an RFC 5424 PARAM-NAME.
fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= SD_NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// JUNOScope codes: `JUNOSCOPE_` then upper-case words joined by `_`, short
/// enough that [`msgid_for`] fits RFC 5424's 32-character MSGID.
fn is_code(code: &str) -> bool {
    code.strip_prefix(CODE_PREFIX).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    }) && msgid_for(code).len() <= MSGID_MAX
}

/// The prefix of every JUNOScope code.
pub const CODE_PREFIX: &str = "JUNOSCOPE_";

/// RFC 5424 limits MSGID to 32 printable US-ASCII characters.
pub const MSGID_MAX: usize = 32;

/// The RFC 5424 MSGID for a code: the code itself when it fits in 32
/// characters, else the code without its `JUNOSCOPE_` prefix (nine catalog
/// codes are longer than 32, e.g. `JUNOSCOPE_RESTORE_NO_ACCESS_INFO_ERROR`;
/// truncating instead would turn `JUNOSCOPE_SOFTWARE_IMAGE_INSTALL_ERROR`
/// into `JUNOSCOPE_SOFTWARE_IMAGE_INSTALL`, a different event).
/// [`Catalog::get_by_msgid`] maps both forms back.
pub fn msgid_for(code: &str) -> &str {
    if code.len() > MSGID_MAX {
        if let Some(short) = code.strip_prefix(CODE_PREFIX) {
            return short;
        }
    }
    code
}

impl CatalogEntry {
    /// Checks the entry on its own; `Err` says what is wrong.
    fn validate(&self) -> Result<(), String> {
        if !is_code(&self.code) {
            return Err("code must be JUNOSCOPE_ + upper-case words, at most 32 characters after the prefix (RFC 5424 MSGID)".into());
        }
        if let Some(bad) = self.aliases.iter().find(|a| !is_code(a)) {
            return Err(format!("alias {bad} is not a JUNOSCOPE_ code"));
        }
        if self.group.trim().is_empty() || self.description.trim().is_empty() {
            return Err("group and description must not be empty".into());
        }
        let pieces = template_pieces(&self.template)?;
        if pieces.iter().any(|p| match p {
            Piece::Literal(text) => text.chars().any(char::is_control),
            Piece::Variable(_) => false,
        }) {
            return Err("template contains a control character".into());
        }
        // Declared variables = template placeholders, in first-use order.
        let mut used: Vec<&str> = Vec::new();
        for piece in &pieces {
            if let Piece::Variable(name) = piece {
                if !used.contains(name) {
                    used.push(name);
                }
            }
        }
        let declared: Vec<&str> = self.variables.iter().map(|v| v.name.as_str()).collect();
        if declared != used {
            return Err(format!(
                "variables [{}] must be exactly the template's placeholders in order [{}]",
                declared.join(", "),
                used.join(", ")
            ));
        }
        if let Some(radius) = &self.radius {
            if radius.records.is_empty() {
                return Err("radius has no records (omit radius instead)".into());
            }
            for record in &radius.records {
                if record.terminate_cause.is_some() && record.status_type != AcctStatusType::Stop {
                    return Err(
                        "Acct-Terminate-Cause is only valid in a Stop record (RFC 2866 5.10)"
                            .into(),
                    );
                }
                if let Some(target) = &record.target_variable {
                    if !declared.contains(&target.as_str()) {
                        return Err(format!(
                            "radius target_variable '{target}' is not a variable of the template"
                        ));
                    }
                }
                if let Some(reason) = &record.login_failure_reason {
                    if !record.login_failure_reasons.contains(reason) {
                        return Err(format!(
                            "login_failure_reason '{reason}' is not one of login_failure_reasons"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The variable names, in template order.
    pub fn variable_names(&self) -> Vec<String> {
        self.variables.iter().map(|v| v.name.clone()).collect()
    }

    /// True when `name` is this entry's code or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.code == name || self.aliases.iter().any(|a| a == name)
    }

    /// Fills the template. Every declared variable must be given exactly once
    /// and nothing else may be given. In the text a value cannot close its
    /// quotes: `'` and control characters are escaped as `#ooo`
    /// ([`crate::text_value`]); the parameters keep the exact values.
    pub fn render(&self, vars: &[(&str, &str)]) -> Result<RenderedEvent, CatalogError> {
        for (i, (name, _)) in vars.iter().enumerate() {
            if !self.variables.iter().any(|v| v.name == *name) {
                return Err(CatalogError::UnknownVariable {
                    code: self.code.clone(),
                    name: (*name).to_string(),
                    expected: self.variable_names(),
                });
            }
            if vars[..i].iter().any(|(earlier, _)| earlier == name) {
                return Err(CatalogError::DuplicateVariable {
                    code: self.code.clone(),
                    name: (*name).to_string(),
                });
            }
        }
        let missing: Vec<String> = self
            .variables
            .iter()
            .filter(|v| !vars.iter().any(|(name, _)| *name == v.name))
            .map(|v| v.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(CatalogError::MissingVariables {
                code: self.code.clone(),
                missing,
                expected: self.variable_names(),
            });
        }
        let value_of = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, value)| *value)
                .unwrap_or_default()
        };
        // The template was validated when the catalog loaded.
        let pieces =
            template_pieces(&self.template).map_err(|reason| CatalogError::InvalidEntry {
                code: self.code.clone(),
                reason,
            })?;
        let mut text = String::with_capacity(self.template.len() + 64);
        for (i, piece) in pieces.iter().enumerate() {
            match piece {
                Piece::Literal(literal) => text.push_str(literal),
                Piece::Variable(name) => {
                    // Between quotes when the template writes `'{name}'`.
                    let opens = i
                        .checked_sub(1)
                        .and_then(|before| pieces.get(before))
                        .is_some_and(|p| matches!(p, Piece::Literal(l) if l.ends_with('\'')));
                    let closes = pieces
                        .get(i + 1)
                        .is_some_and(|p| matches!(p, Piece::Literal(l) if l.starts_with('\'')));
                    push_text_value(&mut text, value_of(name), opens && closes);
                }
            }
        }
        let params = self
            .variables
            .iter()
            .map(|v| (v.name.clone(), value_of(&v.name).to_string()))
            .collect();
        Ok(RenderedEvent {
            code: self.code.clone(),
            severity: self.severity,
            text,
            params,
        })
    }
}

/// A filled template: what the formatters need besides the header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEvent {
    /// The canonical code.
    pub code: String,
    /// The entry's severity.
    pub severity: Severity,
    /// The English text.
    pub text: String,
    /// Variable name and value, in template order.
    pub params: Vec<(String, String)>,
}

/// Header fields for turning a [`RenderedEvent`] into an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventContext {
    /// When the event happened (Unix nanoseconds, UTC).
    pub time_ns: Option<i64>,
    /// Host name of the JUNOScope server (RFC 5424 HOSTNAME).
    pub host: Option<String>,
    /// Process name, `junoscope` + HTTP port, e.g. `junoscope7080`.
    pub app: Option<String>,
    /// Process id (RFC 5424 PROCID).
    pub pid: Option<String>,
    /// JUNOScope lets the installer choose local0..local7; default local2.
    pub facility: Facility,
    /// SD-ID of the element that carries the variables.
    pub sd_id: String,
    /// When netaudit received the event (Unix nanoseconds, UTC).
    pub received_ns: i64,
}

impl Default for EventContext {
    fn default() -> Self {
        EventContext {
            time_ns: None,
            host: None,
            app: None,
            pid: None,
            facility: Facility::Local2,
            sd_id: DEFAULT_SD_ID.to_string(),
            received_ns: 0,
        }
    }
}

impl RenderedEvent {
    /// The value of one variable.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The stored record. The acting user is `admin-username` where the
    /// message has one (locked/unlocked by an administrator), else
    /// `username`; `client-address`, `device-name` and `operation-name` fill
    /// the matching fields.
    pub fn into_event(self, ctx: &EventContext) -> Event {
        let user = self
            .param("admin-username")
            .or_else(|| self.param("username"))
            .map(CompactString::from);
        let client_addr = self.param("client-address").map(CompactString::from);
        let device = self.param("device-name").map(CompactString::from);
        let operation = self.param("operation-name").map(CompactString::from);
        let params = self
            .params
            .into_iter()
            .map(|(name, value)| Param {
                sd_id: ctx.sd_id.as_str().into(),
                name: name.into(),
                value: value.into(),
            })
            .collect();
        Event {
            received_ns: ctx.received_ns,
            time_ns: ctx.time_ns,
            host: ctx.host.as_deref().map(CompactString::from),
            app: ctx.app.as_deref().map(CompactString::from),
            pid: ctx.pid.as_deref().map(CompactString::from),
            facility: Some(ctx.facility),
            severity: Some(self.severity),
            code: Some(self.code.into()),
            user,
            client_addr,
            device,
            operation,
            params,
            message: Some(self.text.into()),
            raw: Vec::new(),
            parse_error: None,
        }
    }
}

/// All catalog entries, in the seed's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    entry: Vec<CatalogEntry>,
}

impl Catalog {
    /// Parses and checks a catalog data file.
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile =
            toml::from_str(text).map_err(|e| CatalogError::Syntax(e.to_string()))?;
        let mut names: Vec<&str> = Vec::new();
        for entry in &file.entry {
            entry
                .validate()
                .map_err(|reason| CatalogError::InvalidEntry {
                    code: entry.code.clone(),
                    reason,
                })?;
            for name in std::iter::once(&entry.code).chain(&entry.aliases) {
                if names.contains(&name.as_str()) {
                    return Err(CatalogError::DuplicateCode { code: name.clone() });
                }
                names.push(name);
            }
        }
        Ok(Catalog {
            entries: file.entry,
        })
    }

    /// The entry with this canonical code or alias (exact, case-sensitive).
    pub fn get(&self, code_or_alias: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.answers_to(code_or_alias))
    }

    /// The entry for an RFC 5424 MSGID: a code or alias, or the short form
    /// [`msgid_for`] writes for codes longer than 32 characters.
    pub fn get_by_msgid(&self, msgid: &str) -> Option<&CatalogEntry> {
        self.get(msgid).or_else(|| {
            self.entries
                .iter()
                .find(|e| msgid_for(&e.code) == msgid && msgid != e.code)
        })
    }

    /// Like [`Catalog::get`], but an unknown code is an error that suggests
    /// close matches.
    pub fn lookup(&self, code_or_alias: &str) -> Result<&CatalogEntry, CatalogError> {
        self.get(code_or_alias)
            .ok_or_else(|| CatalogError::UnknownCode {
                code: code_or_alias.to_string(),
                suggestions: self.suggest(code_or_alias),
            })
    }

    /// Up to five canonical codes close to `query` (ignoring case and the
    /// `JUNOSCOPE_` prefix), closest first.
    pub fn suggest(&self, query: &str) -> Vec<String> {
        let wanted = normalise_for_match(query);
        if wanted.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(usize, &str)> = Vec::new();
        for entry in &self.entries {
            let best = std::iter::once(&entry.code)
                .chain(&entry.aliases)
                .map(|name| {
                    let candidate = normalise_for_match(name);
                    if wanted.len() >= 4 && candidate.contains(&wanted) {
                        // A fragment of the code: rank by how much is missing.
                        1 + (candidate.len() - wanted.len()) / 8
                    } else {
                        edit_distance(&wanted, &candidate)
                    }
                })
                .min()
                .unwrap_or(usize::MAX);
            let limit = (wanted.len() / 4).max(2);
            if best <= limit {
                scored.push((best, &entry.code));
            }
        }
        scored.sort();
        scored
            .into_iter()
            .take(5)
            .map(|(_, c)| c.to_string())
            .collect()
    }

    /// Every entry, in the seed's order.
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }
}

fn normalise_for_match(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase().replace('-', "_");
    match upper.strip_prefix("JUNOSCOPE_") {
        Some(rest) => rest.to_string(),
        None => upper,
    }
}

/// Levenshtein distance over bytes (codes are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let a = a.as_bytes();
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The built-in catalog, parsed once.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // The data file is compiled in and checked by the unit test below, so
        // this cannot fail on anything a user supplies.
        Catalog::from_toml(CATALOG_TOML).unwrap_or_else(|err| {
            panic!("built-in crates/event/catalog/junoscope.toml is invalid: {err}")
        })
    })
}

#[cfg(test)]
mod tests;
