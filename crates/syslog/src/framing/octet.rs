//! Octet-counting framing (RFC 6587 3.4.1): `MSG-LEN SP SYSLOG-MSG`.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::error::{DeferredError, FramingError, OctetCountProblem};
use super::kind::{strip_line_end, Framing, DEFAULT_MAX_FRAME, DEFAULT_MAX_SKIP, MAX_COUNT_DIGITS};

/// Decodes and encodes octet-counted frames. See the module documentation of
/// [`crate::framing`] for what it accepts and how it recovers.
#[derive(Debug)]
pub struct OctetCountingCodec {
    max_frame: usize,
    max_skip: u64,
    /// Stream offset of the first byte in the decode buffer.
    offset: u64,
    state: State,
    deferred: DeferredError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting an octet count (or CR/LF between frames).
    Count,
    /// The count said `len` bytes; the frame started at stream offset `start`.
    Body { len: usize, start: u64 },
    /// Counting down the bytes of an oversized frame.
    Skip { remaining: u64 },
    /// After an unrecoverable error at `offset`.
    Failed { offset: u64 },
}

impl Default for OctetCountingCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME)
    }
}

impl OctetCountingCodec {
    /// A codec delivering frames of at most `max_frame` bytes (at least 1).
    pub fn new(max_frame: usize) -> Self {
        Self::starting_at(max_frame, 0)
    }

    /// A codec for a stream whose first `offset` bytes were consumed elsewhere.
    pub(crate) fn starting_at(max_frame: usize, offset: u64) -> Self {
        OctetCountingCodec {
            max_frame: max_frame.max(1),
            max_skip: DEFAULT_MAX_SKIP,
            offset,
            state: State::Count,
            deferred: DeferredError::default(),
        }
    }

    /// Sets the largest oversized frame that is skipped rather than taken as
    /// a sign of a broken stream ([`OctetCountProblem::BeyondSkipLimit`]).
    /// Zero makes every oversized frame unrecoverable.
    pub fn with_max_skip(mut self, max_skip: u64) -> Self {
        self.max_skip = max_skip;
        self
    }

    /// The largest frame delivered, in bytes.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Stream bytes consumed so far (the stream offset of the next byte to decode).
    pub fn stream_offset(&self) -> u64 {
        self.offset
    }

    fn consume(&mut self, buf: &mut BytesMut, n: usize) {
        buf.advance(n);
        self.offset += n as u64;
    }

    fn fail(&mut self, buf: &mut BytesMut, error: FramingError) -> FramingError {
        self.state = State::Failed {
            offset: self.offset,
        };
        buf.clear();
        error
    }

    fn bad_count(
        &mut self,
        buf: &mut BytesMut,
        at: usize,
        detail: OctetCountProblem,
    ) -> FramingError {
        let offset = self.offset + at as u64;
        self.fail(buf, FramingError::BadOctetCount { offset, detail })
    }

    /// One frame, `None` for "need more input", or an error.
    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        loop {
            match self.state {
                State::Count => {
                    let blank = buf
                        .iter()
                        .take_while(|&&b| b == b'\n' || b == b'\r')
                        .count();
                    self.consume(buf, blank);
                    let Some((header_len, count)) = self.parse_count(buf)? else {
                        return Ok(None);
                    };
                    let start = self.offset;
                    if count > self.max_skip && count > self.max_frame as u64 {
                        let limit = self.max_skip;
                        return Err(self.bad_count(
                            buf,
                            0,
                            OctetCountProblem::BeyondSkipLimit { len: count, limit },
                        ));
                    }
                    self.consume(buf, header_len);
                    match usize::try_from(count) {
                        Ok(len) if len <= self.max_frame => {
                            self.state = State::Body { len, start };
                        }
                        _ => {
                            self.state = State::Skip { remaining: count };
                            return Err(FramingError::FrameTooLarge {
                                framing: Framing::OctetCounting,
                                len: usize::try_from(count).unwrap_or(usize::MAX),
                                max: self.max_frame,
                                offset: start,
                            });
                        }
                    }
                }
                State::Body { len, .. } => {
                    if buf.len() < len {
                        // One allocation for the whole frame, bounded by max_frame.
                        buf.reserve(len - buf.len());
                        return Ok(None);
                    }
                    let mut frame = buf.split_to(len);
                    self.offset += len as u64;
                    self.state = State::Count;
                    strip_line_end(&mut frame);
                    if !frame.is_empty() {
                        return Ok(Some(frame.freeze()));
                    }
                }
                State::Skip { remaining } => {
                    let available = buf
                        .len()
                        .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    self.consume(buf, available);
                    let remaining = remaining - available as u64;
                    if remaining > 0 {
                        self.state = State::Skip { remaining };
                        return Ok(None);
                    }
                    self.state = State::Count;
                }
                State::Failed { offset } => {
                    buf.clear();
                    return Err(FramingError::Stopped { offset });
                }
            }
        }
    }

    /// Parses `MSG-LEN SP` at the start of `buf`: its length in bytes and the
    /// count, or `None` if the buffer ends inside it.
    fn parse_count(&mut self, buf: &mut BytesMut) -> Result<Option<(usize, u64)>, FramingError> {
        let mut count: u64 = 0;
        let mut problem = None;
        for (i, &byte) in buf.iter().enumerate().take(MAX_COUNT_DIGITS + 1) {
            problem = match byte {
                b'0' if i == 0 => Some((i, OctetCountProblem::LeadingZero)),
                b'0'..=b'9' if i == MAX_COUNT_DIGITS => Some((i, OctetCountProblem::TooManyDigits)),
                b'0'..=b'9' => {
                    count = count * 10 + u64::from(byte - b'0');
                    continue;
                }
                b' ' if i > 0 => return Ok(Some((i + 1, count))),
                found if i == 0 => Some((i, OctetCountProblem::NotADigit { found })),
                found => Some((i, OctetCountProblem::MissingSpace { found })),
            };
            break;
        }
        match problem {
            Some((at, detail)) => Err(self.bad_count(buf, at, detail)),
            None => Ok(None),
        }
    }

    fn finish(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        let error = match self.state {
            State::Count if buf.is_empty() => return Ok(None),
            State::Count => FramingError::TruncatedOctetCount {
                offset: self.offset,
            },
            State::Body { len, start } => FramingError::TruncatedFrame {
                received: buf.len(),
                expected: len,
                offset: start,
            },
            // The oversized frame was reported when its count was read.
            State::Skip { .. } => {
                self.state = State::Count;
                return Ok(None);
            }
            State::Failed { .. } => {
                buf.clear();
                return Ok(None);
            }
        };
        let offset = self.offset + buf.len() as u64;
        self.state = State::Failed { offset };
        self.offset = offset;
        buf.clear();
        Err(error)
    }
}

impl Decoder for OctetCountingCodec {
    type Item = Bytes;
    type Error = FramingError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        let mut deferred = std::mem::take(&mut self.deferred);
        let result = deferred.drive(buf, |buf| self.step(buf));
        self.deferred = deferred;
        result
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        match self.decode(buf) {
            Ok(Some(frame)) => Ok(Some(frame)),
            Ok(None) => self.finish(buf),
            // The error that stopped the decoder was reported; the end of
            // the stream adds nothing.
            Err(FramingError::Stopped { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

impl Encoder<&[u8]> for OctetCountingCodec {
    type Error = FramingError;

    /// Writes `LEN SP MSG`. The decoder strips one trailing LF (or CR LF)
    /// inside a frame, so a message ending in LF does not come back intact.
    fn encode(&mut self, msg: &[u8], dst: &mut BytesMut) -> Result<(), FramingError> {
        if msg.is_empty() {
            return Err(FramingError::EmptyMessage);
        }
        if msg.len() > self.max_frame {
            return Err(FramingError::MessageTooLarge {
                len: msg.len(),
                max: self.max_frame,
            });
        }
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = msg.len();
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (rest % 10) as u8;
            start -= 1;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let count = digits.get(start..).unwrap_or_default();
        dst.reserve(count.len() + 1 + msg.len());
        dst.put_slice(count);
        dst.put_u8(b' ');
        dst.put_slice(msg);
        Ok(())
    }
}

impl Encoder<Bytes> for OctetCountingCodec {
    type Error = FramingError;

    fn encode(&mut self, msg: Bytes, dst: &mut BytesMut) -> Result<(), FramingError> {
        self.encode(&msg[..], dst)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::test_support::{decode_chunks, frames, split_by, Outcome};
    use super::*;

    fn decode(max: usize, data: &[u8]) -> Outcome {
        decode_chunks(OctetCountingCodec::new(max), [data])
    }

    fn encode(codec: &mut OctetCountingCodec, msgs: &[&str]) -> Vec<u8> {
        let mut out = BytesMut::new();
        for msg in msgs {
            codec.encode(msg.as_bytes(), &mut out).unwrap();
        }
        out.to_vec()
    }

    #[test]
    fn decodes_consecutive_frames() {
        let out = decode(100, b"5 hello3 abc11 hello world");
        assert_eq!(out.frames, frames(&["hello", "abc", "hello world"]));
        assert!(out.errors.is_empty() && !out.stopped);
    }

    #[test]
    fn strips_one_trailing_lf_inside_the_count_like_loggen_sends() {
        let out = decode(100, b"6 hello\n7 hello\r\n7 hello\n\n1 \n3 abc");
        assert_eq!(out.frames, frames(&["hello", "hello", "hello\n", "abc"]));
        assert!(out.errors.is_empty());
    }

    #[test]
    fn skips_line_ends_between_frames() {
        let out = decode(100, b"\r\n5 hello\n\n5 world\r\n");
        assert_eq!(out.frames, frames(&["hello", "world"]));
        assert!(out.errors.is_empty());
    }

    #[test]
    fn frame_bytes_are_transparent() {
        let out = decode(100, b"9 a\nb\0c 1 x");
        assert_eq!(out.frames, frames(&["a\nb\0c 1 x"]));
    }

    #[test]
    fn count_errors_name_the_offending_byte() {
        let cases: [(&[u8], u64, &str); 6] = [
            (b"x abc", 0, "found 'x'"),
            (b"5 hello0 abc", 7, "cannot start with 0"),
            (b"12345678901 x", 10, "at most 10 digits"),
            (
                b"5 hello12x",
                9,
                "expected SP after the octet count, found 'x'",
            ),
            (b"3 abc\x16\x03\x01", 5, "found 0x16"),
            (b" 3 abc", 0, "found 0x20"),
        ];
        for (input, offset, text) in cases {
            let out = decode(100, input);
            assert!(out.stopped, "{input:?}");
            assert_eq!(out.errors.len(), 1, "{input:?}: {:?}", out.errors);
            let message = &out.errors[0];
            assert!(
                message.contains(&format!("bad octet count at stream offset {offset}:")),
                "{message}"
            );
            assert!(message.contains(text), "{message}");
        }
    }

    #[test]
    fn frames_before_a_bad_count_are_delivered() {
        let out = decode(100, b"3 abc3 def?");
        assert_eq!(out.frames, frames(&["abc", "def"]));
        assert!(out.stopped);
    }

    #[test]
    fn after_an_unrecoverable_error_the_decoder_stops_and_discards() {
        let mut codec = OctetCountingCodec::new(100);
        let mut buf = BytesMut::from(&b"x3 abc"[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FramingError::BadOctetCount { offset: 0, .. })
        ));
        buf.extend_from_slice(b"3 abc");
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FramingError::Stopped { offset: 0 })
        ));
        assert!(buf.is_empty());
        assert!(matches!(codec.decode_eof(&mut buf), Ok(None)));
    }

    #[test]
    fn oversized_frame_is_reported_once_and_skipped_without_buffering() {
        let mut codec = OctetCountingCodec::new(10);
        let mut buf = BytesMut::from(&b"3 abc"[..]);
        let first = codec.decode(&mut buf).unwrap();
        assert_eq!(first.as_deref(), Some(&b"abc"[..]));
        buf.extend_from_slice(b"1000 ");
        buf.extend_from_slice(&[b'z'; 400]);
        let error = codec.decode(&mut buf).unwrap_err();
        assert!(error.is_recoverable());
        assert!(matches!(
            error,
            FramingError::FrameTooLarge {
                framing: Framing::OctetCounting,
                len: 1000,
                max: 10,
                offset: 5,
            }
        ));
        // The 400 body bytes seen so far are gone, not kept.
        assert!(buf.is_empty());
        buf.extend_from_slice(&[b'z'; 599]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(buf.is_empty());
        buf.extend_from_slice(b"z4 next");
        assert_eq!(
            codec.decode(&mut buf).unwrap().as_deref(),
            Some(&b"next"[..])
        );
        assert_eq!(codec.stream_offset(), 5 + 5 + 1000 + 6);
    }

    #[test]
    fn frames_after_an_oversized_one_come_before_its_error() {
        let mut codec = OctetCountingCodec::new(5);
        let mut buf = BytesMut::from(&b"8 12345678"[..]);
        buf.extend_from_slice(b"3 abc3 def");
        assert_eq!(
            codec.decode(&mut buf).unwrap().as_deref(),
            Some(&b"abc"[..])
        );
        assert_eq!(
            codec.decode(&mut buf).unwrap().as_deref(),
            Some(&b"def"[..])
        );
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FramingError::FrameTooLarge {
                offset: 0,
                len: 8,
                ..
            })
        ));
        assert!(codec.decode(&mut buf).unwrap().is_none());
    }

    #[test]
    fn consecutive_oversized_frames_are_each_reported_in_order() {
        let out = decode(2, b"3 abc4 abcd2 ok5 abcde");
        assert_eq!(out.frames, frames(&["ok"]));
        assert_eq!(out.errors.len(), 3, "{:?}", out.errors);
        assert!(out.errors[0].contains("offset 0 declares 3 bytes"));
        assert!(out.errors[1].contains("offset 5 declares 4 bytes"));
        assert!(out.errors[2].contains("offset 15 declares 5 bytes"));
        assert!(!out.stopped);
    }

    #[test]
    fn recoverable_then_fatal_error_in_one_read_are_both_reported_in_order() {
        let mut codec = OctetCountingCodec::new(5);
        let mut buf = BytesMut::from(&b"10 abcdefghij3 abcx"[..]);
        assert_eq!(
            codec.decode(&mut buf).unwrap().as_deref(),
            Some(&b"abc"[..])
        );
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FramingError::FrameTooLarge { offset: 0, .. })
        ));
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FramingError::BadOctetCount { offset: 18, .. })
        ));
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FramingError::Stopped { offset: 18 })
        ));
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
        let whole = decode(5, b"10 abcdefghij3 abcx");
        assert_eq!(whole.errors.len(), 2);
        assert!(whole.stopped);
        assert_eq!(
            decode_chunks(
                OctetCountingCodec::new(5),
                split_by(b"10 abcdefghij3 abcx", &[1])
            ),
            whole
        );
    }

    #[test]
    fn count_beyond_the_skip_limit_is_not_recoverable() {
        let codec = OctetCountingCodec::new(10).with_max_skip(1000);
        let out = decode_chunks(codec, [&b"1001 abc"[..]]);
        assert!(out.stopped);
        assert_eq!(
            out.errors,
            [
                "bad octet count at stream offset 0: count of 1001 bytes is beyond the skip \
              limit of 1000 bytes; the stream has probably lost its framing"
            ]
        );
        let codec = OctetCountingCodec::new(10).with_max_skip(0);
        let out = decode_chunks(codec, [&b"5 hello11 hello world"[..]]);
        assert_eq!(out.frames, frames(&["hello"]));
        assert!(out.stopped);
        let out = decode(10, b"9999999999 x");
        assert!(
            out.errors[0].contains("beyond the skip limit"),
            "{:?}",
            out.errors
        );
    }

    #[test]
    fn eof_inside_a_frame_or_count_is_a_truncation_error() {
        let out = decode(100, b"3 abc10 hello");
        assert_eq!(out.frames, frames(&["abc"]));
        assert_eq!(
            out.errors,
            ["truncated frame: 5 of 10 bytes at stream offset 5"]
        );
        assert!(out.stopped);

        let out = decode(100, b"3 abc12");
        assert_eq!(
            out.errors,
            ["truncated frame: the stream ended inside the octet count at stream offset 5"]
        );

        // The count arrived, no byte of the frame did.
        let out = decode(100, b"3 abc12 ");
        assert_eq!(
            out.errors,
            ["truncated frame: 0 of 12 bytes at stream offset 5"]
        );
    }

    #[test]
    fn eof_inside_a_skipped_frame_reports_nothing_more() {
        let out = decode(3, b"2 ok10 abc");
        assert_eq!(out.frames, frames(&["ok"]));
        assert_eq!(out.errors.len(), 1);
        assert!(!out.stopped);
    }

    #[test]
    fn decode_eof_after_truncation_is_quiet() {
        let mut codec = OctetCountingCodec::new(100);
        let mut buf = BytesMut::from(&b"10 abc"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(codec.decode_eof(&mut buf).is_err());
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    }

    #[test]
    fn empty_frames_are_skipped() {
        let out = decode(100, b"1 \n2 \r\n3 abc");
        assert_eq!(out.frames, frames(&["abc"]));
    }

    #[test]
    fn frame_of_exactly_max_bytes_is_accepted() {
        let out = decode(5, b"5 hello6 hello\n6 hello!");
        assert_eq!(out.frames, frames(&["hello"]));
        assert_eq!(out.errors.len(), 2);
    }

    #[test]
    fn encodes_len_sp_msg_and_round_trips() {
        let mut codec = OctetCountingCodec::new(1000);
        let long = "x".repeat(1000);
        let wire = encode(&mut codec, &["hello", "a b\nc", &long]);
        assert!(wire.starts_with(b"5 hello5 a b\nc1000 xxx"));
        let out = decode(1000, &wire);
        assert_eq!(out.frames, frames(&["hello", "a b\nc", &long]));
    }

    #[test]
    fn encoder_rejects_empty_and_oversized_messages() {
        let mut codec = OctetCountingCodec::new(4);
        let mut dst = BytesMut::new();
        assert!(matches!(
            codec.encode(&b""[..], &mut dst),
            Err(FramingError::EmptyMessage)
        ));
        assert!(matches!(
            codec.encode(Bytes::from_static(b"hello"), &mut dst),
            Err(FramingError::MessageTooLarge { len: 5, max: 4 })
        ));
        assert!(dst.is_empty());
        codec.encode(Bytes::from_static(b"ok"), &mut dst).unwrap();
        assert_eq!(&dst[..], b"2 ok");
    }

    /// A multi-frame stream with every kind of event: frames of several
    /// sizes, loggen-style LF, CR LF, an oversized frame, blank bytes between
    /// frames, then a truncated tail.
    const MIXED: &[u8] =
        b"5 hello6 world\n4 ab\r\n\n20 this is twenty bytes3 abc\r\n8 \x00\x01\x02\xff\xfe\n\n\n7 trunc";

    #[test]
    fn every_split_point_gives_the_same_result() {
        let whole = decode(10, MIXED);
        assert_eq!(
            whole.frames,
            frames(&["hello", "world", "ab", "abc"])
                .into_iter()
                .chain([Bytes::from_static(b"\x00\x01\x02\xff\xfe\n\n")])
                .collect::<Vec<_>>()
        );
        assert_eq!(whole.errors.len(), 2, "{:?}", whole.errors);
        assert!(whole.errors[0].contains("declares 20 bytes"));
        assert_eq!(
            whole.errors[1],
            "truncated frame: 5 of 7 bytes at stream offset 62"
        );
        let bytewise = decode_chunks(OctetCountingCodec::new(10), split_by(MIXED, &[1]));
        assert_eq!(bytewise, whole);
        for at in 0..=MIXED.len() {
            let (a, b) = MIXED.split_at(at);
            assert_eq!(
                decode_chunks(OctetCountingCodec::new(10), [a, b]),
                whole,
                "split at {at}"
            );
        }
    }

    proptest! {
        #[test]
        fn random_chunkings_give_the_same_result(
            sizes in proptest::collection::vec(1usize..12, 1..20),
        ) {
            let whole = decode(10, MIXED);
            let split = decode_chunks(OctetCountingCodec::new(10), split_by(MIXED, &sizes));
            prop_assert_eq!(split, whole);
        }

        #[test]
        fn encoded_messages_round_trip_under_any_chunking(
            msgs in proptest::collection::vec("[^\n]{1,40}", 0..12),
            sizes in proptest::collection::vec(1usize..50, 1..10),
        ) {
            let mut codec = OctetCountingCodec::new(200);
            let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
            let wire = encode(&mut codec, &refs);
            let out = decode_chunks(OctetCountingCodec::new(200), split_by(&wire, &sizes));
            prop_assert_eq!(out.frames, frames(&refs));
            prop_assert!(out.errors.is_empty());
        }
    }
}
