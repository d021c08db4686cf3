//! `netaudit store migrate|copy`: the PostgreSQL store's schema, and an
//! embedded store moved into it (docs/cluster.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use netaudit_pgstore::{copy_sqlite_store, migrate, verify_nodes, SCHEMA_VERSION};
use netaudit_store::{read_local_verify_key, StoreConfig, VerifyKey};

use super::store_target::{connect, print_node_reports};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Debug, clap::Subcommand)]
enum StoreCommand {
    /// Create or bring up to date the netaudit schema in a PostgreSQL database.
    Migrate(MigrateArgs),
    /// Copy an embedded (SQLite) store into PostgreSQL as one node's chain, then verify it.
    Copy(CopyArgs),
}

/// How a PostgreSQL database is named, shown under each command's help.
const CONNECTION_HELP: &str = "\
CONNECTION: a libpq URL or key=value string:
  postgres://USER@HOST:PORT,HOST2:PORT/DB?target_session_attrs=read-write
  'host=HOST1,HOST2 port=5432 user=USER dbname=DB password_file=/etc/netaudit/pg.pass'
The password comes from password_file=FILE (its first line), else from the
PGPASSWORD environment variable (a password written in the string itself
works but shows in the process list). sslrootcert=FILE turns TLS on (rustls),
checking the server's certificate and name against that CA. Messages name
the database as host:port/db as user, never with the password.";

#[derive(Debug, clap::Args)]
#[command(after_help = CONNECTION_HELP)]
struct MigrateArgs {
    /// The PostgreSQL database (libpq URL or key=value string).
    #[arg(long, value_name = "CONNECTION")]
    to: String,
}

#[derive(Debug, clap::Args)]
#[command(after_help = CONNECTION_HELP)]
struct CopyArgs {
    /// The embedded store: `sqlite:PATH` (its catalog, e.g. sqlite:./data/netaudit.db).
    /// The copy takes the store's writer lock: it is refused while `serve` runs on it.
    #[arg(long, value_name = "sqlite:PATH")]
    from: String,
    /// The PostgreSQL database (libpq URL or key=value string; see `store migrate --help`).
    #[arg(long, value_name = "CONNECTION")]
    to: String,
    /// The node id the store's chain becomes (1-64 of A-Z a-z 0-9 . _ -).
    /// Default: `store-` and the store's id in hex.
    #[arg(long, value_name = "NODE")]
    node: Option<String>,
    /// The store's verify key, to verify the copy. Default: the local copy
    /// beside the store, while it has not been exported.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        StoreCommand::Migrate(a) => run_migrate(a),
        StoreCommand::Copy(a) => run_copy(a),
    }
}

fn run_migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let (spec, mut client) = connect(&args.to)?;
    let done = migrate(&mut client, spec.target())?;
    if done.from == done.to {
        println!(
            "{}: netaudit schema version {} is current",
            spec.target(),
            done.to
        );
    } else {
        println!(
            "{}: netaudit schema migrated from version {} to {} (this netaudit's: {SCHEMA_VERSION})",
            spec.target(),
            done.from,
            done.to
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_copy(args: CopyArgs) -> anyhow::Result<ExitCode> {
    let Some(path) = args.from.strip_prefix("sqlite:") else {
        bail!(
            "--from {}: give the embedded store as sqlite:PATH (its catalog database)",
            args.from
        );
    };
    let path = PathBuf::from(path);
    if !path.is_file() {
        bail!("--from sqlite:{}: no such store catalog", path.display());
    }
    let config = StoreConfig::new(path.clone());
    let key = match &args.key {
        Some(k) => Some(VerifyKey::read(k)?),
        None => read_local_verify_key(&config).ok(),
    };
    let (spec, mut client) = connect(&args.to)?;
    let node = match args.node {
        Some(n) => n,
        None => {
            let reader = netaudit_store::Reader::open(&path)?;
            format!("store-{}", hex::encode(reader.store_id()?))
        }
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} events {per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = copy_sqlite_store(&path, &mut client, spec.target(), &node, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .with_context(|| format!("store copy into node \"{node}\""))?;
    bar.finish_and_clear();
    let secs = summary.elapsed.as_secs_f64().max(1e-9);
    println!(
        "copied {} events ({}..{}) and {} checkpoints from {} into node \"{}\" of {} in {:.1} s ({:.0} events/s)",
        summary.events,
        summary.first_seq,
        summary.last_seq,
        summary.checkpoints,
        path.display(),
        summary.node_id,
        spec.target(),
        secs,
        summary.events as f64 / secs
    );
    let Some(key) = key else {
        println!(
            "  NOT VERIFIED: no verify key (pass --key FILE, the key `netaudit keys export-verify` wrote); \
             run `netaudit verify --store ... --key FILE` to verify the copy"
        );
        return Ok(ExitCode::SUCCESS);
    };
    let found = verify_nodes(&mut client, spec.target(), &[key], Some(&node))?;
    Ok(if print_node_reports(&found) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
