//! Overview (auditor: it summarises the events' contents): over the last hour (per minute) or the last
//! 24 hours (per hour): events by severity, top codes, top hosts and
//! devices, failed logins by source address, and each sending host's last
//! event, hosts silent for longer than a chosen time highlighted. Charts
//! are SVG written on the server (`svg.rs`).
//!
//! The windows end with the current minute (buckets on whole minutes);
//! on the embedded store the counts come from `overview_tally.rs`, which
//! reads each stored event once and keeps its counts per partition and
//! minute; on a PostgreSQL store from the database (`overview_nodes.rs`:
//! every node's events, by the minute each was received).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::html;

use super::layout::page;
use super::overview_nodes;
use super::overview_tally::{minute_of, Counts, MINUTE_NS, SEVERITY_SLOTS};
use super::page_error::PageError;
use super::state::ConsoleState;
use super::svg::{bar_list, stacked_bars, Series};
use super::viewer::Viewer;
use crate::api::error::ApiError;
use crate::display::{format_ns, now_ns};

type St = State<Arc<ConsoleState>>;

/// Rows of each top list.
const TOP: usize = 10;

/// Severity groups of the chart, most severe first (codes 0..=2 together).
const SEVERITIES: [Series; 5] = [
    Series {
        name: "critical or worse",
        colour: "#8e1b14",
    },
    Series {
        name: "error",
        colour: "#d3453b",
    },
    Series {
        name: "warning",
        colour: "#e39a2d",
    },
    Series {
        name: "notice",
        colour: "#5b8def",
    },
    Series {
        name: "info, debug, none",
        colour: "#a9b4c6",
    },
];

/// The chart's group of a severity slot of the tally (code, or 8: none).
fn severity_group(slot: usize) -> usize {
    match slot {
        0..=2 => 0,
        3 => 1,
        4 => 2,
        5 => 3,
        _ => 4,
    }
}

/// `GET /overview?window=1h|24h&silent=MINUTES` (auditor).
pub(super) async fn view(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let mut problems = Vec::new();
    let (mut hours, mut silent_minutes) = (1i64, 15i64);
    for (key, value) in &pairs {
        match key.as_str() {
            "window" => match value.as_str() {
                "1h" => hours = 1,
                "24h" => hours = 24,
                _ => problems.push(format!("window: '{value}' (expected 1h or 24h)")),
            },
            "silent" => match value.parse::<i64>() {
                Ok(m) if (0..=10_080).contains(&m) => silent_minutes = m,
                _ => problems.push(format!(
                    "silent: '{value}' is not a number of minutes from 0 to 10080"
                )),
            },
            other => problems.push(format!("'{other}' is not a setting of this page")),
        }
    }
    let now = now_ns();
    let now_minute = minute_of(now);
    let (bucket_minutes, buckets) = if hours == 1 {
        (1i64, 60usize)
    } else {
        (60, 24)
    };
    // The window ends with the current minute.
    let start_minute = now_minute + 1 - buckets as i64 * bucket_minutes;
    let start = start_minute * MINUTE_NS;
    let bucket_ns = bucket_minutes * MINUTE_NS;
    // Events timed ahead of the clock count in the last bucket.
    let bucket_of = move |minute: i64| {
        ((minute - start_minute) / bucket_minutes).clamp(0, buckets as i64 - 1) as usize
    };
    let mut per_bucket = vec![vec![0u64; SEVERITIES.len()]; buckets];
    let add = move |per_bucket: &mut [Vec<u64>], minute: i64, severity: &[u64; SEVERITY_SLOTS]| {
        for (slot, n) in severity.iter().enumerate() {
            per_bucket[bucket_of(minute)][severity_group(slot)] += n;
        }
    };
    let window = if let Some(reader) = state.api.cluster() {
        // On PostgreSQL the database counts every node's events.
        let (minutes, window) = overview_nodes::count(reader, start, TOP).await?;
        for (minute, severity) in &minutes {
            add(&mut per_bucket, *minute, severity);
        }
        window
    } else {
        let store = state.api.store()?;
        let counted = state.clone();
        let (counted_buckets, window) = tokio::task::spawn_blocking(move || {
            let mut window = Counts::default();
            counted
                .overview
                .visit(&store, now_minute, start_minute, |minute, counts| {
                    add(&mut per_bucket, minute, &counts.severity);
                    window.merge(counts);
                })
                .map(|()| (per_bucket, window))
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::hiding(
                StatusCode::INTERNAL_SERVER_ERROR,
                "overview: the store could not be read (see the server log)",
                e,
            )
        })?;
        per_bucket = counted_buckets;
        window
    };
    let counted = window.events();
    let last_seen: BTreeMap<&str, i64> = window
        .hosts
        .iter()
        .map(|(host, h)| (&**host, h.last_received_ns))
        .collect();
    let plain = |map: &HashMap<Box<str>, u64>| -> HashMap<String, u64> {
        map.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let codes = plain(&window.codes);
    let devices = plain(&window.devices);
    let failed = plain(&window.failed);
    let hosts: HashMap<String, u64> = window
        .hosts
        .iter()
        .map(|(k, h)| (k.to_string(), h.events))
        .collect();
    let labels: Vec<String> = (0..buckets)
        .map(|i| {
            let t = format_ns(start + i as i64 * bucket_ns);
            t.get(11..16).unwrap_or("").to_string()
        })
        .collect();
    let silent_ns = silent_minutes * MINUTE_NS;
    let window_label = if hours == 1 {
        "the last hour, per minute"
    } else {
        "the last 24 hours, per hour"
    };
    let body = html! {
        h1 { "Overview" }
        form.search method="get" action="/overview" {
            div.filters {
                label { span { "Window" } select name="window" {
                    option value="1h" selected[hours == 1] { "last hour" }
                    option value="24h" selected[hours == 24] { "last 24 hours" }
                } }
                label { span { "Host silent after (minutes)" } input type="number" name="silent" min="0" max="10080" value=(silent_minutes); }
            }
            div.actions { button type="submit" { "Show" } span.count { (counted) " events counted" } }
        }
        @if !problems.is_empty() { ul.problems role="alert" { @for p in &problems { li { (p) } } } }
        section.card id="rate" {
            (stacked_bars(&format!("Events over {window_label}, by severity"), &SEVERITIES, &per_bucket, &labels, if hours == 1 { 10 } else { 3 }))
        }
        div.cards {
            (bar_list("Top codes", &top(codes), "No events."))
            (bar_list("Top hosts", &top(hosts), "No events with a host."))
            (bar_list("Top devices", &top(devices), "No events with a device."))
            (bar_list("Failed logins by source address", &top(failed), "No failed logins."))
        }
        section.card id="hosts" {
            h2 { "Sending hosts: last event" }
            @if last_seen.is_empty() {
                p.empty { "No host sent an event in this window." }
            } @else {
                table.events {
                    thead { tr { th { "Host" } th { "Last event received (UTC)" } th { "Silent for" } } }
                    tbody {
                        @for (host, seen) in &last_seen {
                            @let quiet = now - seen;
                            tr.silent[quiet > silent_ns] data-host=(*host) {
                                td { (host) }
                                td { (format_ns(*seen)) }
                                td { (quiet / MINUTE_NS) " min" @if quiet > silent_ns { " (silent)" } }
                            }
                        }
                    }
                }
            }
        }
    };
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, page("Overview", &viewer, "/overview", body)).into_response())
}

/// The `TOP` largest counts, largest first (ties by name).
fn top(counts: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows.truncate(TOP);
    rows
}
