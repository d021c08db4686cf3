//! Events: the search page (every filter of `netaudit query`, paged by
//! sequence number, newest or oldest first, columns to choose), each
//! event's detail (every field, the structured-data parameters, the raw
//! bytes as received, sequence, epoch, sealed or not) and the export of a
//! search as JSON lines or standard syslog (the API's export).

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::{html, Markup};
use netaudit_store::{Order, Query as StoreQuery, StoredEvent};

use super::layout::page;
use super::page_error::PageError;
use super::search::{Column, Search, PRESETS, SEVERITIES, TEXT_FILTERS};
use super::state::ConsoleState;
use super::viewer::Viewer;
use crate::api::events::{export_stream, run_query};
use crate::display::{format_ns, EventFormat};

type St = State<Arc<ConsoleState>>;

/// `GET /events` (auditor): the form, and the page of results it asks for.
pub(super) async fn search(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (search, mut problems) = Search::parse(raw.as_deref());
    let query = if problems.is_empty() {
        search.to_query().map_err(|p| problems.push(p)).ok()
    } else {
        None
    };
    let page_result = match query {
        Some(query) => match run_query(&state.api, query).await {
            Ok(page) => Some(page),
            Err(err) => {
                problems.push(PageError::from(err).message);
                None
            }
        },
        None => None,
    };
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = html! {
        h1 { "Events" }
        (search_form(&search))
        @if !problems.is_empty() {
            ul.problems role="alert" {
                @for problem in &problems { li { (problem) } }
            }
        }
        @if let Some(page) = &page_result {
            (results(&search, &page.events, page.next))
        }
    };
    (status, page("Events", &viewer, "/events", body)).into_response()
}

pub(super) fn search_form(search: &Search) -> Markup {
    html! {
        form.search method="get" action="/events" {
            div.filters {
                @for (name, label) in TEXT_FILTERS {
                    label {
                        span { (label) }
                        input type="text" name=(name) value=(search.get(name)) placeholder=(placeholder(name));
                    }
                }
                label {
                    span { "Severity at least" }
                    select name="severity" {
                        option value="" selected[search.severity.is_empty()] { "any" }
                        @for s in SEVERITIES {
                            option value=(s) selected[search.severity == s] { (s) }
                        }
                    }
                }
                label {
                    span { "Order" }
                    select name="order" {
                        option value="newest" selected[search.newest_first] { "newest first" }
                        option value="oldest" selected[!search.newest_first] { "oldest first" }
                    }
                }
                label {
                    span { "Per page" }
                    input type="number" name="limit" min="1" max="1000" value=(search.limit);
                }
            }
            fieldset.columns {
                legend { "Columns" }
                @for c in Column::ALL {
                    label.check {
                        input type="checkbox" name="col" value=(c.key()) checked[search.columns.contains(&c)];
                        (c.label())
                    }
                }
            }
            div.actions {
                button id="search" type="submit" { "Search" }
                a href="/events" { "Clear" }
                span.presets {
                    "Since: "
                    @for (since, label) in PRESETS {
                        a href={ "/events?" (search.with("since", since).query_string(None)) } { (label) }
                    }
                }
            }
        }
    }
}

fn placeholder(name: &str) -> &'static str {
    match name {
        "since" | "until" => "1h, 7d or 2026-11-23T10:00:00Z",
        "code" => "JUNOSCOPE_LOGIN_* (glob)",
        "text" => "part of the message",
        _ => "exactly",
    }
}

fn results(search: &Search, events: &[StoredEvent], next: Option<u64>) -> Markup {
    let here = search.query_string(None);
    html! {
        div.bar {
            span.count { (events.len()) " events on this page" }
            span.links {
                @if search.from.is_some() { a href={ "/events?" (here) } { "First page" } }
                @if let Some(next) = next {
                    a id="next-page" href={ "/events?" (search.query_string(Some(next))) } {
                        @if search.newest_first { "Older →" } @else { "Newer →" }
                    }
                }
                a href={ "/events/export?" (here) (if here.is_empty() { "" } else { "&" }) "format=json" } { "Export JSON lines" }
                a href={ "/events/export?" (here) (if here.is_empty() { "" } else { "&" }) "format=standard" } { "Export syslog" }
            }
        }
        @if events.is_empty() {
            p.empty { "No event matches this search." }
        } @else {
            table.events id="results" {
                thead { tr { @for c in &search.columns { th { (c.label()) } } } }
                tbody {
                    @for e in events {
                        tr data-seq=(e.seq) class=(severity_class(e)) {
                            @for c in &search.columns { td class=(c.key()) { (cell(e, *c)) } }
                        }
                    }
                }
            }
        }
    }
}

/// A CSS class from a fixed set (never from event data).
pub(super) fn severity_class(e: &StoredEvent) -> &'static str {
    e.event.severity.map_or("sev-none", |s| match s.code() {
        0..=2 => "sev-critical",
        3 => "sev-error",
        4 => "sev-warning",
        5 => "sev-notice",
        _ => "sev-info",
    })
}

pub(super) fn cell(e: &StoredEvent, column: Column) -> Markup {
    let ev = &e.event;
    let text = |v: Option<&str>| v.unwrap_or("").to_string();
    match column {
        Column::Seq => html! { a href={ "/events/" (e.seq) } { (e.seq) } },
        Column::Time => html! { (format_ns(netaudit_store::query_time(ev))) },
        Column::Severity => html! { (ev.severity.map_or("", |s| s.name())) },
        Column::Host => html! { (text(ev.host.as_deref())) },
        Column::App => html! { (text(ev.app.as_deref())) },
        Column::Code => html! { (text(ev.code.as_deref())) },
        Column::User => html! { (text(ev.user.as_deref())) },
        Column::Client => html! { (text(ev.client_addr.as_deref())) },
        Column::Device => html! { (text(ev.device.as_deref())) },
        Column::Operation => html! { (text(ev.operation.as_deref())) },
        Column::Message => html! { (text(ev.message.as_deref())) },
    }
}

/// `GET /events/{seq}` (auditor): one event, everything about it. On a
/// PostgreSQL store an event is (node, sequence): `?node=NODE`.
pub(super) async fn detail(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    seq: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let Ok(Path(seq)) = seq else {
        return Err(PageError::bad_request(
            "the event's sequence number cannot be read",
        ));
    };
    let seq: u64 = seq.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
        PageError::bad_request("the event's sequence number must be a number from 1")
    })?;
    let query = StoreQuery {
        after_seq: Some(seq - 1),
        before_seq: seq.checked_add(1),
        order: Order::Ascending,
        limit: 1,
        ..StoreQuery::default()
    };
    let (e, node, sealed) = match state.api.cluster() {
        Some(reader) => {
            let node = node_of(raw.as_deref())?;
            let e = node_event(reader, query, &node).await?;
            let sealed = "see Integrity: sealed once its node's epoch closes".to_string();
            (e, Some(node), sealed)
        }
        None => {
            let found = run_query(&state.api, query).await?;
            let Some(e) = found.events.into_iter().find(|e| e.seq == seq) else {
                return Err(PageError::not_found(format!(
                    "no event with sequence number {seq}"
                )));
            };
            let current_epoch = state.api.store()?.epoch();
            let sealed = if e.epoch < current_epoch {
                format!("yes: epoch {} is closed by its checkpoint", e.epoch)
            } else {
                format!("not yet: epoch {} is still open", e.epoch)
            };
            (e, None, sealed)
        }
    };
    let ev = &e.event;
    let mut fields: Vec<(&str, String)> = vec![
        ("Sequence", e.seq.to_string()),
        ("Epoch", e.epoch.to_string()),
        ("Sealed", sealed),
        ("Time", ev.time_ns.map(format_ns).unwrap_or_default()),
        ("Received", format_ns(ev.received_ns)),
        ("Host", opt(ev.host.as_deref())),
        ("App", opt(ev.app.as_deref())),
        ("Process id", opt(ev.pid.as_deref())),
        (
            "Facility",
            ev.facility
                .map(|f| f.name().to_string())
                .unwrap_or_default(),
        ),
        (
            "Severity",
            ev.severity
                .map(|s| s.name().to_string())
                .unwrap_or_default(),
        ),
        ("Code", opt(ev.code.as_deref())),
        ("User", opt(ev.user.as_deref())),
        ("Client address", opt(ev.client_addr.as_deref())),
        ("Device", opt(ev.device.as_deref())),
        ("Operation", opt(ev.operation.as_deref())),
        ("Message", opt(ev.message.as_deref())),
        (
            "Parse error",
            ev.parse_error
                .clone()
                .map(|p| p.to_string())
                .unwrap_or_default(),
        ),
        ("Chain value", hex::encode(e.chain)),
    ];
    if let Some(node) = &node {
        fields.insert(0, ("Node", node.clone()));
    }
    let body = html! {
        h1 { "Event " (e.seq) @if let Some(node) = &node { " of node " (node) } }
        p { a href="/events" { "← Events" } }
        table.fields id="fields" {
            @for (name, value) in &fields {
                tr { th { (name) } td { (value) } }
            }
        }
        h2 { "Structured-data parameters" }
        @if ev.params.is_empty() {
            p.empty { "None." }
        } @else {
            table.params id="params" {
                thead { tr { th { "SD-ID" } th { "Name" } th { "Value" } } }
                tbody {
                    @for p in &ev.params {
                        tr { td { (p.sd_id) } td { (p.name) } td { (p.value) } }
                    }
                }
            }
        }
        h2 { "Raw bytes as received (" (ev.raw.len()) " bytes)" }
        @if ev.raw.is_empty() {
            p.empty { "None: the event was made by netaudit or submitted through the HTTP API." }
        } @else {
            pre.raw id="raw" { (escaped_bytes(&ev.raw)) }
            details {
                summary { "Hexadecimal" }
                pre.raw id="raw-hex" { (hex_dump(&ev.raw)) }
            }
        }
    };
    Ok(page(&format!("Event {seq}"), &viewer, "/events", body).into_response())
}

/// The `node` parameter of an event's page on a PostgreSQL store.
fn node_of(raw: Option<&str>) -> Result<String, PageError> {
    super::guard::only_parameters(raw, &["node"])?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| PageError::bad_request("the query string cannot be read"))?;
    let node = pairs
        .into_iter()
        .find(|(k, _)| k == "node")
        .map(|(_, v)| v)
        .ok_or_else(|| {
            PageError::bad_request(
                "node: required on a PostgreSQL store (an event is node and sequence number)",
            )
        })?;
    netaudit_pgstore::check_node_id(&node)
        .map_err(|e| PageError::bad_request(format!("node: {e}")))?;
    Ok(node)
}

/// Event `query` (one sequence number) of `node`, or a 404 naming both.
async fn node_event(
    reader: Arc<netaudit_pgstore::GlobalReader>,
    filter: StoreQuery,
    node: &str,
) -> Result<StoredEvent, PageError> {
    let seq = filter.after_seq.unwrap_or(0) + 1;
    let query = netaudit_pgstore::GlobalQuery {
        filter,
        node: Some(node.to_string()),
        after: None,
        upto: None,
    };
    let page = tokio::task::spawn_blocking(move || reader.query(&query))
        .await
        .map_err(|e| PageError::from(crate::api::error::ApiError::internal(e)))?
        .map_err(|e| {
            PageError::from(crate::api::error::ApiError::hiding(
                StatusCode::SERVICE_UNAVAILABLE,
                "event: the PostgreSQL store cannot be read (see the server log)",
                e,
            ))
        })?;
    page.events
        .into_iter()
        .map(|e| e.event)
        .find(|e| e.seq == seq)
        .ok_or_else(|| {
            PageError::not_found(format!(
                "no event with sequence number {seq} on node {node}"
            ))
        })
}

fn opt(v: Option<&str>) -> String {
    v.unwrap_or("").to_string()
}

/// The bytes as text: printable ASCII and valid UTF-8 as they are, every
/// other byte as `\xNN` (so nothing is hidden or lost).
fn escaped_bytes(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && c != '\t' {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// 16 bytes per line: offset, hex.
fn hex_dump(raw: &[u8]) -> String {
    raw.chunks(16)
        .enumerate()
        .map(|(i, line)| {
            let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
            format!("{:08x}  {}\n", i * 16, hex.join(" "))
        })
        .collect()
}

/// `GET /events/export?...&format=json|standard` (auditor): every event of
/// the search, oldest first, streamed.
pub(super) async fn export(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| PageError::bad_request("the query string cannot be read"))?;
    let (formats, rest): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(k, _)| k == "format");
    let (format, content_type) = match formats.first().map(|(_, v)| v.as_str()) {
        None | Some("json") => (EventFormat::Json, "application/x-ndjson"),
        Some("standard") => (EventFormat::Standard, "text/plain; charset=utf-8"),
        Some(_) => return Err(PageError::bad_request("format: expected json or standard")),
    };
    let rest = serde_urlencoded::to_string(&rest).unwrap_or_default();
    let (mut search, problems) = Search::parse(Some(&rest));
    if let Some(problem) = problems.into_iter().next() {
        return Err(PageError::bad_request(problem));
    }
    search.from = None;
    search.limit = crate::api::events::PAGE_MAX;
    let query = search.to_query().map_err(PageError::bad_request)?;
    tracing::info!(user = %viewer.user, client = %viewer.client, query = %rest, "console export");
    if let Some(reader) = state.api.cluster() {
        // A PostgreSQL store: every node's events in the global order.
        let export =
            crate::api::global_events::export(reader, query, None, format, content_type).await?;
        return Ok(export);
    }
    Ok(export_stream(&state.api, query, format, content_type)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_bytes_show_every_byte() {
        assert_eq!(escaped_bytes(b"a\x00b\xffc\n"), "a\\x00b\\xffc\\x0a");
        assert_eq!(escaped_bytes("é".as_bytes()), "é");
        assert_eq!(hex_dump(b"AB"), "00000000  41 42\n");
    }
}
