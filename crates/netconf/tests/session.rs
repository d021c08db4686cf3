//! One collector session end to end, as bytes: the hellos in end-of-message
//! framing, the switch to chunked framing, `<get-syslog-events>` and its
//! open reply read line by line as chunks arrive, then a subscription and
//! its notifications, and `<close-session/>`.

use bytes::BytesMut;
use netaudit_netconf::framing::{encode_message, Frame, FrameDecoder, Framing, MessageCodec};
use netaudit_netconf::hello::{
    build_hello, negotiate, parse_hello, Sender, BASE_1_0, BASE_1_1, NOTIFICATION,
};
use netaudit_netconf::notification::{
    notification_xml, parse_notification, replay_complete_xml, NotificationContent,
    SyslogEventContent,
};
use netaudit_netconf::reply::{ok_reply_xml, parse_rpc_reply, ReplyBody};
use netaudit_netconf::rpc::{parse_rpc, rpc_xml, Operation, CLOSE_SESSION};
use netaudit_netconf::subscription::CreateSubscription;
use netaudit_netconf::syslog_events::{
    syslog_event_xml, syslog_events_open, GetSyslogEvents, SyslogEventItem, SyslogEventsReader,
};
use time::macros::datetime;
use tokio_util::codec::{Decoder, Encoder};

/// Lines as a Junos device with structured-data syslog writes them (seed 003 style).
const LINES: &[&str] = &[
    r#"<29>1 2026-12-06T10:00:01.123Z r1 sshd 4242 SSHD_LOGIN_FAILED [junos@2636.1.1.1.2.18 username="audit" source-address="192.0.2.7"] Login failed for user 'audit' from host '192.0.2.7'"#,
    r#"<13>1 2026-12-06T10:00:02.000Z r1 mgd 4243 UI_CMDLINE_READ_LINE [junos@2636.1.1.1.2.18 username="audit" command="show log messages | match \"<&>]]>]]>\""] User 'audit', command 'show log messages | match "<&>]]>]]>" '"#,
    r#"<13>1 2026-12-06T10:00:03.000Z r1 mgd 4243 UI_COMMIT [junos@2636.1.1.1.2.18 username="audit" comment="none"] User 'audit' requested 'commit' operation (comment: none)"#,
];

#[test]
fn collector_session_over_get_syslog_events() {
    let ours = [BASE_1_0, BASE_1_1];
    // The device's side of the stream: its hello, then (chunked) the open reply.
    let mut device = BytesMut::new();
    let device_hello = build_hello(&[BASE_1_0, BASE_1_1, NOTIFICATION], Some(31));
    encode_message(
        Framing::EndOfMessage,
        1,
        device_hello.as_bytes(),
        &mut device,
    )
    .unwrap();
    let mut reply = syslog_events_open("1");
    for line in LINES {
        reply.push_str(&syslog_event_xml(line));
    }
    // The reply is open: the device sends chunks as lines come, 50 bytes each here.
    for piece in reply.as_bytes().chunks(50) {
        device.extend_from_slice(format!("\n#{}\n", piece.len()).as_bytes());
        device.extend_from_slice(piece);
    }

    // The collector's side.
    let mut to_device = BytesMut::new();
    let mut codec = MessageCodec::default();
    codec
        .encode(build_hello(&ours, None).as_bytes(), &mut to_device)
        .unwrap();
    let mut frames = FrameDecoder::default();
    let mut buf = BytesMut::new();
    let mut reader = SyslogEventsReader::default();
    let mut got = Vec::new();
    let mut hello_seen = false;
    let mut hello_bytes = Vec::new();
    for read in device.chunks(37) {
        buf.extend_from_slice(read);
        while let Some(frame) = frames.decode(&mut buf).unwrap() {
            match (hello_seen, frame) {
                (false, Frame::Data(d)) => hello_bytes.extend_from_slice(&d),
                (false, Frame::End) => {
                    let hello = parse_hello(&hello_bytes, Sender::Server).unwrap();
                    assert_eq!(hello.session_id, Some(31));
                    let framing = negotiate(&ours, &hello, 0).unwrap();
                    assert_eq!(framing, Framing::Chunked);
                    frames.switch_to(framing).unwrap();
                    codec.switch_to(framing).unwrap();
                    let request = GetSyslogEvents {
                        stream: "messages".into(),
                        filter: None,
                    };
                    codec
                        .encode(rpc_xml("1", &request.to_xml()).as_bytes(), &mut to_device)
                        .unwrap();
                    hello_seen = true;
                }
                (true, Frame::Data(d)) => {
                    reader.feed(&d);
                    while let Some(item) = reader.next_event().unwrap() {
                        got.push(item);
                    }
                }
                (true, Frame::End) => panic!("the reply stays open"),
            }
        }
    }
    let want: Vec<_> = LINES
        .iter()
        .map(|l| SyslogEventItem::Line(l.to_string()))
        .collect();
    assert_eq!(got, want);

    // What the collector sent, read back as the device would.
    let mut device_codec = MessageCodec::default();
    let client_hello = device_codec.decode(&mut to_device).unwrap().unwrap();
    assert!(parse_hello(&client_hello, Sender::Client)
        .unwrap()
        .offers(BASE_1_1));
    device_codec.switch_to(Framing::Chunked).unwrap();
    let rpc = device_codec.decode(&mut to_device).unwrap().unwrap();
    let rpc = parse_rpc(&rpc).unwrap();
    assert_eq!(rpc.message_id, "1");
    assert!(matches!(rpc.operation, Operation::GetSyslogEvents(ref g) if g.stream == "messages"));
}

#[test]
fn subscription_with_replay_then_close() {
    let mut wire = BytesMut::new();
    let mut server = MessageCodec::default();
    server.switch_to(Framing::Chunked).unwrap();
    let sub = CreateSubscription {
        stream: Some("syslog".into()),
        start_time: Some(datetime!(2026-12-06 09:00 UTC)),
        ..CreateSubscription::default()
    };
    let rpc = rpc_xml("7", &sub.to_xml());
    let parsed = parse_rpc(rpc.as_bytes()).unwrap();
    assert_eq!(parsed.operation, Operation::CreateSubscription(sub));

    server
        .encode(ok_reply_xml("7").as_bytes(), &mut wire)
        .unwrap();
    for (i, line) in LINES.iter().enumerate() {
        let content = SyslogEventContent {
            sequence: i as u64 + 1,
            chain: format!("{:064x}", i + 1).into(),
            code: "UI_COMMIT".into(),
            severity: "notice".into(),
            host: "r1".into(),
            line: (*line).into(),
        };
        let n = notification_xml(datetime!(2026-12-06 10:00 UTC), &content.to_xml());
        server.encode(n.as_bytes(), &mut wire).unwrap();
    }
    server
        .encode(
            replay_complete_xml(datetime!(2026-12-06 10:01 UTC)).as_bytes(),
            &mut wire,
        )
        .unwrap();
    server
        .encode(rpc_xml("8", CLOSE_SESSION).as_bytes(), &mut wire)
        .unwrap();

    let mut client = MessageCodec::default();
    client.switch_to(Framing::Chunked).unwrap();
    let reply = client.decode(&mut wire).unwrap().unwrap();
    assert_eq!(parse_rpc_reply(&reply).unwrap().body, ReplyBody::Ok);
    for (i, line) in LINES.iter().enumerate() {
        let m = client.decode(&mut wire).unwrap().unwrap();
        match parse_notification(&m).unwrap().content {
            NotificationContent::SyslogEvent(e) => {
                assert_eq!(e.sequence, i as u64 + 1);
                assert_eq!(e.line, *line);
            }
            other => panic!("{other:?}"),
        }
    }
    let m = client.decode(&mut wire).unwrap().unwrap();
    assert_eq!(
        parse_notification(&m).unwrap().content,
        NotificationContent::ReplayComplete
    );
    let m = client.decode(&mut wire).unwrap().unwrap();
    assert_eq!(parse_rpc(&m).unwrap().operation, Operation::CloseSession);
    assert_eq!(client.decode_eof(&mut wire).unwrap(), None);
}
