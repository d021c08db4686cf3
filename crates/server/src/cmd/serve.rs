//! `netaudit serve`: the syslog receiver on the durable store.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::config::store_backend::{PostgresNode, StoreBackend};
use crate::config::{Config, LogConfig, LogFormat};
use crate::pipeline::pg_sink::{PgNodeConfig, PgSink};
use crate::pipeline::sink::StoreSink;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Configuration file (TOML). Without it: the embedded defaults (store
    /// under ./data, TCP and UDP on 127.0.0.1:5514, HTTP on 127.0.0.1:8514).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Start even though the start-up check found the store damaged: the
    /// damage is stored as an event and `/health` says `store-damaged` until
    /// an administrator acknowledges it (`POST /api/v1/store/damage/ack`).
    #[arg(long)]
    pub accept_damaged_store: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
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
    if let StoreBackend::Postgres(node) = config.store.backend.clone() {
        if args.accept_damaged_store {
            anyhow::bail!(
                "--accept-damaged-store is for the embedded store; a PostgreSQL node's chains are checked with `netaudit verify --store`"
            );
        }
        return run_postgres(config, args.config, &node);
    }
    let damage = check_store_at_start(&config, args.accept_damaged_store)?;
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
    let sink = runtime.block_on(crate::serve::serve(
        config,
        args.config,
        sink,
        Some(shared),
        None,
        &damage,
    ))?;
    drop(sink);
    Ok(ExitCode::SUCCESS)
}

/// `serve` as node `node.node` of a cluster on PostgreSQL: the writer
/// appends the node's own chain there (its key file under the folder of
/// `store.path`, `<node>.node.key` unless `store.key_path` says), the API
/// reads every node's events; at a clean stop the open epoch is sealed.
fn run_postgres(
    config: Config,
    config_path: Option<PathBuf>,
    node: &PostgresNode,
) -> anyhow::Result<ExitCode> {
    let spec = node.spec()?;
    let key_path = config.store.key_path.clone().unwrap_or_else(|| {
        config
            .store
            .path
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(format!("{}.node.key", node.node))
    });
    if let Some(dir) = key_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("store.path: cannot create the folder {}", dir.display()))?;
    }
    let sink = PgSink::open(PgNodeConfig {
        spec: spec.clone(),
        node: node.node.clone(),
        key_path,
        epoch_events: config.store.epoch_events,
        epoch_interval: std::time::Duration::from_secs(config.store.epoch_interval_secs),
    })
    .with_context(|| format!("store.node \"{}\": cannot open the node", node.node))?;
    if sink.is_open() {
        tracing::info!(
            database = %sink.target(),
            node = %node.node,
            last_seq = crate::pipeline::sink::EventSink::last_seq(&sink),
            "PostgreSQL store: node open"
        );
    }
    if config.policies.iter().any(|p| p.enabled) {
        tracing::warn!(
            "the built-in event policies do not run on store.backend = \"postgres\" yet (docs/cluster.md)"
        );
    }
    let reader = std::sync::Arc::new(netaudit_pgstore::GlobalReader::new(spec));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("netaudit-serve")
        .build()
        .context("cannot start the async runtime")?;
    let mut sink = runtime.block_on(crate::serve::serve(
        config,
        config_path,
        sink,
        None,
        Some(reader),
        &[],
    ))?;
    match sink.seal() {
        Ok(Some(checkpoint)) => tracing::info!(
            epoch = checkpoint.epoch,
            sealed_through = checkpoint.last_seq,
            "stopped: the node's open epoch is sealed"
        ),
        Ok(None) => tracing::info!("stopped: nothing unsealed to seal"),
        Err(err) => {
            return Err(anyhow::Error::new(err).context(
                "shutting down: cannot seal the node's open epoch; `netaudit verify --store` will report the unsealed tail",
            ))
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The start-up check (before the store is opened, which would rebuild a
/// lost WAL's index): on damage, refuse to start with what and where and
/// what to do, unless the operator accepted it.
fn check_store_at_start(
    config: &Config,
    accept: bool,
) -> anyhow::Result<Vec<netaudit_store::Damage>> {
    let path = &config.store.path;
    let damage = netaudit_store::check_store(&config.store.to_store_config())
        .with_context(|| format!("store.path {}: cannot check the store", path.display()))?;
    if damage.is_empty() || accept {
        return Ok(damage);
    }
    let mut message = format!(
        "store.path {}: the start-up check found the store damaged:",
        path.display()
    );
    for d in &damage {
        message.push_str(&format!("\n  {d}"));
    }
    message.push_str(&format!(
        "\nnot starting. Run `netaudit verify --db {}` (with --key FILE, the exported verify key) \
         for the full extent, keep a copy of the store for examination, then either restore it \
         or start anyway with `netaudit serve --accept-damaged-store` (the damage is recorded \
         as an event and /health says store-damaged until an administrator acknowledges it)",
        path.display()
    ));
    anyhow::bail!(message)
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
