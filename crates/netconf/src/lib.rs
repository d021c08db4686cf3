//! NETCONF for netaudit, without I/O: RFC 6242 framing (end-of-message and
//! chunked), the hello and base-version negotiation, the messages netaudit
//! exchanges (RFC 6241 `<rpc>`/`<rpc-reply>`, RFC 5277 subscriptions,
//! notifications and the stream list, Junos `<get-syslog-events>`), the
//! subtree-filter subset of subscriptions and the Junos outbound-ssh header
//! with its HMAC.
//!
//! docs/netconf.md describes the exchanges and the decisions.

pub mod datetime;
pub mod error;
pub mod filter;
pub mod framing;
pub mod hello;
pub mod notification;
pub mod outbound_ssh;
pub mod reply;
pub mod rpc;
pub mod streams;
pub mod subscription;
pub mod syslog_events;
pub mod xml;

pub use error::NetconfError;
