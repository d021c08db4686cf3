//! Where a report's events come from: the same report reads the embedded
//! store (pages by sequence number) or every node's events of a PostgreSQL
//! store (keyset pages in the global order, up to each node's head when the
//! report began, so that it ends under load). Each event comes with the node
//! whose chain holds it (none on the embedded store).

use netaudit_event::Event;
use netaudit_pgstore::{GlobalPage, GlobalQuery, NodeHeads, PgStoreError};
use netaudit_store::{Order, Page, Query, StoreError};

use super::period::Period;

/// Events read per page.
const PAGE: usize = 10_000;

/// Every event of a period, page by page. Events come with their
/// parameters parsed (a row may keep them in its raw bytes: the report's
/// checks read them).
pub(crate) trait EventSource {
    type Error;

    /// Calls `each` with (node, sequence number, event) for every event of
    /// `period`, oldest first.
    fn read(
        &mut self,
        period: &Period,
        each: &mut dyn FnMut(Option<&str>, u64, &Event),
    ) -> Result<(), Self::Error>;
}

/// The period's filters as a store query (one page after `after_seq`).
fn filter(period: &Period) -> Query {
    Query {
        since_ns: period.since_ns,
        until_ns: period.until_ns,
        host: period.host.clone(),
        order: Order::Ascending,
        limit: PAGE,
        ..Query::default()
    }
}

/// The embedded store, through a store's or a reader's query.
pub(crate) struct EmbeddedPages<F>(pub F);

impl<F: FnMut(&Query) -> Result<Page, StoreError>> EventSource for EmbeddedPages<F> {
    type Error = StoreError;

    fn read(
        &mut self,
        period: &Period,
        each: &mut dyn FnMut(Option<&str>, u64, &Event),
    ) -> Result<(), StoreError> {
        let mut after = None;
        loop {
            let page = (self.0)(&Query {
                after_seq: after,
                ..filter(period)
            })?;
            for stored in &page.events {
                each(None, stored.seq, &stored.with_params());
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }
}

/// Every node's events of a PostgreSQL store up to `upto` (each node's
/// last sequence number when the report began; a node not listed is left
/// out), through a reader's or a client's global query.
pub(crate) struct ClusterPages<F> {
    pub upto: NodeHeads,
    pub query: F,
}

impl<F: FnMut(&GlobalQuery) -> Result<GlobalPage, PgStoreError>> EventSource for ClusterPages<F> {
    type Error = PgStoreError;

    fn read(
        &mut self,
        period: &Period,
        each: &mut dyn FnMut(Option<&str>, u64, &Event),
    ) -> Result<(), PgStoreError> {
        let mut query = GlobalQuery {
            filter: filter(period),
            node: None,
            after: None,
            upto: Some(self.upto.clone()),
        };
        loop {
            let page = (self.query)(&query)?;
            for e in &page.events {
                each(Some(&e.node), e.event.seq, &e.event.with_params());
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(()),
            }
        }
    }
}
