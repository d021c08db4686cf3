//! RADIUS accounting output (RFC 2866): the UDP client, the store consumer
//! and the `[[output.radius]]` configuration. The pure codec and the event
//! mapping live in the `netaudit-radius` crate; see docs/radius.md.

pub mod client;
pub use crate::config::output::radius as config;
pub mod consumer;

#[cfg(test)]
mod freeradius_tests;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::output::OutputContext;

/// Runs one `[[output.radius]]` inside `serve` until `cancel` fires: the
/// counters go to the server's `netaudit_output_*` series for `name` (lag
/// included) and to `client_metrics` / `consumer_metrics` for the
/// `netaudit_radius_*` series. A table that does not resolve (secret,
/// addresses, dictionary) is logged and the output does not start; `serve`
/// and `check-config` call [`config::RadiusOutputConfig::resolve`] when they
/// check the configuration, so this happens only if a secret file changed
/// since.
pub async fn run_output(
    config: config::RadiusOutputConfig,
    ctx: OutputContext,
    client_metrics: Arc<client::RadiusMetrics>,
    consumer_metrics: Arc<consumer::ConsumerMetrics>,
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
    // Opening reads the store (cursor, session replay) and binds sockets;
    // a failure there is retried, every 1 s doubling to 30 s.
    let mut delay = std::time::Duration::from_secs(1);
    loop {
        let opened = consumer::RadiusConsumer::open(
            output.clone(),
            ctx.store.clone(),
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
                    .run(cancel)
                    .await
            }
            Err(error) => {
                output_metrics
                    .errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(output = %config.name, %error, retry_in_s = delay.as_secs(), "RADIUS accounting output cannot start; retrying");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cancel.cancelled() => return,
        }
        delay = (delay * 2).min(std::time::Duration::from_secs(30));
    }
}
