//! The `forward` action of an event policy (docs/policies.md): the derived
//! event reaches the outputs it names, and only those, whatever their
//! filters: a real rsyslog behind a syslog output that filters every other
//! event out, and one of two audit files. Its record says which outputs
//! delivered it, or which had not within the timeout.

use std::time::{Duration, Instant};

use netaudit_event::Event;

use crate::support::rsyslog::*;
use crate::support::*;

fn idle_timeout_line() -> String {
    "<86>1 2026-12-06T10:00:00Z r1 cli - UI_CLI_IDLE_TIMEOUT [junos@2636.1.1.1.2.164 username=\"root\"] Idle timeout for user 'root' exceeded and session terminated".to_owned()
}

/// The action records of `policy`, waited for (bounded).
fn wait_action(server: &Netaudit, policy: &str) -> Event {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = stored_events(&server.db).into_iter().find(|e| {
            e.code.as_deref() == Some("NETAUDIT_POLICY_ACTION") && e.param("policy") == Some(policy)
        });
        if let Some(found) = found {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{policy}: no action recorded within 30 s\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_forwarded_derived_event_reaches_the_named_outputs_only() {
    let dir = tempfile::tempdir().unwrap();
    let rsyslog_port = free_tcp_port();
    let rsyslog = Rsyslog::start(&dir.path().join("rsyslog"), rsyslog_port, RsyslogMode::Tcp);
    let listen = free_tcp_port();
    // Nothing listens there: the output stays down.
    let down_port = free_tcp_port();
    let (audit_a, audit_b) = (dir.path().join("audit-a"), dir.path().join("audit-b"));
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{listen}\"\n\n\
         [[output.syslog]]\nname = \"rs\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:{rsyslog_port}\"\n\
         format = \"structured\"\ncodes = [\"NO_SUCH_CODE\"]\n\n\
         [[output.syslog]]\nname = \"down\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:{down_port}\"\n\n\
         [[output.file]]\nname = \"audit-a\"\ndir = \"{}\"\nformat = \"structured\"\n\n\
         [[output.file]]\nname = \"audit-b\"\ndir = \"{}\"\nformat = \"structured\"\n\n\
         [[policy]]\nname = \"fwd\"\n[policy.match]\ncodes = [\"UI_CLI_IDLE_TIMEOUT\"]\n\
         [[policy.action]]\nkind = \"forward\"\noutputs = [\"rs\", \"audit-b\"]\ntimeout_secs = 30\n\n\
         [[policy]]\nname = \"fwd-down\"\n[policy.match]\ncodes = [\"UI_CLI_IDLE_TIMEOUT\"]\n\
         [[policy.action]]\nkind = \"forward\"\noutputs = [\"down\"]\ntimeout_secs = 2\n",
        audit_a.display(),
        audit_b.display()
    );
    let mut server = Netaudit::start(dir.path(), &config_text(dir.path(), free_tcp_port(), &rest));
    send_octet_counted(listen, [junos_line(1), idle_timeout_line(), junos_line(2)]);

    let action = wait_action(&server, "fwd");
    assert_eq!(action.param("action"), Some("forward"), "{action:?}");
    assert_eq!(action.param("result"), Some("ok"), "{action:?}");
    assert_eq!(
        action.param("outcome"),
        Some("delivered by syslog:rs, file:audit-b"),
        "{action:?}"
    );
    let down = wait_action(&server, "fwd-down");
    assert_eq!(down.param("result"), Some("failed"), "{down:?}");
    let outcome = down.param("outcome").unwrap_or_default();
    assert!(
        outcome.contains("not delivered within 2 s by syslog:down (cursor at"),
        "{outcome}"
    );

    // rsyslog got the derived event of "fwd" and nothing else: its output's
    // filter lets no event through, the route overrides it.
    let lines = rsyslog.wait_lines(1, Duration::from_secs(30));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("NETAUDIT_POLICY_TRIGGERED") && lines[0].contains("policy=\"fwd\""),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("forward-to=\"audit-b\""), "{}", lines[0]);

    // Every stored event has reached both files (the cursors say so); the
    // derived event of "fwd" is in audit-b only, that of "fwd-down" in
    // neither; the action records are not routed.
    let last = stored_events(&server.db).len() as u64;
    for name in ["audit-a", "audit-b"] {
        server.wait_metric(
            &format!("netaudit_output_cursor_seq{{output=\"{name}\"}}"),
            last,
            Duration::from_secs(30),
        );
    }
    assert!(server.stop().success());
    let read = |dir: &std::path::Path, name: &str| {
        std::fs::read_to_string(dir.join(name)).unwrap_or_default()
    };
    let (a, b) = (read(&audit_a, "audit-a"), read(&audit_b, "audit-b"));
    let triggered = |text: &str, policy: &str| {
        text.lines()
            .filter(|l| {
                l.contains("NETAUDIT_POLICY_TRIGGERED")
                    && l.contains(&format!("policy=\"{policy}\""))
            })
            .count()
    };
    assert_eq!(triggered(&b, "fwd"), 1, "{b}");
    assert_eq!(triggered(&a, "fwd"), 0, "{a}");
    assert_eq!(triggered(&a, "fwd-down") + triggered(&b, "fwd-down"), 0);
    for text in [&a, &b] {
        let count = |code: &str| text.lines().filter(|l| l.contains(code)).count();
        assert_eq!(count(" UI_CLI_IDLE_TIMEOUT "), 1, "{text}");
        assert_eq!(count(" NETAUDIT_POLICY_ACTION "), 2, "{text}");
    }
}
