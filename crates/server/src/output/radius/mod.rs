//! RADIUS accounting output (RFC 2866): the UDP client and the store
//! consumer. The `[[output.radius]]` configuration is `crate::config::output::radius`;
//! the pure codec and the event mapping live in the `netaudit-radius` crate;
//! see docs/radius.md.

pub(crate) mod client;
pub(crate) mod consumer;

#[cfg(test)]
mod freeradius_tests;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::output::radius as config;
use crate::metrics::radius::{RadiusConsumerMetrics, RadiusMetrics};
use crate::output::backoff::Backoff;
use crate::output::consumer::sleep_or_cancel;
use crate::output::context::OutputContext;

/// Runs one `[[output.radius]]` inside `serve` until `cancel` fires: the
/// counters go to the server's `netaudit_output_*` series for `name` (lag
/// included) and to `client_metrics` / `consumer_metrics` for the
/// `netaudit_radius_*` series. A table that does not resolve (secret,
/// addresses, dictionary) is logged and the output does not start; `serve`
/// and `check-config` call [`config::RadiusOutputConfig::resolve`] when they
/// check the configuration, so this happens only if a secret file changed
/// since.
pub(crate) async fn run_output(
    config: config::RadiusOutputConfig,
    ctx: OutputContext,
    client_metrics: Arc<RadiusMetrics>,
    consumer_metrics: Arc<RadiusConsumerMetrics>,
    cancel: CancellationToken,
) {
    let output_metrics = ctx.metrics.output(&config.name);
    let output = match config.resolve() {
        Ok(output) => output,
        Err(error) => {
            output_metrics
                .errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(output = %config.name, %error, "RADIUS accounting output not started");
            return;
        }
    };
    // RADIUS outputs read the embedded store only (the configuration
    // refuses them on PostgreSQL: the session replay reads by sequence).
    let Some(store) = ctx.store.sqlite().cloned() else {
        tracing::error!(output = %config.name, "RADIUS accounting outputs do not run on a PostgreSQL store");
        return;
    };
    // Opening reads the store (cursor, session replay) and binds sockets;
    // a failure there is retried, every 1 s doubling to 30 s.
    let mut backoff = Backoff::exact(Duration::from_secs(1), Duration::from_secs(30));
    loop {
        let opened = consumer::RadiusConsumer::open(
            output.clone(),
            store.clone(),
            ctx.alerts.clone(),
            client_metrics.clone(),
            consumer_metrics.clone(),
        );
        let consumer = tokio::select! {
            opened = opened => opened,
            _ = cancel.cancelled() => return,
        };
        match consumer {
            Ok(consumer) => {
                return consumer
                    .with_output_metrics(output_metrics)
                    .with_commits(ctx.metrics.committed.clone())
                    .run(cancel)
                    .await
            }
            Err(error) => {
                let delay = backoff.next_delay();
                output_metrics
                    .errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(output = %config.name, %error, retry_in_s = delay.as_secs(), "RADIUS accounting output cannot start; retrying");
                if !sleep_or_cancel(delay, &cancel).await {
                    return;
                }
            }
        }
    }
}
