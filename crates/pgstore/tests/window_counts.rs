//! The Overview's counts (`count_window`) against a real PostgreSQL (a
//! private cluster, stopped by PID on drop): two nodes' rows inside and
//! before the window, missing codes, hosts, devices and addresses, and a
//! column of another type than the schema's an error naming it.

use netaudit_pgstore::test_cluster::PgCluster;
use netaudit_pgstore::{
    count_window, migrate, ConnectionSpec, HostSeen, MinuteCount, PgStoreError, WindowSpec,
};

const MINUTE: i64 = 60_000_000_000;
/// The window's first minute.
const START: i64 = 28_000_000;

#[test]
fn every_node_s_events_of_the_window_are_counted_and_a_bad_column_is_named() {
    let pg = PgCluster::start().unwrap();
    let spec = ConnectionSpec::parse_with_env(&pg.url(), None).unwrap();
    let mut client = spec.connect().unwrap();
    migrate(&mut client, spec.target()).unwrap();
    let mut admin = pg.client().unwrap();
    // n1: 6 events in minute START (severity 3, host h1, code UI_COMMIT,
    // device edge1), one the minute before (outside); n2: 4 failed logins
    // in minute START + 2 (severity 4, host h2, 3 from 10.0.0.9, one with
    // no address) and one event with nothing but its severity, timed
    // ahead (START + 90).
    let insert = "INSERT INTO netaudit.events \
        (node_id, seq, epoch, received_ns, ts, severity, code, host, device, client_addr, raw, chain) \
        VALUES ($1, $2, 1, $3, $3, $4, $5, $6, $7, $8, '\\x00', '\\x00')";
    let at = |minute: i64, s: i64| minute * MINUTE + s * 1_000_000_000;
    for seq in 1..=6i64 {
        admin
            .execute(
                insert,
                &[
                    &"n1",
                    &seq,
                    &at(START, seq),
                    &Some(3i16),
                    &Some("UI_COMMIT"),
                    &Some("h1"),
                    &Some("edge1"),
                    &None::<&str>,
                ],
            )
            .unwrap();
    }
    admin
        .execute(
            insert,
            &[
                &"n1",
                &7i64,
                &at(START - 1, 59),
                &Some(3i16),
                &Some("OLD"),
                &Some("old-host"),
                &Some("old-device"),
                &None::<&str>,
            ],
        )
        .unwrap();
    for seq in 1..=4i64 {
        let addr = (seq < 4).then_some("10.0.0.9");
        admin
            .execute(
                insert,
                &[
                    &"n2",
                    &seq,
                    &at(START + 2, seq),
                    &Some(4i16),
                    &Some("JUNOSCOPE_LOGIN_FAILURE"),
                    &Some("h2"),
                    &None::<&str>,
                    &addr,
                ],
            )
            .unwrap();
    }
    admin
        .execute(
            insert,
            &[
                &"n2",
                &5i64,
                &at(START + 90, 0),
                &None::<i16>,
                &None::<&str>,
                &None::<&str>,
                &None::<&str>,
                &None::<&str>,
            ],
        )
        .unwrap();

    let window = WindowSpec {
        since_ns: START * MINUTE,
        top: 10,
        failed_login_code: "JUNOSCOPE_LOGIN_FAILURE",
    };
    let counts = count_window(&mut client, spec.target(), &window).unwrap();
    let minute = |minute, severity, events| MinuteCount {
        minute,
        severity,
        events,
    };
    assert_eq!(
        counts.per_minute,
        vec![
            minute(START, Some(3), 6),
            minute(START + 2, Some(4), 4),
            minute(START + 90, None, 1),
        ]
    );
    assert_eq!(
        counts.codes,
        vec![
            (Some("UI_COMMIT".to_string()), 6),
            (Some("JUNOSCOPE_LOGIN_FAILURE".to_string()), 4),
            (None, 1),
        ]
    );
    assert_eq!(
        counts.hosts,
        vec![
            HostSeen {
                host: "h1".into(),
                events: 6,
                last_received_ns: at(START, 6),
            },
            HostSeen {
                host: "h2".into(),
                events: 4,
                last_received_ns: at(START + 2, 4),
            },
        ]
    );
    assert_eq!(counts.devices, vec![("edge1".to_string(), 6)]);
    assert_eq!(
        counts.failed,
        vec![(Some("10.0.0.9".to_string()), 3), (None, 1)]
    );
    // The top lists keep `top` rows, largest first.
    let one = count_window(
        &mut client,
        spec.target(),
        &WindowSpec {
            top: 1,
            ..window.clone()
        },
    )
    .unwrap();
    assert_eq!(one.codes, vec![(Some("UI_COMMIT".to_string()), 6)]);
    assert_eq!(one.hosts.len(), 2, "every host is listed");

    // A column of another type than the schema's: an error naming the
    // database, the table and the column, not a panic.
    admin
        .batch_execute("ALTER TABLE netaudit.events ALTER COLUMN severity TYPE integer")
        .unwrap();
    let err = count_window(&mut client, spec.target(), &window).unwrap_err();
    assert!(
        matches!(&err, PgStoreError::BadValue { table: "events", column, .. } if &**column == "severity"),
        "{err:?}"
    );
    assert!(err.to_string().contains(spec.target()), "{err}");
}
