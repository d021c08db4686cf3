//! A NETCONF client session over any byte stream (the SSH channel, or an
//! in-memory pipe in the tests): the hello exchange and the base version it
//! negotiates, the request that opens the device's stream, and the stream
//! read line by line, `<get-syslog-events>` reply or RFC 5277 notifications.

use bytes::BytesMut;
use netaudit_netconf::framing::{
    encode_message, Frame, FrameDecoder, Framing, DEFAULT_MAX_CHUNK, DEFAULT_MAX_MESSAGE,
};
use netaudit_netconf::hello::{build_hello, negotiate, parse_hello, Sender, BASE_1_0, BASE_1_1};
use netaudit_netconf::notification::{notification_from_element, NotificationContent};
use netaudit_netconf::reply::{reply_from_element, ReplyBody};
use netaudit_netconf::rpc::rpc_xml;
use netaudit_netconf::syslog_events::{SyslogEventItem, SyslogEventsReader};
use netaudit_netconf::xml::parse_document;
use netaudit_netconf::NetconfError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::Decoder;

use super::error::{SessionError, Stage};

/// The base versions netaudit offers, 1.1 (chunked) preferred.
pub(crate) const OUR_CAPABILITIES: [&str; 2] = [BASE_1_0, BASE_1_1];

/// The message-id of the request that opens the stream.
const STREAM_MESSAGE_ID: &str = "1";

/// What the hello exchange settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub framing: Framing,
    pub session_id: Option<u32>,
    pub capabilities: Vec<String>,
}

impl Negotiated {
    /// `base:1.1 (chunked), session-id 27700` for logs and status.
    pub(crate) fn summary(&self) -> String {
        let base = match self.framing {
            Framing::Chunked => "base:1.1 (chunked framing)",
            _ => "base:1.0 (end-of-message framing)",
        };
        match self.session_id {
            Some(id) => format!("{base}, session-id {id}"),
            None => base.to_string(),
        }
    }
}

/// How the stream's messages are read.
enum StreamReader {
    /// The open `<get-syslog-events>` reply, fed as its data arrives.
    SyslogEvents(SyslogEventsReader),
    /// Whole messages: the `<ok/>` reply first, then notifications.
    Notifications { message: BytesMut, replied: bool },
}

/// One NETCONF session, client side.
pub(crate) struct ClientSession<S> {
    io: S,
    buf: BytesMut,
    frames: FrameDecoder,
    framing: Framing,
    reader: Option<StreamReader>,
    /// How the stream ended, told after the lines read before the end.
    pending_end: Option<SessionError>,
}

fn protocol(stage: Stage) -> impl Fn(NetconfError) -> SessionError {
    move |error| SessionError::Protocol { stage, error }
}

impl<S: AsyncRead + AsyncWrite + Unpin> ClientSession<S> {
    /// Sends netaudit's hello, reads the device's and negotiates the base
    /// version; `early` is what the device sent before the stream was handed over.
    pub(crate) async fn hello(io: S, early: &[u8]) -> Result<(Self, Negotiated), SessionError> {
        let mut session = ClientSession {
            io,
            buf: BytesMut::from(early),
            frames: FrameDecoder::new(DEFAULT_MAX_CHUNK),
            framing: Framing::EndOfMessage,
            reader: None,
            pending_end: None,
        };
        session
            .send(
                build_hello(&OUR_CAPABILITIES, None).as_bytes(),
                Stage::Hello,
            )
            .await?;
        let offset = session.frames.offset();
        let message = session.read_message(Stage::Hello).await?;
        let hello = parse_hello(&message, Sender::Server).map_err(protocol(Stage::Hello))?;
        let framing =
            negotiate(&OUR_CAPABILITIES, &hello, offset).map_err(protocol(Stage::Hello))?;
        session
            .frames
            .switch_to(framing)
            .map_err(protocol(Stage::Hello))?;
        session.framing = framing;
        let negotiated = Negotiated {
            framing,
            session_id: hello.session_id,
            capabilities: hello.capabilities.iter().map(|c| c.to_string()).collect(),
        };
        Ok((session, negotiated))
    }

    async fn send(&mut self, message: &[u8], stage: Stage) -> Result<(), SessionError> {
        let mut out = BytesMut::with_capacity(message.len() + 32);
        encode_message(self.framing, DEFAULT_MAX_CHUNK, message, &mut out)
            .map_err(protocol(stage))?;
        self.io
            .write_all(&out)
            .await
            .and(self.io.flush().await)
            .map_err(|err| SessionError::Ssh {
                stage,
                detail: format!("cannot write to the channel: {err}"),
            })
    }

    /// Reads more bytes; `false` at the end of the stream.
    async fn fill(&mut self, stage: Stage) -> Result<bool, SessionError> {
        let n = self
            .io
            .read_buf(&mut self.buf)
            .await
            .map_err(|err| SessionError::Ssh {
                stage,
                detail: format!("cannot read from the channel: {err}"),
            })?;
        Ok(n > 0)
    }

    /// The next frame; `None` at a clean end of the stream (between two
    /// messages). An end inside a message is an error.
    async fn next_frame(&mut self, stage: Stage) -> Result<Option<Frame>, SessionError> {
        loop {
            if let Some(frame) = self.frames.decode(&mut self.buf).map_err(protocol(stage))? {
                return Ok(Some(frame));
            }
            if !self.fill(stage).await? {
                return self
                    .frames
                    .decode_eof(&mut self.buf)
                    .map_err(protocol(stage));
            }
        }
    }

    /// One whole message, bounded by the maximum message size.
    async fn read_message(&mut self, stage: Stage) -> Result<BytesMut, SessionError> {
        let mut message = BytesMut::new();
        loop {
            match self.next_frame(stage).await? {
                Some(Frame::Data(data)) => {
                    if message.len() + data.len() > DEFAULT_MAX_MESSAGE {
                        return Err(protocol(stage)(NetconfError::MessageTooLarge {
                            offset: self.frames.offset(),
                            max: DEFAULT_MAX_MESSAGE,
                        }));
                    }
                    message.extend_from_slice(&data);
                }
                Some(Frame::End) => return Ok(message),
                None => return Err(SessionError::Closed),
            }
        }
    }

    /// Sends the request that opens the stream (`operation`, the element
    /// built from the device's configuration).
    pub(crate) async fn open_stream(
        &mut self,
        operation: &str,
        subscription: bool,
    ) -> Result<(), SessionError> {
        self.send(
            rpc_xml(STREAM_MESSAGE_ID, operation).as_bytes(),
            Stage::Stream,
        )
        .await?;
        self.reader = Some(if subscription {
            StreamReader::Notifications {
                message: BytesMut::new(),
                replied: false,
            }
        } else {
            StreamReader::SyslogEvents(SyslogEventsReader::default())
        });
        Ok(())
    }

    /// Reads until at least one line has arrived and returns the lines the
    /// read brought (several when they came together). When the device
    /// ends the stream ([`SessionError::StreamEnded`], [`SessionError::Closed`])
    /// or sends anything that is not the stream (an error), the lines read
    /// before are handed over first and the end comes with the next call.
    pub(crate) async fn next_lines(&mut self, lines: &mut Vec<String>) -> Result<(), SessionError> {
        if let Some(err) = self.pending_end.take() {
            return Err(err);
        }
        match self.read_lines(lines).await {
            Err(err) if !lines.is_empty() => {
                self.pending_end = Some(err);
                Ok(())
            }
            other => other,
        }
    }

    async fn read_lines(&mut self, lines: &mut Vec<String>) -> Result<(), SessionError> {
        let stage = Stage::Stream;
        loop {
            let frame = match self.frames.decode(&mut self.buf).map_err(protocol(stage))? {
                Some(frame) => Some(frame),
                None if !lines.is_empty() => return Ok(()),
                None => {
                    if self.fill(stage).await? {
                        continue;
                    }
                    self.frames
                        .decode_eof(&mut self.buf)
                        .map_err(protocol(stage))?
                }
            };
            let Some(frame) = frame else {
                return Err(SessionError::Closed);
            };
            let reader = self.reader.as_mut().ok_or(SessionError::Closed)?;
            match reader {
                StreamReader::SyslogEvents(events) => match frame {
                    Frame::Data(data) => {
                        events.feed(&data);
                        while let Some(item) = events.next_event().map_err(protocol(stage))? {
                            match item {
                                SyslogEventItem::Line(line) => lines.push(line),
                                _ => return Err(SessionError::StreamEnded),
                            }
                        }
                    }
                    Frame::End => {
                        // The reply closed: whatever was read is the last of it.
                        while let Some(item) = events.next_event().map_err(protocol(stage))? {
                            if let SyslogEventItem::Line(line) = item {
                                lines.push(line);
                            }
                        }
                        return Err(SessionError::StreamEnded);
                    }
                },
                StreamReader::Notifications { message, replied } => match frame {
                    Frame::Data(data) => {
                        if message.len() + data.len() > DEFAULT_MAX_MESSAGE {
                            return Err(protocol(stage)(NetconfError::MessageTooLarge {
                                offset: self.frames.offset(),
                                max: DEFAULT_MAX_MESSAGE,
                            }));
                        }
                        message.extend_from_slice(&data);
                    }
                    Frame::End => {
                        let whole = std::mem::take(message);
                        if !*replied {
                            *replied = true;
                            subscription_reply(&whole)?;
                            continue;
                        }
                        if !notification_line(&whole, lines)? {
                            return Err(SessionError::StreamEnded);
                        }
                    }
                },
            }
        }
    }
}

/// Checks the reply to `<create-subscription>`: `<ok/>`, else the
/// device's error.
fn subscription_reply(message: &[u8]) -> Result<(), SessionError> {
    let root = parse_document(message).map_err(protocol(Stage::Stream))?;
    let reply = reply_from_element(root).map_err(protocol(Stage::Stream))?;
    match reply.body {
        ReplyBody::Ok => Ok(()),
        ReplyBody::Errors(errors) => Err(SessionError::Refused(
            errors
                .iter()
                .map(|e| {
                    format!(
                        "{} {}{}",
                        e.error_type,
                        e.tag,
                        e.message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        )),
        _ => Err(SessionError::Refused(
            "the reply to <create-subscription> is not <ok/>".into(),
        )),
    }
}

/// Reads one notification: pushes its line and returns `true`, or returns
/// `false` when it ends the subscription (`notificationComplete`).
///
/// The line is netaudit's `<syslog-event>` `<line>` (a chain of netaudit
/// servers), or the text of any other content element without children (a
/// device's `<syslog-event>LINE</syslog-event>`); content with children (any
/// other RFC 5277 notification, such as RFC 6470's `netconf-session-start`)
/// becomes a line of its own ([`structured_notification_line`]); content
/// without text or children (such as `replayComplete`) carries no line.
fn notification_line(message: &[u8], lines: &mut Vec<String>) -> Result<bool, SessionError> {
    let root = parse_document(message).map_err(protocol(Stage::Stream))?;
    let notification = notification_from_element(&root).map_err(protocol(Stage::Stream))?;
    match notification.content {
        NotificationContent::SyslogEvent(event) => lines.push(event.line.into_owned()),
        NotificationContent::NotificationComplete => return Ok(false),
        NotificationContent::ReplayComplete => {
            tracing::debug!("the device's replay is complete; live notifications follow");
        }
        NotificationContent::Other { name, raw } => {
            if let Some(content) = root.children.get(1) {
                let line = content.text.trim_matches(['\r', '\n']);
                if content.children.is_empty() && !line.trim().is_empty() {
                    lines.push(line.to_string());
                } else if !content.children.is_empty() {
                    lines.push(structured_notification_line(
                        notification.event_time,
                        name,
                        raw,
                    ));
                } else {
                    tracing::debug!(content = name, "notification without content ignored");
                }
            }
        }
        _ => tracing::debug!("notification of an unknown kind ignored"),
    }
    Ok(true)
}

/// An RFC 5277 notification that is not a syslog line, as an RFC 5424 line
/// so that it is stored like every other line: facility daemon, severity
/// notice, the notification's eventTime, no host name (the device is
/// recorded by the collector), APP-NAME `netconf`, MSGID the content
/// element's name, and the content's XML as the message, its line breaks
/// and the indentation after them taken out (one event stays one line).
fn structured_notification_line(event_time: time::OffsetDateTime, name: &str, raw: &str) -> String {
    let time = event_time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "-".to_string());
    let mut xml = String::with_capacity(raw.len());
    let mut after_break = false;
    for c in raw.chars() {
        match c {
            '\r' | '\n' => after_break = true,
            ' ' | '\t' if after_break => {}
            _ => {
                after_break = false;
                xml.push(c);
            }
        }
    }
    // MSGID is at most 32 printable characters (RFC 5424 section 6).
    let msgid: String = name
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(32)
        .collect();
    let msgid = if msgid.is_empty() {
        "-".to_string()
    } else {
        msgid
    };
    format!("<29>1 {time} - netconf - {msgid} - {xml}")
}

#[cfg(test)]
mod tests {
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};

    use super::*;

    const EOM: &str = "]]>]]>";

    fn device_hello(caps: &[&str]) -> String {
        let caps: String = caps
            .iter()
            .map(|c| format!("<capability>{c}</capability>"))
            .collect();
        format!("<hello><capabilities>{caps}</capabilities><session-id>7</session-id></hello>{EOM}")
    }

    /// Reads from the device's end until `until` has arrived.
    async fn read_until(device: &mut DuplexStream, until: &str) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains(until) {
            let n = device.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "closed before {until:?}: {}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(got).unwrap()
    }

    /// A session over an in-memory pipe whose device end has said hello with
    /// `caps`: the session, what it negotiated, and the device's end.
    async fn connected(caps: &[&str]) -> (ClientSession<DuplexStream>, Negotiated, DuplexStream) {
        let (client, mut device) = duplex(1 << 16);
        device
            .write_all(device_hello(caps).as_bytes())
            .await
            .unwrap();
        let (session, negotiated) = ClientSession::hello(client, b"").await.unwrap();
        (session, negotiated, device)
    }

    #[tokio::test]
    async fn base_1_0_streams_get_syslog_events_in_end_of_message_framing() {
        let (mut session, negotiated, mut device) = connected(&[BASE_1_0]).await;
        assert_eq!(negotiated.framing, Framing::EndOfMessage);
        assert_eq!(
            negotiated.summary(),
            "base:1.0 (end-of-message framing), session-id 7"
        );
        let hello = read_until(&mut device, EOM).await;
        assert!(
            hello.contains(BASE_1_1) && hello.contains(BASE_1_0),
            "{hello}"
        );
        session
            .open_stream(
                "<get-syslog-events><stream>messages</stream></get-syslog-events>",
                false,
            )
            .await
            .unwrap();
        let request = read_until(&mut device, EOM).await;
        assert!(request.starts_with("<rpc "), "{request}");
        // Lines split across writes; an escaped one; the end of the stream.
        device
            .write_all(b"<rpc-reply message-id=\"1\"><syslog-events><syslog-event>a &amp; b</sys")
            .await
            .unwrap();
        let mut lines = Vec::new();
        let read = tokio::spawn(async move {
            session.next_lines(&mut lines).await.unwrap();
            (session, lines)
        });
        device
            .write_all(b"log-event>\n<syslog-event>two</syslog-event>")
            .await
            .unwrap();
        let (mut session, lines) = read.await.unwrap();
        assert_eq!(lines[0], "a & b");
        let mut more = lines[1..].to_vec();
        if more.is_empty() {
            session.next_lines(&mut more).await.unwrap();
        }
        assert_eq!(more, ["two"]);
        device
            .write_all(format!("</syslog-events></rpc-reply>{EOM}").as_bytes())
            .await
            .unwrap();
        let mut rest = Vec::new();
        assert!(matches!(
            session.next_lines(&mut rest).await,
            Err(SessionError::StreamEnded)
        ));
    }

    #[tokio::test]
    async fn a_refused_subscription_says_what_the_device_answered() {
        let (mut session, negotiated, mut device) = connected(&[BASE_1_0, BASE_1_1]).await;
        assert_eq!(negotiated.framing, Framing::Chunked);
        session
            .open_stream("<create-subscription/>", true)
            .await
            .unwrap();
        let reply = "<rpc-reply message-id=\"1\"><rpc-error><error-type>protocol</error-type><error-tag>operation-failed</error-tag><error-severity>error</error-severity><error-message>no such stream</error-message></rpc-error></rpc-reply>";
        device
            .write_all(format!("\n#{}\n{reply}\n##\n", reply.len()).as_bytes())
            .await
            .unwrap();
        let err = session.next_lines(&mut Vec::new()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the device answered the request with <rpc-error>: protocol operation-failed: no such stream"
        );
    }

    #[tokio::test]
    async fn notifications_give_their_lines_and_a_device_that_closes_ends_the_session() {
        let (mut session, _, mut device) = connected(&[BASE_1_1]).await;
        session
            .open_stream("<create-subscription/>", true)
            .await
            .unwrap();
        let chunk = |m: &str| format!("\n#{}\n{m}\n##\n", m.len());
        let note = |content: &str| {
            chunk(&format!(
                "<notification><eventTime>2026-12-06T10:00:00Z</eventTime>{content}</notification>"
            ))
        };
        let stream = chunk("<rpc-reply message-id=\"1\"><ok/></rpc-reply>")
            + &note("<syslog-event>&lt;13&gt;1 - h a - - - one</syslog-event>")
            + &note("<replayComplete/>")
            + &note("<empty/>")
            + &note("<other>\n  <x>a b</x>\n</other>");
        device.write_all(stream.as_bytes()).await.unwrap();
        let mut lines = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // next_lines takes an empty vector each time, as the collector's.
        while lines.len() < 2 && std::time::Instant::now() < deadline {
            let mut read = Vec::new();
            session.next_lines(&mut read).await.unwrap();
            lines.extend(read);
        }
        assert_eq!(
            lines,
            [
                "<13>1 - h a - - - one",
                "<29>1 2026-12-06T10:00:00Z - netconf - other - <other><x>a b</x></other>"
            ]
        );
        drop(device);
        let mut rest = Vec::new();
        assert!(matches!(
            session.next_lines(&mut rest).await,
            Err(SessionError::Closed)
        ));
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn a_huge_chunk_header_is_refused_before_its_data() {
        let (mut session, _, mut device) = connected(&[BASE_1_1]).await;
        session
            .open_stream("<get-syslog-events/>", false)
            .await
            .unwrap();
        device.write_all(b"\n#4294967296\n").await.unwrap();
        let err = session.next_lines(&mut Vec::new()).await.unwrap_err();
        assert!(
            err.to_string().contains("over the maximum of 1048576"),
            "{err}"
        );
        assert_eq!(err.stage(), Stage::Stream);
    }
}
