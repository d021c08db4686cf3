//! `netaudit query --store CONNECTION`: every node's events of a PostgreSQL
//! store in the global order (received time, node, sequence: docs/cluster.md),
//! with the same filters as on the embedded store, one page at a time.

use anyhow::Context;
use netaudit_pgstore::{query_global, GlobalKey, GlobalPage, GlobalQuery};
use netaudit_store::Query;

/// Reads one page of `filter` from the database `connection` names.
pub(crate) fn run(
    connection: &str,
    filter: Query,
    node: Option<String>,
    page: Option<&str>,
) -> anyhow::Result<GlobalPage> {
    if let Some(node) = &node {
        netaudit_pgstore::check_node_id(node).context("--node")?;
    }
    if let Some(code) = &filter.code {
        netaudit_pgstore::check_code_glob(code).context("--code")?;
    }
    let after = page
        .map(str::parse::<GlobalKey>)
        .transpose()
        .context("--page")?;
    let (spec, mut client) = super::store_target::connect(connection)?;
    netaudit_pgstore::check_schema(&mut client, spec.target())?;
    let query = GlobalQuery {
        filter,
        node,
        after,
        upto: None,
    };
    Ok(query_global(&mut client, spec.target(), &query)?)
}
