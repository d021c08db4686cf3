//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong while building, encoding, decoding or
/// verifying a RADIUS packet, or while reading a dictionary.
///
/// Offsets are counted in octets from the first octet of the packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RadiusError {
    #[error("shared secret is empty; RFC 2865 section 3 requires a non-empty secret")]
    SecretEmpty,
    #[error(
        "shared secret is {len} octets; at least {min} are required \
         (RFC 2865 section 3 prefers at least 16)"
    )]
    SecretTooShort { len: usize, min: usize },
    #[error("shared secret is {len} octets; at most {max} are accepted")]
    SecretTooLong { len: usize, max: usize },

    #[error("packet is {len} octets, shorter than the 20-octet RADIUS header")]
    TruncatedHeader { len: usize },
    #[error(
        "length field at offset 2 is {length}, outside the range 20..=4096 (RFC 2865 section 3)"
    )]
    LengthOutOfRange { length: usize },
    #[error("length field at offset 2 is {length} but the datagram holds only {received} octets")]
    LengthExceedsDatagram { length: usize, received: usize },
    #[error("unknown packet code {code} at offset 0")]
    UnknownCode { code: u8 },
    #[error(
        "attribute at offset {offset}: only {available} octet(s) left, an attribute header needs 2"
    )]
    AttributeHeaderTruncated { offset: usize, available: usize },
    #[error("attribute type {kind} at offset {offset}: length {length} is below the minimum of 2")]
    AttributeLengthTooSmall { offset: usize, kind: u8, length: u8 },
    #[error(
        "attribute type {kind} at offset {offset}: length {length} runs past the end \
         of the packet at offset {end}"
    )]
    AttributeOverflow {
        offset: usize,
        kind: u8,
        length: u8,
        end: usize,
    },

    #[error("attribute #{index} ({attribute}): empty value; RFC 2865 section 5 says to omit the attribute instead")]
    EmptyAttributeValue { index: usize, attribute: String },
    #[error("attribute #{index} ({attribute}): value is {len} octets, at most {max} fit")]
    AttributeTooLong {
        index: usize,
        attribute: String,
        len: usize,
        max: usize,
    },
    #[error("encoded packet would be {len} octets, more than the RADIUS maximum of 4096")]
    PacketTooLong { len: usize },

    #[error("expected a {expected} packet, got code {found}")]
    UnexpectedCode { expected: String, found: u8 },
    #[error("identifier {found} does not match the request's identifier {expected}")]
    IdentifierMismatch { expected: u8, found: u8 },
    #[error("{packet} authenticator does not verify: wrong shared secret or altered packet")]
    BadAuthenticator { packet: String },

    #[error("dictionary {file}:{line}: {message}")]
    Dictionary {
        file: String,
        line: usize,
        message: String,
    },
    #[error("attribute {name:?} is not in the dictionary")]
    UnknownAttribute { name: String },
    #[error("attribute {attribute}: cannot read {value:?} as {expected}")]
    InvalidValue {
        attribute: String,
        value: String,
        expected: String,
    },
    #[error("attribute number override for {name:?}: {message}")]
    Override { name: String, message: String },
}
