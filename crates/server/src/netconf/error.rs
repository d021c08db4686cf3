//! [`SessionError`]: why a NETCONF session with a device could not be
//! opened or ended, worded for the log line and the audit event.

use netaudit_netconf::NetconfError;

/// Where a session stood when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Connect,
    /// A call-home connection's outbound-ssh header.
    Header,
    /// Which configured device a call-home connection is (device id,
    /// HMAC, host key).
    Identity,
    Ssh,
    HostKey,
    Auth,
    Subsystem,
    /// The whole of connect, SSH, hello and stream request (its timeout).
    Handshake,
    Hello,
    Stream,
}

impl Stage {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Header => "call-home-header",
            Stage::Identity => "call-home-identity",
            Stage::Ssh => "ssh-handshake",
            Stage::HostKey => "host-key",
            Stage::Auth => "authentication",
            Stage::Subsystem => "netconf-subsystem",
            Stage::Handshake => "handshake",
            Stage::Hello => "hello",
            Stage::Stream => "stream",
        }
    }
}

/// Why a session failed or ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SessionError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("{stage} timed out after {seconds} s", stage = .0.as_str(), seconds = .1)]
    Timeout(Stage, u64),
    #[error("outbound-ssh header: {0}")]
    Header(NetconfError),
    #[error("device not accepted: {0}")]
    Identity(String),
    #[error("host key refused: {0}")]
    HostKey(String),
    #[error("cannot read the private key {path}: {detail}")]
    PrivateKey { path: String, detail: String },
    #[error("the device refused the key of user {0:?}")]
    Auth(String),
    #[error("SSH {stage}: {detail}", stage = .stage.as_str())]
    Ssh { stage: Stage, detail: String },
    #[error("NETCONF {stage}: {error}", stage = .stage.as_str())]
    Protocol { stage: Stage, error: NetconfError },
    #[error("the device answered the request with <rpc-error>: {0}")]
    Refused(String),
    #[error("the device closed the session")]
    Closed,
    #[error("the device ended the stream")]
    StreamEnded,
}

impl SessionError {
    /// The stage the error belongs to, for the `stage` parameter of the event.
    pub(crate) fn stage(&self) -> Stage {
        match self {
            SessionError::Connect(_) => Stage::Connect,
            SessionError::Header(_) => Stage::Header,
            SessionError::Identity(_) => Stage::Identity,
            SessionError::Timeout(stage, _) => *stage,
            SessionError::HostKey(_) => Stage::HostKey,
            SessionError::PrivateKey { .. } | SessionError::Auth(_) => Stage::Auth,
            SessionError::Ssh { stage, .. } | SessionError::Protocol { stage, .. } => *stage,
            SessionError::Refused(_) => Stage::Stream,
            SessionError::Closed | SessionError::StreamEnded => Stage::Stream,
        }
    }

    pub(crate) fn ssh(stage: Stage, err: russh::Error) -> SessionError {
        SessionError::Ssh {
            stage,
            detail: err.to_string(),
        }
    }
}
