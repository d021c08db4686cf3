//! Property tests of the RFC 6242 framing: whatever the messages and however
//! the stream is cut into reads, decoding gives back the messages encoded,
//! in both framings and across the switch after the hello.

use bytes::BytesMut;
use netaudit_netconf::framing::{
    encode_message, Frame, FrameDecoder, Framing, MessageCodec, END_OF_MESSAGE,
};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

/// Cuts `stream` at the given fractions and feeds the pieces to `codec`,
/// collecting every message; `decode_eof` at the end.
fn decode_in_pieces(
    codec: &mut MessageCodec,
    stream: &[u8],
    cuts: &[usize],
    switch_after: Option<usize>,
) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(stream.len());
    points.sort_unstable();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut last = 0;
    for p in points {
        buf.extend_from_slice(&stream[last..p]);
        last = p;
        while let Some(msg) = codec.decode(&mut buf).expect("decode") {
            out.push(msg.to_vec());
            if Some(out.len()) == switch_after {
                codec.switch_to(Framing::Chunked).expect("switch");
            }
        }
    }
    while let Some(msg) = codec.decode_eof(&mut buf).expect("decode_eof") {
        out.push(msg.to_vec());
    }
    out
}

fn eom_message() -> impl Strategy<Value = Vec<u8>> {
    // Bytes from a small alphabet so that delimiter fragments are frequent.
    prop::collection::vec(prop::sample::select(b"]]>a<\n#".to_vec()), 0..40)
        .prop_filter("frameable in end-of-message framing", |m| {
            encode_message(Framing::EndOfMessage, 1, m, &mut BytesMut::new()).is_ok()
        })
}

fn any_message() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(b"\n#0123456789]]>ab".to_vec()), 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn end_of_message_round_trip(
        messages in prop::collection::vec(eom_message(), 0..8),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut stream = BytesMut::new();
        for m in &messages {
            encode_message(Framing::EndOfMessage, 1, m, &mut stream).unwrap();
        }
        let mut codec = MessageCodec::new(1 << 16, 1 << 16);
        prop_assert_eq!(decode_in_pieces(&mut codec, &stream, &cuts, None), messages);
    }

    #[test]
    fn chunked_round_trip(
        messages in prop::collection::vec(any_message(), 0..8),
        max_chunk in 1usize..20,
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut stream = BytesMut::new();
        for m in &messages {
            encode_message(Framing::Chunked, max_chunk, m, &mut stream).unwrap();
        }
        let mut codec = MessageCodec::new(1 << 16, 1 << 16);
        codec.switch_to(Framing::Chunked).unwrap();
        prop_assert_eq!(decode_in_pieces(&mut codec, &stream, &cuts, None), messages);
    }

    #[test]
    fn hello_then_chunked_round_trip(
        hello in eom_message(),
        messages in prop::collection::vec(any_message(), 0..6),
        max_chunk in 1usize..20,
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut stream = BytesMut::new();
        encode_message(Framing::EndOfMessage, 1, &hello, &mut stream).unwrap();
        for m in &messages {
            encode_message(Framing::Chunked, max_chunk, m, &mut stream).unwrap();
        }
        let mut codec = MessageCodec::new(1 << 16, 1 << 16);
        let mut want = vec![hello];
        want.extend(messages);
        prop_assert_eq!(decode_in_pieces(&mut codec, &stream, &cuts, Some(1)), want);
    }

    /// The piece decoder hands on data as it arrives: the data between two
    /// ends is the message, and it never holds more than a delimiter's worth.
    #[test]
    fn frames_concatenate_to_the_messages(
        messages in prop::collection::vec(eom_message(), 1..6),
        step in 1usize..9,
    ) {
        let mut stream = BytesMut::new();
        for m in &messages {
            encode_message(Framing::EndOfMessage, 1, m, &mut stream).unwrap();
        }
        let mut decoder = FrameDecoder::new(1 << 16);
        let mut buf = BytesMut::new();
        let mut got = vec![Vec::new()];
        for piece in stream.chunks(step) {
            buf.extend_from_slice(piece);
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                match frame {
                    Frame::Data(d) => got.last_mut().unwrap().extend_from_slice(&d),
                    Frame::End => got.push(Vec::new()),
                }
            }
            prop_assert!(buf.len() < END_OF_MESSAGE.len());
        }
        got.pop();
        prop_assert_eq!(got, messages);
    }

    /// Arbitrary bytes never panic the chunked decoder, and any split gives
    /// the same messages and the same first error.
    #[test]
    fn arbitrary_bytes_decode_the_same_whatever_the_split(
        stream in prop::collection::vec(prop::sample::select(b"\n#0123456789ab".to_vec()), 0..80),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        let run = |cuts: &[usize]| {
            let mut codec = MessageCodec::new(64, 32);
            codec.switch_to(Framing::Chunked).unwrap();
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
            points.push(stream.len());
            points.sort_unstable();
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            let mut last = 0;
            for p in points {
                buf.extend_from_slice(&stream[last..p]);
                last = p;
                loop {
                    match codec.decode(&mut buf) {
                        Ok(Some(m)) => out.push(Ok(m.to_vec())),
                        Ok(None) => break,
                        Err(e) => { out.push(Err(e.to_string())); return out; }
                    }
                }
            }
            loop {
                match codec.decode_eof(&mut buf) {
                    Ok(Some(m)) => out.push(Ok(m.to_vec())),
                    Ok(None) => break,
                    Err(e) => { out.push(Err(e.to_string())); break; }
                }
            }
            out
        };
        prop_assert_eq!(run(&cuts), run(&[]));
    }
}
