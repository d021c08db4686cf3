//! `netaudit serve`: listeners -> bounded channel -> batcher -> store.
//!
//! ```text
//! UDP / TCP / TLS listeners (parse in the connection task)
//!     -> mpsc channel of Vec<RawBackedEvent> chunks (pipeline.channel_capacity)
//!     -> batcher task (pipeline.batch_max_events or batch_max_delay_ms)
//!     -> store writer thread (owns the store; one transaction per batch)
//! ```
//!
//! Signals: SIGTERM and SIGINT stop the listeners accepting, read their open
//! connections to the end (bounded), drain the channel, commit the open
//! batch and return (a failing store is waited for at most
//! `pipeline.shutdown_store_wait_secs`, then what it could not store is
//! reported by origin and `serve` fails); SIGHUP re-reads the configuration file and
//! restarts only the listeners whose configuration changed.

pub(crate) mod http;
pub(crate) mod listener;
mod notify;
mod relp;
mod stops;
pub(crate) mod tls;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use netaudit_syslog::RawBackedEvent;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ListenerConfig};
use crate::metrics::Metrics;
use crate::netconf::collector::DeviceCollector;
use crate::netconf::NetconfCollectors;
use crate::netconf_server::{ExporterContext, NetconfExporter};
use crate::output::control::{Actor, AppliedReload, ControlRequest, ReloadError};
use crate::output::{OutputContext, Outputs};
use crate::pipeline::batcher::{self, BatchLimits};
use crate::pipeline::ingest::Ingest;
use crate::pipeline::origin::{self, Chunk};
use crate::pipeline::sink::EventSink;
use crate::pipeline::store_wait::StoreWait;
use crate::policy::{Policies, PolicyContext};
use listener::RunningListener;

/// Runs the server until SIGTERM or SIGINT; returns the sink after the last
/// batch has been committed. `store` (the sink's store) feeds the outputs;
/// without it, configured outputs are refused. `cluster` is the PostgreSQL
/// store's reader when the sink is a node's chain there (the API's queries
/// read every node; outputs run on the node owning their lease, policies
/// do not run there yet). `damage` is what the
/// start-up check found and the operator accepted (`--accept-damaged-store`;
/// empty otherwise): it is stored as an internal event first, and `/health`
/// says `store-damaged` until an administrator acknowledges it
/// (`POST /api/v1/store/damage/ack`).
pub(crate) async fn serve<S: EventSink>(
    config: Config,
    config_path: Option<PathBuf>,
    sink: S,
    store: Option<Arc<netaudit_store::Store>>,
    cluster: Option<Arc<netaudit_pgstore::GlobalReader>>,
    damage: &[netaudit_store::Damage],
) -> anyhow::Result<S> {
    if store.is_none() && cluster.is_none() && !config.output.is_empty() {
        anyhow::bail!("outputs are configured but no store was given to read them from");
    }
    let metrics = Arc::new(Metrics::new());
    if let Some(cluster) = &cluster {
        let _ = metrics
            .store_name
            .set(format!("PostgreSQL {}", cluster.target()));
    }
    metrics.committed.start_at(sink.last_seq());
    if !sink.healthy_at_start() {
        metrics
            .store_healthy
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }
    if let Some(link) = sink.link_metrics() {
        let _ = metrics.store_link.set(link);
    }
    if let Some(store) = &store {
        let _ = metrics
            .unindexed_partitions
            .set(store.unindexed_partitions());
    }
    let (chunk_tx, chunk_rx) = mpsc::channel::<Chunk>(config.pipeline.channel_capacity);
    // The outputs' alerts enter the pipeline as netaudit's own events.
    let (alerts_tx, alerts_rx) = mpsc::channel::<Vec<RawBackedEvent>>(4);
    tokio::spawn(origin::forward_internal(alerts_rx, chunk_tx.clone()));
    record_accepted_damage(&metrics, &chunk_tx, damage).await;
    let (batch_tx, batch_rx) = mpsc::channel(1);
    // `POST /api/v1/outputs/reload` and `GET /api/v1/outputs` ask the loop
    // below, which owns the listeners and outputs.
    let (control_tx, mut control_rx) = mpsc::channel::<ControlRequest>(4);
    // The API sends its acknowledged batches straight to the writer.
    // On PostgreSQL (`cluster`), the API stores through the same writer
    // and reads every node's events.
    let api = if store.is_some() || cluster.is_some() {
        // On PostgreSQL, users and the lockout are the database's.
        let auth = crate::auth::AuthDb::open_configured(&config)?;
        Some(Arc::new(
            crate::api::ApiState::new(
                auth,
                batch_tx.downgrade(),
                store.clone(),
                metrics.clone(),
                config.api.clone(),
            )
            .with_control(control_tx)
            .with_cluster(cluster)
            .with_verify_key_folders(crate::api::node_verify::key_folders(&config.store)),
        ))
    } else {
        None
    };
    // Kept for the final seal, after the writer thread has stopped.
    let store_to_seal = store.clone();
    let pool = Arc::new(batcher::BatchPool::default());
    let store_wait = Arc::new(StoreWait::default());
    let writer = batcher::spawn_writer(
        sink,
        batch_rx,
        metrics.clone(),
        pool.clone(),
        store_wait.clone(),
    )?;
    let limits = BatchLimits {
        max_events: config.pipeline.batch_max_events,
        max_delay: Duration::from_millis(config.pipeline.batch_max_delay_ms),
    };
    let batches = batch_tx.downgrade();
    // Policies store their events straight to the writer and open their
    // own connection to the user database (for `lock-user`).
    let policy_context = match &store {
        Some(store) => Some(PolicyContext {
            store: store.clone(),
            metrics: metrics.clone(),
            writer: batch_tx.downgrade(),
            auth: crate::auth::AuthDb::open(&config.api.auth_db_path(&config.store))
                .map(Arc::new)
                .ok(),
        }),
        None => None,
    };
    let batcher = tokio::spawn(batcher::run_batcher(chunk_rx, batch_tx, limits, pool));

    let http_cancel = CancellationToken::new();
    if let Some(api) = &api {
        tokio::spawn(crate::api::drain_outbox(api.clone(), http_cancel.clone()));
    }
    let outputs_store = output_store(store, &config)?;
    let mut server = Server {
        config,
        config_path,
        metrics: metrics.clone(),
        chunk_tx,
        batches,
        listeners: Vec::new(),
        outputs_context: outputs_store.map(|store| OutputContext {
            store,
            metrics: metrics.clone(),
            alerts: alerts_tx,
        }),
        outputs: Outputs::default(),
        integrity: None,
        retention: None,
        storage: None,
        policy_context,
        policies: Policies::default(),
        netconf: NetconfCollectors::default(),
        exporter: None,
    };
    // Signals are caught from here on, and the HTTP port (whose `/health`
    // tells supervisors and tests that the server is up) opens last, once
    // every listener is bound.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let started = async {
        // Policies first: one never run before starts at the end of the
        // store as it is before anything is received.
        if let Some(ctx) = &server.policy_context {
            server.policies = Policies::start(&server.config.policies, ctx).await;
        }
        for listener_config in server.config.listeners.clone() {
            let running = RunningListener::start(
                listener_config.clone(),
                server.ingest(&listener_config),
                server.batches.clone(),
            )
            .await?;
            server.listeners.push(running);
        }
        server.netconf = NetconfCollectors::start(server.netconf_collectors());
        for callhome in server.config.input.netconf_callhome.clone() {
            let (devices, ingest) = server.callhome_collectors(&callhome);
            let address = callhome.address;
            let name = callhome.name.clone();
            let status = server.metrics.callhome(&name);
            server
                .netconf
                .start_callhome(callhome, devices, ingest, status)
                .await
                .map_err(|err| {
                    anyhow::anyhow!(
                        "input.netconf_callhome {name:?}: cannot listen on {address}: {err}"
                    )
                })?;
        }
        let embedded = server
            .outputs_context
            .as_ref()
            .and_then(|ctx| ctx.store.sqlite().cloned());
        if let Some(store) = &embedded {
            server.exporter = NetconfExporter::start(
                &server.config.netconf_server,
                &server.config.store,
                &server.config.api,
                ExporterContext {
                    store: store.clone(),
                    metrics: metrics.clone(),
                    events: server.chunk_tx.clone(),
                },
            )
            .await?;
        }
        if let Some(ctx) = &server.outputs_context {
            server.outputs = Outputs::start(&server.config.output, ctx);
        }
        if let Some(store) = &embedded {
            server.integrity = crate::integrity::IntegrityCheck::start(
                &server.config.integrity,
                &server.config.store.to_store_config(),
                metrics.clone(),
                server.chunk_tx.downgrade(),
            )?;
            server.retention = crate::retention_watch::RetentionWatch::start(
                store.clone(),
                metrics.clone(),
                server.chunk_tx.downgrade(),
            )?;
            server.storage = crate::storage_watch::StorageWatch::start(
                store.clone(),
                server.config.store.near_full_percent,
                metrics.clone(),
                server.chunk_tx.downgrade(),
            )?;
        }
        http::start(
            &server.config.http,
            metrics.clone(),
            api.clone(),
            http_cancel.clone(),
        )
        .await
    }
    .await;
    let http = match started {
        Ok(http) => {
            tracing::info!(
                store_last_seq = metrics.committed.last_seq(),
                "netaudit serve is running"
            );
            notify::ready(metrics.clone(), http_cancel.clone());
            loop {
                tokio::select! {
                    _ = terminate.recv() => { tracing::info!("SIGTERM: shutting down"); notify::stopping(); break; }
                    _ = interrupt.recv() => { tracing::info!("SIGINT: shutting down"); notify::stopping(); break; }
                    _ = hangup.recv() => server.reload_on_signal().await,
                    Some(request) = control_rx.recv() => server.control(request).await,
                }
            }
            Some(http)
        }
        Err(err) => {
            tracing::error!(error = %err, "startup failed; committing what was received");
            begin_store_wait(&store_wait, &server.config.pipeline);
            server.shutdown(batcher, writer, None, http_cancel).await?;
            if let Err(done) = finish_store(&store_wait, store_to_seal.as_deref()) {
                tracing::error!(error = %done, "startup failed and the store is not left clean");
            }
            return Err(err);
        }
    };
    begin_store_wait(&store_wait, &server.config.pipeline);
    let sink = server.shutdown(batcher, writer, http, http_cancel).await?;
    finish_store(&store_wait, store_to_seal.as_deref())?;
    Ok(sink)
}

/// What the outputs read: the embedded store, or on a PostgreSQL node
/// every node's events, each output owned by one node at a time
/// (`output/ownership.rs`); `None` without a store.
fn output_store(
    store: Option<Arc<netaudit_store::Store>>,
    config: &Config,
) -> anyhow::Result<Option<crate::output::OutputStore>> {
    use crate::config::store_backend::StoreBackend;
    use crate::output::OutputStore;
    if let Some(store) = store {
        return Ok(Some(OutputStore::Sqlite(store)));
    }
    let StoreBackend::Postgres(node) = &config.store.backend else {
        return Ok(None);
    };
    let cluster = crate::output::cluster::ClusterOutputs::start(
        node.spec()?,
        node.node.clone(),
        node.output_lease,
    );
    Ok(Some(OutputStore::Postgres {
        cluster,
        owned: None,
    }))
}

/// The shutdown has begun: a failing store append is retried for
/// `pipeline.shutdown_store_wait_secs` more, then given up on.
fn begin_store_wait(wait: &StoreWait, pipeline: &crate::config::PipelineConfig) {
    wait.begin(Duration::from_secs(pipeline.shutdown_store_wait_secs));
}

/// After the writer thread has stopped: if every received event was
/// stored, seal the open epoch (the clean exit); otherwise report, at
/// ERROR and as the error `serve` fails with, how many events of which
/// origin were given up on (the seal is still tried, and its failure
/// logged).
fn finish_store(wait: &StoreWait, store: Option<&netaudit_store::Store>) -> anyhow::Result<()> {
    let lost = wait.lost();
    if lost.is_empty() {
        return seal_on_shutdown(store);
    }
    let total: u64 = lost.values().sum();
    let from = lost
        .iter()
        .map(|(origin, count)| format!("{origin}: {count}"))
        .collect::<Vec<_>>()
        .join(", ");
    tracing::error!(
        not_stored = total,
        from = %from,
        "shutdown: the store kept failing past pipeline.shutdown_store_wait_secs; received events not stored"
    );
    if let Err(seal) = seal_on_shutdown(store) {
        tracing::error!(error = %seal, "shutdown: the tail is not sealed either");
    }
    anyhow::bail!(
        "shutdown: {total} received event(s) could not be stored (the store kept failing past pipeline.shutdown_store_wait_secs): {from}"
    )
}

/// A start on a damaged store the operator accepted: mark `/health`, and
/// put one internal event naming every break first into the pipeline (the
/// batcher, started next, stores it before anything received).
async fn record_accepted_damage(
    metrics: &Metrics,
    chunk_tx: &mpsc::Sender<Chunk>,
    damage: &[netaudit_store::Damage],
) {
    if damage.is_empty() {
        return;
    }
    use std::sync::atomic::Ordering::Relaxed;
    metrics.store_damaged.store(true, Relaxed);
    let list: Vec<String> = damage.iter().map(ToString::to_string).collect();
    tracing::warn!(
        damage = %list.join("; "),
        "starting on a damaged store (--accept-damaged-store); /health says store-damaged until an administrator acknowledges it"
    );
    let event = crate::self_events::internal_event(
        STORE_DAMAGED_CODE,
        netaudit_event::Severity::Alert,
        format!(
            "started on a damaged store (--accept-damaged-store): {}",
            list.join("; ")
        ),
    );
    if chunk_tx
        .send(Chunk::internal(vec![event.into()]))
        .await
        .is_ok()
    {
        metrics.internal_events.fetch_add(1, Relaxed);
    }
}

/// The code of the internal event a start on an accepted damaged store stores.
pub(crate) const STORE_DAMAGED_CODE: &str = "NETAUDIT_STORE_DAMAGED";

/// The last step of a clean shutdown, once the writer thread has committed
/// the last batch (nothing appends after it): seal the open epoch, so that
/// `verify` finds no unsealed tail. A failure here makes the exit non-zero.
fn seal_on_shutdown(store: Option<&netaudit_store::Store>) -> anyhow::Result<()> {
    let Some(store) = store else {
        return Ok(());
    };
    match store.seal_tail() {
        Ok(Some(checkpoint)) => {
            tracing::info!(
                epoch = checkpoint.epoch,
                sealed_through = checkpoint.last_seq,
                "stopped: the open epoch is sealed"
            );
            Ok(())
        }
        Ok(None) => {
            tracing::info!(
                last_seq = store.last_seq(),
                "stopped: nothing unsealed to seal"
            );
            Ok(())
        }
        Err(err) => Err(anyhow::Error::new(err)
            .context("shutting down: cannot seal the open epoch; `netaudit verify` will report the unsealed tail")),
    }
}

/// A listener as the reload log names it: `name (protocol address)`.
fn describe(listener: &ListenerConfig) -> String {
    format!(
        "{} ({} {})",
        listener.display_name(),
        listener.protocol(),
        listener.address
    )
}

/// SIGTERM and SIGINT: every listener stops accepting and reads its open
/// connections to their end (peer's close, `shutdown_quiet_ms` of silence,
/// or `shutdown_drain_secs`), all at the same time; returns when all have
/// handed over what they read.
async fn drain_listeners(listeners: Vec<RunningListener>) {
    futures::future::join_all(listeners.into_iter().map(RunningListener::drain)).await;
}

struct Server {
    config: Config,
    config_path: Option<PathBuf>,
    metrics: Arc<Metrics>,
    chunk_tx: mpsc::Sender<Chunk>,
    /// The store writer, for listeners that answer only once stored (RELP).
    batches: mpsc::WeakSender<batcher::BatchHandle>,
    listeners: Vec<RunningListener>,
    /// Present when the server runs on a store (outputs read from it).
    outputs_context: Option<OutputContext>,
    outputs: Outputs,
    /// The scheduled chain verification, when `[integrity]` sets one.
    integrity: Option<crate::integrity::IntegrityCheck>,
    /// Retention's drops and waits told as events, when retention is set.
    retention: Option<crate::retention_watch::RetentionWatch>,
    /// Audit storage near full told as events (`store.near_full_percent`).
    storage: Option<crate::storage_watch::StorageWatch>,
    /// Present when the server runs on a store (policies read from it).
    policy_context: Option<PolicyContext>,
    policies: Policies,
    /// The `[[input.netconf]]` collectors, one task per device.
    netconf: NetconfCollectors,
    /// The NETCONF exporter, when `[netconf_server]` is enabled.
    exporter: Option<NetconfExporter>,
}

impl Server {
    fn ingest(&self, listener: &ListenerConfig) -> Ingest {
        Ingest {
            tx: self.chunk_tx.clone(),
            origin: origin::listener_origin(&listener.display_name()),
            metrics: self
                .metrics
                .listener(&listener.display_name(), &listener.protocol().to_string()),
            global: self.metrics.clone(),
            on_parse_error: listener.on_parse_error,
            chunk_max_events: self.config.pipeline.chunk_max_events,
        }
    }

    /// One collector per `[[input.netconf]]` device, feeding the pipeline
    /// as a listener does (its counters under `netconf:<name>`).
    fn netconf_collectors(&self) -> Vec<DeviceCollector> {
        self.config
            .input
            .netconf
            .iter()
            .map(|device| self.netconf_collector(device, &device.peer()))
            .collect()
    }

    fn netconf_ingest(&self, name: &str) -> Ingest {
        Ingest {
            tx: self.chunk_tx.clone(),
            origin: origin::netconf_origin(name),
            metrics: self.metrics.listener(&format!("netconf:{name}"), "netconf"),
            global: self.metrics.clone(),
            on_parse_error: crate::config::OnParseError::Store,
            chunk_max_events: self.config.pipeline.chunk_max_events,
        }
    }

    fn netconf_collector(
        &self,
        device: &crate::config::netconf_device::NetconfDeviceConfig,
        peer: &str,
    ) -> DeviceCollector {
        DeviceCollector {
            ingest: self.netconf_ingest(&device.name),
            status: self.metrics.netconf_device(&device.name, peer),
            device: device.clone(),
        }
    }

    /// The collectors of a `[[input.netconf_callhome]]` listener's devices
    /// (no peer until one connects), and the listener's own ingest for the
    /// events of connections no device is known for.
    fn callhome_collectors(
        &self,
        callhome: &crate::config::netconf_callhome::CallhomeConfig,
    ) -> (Vec<DeviceCollector>, Ingest) {
        let devices = callhome
            .devices
            .iter()
            .map(|device| self.netconf_collector(&device.session, ""))
            .collect();
        (devices, self.netconf_ingest(&callhome.name))
    }

    /// SIGHUP: reload, then store the audit events of the output changes
    /// (actor `local-signal` from `local`) through the pipeline.
    async fn reload_on_signal(&mut self) {
        match self.reload("SIGHUP").await {
            Ok(applied) => {
                let events = crate::output::control::audit_events(
                    &applied.old,
                    &applied.new,
                    &Actor::local_signal(),
                );
                let events: Vec<RawBackedEvent> = events.into_iter().map(Into::into).collect();
                if !events.is_empty() && self.chunk_tx.send(Chunk::internal(events)).await.is_err()
                {
                    tracing::error!("SIGHUP: the pipeline is closed; output change events lost");
                }
            }
            Err(ReloadError::NoConfigFile) => {
                tracing::info!("SIGHUP: running on the embedded defaults, nothing to reload");
            }
            Err(err) => {
                tracing::error!(error = %err, "SIGHUP: configuration rejected; keeping the running one");
            }
        }
    }

    /// A request from the API; the API stores the audit events itself
    /// (acknowledged, with the logged-in user as actor).
    async fn control(&mut self, request: ControlRequest) {
        match request {
            ControlRequest::Reload(reply) => {
                let result = self
                    .reload("API reload (POST /api/v1/outputs/reload)")
                    .await;
                if let Err(err) = &result {
                    tracing::error!(error = %err, "API reload: configuration rejected; keeping the running one");
                }
                let _ = reply.send(result);
            }
            ControlRequest::Outputs(reply) => {
                let _ = reply.send(self.config.output.clone());
            }
            ControlRequest::Policies(reply) => {
                let _ = reply.send(self.config.policies.clone());
            }
        }
    }

    /// SIGHUP and the API (`by` names which, for the log): re-read the file; keep listeners whose
    /// configuration is unchanged, stop the others, then start the new
    /// ones; the same for outputs. An invalid file changes nothing.
    async fn reload(&mut self, by: &'static str) -> Result<AppliedReload, ReloadError> {
        let Some(path) = self.config_path.clone() else {
            return Err(ReloadError::NoConfigFile);
        };
        let mut new = Config::load(&path)?;
        new.resolve_outputs()?;
        for (what, changed) in [
            ("store", new.store != self.config.store),
            ("pipeline", new.pipeline != self.config.pipeline),
            ("http", new.http != self.config.http),
            ("log", new.log != self.config.log),
            ("api", new.api != self.config.api),
            ("integrity", new.integrity != self.config.integrity),
        ] {
            if changed {
                tracing::warn!(
                    section = what,
                    "{by}: this section changed; it takes effect at the next restart"
                );
            }
        }
        let (keep, stop): (Vec<_>, Vec<_>) = std::mem::take(&mut self.listeners)
            .into_iter()
            .partition(|running| new.listeners.contains(&running.config));
        let stopped = stop.len();
        let stopped_names: Vec<String> = stop.iter().map(|r| describe(&r.config)).collect();
        for running in stop {
            running.stop().await;
        }
        self.listeners = keep;
        let kept = self.listeners.len();
        for running in &self.listeners {
            match running.reload_tls() {
                Ok(true) => tracing::info!(
                    listener = %running.config.display_name(),
                    "{by}: TLS certificate, key and CA files re-read"
                ),
                Ok(false) => {}
                Err(err) => tracing::error!(
                    error = %err,
                    "{by}: TLS files rejected; the listener keeps its current ones"
                ),
            }
        }
        let mut started = 0;
        let mut failed = 0;
        let mut started_names: Vec<String> = Vec::new();
        for listener_config in &new.listeners {
            if self.listeners.iter().any(|r| &r.config == listener_config) {
                continue;
            }
            match RunningListener::start(
                listener_config.clone(),
                self.ingest(listener_config),
                self.batches.clone(),
            )
            .await
            {
                Ok(running) => {
                    started_names.push(describe(&running.config));
                    self.listeners.push(running);
                    started += 1;
                }
                Err(err) => {
                    failed += 1;
                    tracing::error!(error = %err, "{by}: listener not started");
                }
            }
        }
        if stopped > 0 && kept == 0 {
            // Not one listener survived: say what went and what came, so a
            // wrong file is seen at once.
            tracing::warn!(
                stopped = %stopped_names.join(", "),
                started = %if started_names.is_empty() { "none".to_string() } else { started_names.join(", ") },
                "reload stopped every listener"
            );
        }
        self.config.listeners = new.listeners.clone();
        if let Some(ctx) = &self.outputs_context {
            let (kept, stopped, started) = self.outputs.reload(&new.output, ctx).await;
            tracing::info!(kept, stopped, started, "{by}: outputs reloaded");
        }
        if let Some(ctx) = &self.policy_context {
            let (kept, stopped, started) = self.policies.reload(&new.policies, ctx).await;
            tracing::info!(kept, stopped, started, "{by}: policies reloaded");
        }
        self.config.policies = new.policies.clone();
        let old_output = std::mem::replace(&mut self.config.output, new.output.clone());
        tracing::info!(
            kept,
            stopped,
            started,
            failed,
            "{by}: configuration reloaded"
        );
        Ok(AppliedReload {
            old: old_output,
            new: new.output,
        })
    }

    /// Stop listeners, let the batcher commit everything, stop the writer.
    async fn shutdown<S: EventSink>(
        self,
        batcher: tokio::task::JoinHandle<()>,
        writer: std::thread::JoinHandle<S>,
        http: Option<tokio::task::JoinHandle<()>>,
        http_cancel: CancellationToken,
    ) -> anyhow::Result<S> {
        let Server {
            listeners,
            chunk_tx,
            metrics,
            outputs,
            outputs_context,
            integrity,
            retention,
            storage,
            policies,
            policy_context,
            netconf,
            exporter,
            ..
        } = self;
        if let Some(storage) = storage {
            storage.stop();
        }
        // The collectors hold senders of the pipeline: they stop first,
        // each storing the end of its session.
        netconf.stop().await;
        if let Some(exporter) = exporter {
            exporter.stop().await;
        }
        if let Some(integrity) = integrity {
            integrity.stop();
        }
        if let Some(retention) = retention {
            retention.stop();
        }
        drain_listeners(listeners).await;
        // Outputs stop before the pipeline closes (they may hold a sender
        // for alert events); what they delivered is behind their cursors.
        outputs.stop().await;
        drop(outputs_context);
        policies.stop().await;
        drop(policy_context);
        drop(chunk_tx);
        if let Err(err) = batcher.await {
            tracing::error!(error = %err, "batcher task failed");
        }
        let sink = tokio::task::spawn_blocking(move || writer.join())
            .await?
            .map_err(|_| anyhow::anyhow!("store writer thread panicked"))?;
        http_cancel.cancel();
        if let Some(http) = http {
            let _ = http.await;
        }
        use std::sync::atomic::Ordering::Relaxed;
        tracing::info!(
            received = metrics.total(|l| &l.received),
            parse_errors = metrics.total(|l| &l.parse_errors),
            dropped = metrics.total(|l| &l.dropped),
            stored = metrics.stored.load(Relaxed),
            last_seq = metrics.committed.last_seq(),
            "stopped: the open batch is committed"
        );
        Ok(sink)
    }
}
