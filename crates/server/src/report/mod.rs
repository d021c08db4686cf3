//! `netaudit report ndcpp` and `GET /api/v1/report/ndcpp` (docs/report.md):
//! which NDcPP audit requirements (seed 003, Table 1) the stored events
//! give evidence for, per device, in a period.
//!
//! ```text
//! period.rs        what a report covers (window, host)
//! requirements.rs  the table (data in crates/server/data/ndcpp/), compiled in
//! source.rs        where the events come from: the embedded store or every
//!                  node of a PostgreSQL store (one trait, two sources)
//! coverage.rs      one pass over the events -> rows (pure)
//! render.rs        JSON and the self-contained HTML page
//! pdf.rs           the PDF, printed from the HTML by headless Chromium
//! ```

pub(crate) mod coverage;
pub(crate) mod pdf;
pub(crate) mod period;
pub(crate) mod render;
pub(crate) mod requirements;
pub(crate) mod source;

use crate::clock::now_ns;
use coverage::{Coverage, RowCoverage};
pub(crate) use period::Period;
use render::ReportInfo;
use source::EventSource;

/// Reads every event of `period` from `source` (the embedded store or
/// every node of a PostgreSQL store) and returns the coverage of the
/// NDcPP table.
pub(crate) fn ndcpp<S: EventSource>(
    period: &Period,
    mut source: S,
) -> Result<(ReportInfo, Vec<RowCoverage>), S::Error> {
    let mut coverage = Coverage::new(requirements::ndcpp());
    source.read(period, &mut |node, seq, event| {
        coverage.observe(node, seq, event)
    })?;
    let info = ReportInfo {
        generated_ns: now_ns(),
        since_ns: period.since_ns,
        until_ns: period.until_ns,
        host: period.host.clone(),
        events: coverage.events,
    };
    Ok((info, coverage.finish()))
}
