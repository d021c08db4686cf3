//! Fuzz target: the RFC 6587 framing decoders on arbitrary bytes, split at
//! fuzzer-chosen boundaries. They must never panic or hang, never deliver an
//! empty frame or one over the maximum, keep at most one partial frame
//! buffered, and decode the same frames and errors however the stream is cut.
//!
//! Input layout: byte 0 picks the maximum frame (1-64), byte 1 the octet
//! skip limit (0-1020), bytes 2-3 seed the chunk sizes; the rest is the stream.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use netaudit_syslog::framing::{
    FramingError, LfDelimitedCodec, OctetCountingCodec, SyslogStreamCodec, MAX_COUNT_DIGITS,
};
use tokio_util::codec::Decoder;

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    frames: Vec<Bytes>,
    errors: Vec<String>,
}

fn drain<D>(decoder: &mut D, buf: &mut BytesMut, max: usize, eof: bool, out: &mut Outcome) -> bool
where
    D: Decoder<Item = Bytes, Error = FramingError>,
{
    // Every call consumes input or returns the last result, so a buffer of
    // n bytes needs far fewer than 2n + 8 calls.
    for _ in 0..(2 * buf.len() + 8) {
        let result = if eof {
            decoder.decode_eof(buf)
        } else {
            decoder.decode(buf)
        };
        match result {
            Ok(Some(frame)) => {
                assert!(!frame.is_empty(), "empty frame");
                assert!(
                    frame.len() <= max,
                    "frame of {} bytes over {max}",
                    frame.len()
                );
                out.frames.push(frame);
            }
            Ok(None) => {
                // At most one partial frame (plus CR LF) or octet count stays
                // buffered.
                let bound = max.max(MAX_COUNT_DIGITS) + 2;
                assert!(
                    buf.len() <= bound,
                    "{} bytes buffered, max {max}",
                    buf.len()
                );
                return true;
            }
            Err(error) => {
                let recoverable = error.is_recoverable();
                out.errors.push(error.to_string());
                if !recoverable {
                    return false;
                }
            }
        }
    }
    panic!("decoder made no progress");
}

fn run<D>(mut decoder: D, chunks: &[&[u8]], max: usize) -> Outcome
where
    D: Decoder<Item = Bytes, Error = FramingError>,
{
    let mut out = Outcome {
        frames: Vec::new(),
        errors: Vec::new(),
    };
    let mut buf = BytesMut::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        if !drain(&mut decoder, &mut buf, max, false, &mut out) {
            return out;
        }
    }
    drain(&mut decoder, &mut buf, max, true, &mut out);
    out
}

/// Cuts `stream` into chunks of 1 to 16 bytes, chosen by a xorshift seeded
/// from the input.
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
    out
}

fn check<D, F>(make: F, stream: &[u8], split: &[&[u8]], max: usize)
where
    D: Decoder<Item = Bytes, Error = FramingError>,
    F: Fn() -> D,
{
    let whole = run(make(), &[stream], max);
    let pieces = run(make(), split, max);
    assert_eq!(whole, pieces, "chunking changed the result");
    let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(
        whole,
        run(make(), &bytewise, max),
        "byte-wise reads changed the result"
    );
}

fuzz_target!(|data: &[u8]| {
    let [max_byte, skip_byte, seed_hi, seed_lo, stream @ ..] = data else {
        return;
    };
    let max = usize::from(*max_byte % 64) + 1;
    let max_skip = u64::from(*skip_byte) * 4;
    let split = chunks(stream, u16::from_be_bytes([*seed_hi, *seed_lo]));

    check(
        || SyslogStreamCodec::new(max).with_max_skip(max_skip),
        stream,
        &split,
        max,
    );
    check(
        || OctetCountingCodec::new(max).with_max_skip(max_skip),
        stream,
        &split,
        max,
    );
    check(|| LfDelimitedCodec::new(max), stream, &split, max);
});
