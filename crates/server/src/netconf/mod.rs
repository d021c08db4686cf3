//! `[[input.netconf]]`: netaudit as the SSH/NETCONF client of Junos
//! devices, collecting their syslog stream (seed 004, docs/netconf.md).
//!
//! ```text
//! error.rs      SessionError and the stage it failed at
//! ssh.rs        TCP, host-key check, public-key auth, the netconf subsystem (russh)
//! session.rs    hello and base negotiation, the stream request, lines out of the stream
//! events.rs     the audit events of the channels
//! collector.rs  one device: sessions, lines into the pipeline, reconnect with backoff
//! callhome_device.rs  one call-home device: a session per accepted connection, the newest replaces
//! callhome.rs   [[input.netconf_callhome]]: accept, header, identify, hand to the device
//! ```

pub(crate) mod callhome;
pub(crate) mod callhome_device;
pub(crate) mod collector;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod session;
pub(crate) mod ssh;

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::netconf_callhome::CallhomeConfig;
use crate::metrics::CallhomeListenerMetrics;
use crate::pipeline::ingest::Ingest;
use collector::DeviceCollector;

/// The running collectors, one task per device.
#[derive(Default)]
pub(crate) struct NetconfCollectors {
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl NetconfCollectors {
    pub(crate) fn start(devices: Vec<DeviceCollector>) -> NetconfCollectors {
        let cancel = CancellationToken::new();
        let tasks = devices
            .into_iter()
            .map(|device| tokio::spawn(device.run(cancel.clone())))
            .collect();
        NetconfCollectors { cancel, tasks }
    }

    /// Binds and starts a `[[input.netconf_callhome]]` listener and its
    /// devices' tasks, stopped with the collectors.
    ///
    /// # Errors
    ///
    /// The listener's address cannot be bound.
    pub(crate) async fn start_callhome(
        &mut self,
        config: CallhomeConfig,
        devices: Vec<DeviceCollector>,
        ingest: Ingest,
        status: Arc<CallhomeListenerMetrics>,
    ) -> std::io::Result<()> {
        let tasks = callhome::start(config, devices, ingest, status, self.cancel.clone()).await?;
        self.tasks.extend(tasks);
        Ok(())
    }

    /// Closes every session (each stores its termination event) and waits
    /// for the tasks, so that nothing holds the pipeline open after.
    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
