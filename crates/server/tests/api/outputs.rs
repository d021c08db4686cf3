//! Output changes over real HTTP: an administrator edits the configuration
//! file and calls `POST /api/v1/outputs/reload`; every added, changed or
//! removed RADIUS server and syslog destination is a stored event carrying
//! the administrator and their client address. SIGHUP does the same with
//! the actor `local-signal` from `local`. `GET /api/v1/policies` lists the
//! event policies, built-ins included, without their secrets.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{config_text, free_port, free_tcp_port, stored_events, Netaudit};
use netaudit_event::Event;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";

/// One HTTP/1.1 exchange (Connection: close): status and body.
fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(token) = auth {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(head.as_bytes()).expect("write request");
    let mut raw = String::new();
    let _ = stream.read_to_string(&mut raw);
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {raw:?}"));
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "unexpected chunked answer: {head}"
    );
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    (status, body.to_string())
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn add_user(server: &Netaudit, name: &str, role: &str) {
    let file = server.dir.join(format!("{name}.pw"));
    std::fs::write(&file, format!("{PASSWORD}\n")).expect("write password file");
    let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("user")
        .arg("-c")
        .arg(&server.config_path)
        .args(["add", name, "--role", role, "--password-file"])
        .arg(&file)
        .output()
        .expect("run netaudit user add");
    assert!(
        output.status.success(),
        "netaudit user add {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn login(server: &Netaudit, name: &str) -> String {
    let body = json!({"username": name, "password": PASSWORD}).to_string();
    let (status, reply) = request(server.http, "POST", "/api/v1/login", None, &body);
    assert_eq!(status, 200, "{reply}");
    parse(&reply)["token"].as_str().expect("token").to_string()
}

fn reload(server: &Netaudit, token: Option<&str>) -> (u16, Value) {
    let (status, body) = request(server.http, "POST", "/api/v1/outputs/reload", token, "");
    (status, parse(&body))
}

fn with_code<'a>(events: &'a [Event], code: &str) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| e.code.as_deref() == Some(code))
        .collect()
}

fn entries(summary: &Value, what: &str) -> Vec<(String, String)> {
    summary[what]
        .as_array()
        .unwrap_or_else(|| panic!("no {what} in {summary}"))
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_string(),
                e["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pair(kind: &str, name: &str) -> (String, String) {
    (kind.to_string(), name.to_string())
}

#[test]
fn admin_reload_audits_output_changes_with_the_admin_and_client_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = config_text(
        dir.path(),
        free_tcp_port(),
        &format!(
            "[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{}\"\n\n",
            free_port()
        ),
    );
    let server = Netaudit::start(dir.path(), &base);
    add_user(&server, "root-admin", "admin");
    add_user(&server, "alice", "auditor");
    let admin = login(&server, "root-admin");
    let auditor = login(&server, "alice");

    let secret = dir.path().join("radius.secret");
    std::fs::write(&secret, "0123456789abcdefghij\n").expect("write secret");
    let syslog_port = free_port();
    let syslog = format!(
        "[[output.syslog]]\nname = \"siem\"\ntransport = \"udp\"\naddress = \"127.0.0.1:{syslog_port}\"\n\n"
    );
    let radius = |port: u16| {
        format!(
            "[[output.radius]]\nname = \"aaa\"\nservers = [\"127.0.0.1:{port}\"]\nsecret_file = \"{}\"\n\n",
            secret.display()
        )
    };
    let first_radius = free_port();

    // Added.
    std::fs::write(
        &server.config_path,
        format!("{base}{syslog}{}", radius(first_radius)),
    )
    .expect("edit config");
    let (status, summary) = reload(&server, Some(&admin));
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        entries(&summary, "added"),
        [pair("syslog", "siem"), pair("radius", "aaa")]
    );
    assert!(entries(&summary, "changed").is_empty() && entries(&summary, "removed").is_empty());
    assert_eq!(
        summary["events"].as_array().map(Vec::len),
        Some(2),
        "{summary}"
    );
    let events = stored_events(&server.db);
    let added = with_code(&events, "NETAUDIT_SYSLOG_DEST_ADDED");
    assert_eq!(added.len(), 1, "{events:?}");
    assert_eq!(added[0].user.as_deref(), Some("root-admin"));
    assert_eq!(added[0].client_addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(added[0].param("name"), Some("siem"));
    assert_eq!(added[0].param("transport"), Some("udp"));
    let address = format!("127.0.0.1:{syslog_port}");
    assert_eq!(added[0].param("address"), Some(address.as_str()));
    let radius_added = with_code(&events, "JUNOSCOPE_RADIUS_CONFIG_ADDED");
    assert_eq!(radius_added.len(), 1, "{events:?}");
    let first_address = format!("127.0.0.1:{first_radius}");
    assert_eq!(
        radius_added[0].param("radius-server-address"),
        Some(first_address.as_str())
    );
    assert_eq!(radius_added[0].user.as_deref(), Some("root-admin"));
    assert_eq!(radius_added[0].client_addr.as_deref(), Some("127.0.0.1"));

    // The listing (auditor): kinds, addresses, cursors; no secret anywhere.
    let (status, body) = request(server.http, "GET", "/api/v1/outputs", Some(&auditor), "");
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains("secret") && !body.contains("0123456789"),
        "{body}"
    );
    let listing = parse(&body);
    let outputs = listing["outputs"].as_array().expect("outputs");
    assert_eq!(outputs.len(), 2, "{body}");
    assert_eq!(outputs[0]["kind"], "syslog");
    assert_eq!(outputs[0]["address"], address.as_str());
    assert_eq!(outputs[1]["kind"], "radius");
    assert_eq!(outputs[1]["servers"], json!([first_address]));
    assert!(
        outputs[1]["lag"].is_u64() && outputs[1]["cursor"].is_u64(),
        "{body}"
    );

    // A RADIUS table moved to another address: DELETED (old) + ADDED (new).
    let second_radius = free_port();
    std::fs::write(
        &server.config_path,
        format!("{base}{syslog}{}", radius(second_radius)),
    )
    .expect("edit config");
    let (status, summary) = reload(&server, Some(&admin));
    assert_eq!(status, 200, "{summary}");
    assert_eq!(entries(&summary, "changed"), [pair("radius", "aaa")]);
    let events = stored_events(&server.db);
    let deleted = with_code(&events, "JUNOSCOPE_RADIUS_CONFIG_DELETED");
    assert_eq!(deleted.len(), 1, "{events:?}");
    assert_eq!(
        deleted[0].param("radius-server-address"),
        Some(first_address.as_str())
    );
    assert_eq!(deleted[0].user.as_deref(), Some("root-admin"));
    let second_address = format!("127.0.0.1:{second_radius}");
    let radius_added = with_code(&events, "JUNOSCOPE_RADIUS_CONFIG_ADDED");
    assert_eq!(radius_added.len(), 2, "{events:?}");
    assert_eq!(
        radius_added[1].param("radius-server-address"),
        Some(second_address.as_str())
    );
    assert!(with_code(&events, "JUNOSCOPE_RADIUS_CONFIG_CHANGED").is_empty());

    // A rejected file: 400 naming the key, no event, the outputs still run.
    std::fs::write(
        &server.config_path,
        format!(
            "{base}{}{}",
            syslog.replace("\"udp\"", "\"carrier-pigeon\""),
            radius(second_radius)
        ),
    )
    .expect("edit config");
    // Counted without `netaudit user`'s own audit events, which the server
    // moves into the store on its own schedule.
    let not_cli = |events: Vec<Event>| {
        events
            .into_iter()
            .filter(|e| e.app.as_deref() != Some("netaudit-cli"))
            .count()
    };
    let before = not_cli(stored_events(&server.db));
    let (status, error) = reload(&server, Some(&admin));
    assert_eq!(status, 400, "{error}");
    let message = error["error"].as_str().expect("error message");
    assert!(message.contains("output.syslog[0].transport"), "{message}");
    let (status, body) = request(server.http, "GET", "/api/v1/outputs", Some(&admin), "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        parse(&body)["outputs"].as_array().map(Vec::len),
        Some(2),
        "{body}"
    );

    // Only an administrator may reload; without a token: 401.
    let (status, error) = reload(&server, Some(&auditor));
    assert_eq!(status, 403, "{error}");
    let (status, error) = reload(&server, None);
    assert_eq!(status, 401, "{error}");
    assert_eq!(
        not_cli(stored_events(&server.db)),
        before,
        "refused reloads stored events"
    );

    // Removed: one DELETED per destination and per RADIUS server.
    std::fs::write(&server.config_path, &base).expect("edit config");
    let (status, summary) = reload(&server, Some(&admin));
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        entries(&summary, "removed"),
        [pair("syslog", "siem"), pair("radius", "aaa")]
    );
    let events = stored_events(&server.db);
    let gone = with_code(&events, "NETAUDIT_SYSLOG_DEST_DELETED");
    assert_eq!(gone.len(), 1, "{events:?}");
    assert_eq!(gone[0].user.as_deref(), Some("root-admin"));
    let deleted = with_code(&events, "JUNOSCOPE_RADIUS_CONFIG_DELETED");
    assert_eq!(deleted.len(), 2, "{events:?}");
    assert_eq!(
        deleted[1].param("radius-server-address"),
        Some(second_address.as_str())
    );
    let (_, body) = request(server.http, "GET", "/api/v1/outputs", Some(&admin), "");
    assert_eq!(parse(&body)["outputs"], json!([]));

    // SIGHUP: the same events, actor local-signal from local.
    std::fs::write(&server.config_path, format!("{base}{syslog}")).expect("edit config");
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(20);
    let by_signal = loop {
        let events = stored_events(&server.db);
        let added: Vec<Event> = with_code(&events, "NETAUDIT_SYSLOG_DEST_ADDED")
            .into_iter()
            .cloned()
            .collect();
        if added.len() == 2 {
            break added;
        }
        assert!(
            Instant::now() < deadline,
            "no SIGHUP event:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(by_signal[1].user.as_deref(), Some("local-signal"));
    assert_eq!(by_signal[1].client_addr.as_deref(), Some("local"));
}

#[test]
fn policies_are_listed_for_auditors_without_their_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("hook.secret");
    std::fs::write(&secret, "s3cret\n").expect("write secret");
    let policies = format!(
        "[[policy]]\nname = \"hook\"\n[policy.match]\ncodes = [\"UI_COMMIT\"]\n[policy.count]\nthreshold = 2\nwindow_secs = 60\n[[policy.action]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/private-path\"\nsecret_file = \"{}\"\n",
        secret.display()
    );
    let config = config_text(dir.path(), free_tcp_port(), &policies).replace(
        "[builtin_policies]\nenabled = false\n",
        "[builtin_policies]\nsilent_host = false\n",
    );
    let server = Netaudit::start(dir.path(), &config);
    add_user(&server, "alice", "auditor");
    add_user(&server, "rep", "reporter");
    let auditor = login(&server, "alice");
    let reporter = login(&server, "rep");
    let (status, body) = request(server.http, "GET", "/api/v1/policies", Some(&auditor), "");
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains("private-path") && !body.contains("hook.secret"),
        "{body}"
    );
    let listed = parse(&body);
    let policies = listed["policies"].as_array().expect("policies");
    let hook = policies
        .iter()
        .find(|p| p["name"] == "hook")
        .expect("hook listed");
    assert_eq!(hook["correlation"], "count");
    assert_eq!(hook["actions"], json!(["webhook"]));
    assert_eq!(hook["cursor_name"], "policy:hook");
    assert_eq!(hook["builtin"], false);
    let silent = policies
        .iter()
        .find(|p| p["name"] == "ndcpp-silent-host")
        .expect("built-in listed");
    assert_eq!(
        (silent["builtin"].clone(), silent["enabled"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(policies.len(), 7);
    let (status, _) = request(server.http, "GET", "/api/v1/policies", Some(&reporter), "");
    assert_eq!(status, 403);
    let (status, _) = request(server.http, "GET", "/api/v1/policies", None, "");
    assert_eq!(status, 401);
}
