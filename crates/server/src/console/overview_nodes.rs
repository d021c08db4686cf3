//! The Overview's counts on a PostgreSQL store (docs/cluster.md): every
//! node's events received since the window's start, counted by the database
//! (`netaudit_pgstore::count_window`), in the shapes the embedded store's
//! tally gives, so that `overview.rs` renders both alike.

use std::sync::Arc;

use axum::http::StatusCode;
use netaudit_pgstore::{GlobalReader, WindowCounts, WindowSpec};

use super::overview_tally::{Counts, HostCount, LOGIN_FAILURE, SEVERITY_SLOTS};
use crate::api::error::ApiError;

/// One minute's events by severity slot (code 0..=7, then none).
pub(super) type MinuteSeverities = (i64, [u64; SEVERITY_SLOTS]);

/// Every node's events received at or after `since_ns`: each minute's by
/// severity, in order, and the window's counts (the top lists keep `top`
/// rows; every host is listed).
pub(super) async fn count(
    reader: Arc<GlobalReader>,
    since_ns: i64,
    top: usize,
) -> Result<(Vec<MinuteSeverities>, Counts), ApiError> {
    let spec = WindowSpec {
        since_ns,
        top,
        failed_login_code: LOGIN_FAILURE,
    };
    let counted = tokio::task::spawn_blocking(move || reader.count_window(&spec))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::hiding(
                StatusCode::SERVICE_UNAVAILABLE,
                "overview: the PostgreSQL store could not be read (see the server log)",
                e,
            )
        })?;
    Ok(as_tally(counted))
}

/// The database's counts as the tally's: the same severity slots and the
/// same names for a missing code or address.
fn as_tally(counted: WindowCounts) -> (Vec<MinuteSeverities>, Counts) {
    let mut window = Counts::default();
    let mut minutes: Vec<MinuteSeverities> = Vec::new();
    for row in counted.per_minute {
        let slot = row
            .severity
            .and_then(|s| usize::try_from(s).ok())
            .map_or(SEVERITY_SLOTS - 1, |s| s.min(SEVERITY_SLOTS - 1));
        match minutes.last_mut() {
            Some((minute, slots)) if *minute == row.minute => slots[slot] += row.events,
            _ => {
                let mut slots = [0; SEVERITY_SLOTS];
                slots[slot] = row.events;
                minutes.push((row.minute, slots));
            }
        }
        window.severity[slot] += row.events;
    }
    let named = |key: Option<String>, none: &str| -> Box<str> {
        key.map_or_else(|| none.into(), String::into_boxed_str)
    };
    for (code, n) in counted.codes {
        *window.codes.entry(named(code, "(none)")).or_default() += n;
    }
    for (device, n) in counted.devices {
        window.devices.insert(device.into_boxed_str(), n);
    }
    for (addr, n) in counted.failed {
        *window.failed.entry(named(addr, "(unknown)")).or_default() += n;
    }
    for h in counted.hosts {
        window.hosts.insert(
            h.host.into_boxed_str(),
            HostCount {
                events: h.events,
                last_received_ns: h.last_received_ns,
            },
        );
    }
    (minutes, window)
}

#[cfg(test)]
mod tests {
    use netaudit_pgstore::{HostSeen, MinuteCount};

    use super::*;

    #[test]
    fn database_counts_become_the_tally_s_slots_and_names() {
        let minute = |minute, severity, events| MinuteCount {
            minute,
            severity,
            events,
        };
        let counted = WindowCounts {
            per_minute: vec![
                minute(10, Some(3), 2),
                minute(10, None, 1),
                minute(12, Some(0), 4),
                minute(12, Some(99), 1),
            ],
            codes: vec![(Some("UI_COMMIT".into()), 5), (None, 3)],
            hosts: vec![HostSeen {
                host: "h1".into(),
                events: 8,
                last_received_ns: 77,
            }],
            devices: vec![("edge1".into(), 2)],
            failed: vec![(None, 1), (Some("10.0.0.9".into()), 2)],
        };
        let (minutes, window) = as_tally(counted);
        let mut ten = [0; SEVERITY_SLOTS];
        ten[3] = 2;
        ten[8] = 1;
        let mut twelve = [0; SEVERITY_SLOTS];
        twelve[0] = 4;
        twelve[8] = 1;
        assert_eq!(minutes, vec![(10, ten), (12, twelve)]);
        assert_eq!(window.events(), 8);
        assert_eq!(window.codes.get("(none)"), Some(&3));
        assert_eq!(window.failed.get("(unknown)"), Some(&1));
        assert_eq!(window.failed.get("10.0.0.9"), Some(&2));
        assert_eq!(window.devices.get("edge1"), Some(&2));
        assert_eq!(
            window.hosts.get("h1"),
            Some(&HostCount {
                events: 8,
                last_received_ns: 77
            })
        );
    }
}
