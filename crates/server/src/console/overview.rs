//! Overview (auditor: it summarises the events' contents): over the last hour (per minute) or the last
//! 24 hours (per hour): events by severity, top codes, top hosts and
//! devices, failed logins by source address, and each sending host's last
//! event, hosts silent for longer than a chosen time highlighted. Charts
//! are SVG written on the server (`svg.rs`).
//!
//! The figures are counted from the window's events when the page is
//! asked for, at most [`SCAN_MAX`] of them (the page says so when it
//! stops there).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::html;
use netaudit_store::{Order, Query as StoreQuery};

use super::layout::page;
use super::page_error::PageError;
use super::state::ConsoleState;
use super::svg::{bar_list, stacked_bars, Series};
use super::viewer::Viewer;
use crate::api::events::run_query;
use crate::display::{format_ns, now_ns};

type St = State<Arc<ConsoleState>>;

/// The most events one overview counts.
pub(super) const SCAN_MAX: usize = 200_000;
/// Rows of each top list.
const TOP: usize = 10;
const MINUTE_NS: i64 = 60 * 1_000_000_000;

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

fn severity_group(code: Option<u8>) -> usize {
    match code {
        Some(0..=2) => 0,
        Some(3) => 1,
        Some(4) => 2,
        Some(5) => 3,
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
    let bucket_ns = if hours == 1 {
        MINUTE_NS
    } else {
        60 * MINUTE_NS
    };
    let buckets = if hours == 1 { 60 } else { 24 };
    let start = now - buckets as i64 * bucket_ns;
    let mut per_bucket = vec![vec![0u64; SEVERITIES.len()]; buckets];
    let mut codes: HashMap<String, u64> = HashMap::new();
    let mut hosts: HashMap<String, u64> = HashMap::new();
    let mut devices: HashMap<String, u64> = HashMap::new();
    let mut failed: HashMap<String, u64> = HashMap::new();
    let mut last_seen: BTreeMap<String, i64> = BTreeMap::new();
    let mut counted = 0usize;
    let mut query = StoreQuery {
        since_ns: Some(start),
        order: Order::Ascending,
        limit: 1000,
        ..StoreQuery::default()
    };
    loop {
        let page = run_query(&state.api, query.clone()).await?;
        for e in &page.events {
            let ev = &e.event;
            let ts = netaudit_store::query_time(ev);
            let bucket = ((ts - start) / bucket_ns).clamp(0, buckets as i64 - 1) as usize;
            per_bucket[bucket][severity_group(ev.severity.map(|s| s.code()))] += 1;
            let code = ev.code.as_deref().unwrap_or("(none)");
            *codes.entry(code.to_string()).or_default() += 1;
            if let Some(host) = ev.host.as_deref() {
                *hosts.entry(host.to_string()).or_default() += 1;
                let seen = last_seen.entry(host.to_string()).or_insert(ev.received_ns);
                *seen = (*seen).max(ev.received_ns);
            }
            if let Some(device) = ev.device.as_deref() {
                *devices.entry(device.to_string()).or_default() += 1;
            }
            if code == "JUNOSCOPE_LOGIN_FAILURE" {
                let from = ev.client_addr.as_deref().unwrap_or("(unknown)");
                *failed.entry(from.to_string()).or_default() += 1;
            }
        }
        counted += page.events.len();
        match page.next {
            Some(next) if counted < SCAN_MAX => query.after_seq = Some(next),
            _ => break,
        }
    }
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
            div.actions { button type="submit" { "Show" } span.count { (counted) " events counted" @if counted >= SCAN_MAX { " (stopped at " (SCAN_MAX) ")" } } }
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
                            tr.silent[quiet > silent_ns] data-host=(host) {
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
