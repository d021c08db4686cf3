//! `[input]`: the inputs netaudit fetches from (rather than listens for);
//! `[[input.netconf]]`, the devices it collects over NETCONF, and
//! `[[input.netconf_callhome]]`, the listeners devices connect to for the
//! same. Names are unique among them all (a device's names it in the
//! events it stores).

use std::collections::HashSet;

use serde::Deserialize;

use super::netconf_callhome::{CallhomeConfig, RawCallhome};
use super::netconf_device::{NetconfDeviceConfig, RawNetconfDevice};
use crate::config::error::ConfigError;

/// `[input]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInput {
    #[serde(default)]
    netconf: Vec<RawNetconfDevice>,
    #[serde(default)]
    netconf_callhome: Vec<RawCallhome>,
}

/// `[input]`, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct InputConfig {
    /// `[[input.netconf]]`: devices collected over NETCONF (docs/netconf.md).
    pub netconf: Vec<NetconfDeviceConfig>,
    /// `[[input.netconf_callhome]]`: listeners for device-initiated NETCONF.
    pub netconf_callhome: Vec<CallhomeConfig>,
}

impl RawInput {
    pub(crate) fn resolve(self) -> Result<InputConfig, ConfigError> {
        let mut names_seen = HashSet::new();
        let mut input = InputConfig::default();
        for (i, raw) in self.netconf.into_iter().enumerate() {
            let key = format!("input.netconf[{i}]");
            let device = raw.resolve().map_err(|e| e.under(&key))?;
            if !names_seen.insert(device.name.clone()) {
                return Err(ConfigError::invalid(
                    format!("{key}.name"),
                    format!("{:?} is already the name of another input", device.name),
                ));
            }
            input.netconf.push(device);
        }
        for (i, raw) in self.netconf_callhome.into_iter().enumerate() {
            let key = format!("input.netconf_callhome[{i}]");
            let listener = raw.resolve().map_err(|e| e.under(&key))?;
            let names = std::iter::once((format!("{key}.name"), listener.name.clone())).chain(
                listener
                    .devices
                    .iter()
                    .enumerate()
                    .map(|(j, d)| (format!("{key}.device[{j}].name"), d.session.name.clone())),
            );
            for (path, name) in names {
                if !names_seen.insert(name.clone()) {
                    return Err(ConfigError::invalid(
                        path,
                        format!("{name:?} is already the name of another input"),
                    ));
                }
            }
            input.netconf_callhome.push(listener);
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

    #[test]
    fn call_home_names_are_unique_among_all_inputs() {
        let callhome = |listener: &str, device: &str| {
            format!(
                "[[input.netconf_callhome]]
name = \"{listener}\"
address = \"127.0.0.1:4334\"
[[input.netconf_callhome.device]]
name = \"{device}\"
user = \"audit\"
private_key = \"/k\"
secret_file = \"/s\"
"
            )
        };
        let netconf = "[[input.netconf]]\nname = \"r1\"\naddress = \"192.0.2.1\"\nuser = \"audit\"\nprivate_key = \"/k\"\nknown_hosts = \"/kh\"\n";
        let config =
            Config::from_toml(&(netconf.to_string() + &callhome("ch", "r2")), "t.toml").unwrap();
        assert_eq!(config.input.netconf_callhome[0].devices[0].device_id, "r2");
        for (text, key) in [
            (
                netconf.to_string() + &callhome("ch", "r1"),
                "input.netconf_callhome[0].device[0].name",
            ),
            (
                netconf.to_string() + &callhome("r1", "r2"),
                "input.netconf_callhome[0].name",
            ),
            (
                callhome("ch", "r2") + &callhome("ch2", "r2"),
                "input.netconf_callhome[1].device[0].name",
            ),
            (
                callhome("ch", "r2").replace("secret_file", "secret"),
                "input.netconf_callhome[0].device[0]",
            ),
        ] {
            let err = Config::from_toml(&text, "t.toml").unwrap_err().to_string();
            assert!(err.contains(key), "{key} expected in: {err}");
            assert!(err.starts_with("t.toml:"), "{err}");
        }
    }
}
