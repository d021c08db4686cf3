//! The two directions of a client's byte stream (the SSH channel): whole
//! messages read within the exporter's limits, and messages written in the
//! negotiated framing, including the pieces of a reply that stays open
//! (`<get-syslog-events>`), chunk by chunk.

use bytes::{Bytes, BytesMut};
use netaudit_netconf::framing::{encode_message, Framing, MessageCodec, END_OF_MESSAGE};
use netaudit_netconf::NetconfError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::Decoder;

/// The largest request a client may send (and chunk it announces): the
/// exporter's requests are small; anything larger is refused from its header.
pub(crate) const MAX_REQUEST: usize = 1 << 20;

/// Reads whole messages from the client.
pub(crate) struct MessageReader<R> {
    io: R,
    buf: BytesMut,
    codec: MessageCodec,
}

impl<R: AsyncRead + Unpin> MessageReader<R> {
    pub(crate) fn new(io: R) -> Self {
        MessageReader {
            io,
            buf: BytesMut::with_capacity(8 << 10),
            codec: MessageCodec::new(MAX_REQUEST, MAX_REQUEST),
        }
    }

    /// The next message; `None` when the client closed the stream between
    /// two messages. Cancel-safe: bytes read are kept in the buffer.
    pub(crate) async fn next_message(&mut self) -> Result<Option<Bytes>, NetconfError> {
        loop {
            if let Some(message) = self.codec.decode(&mut self.buf)? {
                return Ok(Some(message));
            }
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return self.codec.decode_eof(&mut self.buf);
            }
        }
    }

    pub(crate) fn switch_to(&mut self, framing: Framing) -> Result<(), NetconfError> {
        self.codec.switch_to(framing)
    }
}

/// Writes messages to the client in the session's framing.
pub(crate) struct MessageWriter<W> {
    io: W,
    framing: Framing,
    out: BytesMut,
}

impl<W: AsyncWrite + Unpin> MessageWriter<W> {
    pub(crate) fn new(io: W) -> Self {
        MessageWriter {
            io,
            framing: Framing::EndOfMessage,
            out: BytesMut::with_capacity(8 << 10),
        }
    }

    pub(crate) fn switch_to(&mut self, framing: Framing) {
        self.framing = framing;
    }

    /// One whole message.
    pub(crate) async fn message(&mut self, xml: &str) -> Result<(), NetconfError> {
        self.out.clear();
        encode_message(self.framing, MAX_REQUEST, xml.as_bytes(), &mut self.out)?;
        self.flush_out().await
    }

    /// A piece of a message that goes on (a chunk in chunked framing, the
    /// bytes as they are in end-of-message framing; escaped XML never
    /// holds the delimiter).
    pub(crate) async fn piece(&mut self, xml: &str) -> Result<(), NetconfError> {
        self.out.clear();
        if xml.is_empty() {
            return Ok(());
        }
        if self.framing == Framing::Chunked {
            self.out
                .extend_from_slice(format!("\n#{}\n", xml.len()).as_bytes());
        }
        self.out.extend_from_slice(xml.as_bytes());
        self.flush_out().await
    }

    /// Ends the message whose pieces were written.
    pub(crate) async fn end_message(&mut self) -> Result<(), NetconfError> {
        self.out.clear();
        match self.framing {
            Framing::Chunked => self.out.extend_from_slice(b"\n##\n"),
            _ => self.out.extend_from_slice(END_OF_MESSAGE),
        }
        self.flush_out().await
    }

    async fn flush_out(&mut self) -> Result<(), NetconfError> {
        self.io.write_all(&self.out).await?;
        self.io.flush().await?;
        Ok(())
    }

    /// Ends the stream (the channel's EOF).
    pub(crate) async fn shutdown(&mut self) {
        let _ = self.io.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netaudit_netconf::framing::{Frame, FrameDecoder};

    #[tokio::test]
    async fn an_open_reply_written_in_pieces_decodes_as_one_message() {
        for framing in [Framing::EndOfMessage, Framing::Chunked] {
            let mut out = Vec::new();
            let mut w = MessageWriter::new(&mut out);
            w.switch_to(framing);
            w.piece("<rpc-reply>").await.unwrap();
            w.piece("<x>1</x>").await.unwrap();
            w.piece("</rpc-reply>").await.unwrap();
            w.end_message().await.unwrap();
            w.message("<rpc-reply><ok/></rpc-reply>").await.unwrap();
            let mut d = FrameDecoder::new(1024);
            d.switch_to(framing).unwrap();
            let mut buf = BytesMut::from(&out[..]);
            let mut messages = vec![Vec::new()];
            while let Some(frame) = d.decode(&mut buf).unwrap() {
                match frame {
                    Frame::Data(data) => messages.last_mut().unwrap().extend_from_slice(&data),
                    Frame::End => messages.push(Vec::new()),
                }
            }
            assert_eq!(
                messages,
                vec![
                    b"<rpc-reply><x>1</x></rpc-reply>".to_vec(),
                    b"<rpc-reply><ok/></rpc-reply>".to_vec(),
                    Vec::new()
                ],
                "{framing:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_huge_chunk_header_is_refused_before_its_data() {
        let input: &[u8] = b"\n#4294967296\n";
        let mut r = MessageReader::new(input);
        r.switch_to(Framing::Chunked).unwrap();
        let err = r.next_message().await.unwrap_err();
        assert!(matches!(err, NetconfError::ChunkTooLarge { .. }), "{err}");
    }
}
