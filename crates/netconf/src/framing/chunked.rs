//! NETCONF 1.1 chunked framing (RFC 6242 section 4.2), decoded piece by
//! piece: chunk data is handed on as it arrives, never buffered whole.

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use super::kind::{Frame, DEFAULT_MAX_CHUNK, RFC_MAX_CHUNK};
use crate::error::NetconfError;

/// Where the decoder stands in the grammar
/// `1*(LF "#" chunk-size LF chunk-data) LF "#" "#" LF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a chunk header or the end-of-chunks marker.
    Header,
    /// Inside chunk data, this many bytes still to come.
    Data(u64),
}

/// Decodes chunked messages into [`Frame`]s.
///
/// A chunk size over the maximum (or over RFC 6242's 4294967295) is refused
/// as soon as its digits are read; a grammar error names the stream offset
/// of the offending byte. After an error the decoder keeps returning it.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    max_chunk: usize,
    consumed: u64,
    /// Whether the current message has had a chunk (RFC 6242 requires one).
    chunks_in_message: bool,
    failed: Option<NetconfError>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_CHUNK)
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a stream that refuses chunks over `max_chunk` bytes.
    pub fn new(max_chunk: usize) -> Self {
        Self::at_offset(max_chunk, 0)
    }

    /// A decoder that continues a stream at `offset`.
    pub(crate) fn at_offset(max_chunk: usize, offset: u64) -> Self {
        ChunkedDecoder {
            state: State::Header,
            max_chunk,
            consumed: offset,
            chunks_in_message: false,
            failed: None,
        }
    }

    /// Bytes of the stream consumed so far.
    pub fn offset(&self) -> u64 {
        self.consumed
    }

    /// Whether the decoder stands between two messages.
    pub fn at_message_boundary(&self) -> bool {
        self.state == State::Header && !self.chunks_in_message
    }

    fn fail(&mut self, err: NetconfError) -> Result<Option<Frame>, NetconfError> {
        self.failed = Some(err.clone());
        Err(err)
    }

    fn grammar(&mut self, at: usize, what: &'static str) -> Result<Option<Frame>, NetconfError> {
        let offset = self.consumed + at as u64;
        self.fail(NetconfError::ChunkGrammar { offset, what })
    }

    /// Reads a chunk header or the end-of-chunks marker at the start of `buf`.
    fn header(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, NetconfError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if first != b'\n' {
            return self.grammar(0, "expected LF starting a chunk header");
        }
        let Some(&hash) = buf.get(1) else {
            return Ok(None);
        };
        if hash != b'#' {
            return self.grammar(1, "expected '#' after LF in a chunk header");
        }
        let Some(&lead) = buf.get(2) else {
            return Ok(None);
        };
        if lead == b'#' {
            let Some(&lf) = buf.get(3) else {
                return Ok(None);
            };
            if lf != b'\n' {
                return self.grammar(3, "expected LF after end-of-chunks '##'");
            }
            if !self.chunks_in_message {
                return self.grammar(0, "end-of-chunks before any chunk (RFC 6242 requires one)");
            }
            let _ = buf.split_to(4);
            self.consumed += 4;
            self.chunks_in_message = false;
            return Ok(Some(Frame::End));
        }
        if !(b'1'..=b'9').contains(&lead) {
            return self.grammar(2, "expected a chunk size starting with a digit 1-9, or '#'");
        }
        let mut size: u64 = 0;
        let mut at = 2;
        loop {
            let Some(&b) = buf.get(at) else {
                return Ok(None);
            };
            if b == b'\n' {
                break;
            }
            if !b.is_ascii_digit() {
                return self.grammar(at, "expected a digit or LF in the chunk size");
            }
            size = size.saturating_mul(10).saturating_add(u64::from(b - b'0'));
            // Refused as soon as the digits read so far are too many, before
            // the LF and before any data: a 4 GB chunk is never waited for.
            if size > self.max_chunk as u64 || size > RFC_MAX_CHUNK {
                let offset = self.consumed;
                let max = self.max_chunk;
                return self.fail(NetconfError::ChunkTooLarge { offset, size, max });
            }
            at += 1;
        }
        let _ = buf.split_to(at + 1);
        self.consumed += (at + 1) as u64;
        self.state = State::Data(size);
        self.chunks_in_message = true;
        self.data(buf)
    }

    fn data(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, NetconfError> {
        let State::Data(remaining) = self.state else {
            return Ok(None);
        };
        if buf.is_empty() {
            return Ok(None);
        }
        let take = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let left = remaining - take as u64;
        self.state = if left == 0 {
            State::Header
        } else {
            State::Data(left)
        };
        self.consumed += take as u64;
        Ok(Some(Frame::Data(buf.split_to(take).freeze())))
    }
}

impl Decoder for ChunkedDecoder {
    type Item = Frame;
    type Error = NetconfError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, NetconfError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match self.state {
            State::Header => self.header(buf),
            State::Data(_) => self.data(buf),
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, NetconfError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        if buf.is_empty() && self.at_message_boundary() {
            return Ok(None);
        }
        let err = NetconfError::Truncated {
            offset: self.consumed + buf.len() as u64,
            pending: buf.len(),
        };
        self.fail(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn all(max: usize, input: &[u8]) -> Result<Vec<Frame>, NetconfError> {
        let mut d = ChunkedDecoder::new(max);
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(f) = d.decode_eof(&mut buf)? {
            out.push(f);
        }
        Ok(out)
    }

    #[test]
    fn rfc_6242_example() {
        let frames = all(100, b"\n#4\n<rpc\n#18\n message-id=\"102\"\n\n#79\n     xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\n  <close-session/>\n</rpc>\n##\n").unwrap();
        let data: Vec<u8> = frames
            .iter()
            .filter_map(|f| match f {
                Frame::Data(d) => Some(d.to_vec()),
                Frame::End => None,
            })
            .flatten()
            .collect();
        assert_eq!(frames.last(), Some(&Frame::End));
        assert!(data.starts_with(b"<rpc message-id=\"102\"\n"));
        assert!(data.ends_with(b"</rpc>"));
    }

    #[test]
    fn a_4_gb_chunk_is_refused_before_its_data() {
        // Only the header is there: the size alone is enough to refuse.
        let err = all(1 << 20, b"\n#4294967296").unwrap_err();
        assert!(
            matches!(err, NetconfError::ChunkTooLarge { offset: 0, .. }),
            "{err}"
        );
        let err = all(usize::MAX, b"\n#4294967296\n").unwrap_err();
        assert!(matches!(err, NetconfError::ChunkTooLarge { .. }), "{err}");
        assert!(err.to_string().contains("stream offset 0"), "{err}");
        let mut d = ChunkedDecoder::new(1 << 20);
        let mut buf = BytesMut::from(&b"\n#1\nx\n##\n\n#99999999999999999999999"[..]);
        assert_eq!(
            d.decode(&mut buf).unwrap(),
            Some(Frame::Data(Bytes::from_static(b"x")))
        );
        assert_eq!(d.decode(&mut buf).unwrap(), Some(Frame::End));
        let err = d.decode(&mut buf).unwrap_err();
        assert_eq!(
            err,
            NetconfError::ChunkTooLarge {
                offset: 9,
                size: 9_999_999,
                max: 1 << 20
            }
        );
        // The error sticks.
        assert_eq!(d.decode(&mut buf).unwrap_err(), err);
    }

    #[test]
    fn grammar_errors_name_the_offset() {
        let cases: &[(&[u8], u64)] = &[
            (b"x", 0),
            (b"\nx", 1),
            (b"\n#0\n", 2),
            (b"\n#01\n", 2),
            (b"\n#1x", 3),
            (b"\n#1\na\n#x", 7),
            (b"\n##\n", 0),
            (b"\n#1\na\n##x", 8),
        ];
        for (input, offset) in cases {
            match all(100, input) {
                Err(NetconfError::ChunkGrammar { offset: o, .. }) => {
                    assert_eq!(o, *offset, "{:?}", String::from_utf8_lossy(input))
                }
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
            }
        }
    }

    #[test]
    fn unterminated_message_at_eof() {
        for input in [&b"\n#5\nab"[..], b"\n#2\nab", b"\n#"] {
            assert!(matches!(
                all(100, input),
                Err(NetconfError::Truncated { .. })
            ));
        }
        assert_eq!(all(100, b"").unwrap(), vec![]);
    }
}
