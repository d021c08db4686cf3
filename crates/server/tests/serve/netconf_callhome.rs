//! `[[input.netconf_callhome]]` through `netaudit serve`: the device side
//! is `tests/support/callhome_device.py`, which connects to the call-home
//! port, sends the Junos outbound-ssh header (or nothing, RFC 8071) and
//! hands the socket to OpenSSH's `sshd -i` with the private configuration
//! of `support/sshd.rs`, whose `Subsystem netconf` is the Junos simulator.
//! Lines stored with the device's name; an unknown device id, a wrong HMAC,
//! a garbage, oversize or stalled header and an unknown host key refused
//! with an event while another device's session streams on; a device that
//! connects again replaces its session.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use netaudit_event::Event;

use crate::netconf::{
    add_auditor, channel_events, device, lines_of, netaudit, param, seed_lines, wait_stored,
    write_config,
};
use crate::support::sshd::Sshd;
use crate::support::*;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/callhome_device.py")
}

/// The device side, connecting to `port` with `args`.
fn connect(port: u16, args: &[&str]) -> ChildGuard {
    ChildGuard(
        Command::new("/usr/bin/python3")
            .arg(script())
            .args(["--port", &port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .expect("run the call-home device script"),
    )
}

/// A connection that sends `raw` and waits until netaudit closes it.
fn send_raw(port: u16, raw: &str) {
    let mut device = connect(port, &["--raw", raw]);
    let status = device.0.wait().unwrap();
    assert!(status.success(), "{raw:?}: {status}");
}

/// The `TYPE BASE64` of the sshd's host key.
fn host_key(sshd_dir: &Path) -> String {
    let text = std::fs::read_to_string(sshd_dir.join("host_key.pub")).unwrap();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn failures<'e>(events: &'e [Event], device: &str, stage: &str) -> Vec<&'e Event> {
    channel_events(events, "NETAUDIT_NETCONF_FAILED", device)
        .into_iter()
        .filter(|e| param(e, "stage") == Some(stage))
        .collect()
}

#[test]
fn outbound_ssh_devices_are_identified_and_refusals_leave_others_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let sshd_dir = dir.path().join("sshd");
    let sshd: Sshd = device(&sshd_dir, "normal");
    let secret = dir.path().join("r2.secret");
    std::fs::write(&secret, "s3cret of r2\n").unwrap();
    let wrong_secret = dir.path().join("wrong.secret");
    std::fs::write(&wrong_secret, "not the secret\n").unwrap();
    let port = free_tcp_port();
    let tables = format!(
        "[[input.netconf_callhome]]\nname = \"callhome\"\naddress = \"127.0.0.1:{port}\"\nheader_timeout = \"2s\"\n\n\
         [[input.netconf_callhome.device]]\nname = \"r1\"\nuser = \"root\"\nprivate_key = \"{key}\"\nhost_key = \"{host_key}\"\n\n\
         [[input.netconf_callhome.device]]\nname = \"r2\"\ndevice_id = \"r2.example\"\nuser = \"root\"\nprivate_key = \"{key}\"\n\
         secret_file = \"{secret}\"\nmode = \"create-subscription\"\n",
        key = sshd.client_key.display(),
        host_key = host_key(&sshd_dir),
        secret = secret.display(),
    );
    let config = write_config(dir.path(), &tables);
    add_auditor(dir.path(), &config);
    let server = Netaudit::start_with(dir.path(), &config);
    let sshd_config = sshd.config.to_str().unwrap().to_string();
    let host_key_file = sshd_dir.join("host_key.pub");
    let host_key_file = host_key_file.to_str().unwrap();
    let expected = seed_lines();

    let _r1 = connect(port, &["--sshd-config", &sshd_config, "--device-id", "r1"]);
    wait_stored(&server, "every line from r1", |events| {
        lines_of(events, "r1").len() >= expected.len()
    });

    // Bad connections while r1 streams.
    send_raw(port, "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n");
    send_raw(port, &format!("MSG-ID: {}\\r\\n", "A".repeat(5000)));
    send_raw(port, ""); // says nothing: header_timeout
    let mut unknown = connect(
        port,
        &["--sshd-config", &sshd_config, "--device-id", "nobody"],
    );
    let mut wrong_hmac = connect(
        port,
        &[
            "--sshd-config",
            &sshd_config,
            "--device-id",
            "r2.example",
            "--host-key",
            host_key_file,
            "--secret-file",
            wrong_secret.to_str().unwrap(),
        ],
    );
    let events = wait_stored(&server, "the refusals", |events| {
        failures(events, "-", "call-home-header").len() >= 3
            && !failures(events, "nobody", "call-home-identity").is_empty()
            && !failures(events, "r2", "call-home-identity").is_empty()
    });
    let header_reasons: Vec<&str> = failures(&events, "-", "call-home-header")
        .iter()
        .map(|e| param(e, "reason").unwrap())
        .collect();
    assert!(
        header_reasons.iter().any(|r| r.contains("MSG-ID")),
        "{header_reasons:?}"
    );
    assert!(
        header_reasons.iter().any(|r| r.contains("longer than")),
        "{header_reasons:?}"
    );
    assert!(
        header_reasons.iter().any(|r| r.contains("timed out")),
        "{header_reasons:?}"
    );
    for e in failures(&events, "-", "call-home-header") {
        assert!(param(e, "peer").unwrap().starts_with("127.0.0.1:"), "{e:?}");
    }
    let reason = param(
        failures(&events, "nobody", "call-home-identity")[0],
        "reason",
    )
    .unwrap();
    assert!(reason.contains("\"nobody\" is not a device"), "{reason}");
    let reason = param(failures(&events, "r2", "call-home-identity")[0], "reason").unwrap();
    assert!(reason.contains("HMAC"), "{reason}");
    // The refused devices' sshd ends when netaudit closes the socket.
    let _ = unknown.0.wait();
    let _ = wrong_hmac.0.wait();
    assert!(lines_of(&events, "r2").is_empty());

    // r2 with its secret: the key its header announces is trusted.
    let _r2 = connect(
        port,
        &[
            "--sshd-config",
            &sshd_config,
            "--device-id",
            "r2.example",
            "--host-key",
            host_key_file,
            "--secret-file",
            secret.to_str().unwrap(),
        ],
    );
    let events = wait_stored(&server, "every line from r2", |events| {
        lines_of(events, "r2").len() >= expected.len()
    });
    assert_eq!(lines_of(&events, "r2"), expected);
    // r1 streamed on through all of it.
    assert_eq!(lines_of(&events, "r1"), expected);
    assert!(channel_events(&events, "NETAUDIT_NETCONF_TERMINATED", "r1").is_empty());
    let established = channel_events(&events, "NETAUDIT_NETCONF_ESTABLISHED", "r1");
    assert_eq!(established.len(), 1);
    assert!(param(established[0], "peer")
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert!(param(established[0], "host-key")
        .unwrap()
        .starts_with("SHA256:"));
    let metrics = server.metrics();
    assert!(
        metrics.contains("netaudit_netconf_connected{device=\"r1\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "netaudit_netconf_callhome_connections_total{listener=\"callhome\",result=\"accepted\"} 2"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "netaudit_netconf_callhome_connections_total{listener=\"callhome\",result=\"refused\"} 5"
        ),
        "{metrics}"
    );

    // r1 connects again: its old session is replaced.
    let _r1_again = connect(port, &["--sshd-config", &sshd_config, "--device-id", "r1"]);
    let events = wait_stored(&server, "r1's second session", |events| {
        lines_of(events, "r1").len() >= 2 * expected.len()
    });
    let ended = channel_events(&events, "NETAUDIT_NETCONF_TERMINATED", "r1");
    assert_eq!(ended.len(), 1);
    assert_eq!(
        param(ended[0], "reason"),
        Some("replaced by a new connection from the device")
    );

    // The status in the API, for an auditor.
    let (status, body) = http_request(
        server.http,
        "POST",
        "/api/v1/login",
        None,
        r#"{"username":"auditor1","password":"correct horse battery staple"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (status, body) = http_request(
        server.http,
        "GET",
        "/api/v1/inputs/netconf",
        token["token"].as_str(),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let r1 = &answer["devices"][0];
    assert_eq!(r1["device"], "r1", "{body}");
    assert_eq!(r1["connected"], true, "{body}");
    assert_eq!(r1["sessions"], 2, "{body}");
    assert!(
        r1["peer"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{body}"
    );
    assert_eq!(answer["devices"][1]["failures"], 1, "{body}");
}

#[test]
fn rfc8071_devices_are_named_by_their_host_key() {
    let dir = tempfile::tempdir().unwrap();
    let sshd_dir = dir.path().join("sshd");
    let sshd: Sshd = device(&sshd_dir, "normal");
    // The same sshd with another host key: a device no one configured.
    let stranger = dir.path().join("stranger_sshd_config");
    let text = std::fs::read_to_string(&sshd.config).unwrap();
    let host_key_line = format!("HostKey {}", sshd_dir.join("host_key").display());
    assert!(text.contains(&host_key_line));
    std::fs::write(
        &stranger,
        text.replace(
            &host_key_line,
            &format!("HostKey {}", sshd_dir.join("other_host_key").display()),
        ),
    )
    .unwrap();
    let port = free_tcp_port();
    let tables = format!(
        "[[input.netconf_callhome]]\nname = \"callhome\"\naddress = \"127.0.0.1:{port}\"\nprotocol = \"rfc8071\"\nmax_pending = 1\n\n\
         [[input.netconf_callhome.device]]\nname = \"r3\"\nuser = \"root\"\nprivate_key = \"{key}\"\nhost_key = \"{host_key}\"\n",
        key = sshd.client_key.display(),
        host_key = host_key(&sshd_dir),
    );
    let config = write_config(dir.path(), &tables);
    let (ok, out) = netaudit(&[
        "netconf",
        "test",
        "-c",
        config.to_str().unwrap(),
        "--device",
        "r3",
    ]);
    assert!(
        !ok && out.contains("[[input.netconf_callhome]] \"callhome\""),
        "{out}"
    );
    let server = Netaudit::start_with(dir.path(), &config);

    // max_pending = 1: while one connection is being identified, another
    // is closed at once.
    let silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut second = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    second
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 64];
    // Closed without a byte (netaudit's SSH banner goes only to the first).
    assert_eq!(std::io::Read::read(&mut second, &mut buf).unwrap(), 0);
    server.wait_metric(
        "netaudit_netconf_callhome_connections_total{listener=\"callhome\",result=\"over-limit\"}",
        1,
        std::time::Duration::from_secs(30),
    );
    drop(silent);
    wait_stored(&server, "the silent connection refused", |events| {
        !failures(events, "-", "ssh-handshake").is_empty()
    });

    let mut unknown = connect(
        port,
        &[
            "--protocol",
            "rfc8071",
            "--sshd-config",
            stranger.to_str().unwrap(),
        ],
    );
    let events = wait_stored(&server, "the unknown host key refused", |events| {
        !failures(events, "-", "host-key").is_empty()
    });
    let reason = param(failures(&events, "-", "host-key")[0], "reason").unwrap();
    assert!(reason.contains("no configured device"), "{reason}");
    let _ = unknown.0.wait();
    let _r3 = connect(
        port,
        &[
            "--protocol",
            "rfc8071",
            "--sshd-config",
            sshd.config.to_str().unwrap(),
        ],
    );
    let expected = seed_lines();
    let events = wait_stored(&server, "every line from r3", |events| {
        lines_of(events, "r3").len() >= expected.len()
    });
    assert_eq!(lines_of(&events, "r3"), expected);
    let established = channel_events(&events, "NETAUDIT_NETCONF_ESTABLISHED", "r3");
    assert_eq!(established.len(), 1);
    assert_eq!(param(established[0], "user"), Some("root"));
}
