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
    // (the event's page, the event), and where the stream starts after.
    let mut backlog: Vec<(String, netaudit_store::StoredEvent)> = Vec::new();
    let mut position = None;
    if problems.is_empty() {
        match (search.to_query(), state.api.cluster()) {
            (Ok(query), Some(reader)) => match node_backlog(reader, query).await {
                Ok((events, at)) => {
                    backlog = events
                        .into_iter()
                        .map(|e| {
                            let href = format!(
                                "/events/{}?{}",
                                e.event.seq,
                                serde_urlencoded::to_string([("node", e.node.as_str())])
                                    .unwrap_or_default()
                            );
                            (href, e.event)
                        })
                        .collect();
                    position = Some(at);
                }
                Err(err) => problems.push(PageError::from(err).message),
            },
            (Ok(query), None) => match run_query(&state.api, query).await {
                Ok(page) => {
                    backlog = page
                        .events
                        .into_iter()
                        .map(|e| (format!("/events/{}", e.seq), e))
                        .collect()
                }
                Err(err) => problems.push(PageError::from(err).message),
            },
            (Err(problem), _) => problems.push(problem),
        }
    }
    // Oldest first, as new rows come at the bottom.
    backlog.reverse();
    let last = position.unwrap_or_else(|| {
        backlog
            .last()
            .map_or_else(
                || state.api.store().map(|s| s.last_seq()).unwrap_or(0),
                |(_, e)| e.seq,
            )
            .to_string()
    });
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
                @for (href, e) in &backlog {
                    tr data-seq=(e.seq) {
                        td { a href=(href) { (e.seq) } }
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

/// On a PostgreSQL store: every node's position now and the newest
/// [`BACKLOG`] events up to it (newest first), so the stream starting
/// after that position neither misses nor repeats one.
async fn node_backlog(
    reader: Arc<netaudit_pgstore::GlobalReader>,
    mut filter: netaudit_store::Query,
) -> Result<(Vec<netaudit_pgstore::NodeEvent>, String), crate::api::error::ApiError> {
    crate::api::global_events::check_filter(&filter)?;
    filter.order = netaudit_store::Order::Descending;
    tokio::task::spawn_blocking(move || {
        let heads: netaudit_pgstore::NodeHeads = reader.heads()?.into_iter().collect();
        let query = netaudit_pgstore::GlobalQuery {
            filter,
            node: None,
            after: None,
            upto: Some(heads.clone()),
        };
        let page = reader.query(&query)?;
        Ok((page.events, netaudit_pgstore::heads_to_text(&heads)))
    })
    .await
    .map_err(crate::api::error::ApiError::internal)?
    .map_err(|e: netaudit_pgstore::PgStoreError| {
        crate::api::error::ApiError::hiding(
            StatusCode::SERVICE_UNAVAILABLE,
            "tail: the PostgreSQL store cannot be read (see the server log)",
            e,
        )
    })
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
        if let Some((_, v)) = after.first().filter(|(_, v)| v != "0" && !v.is_empty()) {
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
