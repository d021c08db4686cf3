//! The Outputs page's NETCONF devices over plain HTTP: one device streaming
//! through a private sshd running the Junos simulator
//! (`tests/support/junos_netconf.py`), one whose port nobody listens on;
//! the page shows each one's connection, events, reconnections and last
//! error as `/metrics` counts them.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::site::{exchange, sign_in_http, Site, AUDITOR};
use crate::support::sshd::Sshd;
use crate::support::{free_tcp_port, metric_value};

/// The row of `device` on the page (empty when it has none).
fn row<'p>(page: &'p str, device: &str) -> &'p str {
    page.split(&format!("<tr data-device=\"{device}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or("")
}

fn cell<'r>(row: &'r str, class: &str) -> &'r str {
    row.split(&format!("<td class=\"{class}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</td>").next())
        .unwrap_or("")
}

#[test]
fn the_outputs_page_shows_each_netconf_device_from_the_collectors_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lines = manifest.join("tests/data/netconf/seed003.log");
    let sshd = Sshd::start_with(
        dir.path(),
        &format!(
            "Subsystem netconf /usr/bin/python3 {} --lines {}\n",
            manifest.join("tests/support/junos_netconf.py").display(),
            lines.display()
        ),
    );
    let expected = std::fs::read_to_string(&lines)
        .expect("seed lines")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, &sshd.known_hosts_line).expect("known_hosts");
    let device = |name: &str, port: u16| {
        format!(
            "[[input.netconf]]\nname = \"{name}\"\naddress = \"127.0.0.1\"\nport = {port}\nuser = \"root\"\n\
             private_key = \"{}\"\nknown_hosts = \"{}\"\nreconnect_min = \"1s\"\nreconnect_max = \"2s\"\n\n",
            sshd.client_key.display(),
            known_hosts.display()
        )
    };
    // Nothing listens on the second device's port.
    let tables = device("r1", sshd.port) + &device("down", free_tcp_port());
    let site = Site::start_with_config("", &tables);
    let a = site.server.http;
    let auditor = sign_in_http(a, AUDITOR);

    let deadline = Instant::now() + Duration::from_secs(60);
    let page = loop {
        let (status, _, page) = exchange(a, "GET", "/outputs", &auditor, b"");
        assert_eq!(status, 200, "{page}");
        let failures: u64 = cell(row(&page, "down"), "failures").parse().unwrap_or(0);
        let received = cell(row(&page, "r1"), "events-received");
        if received == expected.to_string() && failures >= 2 {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "the devices' status not on the page in 60 s:\n{page}\nlog:\n{}",
            site.server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(page.contains("<h2>NETCONF devices</h2>"), "{page}");
    let r1 = row(&page, "r1");
    assert!(r1.contains("<span class=\"badge ok\">yes</span>"), "{r1}");
    assert!(
        r1.contains(&format!("<td>127.0.0.1:{}</td>", sshd.port)),
        "{r1}"
    );
    assert!(r1.contains("base:1.1 (chunked framing)"), "{r1}");
    assert_eq!(cell(r1, "reconnects"), "0");
    assert_eq!(cell(r1, "last-error"), "");
    assert!(!r1.contains("none yet"), "a last event time: {r1}");
    let down = row(&page, "down");
    assert!(
        down.contains("<span class=\"badge locked\">no</span>"),
        "{down}"
    );
    assert!(down.contains("none yet"), "{down}");
    assert!(
        cell(down, "last-error").starts_with("cannot connect"),
        "{down}"
    );
    // The same figures as /metrics.
    let metrics = site.server.metrics();
    assert_eq!(
        metric_value(
            &metrics,
            "netaudit_netconf_events_received_total{device=\"r1\"}"
        ),
        expected
    );
    assert!(
        metric_value(&metrics, "netaudit_netconf_failures_total{device=\"down\"}")
            >= cell(down, "failures").parse::<u64>().expect("failures")
    );
}
