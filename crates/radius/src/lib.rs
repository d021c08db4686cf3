//! RADIUS accounting codec (RFC 2865/2866): packets, attributes,
//! Vendor-Specific attributes (Juniper, vendor 2636), authenticators and a
//! FreeRADIUS-format dictionary. No I/O: the UDP client is built on top.
//!
//! A client sends the bytes of [`encode_accounting_request`], keeps them
//! (octets 4..20 are the request authenticator) for identical
//! retransmissions, and passes every datagram it receives to
//! [`verify_accounting_response`]; a reply that does not verify is
//! discarded.

mod dictionary;
mod error;
pub mod mapping;
mod packet;
mod secret;
mod types;

pub use dictionary::{AttributeDef, DataType, Dictionary};
pub use error::RadiusError;
pub use packet::{
    decode, encode_accounting_request, encode_accounting_response, encode_response,
    verify_accounting_request, verify_accounting_response, verify_response, Attribute, Code,
    Packet, HEADER_LEN, MAX_ATTRIBUTE_VALUE_LEN, MAX_PACKET_LEN, MAX_VENDOR_VALUE_LEN,
    MIN_PACKET_LEN, VENDOR_SPECIFIC,
};
pub use secret::{SharedSecret, MAX_SECRET_LEN, MIN_SECRET_LEN};
pub use types::{attr, junoscope, AcctStatusType, AcctTerminateCause, JUNIPER_VENDOR_ID};
