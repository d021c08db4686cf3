//! `netaudit verify`: walk the chain and report where it breaks.

use std::path::PathBuf;
use std::process::ExitCode;

use netaudit_store::{read_local_verify_key, verify, VerifyKey};

use super::common::DbArgs;
use super::store_target::{connect, print_node_reports};
use crate::node_display::node_reports_json;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub db: DbArgs,
    /// The verify key written by `netaudit keys export-verify`. Default: the
    /// local copy beside the database, while it has not been exported. With
    /// --store, once per node (each key names its chain by store id).
    #[arg(long, value_name = "FILE")]
    pub key: Vec<PathBuf>,
    /// Verify a PostgreSQL store instead (libpq URL or key=value string; see
    /// `netaudit store migrate --help`): every node's chain, reported per node.
    #[arg(long, value_name = "CONNECTION", conflicts_with_all = ["live_key", "require_sealed"])]
    pub store: Option<String>,
    /// With --store: only this node.
    #[arg(long, value_name = "NODE", requires = "store")]
    pub node: Option<String>,
    /// The store's live key file, whose epoch must follow from the verify key
    /// and not be ahead of the chain (detects truncation). Default: the one
    /// beside the database, if readable.
    #[arg(long, value_name = "FILE")]
    pub live_key: Option<PathBuf>,
    /// Fail (exit 1) when events after the last checkpoint are not sealed yet.
    #[arg(long)]
    pub require_sealed: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(store) = &args.store {
        return run_postgres(store, &args);
    }
    let config = args.db.config();
    if args.key.len() > 1 {
        anyhow::bail!(
            "--key is given {} times: an embedded store has one verify key",
            args.key.len()
        );
    }
    let key = match args.key.first() {
        Some(path) => VerifyKey::read(path)?,
        None => read_local_verify_key(&config).map_err(|e| {
            anyhow::anyhow!("{e}\nhint: pass --key FILE, the verify key that `netaudit keys export-verify` wrote")
        })?,
    };
    let live = args
        .live_key
        .clone()
        .or_else(|| Some(config.key_path()).filter(|p| std::fs::File::open(p).is_ok()));
    let report = verify(&config.path, &key, live.as_deref())?;
    let unsealed_fails = args.require_sealed && report.unsealed.is_some();
    if args.json {
        let value = crate::display::verify_report_json(&report, report.ok() && !unsealed_fails);
        println!("{value}");
    } else {
        println!("{}", crate::display::verify_report_text(&report));
        if let Some((a, b)) = report.removed_by_retention {
            println!("  events {a}..{b} were removed by retention (anchored by a checkpoint)");
        }
        if let Some((a, b)) = report.unsealed {
            println!(
                "  UNSEALED: events {a}..{b} come after the last checkpoint; they are chained under the \
                 current key, which this machine still holds, so they are not yet tamper-proof"
            );
        }
        if let (Some(first), Some(last)) = (
            report.checkpoints_not_in_catalog_yet.first(),
            report.checkpoints_not_in_catalog_yet.last(),
        ) {
            println!(
                "  NOTE: the checkpoints of epochs {first}..{last} are in their partition but not yet \
                 copied to the catalog (a crash between the two commits, or the server is writing \
                 them now); the next start of the server copies them"
            );
        }
        match report.live_key_epoch {
            Some(e) => println!("  live key at epoch {e} follows from the verify key"),
            None => println!("  live key not checked (no readable key file)"),
        }
    }
    Ok(if report.ok() && !unsealed_fails {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `verify --store`: each node's chain in the PostgreSQL store, with the
/// verify key among `--key` whose store id is the node's.
fn run_postgres(store: &str, args: &Args) -> anyhow::Result<ExitCode> {
    let keys = args
        .key
        .iter()
        .map(|p| VerifyKey::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let (spec, mut client) = connect(store)?;
    netaudit_pgstore::check_schema(&mut client, spec.target())?;
    let found =
        netaudit_pgstore::verify_nodes(&mut client, spec.target(), &keys, args.node.as_deref())?;
    if let Some(node) = args.node.as_deref().filter(|_| found.is_empty()) {
        anyhow::bail!("{}: no node \"{node}\"", spec.target());
    }
    let ok = if args.json {
        println!("{}", node_reports_json(&found));
        found.iter().all(netaudit_pgstore::NodeVerification::ok)
    } else if found.is_empty() {
        println!("{}: no nodes yet", spec.target());
        true
    } else {
        print_node_reports(&found)
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
