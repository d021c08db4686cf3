//! The clear-text header a Junos device sends when it opens an
//! outbound-ssh connection, before the server starts the SSH client on the
//! socket, and the HMAC that ties its host key to a shared secret.
//!
//! ```text
//! MSG-ID: DEVICE-CONN-INFO\r\n
//! MSG-VER: V1\r\n
//! DEVICE-ID: <device-id>\r\n
//! HOST-KEY: <pub-host-key>\r\n         (only when a secret is configured on the device)
//! HMAC: <HMAC-SHA1(secret, pub-host-key) in hex>\r\n
//! ```
//!
//! What exactly the HMAC covers, and the other decisions where Juniper's
//! documentation is unclear, are in docs/netconf.md ("The outbound-ssh
//! header").

use bytes::{Bytes, BytesMut};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use tokio_util::codec::Decoder;

use crate::error::NetconfError;

/// The longest header line accepted (a 16384-bit RSA host key fits).
pub const MAX_LINE: usize = 4096;
/// The longest device id accepted.
pub const MAX_DEVICE_ID: usize = 255;
/// The length of the hex HMAC-SHA1.
pub const HMAC_HEX_LEN: usize = 40;

/// A parsed outbound-ssh header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConnInfo {
    /// The device's id (its `device-id` statement).
    pub device_id: String,
    /// The device's public SSH host key as sent (`ssh-rsa AAAA...`).
    pub host_key: Option<String>,
    /// The HMAC as sent (hex).
    pub hmac: Option<String>,
    /// Byte offset of the `HMAC:` line, for errors.
    hmac_offset: u64,
}

impl DeviceConnInfo {
    /// A header without host key (the device has no secret configured).
    pub fn new(device_id: impl Into<String>) -> Self {
        DeviceConnInfo {
            device_id: device_id.into(),
            host_key: None,
            hmac: None,
            hmac_offset: 0,
        }
    }

    /// A header with the host key and its HMAC under `secret`.
    pub fn with_host_key(
        device_id: impl Into<String>,
        host_key: impl Into<String>,
        secret: &[u8],
    ) -> Self {
        let host_key = host_key.into();
        let hmac = hmac_hex(secret, host_key.as_bytes());
        DeviceConnInfo {
            device_id: device_id.into(),
            host_key: Some(host_key),
            hmac: Some(hmac),
            hmac_offset: 0,
        }
    }

    /// The header as a device sends it (lines ending CR LF).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "MSG-ID: DEVICE-CONN-INFO\r\nMSG-VER: V1\r\nDEVICE-ID: {}\r\n",
            self.device_id
        );
        if let (Some(key), Some(hmac)) = (&self.host_key, &self.hmac) {
            out.push_str(&format!("HOST-KEY: {key}\r\nHMAC: {hmac}\r\n"));
        }
        out.into_bytes()
    }

    /// Checks the HMAC against the secret configured for this device.
    ///
    /// # Errors
    ///
    /// [`NetconfError::OutboundHeader`] when the header carries no host key
    /// (a device with a secret always sends one), [`NetconfError::HmacMismatch`]
    /// when the HMAC differs (compared in constant time).
    pub fn verify_hmac(&self, secret: &[u8]) -> Result<(), NetconfError> {
        let (Some(key), Some(hmac)) = (&self.host_key, &self.hmac) else {
            return Err(NetconfError::OutboundHeader {
                offset: 0,
                what: format!(
                    "device {:?} sent no HOST-KEY and HMAC but a secret is configured for it",
                    self.device_id
                ),
            });
        };
        let mismatch = NetconfError::HmacMismatch {
            offset: self.hmac_offset,
        };
        let expected = hex_decode(hmac).ok_or_else(|| mismatch.clone())?;
        let mut mac = new_mac(secret);
        mac.update(key.as_bytes());
        mac.verify_slice(&expected).map_err(|_| mismatch)
    }
}

fn new_mac(secret: &[u8]) -> Hmac<Sha1> {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    match Hmac::<Sha1>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// HMAC-SHA1 of `host_key` under `secret`, in lower-case hex.
pub fn hmac_hex(secret: &[u8], host_key: &[u8]) -> String {
    let mut mac = new_mac(secret);
    mac.update(host_key);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Where the decoder stands: which line comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    MsgId,
    MsgVer,
    DeviceId,
    /// After DEVICE-ID: `HOST-KEY:` or the end of the header.
    HostKeyOrEnd,
    Hmac,
    Done,
}

/// Reads the outbound-ssh header from the start of a connection.
///
/// It consumes only the header's lines: the bytes after it (the device's
/// SSH identification string) stay in the buffer for the SSH client. The
/// header without host key has no terminator: it is complete when the next
/// bytes cannot start `HOST-KEY:` (the device's `SSH-2.0-...` banner), or,
/// if the device waits for the client to speak first, when the caller calls
/// [`OutboundHeaderDecoder::finish`] after a short quiet period.
#[derive(Debug, Clone)]
pub struct OutboundHeaderDecoder {
    next: Next,
    consumed: u64,
    header: DeviceConnInfo,
}

impl Default for OutboundHeaderDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl OutboundHeaderDecoder {
    /// A decoder at the start of a connection.
    pub fn new() -> Self {
        OutboundHeaderDecoder {
            next: Next::MsgId,
            consumed: 0,
            header: DeviceConnInfo::new(String::new()),
        }
    }

    /// The header, if its mandatory lines are read and no `HOST-KEY:` line
    /// is half-way: for the caller that saw no more bytes for a while.
    ///
    /// # Errors
    ///
    /// [`NetconfError::OutboundHeader`] when the header is incomplete.
    pub fn finish(&mut self) -> Result<DeviceConnInfo, NetconfError> {
        if self.next == Next::HostKeyOrEnd {
            self.next = Next::Done;
            return Ok(self.header.clone());
        }
        Err(self.error(
            self.consumed,
            "the connection went quiet before the header was complete",
        ))
    }

    fn error(&self, offset: u64, what: impl Into<String>) -> NetconfError {
        NetconfError::OutboundHeader {
            offset,
            what: what.into(),
        }
    }

    /// Takes one line (without CR LF) off `buf`, or `None` until it is complete.
    fn line(&mut self, buf: &mut BytesMut) -> Result<Option<(u64, String)>, NetconfError> {
        let Some(lf) = memchr::memchr(b'\n', buf) else {
            if buf.len() > MAX_LINE {
                return Err(self.error(self.consumed, format!("line longer than {MAX_LINE} bytes")));
            }
            return Ok(None);
        };
        if lf > MAX_LINE {
            return Err(self.error(self.consumed, format!("line longer than {MAX_LINE} bytes")));
        }
        let offset = self.consumed;
        let raw: Bytes = buf.split_to(lf + 1).freeze();
        self.consumed += raw.len() as u64;
        let body = raw[..lf].strip_suffix(b"\r").unwrap_or(&raw[..lf]);
        if let Some(bad) = body
            .iter()
            .position(|&b| !(0x20..0x7f).contains(&b) && b != b'\t')
        {
            return Err(self.error(offset + bad as u64, "a byte that is not printable ASCII"));
        }
        // Printable ASCII only, so this is UTF-8.
        Ok(Some((offset, String::from_utf8_lossy(body).into_owned())))
    }

    fn field(&self, offset: u64, line: &str, name: &str) -> Result<String, NetconfError> {
        let value = line
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
            .ok_or_else(|| {
                self.error(offset, format!("expected \"{name}: ...\", found {line:?}"))
            })?;
        let value = value.trim_matches([' ', '\t']);
        if value.is_empty() {
            return Err(self.error(offset, format!("{name} is empty")));
        }
        Ok(value.to_string())
    }
}

impl Decoder for OutboundHeaderDecoder {
    type Item = DeviceConnInfo;
    type Error = NetconfError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<DeviceConnInfo>, NetconfError> {
        loop {
            if self.next == Next::Done {
                return Ok(None);
            }
            if self.next == Next::HostKeyOrEnd {
                const HOST_KEY: &[u8] = b"HOST-KEY:";
                let n = buf.len().min(HOST_KEY.len());
                if n == 0 {
                    return Ok(None);
                }
                if buf[..n] != HOST_KEY[..n] {
                    self.next = Next::Done;
                    return Ok(Some(self.header.clone()));
                }
            }
            let Some((offset, line)) = self.line(buf)? else {
                return Ok(None);
            };
            match self.next {
                Next::MsgId => {
                    if self.field(offset, &line, "MSG-ID")? != "DEVICE-CONN-INFO" {
                        return Err(
                            self.error(offset, format!("MSG-ID is not DEVICE-CONN-INFO: {line:?}"))
                        );
                    }
                    self.next = Next::MsgVer;
                }
                Next::MsgVer => {
                    if self.field(offset, &line, "MSG-VER")? != "V1" {
                        return Err(
                            self.error(offset, format!("unsupported MSG-VER (only V1): {line:?}"))
                        );
                    }
                    self.next = Next::DeviceId;
                }
                Next::DeviceId => {
                    let id = self.field(offset, &line, "DEVICE-ID")?;
                    if id.len() > MAX_DEVICE_ID
                        || !id.bytes().all(|b| b.is_ascii_graphic() && b != b':')
                    {
                        return Err(self.error(
                            offset,
                            format!("DEVICE-ID must be 1 to {MAX_DEVICE_ID} printable characters without space or ':'"),
                        ));
                    }
                    self.header.device_id = id;
                    self.next = Next::HostKeyOrEnd;
                }
                Next::HostKeyOrEnd => {
                    let key = self.field(offset, &line, "HOST-KEY")?;
                    let mut parts = key.split(' ');
                    let well_formed = matches!((parts.next(), parts.next()), (Some(kind), Some(blob))
                        if (kind.starts_with("ssh-") || kind.starts_with("ecdsa-")) && !blob.is_empty());
                    if !well_formed {
                        return Err(self.error(offset, "HOST-KEY is not \"<type> <base64>\""));
                    }
                    self.header.host_key = Some(key);
                    self.next = Next::Hmac;
                }
                Next::Hmac => {
                    let hmac = self.field(offset, &line, "HMAC")?;
                    if hmac.len() != HMAC_HEX_LEN || !hmac.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(
                            self.error(offset, format!("HMAC is not {HMAC_HEX_LEN} hex digits"))
                        );
                    }
                    self.header.hmac = Some(hmac);
                    self.header.hmac_offset = offset;
                    self.next = Next::Done;
                    return Ok(Some(self.header.clone()));
                }
                Next::Done => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq0lSMVyBfcEyq7NqF1Uq9Ah3m3EAOhXUyb2sBNR5xZ";

    fn decode_all(input: &[u8]) -> (Result<Option<DeviceConnInfo>, NetconfError>, BytesMut) {
        let mut d = OutboundHeaderDecoder::new();
        let mut buf = BytesMut::from(input);
        let r = d.decode(&mut buf);
        (r, buf)
    }

    #[test]
    fn header_with_key_leaves_the_ssh_banner() {
        let mut bytes = DeviceConnInfo::with_host_key("r1.example", KEY, b"s3cret").to_bytes();
        bytes.extend_from_slice(b"SSH-2.0-OpenSSH_9.2\r\n");
        let (r, rest) = decode_all(&bytes);
        let h = r.unwrap().unwrap();
        assert_eq!(h.device_id, "r1.example");
        assert_eq!(h.host_key.as_deref(), Some(KEY));
        assert_eq!(&rest[..], b"SSH-2.0-OpenSSH_9.2\r\n");
        h.verify_hmac(b"s3cret").unwrap();
        let err = h.verify_hmac(b"wrong").unwrap_err();
        assert_eq!(
            err,
            NetconfError::HmacMismatch {
                offset: 74 + KEY.len() as u64
            }
        );
        assert!(err.to_string().contains("offset"), "{err}");
    }

    #[test]
    fn header_without_key_any_split() {
        let mut bytes = DeviceConnInfo::new("r1").to_bytes();
        bytes.extend_from_slice(b"SSH-2.0-x\r\n");
        for step in 1..bytes.len() {
            let mut d = OutboundHeaderDecoder::new();
            let mut buf = BytesMut::new();
            let mut got = None;
            for piece in bytes.chunks(step) {
                buf.extend_from_slice(piece);
                if let Some(h) = d.decode(&mut buf).unwrap() {
                    got = Some(h);
                    break;
                }
            }
            assert_eq!(got.unwrap().device_id, "r1", "step {step}");
        }
        // A device that waits for the client: finish() after a quiet period.
        let mut d = OutboundHeaderDecoder::new();
        let mut buf = BytesMut::from(&DeviceConnInfo::new("r1").to_bytes()[..]);
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        let h = d.finish().unwrap();
        assert!(h.verify_hmac(b"any").is_err());
        let mut d = OutboundHeaderDecoder::new();
        let mut buf = BytesMut::from(&b"MSG-ID: DEVICE-CONN-INFO\r\n"[..]);
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        assert!(d.finish().is_err());
    }

    #[test]
    fn bad_headers() {
        for (input, offset) in [
            (&b"GET / HTTP/1.1\r\n"[..], 0),
            (b"MSG-ID: OTHER\r\n", 0),
            (b"MSG-ID: DEVICE-CONN-INFO\r\nMSG-VER: V2\r\n", 26),
            (b"MSG-ID: DEVICE-CONN-INFO\r\nMSG-VER: V1\r\nDEVICE-ID: : r1\r\n", 39),
            (b"MSG-ID: DEVICE-CONN-INFO\r\nMSG-VER: V1\r\nDEVICE-ID:\r\n", 39),
            (b"MSG-ID: DEVICE-CONN-INFO\r\nMSG-VER: V1\r\nDEVICE-ID: r\x01\r\n", 51),
            (b"MSG-ID: DEVICE-CONN-INFO\r\nMSG-VER: V1\r\nDEVICE-ID: r1\r\nHOST-KEY: junk\r\n", 54),
            (b"MSG-ID: DEVICE-CONN-INFO\r\nMSG-VER: V1\r\nDEVICE-ID: r1\r\nHOST-KEY: ssh-rsa AAAA\r\nHMAC: 12\r\n", 78),
        ] {
            match decode_all(input).0 {
                Err(NetconfError::OutboundHeader { offset: o, .. }) => {
                    assert_eq!(o, offset, "{:?}", String::from_utf8_lossy(input))
                }
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
            }
        }
        let long = vec![b'A'; MAX_LINE + 1];
        assert!(decode_all(&long).0.is_err());
    }

    #[test]
    fn hmac_is_rfc_2202_hmac_sha1() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
}
