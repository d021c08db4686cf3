//! `netaudit query`: filtered, paged reads of the store.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use netaudit_event::Severity;
use netaudit_store::{Order, Query, Reader};

use super::common::DbArgs;
use crate::display::{now_ns, parse_time_range, write_events, EventFormat};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub db: DbArgs,
    /// Events at or after this time (RFC 3339, or relative: 30s, 15m, 1h, 7d, 2w).
    /// The time is the event's own time, or its received time when unknown.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Events before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Code or Junos tag; a glob: `*`, `?`, `[...]` (case-sensitive), e.g. 'JUNOSCOPE_LOGIN_*'.
    #[arg(long, value_name = "GLOB")]
    pub code: Option<String>,
    /// At least this severe: emergency, alert, critical, error, warning, notice, info, debug.
    #[arg(long, value_name = "SEVERITY")]
    pub severity: Option<Severity>,
    /// Acting user, exactly.
    #[arg(long)]
    pub user: Option<String>,
    /// Sending host, exactly.
    #[arg(long)]
    pub host: Option<String>,
    /// Device the event concerns, exactly.
    #[arg(long)]
    pub device: Option<String>,
    /// Operation (archive, scan, restore ...) the event belongs to, by its name, exactly.
    #[arg(long, value_name = "NAME")]
    pub operation: Option<String>,
    /// Substring of the message text (ASCII case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// Most events to print.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Only events after this sequence number (the next page of an ascending query).
    #[arg(long, value_name = "SEQ")]
    pub after_seq: Option<u64>,
    /// Only events before this sequence number (the next page of a --reverse query).
    #[arg(long, value_name = "SEQ")]
    pub before_seq: Option<u64>,
    /// Newest first.
    #[arg(long)]
    pub reverse: bool,
    #[arg(long, value_enum, default_value_t = EventFormat::Table)]
    pub format: EventFormat,
    /// A PostgreSQL store (connection string, docs/cluster.md) instead of
    /// --db: every node's events in the global order (received time, node,
    /// sequence); --after-seq/--before-seq then bound each node's numbers.
    #[arg(long, value_name = "CONNECTION")]
    pub store: Option<String>,
    /// With --store: only this node's events.
    #[arg(long, value_name = "ID", requires = "store")]
    pub node: Option<String>,
    /// With --store: the page after this key (as the last page's "more events" line gives it).
    #[arg(long, value_name = "KEY", requires = "store")]
    pub page: Option<String>,
}

pub(crate) fn to_query(args: &Args) -> anyhow::Result<Query> {
    let (since_ns, until_ns) =
        parse_time_range(args.since.as_deref(), args.until.as_deref(), now_ns())?;
    Ok(Query {
        since_ns,
        until_ns,
        code: args.code.clone(),
        min_severity: args.severity,
        user: args.user.clone(),
        host: args.host.clone(),
        device: args.device.clone(),
        operation: args.operation.clone(),
        text: args.text.clone(),
        after_seq: args.after_seq,
        before_seq: args.before_seq,
        order: if args.reverse {
            Order::Descending
        } else {
            Order::Ascending
        },
        limit: args.limit,
    })
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let query = to_query(&args)?;
    if let Some(connection) = &args.store {
        let page =
            super::query_global::run(connection, query, args.node.clone(), args.page.as_deref())?;
        let stdout = io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        crate::node_display::write_node_events(&mut out, &page.events, args.format, true)
            .context("writing to standard output")?;
        out.flush().context("writing to standard output")?;
        if let Some(next) = page.next {
            eprintln!("more events: continue with --page {next}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut reader = Reader::open(&args.db.db)?;
    let page = reader.query(&query)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    write_events(&mut out, &page.events, args.format, true)
        .context("writing to standard output")?;
    out.flush().context("writing to standard output")?;
    if let Some(next) = page.next {
        let flag = if args.reverse {
            "--before-seq"
        } else {
            "--after-seq"
        };
        eprintln!("more events: continue with {flag} {next}");
    }
    Ok(ExitCode::SUCCESS)
}
