//! A PostgreSQL store named on the command line (`--to`, `--store`): the
//! connection string read and connected to, and how a per-node
//! verification is printed (`netaudit verify --store`, `store copy`).

use netaudit_pgstore::{ConnectionSpec, NodeOutcome, NodeVerification};

/// Reads `text` (libpq URL or key=value, `password_file`, `PGPASSWORD`)
/// and connects. Errors name the database as `host:port/db as user`,
/// never with the password.
pub(crate) fn connect(text: &str) -> anyhow::Result<(ConnectionSpec, postgres::Client)> {
    let spec = ConnectionSpec::parse(text)?;
    let client = spec.connect()?;
    Ok((spec, client))
}

/// Prints one line per node (and the notes under it); `true` when every
/// node was walked without a break.
pub(crate) fn print_node_reports(found: &[NodeVerification]) -> bool {
    for n in found {
        let id = &n.node.node_id;
        match &n.outcome {
            NodeOutcome::Walked(report) => {
                println!("node {id}: {}", crate::display::verify_report_text(report))
            }
            NodeOutcome::NoKey => println!(
                "node {id}: NOT VERIFIED: no --key given is this node's verify key (store id {})",
                hex::encode(n.node.store_id)
            ),
            _ => println!("node {id}: NOT VERIFIED"),
        }
        if let NodeOutcome::Walked(report) = &n.outcome {
            if let Some((a, b)) = report.unsealed {
                println!(
                    "  UNSEALED: events {a}..{b} come after the node's last checkpoint; they are \
                     chained under the node's current key, so not yet tamper-proof"
                );
            }
        }
    }
    found.iter().all(NodeVerification::ok)
}
