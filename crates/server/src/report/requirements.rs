//! The NDcPP requirement table (`crates/server/data/ndcpp/requirements.toml`,
//! Table 1 of seed 003 with the rules that recognise each row's events),
//! compiled in.

use serde::Deserialize;

use crate::config::policy::RawMatch;
use crate::config::ConfigError;
use crate::policy::matcher::Matcher;

/// The table as shipped.
pub(crate) const REQUIREMENTS_TOML: &str = include_str!("../../data/ndcpp/requirements.toml");

/// An additional content of a row the report checks in its sample records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Check {
    /// A client address, or an IP address in the message.
    Origin,
    /// The acting user.
    User,
    /// Source and destination address parameters.
    Addresses,
    /// A message text (the reason of a failure).
    Reason,
}

impl Check {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Check::Origin => "origin",
            Check::User => "user",
            Check::Addresses => "addresses",
            Check::Reason => "reason",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: String,
    events: String,
    contents: Option<String>,
    sample: Option<String>,
    #[serde(default)]
    checks: Vec<Check>,
    #[serde(default)]
    evidence: Vec<RawMatch>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    requirement: Vec<RawRequirement>,
}

/// One row of the table.
#[derive(Debug, Clone)]
pub(crate) struct Requirement {
    pub id: String,
    /// The auditable events ("None": the row needs no event).
    pub events: String,
    /// The additional audit record contents, if any.
    pub contents: Option<String>,
    /// The seed's sample, if it has one.
    pub sample: Option<String>,
    pub checks: Vec<Check>,
    /// An event satisfies the row when one of these matches it.
    pub evidence: Vec<Matcher>,
}

impl Requirement {
    /// Whether the row asks for an auditable event at all.
    pub(crate) fn required(&self) -> bool {
        self.events != "None"
    }
}

/// Parses a requirement table; errors name the row.
pub(crate) fn parse(text: &str) -> Result<Vec<Requirement>, ConfigError> {
    let table: RawTable = toml::from_str(text).map_err(|err| ConfigError::Syntax {
        origin: "requirements.toml".into(),
        location: String::new(),
        message: err.message().to_owned(),
    })?;
    table
        .requirement
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let evidence = raw
                .evidence
                .into_iter()
                .enumerate()
                .map(|(i, m)| {
                    m.resolve()
                        .map_err(|e| e.under(&format!("requirement[{index}].evidence[{i}]")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Requirement {
                id: raw.id,
                events: raw.events,
                contents: raw.contents,
                sample: raw.sample,
                checks: raw.checks,
                evidence,
            })
        })
        .collect()
}

/// The shipped table.
pub(crate) fn ndcpp() -> Vec<Requirement> {
    // Compiled in and checked by the test below: not user input.
    parse(REQUIREMENTS_TOML).unwrap_or_else(|err| unreachable!("built-in requirements.toml: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_parses_and_every_row_with_events_has_evidence_rules() {
        let rows = parse(REQUIREMENTS_TOML).unwrap();
        assert!(rows.len() >= 40, "{}", rows.len());
        let mut ids = std::collections::HashSet::new();
        for row in &rows {
            assert!(ids.insert(row.id.clone()), "duplicate {}", row.id);
            assert_eq!(row.required(), !row.evidence.is_empty(), "{}", row.id);
        }
        assert!(rows
            .iter()
            .any(|r| r.id == "FIA_AFL.1" && r.checks == [Check::Origin]));
    }
}
