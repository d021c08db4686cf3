//! `netaudit report ndcpp`: the NDcPP audit coverage report (docs/report.md),
//! of the embedded store (`--db`) or of every node of a PostgreSQL store
//! (`--store`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use netaudit_pgstore::{node_heads, query_global, GlobalQuery};
use netaudit_store::{Query, Reader};

use super::common::DbArgs;
use crate::display::{now_ns, parse_time_range};
use crate::report::source::{ClusterPages, EmbeddedPages};
use crate::report::{self, pdf, render, Period};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub report: Report,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Report {
    /// Which NDcPP audit requirements (seed 003, Table 1) the stored events
    /// give evidence for, per device: counts, first and last seen, one
    /// sample record with its additional contents checked.
    Ndcpp(NdcppArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReportFormat {
    Json,
    Html,
    Pdf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct NdcppArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Events at or after this time (RFC 3339, or relative: 30s, 15m, 1h, 7d, 2w).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Events before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only this sending host.
    #[arg(long)]
    pub host: Option<String>,
    /// json (default), html (one self-contained page) or pdf (printed from
    /// the HTML by headless Chromium; needs --output).
    #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
    pub format: ReportFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A PostgreSQL store (connection string, docs/cluster.md) instead of
    /// --db: every node's events, up to each node's last one when the
    /// report begins.
    #[arg(long, value_name = "CONNECTION")]
    pub store: Option<String>,
    /// The Chromium that prints the PDF.
    #[arg(long, value_name = "PATH", default_value = "/usr/bin/chromium")]
    pub chromium: PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Report::Ndcpp(args) = args.report;
    let (since_ns, until_ns) =
        parse_time_range(args.since.as_deref(), args.until.as_deref(), now_ns())?;
    let period = Period {
        since_ns,
        until_ns,
        host: args.host.clone(),
    };
    let (info, rows) = match &args.store {
        Some(connection) => {
            let (spec, mut client) = super::store_target::connect(connection)?;
            netaudit_pgstore::check_schema(&mut client, spec.target())?;
            let upto = node_heads(&mut client, spec.target())?
                .into_iter()
                .collect();
            let query = |q: &GlobalQuery| query_global(&mut client, spec.target(), q);
            report::ndcpp(&period, ClusterPages { upto, query })?
        }
        None => {
            let mut reader = Reader::open(&args.db.db)?;
            report::ndcpp(&period, EmbeddedPages(|q: &Query| reader.query(q)))?
        }
    };
    let bytes = match args.format {
        ReportFormat::Json => {
            let mut text = serde_json::to_string_pretty(&render::json(&info, &rows))?;
            text.push('\n');
            text.into_bytes()
        }
        ReportFormat::Html => render::html(&info, &rows).into_bytes(),
        ReportFormat::Pdf => {
            let Some(out) = &args.output else {
                bail!("--format pdf needs --output FILE");
            };
            pdf::print(&args.chromium, &render::html(&info, &rows), out)?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .context("writing to standard output")?;
            out.flush().context("writing to standard output")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
