//! Non-transparent framing (RFC 6587 3.4.2): one message per line.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::error::{DeferredError, FramingError};
use super::kind::{Framing, DEFAULT_MAX_FRAME};

/// Decodes and encodes LF-delimited frames. A frame ends at LF or NUL; a CR
/// before the LF is dropped; empty lines are skipped. See the module
/// documentation of [`crate::framing`] for recovery.
#[derive(Debug)]
pub struct LfDelimitedCodec {
    max_frame: usize,
    /// Stream offset of the first byte in the decode buffer.
    offset: u64,
    /// Bytes at the start of the buffer already searched for a terminator,
    /// so a long line arriving in pieces is scanned once.
    scanned: usize,
    /// Discarding an oversized line up to its terminator.
    discarding: bool,
    deferred: DeferredError,
}

impl Default for LfDelimitedCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME)
    }
}

impl LfDelimitedCodec {
    /// A codec delivering lines of at most `max_frame` bytes (at least 1),
    /// terminator and CR not counted.
    pub fn new(max_frame: usize) -> Self {
        Self::starting_at(max_frame, 0)
    }

    /// A codec for a stream whose first `offset` bytes were consumed elsewhere.
    pub(crate) fn starting_at(max_frame: usize, offset: u64) -> Self {
        LfDelimitedCodec {
            max_frame: max_frame.max(1),
            offset,
            scanned: 0,
            discarding: false,
            deferred: DeferredError::default(),
        }
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

    /// Takes the first `len` bytes of `buf` as a line, and its terminator
    /// after them if there is one. `None` for an empty line.
    fn take_line(
        &mut self,
        buf: &mut BytesMut,
        len: usize,
        terminator: Option<u8>,
    ) -> Result<Option<Bytes>, FramingError> {
        let start = self.offset;
        let taken = len + usize::from(terminator.is_some());
        let mut line = buf.split_to(taken);
        self.offset += taken as u64;
        self.scanned = 0;
        line.truncate(len);
        // CR LF, and a CR cut off by the end of the stream.
        if terminator != Some(0) && line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.len() > self.max_frame {
            return Err(FramingError::FrameTooLarge {
                framing: Framing::LfDelimited,
                len: line.len(),
                max: self.max_frame,
                offset: start,
            });
        }
        Ok((!line.is_empty()).then(|| line.freeze()))
    }

    /// One frame, `None` for "need more input", or an error.
    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        // Each pass consumes a line or returns.
        loop {
            if self.discarding {
                match memchr::memchr2(b'\n', 0, buf) {
                    Some(end) => {
                        self.consume(buf, end + 1);
                        self.discarding = false;
                    }
                    None => {
                        let all = buf.len();
                        self.consume(buf, all);
                        return Ok(None);
                    }
                }
            }
            // A line of max_frame bytes plus CR LF is the longest that fits.
            let window = buf.len().min(self.max_frame.saturating_add(2));
            let from = self.scanned.min(window);
            let found = buf
                .get(from..window)
                .and_then(|unscanned| memchr::memchr2(b'\n', 0, unscanned));
            if let Some(relative) = found {
                let end = from + relative;
                let terminator = buf.get(end).copied();
                match self.take_line(buf, end, terminator)? {
                    Some(line) => return Ok(Some(line)),
                    None => continue,
                }
            }
            if window < self.max_frame.saturating_add(2) {
                self.scanned = window;
                return Ok(None);
            }
            // max_frame + 2 bytes and no terminator: too long whatever follows.
            let error = FramingError::FrameTooLarge {
                framing: Framing::LfDelimited,
                len: window,
                max: self.max_frame,
                offset: self.offset,
            };
            self.discarding = true;
            self.scanned = 0;
            self.consume(buf, window);
            return Err(error);
        }
    }

    fn finish(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        if self.discarding {
            let all = buf.len();
            self.consume(buf, all);
            self.discarding = false;
            return Ok(None);
        }
        // `step` left no terminator in `buf`: what remains is an unterminated
        // last line (at most max_frame + 1 bytes).
        if buf.is_empty() {
            return Ok(None);
        }
        let len = buf.len();
        self.take_line(buf, len, None)
    }
}

impl Decoder for LfDelimitedCodec {
    type Item = Bytes;
    type Error = FramingError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        let mut deferred = std::mem::take(&mut self.deferred);
        let result = deferred.drive(buf, |buf| self.step(buf));
        self.deferred = deferred;
        result
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None => self.finish(buf),
        }
    }
}

impl Encoder<&[u8]> for LfDelimitedCodec {
    type Error = FramingError;

    /// Writes `MSG LF`. A message containing LF or NUL would become two
    /// frames, so it is refused; so is one containing CR, which some
    /// receivers take as the end of a record too.
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
        if let Some(position) = memchr::memchr3(b'\n', b'\r', 0, msg) {
            return Err(FramingError::MessageContainsTerminator {
                byte: msg.get(position).copied().unwrap_or_default(),
                position,
            });
        }
        dst.reserve(msg.len() + 1);
        dst.put_slice(msg);
        dst.put_u8(b'\n');
        Ok(())
    }
}

impl Encoder<Bytes> for LfDelimitedCodec {
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
        decode_chunks(LfDelimitedCodec::new(max), [data])
    }

    #[test]
    fn decodes_lf_crlf_and_nul_terminated_lines() {
        let out = decode(100, b"<13>one\n<13>two\r\n<13>three\0<13>four\r\0");
        assert_eq!(
            out.frames,
            frames(&["<13>one", "<13>two", "<13>three", "<13>four\r"])
        );
        assert!(out.errors.is_empty() && !out.stopped);
    }

    #[test]
    fn skips_empty_lines() {
        let out = decode(100, b"\n\r\n<13>a\n\n\0\r\n<13>b\n");
        assert_eq!(out.frames, frames(&["<13>a", "<13>b"]));
    }

    #[test]
    fn unterminated_last_line_is_delivered_at_eof() {
        let out = decode(100, b"<13>a\n<13>last");
        assert_eq!(out.frames, frames(&["<13>a", "<13>last"]));
        let out = decode(100, b"<13>a\n<13>last\r");
        assert_eq!(out.frames, frames(&["<13>a", "<13>last"]));
        assert!(out.errors.is_empty());
    }

    #[test]
    fn line_of_exactly_max_bytes_is_accepted_with_any_terminator() {
        let out = decode(5, b"12345\n12345\r\n12345\x0012345");
        assert_eq!(out.frames, frames(&["12345"; 4]));
        assert!(out.errors.is_empty());
    }

    #[test]
    fn line_one_byte_over_max_is_rejected_with_its_exact_length() {
        let out = decode(5, b"123456\nok\n");
        assert_eq!(out.frames, frames(&["ok"]));
        assert_eq!(
            out.errors,
            [
                "LF-delimited line at stream offset 0 is longer than the maximum of 5 bytes; \
              it is discarded up to the next LF"
            ]
        );
        let mut codec = LfDelimitedCodec::new(5);
        let mut buf = BytesMut::from(&b"123456\n"[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FramingError::FrameTooLarge {
                len: 6,
                max: 5,
                offset: 0,
                ..
            })
        ));
        // Unterminated at EOF, one byte over.
        let out = decode(5, b"ok\n123456");
        assert_eq!(out.frames, frames(&["ok"]));
        assert_eq!(out.errors.len(), 1);
        assert!(out.errors[0].contains("offset 3"));
    }

    #[test]
    fn oversized_line_is_reported_once_then_discarded_without_buffering() {
        let mut codec = LfDelimitedCodec::new(8);
        let mut buf = BytesMut::from(&b"<13>ok\n<13>this line is too long"[..]);
        assert_eq!(
            codec.decode(&mut buf).unwrap().as_deref(),
            Some(&b"<13>ok"[..])
        );
        let error = codec.decode(&mut buf).unwrap_err();
        assert!(error.is_recoverable());
        assert!(matches!(
            error,
            FramingError::FrameTooLarge {
                framing: Framing::LfDelimited,
                offset: 7,
                ..
            }
        ));
        assert!(buf.is_empty(), "discarded bytes are not kept");
        for _ in 0..1000 {
            buf.extend_from_slice(b"more of the same line ");
            assert!(codec.decode(&mut buf).unwrap().is_none());
            assert!(buf.is_empty());
        }
        buf.extend_from_slice(b"end\r\n<13>next\n");
        assert_eq!(
            codec.decode(&mut buf).unwrap().as_deref(),
            Some(&b"<13>next"[..])
        );
        assert!(codec.decode(&mut buf).unwrap().is_none());
    }

    #[test]
    fn frames_after_an_oversized_line_come_before_its_error() {
        let mut codec = LfDelimitedCodec::new(4);
        let mut buf = BytesMut::from(&b"toolong\nab\ncd\n"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap().as_deref(), Some(&b"ab"[..]));
        assert_eq!(codec.decode(&mut buf).unwrap().as_deref(), Some(&b"cd"[..]));
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FramingError::FrameTooLarge { offset: 0, .. })
        ));
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert_eq!(codec.stream_offset(), 14);
    }

    #[test]
    fn oversized_line_cut_by_eof_reports_once() {
        let out = decode(4, b"ab\nthis never ends");
        assert_eq!(out.frames, frames(&["ab"]));
        assert_eq!(out.errors.len(), 1);
        assert!(!out.stopped);
    }

    #[test]
    fn encoding_refuses_a_cr_anywhere() {
        let mut codec = LfDelimitedCodec::new(10);
        let mut dst = BytesMut::new();
        for (msg, position) in [(&b"ab\rcd"[..], 2), (b"ab\r", 2)] {
            assert!(matches!(
                codec.encode(msg, &mut dst),
                Err(FramingError::MessageContainsTerminator { byte: b'\r', position: p }) if p == position
            ));
        }
        assert!(dst.is_empty());
    }

    #[test]
    fn encodes_msg_lf_and_refuses_terminators_inside() {
        let mut codec = LfDelimitedCodec::new(10);
        let mut dst = BytesMut::new();
        codec.encode(&b"<13>a"[..], &mut dst).unwrap();
        codec
            .encode(Bytes::from_static(b"<13>b"), &mut dst)
            .unwrap();
        assert_eq!(&dst[..], b"<13>a\n<13>b\n");
        for (msg, byte, position) in [(&b"ab\ncd"[..], b'\n', 2), (b"ab\0", 0, 2)] {
            match codec.encode(msg, &mut dst) {
                Err(error @ FramingError::MessageContainsTerminator { .. }) => {
                    assert!(matches!(
                        error,
                        FramingError::MessageContainsTerminator { byte: b, position: p }
                            if b == byte && p == position
                    ));
                    assert!(error.is_recoverable());
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            codec.encode(&b""[..], &mut dst),
            Err(FramingError::EmptyMessage)
        ));
        assert!(matches!(
            codec.encode(&b"12345678901"[..], &mut dst),
            Err(FramingError::MessageTooLarge { len: 11, max: 10 })
        ));
        assert_eq!(&dst[..], b"<13>a\n<13>b\n", "nothing written on error");
        assert_eq!(
            FramingError::MessageContainsTerminator {
                byte: b'\n',
                position: 2
            }
            .to_string(),
            "cannot LF-frame a message containing 0x0a at byte 2"
        );
    }

    const MIXED: &[u8] =
        b"<13>one\n<14>two\r\n\n<15>this line is far too long\n<16>x\0\r\n<17>\xff\xfe\n<18>tail";

    #[test]
    fn every_split_point_gives_the_same_result() {
        let whole = decode(12, MIXED);
        assert_eq!(
            whole.frames,
            [
                &b"<13>one"[..],
                b"<14>two",
                b"<16>x",
                b"<17>\xff\xfe",
                b"<18>tail"
            ]
            .map(Bytes::from_static)
        );
        assert_eq!(whole.errors.len(), 1, "{:?}", whole.errors);
        assert!(whole.errors[0].contains("offset 18"));
        assert_eq!(
            decode_chunks(LfDelimitedCodec::new(12), split_by(MIXED, &[1])),
            whole
        );
        for at in 0..=MIXED.len() {
            let (a, b) = MIXED.split_at(at);
            assert_eq!(
                decode_chunks(LfDelimitedCodec::new(12), [a, b]),
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
            let whole = decode(12, MIXED);
            let split = decode_chunks(LfDelimitedCodec::new(12), split_by(MIXED, &sizes));
            prop_assert_eq!(split, whole);
        }

        #[test]
        fn encoded_lines_round_trip_under_any_chunking(
            msgs in proptest::collection::vec("[^\n\r\u{0}]{1,40}", 0..12),
            sizes in proptest::collection::vec(1usize..50, 1..10),
        ) {
            let mut codec = LfDelimitedCodec::new(200);
            let mut wire = BytesMut::new();
            for msg in &msgs {
                codec.encode(msg.as_bytes(), &mut wire).unwrap();
            }
            let out = decode_chunks(LfDelimitedCodec::new(200), split_by(&wire, &sizes));
            let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
            prop_assert_eq!(out.frames, frames(&refs));
            prop_assert!(out.errors.is_empty());
        }
    }
}
