//! `[[input.netconf]]`: netaudit as the SSH/NETCONF client of Junos
//! devices, collecting their syslog stream (seed 004, docs/netconf.md).
//!
//! ```text
//! error.rs      SessionError and the stage it failed at
//! ssh.rs        TCP, host-key check, public-key auth, the netconf subsystem (russh)
//! session.rs    hello and base negotiation, the stream request, lines out of the stream
//! events.rs     the audit events of the channels
//! collector.rs  one device: sessions, lines into the pipeline, reconnect with backoff
//! ```

pub(crate) mod collector;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod session;
pub(crate) mod ssh;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

    /// Closes every session (each stores its termination event) and waits
    /// for the tasks, so that nothing holds the pipeline open after.
    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
