//! The authentication policy answers (the `[api]` keys of the login
//! policy and the session timeout) and the first administrator: their
//! questions, ranges and checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::{validate_name, validate_password, AuthDb};

/// One `[api]` key the wizard asks.
pub(crate) struct PolicyKey {
    pub key: &'static str,
    pub question: &'static str,
    pub min: u64,
    pub max: u64,
    pub default: u64,
}

/// The authentication policy, in the order asked. `lockout_secs = 0`
/// means "until an administrator unlocks" (the key is then left out of
/// the configuration, its default).
pub(crate) const POLICY_KEYS: [PolicyKey; 6] = [
    PolicyKey {
        key: "max_login_attempts",
        question: "Failed logins that lock an account",
        min: 1,
        max: 100,
        default: 5,
    },
    PolicyKey {
        key: "access_window_secs",
        question: "Counted within how many seconds",
        min: 1,
        max: 86_400,
        default: 300,
    },
    PolicyKey {
        key: "lockout_secs",
        question: "Seconds a locked account stays locked (0: until an administrator unlocks it)",
        min: 0,
        max: 2_592_000,
        default: 0,
    },
    PolicyKey {
        key: "session_idle_timeout_secs",
        question: "Seconds after which an unused session ends",
        min: 60,
        max: 86_400,
        default: 900,
    },
    PolicyKey {
        key: "client_max_login_failures",
        question: "Failed logins from one client address before its logins are refused",
        min: 1,
        max: 10_000,
        default: 20,
    },
    PolicyKey {
        key: "client_login_window_secs",
        question: "Counted within how many seconds, per client address",
        min: 1,
        max: 86_400,
        default: 60,
    },
];

/// The key of `name` (`api.` prefix allowed), if it is a policy key.
pub(crate) fn policy_key(name: &str) -> Option<&'static PolicyKey> {
    let name = name.strip_prefix("api.").unwrap_or(name);
    POLICY_KEYS.iter().find(|k| k.key == name)
}

/// A whole number from `key.min` to `key.max`.
pub(crate) fn check_number(text: &str, key: &PolicyKey) -> Result<u64, String> {
    let text = text.trim();
    let n: u64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    if (key.min..=key.max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is out of range ({} to {})", key.min, key.max))
    }
}

/// `[api]` of the answers file: every key optional, unknown keys refused.
pub(crate) fn check_policy(values: &BTreeMap<String, u64>) -> Result<(), String> {
    for (name, value) in values {
        let key = POLICY_KEYS.iter().find(|k| k.key == name).ok_or_else(|| {
            let known: Vec<_> = POLICY_KEYS.iter().map(|k| k.key).collect();
            format!(
                "api.{name}: not an authentication policy key (one of {})",
                known.join(", ")
            )
        })?;
        check_number(&value.to_string(), key).map_err(|e| format!("api.{name}: {e}"))?;
    }
    Ok(())
}

/// The `[api]` section these answers make (absent keys: the defaults).
pub(crate) fn render_policy(values: &BTreeMap<String, u64>) -> String {
    let mut out = String::from("\n[api]\n");
    for key in &POLICY_KEYS {
        let value = values.get(key.key).copied().unwrap_or(key.default);
        if key.key == "lockout_secs" && value == 0 {
            out.push_str("# lockout_secs absent: a locked account stays locked until an administrator unlocks it\n");
        } else {
            out.push_str(&format!("{} = {value}\n", key.key));
        }
    }
    out
}

/// `[admin]` of the answers file: the first administrator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminAnswer {
    pub name: String,
    /// Its password: the first line of this file (as `netaudit user add
    /// --password-file`).
    pub password_file: PathBuf,
}

/// The first administrator to create once the configuration is written.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct FirstAdmin {
    pub name: String,
    pub password: String,
}

impl std::fmt::Debug for FirstAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstAdmin")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The auth database the configuration made from `store_path` uses (the
/// wizard never sets `api.auth_db`: `auth.db` beside the store).
pub(crate) fn auth_db_beside(store_path: &Path) -> PathBuf {
    store_path
        .parent()
        .map(|dir| dir.join("auth.db"))
        .unwrap_or_else(|| PathBuf::from("auth.db"))
}

/// A valid user name that `auth_db` (if it exists yet) does not hold.
pub(crate) fn check_admin_name(text: &str, auth_db: &Path) -> Result<String, String> {
    let name = text.trim();
    validate_name(name).map_err(|e| e.to_string())?;
    if auth_db.exists() {
        let db = AuthDb::open(auth_db).map_err(|e| e.to_string())?;
        if db.user(name).map_err(|e| e.to_string())?.is_some() {
            return Err(format!(
                "user '{name}' already exists in {}",
                auth_db.display()
            ));
        }
    }
    Ok(name.to_string())
}

/// The password rule of the auth database.
pub(crate) fn check_password(password: &str) -> Result<(), String> {
    validate_password(password).map_err(|e| e.to_string())
}

impl AdminAnswer {
    /// The administrator, its name and password checked; errors name the key.
    pub(crate) fn resolve(&self, auth_db: &Path) -> Result<FirstAdmin, String> {
        let name = check_admin_name(&self.name, auth_db).map_err(|e| format!("admin.name: {e}"))?;
        let text = std::fs::read_to_string(&self.password_file).map_err(|e| {
            format!(
                "admin.password_file: cannot read {}: {e}",
                self.password_file.display()
            )
        })?;
        let password = text.lines().next().unwrap_or_default().to_string();
        check_password(&password).map_err(|e| format!("admin.password_file: {e}"))?;
        Ok(FirstAdmin { name, password })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_answers_out_of_range_or_unknown_are_refused() {
        let key = policy_key("api.max_login_attempts").unwrap();
        assert_eq!(check_number("5", key), Ok(5));
        assert_eq!(
            check_number("500", key).unwrap_err(),
            "500 is out of range (1 to 100)"
        );
        assert!(check_number("five", key)
            .unwrap_err()
            .contains("not a whole number"));
        assert!(check_number("0", policy_key("lockout_secs").unwrap()).is_ok());
        let mut values = BTreeMap::from([("max_login_attempts".to_string(), 0)]);
        assert!(check_policy(&values)
            .unwrap_err()
            .starts_with("api.max_login_attempts: 0 is out of range"));
        values.clear();
        values.insert("lockout".into(), 1);
        assert!(check_policy(&values)
            .unwrap_err()
            .contains("not an authentication policy key"));
        let text = render_policy(&BTreeMap::from([("lockout_secs".to_string(), 600)]));
        assert!(text.contains("lockout_secs = 600\n") && text.contains("max_login_attempts = 5\n"));
        assert!(!render_policy(&BTreeMap::new()).contains("lockout_secs ="));
        assert!(check_admin_name("bad name", Path::new("/no/such/auth.db"))
            .unwrap_err()
            .contains("invalid user name"));
        assert!(check_password("short").unwrap_err().contains("12 to 1024"));
    }
}
