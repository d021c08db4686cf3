//! The API called in-process: `netaudit::api::LocalApi` on a private
//! configuration in a temporary directory, its router called with
//! `tower::ServiceExt::oneshot` (client address 127.0.0.1 through
//! `MockConnectInfo`), users made with the built `netaudit user`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Request};
use axum::Router;
use http_body_util::BodyExt as _;
use netaudit::api::LocalApi;
use serde_json::{json, Value};
use tower::ServiceExt as _;

use crate::support::stored_events;

pub const PASSWORD: &str = "correct horse battery staple";

/// The address every in-process request comes from.
pub const CLIENT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40_000);

/// A response: status, headers (lower-case names) and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The request as the HTTP client of the socket tests sends it.
pub fn build(method: &str, path: &str, auth: Option<&str>, body: Option<&[u8]>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = auth {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(body) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_vec())
        }
        None => Body::empty(),
    };
    builder.body(body).expect("a valid request")
}

/// One request through the router; the whole body collected.
pub async fn request(
    router: &Router,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&[u8]>,
) -> Reply {
    let response = router
        .clone()
        .oneshot(build(method, path, auth, body))
        .await
        .expect("the router is infallible");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).to_string(),
            )
        })
        .collect();
    let bytes = tokio::time::timeout(Duration::from_secs(60), response.into_body().collect())
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no complete body within 60 s"))
        .unwrap_or_else(|e| panic!("{method} {path}: body failed: {e}"))
        .to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).to_string(),
    }
}

pub async fn post(router: &Router, path: &str, auth: Option<&str>, body: &Value) -> Reply {
    request(
        router,
        "POST",
        path,
        auth,
        Some(body.to_string().as_bytes()),
    )
    .await
}

/// `netaudit user ARGS...` on the configuration at `config`.
pub fn user_cli(config: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("user")
        .arg("-c")
        .arg(config)
        .args(args)
        .output()
        .expect("run netaudit user");
    assert!(
        output.status.success(),
        "netaudit user {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The API with an admin, an auditor and a reporter (with an API token).
pub struct Fixture {
    /// Holds the configuration, the store and the auth database.
    _dir: tempfile::TempDir,
    pub db: PathBuf,
    pub router: Router,
    pub token: String,
    api: Option<LocalApi>,
}

impl Fixture {
    /// `[api]` with 3 login attempts and a 60 s access window, plus
    /// `extra` (more `[api]` keys).
    pub async fn start(extra: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("netaudit.db");
        let config_path = dir.path().join("netaudit.toml");
        let config = format!(
            "[store]\npath = \"{}\"\nsynchronous = \"normal\"\n\n[api]\nmax_login_attempts = 3\naccess_window_secs = 60\n{extra}",
            db.display()
        );
        std::fs::write(&config_path, config).expect("write config");
        let users = config_path.clone();
        let dir_path = dir.path().to_owned();
        let token = tokio::task::spawn_blocking(move || {
            for (name, role) in [
                ("root-admin", "admin"),
                ("alice", "auditor"),
                ("app1", "reporter"),
            ] {
                let file = dir_path.join(format!("{name}.pw"));
                std::fs::write(&file, format!("{PASSWORD}\n")).expect("write password file");
                user_cli(
                    &users,
                    &[
                        "add",
                        name,
                        "--role",
                        role,
                        "--password-file",
                        file.to_str().expect("utf-8 path"),
                    ],
                );
            }
            user_cli(&users, &["token", "app1"])
        })
        .await
        .expect("netaudit user");
        assert!(token.starts_with("na_tok_"), "{token}");
        let api = LocalApi::open(&config_path).expect("open the API");
        let router = api.router().layer(MockConnectInfo(CLIENT));
        Fixture {
            _dir: dir,
            db,
            router,
            token,
            api: Some(api),
        }
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<&[u8]>,
    ) -> Reply {
        request(&self.router, method, path, auth, body).await
    }

    pub async fn post(&self, path: &str, auth: Option<&str>, body: &Value) -> Reply {
        post(&self.router, path, auth, body).await
    }

    /// Logs in with the fixture's password; returns the session token.
    pub async fn login(&self, name: &str) -> String {
        let reply = self
            .post(
                "/api/v1/login",
                None,
                &json!({"username": name, "password": PASSWORD}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let cookie = reply.header("set-cookie").expect("session cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("Secure"),
            "{cookie}"
        );
        reply.json()["token"].as_str().expect("token").to_string()
    }

    pub fn events_with_code(&self, code: &str) -> Vec<netaudit_event::Event> {
        events_with_code(&self.db, code)
    }

    /// Stops the store writer after its last commit.
    pub async fn close(mut self) {
        if let Some(api) = self.api.take() {
            api.close().await.expect("close the API");
        }
    }
}

pub fn events_with_code(db: &Path, code: &str) -> Vec<netaudit_event::Event> {
    stored_events(db)
        .into_iter()
        .filter(|e| e.code.as_deref() == Some(code))
        .collect()
}

pub fn archive_success(device: &str) -> Value {
    json!({
        "code": "JUNOSCOPE_ARCHIVE_SUCCESS",
        "variables": {
            "device-name": device, "revision": "42", "operation-name": "archive edge routers",
            "operation-type": "archive", "username": "ops", "start-time": "2026-11-23 10:00:00",
            "last-updated-time": "2026-11-23 10:01:00"
        }
    })
}
