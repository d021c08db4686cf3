//! Reloading the outputs on request (SIGHUP or `POST /api/v1/outputs/reload`)
//! and the audit events that say what changed, who asked and from where.
//!
//! Outputs live in the configuration file, so an administrator changes them
//! by editing the file and asking for a reload. Every applied reload is
//! compared with the running configuration by kind and name:
//!
//! * `[[output.radius]]`: one JUNOScope `JUNOSCOPE_RADIUS_CONFIG_*` event per
//!   server address. A server address that appears is ADDED, one that
//!   disappears is DELETED (so moving a table from one address to another
//!   is DELETED + ADDED: the catalog message names one address only), and
//!   an address kept in a table whose other settings changed is CHANGED.
//! * `[[output.syslog]]`: netaudit's own `NETAUDIT_SYSLOG_DEST_*`
//!   events (ADDED, CHANGED, DELETED), one per destination name. The code is
//!   the RFC 5424 MSGID when forwarded, which holds at most 32 octets, so
//!   `..._DEST_...` rather than `..._DESTINATION_...` (33 to 35 octets).
//! * `[[output.file]]` changes are reported in the summary only (the issue
//!   asks for RADIUS servers and syslog destinations).

use netaudit_event::{catalog, Event, EventContext, Facility, Param, Severity};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::config::output::radius::RadiusOutputConfig;
use crate::config::{ConfigError, OutputConfig, SyslogOutputConfig, Transport};
use crate::self_events::{self, API_APP};

pub(crate) use crate::self_events::NETAUDIT_SD_ID;

/// Who asked for a reload: the logged-in administrator and their client
/// address, or the local signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actor {
    pub user: String,
    pub client: String,
}

impl Actor {
    /// SIGHUP has no logged-in user; it came from this machine.
    pub(crate) fn local_signal() -> Actor {
        Actor {
            user: "local-signal".to_owned(),
            client: "local".to_owned(),
        }
    }
}

/// What the API asks of the serve loop (which owns listeners and outputs).
pub(crate) enum ControlRequest {
    /// Re-read the configuration file and apply it, as SIGHUP does.
    Reload(oneshot::Sender<Result<AppliedReload, ReloadError>>),
    /// The outputs configuration that is running now.
    Outputs(oneshot::Sender<OutputConfig>),
    /// The policies configured now (`[[policy]]` and the built-ins).
    Policies(oneshot::Sender<Vec<crate::config::PolicyConfig>>),
}

/// The outputs before and after an applied reload.
#[derive(Debug, Clone)]
pub(crate) struct AppliedReload {
    pub old: OutputConfig,
    pub new: OutputConfig,
}

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReloadError {
    #[error("the server runs on the embedded defaults: there is no configuration file to re-read")]
    NoConfigFile,
    #[error("configuration rejected, nothing changed: {0}")]
    Invalid(#[from] ConfigError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Change {
    Added,
    Changed,
    Removed,
}

/// One output (by kind and name) that a reload added, changed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct OutputChange {
    /// `syslog`, `file` or `radius`.
    pub kind: &'static str,
    pub name: String,
    #[serde(skip)]
    pub change: Change,
}

/// The outputs that differ between `old` and `new`, by kind and name.
pub(crate) fn diff(old: &OutputConfig, new: &OutputConfig) -> Vec<OutputChange> {
    let mut changes = Vec::new();
    diff_kind(
        "syslog",
        &old.syslog,
        &new.syslog,
        |c| &c.name,
        &mut changes,
    );
    diff_kind("file", &old.file, &new.file, |c| &c.name, &mut changes);
    diff_kind(
        "radius",
        &old.radius,
        &new.radius,
        |c| &c.name,
        &mut changes,
    );
    changes
}

fn diff_kind<T: PartialEq>(
    kind: &'static str,
    old: &[T],
    new: &[T],
    name: fn(&T) -> &str,
    out: &mut Vec<OutputChange>,
) {
    for before in old {
        let change = match new.iter().find(|n| name(n) == name(before)) {
            None => Change::Removed,
            Some(after) if after != before => Change::Changed,
            Some(_) => continue,
        };
        out.push(OutputChange {
            kind,
            name: name(before).to_owned(),
            change,
        });
    }
    for after in new {
        if !old.iter().any(|o| name(o) == name(after)) {
            out.push(OutputChange {
                kind,
                name: name(after).to_owned(),
                change: Change::Added,
            });
        }
    }
}

/// The JSON summary of a reload: `{"added": [...], "changed": [...],
/// "removed": [...]}`, each entry `{"kind", "name"}`.
pub(crate) fn summary(changes: &[OutputChange]) -> serde_json::Value {
    let of = |wanted: Change| -> Vec<&OutputChange> {
        changes.iter().filter(|c| c.change == wanted).collect()
    };
    serde_json::json!({
        "added": of(Change::Added),
        "changed": of(Change::Changed),
        "removed": of(Change::Removed),
    })
}

/// One audit event per RADIUS server address and per syslog destination
/// that changed, carrying `actor`.
pub(crate) fn audit_events(old: &OutputConfig, new: &OutputConfig, actor: &Actor) -> Vec<Event> {
    let mut events = Vec::new();
    for change in diff(old, new) {
        match change.kind {
            "syslog" => {
                let find = |list: &[SyslogOutputConfig]| {
                    list.iter().find(|c| c.name == change.name).cloned()
                };
                let config = match change.change {
                    Change::Removed => find(&old.syslog),
                    _ => find(&new.syslog),
                };
                if let Some(config) = config {
                    events.push(syslog_event(&config, change.change, actor));
                }
            }
            "radius" => {
                let before = old.radius.iter().find(|c| c.name == change.name);
                let after = new.radius.iter().find(|c| c.name == change.name);
                radius_events(before, after, actor, &mut events);
            }
            _ => {}
        }
    }
    events
}

fn radius_events(
    old: Option<&RadiusOutputConfig>,
    new: Option<&RadiusOutputConfig>,
    actor: &Actor,
    out: &mut Vec<Event>,
) {
    let old_servers: &[String] = old.map(|c| c.servers.as_slice()).unwrap_or_default();
    let new_servers: &[String] = new.map(|c| c.servers.as_slice()).unwrap_or_default();
    let name = new.or(old).map(|c| c.name.as_str()).unwrap_or_default();
    let table_changed = old != new;
    for server in old_servers {
        if !new_servers.contains(server) {
            out.push(radius_event(
                "JUNOSCOPE_RADIUS_CONFIG_DELETED",
                server,
                name,
                actor,
            ));
        } else if table_changed {
            out.push(radius_event(
                "JUNOSCOPE_RADIUS_CONFIG_CHANGED",
                server,
                name,
                actor,
            ));
        }
    }
    for server in new_servers {
        if !old_servers.contains(server) {
            out.push(radius_event(
                "JUNOSCOPE_RADIUS_CONFIG_ADDED",
                server,
                name,
                actor,
            ));
        }
    }
}

/// Reload events are the API's, whether asked over HTTP or by SIGHUP.
fn context() -> EventContext {
    self_events::context(API_APP)
}

fn actor_params(event: &mut Event, output: &str, actor: &Actor) {
    event.user = Some(actor.user.as_str().into());
    event.client_addr = Some(actor.client.as_str().into());
    for (name, value) in [("output", output), ("username", actor.user.as_str())] {
        event.params.push(Param {
            sd_id: NETAUDIT_SD_ID.into(),
            name: name.into(),
            value: value.into(),
        });
    }
}

/// A JUNOScope RADIUS configuration event; falls back to an event without
/// the catalog text if the catalog lacks `code` (it does not).
fn radius_event(code: &str, server: &str, output: &str, actor: &Actor) -> Event {
    let vars = [
        ("radius-server-address", server),
        ("client-address", actor.client.as_str()),
    ];
    let rendered = catalog()
        .lookup(code)
        .map_err(|e| e.to_string())
        .and_then(|entry| entry.render(&vars).map_err(|e| e.to_string()));
    let mut event = match rendered {
        Ok(rendered) => rendered.into_event(&context()),
        Err(err) => {
            tracing::error!(code, error = %err, "catalog entry missing; storing the event without its text");
            let ctx = context();
            Event {
                received_ns: ctx.received_ns,
                time_ns: ctx.time_ns,
                host: ctx.host.map(Into::into),
                app: ctx.app.map(Into::into),
                facility: Some(Facility::Local2),
                severity: Some(Severity::Info),
                code: Some(code.into()),
                message: Some(format!("{code}: RADIUS server address: {server}").into()),
                ..Event::default()
            }
        }
    };
    actor_params(&mut event, output, actor);
    event
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
        Transport::Tls => "tls",
        Transport::Relp => "relp",
    }
}

/// netaudit's own event for a syslog destination that changed.
fn syslog_event(config: &SyslogOutputConfig, change: Change, actor: &Actor) -> Event {
    let (code, verb) = match change {
        Change::Added => ("NETAUDIT_SYSLOG_DEST_ADDED", "added"),
        Change::Changed => ("NETAUDIT_SYSLOG_DEST_CHANGED", "changed"),
        Change::Removed => ("NETAUDIT_SYSLOG_DEST_DELETED", "deleted"),
    };
    let transport = transport_name(config.transport);
    let ctx = context();
    let mut event = Event {
        received_ns: ctx.received_ns,
        time_ns: ctx.time_ns,
        host: ctx.host.map(Into::into),
        app: ctx.app.map(Into::into),
        facility: Some(Facility::Local2),
        severity: Some(Severity::Notice),
        code: Some(code.into()),
        message: Some(format!(
            "Syslog destination {verb}: name: {} transport: {transport} address: {} user: '{}' client address: '{}'",
            config.name, config.address, actor.user, actor.client
        ).into()),
        ..Event::default()
    };
    for (name, value) in [
        ("name", config.name.as_str()),
        ("transport", transport),
        ("address", config.address.as_str()),
        ("client-address", actor.client.as_str()),
    ] {
        event.params.push(Param {
            sd_id: NETAUDIT_SD_ID.into(),
            name: name.into(),
            value: value.into(),
        });
    }
    actor_params(&mut event, &config.name, actor);
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(text: &str) -> OutputConfig {
        crate::config::Config::from_toml(text, "t").unwrap().output
    }

    const SIEM: &str =
        "[[output.syslog]]\nname = \"siem\"\ntransport = \"udp\"\naddress = \"127.0.0.1:514\"\n";

    /// A `[[output.radius]]` table whose secret file lives as long as the
    /// returned directory.
    fn radius(servers: &str, timeout_ms: u64) -> (String, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "twenty-char-secret!!").unwrap();
        let table = format!(
            "[[output.radius]]\nname = \"aaa\"\nservers = [{servers}]\nsecret_file = \"{}\"\ntimeout_ms = {timeout_ms}\n",
            secret.display()
        );
        (table, dir)
    }

    fn codes(events: &[Event]) -> Vec<(String, String)> {
        events
            .iter()
            .map(|e| {
                (
                    e.code.as_deref().unwrap_or_default().to_owned(),
                    e.param("radius-server-address")
                        .or(e.param("name"))
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn added_syslog_and_radius_servers_are_one_event_each_with_the_actor() {
        let old = OutputConfig::default();
        let (table, _dir) = radius("\"127.0.0.1:1813\", \"127.0.0.1:1814\"", 1000);
        let new = outputs(&format!("{SIEM}{table}"));
        let actor = Actor {
            user: "alice".into(),
            client: "192.0.2.7".into(),
        };
        let events = audit_events(&old, &new, &actor);
        assert_eq!(
            codes(&events),
            [
                ("NETAUDIT_SYSLOG_DEST_ADDED".into(), "siem".into()),
                (
                    "JUNOSCOPE_RADIUS_CONFIG_ADDED".into(),
                    "127.0.0.1:1813".into()
                ),
                (
                    "JUNOSCOPE_RADIUS_CONFIG_ADDED".into(),
                    "127.0.0.1:1814".into()
                ),
            ]
        );
        for event in &events {
            assert_eq!(event.user.as_deref(), Some("alice"));
            assert_eq!(event.client_addr.as_deref(), Some("192.0.2.7"));
        }
        let syslog = &events[0];
        assert_eq!(syslog.severity, Some(Severity::Notice));
        assert_eq!(syslog.facility, Some(Facility::Local2));
        assert_eq!(syslog.param("transport"), Some("udp"));
        assert!(syslog.params.iter().all(|p| p.sd_id == NETAUDIT_SD_ID));
        assert!(events[1]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("RADIUS configuration added: RADIUS server address: 127.0.0.1:1813"));
    }

    #[test]
    fn moved_server_is_deleted_plus_added_and_kept_server_in_a_changed_table_is_changed() {
        let (before, _dir1) = radius("\"127.0.0.1:1813\", \"127.0.0.1:1814\"", 1000);
        let (after, _dir2) = radius("\"127.0.0.1:1814\", \"127.0.0.1:1815\"", 1000);
        let old = outputs(&before);
        let new = outputs(&after);
        let events = audit_events(&old, &new, &Actor::local_signal());
        assert_eq!(
            codes(&events),
            [
                (
                    "JUNOSCOPE_RADIUS_CONFIG_DELETED".into(),
                    "127.0.0.1:1813".into()
                ),
                (
                    "JUNOSCOPE_RADIUS_CONFIG_CHANGED".into(),
                    "127.0.0.1:1814".into()
                ),
                (
                    "JUNOSCOPE_RADIUS_CONFIG_ADDED".into(),
                    "127.0.0.1:1815".into()
                ),
            ]
        );
        assert_eq!(events[0].user.as_deref(), Some("local-signal"));
        assert_eq!(events[0].client_addr.as_deref(), Some("local"));
    }

    #[test]
    fn codes_fit_the_rfc5424_msgid_limit() {
        let (table, _dir) = radius("\"127.0.0.1:1813\"", 1000);
        let config = outputs(&format!("{SIEM}{table}"));
        let changed = outputs(&format!(
            "{}{}",
            SIEM.replace("udp", "tcp"),
            table.replace("1000", "2000")
        ));
        let actor = Actor::local_signal();
        let events: Vec<Event> = [
            audit_events(&OutputConfig::default(), &config, &actor),
            audit_events(&config, &changed, &actor),
            audit_events(&config, &OutputConfig::default(), &actor),
        ]
        .concat();
        assert_eq!(events.len(), 6);
        for event in events {
            let code = event.code.unwrap_or_default();
            assert!(code.len() <= 32, "{code} is longer than an RFC 5424 MSGID");
        }
    }

    #[test]
    fn a_changed_secret_file_is_a_changed_output_with_its_event() {
        let (table, dir) = radius("\"127.0.0.1:1813\"", 1000);
        let resolved = |text: &str| {
            let mut config = crate::config::Config::from_toml(text, "t").unwrap();
            config.resolve_outputs().unwrap();
            config.output
        };
        let before = resolved(&table);
        assert!(diff(&before, &resolved(&table)).is_empty(), "same secret");
        std::fs::write(dir.path().join("secret"), "another-twenty-chars").unwrap();
        let after = resolved(&table);
        assert_eq!(
            summary(&diff(&before, &after)),
            serde_json::json!({"added": [], "changed": [{"kind": "radius", "name": "aaa"}], "removed": []})
        );
        assert_eq!(
            codes(&audit_events(&before, &after, &Actor::local_signal())),
            [(
                "JUNOSCOPE_RADIUS_CONFIG_CHANGED".into(),
                "127.0.0.1:1813".into()
            )]
        );
    }

    #[test]
    fn unchanged_outputs_make_no_events_and_removed_ones_are_deleted() {
        let (table, dir) = radius("\"127.0.0.1:1813\"", 1000);
        let both = outputs(&format!("{SIEM}{table}"));
        assert!(audit_events(&both, &both, &Actor::local_signal()).is_empty());
        assert!(diff(&both, &both).is_empty());
        let events = audit_events(&both, &OutputConfig::default(), &Actor::local_signal());
        assert_eq!(
            codes(&events),
            [
                ("NETAUDIT_SYSLOG_DEST_DELETED".into(), "siem".into()),
                (
                    "JUNOSCOPE_RADIUS_CONFIG_DELETED".into(),
                    "127.0.0.1:1813".into()
                ),
            ]
        );
        let changed = outputs(&format!(
            "{SIEM}{}",
            table.replace("timeout_ms = 1000", "timeout_ms = 2000")
        ));
        drop(dir);
        assert_eq!(
            summary(&diff(&both, &changed)),
            serde_json::json!({"added": [], "changed": [{"kind": "radius", "name": "aaa"}], "removed": []})
        );
    }
}
