//! The SSH side of the exporter (russh server): password and public-key
//! authentication against netaudit's users (the lockout policy of the HTTP
//! login, the auditor role required), one session channel with the
//! `netconf` subsystem only, then the NETCONF session on it.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use russh::keys::HashAlg;
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId};

use super::authorized_keys::is_authorized;
use super::events::{self, Client};
use super::shared::Shared;
use crate::auth::{LoginOutcome, Role};

/// The SSH subsystem of NETCONF (RFC 6242 section 3).
pub(crate) const SUBSYSTEM: &str = "netconf";

/// One client connection.
pub(crate) struct ClientHandler {
    pub shared: Arc<Shared>,
    pub peer: String,
    /// Set once the NETCONF subsystem runs (the handshake timeout stops then).
    pub started: Arc<AtomicBool>,
    /// The authenticated user and how.
    user: Option<(String, &'static str)>,
    channel: Option<Channel<Msg>>,
}

impl ClientHandler {
    pub(crate) fn new(shared: Arc<Shared>, peer: String, started: Arc<AtomicBool>) -> Self {
        ClientHandler {
            shared,
            peer,
            started,
            user: None,
            channel: None,
        }
    }

    async fn refuse(&self, user: &str, method: &str, stage: &str, reason: &str) -> Auth {
        self.shared.metrics().auth_failures.fetch_add(1, Relaxed);
        tracing::warn!(peer = %self.peer, user = %netaudit_event::recorded_user_name(user), method, stage, reason, "NETCONF exporter: authentication refused");
        let client = Client {
            peer: &self.peer,
            user,
            method,
        };
        self.shared
            .record(events::failed(&client, stage, reason))
            .await;
        Auth::reject()
    }

    /// The user may log in by key: exists, not locked, auditor.
    async fn key_user_ok(&self, user: &str) -> Result<(), (&'static str, String)> {
        let name = user.to_string();
        let auth = self.shared.auth.clone();
        let found = tokio::task::spawn_blocking(move || auth.user(&name))
            .await
            .map_err(|e| ("authentication", format!("internal error: {e}")))?
            .map_err(|e| {
                tracing::error!(error = %e, "NETCONF exporter: cannot read the users database");
                (
                    "authentication",
                    "the users database cannot be read".to_string(),
                )
            })?;
        match found {
            None => Err(("authentication", "no such user".into())),
            Some(u) if u.locked => Err(("authentication", "User Account Locked".into())),
            Some(u) if u.role != Role::Auditor => {
                Err(("authorization", role_refusal(user, u.role)))
            }
            Some(_) => Ok(()),
        }
    }
}

fn role_refusal(user: &str, role: Role) -> String {
    format!("user {user} has the role {role}; the NETCONF server requires the auditor role")
}

impl russh::server::Handler for ClientHandler {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if !self.shared.config.password_auth {
            return Ok(self
                .refuse(
                    user,
                    "password",
                    "authentication",
                    "password authentication is off (netconf_server.password_auth)",
                )
                .await);
        }
        let outcome = self.shared.check_password(user, password).await;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(err) => {
                tracing::error!(error = %err, "NETCONF exporter: cannot check a password");
                return Ok(self
                    .refuse(
                        user,
                        "password",
                        "authentication",
                        "the users database cannot be read",
                    )
                    .await);
            }
        };
        match outcome {
            LoginOutcome::Accepted(account) if account.role != Role::Auditor => Ok(self
                .refuse(
                    user,
                    "password",
                    "authorization",
                    &role_refusal(user, account.role),
                )
                .await),
            LoginOutcome::Accepted(account) => {
                self.user = Some((account.name, "password"));
                Ok(Auth::Accept)
            }
            LoginOutcome::Refused {
                refusal,
                now_locked,
            } => {
                let auth = self
                    .refuse(user, "password", "authentication", refusal.reason())
                    .await;
                if now_locked {
                    self.shared.record_auto_lock(user, &self.peer).await;
                }
                Ok(auth)
            }
        }
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        let dir = self.shared.authorized_keys.clone();
        let name = user.to_string();
        let key = offer.public_key.clone();
        let listed = tokio::task::spawn_blocking(move || is_authorized(&dir, &name, &key))
            .await
            .unwrap_or(false);
        if listed {
            return Ok(Auth::Accept);
        }
        let reason = format!(
            "public key {} is not in the user's authorized keys",
            offer.public_key.fingerprint(HashAlg::Sha256)
        );
        Ok(self
            .refuse(user, "publickey", "authentication", &reason)
            .await)
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let dir = self.shared.authorized_keys.clone();
        let name = user.to_string();
        let public = key.public_key.clone();
        let listed = tokio::task::spawn_blocking(move || is_authorized(&dir, &name, &public))
            .await
            .unwrap_or(false);
        if !listed {
            return Ok(self
                .refuse(
                    user,
                    "publickey",
                    "authentication",
                    "the key is not authorized",
                )
                .await);
        }
        match self.key_user_ok(user).await {
            Ok(()) => {
                self.user = Some((user.to_string(), "publickey"));
                Ok(Auth::Accept)
            }
            Err((stage, reason)) => Ok(self.refuse(user, "publickey", stage, &reason).await),
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // One NETCONF session per SSH connection.
        if self.user.is_none() || self.channel.is_some() || self.started.load(Relaxed) {
            reply
                .reject(russh::ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        self.channel = Some(channel);
        reply.accept().await;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel_id: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let ours = self.channel.as_ref().is_some_and(|c| c.id() == channel_id);
        let Some((user, method)) = self.user.clone() else {
            session.channel_failure(channel_id)?;
            return Ok(());
        };
        if name != SUBSYSTEM || !ours {
            tracing::info!(peer = %self.peer, subsystem = name, "NETCONF exporter: subsystem refused (only netconf is served)");
            session.channel_failure(channel_id)?;
            return Ok(());
        }
        let slot = match self.shared.limits.acquire(&user) {
            Ok(slot) => slot,
            Err(reason) => {
                self.shared.metrics().refused_limit.fetch_add(1, Relaxed);
                let client = Client {
                    peer: &self.peer,
                    user: &user,
                    method,
                };
                self.shared
                    .record(events::failed(&client, "session-limit", &reason))
                    .await;
                session.channel_failure(channel_id)?;
                return Ok(());
            }
        };
        let Some(channel) = self.channel.take() else {
            session.channel_failure(channel_id)?;
            return Ok(());
        };
        session.channel_success(channel_id)?;
        self.started.store(true, Relaxed);
        let shared = self.shared.clone();
        let peer = self.peer.clone();
        let handle = session.handle();
        self.shared.tasks.spawn(async move {
            shared
                .run_session(channel.into_stream(), &peer, &user, method)
                .await;
            drop(slot);
            let _ = handle.close(channel_id).await;
        });
        Ok(())
    }
}
