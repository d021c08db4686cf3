//! Live tail: new events as they commit, with the search's filters, by
//! server-sent events (the API's stream: each event's id is its sequence
//! number, so the browser's reconnect resumes from `Last-Event-ID` and
//! misses nothing). The page works without JavaScript as far as it can:
//! it shows the latest events and says the live view needs a script.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::html;

use super::layout::page;
use super::page_error::PageError;
use super::search::{Column, Search, SEVERITIES, TEXT_FILTERS};
use super::state::ConsoleState;
use super::viewer::Viewer;
use crate::api::events::{event_stream, run_query};

type St = State<Arc<ConsoleState>>;

/// Events shown when the page opens.
const BACKLOG: usize = 20;

/// `GET /tail` (auditor).
pub(super) async fn view(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (mut search, mut problems) = Search::parse(raw.as_deref());
    search.from = None;
    search.newest_first = true;
    search.limit = BACKLOG;
    let mut backlog = Vec::new();
    if problems.is_empty() {
        match search.to_query() {
            Ok(query) => match run_query(&state.api, query).await {
                Ok(page) => backlog = page.events,
                Err(err) => problems.push(PageError::from(err).message),
            },
            Err(problem) => problems.push(problem),
        }
    }
    // Oldest first, as new rows come at the bottom.
    backlog.reverse();
    let last = backlog.last().map_or_else(
        || state.api.store().map(|s| s.last_seq()).unwrap_or(0),
        |e| e.seq,
    );
    let stream_query = search.query_string(None);
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = html! {
        h1 { "Live tail" }
        form.search method="get" action="/tail" {
            div.filters {
                @for (name, label) in TEXT_FILTERS.iter().filter(|(n, _)| *n != "since" && *n != "until") {
                    label { span { (label) } input type="text" name=(name) value=(search.get(name)); }
                }
                label {
                    span { "Severity at least" }
                    select name="severity" {
                        option value="" selected[search.severity.is_empty()] { "any" }
                        @for s in SEVERITIES { option value=(s) selected[search.severity == s] { (s) } }
                    }
                }
            }
            div.actions { button type="submit" { "Apply filters" } }
        }
        @if !problems.is_empty() {
            ul.problems role="alert" { @for p in &problems { li { (p) } } }
        }
        div.bar {
            span.state id="tail-state" { "live view needs JavaScript; reload the page to see new events" }
            button id="tail-toggle" type="button" hidden { "Pause" }
        }
        table.events id="tail" data-stream={ "/tail/stream?" (stream_query) } data-after=(last) {
            thead { tr { @for c in [Column::Seq, Column::Time, Column::Severity, Column::Host, Column::Code, Column::User, Column::Message] { th { (c.label()) } } } }
            tbody {
                @for e in &backlog {
                    tr data-seq=(e.seq) {
                        td { a href={ "/events/" (e.seq) } { (e.seq) } }
                        td { (crate::display::format_ns(netaudit_store::query_time(&e.event))) }
                        td { (e.event.severity.map_or("", |s| s.name())) }
                        td { (e.event.host.as_deref().unwrap_or("")) }
                        td { (e.event.code.as_deref().unwrap_or("")) }
                        td { (e.event.user.as_deref().unwrap_or("")) }
                        td { (e.event.message.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    };
    (status, page("Live tail", &viewer, "/tail", body)).into_response()
}

/// `GET /tail/stream?filters&after=SEQ` (auditor): the server-sent events.
/// `after` is where a new stream starts (the last row shown, or where a
/// paused view stopped); the browser's own reconnects send
/// `Last-Event-ID`, which wins.
pub(super) async fn stream(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| PageError::bad_request("the query string cannot be read"))?;
    let (after, rest): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(k, _)| k == "after");
    let mut headers = headers;
    if state.api.cluster().is_some() {
        // On PostgreSQL a position is every node's (`NODE:SEQ,...`, the
        // SSE id): `after` is given to the stream as `Last-Event-ID`
        // unless the browser's reconnect sent one; a bad one is a 400
        // naming the header. `0`, a page without rows, starts from now.
        if let Some((_, v)) = after.first().filter(|(_, v)| v != "0") {
            if !headers.contains_key("last-event-id") {
                let value = axum::http::HeaderValue::from_str(v)
                    .map_err(|_| PageError::bad_request("after: not a stream position"))?;
                headers.insert("last-event-id", value);
            }
        }
    }
    let after = match after.first().filter(|_| state.api.cluster().is_none()) {
        Some((_, v)) => Some(v.parse::<u64>().map_err(|_| {
            PageError::bad_request(format!("after: '{v}' is not a sequence number"))
        })?),
        None => None,
    };
    let rest = serde_urlencoded::to_string(&rest).unwrap_or_default();
    let (mut search, problems) = Search::parse(Some(&rest));
    if let Some(problem) = problems.into_iter().next() {
        return Err(PageError::bad_request(problem));
    }
    search.from = None;
    search.newest_first = false;
    search.limit = crate::api::events::PAGE_MAX;
    let mut query = search.to_query().map_err(PageError::bad_request)?;
    query.after_seq = after;
    // The stream ends with the viewer's session (logout, idle, lock).
    Ok(event_stream(
        &state.api,
        &headers,
        query,
        Some(viewer.session_key.clone()),
    )?)
}
