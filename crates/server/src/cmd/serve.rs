//! `netaudit serve`: the syslog receiver on the durable store.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::config::{Config, LogConfig, LogFormat};
use crate::pipeline::sink::StoreSink;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (TOML). Without it: the embedded defaults (store
    /// under ./data, TCP and UDP on 127.0.0.1:5514, HTTP on 127.0.0.1:8514).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    config.resolve_outputs()?;
    init_tracing(&config.log);
    match &args.config {
        Some(path) => eprintln!("netaudit serve: configuration {}", path.display()),
        None => eprintln!("netaudit serve: no --config given, running on the embedded defaults"),
    }
    eprint!("{}", config.summary());
    let store = netaudit_store::Store::open(config.store.to_store_config()).with_context(|| {
        format!(
            "store.path {}: cannot open the store",
            config.store.path.display()
        )
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("netaudit-serve")
        .build()
        .context("cannot start the async runtime")?;
    let sink = StoreSink::new(store);
    let shared = sink.store();
    let sink = runtime.block_on(crate::serve::serve(config, args.config, sink, Some(shared)))?;
    drop(sink);
    Ok(ExitCode::SUCCESS)
}

/// Structured logs of netaudit itself on stderr; RUST_LOG overrides `log.level`.
fn init_tracing(log: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
