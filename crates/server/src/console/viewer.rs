//! Who is looking at a page: the user of the console's session cookie, with
//! their role and the CSRF token of their forms.
//!
//! The console's cookie holds the same kind of login session as the API's
//! (same store of sessions, idle timeout and events); its name differs so
//! that the API's cookie (path `/api`) and the console's (path `/`) never
//! shadow each other. The CSRF token is derived from the session's secret,
//! which only the HttpOnly cookie carries: a page of another site can
//! neither read the cookie nor compute the token.

use sha2::{Digest, Sha256};

use crate::auth::Role;

/// The console's session cookie.
pub(super) const SESSION_COOKIE: &str = "netaudit_console";
/// The login form's double-submit cookie (there is no session yet).
pub(super) const LOGIN_COOKIE: &str = "netaudit_login";
/// The form field that carries the CSRF token.
pub(super) const CSRF_FIELD: &str = "csrf";

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub(super) struct Viewer {
    pub user: String,
    pub role: Role,
    /// The client's address (no port).
    pub client: String,
    /// The key of the session in the API's sessions, for logout.
    pub session_key: String,
    /// The token every state-changing form of this session must carry.
    pub csrf: String,
    /// The session's idle timeout, shown on every page.
    pub idle_timeout_secs: u64,
}

impl Viewer {
    /// May this viewer use a page of `roles`?
    pub(super) fn has(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }
}

/// The CSRF token of the session whose secret is `secret`.
pub(super) fn csrf_token(secret: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"netaudit console csrf\0")
        .chain_update(secret.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_do_not_show_the_secret() {
        let a = csrf_token("na_ses_one");
        assert_eq!(a, csrf_token("na_ses_one"));
        assert_ne!(a, csrf_token("na_ses_two"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("na_ses"));
    }
}
