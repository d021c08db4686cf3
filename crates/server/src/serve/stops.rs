//! How a stream listener and its connections are told to end; shared by
//! the syslog stream reader (`listener.rs`) and the RELP session (`relp.rs`).

use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub(super) struct Stops {
    /// Stop now: reading ends, what was read is handed over.
    pub cancel: CancellationToken,
    /// Stop accepting; connections read on until their peer closes them or
    /// they go quiet.
    pub draining: CancellationToken,
}

/// What one wait for bytes brought.
pub(super) enum Read {
    /// `n` bytes (0: the peer closed).
    Bytes(usize),
    Failed(io::Error),
    /// Nothing for the idle timeout.
    Idle,
    /// Shutting down, and nothing for the quiet time.
    Quiet,
    /// Stopped outright.
    Stopped,
}

impl Stops {
    /// Reads once into `buf`, waiting at most `idle` (`None`: forever) or,
    /// once shutting down, `quiet`.
    pub(super) async fn read<R: AsyncRead + Unpin>(
        &self,
        reader: &mut R,
        buf: &mut BytesMut,
        idle: Option<Duration>,
        quiet: Duration,
    ) -> Read {
        // Bounded: the draining branch is taken at most once.
        for _ in 0..2 {
            let drain_now = self.draining.is_cancelled();
            let wait = if drain_now { Some(quiet) } else { idle };
            let read = limited(wait, reader.read_buf(buf));
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => return Read::Stopped,
                // The signal came while waiting: wait again, with the quiet limit.
                () = self.draining.cancelled(), if !drain_now => continue,
                read = read => return match read {
                    None if drain_now => Read::Quiet,
                    None => Read::Idle,
                    Some(Ok(n)) => Read::Bytes(n),
                    Some(Err(err)) => Read::Failed(err),
                },
            }
        }
        Read::Quiet
    }
}

async fn limited<T>(wait: Option<Duration>, future: impl Future<Output = T>) -> Option<T> {
    match wait {
        Some(wait) => tokio::time::timeout(wait, future).await.ok(),
        None => Some(future.await),
    }
}
