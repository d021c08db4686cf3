//! Fuzz target: the RELP frame codec and the server session rules on
//! arbitrary bytes, split at fuzzer-chosen boundaries. They must never panic
//! or hang, never deliver data over the maximum, decode the same frames and
//! error however the stream is cut, and every frame delivered must encode
//! back to the bytes it came from.
//!
//! Input layout: byte 0 picks the maximum DATALEN (0-255), bytes 1-2 seed
//! the chunk sizes; the rest is the stream.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use netaudit_syslog::framing::{RelpCodec, RelpFrame, ServerSession};
use tokio_util::codec::{Decoder, Encoder};

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    frames: Vec<RelpFrame>,
    error: Option<String>,
}

fn run(chunks: &[&[u8]], max: usize) -> Outcome {
    let mut codec = RelpCodec::new(max);
    let mut buf = BytesMut::new();
    let mut out = Outcome {
        frames: Vec::new(),
        error: None,
    };
    let last = chunks.len();
    for (i, chunk) in chunks.iter().enumerate() {
        buf.extend_from_slice(chunk);
        let eof = i + 1 == last;
        // Each call delivers a frame (consuming its bytes) or stops.
        for _ in 0..(buf.len() + 2) {
            let result = if eof {
                codec.decode_eof(&mut buf)
            } else {
                codec.decode(&mut buf)
            };
            match result {
                Ok(Some(frame)) => {
                    assert!(frame.data.len() <= max, "data over the maximum");
                    out.frames.push(frame);
                }
                Ok(None) => break,
                Err(error) => {
                    out.error = Some(error.to_string());
                    return out;
                }
            }
        }
    }
    out
}

fn chunks(stream: &[u8], seed: u16) -> Vec<&[u8]> {
    let mut state = u32::from(seed) | 0x1_0000;
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = (state % 16) as usize + 1;
        let (now, later) = rest.split_at(size.min(rest.len()));
        out.push(now);
        rest = later;
    }
    if out.is_empty() {
        out.push(rest);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let [max_byte, seed_hi, seed_lo, stream @ ..] = data else {
        return;
    };
    let max = usize::from(*max_byte);
    let whole = run(&[stream], max);
    let split = run(&chunks(stream, u16::from_be_bytes([*seed_hi, *seed_lo])), max);
    assert_eq!(whole, split, "chunking changed the result");
    let mut encoded = BytesMut::new();
    let mut codec = RelpCodec::new(max);
    let mut session = ServerSession::default();
    for frame in &whole.frames {
        codec.encode(frame, &mut encoded).expect("a decoded frame encodes");
        let _ = session.check(frame.clone(), 0);
    }
    assert_eq!(
        &encoded[..],
        &stream[..encoded.len()],
        "re-encoding changed the bytes"
    );
});
