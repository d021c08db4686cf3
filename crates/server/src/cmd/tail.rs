//! `netaudit tail [-f]`: the newest events, and with -f the ones that follow.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use netaudit_store::{Order, Query, Reader};

use super::common::DbArgs;
use crate::display::{write_events, EventFormat};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub db: DbArgs,
    /// How many of the newest events to print first.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub lines: usize,
    /// Keep printing new events as they are stored.
    #[arg(short, long)]
    pub follow: bool,
    /// How often to look for new events with --follow, in milliseconds.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    pub interval_ms: u64,
    #[arg(long, value_enum, default_value_t = EventFormat::Table)]
    pub format: EventFormat,
    /// A PostgreSQL store (connection string, docs/cluster.md) instead of
    /// --db: every node's events, each node followed after its own last
    /// sequence number.
    #[arg(long, value_name = "CONNECTION")]
    pub store: Option<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(connection) = &args.store {
        return super::tail_global::run(
            connection,
            args.lines,
            args.follow,
            Duration::from_millis(args.interval_ms.max(10)),
            args.format,
        );
    }
    let mut reader = Reader::open(&args.db.db)?;
    let stdout = io::stdout();
    let mut last = reader.last_seq()?;
    if args.lines > 0 {
        let mut page = reader.query(&Query {
            order: Order::Descending,
            limit: args.lines,
            ..Query::default()
        })?;
        page.events.reverse();
        let mut out = stdout.lock();
        write_events(&mut out, &page.events, args.format, true)
            .context("writing to standard output")?;
        out.flush().context("writing to standard output")?;
        if let Some(e) = page.events.last() {
            last = last.max(e.seq);
        }
    }
    if !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        let page = reader.query(&Query {
            after_seq: Some(last),
            limit: 1000,
            ..Query::default()
        })?;
        if let Some(e) = page.events.last() {
            last = e.seq;
            let mut out = stdout.lock();
            match write_events(&mut out, &page.events, args.format, false)
                .and_then(|()| out.flush())
            {
                Ok(()) => {}
                // The reader went away (`| head`): a normal end.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
                Err(e) => return Err(e).context("writing to standard output"),
            }
        }
        if page.next.is_none() {
            std::thread::sleep(Duration::from_millis(args.interval_ms.max(10)));
        }
    }
}
