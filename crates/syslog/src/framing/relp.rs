//! RELP, rsyslog's Reliable Event Logging Protocol (librelp's
//! doc/relp.html): the frame codec, both ways.
//!
//! ```text
//! RELP-FRAME = TXNR SP COMMAND SP DATALEN [SP DATA] TRAILER
//! TXNR       = 1*9DIGIT       ; 1 .. 999,999,999, then 1 again; 0 = hint
//! COMMAND    = 1*32ALPHA      ; open, syslog, close, rsp, serverclose, ...
//! DATALEN    = 1*9DIGIT       ; octets in DATA; 0: no SP, no DATA
//! TRAILER    = LF
//! ```
//!
//! [`RelpCodec`] is a tokio-util `Decoder` and `Encoder` of [`RelpFrame`]s
//! for both sides of a session. Decoding is strict: every error names the
//! stream byte offset of the frame and of the offending byte, and none is
//! recoverable (RELP closes a session whose framing broke). A DATALEN over
//! the codec's maximum is refused as soon as it is read, before its data is
//! buffered. The session rules (open first, transaction numbers in order,
//! offers, responses) are in `relp_session.rs`.

use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::relp_error::RelpError;

/// The largest transaction number; the next one is 1.
pub const MAX_TXNR: u32 = 999_999_999;
/// The largest DATALEN the grammar can carry.
pub const MAX_DATALEN: usize = 999_999_999;
/// librelp's default maximum DATALEN (128 KiB).
pub const DEFAULT_MAX_RELP_DATA: usize = 128 * 1024;
/// Letters in a command, at most.
pub const MAX_COMMAND_LEN: usize = 32;
const MAX_DIGITS: usize = 9;

/// The transaction number after `txnr` (latched at 999,999,999, then 1).
pub fn next_txnr(txnr: u32) -> u32 {
    if txnr >= MAX_TXNR {
        1
    } else {
        txnr + 1
    }
}

/// A RELP command name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RelpCommand {
    /// `open`: the client's first frame, with its offers.
    Open,
    /// `syslog`: one message.
    Syslog,
    /// `close`: the client ends the session.
    Close,
    /// `rsp`: the answer to a transaction.
    Rsp,
    /// `serverclose`: the server ends the session (txnr 0, no answer).
    ServerClose,
    /// Any other 1 to 32 ASCII letters.
    Other(String),
}

impl RelpCommand {
    /// The command as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            RelpCommand::Open => "open",
            RelpCommand::Syslog => "syslog",
            RelpCommand::Close => "close",
            RelpCommand::Rsp => "rsp",
            RelpCommand::ServerClose => "serverclose",
            RelpCommand::Other(name) => name,
        }
    }

    pub(crate) fn from_letters(letters: &[u8]) -> RelpCommand {
        match letters {
            b"open" => RelpCommand::Open,
            b"syslog" => RelpCommand::Syslog,
            b"close" => RelpCommand::Close,
            b"rsp" => RelpCommand::Rsp,
            b"serverclose" => RelpCommand::ServerClose,
            other => RelpCommand::Other(String::from_utf8_lossy(other).into_owned()),
        }
    }
}

impl std::fmt::Display for RelpCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One RELP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelpFrame {
    /// The transaction number (0 only for `serverclose`).
    pub txnr: u32,
    /// The command.
    pub command: RelpCommand,
    /// DATA without the SP before it; empty when DATALEN is 0.
    pub data: Bytes,
}

impl RelpFrame {
    /// A frame of `command` with transaction number `txnr` and `data`.
    pub fn new(txnr: u32, command: RelpCommand, data: impl Into<Bytes>) -> RelpFrame {
        RelpFrame {
            txnr,
            command,
            data: data.into(),
        }
    }

    /// `rsp` with `200 OK`, then LF and `cmddata` when there is any.
    pub fn ok(txnr: u32, cmddata: &[u8]) -> RelpFrame {
        let mut data = BytesMut::with_capacity(7 + cmddata.len());
        data.put_slice(b"200 OK");
        if !cmddata.is_empty() {
            data.put_u8(b'\n');
            data.put_slice(cmddata);
        }
        RelpFrame::new(txnr, RelpCommand::Rsp, data.freeze())
    }

    /// `rsp` with status 500 and a human-readable reason (without LF).
    pub fn error(txnr: u32, reason: &str) -> RelpFrame {
        let reason: String = reason.chars().filter(|c| *c != '\n').collect();
        RelpFrame::new(txnr, RelpCommand::Rsp, format!("500 {reason}"))
    }

    /// The `serverclose` hint (txnr 0, no data).
    pub fn serverclose() -> RelpFrame {
        RelpFrame::new(0, RelpCommand::ServerClose, Bytes::new())
    }

    /// The encoded size of the frame.
    pub fn encoded_len(&self) -> usize {
        let data = if self.data.is_empty() {
            0
        } else {
            1 + self.data.len()
        };
        digits(self.txnr as usize)
            + 1
            + self.command.as_str().len()
            + 1
            + digits(self.data.len())
            + data
            + 1
    }
}

fn digits(mut n: usize) -> usize {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

/// The RELP frame codec (both directions).
#[derive(Debug, Clone)]
pub struct RelpCodec {
    max_data: usize,
    /// Stream offset of the buffer's first byte.
    consumed: u64,
    /// Stream offset of the last frame decoded.
    frame_offset: u64,
    stopped: bool,
}

impl RelpCodec {
    /// A codec that refuses frames whose DATALEN is over `max_data` bytes.
    pub fn new(max_data: usize) -> RelpCodec {
        RelpCodec {
            max_data: max_data.min(MAX_DATALEN),
            consumed: 0,
            frame_offset: 0,
            stopped: false,
        }
    }

    /// The stream offset at which the last decoded frame started.
    pub fn frame_offset(&self) -> u64 {
        self.frame_offset
    }

    /// The largest DATALEN accepted.
    pub fn max_data(&self) -> usize {
        self.max_data
    }

    fn fail(
        &mut self,
        buf: &mut BytesMut,
        error: RelpError,
    ) -> Result<Option<RelpFrame>, RelpError> {
        self.stopped = true;
        buf.clear();
        Err(error)
    }
}

impl Default for RelpCodec {
    fn default() -> Self {
        RelpCodec::new(DEFAULT_MAX_RELP_DATA)
    }
}

/// Where a frame's header was read to.
enum Header {
    /// More bytes are needed.
    Incomplete,
    Complete {
        txnr: u32,
        command: RelpCommand,
        datalen: usize,
        /// Bytes of TXNR SP COMMAND SP DATALEN.
        len: usize,
    },
}

/// Reads a number field starting at `start`: returns its value and the
/// index after it, `None` when the buffer ends first.
fn number(
    buf: &[u8],
    start: usize,
    field: &'static str,
    frame_offset: u64,
) -> Result<Option<(u64, usize)>, RelpError> {
    let mut value = 0u64;
    let mut i = start;
    loop {
        let Some(&byte) = buf.get(i) else {
            return Ok(None);
        };
        if byte.is_ascii_digit() {
            if i - start == MAX_DIGITS {
                return Err(RelpError::NumberTooLong {
                    frame_offset,
                    offset: frame_offset + start as u64,
                    field,
                });
            }
            value = value * 10 + u64::from(byte - b'0');
            i += 1;
            continue;
        }
        if i == start {
            return Err(RelpError::Unexpected {
                frame_offset,
                offset: frame_offset + i as u64,
                expected: if field == "TXNR" {
                    "a digit starting TXNR"
                } else {
                    "a digit starting DATALEN"
                },
                found: byte,
            });
        }
        return Ok(Some((value, i)));
    }
}

fn header(buf: &[u8], frame_offset: u64) -> Result<Header, RelpError> {
    let at = |i: usize| frame_offset + i as u64;
    let Some((txnr, i)) = number(buf, 0, "TXNR", frame_offset)? else {
        return Ok(Header::Incomplete);
    };
    if buf[i] != b' ' {
        return Err(RelpError::Unexpected {
            frame_offset,
            offset: at(i),
            expected: "SP after TXNR",
            found: buf[i],
        });
    }
    let start = i + 1;
    let mut i = start;
    loop {
        let Some(&byte) = buf.get(i) else {
            return Ok(Header::Incomplete);
        };
        if byte.is_ascii_alphabetic() {
            if i - start == MAX_COMMAND_LEN {
                return Err(RelpError::CommandTooLong {
                    frame_offset,
                    offset: at(start),
                });
            }
            i += 1;
            continue;
        }
        if i == start || byte != b' ' {
            return Err(RelpError::Unexpected {
                frame_offset,
                offset: at(i),
                expected: if i == start {
                    "a letter starting COMMAND"
                } else {
                    "SP after COMMAND"
                },
                found: byte,
            });
        }
        break;
    }
    let command = RelpCommand::from_letters(&buf[start..i]);
    let Some((datalen, end)) = number(buf, i + 1, "DATALEN", frame_offset)? else {
        return Ok(Header::Incomplete);
    };
    Ok(Header::Complete {
        txnr: txnr as u32,
        command,
        datalen: datalen as usize,
        len: end,
    })
}

impl Decoder for RelpCodec {
    type Item = RelpFrame;
    type Error = RelpError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<RelpFrame>, RelpError> {
        if self.stopped {
            buf.clear();
            return Err(RelpError::Stopped);
        }
        let frame_offset = self.consumed;
        let (txnr, command, datalen, len) = match header(buf, frame_offset) {
            Ok(Header::Incomplete) => return Ok(None),
            Ok(Header::Complete {
                txnr,
                command,
                datalen,
                len,
            }) => (txnr, command, datalen, len),
            Err(error) => return self.fail(buf, error),
        };
        if datalen > self.max_data {
            let error = RelpError::DataTooLarge {
                frame_offset,
                len: datalen as u64,
                max: self.max_data,
            };
            return self.fail(buf, error);
        }
        // DATALEN 0: the trailer follows at once; else SP DATA LF.
        let (data_start, total) = if datalen == 0 {
            (len, len + 1)
        } else {
            (len + 1, len + 1 + datalen + 1)
        };
        if buf.len() < total {
            if datalen > 0 {
                if let Some(&byte) = buf.get(len) {
                    if byte != b' ' {
                        let error = RelpError::Unexpected {
                            frame_offset,
                            offset: frame_offset + len as u64,
                            expected: "SP after DATALEN",
                            found: byte,
                        };
                        return self.fail(buf, error);
                    }
                }
            }
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        if datalen > 0 && buf[len] != b' ' {
            let error = RelpError::Unexpected {
                frame_offset,
                offset: frame_offset + len as u64,
                expected: "SP after DATALEN",
                found: buf[len],
            };
            return self.fail(buf, error);
        }
        if buf[total - 1] != b'\n' {
            let error = RelpError::Unexpected {
                frame_offset,
                offset: frame_offset + (total - 1) as u64,
                expected: if datalen == 0 {
                    "LF after DATALEN 0"
                } else {
                    "LF after DATALEN bytes of DATA"
                },
                found: buf[total - 1],
            };
            return self.fail(buf, error);
        }
        let mut frame = buf.split_to(total);
        self.consumed += total as u64;
        self.frame_offset = frame_offset;
        let data = frame.split_off(data_start);
        let mut data = data.freeze();
        data.truncate(datalen);
        Ok(Some(RelpFrame {
            txnr,
            command,
            data,
        }))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<RelpFrame>, RelpError> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None if buf.is_empty() => Ok(None),
            None => {
                let error = RelpError::Truncated {
                    frame_offset: self.consumed,
                    buffered: buf.len(),
                };
                self.fail(buf, error)
            }
        }
    }
}

impl Encoder<&RelpFrame> for RelpCodec {
    type Error = RelpError;

    fn encode(&mut self, frame: &RelpFrame, dst: &mut BytesMut) -> Result<(), RelpError> {
        if frame.txnr > MAX_TXNR {
            return Err(RelpError::Unencodable {
                reason: format!("txnr {} is over {MAX_TXNR}", frame.txnr),
            });
        }
        let command = frame.command.as_str();
        if command.is_empty()
            || command.len() > MAX_COMMAND_LEN
            || !command.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(RelpError::Unencodable {
                reason: format!("command {command:?} is not 1 to 32 ASCII letters"),
            });
        }
        if frame.data.len() > MAX_DATALEN {
            return Err(RelpError::Unencodable {
                reason: format!(
                    "{} bytes of data are over the largest DATALEN of {MAX_DATALEN}",
                    frame.data.len()
                ),
            });
        }
        dst.reserve(frame.encoded_len());
        dst.put_slice(frame.txnr.to_string().as_bytes());
        dst.put_u8(b' ');
        dst.put_slice(command.as_bytes());
        dst.put_u8(b' ');
        dst.put_slice(frame.data.len().to_string().as_bytes());
        if !frame.data.is_empty() {
            dst.put_u8(b' ');
            dst.put_slice(&frame.data);
        }
        dst.put_u8(b'\n');
        Ok(())
    }
}

impl Encoder<RelpFrame> for RelpCodec {
    type Error = RelpError;

    fn encode(&mut self, frame: RelpFrame, dst: &mut BytesMut) -> Result<(), RelpError> {
        self.encode(&frame, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut RelpCodec, bytes: &[u8]) -> (Vec<RelpFrame>, Option<RelpError>) {
        let mut buf = BytesMut::from(bytes);
        let mut frames = Vec::new();
        for _ in 0..bytes.len() + 2 {
            match codec.decode_eof(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => return (frames, None),
                Err(error) => return (frames, Some(error)),
            }
        }
        panic!("no progress");
    }

    fn encode(frame: &RelpFrame) -> Vec<u8> {
        let mut out = BytesMut::new();
        RelpCodec::default().encode(frame, &mut out).unwrap();
        out.to_vec()
    }

    #[test]
    fn decodes_a_librelp_session() {
        let offers = "relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog";
        let text = format!(
            "1 open {} {offers}\n2 syslog 5 hello\n3 close 0\n",
            offers.len()
        );
        let stream = text.as_bytes();
        let mut codec = RelpCodec::default();
        let (frames, error) = decode_all(&mut codec, stream);
        assert_eq!(error, None);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].command, RelpCommand::Open);
        assert!(frames[0].data.starts_with(b"relp_version=0\n"));
        assert_eq!(frames[0].data, offers.as_bytes());
        assert_eq!(
            frames[1],
            RelpFrame::new(2, RelpCommand::Syslog, &b"hello"[..])
        );
        assert_eq!(
            frames[2],
            RelpFrame::new(3, RelpCommand::Close, Bytes::new())
        );
        assert_eq!(codec.frame_offset(), (stream.len() - 10) as u64);
    }

    #[test]
    fn data_may_hold_lf_and_the_trailer_is_checked_by_count() {
        let (frames, error) = decode_all(&mut RelpCodec::default(), b"7 syslog 3 a\nb\n");
        assert_eq!(error, None);
        assert_eq!(frames[0].data, &b"a\nb"[..]);
    }

    #[test]
    fn waits_for_partial_frames_byte_by_byte() {
        let stream = encode(&RelpFrame::ok(42, b"relp_version=0"));
        let mut codec = RelpCodec::default();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for byte in &stream {
            buf.put_u8(*byte);
            if let Some(frame) = codec.decode(&mut buf).unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames, vec![RelpFrame::ok(42, b"relp_version=0")]);
        assert!(buf.is_empty());
    }

    #[test]
    fn encodes_as_the_grammar_says() {
        assert_eq!(encode(&RelpFrame::ok(5, b"")), b"5 rsp 6 200 OK\n");
        assert_eq!(encode(&RelpFrame::serverclose()), b"0 serverclose 0\n");
        assert_eq!(
            encode(&RelpFrame::new(9, RelpCommand::Syslog, &b"<13>x"[..])),
            b"9 syslog 5 <13>x\n"
        );
        assert_eq!(
            encode(&RelpFrame::error(3, "no\nway")),
            b"3 rsp 9 500 noway\n"
        );
        let frame = RelpFrame::ok(123, b"commands=syslog");
        assert_eq!(frame.encoded_len(), encode(&frame).len());
    }

    #[test]
    fn refuses_what_cannot_be_encoded() {
        let mut out = BytesMut::new();
        for frame in [
            RelpFrame::new(MAX_TXNR + 1, RelpCommand::Syslog, &b"x"[..]),
            RelpFrame::new(1, RelpCommand::Other("bad cmd".into()), Bytes::new()),
            RelpFrame::new(1, RelpCommand::Other(String::new()), Bytes::new()),
            RelpFrame::new(1, RelpCommand::Other("a".repeat(33)), Bytes::new()),
        ] {
            assert!(matches!(
                RelpCodec::default().encode(&frame, &mut out),
                Err(RelpError::Unencodable { .. })
            ));
        }
        assert!(out.is_empty());
    }

    #[test]
    fn errors_name_the_offsets() {
        for (stream, expected) in [
            (&b"x open 0\n"[..], "RELP frame at stream offset 0: expected a digit starting TXNR at offset 0, found 'x' (0x78)"),
            (b"1 syslog 1 a\n2 syslog 1 bX", "RELP frame at stream offset 13: expected LF after DATALEN bytes of DATA at offset 25, found 'X' (0x58)"),
            (b"1234567890 open 0\n", "RELP frame at stream offset 0: TXNR at offset 0 has more than 9 digits"),
            (b"1 op3n 0\n", "RELP frame at stream offset 0: expected SP after COMMAND at offset 4, found '3' (0x33)"),
            (b"1  open 0\n", "expected a letter starting COMMAND at offset 2, found 0x20"),
            (b"1 open x\n", "expected a digit starting DATALEN at offset 7, found 'x'"),
            (b"1 open 0 \n", "expected LF after DATALEN 0 at offset 8, found 0x20"),
            (b"1 open 2\nab\n", "expected SP after DATALEN at offset 8, found 0x0a"),
            (b"1 syslog 131073 ", "RELP frame at stream offset 0: DATALEN 131073 is over the maximum of 131072 bytes"),
            (b"1 syslog 5 abc", "RELP stream ended inside the frame at stream offset 0 (14 bytes of it received)"),
            (b"1 syslog 1 a\n2 sys", "RELP stream ended inside the frame at stream offset 13 (5 bytes of it received)"),
        ] {
            let (_, error) = decode_all(&mut RelpCodec::default(), stream);
            let error = error.map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(expected), "{stream:?}: {error}");
        }
        let long = format!("1 {} 0\n", "a".repeat(33));
        let (_, error) = decode_all(&mut RelpCodec::default(), long.as_bytes());
        assert_eq!(
            error.map(|e| e.to_string()).unwrap_or_default(),
            "RELP frame at stream offset 0: command at offset 2 is longer than 32 letters"
        );
    }

    #[test]
    fn an_oversize_datalen_is_refused_before_its_data_arrives() {
        let mut codec = RelpCodec::new(1000);
        let mut buf = BytesMut::from(&b"1 syslog 999999999 "[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(RelpError::DataTooLarge {
                len: 999_999_999,
                max: 1000,
                ..
            })
        ));
        assert!(buf.is_empty());
        buf.extend_from_slice(b"2 syslog 1 a\n");
        assert_eq!(codec.decode(&mut buf), Err(RelpError::Stopped));
    }

    #[test]
    fn txnr_wraps_to_one() {
        assert_eq!(next_txnr(1), 2);
        assert_eq!(next_txnr(MAX_TXNR), 1);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn command() -> impl Strategy<Value = RelpCommand> {
        prop_oneof![
            Just(RelpCommand::Open),
            Just(RelpCommand::Syslog),
            Just(RelpCommand::Close),
            Just(RelpCommand::Rsp),
            Just(RelpCommand::ServerClose),
            "[a-zA-Z]{1,32}".prop_map(|s| RelpCommand::from_letters(s.as_bytes())),
        ]
    }

    fn frame() -> impl Strategy<Value = RelpFrame> {
        (
            0..=MAX_TXNR,
            command(),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(txnr, command, data)| RelpFrame::new(txnr, command, data))
    }

    proptest! {
        /// Whatever is encoded decodes to the same frames, however the
        /// stream is cut.
        #[test]
        fn round_trip(frames in proptest::collection::vec(frame(), 0..12), cut in 1usize..40) {
            let mut codec = RelpCodec::new(300);
            let mut stream = BytesMut::new();
            for frame in &frames {
                codec.encode(frame, &mut stream).unwrap();
            }
            let mut decoded = Vec::new();
            let mut buf = BytesMut::new();
            let mut decoder = RelpCodec::new(300);
            for piece in stream.chunks(cut) {
                buf.extend_from_slice(piece);
                while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                    decoded.push(frame);
                }
            }
            prop_assert_eq!(decoder.decode_eof(&mut buf).unwrap(), None);
            prop_assert_eq!(decoded, frames);
        }

        /// Arbitrary bytes never panic, and every frame delivered is within
        /// the maximum.
        #[test]
        fn garbage_is_refused_without_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut codec = RelpCodec::new(64);
            let mut buf = BytesMut::from(&bytes[..]);
            for _ in 0..bytes.len() + 2 {
                match codec.decode_eof(&mut buf) {
                    Ok(Some(frame)) => prop_assert!(frame.data.len() <= 64),
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}
