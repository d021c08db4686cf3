//! Whole messages: the codec a session uses to read and write one NETCONF
//! message at a time, bounded by the maximum message size.

use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::kind::{Frame, Framing, DEFAULT_MAX_CHUNK, DEFAULT_MAX_MESSAGE, END_OF_MESSAGE};
use super::stream::FrameDecoder;
use crate::error::NetconfError;

/// Reads and writes whole NETCONF messages in the session's framing.
///
/// Decoding assembles the [`Frame`]s of [`FrameDecoder`] and refuses a
/// message as soon as it grows past the maximum, before buffering more.
/// Encoding writes a message in the current framing; chunked messages are
/// cut into chunks of at most the maximum chunk size.
#[derive(Debug, Clone)]
pub struct MessageCodec {
    frames: FrameDecoder,
    message: BytesMut,
    message_start: u64,
    max_message: usize,
    max_chunk: usize,
    send_framing: Framing,
}

impl Default for MessageCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE, DEFAULT_MAX_CHUNK)
    }
}

impl MessageCodec {
    /// A codec in end-of-message framing with the given limits.
    pub fn new(max_message: usize, max_chunk: usize) -> Self {
        MessageCodec {
            frames: FrameDecoder::new(max_chunk),
            message: BytesMut::new(),
            message_start: 0,
            max_message,
            max_chunk: max_chunk.max(1),
            send_framing: Framing::EndOfMessage,
        }
    }

    /// The framing of received messages.
    pub fn framing(&self) -> Framing {
        self.frames.framing()
    }

    /// Changes the framing of both directions, after the hello exchange.
    ///
    /// # Errors
    ///
    /// [`NetconfError::Unframeable`] when a received message is half read.
    pub fn switch_to(&mut self, framing: Framing) -> Result<(), NetconfError> {
        if !self.message.is_empty() {
            return Err(NetconfError::Unframeable(
                "the framing can change only between two messages",
            ));
        }
        self.frames.switch_to(framing)?;
        self.send_framing = framing;
        Ok(())
    }
}

impl Decoder for MessageCodec {
    type Item = Bytes;
    type Error = NetconfError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, NetconfError> {
        self.assemble(buf, false)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, NetconfError> {
        self.assemble(buf, true)
    }
}

impl MessageCodec {
    fn assemble(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Bytes>, NetconfError> {
        loop {
            if self.message.is_empty() && self.frames.at_message_boundary() {
                self.message_start = self.frames.offset();
            }
            let frame = if eof {
                self.frames.decode_eof(buf)?
            } else {
                self.frames.decode(buf)?
            };
            match frame {
                None => return Ok(None),
                Some(Frame::End) => return Ok(Some(self.message.split().freeze())),
                Some(Frame::Data(data)) => {
                    if self.message.len() + data.len() > self.max_message {
                        return Err(NetconfError::MessageTooLarge {
                            offset: self.message_start,
                            max: self.max_message,
                        });
                    }
                    self.message.extend_from_slice(&data);
                }
            }
        }
    }
}

impl Encoder<&[u8]> for MessageCodec {
    type Error = NetconfError;

    fn encode(&mut self, message: &[u8], dst: &mut BytesMut) -> Result<(), NetconfError> {
        encode_message(self.send_framing, self.max_chunk, message, dst)
    }
}

/// Writes `message` framed as `framing` into `dst`, in chunks of at most
/// `max_chunk` bytes when chunked.
///
/// # Errors
///
/// [`NetconfError::Unframeable`] for an empty message in chunked framing
/// (RFC 6242 requires one chunk) and, in end-of-message framing, for a
/// message containing `]]>]]>` or ending in `]]>` (it would end early;
/// escaped XML, where `>` in text is `&gt;`, never does).
pub fn encode_message(
    framing: Framing,
    max_chunk: usize,
    message: &[u8],
    dst: &mut BytesMut,
) -> Result<(), NetconfError> {
    match framing {
        Framing::EndOfMessage => {
            // The delimiter must first occur where it is appended: neither
            // inside the message nor across its end ("x]]>" + "]]>]]>").
            let tail = &message[message.len().saturating_sub(END_OF_MESSAGE.len() - 1)..];
            let mut joint = tail.to_vec();
            joint.extend_from_slice(END_OF_MESSAGE);
            if memchr::memmem::find(message, END_OF_MESSAGE).is_some()
                || memchr::memmem::find(&joint, END_OF_MESSAGE) != Some(tail.len())
            {
                return Err(NetconfError::Unframeable(
                    "the message contains or ends with part of the end-of-message delimiter ]]>]]>",
                ));
            }
            dst.reserve(message.len() + END_OF_MESSAGE.len());
            dst.put_slice(message);
            dst.put_slice(END_OF_MESSAGE);
        }
        Framing::Chunked => {
            if message.is_empty() {
                return Err(NetconfError::Unframeable(
                    "an empty message cannot be chunked (RFC 6242 requires one chunk)",
                ));
            }
            let chunk = max_chunk.clamp(1, super::kind::RFC_MAX_CHUNK as usize);
            dst.reserve(message.len() + 16 * (message.len() / chunk + 1) + 4);
            for piece in message.chunks(chunk) {
                dst.put_slice(format!("\n#{}\n", piece.len()).as_bytes());
                dst.put_slice(piece);
            }
            dst.put_slice(b"\n##\n");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_then_chunked() {
        let mut codec = MessageCodec::new(1000, 4);
        let mut buf = BytesMut::from(&b"<hello/>]]>]]>\n#3\n<a/\n#1\n>\n##\n"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &b"<hello/>"[..]);
        codec.switch_to(Framing::Chunked).unwrap();
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &b"<a/>"[..]);
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);

        let mut out = BytesMut::new();
        codec.encode(&b"<rpc/>"[..], &mut out).unwrap();
        assert_eq!(&out[..], b"\n#4\n<rpc\n#2\n/>\n##\n");
    }

    #[test]
    fn too_large_is_refused_before_the_end() {
        let mut codec = MessageCodec::new(8, 100);
        let mut buf = BytesMut::from(&b"<a/>]]>]]><rpc>0123456789"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &b"<a/>"[..]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert_eq!(err, NetconfError::MessageTooLarge { offset: 10, max: 8 });
    }

    #[test]
    fn unframeable_messages() {
        let mut out = BytesMut::new();
        assert!(encode_message(Framing::EndOfMessage, 10, b"a]]>]]>b", &mut out).is_err());
        assert!(encode_message(Framing::EndOfMessage, 10, b"a]]>", &mut out).is_err());
        assert!(encode_message(Framing::EndOfMessage, 10, b"a]]>]]", &mut out).is_ok());
        assert!(encode_message(Framing::Chunked, 10, b"", &mut out).is_err());
    }
}
