//! The decoder of one NETCONF session's stream: end-of-message framing for
//! the hello exchange, then chunked framing when both sides offered base:1.1.

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use super::chunked::ChunkedDecoder;
use super::eom::EomDecoder;
use super::kind::{Frame, Framing, DEFAULT_MAX_CHUNK};
use crate::error::NetconfError;

#[derive(Debug, Clone)]
enum Inner {
    Eom(EomDecoder),
    Chunked(ChunkedDecoder),
}

/// Decodes a session's stream into [`Frame`]s in the current framing.
///
/// It starts in end-of-message framing (RFC 6242 section 4.1: the hellos
/// are always sent that way); [`FrameDecoder::switch_to`] changes the framing
/// between two messages, after the hello exchange.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    inner: Inner,
    max_chunk: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_CHUNK)
    }
}

impl FrameDecoder {
    /// A decoder in end-of-message framing; once chunked it refuses chunks
    /// over `max_chunk` bytes.
    pub fn new(max_chunk: usize) -> Self {
        FrameDecoder {
            inner: Inner::Eom(EomDecoder::new()),
            max_chunk,
        }
    }

    /// The framing in use.
    pub fn framing(&self) -> Framing {
        match self.inner {
            Inner::Eom(_) => Framing::EndOfMessage,
            Inner::Chunked(_) => Framing::Chunked,
        }
    }

    /// Bytes of the stream consumed so far.
    pub fn offset(&self) -> u64 {
        match &self.inner {
            Inner::Eom(d) => d.offset(),
            Inner::Chunked(d) => d.offset(),
        }
    }

    /// Whether the decoder stands between two messages.
    pub fn at_message_boundary(&self) -> bool {
        match &self.inner {
            Inner::Eom(d) => d.at_message_boundary(),
            Inner::Chunked(d) => d.at_message_boundary(),
        }
    }

    /// Changes the framing for the following messages.
    ///
    /// # Errors
    ///
    /// [`NetconfError::Unframeable`] when called inside a message.
    pub fn switch_to(&mut self, framing: Framing) -> Result<(), NetconfError> {
        if !self.at_message_boundary() {
            return Err(NetconfError::Unframeable(
                "the framing can change only between two messages",
            ));
        }
        let offset = self.offset();
        self.inner = match framing {
            Framing::EndOfMessage => Inner::Eom(EomDecoder::at_offset(offset)),
            Framing::Chunked => Inner::Chunked(ChunkedDecoder::at_offset(self.max_chunk, offset)),
        };
        Ok(())
    }
}

impl Decoder for FrameDecoder {
    type Item = Frame;
    type Error = NetconfError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, NetconfError> {
        match &mut self.inner {
            Inner::Eom(d) => d.decode(buf),
            Inner::Chunked(d) => d.decode(buf),
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, NetconfError> {
        match &mut self.inner {
            Inner::Eom(d) => d.decode_eof(buf),
            Inner::Chunked(d) => d.decode_eof(buf),
        }
    }
}
