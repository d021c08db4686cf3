//! `[[output.file]]`: the local audit file as a store consumer; with
//! `on_full = "stop"` a full audit storage stops the file (cursor kept), and
//! the alert event is stored and forwarded by a syslog output to rsyslog;
//! freeing space resumes writing where it stopped.

use std::time::{Duration, Instant};

use crate::support::rsyslog::*;
use crate::support::*;

#[test]
fn full_audit_storage_stops_alerts_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let rsyslog_port = free_tcp_port();
    let rsyslog = Rsyslog::start(&dir.path().join("rsyslog"), rsyslog_port, RsyslogMode::Tcp);
    let listen = free_tcp_port();
    let audit_dir = dir.path().join("audit");
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{listen}\"\n\n\
         [[output.syslog]]\nname = \"rs\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:{rsyslog_port}\"\n\
         format = \"structured\"\ncodes = [\"NETAUDIT_*\"]\n\n\
         [[output.file]]\nname = \"audit\"\ndir = \"{}\"\nmax_file_bytes = 4096\narchives = 1\n\
         max_total_bytes = 8192\non_full = \"stop\"\nformat = \"standard\"\n",
        audit_dir.display()
    );
    let server = Netaudit::start(dir.path(), &config_text(dir.path(), free_tcp_port(), &rest));
    const N: u64 = 400;
    send_octet_counted(listen, (1..=N).map(junos_line));
    server.wait_metric(
        "netaudit_output_storage_full_total{output=\"audit\"}",
        1,
        Duration::from_secs(30),
    );
    // The alert is stored (after the N events) and forwarded to rsyslog.
    let alert = rsyslog.wait_lines(1, Duration::from_secs(30));
    assert_eq!(alert.len(), 1, "only the alert passes the code filter");
    assert!(
        alert[0].contains("NETAUDIT_AUDIT_STORAGE_FULL"),
        "{}",
        alert[0]
    );
    assert!(
        alert[0].starts_with("<145>1 "),
        "local2.alert: {}",
        alert[0]
    );
    let stored = stored_events(&server.db);
    assert_eq!(stored.len() as u64, N + 1);
    assert_eq!(
        stored.last().and_then(|e| e.code.as_deref()),
        Some("NETAUDIT_AUDIT_STORAGE_FULL")
    );

    // What is in the files is a prefix of the events, in order, each once;
    // the cursor says exactly how far.
    let read_family = || {
        let mut lines = Vec::new();
        for name in ["audit.0", "audit"] {
            let text = std::fs::read_to_string(audit_dir.join(name)).unwrap_or_default();
            lines.extend(text.lines().map(str::to_owned));
        }
        lines
    };
    let lines = read_family();
    let written = lines.len() as u64;
    assert!(written > 0 && written < N, "{written} lines written");
    for (i, line) in lines.iter().enumerate() {
        assert!(
            line.ends_with(&format!("session created {}", i + 1)),
            "line {i}: {line}"
        );
        assert!(!line.starts_with('<'), "files have no PRI: {line}");
    }
    let metrics = server.metrics();
    assert_eq!(
        metric_value(&metrics, "netaudit_output_cursor_seq{output=\"audit\"}"),
        written
    );

    // The operator moves the archive away: writing resumes from the cursor.
    std::fs::remove_file(audit_dir.join("audit.0")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.metric("netaudit_output_cursor_seq{output=\"audit\"}") <= written {
        assert!(
            Instant::now() < deadline,
            "writing did not resume:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let cursor = server.metric("netaudit_output_cursor_seq{output=\"audit\"}");
    let resumed: Vec<String> = read_family();
    let first_new = resumed
        .iter()
        .position(|l| l.ends_with(&format!("session created {}", written + 1)))
        .expect("the first unwritten event comes next");
    let expected_last = cursor.min(N);
    assert!(resumed[first_new..]
        .iter()
        .zip(written + 1..=expected_last)
        .all(|(l, i)| l.ends_with(&format!("session created {i}"))));
}
