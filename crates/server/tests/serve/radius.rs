//! `netaudit serve` with an `[[output.radius]]`: JUNOScope events that arrive
//! over the TCP syslog listener are stored, mapped to accounting records and
//! acknowledged by a real FreeRADIUS, and the output's counters show in
//! `/metrics`.

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::radius::{free_udp_port, value, FreeRadius};
use crate::support::*;

const SECRET: &str = "netaudit-serve-secret-0042";

/// One structured JUNOScope line, rendered by `netaudit format` itself.
fn junoscope_line(code: &str, vars: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_netaudit"));
    command.args([
        "format",
        "--code",
        code,
        "--structured",
        "--host",
        "js1",
        "--app",
        "junoscope8080",
    ]);
    for var in vars {
        command.args(["--var", var]);
    }
    run_ok(&mut command).trim_end().to_owned()
}

#[test]
fn catalog_events_received_over_tcp_reach_freeradius_with_one_session_id() {
    let dir = tempfile::tempdir().unwrap();
    let radius = FreeRadius::start(&dir.path().join("raddb"), free_udp_port(), SECRET);
    let secret_path = dir.path().join("radius.secret");
    std::fs::write(&secret_path, format!("{SECRET}\n")).unwrap();
    let tcp = free_tcp_port();
    let rest = format!(
        "[[listener]]\nname = \"tcp\"\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\n\n\
         [[output.radius]]\nname = \"aaa\"\nservers = [\"{}\"]\nsecret_file = \"{}\"\n\
         nas_identifier = \"netaudit-test\"\ntimeout_ms = 500\n",
        radius.address(),
        secret_path.display()
    );
    let server = Netaudit::start(dir.path(), &config_text(dir.path(), free_tcp_port(), &rest));

    let lines = [
        junoscope_line(
            "JUNOSCOPE_LOGIN_SUCCESSFUL",
            &["username=alice", "client-address=192.0.2.7"],
        ),
        junoscope_line(
            "JUNOSCOPE_USER_CREATED",
            &["new-user=bob", "username=alice", "client-address=192.0.2.7"],
        ),
        junoscope_line(
            "JUNOSCOPE_LOGOUT",
            &["username=alice", "client-address=192.0.2.7"],
        ),
    ];
    let mut stream = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    for line in &lines {
        stream.write_all(line.as_bytes()).unwrap();
        stream.write_all(b"\n").unwrap();
    }
    stream.flush().unwrap();
    drop(stream);

    let records = radius.wait_for_records(3, Duration::from_secs(20));
    assert_eq!(records.len(), 3, "{records:?}\n{}", server.log());
    let status: Vec<_> = records
        .iter()
        .map(|r| value(r, "Acct-Status-Type").unwrap_or("?"))
        .collect();
    assert_eq!(status, ["Start", "Interim-Update", "Stop"], "{records:?}");
    for record in &records {
        assert_eq!(value(record, "User-Name"), Some("alice"), "{record:?}");
        assert_eq!(
            value(record, "Calling-Station-Id"),
            Some("192.0.2.7"),
            "{record:?}"
        );
        assert_eq!(
            value(record, "NAS-Identifier"),
            Some("netaudit-test"),
            "{record:?}"
        );
    }
    let session = value(&records[0], "Acct-Session-Id");
    assert!(session.is_some(), "{:?}", records[0]);
    assert_eq!(value(&records[2], "Acct-Session-Id"), session);
    // FreeRADIUS decoded the vendor attributes by name with the shipped dictionary.
    assert_eq!(
        value(&records[1], "Juniper-JUNOScope-Privileged-Command"),
        Some("USER_CREATED"),
        "{:?}",
        records[1]
    );
    assert_eq!(
        value(&records[1], "Juniper-JUNOScope-Target"),
        Some("bob"),
        "{:?}",
        records[1]
    );

    // The durable cursor caught up, and the RADIUS counters are exported.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = server.metrics();
        let acknowledged = metric_value(
            &metrics,
            "netaudit_radius_acknowledged_total{output=\"aaa\"}",
        );
        let lag = metric_value(&metrics, "netaudit_output_lag_events{output=\"aaa\"}");
        if acknowledged >= 3 && lag == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "acknowledged={acknowledged} lag={lag}\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let metrics = server.metrics();
    assert_eq!(
        metrics
            .matches("# TYPE netaudit_radius_acknowledged_total ")
            .count(),
        1,
        "{metrics}"
    );
}

#[test]
fn check_config_rejects_a_radius_output_without_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[[output.radius]]\nname = \"aaa\"\nservers = [\"127.0.0.1:1813\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("check-config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("output.radius[0]"), "{stderr}");
    assert!(stderr.contains("secret"), "{stderr}");
}
