//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong while building, encoding, decoding or
/// verifying a RADIUS packet, or while reading a dictionary.
///
/// Offsets are counted in octets from the first octet of the packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RadiusError {
    /// The shared secret is empty.
    #[error("shared secret is empty; RFC 2865 section 3 requires a non-empty secret")]
    SecretEmpty,
    /// The shared secret is shorter than netaudit accepts.
    #[error(
        "shared secret is {len} octets; at least {min} are required \
         (RFC 2865 section 3 prefers at least 16)"
    )]
    SecretTooShort {
        /// Its length in octets.
        len: usize,
        /// The shortest accepted.
        min: usize,
    },
    /// The shared secret is longer than netaudit accepts.
    #[error("shared secret is {len} octets; at most {max} are accepted")]
    SecretTooLong {
        /// Its length in octets.
        len: usize,
        /// The longest accepted.
        max: usize,
    },

    /// The datagram is shorter than a packet header.
    #[error("packet is {len} octets, shorter than the 20-octet RADIUS header")]
    TruncatedHeader {
        /// The datagram's length in octets.
        len: usize,
    },
    /// The Length field is outside 20..=4096.
    #[error(
        "length field at offset 2 is {length}, outside the range 20..=4096 (RFC 2865 section 3)"
    )]
    LengthOutOfRange {
        /// The Length field.
        length: usize,
    },
    /// The Length field says more than the datagram holds.
    #[error("length field at offset 2 is {length} but the datagram holds only {received} octets")]
    LengthExceedsDatagram {
        /// The Length field.
        length: usize,
        /// The datagram's length in octets.
        received: usize,
    },
    /// The Code field is not a known packet code.
    #[error("unknown packet code {code} at offset 0")]
    UnknownCode {
        /// The Code field.
        code: u8,
    },
    /// Fewer than the two octets of an attribute header are left.
    #[error(
        "attribute at offset {offset}: only {available} octet(s) left, an attribute header needs 2"
    )]
    AttributeHeaderTruncated {
        /// Where the attribute starts.
        offset: usize,
        /// The octets left in the packet.
        available: usize,
    },
    /// An attribute's Length field is below 2.
    #[error("attribute type {kind} at offset {offset}: length {length} is below the minimum of 2")]
    AttributeLengthTooSmall {
        /// Where the attribute starts.
        offset: usize,
        /// Its type.
        kind: u8,
        /// Its Length field.
        length: u8,
    },
    /// An attribute's Length field runs past the end of the packet.
    #[error(
        "attribute type {kind} at offset {offset}: length {length} runs past the end \
         of the packet at offset {end}"
    )]
    AttributeOverflow {
        /// Where the attribute starts.
        offset: usize,
        /// Its type.
        kind: u8,
        /// Its Length field.
        length: u8,
        /// Where the packet ends.
        end: usize,
    },

    /// An attribute to encode has an empty value.
    #[error("attribute #{index} ({attribute}): empty value; RFC 2865 section 5 says to omit the attribute instead")]
    EmptyAttributeValue {
        /// Its position in the packet's attribute list.
        index: usize,
        /// Its name.
        attribute: String,
    },
    /// An attribute to encode has a value too long for one attribute.
    #[error("attribute #{index} ({attribute}): value is {len} octets, at most {max} fit")]
    AttributeTooLong {
        /// Its position in the packet's attribute list.
        index: usize,
        /// Its name.
        attribute: String,
        /// The value's length in octets.
        len: usize,
        /// The longest value that fits.
        max: usize,
    },
    /// The encoded packet would exceed 4096 octets.
    #[error("encoded packet would be {len} octets, more than the RADIUS maximum of 4096")]
    PacketTooLong {
        /// Its length in octets.
        len: usize,
    },

    /// A packet of another code than the one expected.
    #[error("expected a {expected} packet, got code {found}")]
    UnexpectedCode {
        /// The name of the code expected.
        expected: String,
        /// The Code field received.
        found: u8,
    },
    /// A response whose identifier is not the request's.
    #[error("identifier {found} does not match the request's identifier {expected}")]
    IdentifierMismatch {
        /// The request's identifier.
        expected: u8,
        /// The response's identifier.
        found: u8,
    },
    /// The authenticator does not verify under the shared secret.
    #[error("{packet} authenticator does not verify: wrong shared secret or altered packet")]
    BadAuthenticator {
        /// The packet's code name, e.g. `Accounting-Request`.
        packet: String,
    },

    /// A dictionary file does not parse.
    #[error("dictionary {file}:{line}: {message}")]
    Dictionary {
        /// The file.
        file: String,
        /// The line, counted from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An attribute name the dictionary does not define.
    #[error("attribute {name:?} is not in the dictionary")]
    UnknownAttribute {
        /// The name looked up.
        name: String,
    },
    /// A value that does not fit the attribute's data type.
    #[error("attribute {attribute}: cannot read {value:?} as {expected}")]
    InvalidValue {
        /// The attribute's name.
        attribute: String,
        /// The value given.
        value: String,
        /// What the attribute takes.
        expected: String,
    },
    /// A configured attribute number override that cannot apply.
    #[error("attribute number override for {name:?}: {message}")]
    Override {
        /// The attribute's name.
        name: String,
        /// Why it cannot apply.
        message: String,
    },
}
