//! Packets and attributes on the wire (RFC 2865 sections 3 and 5, RFC 2866
//! sections 3 and 4), and the authenticators that protect them.

use std::fmt;
use std::net::Ipv4Addr;

use md5::{Digest, Md5};

use crate::{RadiusError, SharedSecret};

/// The RADIUS header: code, identifier, length, authenticator.
pub const HEADER_LEN: usize = 20;
/// The smallest packet (RFC 2865 section 3).
pub const MIN_PACKET_LEN: usize = 20;
/// The largest packet (RFC 2865 section 3).
pub const MAX_PACKET_LEN: usize = 4096;
/// The largest value of a standard attribute: 255 minus type and length.
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 253;
/// The largest value of a vendor attribute inside one Vendor-Specific
/// attribute: 253 minus the vendor id (4), vendor type and vendor length.
pub const MAX_VENDOR_VALUE_LEN: usize = 247;
/// Attribute type 26, Vendor-Specific (RFC 2865 section 5.26).
pub const VENDOR_SPECIFIC: u8 = 26;

/// A packet code (RFC 2865 section 3, RFC 2866 section 3, RFC 5176).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Code {
    /// Access-Request (RFC 2865).
    AccessRequest = 1,
    /// Access-Accept (RFC 2865).
    AccessAccept = 2,
    /// Access-Reject (RFC 2865).
    AccessReject = 3,
    /// Accounting-Request (RFC 2866).
    AccountingRequest = 4,
    /// Accounting-Response (RFC 2866).
    AccountingResponse = 5,
    /// Access-Challenge (RFC 2865).
    AccessChallenge = 11,
    /// Status-Server (RFC 5997).
    StatusServer = 12,
    /// Status-Client (RFC 2865, experimental).
    StatusClient = 13,
    /// Disconnect-Request (RFC 5176).
    DisconnectRequest = 40,
    /// Disconnect-ACK (RFC 5176).
    DisconnectAck = 41,
    /// Disconnect-NAK (RFC 5176).
    DisconnectNak = 42,
    /// CoA-Request (RFC 5176).
    CoaRequest = 43,
    /// CoA-ACK (RFC 5176).
    CoaAck = 44,
    /// CoA-NAK (RFC 5176).
    CoaNak = 45,
}

impl Code {
    /// The code's number on the wire.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The code for a number, if RADIUS defines one.
    pub fn from_number(number: u8) -> Option<Code> {
        Some(match number {
            1 => Code::AccessRequest,
            2 => Code::AccessAccept,
            3 => Code::AccessReject,
            4 => Code::AccountingRequest,
            5 => Code::AccountingResponse,
            11 => Code::AccessChallenge,
            12 => Code::StatusServer,
            13 => Code::StatusClient,
            40 => Code::DisconnectRequest,
            41 => Code::DisconnectAck,
            42 => Code::DisconnectNak,
            43 => Code::CoaRequest,
            44 => Code::CoaAck,
            45 => Code::CoaNak,
            _ => return None,
        })
    }

    /// The name RFC 2865 and FreeRADIUS use, e.g. `Accounting-Request`.
    pub fn name(self) -> &'static str {
        match self {
            Code::AccessRequest => "Access-Request",
            Code::AccessAccept => "Access-Accept",
            Code::AccessReject => "Access-Reject",
            Code::AccountingRequest => "Accounting-Request",
            Code::AccountingResponse => "Accounting-Response",
            Code::AccessChallenge => "Access-Challenge",
            Code::StatusServer => "Status-Server",
            Code::StatusClient => "Status-Client",
            Code::DisconnectRequest => "Disconnect-Request",
            Code::DisconnectAck => "Disconnect-ACK",
            Code::DisconnectNak => "Disconnect-NAK",
            Code::CoaRequest => "CoA-Request",
            Code::CoaAck => "CoA-ACK",
            Code::CoaNak => "CoA-NAK",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One attribute.
///
/// A Vendor-Specific attribute (type 26) whose contents follow RFC 2865's
/// suggested format (vendor id, then vendor-type/vendor-length/value
/// sub-attributes) decodes into one [`Attribute::Vendor`] per
/// sub-attribute. Any other type 26 contents stay an opaque
/// [`Attribute::Standard`] with `kind` 26, so nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// A standard attribute (or opaque Vendor-Specific contents).
    Standard {
        /// The attribute type.
        kind: u8,
        /// The value octets.
        value: Vec<u8>,
    },
    /// One sub-attribute of a Vendor-Specific attribute.
    Vendor {
        /// The vendor's IANA enterprise number.
        vendor_id: u32,
        /// The vendor's attribute type.
        vendor_type: u8,
        /// The value octets.
        value: Vec<u8>,
    },
}

impl Attribute {
    /// A text attribute (RFC 2865 "text" or "string"): the UTF-8 octets.
    pub fn string(kind: u8, value: &str) -> Attribute {
        Attribute::octets(kind, value.as_bytes().to_vec())
    }

    /// An attribute with arbitrary octets.
    pub fn octets(kind: u8, value: Vec<u8>) -> Attribute {
        Attribute::Standard { kind, value }
    }

    /// A 32-bit unsigned integer, network byte order.
    pub fn integer(kind: u8, value: u32) -> Attribute {
        Attribute::octets(kind, value.to_be_bytes().to_vec())
    }

    /// An IPv4 address, 4 octets.
    pub fn ipaddr(kind: u8, value: Ipv4Addr) -> Attribute {
        Attribute::octets(kind, value.octets().to_vec())
    }

    /// A time: seconds since 1970-01-01T00:00:00Z, 32 bits (RFC 2869).
    pub fn date(kind: u8, seconds: u32) -> Attribute {
        Attribute::integer(kind, seconds)
    }

    /// A vendor text attribute.
    pub fn vendor_string(vendor_id: u32, vendor_type: u8, value: &str) -> Attribute {
        Attribute::vendor_octets(vendor_id, vendor_type, value.as_bytes().to_vec())
    }

    /// A vendor attribute with arbitrary octets.
    pub fn vendor_octets(vendor_id: u32, vendor_type: u8, value: Vec<u8>) -> Attribute {
        Attribute::Vendor {
            vendor_id,
            vendor_type,
            value,
        }
    }

    /// A vendor 32-bit unsigned integer.
    pub fn vendor_integer(vendor_id: u32, vendor_type: u8, value: u32) -> Attribute {
        Attribute::vendor_octets(vendor_id, vendor_type, value.to_be_bytes().to_vec())
    }

    /// The attribute's value octets.
    pub fn value(&self) -> &[u8] {
        match self {
            Attribute::Standard { value, .. } | Attribute::Vendor { value, .. } => value,
        }
    }

    /// The value as a 32-bit integer, if it is exactly 4 octets.
    pub fn as_u32(&self) -> Option<u32> {
        <[u8; 4]>::try_from(self.value())
            .ok()
            .map(u32::from_be_bytes)
    }

    /// The value as text, if it is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.value()).ok()
    }

    /// The vendor id for vendor attributes, `None` for standard ones.
    pub fn vendor_id(&self) -> Option<u32> {
        match self {
            Attribute::Standard { .. } => None,
            Attribute::Vendor { vendor_id, .. } => Some(*vendor_id),
        }
    }

    /// The attribute number: the type for standard attributes, the vendor
    /// type for vendor attributes.
    pub fn number(&self) -> u8 {
        match self {
            Attribute::Standard { kind, .. } => *kind,
            Attribute::Vendor { vendor_type, .. } => *vendor_type,
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            Attribute::Standard { value, .. } => 2 + value.len(),
            Attribute::Vendor { value, .. } => 8 + value.len(),
        }
    }

    /// Checks the value's size; `index` is the attribute's position in its
    /// list, for the error message.
    fn check(&self, index: usize) -> Result<(), RadiusError> {
        let (len, max) = match self {
            Attribute::Standard { value, .. } => (value.len(), MAX_ATTRIBUTE_VALUE_LEN),
            Attribute::Vendor { value, .. } => (value.len(), MAX_VENDOR_VALUE_LEN),
        };
        if len == 0 {
            return Err(RadiusError::EmptyAttributeValue {
                index,
                attribute: self.to_string(),
            });
        }
        if len > max {
            return Err(RadiusError::AttributeTooLong {
                index,
                attribute: self.to_string(),
                len,
                max,
            });
        }
        Ok(())
    }

    fn write(&self, out: &mut Vec<u8>) {
        // Lengths are checked by `check` before writing, so they fit a u8.
        match self {
            Attribute::Standard { kind, value } => {
                out.push(*kind);
                out.push((2 + value.len()) as u8);
                out.extend_from_slice(value);
            }
            Attribute::Vendor {
                vendor_id,
                vendor_type,
                value,
            } => {
                out.push(VENDOR_SPECIFIC);
                out.push((8 + value.len()) as u8);
                out.extend_from_slice(&vendor_id.to_be_bytes());
                out.push(*vendor_type);
                out.push((2 + value.len()) as u8);
                out.extend_from_slice(value);
            }
        }
    }
}

/// Names the attribute by number, as FreeRADIUS does for unknown ones:
/// `Attr-44`, `Attr-26.2636.200`.
impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attribute::Standard { kind, .. } => write!(f, "Attr-{kind}"),
            Attribute::Vendor {
                vendor_id,
                vendor_type,
                ..
            } => write!(f, "Attr-26.{vendor_id}.{vendor_type}"),
        }
    }
}

/// A decoded packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// What kind of packet it is.
    pub code: Code,
    /// Matches a response to its request.
    pub identifier: u8,
    /// The Request or Response Authenticator.
    pub authenticator: [u8; 16],
    /// The attributes, in packet order.
    pub attributes: Vec<Attribute>,
}

impl Packet {
    /// The first standard attribute of this type.
    pub fn get(&self, kind: u8) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| matches!(a, Attribute::Standard { kind: k, .. } if *k == kind))
    }

    /// The first vendor attribute of this vendor and type.
    pub fn get_vendor(&self, vendor_id: u32, vendor_type: u8) -> Option<&Attribute> {
        self.attributes.iter().find(|a| {
            matches!(a, Attribute::Vendor { vendor_id: v, vendor_type: t, .. }
                if *v == vendor_id && *t == vendor_type)
        })
    }

    /// The packet's bytes with its authenticator field as it is (no
    /// authenticator is computed). Checks sizes like
    /// [`encode_accounting_request`].
    pub fn encode(&self) -> Result<Vec<u8>, RadiusError> {
        let mut out = encode_body(self.code, self.identifier, &self.attributes)?;
        out[4..HEADER_LEN].copy_from_slice(&self.authenticator);
        Ok(out)
    }
}

/// Header with a zero authenticator, then the attributes; the length field
/// is filled in.
fn encode_body(
    code: Code,
    identifier: u8,
    attributes: &[Attribute],
) -> Result<Vec<u8>, RadiusError> {
    let mut len = HEADER_LEN;
    for (index, attribute) in attributes.iter().enumerate() {
        attribute.check(index)?;
        len += attribute.encoded_len();
    }
    if len > MAX_PACKET_LEN {
        return Err(RadiusError::PacketTooLong { len });
    }
    let mut out = Vec::with_capacity(len);
    out.push(code.number());
    out.push(identifier);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&[0u8; 16]);
    for attribute in attributes {
        attribute.write(&mut out);
    }
    Ok(out)
}

/// MD5 over the packet with `authenticator` in place of octets 4..20, then
/// the secret. `packet` is at least a header long.
fn authenticator_over(packet: &[u8], authenticator: &[u8; 16], secret: &SharedSecret) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(packet.get(..4).unwrap_or_default());
    md5.update(authenticator);
    md5.update(packet.get(HEADER_LEN..).unwrap_or_default());
    md5.update(secret.as_bytes());
    md5.finalize().into()
}

/// Compares without stopping at the first difference, so the time taken
/// does not tell an attacker how much of a forged authenticator is right.
fn constant_time_eq(a: &[u8; 16], b: &[u8; 16]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An Accounting-Request (RFC 2866 section 4.1) ready to send: its Request
/// Authenticator is MD5(Code + Identifier + Length + 16 zero octets +
/// attributes + secret) (RFC 2866 section 3).
///
/// Fails if a value is empty or too long (the error names the attribute and
/// its position) or if the packet would exceed 4096 octets. The request
/// authenticator is octets 4..20 of the result.
pub fn encode_accounting_request(
    identifier: u8,
    attributes: &[Attribute],
    secret: &SharedSecret,
) -> Result<Vec<u8>, RadiusError> {
    let mut out = encode_body(Code::AccountingRequest, identifier, attributes)?;
    let authenticator = authenticator_over(&out, &[0u8; 16], secret);
    out[4..HEADER_LEN].copy_from_slice(&authenticator);
    Ok(out)
}

/// An Accounting-Response (RFC 2866 section 4.2) answering the request with
/// this identifier and authenticator: its Response Authenticator is
/// MD5(Code + Identifier + Length + Request Authenticator + attributes +
/// secret). The server's side, for tests.
pub fn encode_accounting_response(
    identifier: u8,
    request_authenticator: &[u8; 16],
    attributes: &[Attribute],
    secret: &SharedSecret,
) -> Result<Vec<u8>, RadiusError> {
    encode_response(
        Code::AccountingResponse,
        identifier,
        request_authenticator,
        attributes,
        secret,
    )
}

/// Any response (Access-Accept, Accounting-Response, ...) with its Response
/// Authenticator (RFC 2865 section 3).
pub fn encode_response(
    code: Code,
    identifier: u8,
    request_authenticator: &[u8; 16],
    attributes: &[Attribute],
    secret: &SharedSecret,
) -> Result<Vec<u8>, RadiusError> {
    let mut out = encode_body(code, identifier, attributes)?;
    let authenticator = authenticator_over(&out, request_authenticator, secret);
    out[4..HEADER_LEN].copy_from_slice(&authenticator);
    Ok(out)
}

/// The packet's octets as its length field delimits them, after the checks
/// of RFC 2865 section 3: at least a header, a length of 20..=4096, and no
/// more than the datagram holds. Octets past the length are padding and
/// ignored, as the RFC says.
fn framed(bytes: &[u8]) -> Result<&[u8], RadiusError> {
    let header = bytes
        .get(..HEADER_LEN)
        .ok_or(RadiusError::TruncatedHeader { len: bytes.len() })?;
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if !(MIN_PACKET_LEN..=MAX_PACKET_LEN).contains(&length) {
        return Err(RadiusError::LengthOutOfRange { length });
    }
    bytes
        .get(..length)
        .ok_or(RadiusError::LengthExceedsDatagram {
            length,
            received: bytes.len(),
        })
}

/// Decodes a packet received in one datagram.
///
/// Checks the header (RFC 2865 section 3) and walks the attributes; errors
/// give the offset of the offending octets. Authenticators are not checked
/// here: see [`verify_accounting_request`] and [`verify_accounting_response`].
pub fn decode(bytes: &[u8]) -> Result<Packet, RadiusError> {
    let packet = framed(bytes)?;
    let code = Code::from_number(packet[0]).ok_or(RadiusError::UnknownCode { code: packet[0] })?;
    let mut authenticator = [0u8; 16];
    authenticator.copy_from_slice(&packet[4..HEADER_LEN]);
    Ok(Packet {
        code,
        identifier: packet[1],
        authenticator,
        attributes: decode_attributes(packet)?,
    })
}

fn decode_attributes(packet: &[u8]) -> Result<Vec<Attribute>, RadiusError> {
    let end = packet.len();
    let mut attributes = Vec::new();
    let mut offset = HEADER_LEN;
    while offset < end {
        let (kind, length) = match packet.get(offset..offset + 2) {
            Some(&[kind, length]) => (kind, length),
            _ => {
                return Err(RadiusError::AttributeHeaderTruncated {
                    offset,
                    available: end - offset,
                })
            }
        };
        if length < 2 {
            return Err(RadiusError::AttributeLengthTooSmall {
                offset,
                kind,
                length,
            });
        }
        let value = packet.get(offset + 2..offset + usize::from(length)).ok_or(
            RadiusError::AttributeOverflow {
                offset,
                kind,
                length,
                end,
            },
        )?;
        if kind == VENDOR_SPECIFIC {
            match split_vendor_specific(value) {
                Some(vendor_attributes) => attributes.extend(vendor_attributes),
                None => attributes.push(Attribute::octets(kind, value.to_vec())),
            }
        } else {
            attributes.push(Attribute::octets(kind, value.to_vec()));
        }
        offset += usize::from(length);
    }
    Ok(attributes)
}

/// The sub-attributes of a Vendor-Specific value in RFC 2865's suggested
/// format, or `None` if it does not follow it.
fn split_vendor_specific(value: &[u8]) -> Option<Vec<Attribute>> {
    let (vendor, mut rest) = value.split_first_chunk::<4>()?;
    let vendor_id = u32::from_be_bytes(*vendor);
    if rest.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    while let Some((&[vendor_type, length], after)) = rest.split_first_chunk::<2>() {
        let value_len = usize::from(length).checked_sub(2)?;
        let value = after.get(..value_len)?;
        out.push(Attribute::vendor_octets(
            vendor_id,
            vendor_type,
            value.to_vec(),
        ));
        rest = &after[value_len..];
    }
    rest.is_empty().then_some(out)
}

/// Checks an Accounting-Request as a server does (RFC 2866 section 3): code
/// 4 and a Request Authenticator that matches the secret. For tests and
/// for checking captured traffic.
pub fn verify_accounting_request(
    request: &[u8],
    secret: &SharedSecret,
) -> Result<Packet, RadiusError> {
    let packet = decode(request)?;
    if packet.code != Code::AccountingRequest {
        return Err(RadiusError::UnexpectedCode {
            expected: Code::AccountingRequest.to_string(),
            found: packet.code.number(),
        });
    }
    let framed = framed(request)?;
    let expected = authenticator_over(framed, &[0u8; 16], secret);
    if !constant_time_eq(&expected, &packet.authenticator) {
        return Err(RadiusError::BadAuthenticator {
            packet: Code::AccountingRequest.to_string(),
        });
    }
    Ok(packet)
}

/// Checks a reply to an Accounting-Request (RFC 2866 section 3, RFC 2865
/// section 3): header and attributes well-formed, code 5, the request's
/// identifier, and a Response Authenticator equal to MD5(Code, Identifier,
/// Length, Request Authenticator, attributes, secret). A reply that fails
/// any check must be silently discarded by the caller.
pub fn verify_accounting_response(
    response: &[u8],
    request_authenticator: &[u8; 16],
    request_identifier: u8,
    secret: &SharedSecret,
) -> Result<Packet, RadiusError> {
    verify_response(
        Code::AccountingResponse,
        response,
        request_authenticator,
        request_identifier,
        secret,
    )
}

/// Checks a reply of code `expected` to a request (RFC 2865 section 3).
pub fn verify_response(
    expected: Code,
    response: &[u8],
    request_authenticator: &[u8; 16],
    request_identifier: u8,
    secret: &SharedSecret,
) -> Result<Packet, RadiusError> {
    let packet = decode(response)?;
    if packet.code != expected {
        return Err(RadiusError::UnexpectedCode {
            expected: expected.to_string(),
            found: packet.code.number(),
        });
    }
    if packet.identifier != request_identifier {
        return Err(RadiusError::IdentifierMismatch {
            expected: request_identifier,
            found: packet.identifier,
        });
    }
    let framed = framed(response)?;
    let computed = authenticator_over(framed, request_authenticator, secret);
    if !constant_time_eq(&computed, &packet.authenticator) {
        return Err(RadiusError::BadAuthenticator {
            packet: expected.to_string(),
        });
    }
    Ok(packet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_every_octet() {
        let a = [7u8; 16];
        let mut b = a;
        assert!(constant_time_eq(&a, &b));
        b[15] = 8;
        assert!(!constant_time_eq(&a, &b));
        b = a;
        b[0] = 0;
        assert!(!constant_time_eq(&a, &b));
    }

    #[test]
    fn framed_cuts_at_the_length_field() {
        let mut bytes = vec![5, 1, 0, 22];
        bytes.extend_from_slice(&[0; 16]);
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(framed(&bytes).unwrap().len(), 22);
        assert_eq!(
            framed(&bytes[..21]),
            Err(RadiusError::LengthExceedsDatagram {
                length: 22,
                received: 21
            })
        );
    }

    #[test]
    fn vendor_specific_split() {
        assert_eq!(
            split_vendor_specific(&[0, 0, 0x0a, 0x4c, 1, 3, b'a']),
            Some(vec![Attribute::vendor_string(2636, 1, "a")])
        );
        assert_eq!(split_vendor_specific(&[0, 0, 0x0a, 0x4c]), None);
        assert_eq!(split_vendor_specific(&[0, 0, 0x0a, 0x4c, 1]), None);
        assert_eq!(split_vendor_specific(&[0, 0, 0x0a]), None);
    }

    #[test]
    fn vendor_attribute_wire_format() {
        let mut out = Vec::new();
        Attribute::vendor_string(2636, 200, "ab").write(&mut out);
        assert_eq!(out, [26, 10, 0, 0, 0x0a, 0x4c, 200, 4, b'a', b'b']);
        assert_eq!(
            Attribute::vendor_string(2636, 200, "ab").encoded_len(),
            out.len()
        );
    }

    #[test]
    fn code_numbers_round_trip() {
        for number in 0..=255u8 {
            if let Some(code) = Code::from_number(number) {
                assert_eq!(code.number(), number);
            }
        }
        assert_eq!(Code::from_number(4), Some(Code::AccountingRequest));
        assert_eq!(Code::AccountingResponse.to_string(), "Accounting-Response");
        assert_eq!(Code::from_number(6), None);
    }
}
