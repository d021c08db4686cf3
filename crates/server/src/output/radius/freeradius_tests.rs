//! The accounting output against a real FreeRADIUS: events in a real store,
//! the consumer, the client, and FreeRADIUS's detail file, where every
//! attribute must appear decoded by name. (These live beside the code
//! because the consumer is part of the `netaudit` binary; the harness is
//! shared with the tests in tests/cli/radius.rs and tests/serve/radius.rs.)

#[path = "../../../tests/support/radius.rs"]
#[allow(unreachable_pub)] // the harness's interface, shared with tests/
mod common_radius;

use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common_radius::{free_udp_port, value, FreeRadius};
use netaudit_event::{Event, EventContext};
use netaudit_radius::mapping::NasIdentity;
use netaudit_radius::{Dictionary, SharedSecret};
use netaudit_store::{Store, StoreConfig, Synchronous};
use netaudit_syslog::RawBackedEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::output::radius::{resolve_address, RadiusOutput};
use crate::metrics::radius::{RadiusConsumerMetrics as ConsumerMetrics, RadiusMetrics};
use crate::output::consumer::OutputKind;
use crate::output::radius::client::{ClientOptions, ServerSpec};
use crate::output::radius::consumer::{RadiusConsumer, CODE_UNDELIVERED};

const SECRET: &str = "netaudit-consumer-secret-7";
const SECOND: i64 = 1_000_000_000;

fn open_store(dir: &Path) -> Arc<Store> {
    let mut config = StoreConfig::new(dir.join("netaudit.db"));
    config.synchronous = Synchronous::Normal;
    config.background = false;
    Arc::new(Store::open(config).expect("open store"))
}

fn output(server: &FreeRadius) -> RadiusOutput {
    RadiusOutput {
        name: "aaa".to_string(),
        servers: vec![ServerSpec {
            address: resolve_address(&server.address()).unwrap(),
            secret: SharedSecret::new(SECRET).unwrap(),
        }],
        options: ClientOptions {
            timeout: Duration::from_millis(100),
            max_timeout: Duration::from_millis(200),
            retransmissions: 1,
            dead_time: Duration::from_millis(100),
        },
        nas: NasIdentity::new("netaudit-test", Some("192.0.2.5".parse().unwrap())).unwrap(),
        dictionary: Dictionary::builtin(),
        retry_initial: Duration::from_millis(100),
        retry_max: Duration::from_millis(300),
        alert_after: Duration::from_secs(1),
    }
}

fn event(code: &str, vars: &[(&str, &str)], time_s: i64) -> Event {
    netaudit_event::catalog()
        .lookup(code)
        .unwrap()
        .render(vars)
        .unwrap()
        .into_event(&EventContext {
            time_ns: Some(time_s * SECOND),
            received_ns: time_s * SECOND,
            app: Some("junoscope7080".to_string()),
            ..EventContext::default()
        })
}

fn user_event(code: &str, user: &str, client: &str, time_s: i64) -> Event {
    event(
        code,
        &[("username", user), ("client-address", client)],
        time_s,
    )
}

struct Running {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    client_metrics: Arc<RadiusMetrics>,
    metrics: Arc<ConsumerMetrics>,
}

async fn start(
    output: RadiusOutput,
    store: &Arc<Store>,
    alerts: mpsc::Sender<Vec<RawBackedEvent>>,
) -> Running {
    let client_metrics = Arc::new(RadiusMetrics::default());
    let metrics = Arc::new(ConsumerMetrics::default());
    let consumer = RadiusConsumer::open(
        output,
        store.clone(),
        alerts,
        client_metrics.clone(),
        metrics.clone(),
    )
    .await
    .expect("open consumer");
    let cancel = CancellationToken::new();
    let task = tokio::spawn(consumer.run(cancel.clone()));
    Running {
        cancel,
        task,
        client_metrics,
        metrics,
    }
}

impl Running {
    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("consumer stops within 5 s")
            .expect("consumer task");
    }
}

async fn wait_records(server: &FreeRadius, count: usize) -> Vec<Vec<(String, String)>> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let records = server.detail();
        if records.len() >= count || Instant::now() > deadline {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_type_arrives_and_freeradius_decodes_every_attribute_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let server = FreeRadius::start(&dir.path().join("raddb"), free_udp_port(), SECRET);
    let store = open_store(dir.path());
    let scan_vars: Vec<(String, String)> = netaudit_event::catalog()
        .lookup("JUNOSCOPE_SCAN_SUCCESS")
        .unwrap()
        .variables
        .iter()
        .map(|v| (v.name.clone(), "x".to_string()))
        .collect();
    let scan_vars: Vec<(&str, &str)> = scan_vars
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let events = vec![
        user_event("JUNOSCOPE_LOGIN_SUCCESSFUL", "bob", "10.0.0.5", 1000),
        event(
            "JUNOSCOPE_DEVICE_ADDED",
            &[
                ("device-name", "r1"),
                ("username", "bob"),
                ("client-address", "10.0.0.5"),
            ],
            1010,
        ),
        event(
            "JUNOSCOPE_USER_LOCKED_BY_ADMIN",
            &[
                ("username", "eve"),
                ("client-address", "10.0.0.5"),
                ("admin-username", "bob"),
            ],
            1020,
        ),
        event(
            "JUNOSCOPE_RADIUS_CONFIG_CHANGED",
            &[
                ("radius-server-address", "10.9.9.9"),
                ("client-address", "10.0.0.5"),
            ],
            1030,
        ),
        event(
            "JUNOSCOPE_SOFTWARE_IMAGE_IMPORT",
            &[("image-name", "junos-21.4.tgz"), ("username", "bob")],
            1040,
        ),
        event("JUNOSCOPE_SCAN_SUCCESS", &scan_vars, 1050),
        Event {
            code: Some("UI_COMMIT".into()),
            user: Some("root".into()),
            ..Event::default()
        },
        user_event("JUNOSCOPE_LOGOUT", "bob", "10.0.0.5", 1100),
        user_event("JUNOSCOPE_LOGIN_SUCCESSFUL", "ann", "10.0.0.6", 2000),
        user_event("JUNOSCOPE_SESSION_TIMEOUT", "ann", "10.0.0.6", 2900),
        user_event("JUNOSCOPE_LOGIN_FAILURE", "mallory", "10.0.0.7", 3000),
        user_event("JUNOSCOPE_USER_AUTO_LOCKED", "mallory", "10.0.0.7", 3001),
    ];
    let seqs = store.append_batch(&events).unwrap();
    let (alerts, _alerts_rx) = mpsc::channel(4);
    let running = start(output(&server), &store, alerts).await;
    let records = wait_records(&server, 12).await;
    assert_eq!(records.len(), 12, "{records:#?}\n{}", server.log());

    for record in &records {
        for (name, _) in record {
            assert!(
                !name.starts_with("Attr-"),
                "FreeRADIUS could not name {name}: {record:?}"
            );
        }
        for name in [
            "User-Name",
            "Acct-Session-Id",
            "NAS-Identifier",
            "NAS-IP-Address",
            "Event-Timestamp",
            "Acct-Delay-Time",
        ] {
            assert!(value(record, name).is_some(), "{name} missing: {record:?}");
        }
        assert_eq!(value(record, "NAS-IP-Address"), Some("192.0.2.5"));
        assert_eq!(value(record, "NAS-Identifier"), Some("netaudit-test"));
    }
    // Sessions run in parallel, so the file's order is per session only.
    let find = |wanted: &[(&str, &str)]| -> (usize, &Vec<(String, String)>) {
        let found: Vec<(usize, &Vec<(String, String)>)> = records
            .iter()
            .enumerate()
            .filter(|(_, r)| wanted.iter().all(|(n, v)| value(r, n) == Some(*v)))
            .collect();
        assert_eq!(found.len(), 1, "{wanted:?} in {records:#?}");
        found[0]
    };
    let (login_at, login) = find(&[("Acct-Status-Type", "Start"), ("User-Name", "bob")]);
    let bob_session = value(login, "Acct-Session-Id").unwrap();
    assert_eq!(value(login, "Calling-Station-Id"), Some("10.0.0.5"));
    assert!(
        value(login, "Event-Timestamp").unwrap().contains("1970"),
        "{login:?}"
    );
    // Privileged actions, in bob's session.
    let (device_at, device) = find(&[("Juniper-JUNOScope-Privileged-Command", "DEVICE_ADDED")]);
    assert_eq!(value(device, "Acct-Status-Type"), Some("Interim-Update"));
    assert_eq!(value(device, "Juniper-JUNOScope-Target"), Some("r1"));
    assert_eq!(value(device, "Acct-Session-Id"), Some(bob_session));
    let (_, lock) = find(&[(
        "Juniper-JUNOScope-Privileged-Command",
        "USER_LOCKED_BY_ADMIN",
    )]);
    assert_eq!(value(lock, "User-Name"), Some("bob"));
    assert_eq!(value(lock, "Juniper-JUNOScope-Target"), Some("eve"));
    let (_, radius) = find(&[(
        "Juniper-JUNOScope-Privileged-Command",
        "RADIUS_CONFIG_CHANGED",
    )]);
    assert_eq!(
        value(radius, "User-Name"),
        Some("bob"),
        "the one user logged in from 10.0.0.5"
    );
    assert_eq!(value(radius, "Juniper-JUNOScope-Target"), Some("10.9.9.9"));
    let (_, image) = find(&[(
        "Juniper-JUNOScope-Privileged-Command",
        "SOFTWARE_IMAGE_IMPORT_SUCCESS",
    )]);
    assert_eq!(
        value(image, "Juniper-JUNOScope-Target"),
        Some("junos-21.4.tgz")
    );
    // Logout: the login's session, after its Start and Interim-Updates.
    let (logout_at, logout) = find(&[("Acct-Status-Type", "Stop"), ("User-Name", "bob")]);
    assert_eq!(value(logout, "Acct-Session-Id"), Some(bob_session));
    assert_eq!(value(logout, "Acct-Session-Time"), Some("100"));
    assert_eq!(value(logout, "Acct-Terminate-Cause"), None);
    assert!(login_at < device_at && device_at < logout_at);
    // Session timeout.
    let (ann_at, ann) = find(&[("Acct-Status-Type", "Start"), ("User-Name", "ann")]);
    let (timeout_at, timeout) = find(&[("Acct-Terminate-Cause", "Session-Timeout")]);
    assert_eq!(value(timeout, "Acct-Status-Type"), Some("Stop"));
    assert_eq!(
        value(timeout, "Acct-Session-Id"),
        value(ann, "Acct-Session-Id")
    );
    assert_eq!(value(timeout, "Acct-Session-Time"), Some("900"));
    assert!(ann_at < timeout_at);
    // Failures: Start then Stop with User-Error and the reason.
    for reason in ["Authentication Failure", "User Account Locked"] {
        let (stop_at, stop) = find(&[("Juniper-JUNOScope-Login-Failure-Reason", reason)]);
        assert_eq!(value(stop, "Acct-Status-Type"), Some("Stop"));
        assert_eq!(value(stop, "Acct-Terminate-Cause"), Some("User-Error"));
        assert_eq!(value(stop, "User-Name"), Some("mallory"));
        let session = value(stop, "Acct-Session-Id").unwrap();
        let (start_at, _) = find(&[("Acct-Status-Type", "Start"), ("Acct-Session-Id", session)]);
        assert!(start_at < stop_at);
    }
    let starts = records
        .iter()
        .filter(|r| value(r, "Acct-Status-Type") == Some("Start"))
        .count();
    assert_eq!(starts, 4);

    // The cursor reaches the last event once everything is acknowledged.
    let last = *seqs.last().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while running.metrics.delivered_seq.load(Relaxed) < last && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        store
            .cursor(&OutputKind::Radius.cursor_name("aaa"))
            .unwrap(),
        last
    );
    assert_eq!(running.client_metrics.acknowledged.load(Relaxed), 12);
    assert_eq!(running.metrics.queued_records.load(Relaxed), 0);
    let mut text = String::new();
    running.metrics.render("aaa", &mut text);
    assert!(
        text.contains(&format!(
            "netaudit_radius_delivered_seq{{output=\"aaa\"}} {last}\n"
        )),
        "{text}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_gets_every_pending_record_after_restarts_of_both() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = FreeRadius::start(&dir.path().join("raddb"), free_udp_port(), SECRET);
    let store = open_store(dir.path());
    let (alerts, mut alerts_rx) = mpsc::channel(4);
    let running = start(output(&server), &store, alerts.clone()).await;

    let login = store
        .append_batch(&[user_event(
            "JUNOSCOPE_LOGIN_SUCCESSFUL",
            "bob",
            "10.0.0.5",
            1000,
        )])
        .unwrap()[0];
    assert_eq!(wait_records(&server, 1).await.len(), 1);

    // The server goes away; two more events wait.
    server.stop();
    store
        .append_batch(&[
            event(
                "JUNOSCOPE_DEVICE_DELETED",
                &[
                    ("device-name", "r2"),
                    ("username", "bob"),
                    ("client-address", "10.0.0.5"),
                ],
                1010,
            ),
            user_event("JUNOSCOPE_LOGOUT", "bob", "10.0.0.5", 1100),
        ])
        .unwrap();
    // After alert_after (1 s) one alert event is stored.
    let alert = tokio::time::timeout(Duration::from_secs(10), alerts_rx.recv())
        .await
        .expect("an alert within 10 s")
        .expect("alert channel open");
    assert_eq!(alert[0].event.code.as_deref(), Some(CODE_UNDELIVERED));
    let message = alert[0].event.message.clone().unwrap_or_default();
    assert!(
        message.contains("has not delivered event") && message.contains("no reply"),
        "{message}"
    );
    assert!(running.client_metrics.failures.load(Relaxed) > 0);
    assert!(running.metrics.failing_since.load(Relaxed) > 0);
    assert_eq!(running.metrics.queued_records.load(Relaxed), 2);
    assert_eq!(
        store
            .cursor(&OutputKind::Radius.cursor_name("aaa"))
            .unwrap(),
        login,
        "nothing unacknowledged is behind the cursor"
    );

    // netaudit restarts while the server is still down ...
    running.stop().await;
    assert_eq!(
        store
            .cursor(&OutputKind::Radius.cursor_name("aaa"))
            .unwrap(),
        login
    );
    let running = start(output(&server), &store, alerts).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ... then the server comes back: everything pending arrives.
    server.restart();
    let records = wait_records(&server, 3).await;
    assert_eq!(records.len(), 3, "{records:#?}");
    assert_eq!(value(&records[1], "Juniper-JUNOScope-Target"), Some("r2"));
    assert_eq!(value(&records[2], "Acct-Status-Type"), Some("Stop"));
    // The logout, sent by the restarted netaudit, closes the login's session.
    assert_eq!(
        value(&records[2], "Acct-Session-Id"),
        value(&records[0], "Acct-Session-Id")
    );
    assert_eq!(
        value(&records[1], "Acct-Session-Id"),
        value(&records[0], "Acct-Session-Id")
    );
    // Acct-Delay-Time grew while the records waited (events are from 1970).
    assert!(
        value(&records[2], "Acct-Delay-Time")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 1_000_000
    );
    let last = store.last_seq();
    let deadline = Instant::now() + Duration::from_secs(5);
    while store
        .cursor(&OutputKind::Radius.cursor_name("aaa"))
        .unwrap()
        < last
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        store
            .cursor(&OutputKind::Radius.cursor_name("aaa"))
            .unwrap(),
        last
    );
    assert_eq!(running.metrics.failing_since.load(Relaxed), 0);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_output_reads_its_table_and_keeps_the_server_output_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = FreeRadius::start(&dir.path().join("raddb"), free_udp_port(), SECRET);
    let store = open_store(dir.path());
    let secret_path = dir.path().join("radius.secret");
    std::fs::write(&secret_path, format!("{SECRET}\n")).unwrap();
    let table = crate::config::Config::from_toml(&format!(
        "[[output.radius]]\nname = \"aaa\"\nservers = [\"{}\"]\nsecret_file = {:?}\nnas_identifier = \"serve-test\"\ntimeout_ms = 200\n",
        server.address(),
        secret_path.display().to_string()
    ), "test.toml")
    .unwrap()
    .output
    .radius
    .remove(0);
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let (alerts, _alerts_rx) = mpsc::channel(4);
    let ctx = crate::output::OutputContext {
        store: crate::output::context::OutputStore::Sqlite(store.clone()),
        metrics: metrics.clone(),
        alerts,
    };
    let seq = store
        .append_batch(&[user_event(
            "JUNOSCOPE_LOGIN_SUCCESSFUL",
            "bob",
            "10.0.0.5",
            1000,
        )])
        .unwrap()[0];
    let cancel = CancellationToken::new();
    let task = tokio::spawn(crate::output::radius::run_output(
        table,
        ctx,
        Arc::new(RadiusMetrics::default()),
        Arc::new(ConsumerMetrics::default()),
        cancel.clone(),
    ));
    let records = wait_records(&server, 1).await;
    assert_eq!(value(&records[0], "NAS-Identifier"), Some("serve-test"));
    let output = metrics.output("aaa");
    let deadline = Instant::now() + Duration::from_secs(5);
    while output.delivered_seq.load(Relaxed) < seq && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(output.delivered_seq.load(Relaxed), seq);
    assert_eq!(output.forwarded.load(Relaxed), 1);
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}
