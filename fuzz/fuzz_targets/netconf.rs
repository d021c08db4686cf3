//! Fuzz target: the NETCONF decoders on arbitrary bytes, split at
//! fuzzer-chosen boundaries: the message codec (end-of-message, chunked, or
//! a hello in end-of-message then chunked), the streamed get-syslog-events
//! reader and the outbound-ssh header decoder. They must never panic or
//! hang, never deliver a message over the maximum, and decode the same
//! messages and error however the stream is cut. Every message delivered is
//! also given to the message parsers, which must not panic.
//!
//! Input layout: byte 0 picks the mode (0-2) and the maximum message and
//! chunk sizes, bytes 1-2 seed the chunk sizes; the rest is the stream.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use netaudit_netconf::framing::{Framing, MessageCodec};
use netaudit_netconf::hello::{parse_hello, Sender};
use netaudit_netconf::notification::parse_notification;
use netaudit_netconf::outbound_ssh::OutboundHeaderDecoder;
use netaudit_netconf::reply::parse_rpc_reply;
use netaudit_netconf::rpc::parse_rpc;
use netaudit_netconf::syslog_events::{SyslogEventItem, SyslogEventsReader};
use tokio_util::codec::Decoder;

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    messages: Vec<Vec<u8>>,
    error: Option<String>,
}

fn messages(chunks: &[&[u8]], mode: u8, max_message: usize, max_chunk: usize) -> Outcome {
    let mut codec = MessageCodec::new(max_message, max_chunk);
    if mode == 1 {
        codec.switch_to(Framing::Chunked).expect("switch at the start");
    }
    let mut buf = BytesMut::new();
    let mut out = Outcome {
        messages: Vec::new(),
        error: None,
    };
    let last = chunks.len();
    for (i, chunk) in chunks.iter().enumerate() {
        buf.extend_from_slice(chunk);
        let eof = i + 1 == last;
        // Every call consumes input or returns, so this bound is never reached.
        for _ in 0..(2 * buf.len() + 8) {
            let result = if eof { codec.decode_eof(&mut buf) } else { codec.decode(&mut buf) };
            match result {
                Ok(Some(message)) => {
                    assert!(message.len() <= max_message, "message over the maximum");
                    out.messages.push(message.to_vec());
                    if mode == 2 && out.messages.len() == 1 {
                        codec.switch_to(Framing::Chunked).expect("switch after the hello");
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    out.error = Some(e.to_string());
                    return out;
                }
            }
        }
    }
    out
}

fn syslog_lines(chunks: &[&[u8]]) -> Vec<Result<SyslogEventItem, String>> {
    let mut reader = SyslogEventsReader::new(256);
    let mut out = Vec::new();
    for chunk in chunks {
        reader.feed(chunk);
        loop {
            match reader.next_event() {
                Ok(Some(item)) => out.push(Ok(item)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }
    out
}

fn header(chunks: &[&[u8]]) -> Result<Option<String>, String> {
    let mut decoder = OutboundHeaderDecoder::new();
    let mut buf = BytesMut::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        if let Some(h) = decoder.decode(&mut buf).map_err(|e| e.to_string())? {
            return Ok(Some(h.device_id));
        }
    }
    Ok(decoder.finish().ok().map(|h| h.device_id))
}

fn split<'a>(stream: &'a [u8], seed: u16) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = stream;
    let mut s = u32::from(seed) | 1;
    while !rest.is_empty() {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = 1 + (s >> 16) as usize % 17;
        let (a, b) = rest.split_at(n.min(rest.len()));
        chunks.push(a);
        rest = b;
    }
    if chunks.is_empty() {
        chunks.push(rest);
    }
    chunks
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let mode = data[0] % 3;
    let max_message = 1 + usize::from(data[0] / 3) * 8;
    let max_chunk = 1 + usize::from(data[0] % 64);
    let seed = u16::from_le_bytes([data[1], data[2]]);
    let stream = &data[3..];

    let whole = messages(&[stream], mode, max_message, max_chunk);
    let pieces = messages(&split(stream, seed), mode, max_message, max_chunk);
    assert_eq!(whole, pieces, "the split changed the outcome");
    for m in &whole.messages {
        let _ = parse_hello(m, Sender::Server);
        let _ = parse_rpc(m);
        let _ = parse_rpc_reply(m);
        let _ = parse_notification(m);
    }

    assert_eq!(syslog_lines(&[stream]), syslog_lines(&split(stream, seed)));
    assert_eq!(header(&[stream]), header(&split(stream, seed)));
});
