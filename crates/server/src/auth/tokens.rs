//! Random secrets and API tokens (kept as SHA-256 digests).

use rand::RngCore;
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use super::db::AuthDb;
use super::error::AuthError;
use super::users::User;
use crate::clock::now_ns;

pub(crate) const TOKEN_PREFIX: &str = "na_tok_";

/// A fresh random secret with a prefix naming its kind (`na_tok_`, `na_ses_`).
pub(crate) fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Tokens are stored as SHA-256 digests (they are random, so no salt).
pub(crate) fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl AuthDb {
    /// Makes an API token for `name` (shown once; only its digest is kept).
    pub(crate) fn create_token(&self, name: &str) -> Result<String, AuthError> {
        let token = random_secret(TOKEN_PREFIX);
        if let Some(shared) = &self.shared {
            let mut c = shared.conn()?;
            let target = c.target().to_string();
            let digest = token_digest(&token);
            if !netaudit_pgstore::add_token(c.client(), &target, &digest, name, now_ns())? {
                return Err(AuthError::NoSuchUser(name.to_string()));
            }
            return Ok(token);
        }
        let inserted = self.conn()?.execute(
            "INSERT INTO tokens (digest, user, created_ns) SELECT ?1, name, ?3 FROM users WHERE name = ?2",
            params![token_digest(&token), name, now_ns()],
        )?;
        if inserted == 0 {
            return Err(AuthError::NoSuchUser(name.to_string()));
        }
        Ok(token)
    }

    /// The user an API token belongs to (locked users' tokens are refused).
    pub(crate) fn token_user(&self, token: &str) -> Result<Option<User>, AuthError> {
        if let Some(shared) = &self.shared {
            let mut c = shared.conn()?;
            let target = c.target().to_string();
            let owner = netaudit_pgstore::token_owner(c.client(), &target, &token_digest(token))?;
            return Ok(owner
                .map(super::users::shared_user)
                .transpose()?
                .filter(|u| !u.locked));
        }
        let name: Option<String> = self
            .conn()?
            .query_row(
                "SELECT user FROM tokens WHERE digest = ?1",
                params![token_digest(token)],
                |r| r.get(0),
            )
            .optional()?;
        match name {
            Some(name) => Ok(self.user(&name)?.filter(|u| !u.locked)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::AuthError;
    use super::super::role::Role;
    use super::AuthDb;

    #[test]
    fn tokens_name_their_user_and_names_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let db = AuthDb::open(&dir.path().join("auth.db")).unwrap();
        db.add_user("app1", Role::Reporter, "a long enough password")
            .unwrap();
        let token = db.create_token("app1").unwrap();
        assert_eq!(db.token_user(&token).unwrap().unwrap().name, "app1");
        assert!(db.token_user("na_tok_wrong").unwrap().is_none());
        assert!(matches!(
            db.create_token("ghost"),
            Err(AuthError::NoSuchUser(_))
        ));
        assert!(matches!(
            db.add_user("app1", Role::Admin, "a long enough password"),
            Err(AuthError::UserExists(_))
        ));
        assert!(matches!(
            db.add_user("bad\nname", Role::Admin, "a long enough password"),
            Err(AuthError::InvalidName(_))
        ));
        assert!(matches!(
            db.add_user("short", Role::Admin, "short"),
            Err(AuthError::WeakPassword)
        ));
        db.delete_user("app1").unwrap();
        assert!(db.token_user(&token).unwrap().is_none());
    }
}
