//! Per-stream choice between the two framings, from the stream's first byte.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use super::error::FramingError;
use super::kind::{Framing, DEFAULT_MAX_FRAME, DEFAULT_MAX_SKIP};
use super::LfDelimitedCodec;
use super::OctetCountingCodec;

/// Decodes a syslog stream in whichever RFC 6587 framing its first byte
/// shows: a digit `1`-`9` starts an octet count, `<` starts a PRI (one
/// message per line). CR and LF bytes before the first frame are skipped.
/// Anything else is [`FramingError::UnrecognisedFraming`], not recoverable.
#[derive(Debug)]
pub struct SyslogStreamCodec {
    max_frame: usize,
    max_skip: u64,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Waiting for the first byte; `offset` bytes of CR/LF skipped so far.
    Detecting {
        offset: u64,
    },
    OctetCounting(OctetCountingCodec),
    LfDelimited(LfDelimitedCodec),
    /// After an unrecognised first byte at `offset`.
    Failed {
        offset: u64,
    },
}

impl Default for SyslogStreamCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME)
    }
}

impl SyslogStreamCodec {
    /// A codec delivering frames of at most `max_frame` bytes (at least 1).
    pub fn new(max_frame: usize) -> Self {
        SyslogStreamCodec {
            max_frame: max_frame.max(1),
            max_skip: DEFAULT_MAX_SKIP,
            state: State::Detecting { offset: 0 },
        }
    }

    /// See [`OctetCountingCodec::with_max_skip`].
    pub fn with_max_skip(mut self, max_skip: u64) -> Self {
        self.max_skip = max_skip;
        self
    }

    /// The largest frame delivered, in bytes.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// The framing detected, once the first byte has arrived and fit one.
    pub fn framing(&self) -> Option<Framing> {
        match self.state {
            State::OctetCounting(_) => Some(Framing::OctetCounting),
            State::LfDelimited(_) => Some(Framing::LfDelimited),
            State::Detecting { .. } | State::Failed { .. } => None,
        }
    }

    /// Stream bytes consumed so far (the stream offset of the next byte to decode).
    pub fn stream_offset(&self) -> u64 {
        match &self.state {
            State::Detecting { offset } | State::Failed { offset } => *offset,
            State::OctetCounting(codec) => codec.stream_offset(),
            State::LfDelimited(codec) => codec.stream_offset(),
        }
    }

    /// Skips leading CR/LF and picks the framing. `Ok(false)` while the first
    /// byte has not arrived.
    fn detect(&mut self, buf: &mut BytesMut) -> Result<bool, FramingError> {
        let State::Detecting { offset } = &mut self.state else {
            return Ok(true);
        };
        let blank = buf
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .count();
        buf.advance(blank);
        *offset += blank as u64;
        let offset = *offset;
        let Some(&first) = buf.first() else {
            return Ok(false);
        };
        self.state = match first {
            b'1'..=b'9' => State::OctetCounting(
                OctetCountingCodec::starting_at(self.max_frame, offset)
                    .with_max_skip(self.max_skip),
            ),
            b'<' => State::LfDelimited(LfDelimitedCodec::starting_at(self.max_frame, offset)),
            byte => {
                self.state = State::Failed { offset };
                buf.clear();
                return Err(FramingError::UnrecognisedFraming { byte, offset });
            }
        };
        Ok(true)
    }
}

impl Decoder for SyslogStreamCodec {
    type Item = Bytes;
    type Error = FramingError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        if !self.detect(buf)? {
            return Ok(None);
        }
        match &mut self.state {
            State::OctetCounting(codec) => codec.decode(buf),
            State::LfDelimited(codec) => codec.decode(buf),
            State::Failed { offset } => {
                buf.clear();
                Err(FramingError::Stopped { offset: *offset })
            }
            State::Detecting { .. } => Ok(None),
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        if !self.detect(buf)? {
            return Ok(None);
        }
        match &mut self.state {
            State::OctetCounting(codec) => codec.decode_eof(buf),
            State::LfDelimited(codec) => codec.decode_eof(buf),
            State::Failed { .. } | State::Detecting { .. } => {
                buf.clear();
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::test_support::{decode_chunks, frames, split_by, Outcome};
    use super::*;

    fn decode(max: usize, data: &[u8]) -> Outcome {
        decode_chunks(SyslogStreamCodec::new(max), [data])
    }

    #[test]
    fn digit_first_means_octet_counting() {
        let out = decode(100, b"5 <13>a9 <13>bbbb\n");
        assert_eq!(out.frames, frames(&["<13>a", "<13>bbbb"]));
        let mut codec = SyslogStreamCodec::new(100);
        let mut buf = BytesMut::from(&b"1"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert_eq!(codec.framing(), Some(Framing::OctetCounting));
    }

    #[test]
    fn angle_bracket_first_means_lf_delimited() {
        let out = decode(100, b"<13>a\n<13>b\r\n");
        assert_eq!(out.frames, frames(&["<13>a", "<13>b"]));
        let mut codec = SyslogStreamCodec::new(100);
        assert_eq!(codec.framing(), None);
        let mut buf = BytesMut::from(&b"<"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert_eq!(codec.framing(), Some(Framing::LfDelimited));
    }

    #[test]
    fn framing_is_chosen_once_per_stream() {
        // An LF-delimited stream whose second line starts with a digit stays
        // LF-delimited, and the other way round.
        let out = decode(100, b"<13>a\n5 hello\n");
        assert_eq!(out.frames, frames(&["<13>a", "5 hello"]));
        let out = decode(100, b"3 abc<13>x\n");
        assert_eq!(out.frames, frames(&["abc"]));
        assert!(out.stopped);
    }

    #[test]
    fn leading_line_ends_are_skipped_and_counted_in_offsets() {
        let out = decode(100, b"\r\n\n<13>a\n");
        assert_eq!(out.frames, frames(&["<13>a"]));
        let out = decode(3, b"\n\n10 abcdefghij");
        assert!(out.errors[0].contains("offset 2"), "{:?}", out.errors);
    }

    #[test]
    fn tls_client_hello_on_a_plain_port_is_named() {
        let hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
        let out = decode(100, hello);
        assert!(out.stopped);
        assert!(out.frames.is_empty());
        assert_eq!(
            out.errors,
            ["unrecognised stream framing at stream offset 0: first byte 0x16, expected a digit \
              1-9 (octet counting) or '<' (LF-delimited); this looks like a TLS handshake: is \
              the client using TLS on a plain-TCP port?"]
        );
    }

    #[test]
    fn other_unrecognised_first_bytes() {
        for (input, text) in [
            (&b"0 abc"[..], "first byte '0' (0x30)"),
            (b"GET / HTTP/1.1\r\n", "HTTP request"),
            (b"\x00\x01", "first byte 0x00"),
            (b"\n\n x", "stream offset 2: first byte 0x20"),
        ] {
            let out = decode(100, input);
            assert!(out.stopped);
            assert!(out.errors[0].contains(text), "{:?}", out.errors);
        }
    }

    #[test]
    fn after_an_unrecognised_stream_the_decoder_stops() {
        let mut codec = SyslogStreamCodec::new(100);
        let mut buf = BytesMut::from(&b"\x16\x03\x01"[..]);
        assert!(codec.decode(&mut buf).is_err());
        assert!(buf.is_empty());
        buf.extend_from_slice(b"<13>a\n");
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FramingError::Stopped { offset: 0 })
        ));
        assert!(buf.is_empty());
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    }

    #[test]
    fn empty_or_blank_stream_yields_nothing() {
        assert_eq!(decode(100, b""), Outcome::default());
        assert_eq!(decode(100, b"\r\n\r\n"), Outcome::default());
    }

    #[test]
    fn stream_offset_follows_the_inner_codec() {
        let mut codec = SyslogStreamCodec::new(100);
        let mut buf = BytesMut::from(&b"\n<13>a\n<13>"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_some());
        assert_eq!(codec.stream_offset(), 7);
    }

    proptest! {
        #[test]
        fn chunking_never_changes_the_result(
            first in prop_oneof![Just(b'<'), b'1'..=b'9', any::<u8>()],
            rest in proptest::collection::vec(
                prop_oneof![
                    Just(b'\n'), Just(b'\r'), Just(0u8), Just(b' '), Just(b'<'),
                    b'0'..=b'9', any::<u8>()
                ],
                0..200,
            ),
            sizes in proptest::collection::vec(1usize..20, 1..10),
            max in 1usize..16,
        ) {
            let data: Vec<u8> = std::iter::once(first).chain(rest).collect();
            let whole = decode(max, &data);
            for frame in &whole.frames {
                prop_assert!(!frame.is_empty() && frame.len() <= max);
            }
            let split = decode_chunks(SyslogStreamCodec::new(max), split_by(&data, &sizes));
            prop_assert_eq!(&split, &whole);
            let bytewise = decode_chunks(SyslogStreamCodec::new(max), split_by(&data, &[1]));
            prop_assert_eq!(&bytewise, &whole);
        }
    }
}
