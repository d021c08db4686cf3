//! RFC 6242 framing as tokio-util codecs: end-of-message (NETCONF 1.0) and
//! chunked (NETCONF 1.1), piece by piece ([`FrameDecoder`]) or whole
//! messages ([`MessageCodec`]).

mod chunked;
mod eom;
mod kind;
mod message;
mod stream;

pub use chunked::ChunkedDecoder;
pub use eom::EomDecoder;
pub use kind::{
    Frame, Framing, DEFAULT_MAX_CHUNK, DEFAULT_MAX_MESSAGE, END_OF_MESSAGE, RFC_MAX_CHUNK,
};
pub use message::{encode_message, MessageCodec};
pub use stream::FrameDecoder;
