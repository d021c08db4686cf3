//! One device's collector: connect, hand every line of the stream to the
//! pipeline as a syslog message of that device, and reconnect with backoff
//! and jitter when the session fails or ends. Each device runs in its own
//! task, so a device that stalls holds up only itself. The session code
//! takes its transport as a parameter ([`Transport`]): a connection it
//! opens, or one a device opened to the call-home listener
//! (`callhome_device.rs` runs those).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use netaudit_event::Param;
use netaudit_syslog::{ParseOptions, RawBackedEvent};
use rand::Rng;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::error::{SessionError, Stage};
use super::events::{self, Channel};
use super::session::{ClientSession, Negotiated};
use super::ssh::{load_private_key, Attempt, DeviceHandler, SshChannel};
use crate::clock::now_ns;
use crate::config::netconf_device::{NetconfDeviceConfig, StreamMode};
use crate::metrics::NetconfDeviceMetrics;
use crate::pipeline::ingest::Ingest;
use crate::self_events::NETAUDIT_SD_ID;

/// The value of the `input` parameter of every event collected over NETCONF.
pub(crate) const INPUT_NETCONF: &str = "netconf";

/// What runs one device.
pub(crate) struct DeviceCollector {
    pub device: NetconfDeviceConfig,
    pub ingest: Ingest,
    pub status: Arc<NetconfDeviceMetrics>,
}

/// An open session: the SSH connection and the NETCONF session on its channel.
pub(crate) struct OpenSession {
    pub ssh: russh::client::Handle<super::ssh::DeviceHandler>,
    pub netconf: ClientSession<russh::ChannelStream<russh::client::Msg>>,
    pub negotiated: Negotiated,
    pub fingerprint: String,
}

impl OpenSession {
    pub(crate) async fn close(self) {
        let _ = self
            .ssh
            .disconnect(
                russh::Disconnect::ByApplication,
                "netaudit closes the session",
                "en",
            )
            .await;
    }
}

/// How the SSH connection of a session comes about.
pub(crate) enum Transport {
    /// netaudit connects to the device's address and port.
    Dial,
    /// The device connected to the call-home listener, which ran the SSH
    /// handshake up to the accepted host key.
    Accepted(russh::client::Handle<DeviceHandler>),
}

/// Why a session was stopped from netaudit's side, when it was not
/// netaudit stopping (a call-home device that connected again).
pub(crate) type StopReason = OnceLock<&'static str>;

/// Connects (or takes the device's connection), authenticates, exchanges
/// hellos and asks for the stream, all within the device's handshake
/// timeout; `since` is the time to replay from (subscriptions with
/// `catch_up`).
pub(crate) async fn open_session(
    device: &NetconfDeviceConfig,
    attempt: &Attempt,
    transport: Transport,
    since: Option<OffsetDateTime>,
) -> Result<OpenSession, SessionError> {
    let steps = async {
        let SshChannel {
            handle,
            stream,
            early,
            fingerprint,
        } = match transport {
            Transport::Dial => attempt.open(device).await?,
            Transport::Accepted(handle) => {
                let key = load_private_key(device)?;
                attempt.login(handle, device, key).await?
            }
        };
        let (mut netconf, negotiated) = ClientSession::hello(stream, &early).await?;
        netconf
            .open_stream(
                &device.stream_request(since),
                device.mode == StreamMode::CreateSubscription,
            )
            .await?;
        Ok(OpenSession {
            ssh: handle,
            netconf,
            negotiated,
            fingerprint,
        })
    };
    tokio::time::timeout(device.handshake_timeout, steps)
        .await
        .unwrap_or(Err(SessionError::Timeout(
            Stage::Handshake,
            device.handshake_timeout.as_secs(),
        )))
}

/// The pause before attempt `failures + 1`: doubling from `min` up to
/// `max`, then a random part of it taken off (between none and half), so
/// that devices that failed together do not come back together.
pub(crate) fn backoff(min: Duration, max: Duration, failures: u32) -> Duration {
    let base = min.saturating_mul(1u32 << failures.min(16)).min(max);
    let jitter = rand::thread_rng().gen_range(0.0..=0.5);
    base.mul_f64(1.0 - jitter)
}

/// The event for one received line, with the input and the device recorded
/// under netaudit's SD-ID (the line's own parameters are kept as sent).
pub(crate) fn with_origin(mut event: RawBackedEvent, device: &str) -> RawBackedEvent {
    if event.params_in_raw {
        event.event.params = netaudit_syslog::params_of(&event.event.raw).unwrap_or_default();
        event.params_in_raw = false;
    }
    for (name, value) in [("input", INPUT_NETCONF), ("device", device)] {
        event.event.params.push(Param {
            sd_id: NETAUDIT_SD_ID.into(),
            name: name.into(),
            value: value.into(),
        });
    }
    event
}

impl DeviceCollector {
    fn channel<'a>(&'a self, peer: &'a str, fingerprint: Option<&'a str>) -> Channel<'a> {
        Channel {
            device: &self.device.name,
            peer,
            user: &self.device.user,
            fingerprint,
        }
    }

    pub(crate) async fn record(&self, event: netaudit_event::Event) {
        if self.ingest.send(vec![event.into()]).await {
            self.ingest.global.internal_events.fetch_add(1, Relaxed);
        }
    }

    fn fail(&self, err: &SessionError) {
        self.status.failures.fetch_add(1, Relaxed);
        NetconfDeviceMetrics::set_text(&self.status.last_error, &err.to_string());
    }

    /// A session that could not be established: status, log line, event.
    pub(crate) async fn attempt_failed(&self, err: &SessionError, peer: &str, attempt: &Attempt) {
        self.fail(err);
        tracing::warn!(
            device = %self.device.name,
            peer = %peer,
            stage = err.stage().as_str(),
            error = %err,
            "NETCONF session could not be established"
        );
        let fingerprint = attempt.fingerprint();
        let event = events::failed(
            &self.channel(peer, fingerprint.as_deref()),
            err.stage().as_str(),
            &err.to_string(),
        );
        self.record(event).await;
    }

    /// Runs until `cancel`: sessions one after the other.
    pub(crate) async fn run(self, cancel: CancellationToken) {
        let mut failures = 0u32;
        let mut last_line: Option<OffsetDateTime> = None;
        let peer = self.device.peer();
        let no_reason = StopReason::new();
        while !cancel.is_cancelled() {
            let attempt = Attempt::new();
            let opened = tokio::select! {
                _ = cancel.cancelled() => return,
                opened = open_session(&self.device, &attempt, Transport::Dial, last_line) => opened,
            };
            match opened {
                Err(err) => {
                    self.attempt_failed(&err, &peer, &attempt).await;
                    failures = failures.saturating_add(1);
                }
                Ok(session) => {
                    // A session the device broke counts toward the backoff,
                    // so that a device sending bad input is not retried at once.
                    if self
                        .stream(session, &peer, &cancel, &no_reason, &mut last_line)
                        .await
                    {
                        failures = 0;
                    } else {
                        failures = failures.saturating_add(1);
                    }
                }
            }
            let pause = backoff(
                self.device.reconnect_min,
                self.device.reconnect_max,
                failures,
            );
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Reads one established session's stream until it ends or `cancel`
    /// (for `stop_reason`, if set, else because netaudit stops); `false`
    /// when it ended in an error.
    pub(crate) async fn stream(
        &self,
        mut session: OpenSession,
        peer: &str,
        cancel: &CancellationToken,
        stop_reason: &StopReason,
        last_line: &mut Option<OffsetDateTime>,
    ) -> bool {
        let summary = session.negotiated.summary();
        NetconfDeviceMetrics::set_text(&self.status.negotiated, &summary);
        NetconfDeviceMetrics::set_text(&self.status.last_error, "");
        if self.status.sessions.fetch_add(1, Relaxed) > 0 {
            self.status.reconnects.fetch_add(1, Relaxed);
        }
        self.status.connected.store(1, Relaxed);
        NetconfDeviceMetrics::set_text(&self.status.peer, peer);
        tracing::info!(
            device = %self.device.name,
            peer = %peer,
            host_key = %session.fingerprint,
            negotiated = %summary,
            "NETCONF session established"
        );
        let fingerprint = session.fingerprint.clone();
        self.record(events::established(
            &self.channel(peer, Some(&fingerprint)),
            &summary,
        ))
        .await;
        let mut received = 0u64;
        let mut lines = Vec::new();
        let reason = loop {
            lines.clear();
            let read = tokio::select! {
                _ = cancel.cancelled() => break None,
                read = session.netconf.next_lines(&mut lines) => read,
            };
            if let Err(err) = read {
                break Some(err);
            }
            let received_ns = now_ns();
            let opts = ParseOptions::with_reference_time(received_ns.div_euclid(1_000_000_000));
            let chunk: Vec<RawBackedEvent> = lines
                .iter()
                .filter_map(|line| self.ingest.event(line.as_bytes(), received_ns, &opts))
                .map(|event| with_origin(event, &self.device.name))
                .collect();
            received += lines.len() as u64;
            self.status
                .events_received
                .fetch_add(lines.len() as u64, Relaxed);
            self.status
                .last_event_ns
                .store(u64::try_from(received_ns).unwrap_or(0), Relaxed);
            *last_line = OffsetDateTime::from_unix_timestamp_nanos(i128::from(received_ns)).ok();
            if !self.ingest.send(chunk).await {
                break None;
            }
        };
        self.status.connected.store(0, Relaxed);
        let reason_text = match &reason {
            None => stop_reason
                .get()
                .copied()
                .unwrap_or("netaudit is stopping")
                .to_string(),
            Some(err) => err.to_string(),
        };
        match &reason {
            Some(err @ (SessionError::Closed | SessionError::StreamEnded)) => {
                NetconfDeviceMetrics::set_text(&self.status.last_error, &err.to_string());
                tracing::warn!(device = %self.device.name, peer = %peer, received, reason = %reason_text, "NETCONF session ended");
            }
            Some(err) => {
                self.fail(err);
                tracing::warn!(device = %self.device.name, peer = %peer, received, error = %err, "NETCONF session failed; closed");
            }
            None => {
                tracing::info!(device = %self.device.name, peer = %peer, received, reason = %reason_text, "NETCONF session closed")
            }
        }
        self.record(events::terminated(
            &self.channel(peer, Some(&fingerprint)),
            &reason_text,
            received,
        ))
        .await;
        session.close().await;
        matches!(
            reason,
            None | Some(SessionError::Closed | SessionError::StreamEnded)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_with_jitter() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..50 {
            let first = backoff(min, max, 0);
            assert!(
                first >= Duration::from_millis(500) && first <= min,
                "{first:?}"
            );
            let third = backoff(min, max, 3);
            assert!(
                third >= Duration::from_secs(4) && third <= Duration::from_secs(8),
                "{third:?}"
            );
            let late = backoff(min, max, 40);
            assert!(late >= Duration::from_secs(30) && late <= max, "{late:?}");
        }
    }

    #[test]
    fn lines_keep_their_parameters_and_gain_input_and_device() {
        let line = br#"<165>1 2020-08-11T11:15:00.025-07:00 cartier mgd 70652 UI_AUTH_EVENT [junos@2636.1.1.1.2.164 username="root" authentication-level="super-user"] Authenticated user"#;
        let message = netaudit_syslog::parse(line, &ParseOptions::with_fixed_year(2020)).unwrap();
        let event = with_origin(message.to_raw_backed_event(1, line), "r1");
        assert!(!event.params_in_raw);
        let params: Vec<(&str, &str)> = event
            .event
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            params,
            [
                ("username", "root"),
                ("authentication-level", "super-user"),
                ("input", "netconf"),
                ("device", "r1")
            ]
        );
        assert_eq!(event.event.raw, line);
    }
}
