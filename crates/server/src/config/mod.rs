//! The `netaudit serve` configuration: one TOML file, every key documented in
//! `config/netaudit.example.toml`.
//!
//! Two phases: the file is deserialized into raw tables (`Raw*`, every one
//! denying unknown keys, absent keys `None`), which each subsystem's module
//! then resolves into its checked type (defaults filled in, values checked,
//! library types where a library has one). Every error names the key path
//! and, where the text is at hand, the file and line, so that a typo never
//! silently falls back to a default. A missing section takes its defaults,
//! but a file that sets no key at all is an error ([`ConfigError::Empty`]):
//! an empty or truncated file must not replace a running configuration with
//! the defaults. [`Config::default`] is what `netaudit serve` runs with when
//! no file is given.
//!
//! ```text
//! error.rs     ConfigError (one type for every configuration error)
//! locate.rs    key path -> line and column
//! store.rs     [store]          pipeline.rs  [pipeline]
//! store_backend.rs  store.backend, store.connection, store.node (PostgreSQL)
//! listener.rs  [[listener]]     http.rs      [http]
//! input.rs     [input]          netconf_device.rs  [[input.netconf]]
//! netconf_callhome.rs  [[input.netconf_callhome]] (device-initiated NETCONF)
//! api.rs       [api]            log.rs       [log]
//! integrity.rs [integrity]      duration.rs  "30s", "1h", "7d"
//! netconf_server.rs  [netconf_server] (the NETCONF exporter)
//! output/      [[output.syslog]], [[output.file]], [[output.radius]]
//! policy.rs    [[policy]]       policy_action.rs  [[policy.action]]
//! builtin_policies.rs  [builtin_policies] (the NDcPP policies)
//! ```

pub(crate) mod api;
mod archive_destination;
pub(crate) mod builtin_policies;
mod duration;
pub(crate) mod error;
pub(crate) mod http;
pub(crate) mod input;
pub(crate) mod integrity;
pub(crate) mod listener;
mod locate;
pub(crate) mod log;
pub(crate) mod netconf_callhome;
pub(crate) mod netconf_device;
pub(crate) mod netconf_server;
pub(crate) mod output;
pub(crate) mod pipeline;
pub(crate) mod policy;
pub(crate) mod policy_action;
pub(crate) mod store;
pub(crate) mod store_backend;

use std::path::Path;

use serde::Deserialize;

pub(crate) use api::ApiConfig;
pub(crate) use error::ConfigError;
pub(crate) use http::HttpConfig;
pub(crate) use integrity::{IntegrityConfig, IntegritySchedule};
pub(crate) use listener::{
    ListenerConfig, ListenerTlsConfig, ListenerTransport, OnParseError, StreamConfig,
};
pub(crate) use log::{LogConfig, LogFormat};
pub(crate) use output::file::FileOutputConfig;
pub(crate) use output::format::OutputFormat;
pub(crate) use output::syslog::{OutputTlsConfig, SyslogOutputConfig, Transport};
pub(crate) use output::OutputConfig;
pub(crate) use pipeline::PipelineConfig;
pub(crate) use policy::PolicyConfig;
pub(crate) use policy_action::{ActionConfig, ForwardTarget};
pub(crate) use store::StoreConfig;

use api::RawApi;
use builtin_policies::RawBuiltins;
use http::RawHttp;
use input::RawInput;
use integrity::RawIntegrity;
use listener::RawListener;
use locate::line_column;
use log::RawLog;
use netconf_server::RawNetconfServer;
use output::RawOutput;
use pipeline::RawPipeline;
use policy::RawPolicy;
use store::RawStore;

/// The whole file as written; each section resolves in its own module.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    pipeline: RawPipeline,
    /// `[[listener]]` tables; a file without any gets the default listeners.
    #[serde(default, rename = "listener")]
    listeners: Option<Vec<RawListener>>,
    #[serde(default)]
    input: RawInput,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    output: RawOutput,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    api: RawApi,
    #[serde(default)]
    integrity: RawIntegrity,
    /// `[[policy]]` tables.
    #[serde(default, rename = "policy")]
    policies: Vec<RawPolicy>,
    #[serde(default)]
    builtin_policies: RawBuiltins,
    #[serde(default)]
    netconf_server: RawNetconfServer,
}

/// The whole configuration, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub store: StoreConfig,
    pub pipeline: PipelineConfig,
    pub listeners: Vec<ListenerConfig>,
    pub input: input::InputConfig,
    pub http: HttpConfig,
    pub output: OutputConfig,
    pub log: LogConfig,
    pub api: ApiConfig,
    pub integrity: IntegrityConfig,
    pub policies: Vec<PolicyConfig>,
    pub netconf_server: netconf_server::NetconfServerConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            store: StoreConfig::default(),
            pipeline: PipelineConfig::default(),
            listeners: listener::default_listeners(),
            input: input::InputConfig::default(),
            http: HttpConfig::default(),
            output: OutputConfig::default(),
            log: LogConfig::default(),
            api: ApiConfig::default(),
            integrity: IntegrityConfig::default(),
            policies: RawBuiltins::default().resolve().unwrap_or_else(|err| {
                unreachable!("the built-in policies' defaults are valid: {err}")
            }),
            netconf_server: netconf_server::NetconfServerConfig::default(),
        }
    }
}

impl RawConfig {
    /// The checks run in the order of the sections in the example file, so
    /// that the first error reported is the first one there.
    fn resolve(self) -> Result<Config, ConfigError> {
        let api = self.api.resolve()?;
        let pipeline = self.pipeline.resolve()?;
        let store = self.store.resolve()?;
        let listeners = match self.listeners {
            Some(raw) => listener::resolve_listeners(raw)?,
            None => listener::default_listeners(),
        };
        let input = self.input.resolve()?;
        let output = self.output.resolve()?;
        let integrity = self.integrity.resolve()?;
        let mut policies = self.builtin_policies.resolve()?;
        policies.extend(policy::resolve_policies(self.policies, &policies)?);
        policy::resolve_forward_targets(&mut policies, &output)?;
        if matches!(store.backend, store_backend::StoreBackend::Postgres(_)) {
            store_backend::check_postgres_parts(
                !output.radius.is_empty(),
                policies.iter().any(|p| !p.builtin),
                integrity.schedule.is_some(),
                store.retention_max_age_days.is_some() || store.retention_max_events.is_some(),
            )?;
        }
        let netconf_server = self.netconf_server.resolve()?;
        Ok(Config {
            store,
            pipeline,
            listeners,
            input,
            http: self.http.resolve()?,
            output,
            log: self.log.resolve(),
            api,
            integrity,
            policies,
            netconf_server,
        })
    }
}

/// True when `table`, or a table nested in it, holds a value that is not a
/// table (a setting): `[store]` alone sets nothing, `[[listener]]` alone
/// sets nothing either.
fn sets_a_key(table: &toml::Table) -> bool {
    table.values().any(|value| match value {
        toml::Value::Table(inner) => sets_a_key(inner),
        // `listener = []` is a setting (no listeners); `[[listener]]` with
        // nothing in it is not.
        toml::Value::Array(items) => {
            items.is_empty()
                || items.iter().any(|item| match item {
                    toml::Value::Table(inner) => sets_a_key(inner),
                    _ => true,
                })
        }
        _ => true,
    })
}

impl Config {
    /// Read, parse and validate a configuration file.
    pub(crate) fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text, &path.display().to_string())
    }

    /// Parse and validate TOML text; `origin` names it in error messages.
    /// Text that sets no key is [`ConfigError::Empty`].
    pub(crate) fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        // Text that is not TOML is reported below, with its line.
        if let Ok(table) = text.parse::<toml::Table>() {
            if !sets_a_key(&table) {
                return Err(ConfigError::Empty {
                    origin: origin.to_owned(),
                });
            }
        }
        let deserializer = toml::Deserializer::new(text);
        let raw: RawConfig = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let location = inner
                .span()
                .map(|span| {
                    let (line, column) = line_column(text, span.start);
                    format!(":{line}:{column}")
                })
                .unwrap_or_default();
            // toml's own message repeats the source excerpt over several
            // lines; its core message is enough next to file:line.
            let message = inner.message().trim().to_owned();
            ConfigError::Syntax {
                origin: origin.to_owned(),
                location,
                message: if path == "." || path.is_empty() {
                    message
                } else {
                    format!("{path}: {message}")
                },
            }
        })?;
        raw.resolve().map_err(|err| err.in_text(text, origin))
    }

    /// Reads what the RADIUS outputs refer to (secret files or variables,
    /// dictionaries) and checks their addresses and attribute numbers, so
    /// that `check-config`, start-up and reloads fail on a bad table instead
    /// of the running output. Kept out of parsing, like the TLS files.
    /// Also notes a digest of those files in each table, so that a reload
    /// sees a changed secret or dictionary as a changed output.
    /// The programs and secret files of the policies' actions are checked
    /// here too.
    pub(crate) fn resolve_outputs(&mut self) -> Result<(), ConfigError> {
        self.output.resolve_references()?;
        // Numbered as in the file: the built-ins come first and have no actions.
        for (index, policy) in self.policies.iter().filter(|p| !p.builtin).enumerate() {
            for (action_index, action) in policy.actions.iter().enumerate() {
                action
                    .check_references()
                    .map_err(|err| err.under(&format!("policy[{index}].action[{action_index}]")))?;
            }
        }
        Ok(())
    }

    /// A few lines saying what this configuration will do.
    pub(crate) fn summary(&self) -> String {
        let mut out = String::new();
        match &self.store.backend {
            store_backend::StoreBackend::Postgres(pg) => out.push_str(&format!(
                "store: PostgreSQL {} as node {} (key file and users under {})\n",
                pg.spec()
                    .map_or_else(|_| "?".into(), |s| s.target().to_string()),
                pg.node,
                self.store.path.display()
            )),
            _ => out.push_str(&format!(
                "store: {} (synchronous = {:?})\n",
                self.store.path.display(),
                self.store.synchronous
            )),
        }
        for l in &self.listeners {
            out.push_str(&format!(
                "listener {}: {} on {}\n",
                l.display_name(),
                l.protocol(),
                l.address
            ));
        }
        for d in &self.input.netconf {
            out.push_str(&format!(
                "input.netconf {}: {}@{} ({:?})\n",
                d.name,
                d.user,
                d.peer(),
                d.mode
            ));
        }
        for c in &self.input.netconf_callhome {
            let devices: Vec<&str> = c.devices.iter().map(|d| d.session.name.as_str()).collect();
            out.push_str(&format!(
                "input.netconf_callhome {}: {} on {} for {}\n",
                c.name,
                c.protocol.as_str(),
                c.address,
                devices.join(", ")
            ));
        }
        if self.netconf_server.enabled {
            out.push_str(&format!(
                "netconf_server: NETCONF over SSH on {}\n",
                self.netconf_server.address
            ));
        }
        out.push_str(&format!(
            "http: /health, /metrics and the API on {}{}\n",
            self.http.address,
            if self.http.console {
                ", the console at /"
            } else {
                ""
            }
        ));
        for o in &self.output.syslog {
            out.push_str(&format!(
                "output.syslog {}: {:?} to {}\n",
                o.name, o.transport, o.address
            ));
        }
        for o in &self.output.file {
            out.push_str(&format!("output.file {}: {}\n", o.name, o.dir.display()));
        }
        if let Some(s) = &self.integrity.schedule {
            out.push_str(&format!(
                "integrity: chain verified every {}s (whole store every {}s)\n",
                s.every.as_secs(),
                s.full_every.as_secs()
            ));
        }
        for p in &self.policies {
            out.push_str(&format!(
                "policy {}: {}{}, {} action(s)\n",
                p.name,
                p.correlation.kind(),
                if p.enabled { "" } else { " (disabled)" },
                p.actions.len()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use netaudit_auditfile::OnFull;
    use netaudit_event::{Facility, Severity};

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, "test.toml")
    }

    #[test]
    fn a_file_that_sets_nothing_is_an_error() {
        for text in [
            "",
            "\n  \n",
            "# only a comment\n",
            "[store]\n",
            "[store]\n[log]\n# x\n",
            "[output]\n",
        ] {
            let err = parse(text).unwrap_err();
            assert!(matches!(err, ConfigError::Empty { .. }), "{text:?}: {err}");
            assert!(
                err.to_string()
                    .starts_with("test.toml: the file sets no configuration key"),
                "{err}"
            );
        }
        // One key is enough; the rest are defaults.
        let config = parse("[log]\nlevel = \"info\"\n").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.listeners.len(), 2);
        assert_eq!(config.http.address.to_string(), "127.0.0.1:8514");
        assert_eq!(config.store.path, PathBuf::from("./data/netaudit.db"));
        // A table of an array with nothing in it sets nothing either; a
        // file that is not TOML is still reported as what it is.
        assert!(!matches!(
            parse("listener = []\n"),
            Err(ConfigError::Empty { .. })
        ));
        assert!(matches!(
            parse("[[listener]]\n"),
            Err(ConfigError::Empty { .. })
        ));
        assert!(matches!(parse("[store\n"), Err(ConfigError::Syntax { .. })));
    }

    #[test]
    fn unknown_key_is_rejected_with_its_path_and_line() {
        let err = parse("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n\n[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nmax_mesage_bytes = 9000\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("test.toml:"), "{err}");
        assert!(err.contains("listener[1]"), "{err}");
        assert!(err.contains("max_mesage_bytes"), "{err}");
        assert!(
            err.starts_with("test.toml:8:") || err.starts_with("test.toml:5:"),
            "{err}"
        );
    }

    #[test]
    fn unknown_nested_key_names_the_table() {
        let err = parse("[[output.syslog]]\nname = \"a\"\ntransport = \"tls\"\naddress = \"h:6514\"\n[output.syslog.tls]\nca = \"ca.pem\"\nverify = false\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("output.syslog[0].tls"), "{err}");
        assert!(err.contains("verify"), "{err}");
    }

    #[test]
    fn wrong_value_names_the_key() {
        let err = parse("[pipeline]\nbatch_max_events = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("pipeline.batch_max_events"), "{err}");
        assert!(err.contains(":2:"), "{err}");
        let err = parse("[[listener]]\nprotocol = \"sctp\"\naddress = \"127.0.0.1:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listener[0].protocol"), "{err}");
    }

    #[test]
    fn semantic_errors_name_the_key() {
        let cases = [
            ("[[listener]]\nprotocol = \"tls\"\naddress = \"127.0.0.1:1\"\n", "listener[0].tls"),
            ("[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nmax_connections = 5\n", "listener[0].max_connections"),
            ("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\nrecv_buffer_bytes = 5\n", "listener[0].recv_buffer_bytes"),
            ("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\nname = \"b\"\n", "listener[1].address"),
            ("[[listener]]\nprotocol = \"tls\"\naddress = \"127.0.0.1:1\"\n[listener.tls]\ncert = \"c\"\nkey = \"k\"\nrequire_client_cert = true\n", "listener[0].tls.client_ca"),
            ("[[output.syslog]]\nname = \"a\"\ntransport = \"udp\"\naddress = \"nohost\"\n", "output.syslog[0].address"),
            ("[[output.syslog]]\nname = \"a\"\ntransport = \"udp\"\naddress = \"h:514\"\nfacility = \"auth\"\n", "output.syslog[0].facility"),
            ("[[output.syslog]]\nname = \"a\"\ntransport = \"udp\"\naddress = \"h:514\"\n[[output.file]]\nname = \"a\"\ndir = \"/tmp\"\n", "output.file[0].name"),
            ("[pipeline]\nbatch_max_events = 0\n", "pipeline.batch_max_events"),
            ("[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nread_pause_ms = 1\n", "listener[0].read_pause_ms"),
            ("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\nread_pause_ms = 101\n", "listener[0].read_pause_ms: must be at most 100"),
        ];
        for (text, key) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "expected {key} in {err}");
        }
    }

    #[test]
    fn read_pause_defaults_to_1_ms_and_0_turns_it_off() {
        let tcp = "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n";
        let config = parse(tcp).unwrap();
        assert_eq!(
            config.listeners[0].read_pause(),
            Some(std::time::Duration::from_millis(1))
        );
        let config = parse(&format!("{tcp}read_pause_ms = 0\n")).unwrap();
        assert_eq!(config.listeners[0].read_pause(), None);
        let config = parse(&format!("{tcp}read_pause_ms = 100\n")).unwrap();
        assert_eq!(
            config.listeners[0].read_pause(),
            Some(std::time::Duration::from_millis(100))
        );
    }

    #[test]
    fn outputs_parse_with_defaults() {
        let config = parse("[[output.syslog]]\nname = \"siem\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:601\"\ncodes = [\"JUNOSCOPE_*\"]\nmin_severity = \"warning\"\n[[output.file]]\nname = \"audit\"\ndir = \"/var/log/netaudit\"\n").unwrap();
        let syslog = &config.output.syslog[0];
        assert_eq!(syslog.facility, Facility::Local2);
        assert_eq!(syslog.min_severity, Some(Severity::Warning));
        assert_eq!(syslog.format, OutputFormat::Standard);
        assert_eq!(config.output.file[0].on_full, OnFull::OverwriteOldest);
    }

    #[test]
    fn the_example_file_is_valid_and_shows_the_defaults() {
        let text = include_str!("../../../../config/netaudit.example.toml");
        let config = Config::from_toml(text, "netaudit.example.toml").unwrap();
        let defaults = Config::default();
        assert_eq!(config.store, defaults.store);
        assert_eq!(config.pipeline, defaults.pipeline);
        assert_eq!(config.http, defaults.http);
        assert_eq!(config.log, defaults.log);
        assert_eq!(config.policies, defaults.policies);
        assert_eq!(config.listeners.len(), defaults.listeners.len());
        for (example, default) in config.listeners.iter().zip(&defaults.listeners) {
            assert_eq!(
                (example.protocol(), example.address),
                (default.protocol(), default.address)
            );
            assert_eq!(example.max_message_bytes, default.max_message_bytes);
            assert_eq!(
                example.stream().map(|s| s.max_connections),
                default.stream().map(|s| s.max_connections)
            );
            assert_eq!(example.idle_timeout(), default.idle_timeout());
            assert_eq!(example.read_pause(), default.read_pause());
            assert_eq!(recv_buffer_bytes(example), recv_buffer_bytes(default));
        }
        assert_eq!(config.output.syslog.len(), 1);
        assert_eq!(config.output.file.len(), 1);
        assert!(config.input.netconf.is_empty());
        assert!(config.input.netconf_callhome.is_empty());
        // The commented-out TLS tables are valid too once uncommented.
        let uncommented: String = text
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|rest| is_toml_line(rest))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let config = Config::from_toml(&uncommented, "uncommented example").unwrap();
        assert_eq!(config.listeners.len(), 4);
        assert_eq!(config.output.syslog.len(), 3);
        assert_eq!(config.input.netconf.len(), 1);
        assert_eq!(config.input.netconf[0].port, 830);
        let callhome = &config.input.netconf_callhome;
        assert_eq!(callhome.len(), 1);
        assert_eq!(callhome[0].address.port(), 4334);
        assert_eq!(callhome[0].max_pending, 16);
        assert_eq!(callhome[0].devices[0].device_id, "r2");
        assert!(callhome[0].devices[0].secret_file.is_some());
        assert!(config.store.key_path.is_some() && config.store.retention_max_events.is_some());
        let policy = config.policies.iter().find(|p| !p.builtin).unwrap();
        let kinds: Vec<&str> = policy.actions.iter().map(ActionConfig::kind).collect();
        assert_eq!(kinds, ["exec", "webhook", "forward"]);
    }

    fn recv_buffer_bytes(listener: &ListenerConfig) -> Option<usize> {
        match listener.transport {
            ListenerTransport::Udp { recv_buffer_bytes } => Some(recv_buffer_bytes),
            _ => None,
        }
    }

    /// A commented-out key or table header (not prose).
    fn is_toml_line(line: &str) -> bool {
        (line.starts_with('[') && line.ends_with(']'))
            || line.split_once(" = ").is_some_and(|(key, _)| {
                !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
    }

    #[test]
    fn the_console_refuses_plain_http_beyond_loopback_unless_told() {
        let err = parse("[http]\naddress = \"0.0.0.0:8514\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("http.console"), "{err}");
        assert!(err.contains("http.console_plain_http = true"), "{err}");
        assert!(
            err.starts_with("test.toml:1:") || err.starts_with("test.toml:2:"),
            "{err}"
        );
        for allowed in [
            "[http]\naddress = \"0.0.0.0:8514\"\nconsole = false\n",
            "[http]\naddress = \"0.0.0.0:8514\"\nconsole_plain_http = true\n",
            "[http]\naddress = \"[::1]:8514\"\n",
            "[http]\naddress = \"0.0.0.0:8514\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
        ] {
            let config = parse(allowed).unwrap();
            assert_eq!(config.http.console, !allowed.contains("console = false"));
        }
    }

    #[test]
    fn https_needs_both_the_certificate_and_the_key() {
        let err = parse("[http]\ntls_cert = \"c.pem\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("http.tls_key"), "{err}");
        let err = parse("[http]\ntls_key = \"k.pem\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("http.tls_cert"), "{err}");
    }

    #[test]
    fn semantic_errors_give_the_line_of_the_key() {
        let text = "[pipeline]\nbatch_max_events = 10\n\n[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n\n[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:2\"\nmax_connections = 5\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with("test.toml:11:"), "{err}");
        assert!(err.contains("listener[1].max_connections"), "{err}");
        // An absent key: the line of the table that should hold it.
        let text = "[store]\npath = \"x.db\"\n\n[[listener]]\nprotocol = \"tls\"\naddress = \"127.0.0.1:1\"\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("listener[0].tls"), "{err}");
        assert!(
            err.starts_with("test.toml:4:") || err.starts_with("test.toml:5:"),
            "{err}"
        );
    }
}
