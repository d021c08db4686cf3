//! Writing what the wizard made: the diff against the file it replaces,
//! the same check `netaudit check-config` makes (on a temporary file beside
//! the target, renamed over it only once it passes), the audit event of the
//! change (queued in the auth database's outbox, which `netaudit serve`
//! moves into the store, like `netaudit user`), and SIGHUP to a running
//! server.

use std::path::Path;

use anyhow::Context as _;
use netaudit_event::Severity;

use crate::config::Config;
use crate::self_events::internal_event;

/// The code of the audit event of a configuration change by `netaudit setup`.
pub(crate) const RECONFIGURED_CODE: &str = "NETAUDIT_RECONFIGURED";

/// A unified diff of `old` (empty when there is no file yet) to `new`.
pub(crate) fn diff(path: &Path, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{} (now)", path.display()),
            &format!("{} (new)", path.display()),
        )
        .to_string()
}

/// Checks `text` as the configuration at `path` would be checked by
/// `check-config`, from a temporary file beside it; on success renames it
/// over `path` and returns the configuration.
pub(crate) fn check_and_write(path: &Path, text: &str) -> anyhow::Result<Config> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.setup.tmp"));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    let config = match crate::cmd::check_config::check(&tmp) {
        Ok(config) => config,
        Err(err) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(
                err.context("the configuration made from the answers does not pass check-config")
            );
        }
    };
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(config)
}

/// Queues the audit event of the change in the outbox of the auth database
/// `config` names; `netaudit serve` stores it. Returns why it could not.
pub(crate) fn audit(config: &Config, path: &Path, what: &str) -> Result<(), String> {
    let actor = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    let event = internal_event(
        RECONFIGURED_CODE,
        Severity::Notice,
        format!("netaudit setup: {} {what} (by {actor})", path.display()),
    );
    let auth_path = config.api.auth_db_path(&config.store);
    let db = crate::auth::AuthDb::open(&auth_path).map_err(|e| e.to_string())?;
    db.queue_audit_event(&event).map_err(|e| e.to_string())
}

/// Gives the auth database at `path` (and its `-wal` and `-shm` files) to
/// the owner of its directory when they differ: run as root, the wizard
/// creates it in the service user's directory, and the service must open it.
pub(crate) fn give_to_directory_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let owner = std::fs::metadata(dir)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::metadata(&file) {
            Ok(m) if m.uid() != owner.uid() || m.gid() != owner.gid() => {
                std::os::unix::fs::chown(&file, Some(owner.uid()), Some(owner.gid()))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// SIGHUP to the server with process id `pid`: it re-reads the file.
pub(crate) fn signal_reload(pid: i32) -> anyhow::Result<()> {
    let pid = rustix::process::Pid::from_raw(pid)
        .ok_or_else(|| anyhow::anyhow!("{pid} is not a process id"))?;
    rustix::process::kill_process(pid, rustix::process::Signal::HUP)
        .map_err(|e| anyhow::anyhow!("cannot signal process {}: {e}", pid.as_raw_nonzero()))
}

/// `--reconfigure facility`: the file's text with every syslog
/// destination's facility set to `facility`, everything else kept as it is
/// (comments included).
pub(crate) fn with_facility(text: &str, facility: &str) -> anyhow::Result<String> {
    let mut doc: toml_edit::DocumentMut = text.parse().context("the configuration is not TOML")?;
    let outputs = doc
        .get_mut("output")
        .and_then(|o| o.get_mut("syslog"))
        .and_then(|s| s.as_array_of_tables_mut())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the configuration has no [[output.syslog]] whose facility could change"
            )
        })?;
    for table in outputs.iter_mut() {
        table["facility"] = toml_edit::value(facility);
    }
    Ok(doc.to_string())
}

/// The facility of the first syslog destination, if any.
pub(crate) fn current_facility(text: &str) -> Option<String> {
    let doc: toml_edit::DocumentMut = text.parse().ok()?;
    let facility = doc
        .get("output")?
        .get("syslog")?
        .as_array_of_tables()?
        .iter()
        .find_map(|t| t.get("facility")?.as_str().map(str::to_string));
    facility
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auth_database_goes_to_the_owner_of_its_directory() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("auth.db");
        std::fs::write(&db, "").unwrap();
        // Same owner: nothing to do.
        give_to_directory_owner(&db).unwrap();
        // Another owner for the directory (nobody, 65534): only root may follow it.
        let result = std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534))
            .and_then(|()| give_to_directory_owner(&db));
        if rustix::process::geteuid().is_root() {
            result.unwrap();
            assert_eq!(std::fs::metadata(&db).unwrap().uid(), 65534);
        } else {
            assert!(result.is_err());
        }
    }

    #[test]
    fn the_facility_changes_and_nothing_else() {
        let text = "# kept\n[store]\npath = \"x.db\"\n\n[[output.syslog]]\nname = \"a\" # kept too\naddress = \"h:1\"\nfacility = \"local2\"\n\n[[output.syslog]]\nname = \"b\"\naddress = \"h:2\"\n";
        let new = with_facility(text, "local5").unwrap();
        assert_eq!(new.matches("facility = \"local5\"").count(), 2, "{new}");
        assert!(new.contains("# kept\n") && new.contains("# kept too"));
        assert_eq!(current_facility(text).as_deref(), Some("local2"));
        assert!(with_facility("[store]\npath = \"x\"\n", "local5").is_err());
        let d = diff(Path::new("f.toml"), text, &new);
        assert!(
            d.contains("-facility = \"local2\"") && d.contains("+facility = \"local5\""),
            "{d}"
        );
    }
}
