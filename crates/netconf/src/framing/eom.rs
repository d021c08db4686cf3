//! NETCONF 1.0 end-of-message framing (RFC 6242 section 4.3), decoded
//! piece by piece so that a long message is never held whole here.

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use super::kind::{Frame, END_OF_MESSAGE};
use crate::error::NetconfError;

/// Decodes `]]>]]>`-delimited messages into [`Frame`]s.
///
/// Data is handed on as soon as it cannot be part of a delimiter: at most
/// five bytes (a possible delimiter prefix) stay buffered between reads.
#[derive(Debug, Default, Clone)]
pub struct EomDecoder {
    /// Bytes of the stream consumed so far (for offsets).
    consumed: u64,
    /// Whether the current message has data (for truncation errors).
    in_message: bool,
}

impl EomDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder that continues a stream at `offset`.
    pub(crate) fn at_offset(offset: u64) -> Self {
        EomDecoder {
            consumed: offset,
            in_message: false,
        }
    }

    /// Bytes of the stream consumed so far.
    pub fn offset(&self) -> u64 {
        self.consumed
    }

    /// Whether the decoder stands between two messages.
    pub fn at_message_boundary(&self) -> bool {
        !self.in_message
    }
}

/// The length of the longest suffix of `buf` that is a proper prefix of the
/// delimiter (it may still become one with the next read).
fn partial_delimiter(buf: &[u8]) -> usize {
    (1..END_OF_MESSAGE.len())
        .rev()
        .find(|&n| buf.len() >= n && buf.ends_with(&END_OF_MESSAGE[..n]))
        .unwrap_or(0)
}

impl Decoder for EomDecoder {
    type Item = Frame;
    type Error = NetconfError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, NetconfError> {
        if buf.is_empty() {
            return Ok(None);
        }
        if let Some(at) = memchr::memmem::find(buf, END_OF_MESSAGE) {
            if at > 0 {
                self.consumed += at as u64;
                self.in_message = true;
                return Ok(Some(Frame::Data(buf.split_to(at).freeze())));
            }
            let _ = buf.split_to(END_OF_MESSAGE.len());
            self.consumed += END_OF_MESSAGE.len() as u64;
            self.in_message = false;
            return Ok(Some(Frame::End));
        }
        let ready = buf.len() - partial_delimiter(buf);
        if ready == 0 {
            return Ok(None);
        }
        self.consumed += ready as u64;
        self.in_message = true;
        Ok(Some(Frame::Data(buf.split_to(ready).freeze())))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, NetconfError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        if buf.is_empty() && !self.in_message {
            return Ok(None);
        }
        Err(NetconfError::Truncated {
            offset: self.consumed + buf.len() as u64,
            pending: buf.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn all(input: &[u8]) -> Result<Vec<Frame>, NetconfError> {
        let mut d = EomDecoder::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(f) = d.decode_eof(&mut buf)? {
            out.push(f);
        }
        Ok(out)
    }

    #[test]
    fn splits_on_the_delimiter() {
        let frames = all(b"<a/>]]>]]><b/>]]>]]>").unwrap();
        assert_eq!(
            frames,
            vec![
                Frame::Data(Bytes::from_static(b"<a/>")),
                Frame::End,
                Frame::Data(Bytes::from_static(b"<b/>")),
                Frame::End
            ]
        );
    }

    #[test]
    fn keeps_a_possible_delimiter_prefix() {
        let mut d = EomDecoder::new();
        let mut buf = BytesMut::from(&b"<a/>]]>]"[..]);
        assert_eq!(
            d.decode(&mut buf).unwrap(),
            Some(Frame::Data(Bytes::from_static(b"<a/>")))
        );
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        assert_eq!(&buf[..], b"]]>]");
        buf.extend_from_slice(b"]>");
        assert_eq!(d.decode(&mut buf).unwrap(), Some(Frame::End));
        assert_eq!(d.offset(), 10);
    }

    #[test]
    fn an_unterminated_message_is_an_error_at_eof() {
        let err = all(b"<rpc>never ends").unwrap_err();
        assert_eq!(
            err,
            NetconfError::Truncated {
                offset: 15,
                pending: 0
            }
        );
        assert!(err.to_string().contains("offset 15"), "{err}");
        assert!(all(b"<a/>]]>]]>").is_ok());
        assert!(all(b"<a/>]]>]]>]]>").is_err());
    }
}
