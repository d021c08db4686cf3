//! `[output]`: the consumers of the store, one module per kind; names are
//! unique across all of them (each names a durable cursor).

pub(crate) mod file;
pub(crate) mod format;
pub(crate) mod radius;
pub(crate) mod syslog;

use std::collections::HashSet;

use serde::Deserialize;

use crate::config::error::ConfigError;
use file::{FileOutputConfig, RawFileOutput};
use radius::{RadiusOutputConfig, RawRadiusOutput};
use syslog::{RawSyslogOutput, SyslogOutputConfig};

/// `[output]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutput {
    #[serde(default)]
    syslog: Vec<RawSyslogOutput>,
    #[serde(default)]
    file: Vec<RawFileOutput>,
    #[serde(default)]
    radius: Vec<RawRadiusOutput>,
}

/// `[output]`, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct OutputConfig {
    /// `[[output.syslog]]`: remote syslog servers.
    pub syslog: Vec<SyslogOutputConfig>,
    /// `[[output.file]]`: local audit files.
    pub file: Vec<FileOutputConfig>,
    /// `[[output.radius]]`: RADIUS accounting servers (docs/radius.md).
    pub radius: Vec<RadiusOutputConfig>,
}

impl OutputConfig {
    pub(crate) fn is_empty(&self) -> bool {
        self.syslog.is_empty() && self.file.is_empty() && self.radius.is_empty()
    }

    /// Reads what the RADIUS outputs refer to (see `Config::resolve_outputs`).
    pub(crate) fn resolve_references(&mut self) -> Result<(), ConfigError> {
        for (index, radius) in self.radius.iter_mut().enumerate() {
            radius.referenced_digest = Some(radius.referenced_content_digest());
            radius
                .resolve()
                .map_err(|err| err.under(&format!("output.radius[{index}]")))?;
        }
        Ok(())
    }
}

impl RawOutput {
    pub(crate) fn resolve(self) -> Result<OutputConfig, ConfigError> {
        let mut names = Names::default();
        let mut output = OutputConfig::default();
        for (i, raw) in self.syslog.into_iter().enumerate() {
            let key = format!("output.syslog[{i}]");
            let table = raw.resolve().map_err(|e| e.under(&key))?;
            names.insert(&table.name, &key)?;
            output.syslog.push(table);
        }
        for (i, raw) in self.file.into_iter().enumerate() {
            let key = format!("output.file[{i}]");
            let table = raw.resolve().map_err(|e| e.under(&key))?;
            names.insert(&table.name, &key)?;
            output.file.push(table);
        }
        for (i, raw) in self.radius.into_iter().enumerate() {
            let key = format!("output.radius[{i}]");
            let table = raw.resolve().map_err(|e| e.under(&key))?;
            names.insert(&table.name, &key)?;
            output.radius.push(table);
        }
        Ok(output)
    }
}

/// The output names seen so far.
#[derive(Default)]
struct Names(HashSet<String>);

impl Names {
    fn insert(&mut self, name: &str, table: &str) -> Result<(), ConfigError> {
        if self.0.insert(name.to_owned()) {
            Ok(())
        } else {
            Err(ConfigError::invalid(
                format!("{table}.name"),
                "another output has the same name",
            ))
        }
    }
}
