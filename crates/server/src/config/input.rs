//! `[input]`: the inputs netaudit fetches from (rather than listens for);
//! today `[[input.netconf]]`, the devices it collects over NETCONF. Names
//! are unique among them (each names the device in the events it stores).

use std::collections::HashSet;

use serde::Deserialize;

use super::netconf_device::{NetconfDeviceConfig, RawNetconfDevice};
use crate::config::error::ConfigError;

/// `[input]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInput {
    #[serde(default)]
    netconf: Vec<RawNetconfDevice>,
}

/// `[input]`, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct InputConfig {
    /// `[[input.netconf]]`: devices collected over NETCONF (docs/netconf.md).
    pub netconf: Vec<NetconfDeviceConfig>,
}

impl RawInput {
    pub(crate) fn resolve(self) -> Result<InputConfig, ConfigError> {
        let mut names = HashSet::new();
        let mut input = InputConfig::default();
        for (i, raw) in self.netconf.into_iter().enumerate() {
            let key = format!("input.netconf[{i}]");
            let device = raw.resolve().map_err(|e| e.under(&key))?;
            if !names.insert(device.name.clone()) {
                return Err(ConfigError::invalid(
                    format!("{key}.name"),
                    format!("{:?} is already the name of another input", device.name),
                ));
            }
            input.netconf.push(device);
        }
        Ok(input)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn device_names_are_unique_and_errors_name_the_table_and_line() {
        let device = |name: &str| {
            format!("[[input.netconf]]\nname = \"{name}\"\naddress = \"192.0.2.1\"\nuser = \"audit\"\nprivate_key = \"/k\"\nknown_hosts = \"/kh\"\n")
        };
        let config = Config::from_toml(&(device("r1") + &device("r2")), "t.toml").unwrap();
        assert_eq!(config.input.netconf.len(), 2);
        let err = Config::from_toml(&(device("r1") + &device("r1")), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("input.netconf[1].name"), "{err}");
        assert!(err.starts_with("t.toml:8:"), "{err}");
        let err = Config::from_toml(&device("r1").replace("known_hosts", "knownhosts"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("input.netconf[0]") && err.contains("knownhosts"),
            "{err}"
        );
        let err = Config::from_toml(
            &device("r1").replace("known_hosts = \"/kh\"\n", ""),
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("input.netconf[0].host_key"), "{err}");
    }
}
