//! `netaudit report ndcpp` and `GET /api/v1/report/ndcpp` (docs/report.md):
//! which NDcPP audit requirements (seed 003, Table 1) the stored events
//! give evidence for, per device, in a period.
//!
//! ```text
//! requirements.rs  the table (data in crates/server/data/ndcpp/), compiled in
//! coverage.rs      one pass over the events -> rows (pure)
//! render.rs        JSON and the self-contained HTML page
//! pdf.rs           the PDF, printed from the HTML by headless Chromium
//! ```

pub(crate) mod coverage;
pub(crate) mod pdf;
pub(crate) mod render;
pub(crate) mod requirements;

use netaudit_store::{Page, Query, StoreError};

use crate::clock::now_ns;
use coverage::{Coverage, RowCoverage};
use render::ReportInfo;

/// Events read per page.
const PAGE: usize = 10_000;

/// What a report covers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Period {
    pub since_ns: Option<i64>,
    pub until_ns: Option<i64>,
    pub host: Option<String>,
}

/// Reads every event of `period` through `fetch` (a store's or a
/// reader's query) and returns the coverage of the NDcPP table.
pub(crate) fn ndcpp(
    period: &Period,
    mut fetch: impl FnMut(&Query) -> Result<Page, StoreError>,
) -> Result<(ReportInfo, Vec<RowCoverage>), StoreError> {
    let mut coverage = Coverage::new(requirements::ndcpp());
    let mut after = None;
    loop {
        let page = fetch(&Query {
            since_ns: period.since_ns,
            until_ns: period.until_ns,
            host: period.host.clone(),
            after_seq: after,
            limit: PAGE,
            ..Query::default()
        })?;
        for stored in &page.events {
            coverage.observe(stored.seq, &stored.event);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let info = ReportInfo {
        generated_ns: now_ns(),
        since_ns: period.since_ns,
        until_ns: period.until_ns,
        host: period.host.clone(),
        events: coverage.events,
    };
    Ok((info, coverage.finish()))
}
