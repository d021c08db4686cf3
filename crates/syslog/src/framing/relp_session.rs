//! The RELP session rules on top of the frames (librelp's doc/relp.html):
//! the offers of `open` and its answer, the `rsp` data, and the server's
//! checks that a session opens first, numbers its transactions one by one
//! and sends nothing after `close`. Pure: the listener and the output drive
//! them with frames they read and write.

use bytes::Bytes;

use super::relp::{next_txnr, RelpCommand, RelpFrame};
use super::relp_error::RelpError;

/// The RELP version netaudit speaks: 1 (this specification); librelp
/// offers 0, which is the same protocol, and gets 0 back.
pub const RELP_VERSION: u32 = 1;

/// The offers of an `open` or of its answer: `name[=value]` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offers {
    /// The `relp_version` offer as written.
    pub relp_version: Option<String>,
    /// The `commands` offer, split at commas.
    pub commands: Vec<String>,
    /// The `relp_software` offer as written (name, version, URL).
    pub software: Option<String>,
    /// Offers this side does not know, kept in order.
    pub other: Vec<(String, String)>,
}

impl Offers {
    /// What netaudit offers in an `open` (client) or grants (server).
    pub fn netaudit(relp_version: u32, commands: &[&str]) -> Offers {
        Offers {
            relp_version: Some(relp_version.to_string()),
            commands: commands.iter().map(|c| (*c).to_owned()).collect(),
            software: Some(format!(
                "netaudit,{},https://example.invalid/netaudit",
                env!("CARGO_PKG_VERSION")
            )),
            other: Vec::new(),
        }
    }

    /// Reads offers, one per LF-separated line (empty lines skipped).
    pub fn parse(data: &[u8]) -> Result<Offers, String> {
        let text = std::str::from_utf8(data).map_err(|e| {
            format!(
                "offers are not UTF-8 (byte {} of the data)",
                e.valid_up_to()
            )
        })?;
        let mut offers = Offers::default();
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once('=').unwrap_or((line, ""));
            if name.len() > 32 {
                return Err(format!("offer name {name:?} is longer than 32 bytes"));
            }
            match name {
                "relp_version" => offers.relp_version = Some(value.to_owned()),
                "commands" => {
                    offers.commands = value
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                "relp_software" => offers.software = Some(value.to_owned()),
                _ => offers.other.push((name.to_owned(), value.to_owned())),
            }
        }
        Ok(offers)
    }

    /// The offers as `open` data (or an answer's CMDDATA).
    pub fn encode(&self) -> Vec<u8> {
        let mut lines = Vec::new();
        if let Some(version) = &self.relp_version {
            lines.push(format!("relp_version={version}"));
        }
        if let Some(software) = &self.software {
            lines.push(format!("relp_software={software}"));
        }
        lines.push(format!("commands={}", self.commands.join(",")));
        for (name, value) in &self.other {
            lines.push(format!("{name}={value}"));
        }
        lines.join("\n").into_bytes()
    }

    /// The `relp_version` as a number.
    pub fn version(&self) -> Option<u32> {
        self.relp_version.as_deref()?.trim().parse().ok()
    }
}

/// The data of an `rsp`: `STATUS [SP HUMAN-TEXT] [LF CMDDATA]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelpResponse {
    /// The 3-digit status (200 is success).
    pub status: u16,
    /// The human-readable text after the status, if any.
    pub message: String,
    /// The command data after the first LF (the offers of an `open`'s answer).
    pub cmddata: Bytes,
}

impl RelpResponse {
    /// Reads the data of the `rsp` with transaction number `txnr`.
    pub fn parse(txnr: u32, data: &Bytes) -> Result<RelpResponse, RelpError> {
        let bad = |reason: String| RelpError::BadResponse { txnr, reason };
        let (head, cmddata) = match data.iter().position(|b| *b == b'\n') {
            Some(lf) => (data.slice(..lf), data.slice(lf + 1..)),
            None => (data.clone(), Bytes::new()),
        };
        let status = head
            .get(..3)
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| bad("the data does not start with a 3-digit status".into()))?;
        let status = status
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        let message = match head.get(3..) {
            None | Some([]) => String::new(),
            Some([b' ', rest @ ..]) => String::from_utf8_lossy(rest).into_owned(),
            Some(_) => return Err(bad("the status is not followed by SP or LF".into())),
        };
        Ok(RelpResponse {
            status,
            message,
            cmddata,
        })
    }

    /// Whether the status is 200.
    pub fn is_ok(&self) -> bool {
        self.status == 200
    }
}

/// What a server does with a frame that passed [`ServerSession::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerStep {
    /// Answer with this frame (the accepted offers) at once.
    Open(RelpFrame),
    /// A message: store it, then answer `rsp 200` with this txnr.
    Syslog {
        /// The transaction to answer.
        txnr: u32,
        /// The syslog message (the frame's DATA).
        message: Bytes,
    },
    /// Answer `rsp 200`, send `serverclose`, close the connection.
    Close {
        /// The transaction of the `close`.
        txnr: u32,
    },
}

/// Where a server's session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitingOpen,
    Open,
    Closed,
}

/// The server side of one RELP session.
#[derive(Debug, Clone)]
pub struct ServerSession {
    state: State,
    last_txnr: u32,
    syslog_granted: bool,
    /// The client's `relp_software`, once opened.
    pub peer_software: Option<String>,
}

impl Default for ServerSession {
    fn default() -> Self {
        ServerSession {
            state: State::AwaitingOpen,
            last_txnr: 0,
            syslog_granted: false,
            peer_software: None,
        }
    }
}

impl ServerSession {
    /// Checks a frame decoded at stream offset `frame_offset` against the
    /// session: an error means the session must be closed.
    pub fn check(&mut self, frame: RelpFrame, frame_offset: u64) -> Result<ServerStep, RelpError> {
        let command = frame.command.as_str().to_owned();
        if self.state == State::Closed {
            return Err(RelpError::AfterClose {
                command,
                txnr: frame.txnr,
                frame_offset,
            });
        }
        if self.state == State::AwaitingOpen && frame.command != RelpCommand::Open {
            return Err(RelpError::BeforeOpen {
                command,
                txnr: frame.txnr,
                frame_offset,
            });
        }
        let expected = if self.state == State::AwaitingOpen {
            // A session may start at any txnr (librelp starts at 1); the
            // ones after follow it.
            frame.txnr.max(1)
        } else {
            next_txnr(self.last_txnr)
        };
        if frame.txnr != expected {
            return Err(RelpError::TxnrOutOfOrder {
                expected,
                found: frame.txnr,
                frame_offset,
            });
        }
        self.last_txnr = frame.txnr;
        match frame.command {
            RelpCommand::Open => {
                if self.state != State::AwaitingOpen {
                    return Err(RelpError::UnsupportedCommand {
                        command,
                        txnr: frame.txnr,
                        frame_offset,
                    });
                }
                let offers = Offers::parse(&frame.data).map_err(|reason| RelpError::BadOpen {
                    txnr: frame.txnr,
                    reason,
                })?;
                let version = offers.version().ok_or_else(|| RelpError::BadOpen {
                    txnr: frame.txnr,
                    reason: "no relp_version offer with a number".into(),
                })?;
                self.syslog_granted = offers.commands.iter().any(|c| c == "syslog");
                let granted: &[&str] = if self.syslog_granted {
                    &["syslog"]
                } else {
                    &[]
                };
                let answer = Offers::netaudit(version.min(RELP_VERSION), granted);
                self.peer_software = offers.software;
                self.state = State::Open;
                Ok(ServerStep::Open(RelpFrame::ok(
                    frame.txnr,
                    &answer.encode(),
                )))
            }
            RelpCommand::Syslog if self.syslog_granted => Ok(ServerStep::Syslog {
                txnr: frame.txnr,
                message: frame.data,
            }),
            RelpCommand::Close => {
                self.state = State::Closed;
                Ok(ServerStep::Close { txnr: frame.txnr })
            }
            _ => Err(RelpError::UnsupportedCommand {
                command,
                txnr: frame.txnr,
                frame_offset,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(txnr: u32, command: RelpCommand, data: &'static [u8]) -> RelpFrame {
        RelpFrame::new(txnr, command, data)
    }

    const OPEN: &[u8] =
        b"relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog";

    #[test]
    fn a_librelp_session_opens_sends_and_closes() {
        let mut session = ServerSession::default();
        let ServerStep::Open(answer) = session.check(frame(1, RelpCommand::Open, OPEN), 0).unwrap()
        else {
            panic!()
        };
        let response = RelpResponse::parse(1, &answer.data).unwrap();
        assert!(response.is_ok());
        let offers = Offers::parse(&response.cmddata).unwrap();
        assert_eq!(offers.version(), Some(0));
        assert_eq!(offers.commands, vec!["syslog"]);
        assert!(offers.software.unwrap().starts_with("netaudit,"));
        assert_eq!(
            session.peer_software.as_deref(),
            Some("librelp,1.11.0,http://librelp.adiscon.com")
        );
        assert_eq!(
            session.check(frame(2, RelpCommand::Syslog, b"<13>x"), 90),
            Ok(ServerStep::Syslog {
                txnr: 2,
                message: Bytes::from_static(b"<13>x")
            })
        );
        assert_eq!(
            session.check(frame(3, RelpCommand::Close, b""), 100),
            Ok(ServerStep::Close { txnr: 3 })
        );
        assert!(matches!(
            session.check(frame(4, RelpCommand::Syslog, b"x"), 110),
            Err(RelpError::AfterClose { .. })
        ));
    }

    #[test]
    fn commands_before_open_or_out_of_order_are_refused() {
        let mut session = ServerSession::default();
        assert_eq!(
            session
                .check(frame(1, RelpCommand::Syslog, b"x"), 0)
                .unwrap_err()
                .to_string(),
            "RELP command 'syslog' (txnr 1) at stream offset 0 before 'open'"
        );
        let mut session = ServerSession::default();
        session.check(frame(1, RelpCommand::Open, OPEN), 0).unwrap();
        assert_eq!(
            session
                .check(frame(3, RelpCommand::Syslog, b"x"), 96)
                .unwrap_err()
                .to_string(),
            "RELP txnr 3 at stream offset 96: expected 2 (transaction numbers go up by one)"
        );
    }

    #[test]
    fn an_open_without_version_or_a_second_open_is_refused() {
        let mut session = ServerSession::default();
        assert!(matches!(
            session.check(frame(1, RelpCommand::Open, b"commands=syslog"), 0),
            Err(RelpError::BadOpen { .. })
        ));
        let mut session = ServerSession::default();
        session.check(frame(1, RelpCommand::Open, OPEN), 0).unwrap();
        assert!(matches!(
            session.check(frame(2, RelpCommand::Open, OPEN), 0),
            Err(RelpError::UnsupportedCommand { .. })
        ));
    }

    #[test]
    fn syslog_is_refused_unless_offered() {
        let mut session = ServerSession::default();
        let ServerStep::Open(answer) = session
            .check(frame(1, RelpCommand::Open, b"relp_version=1\ncommands="), 0)
            .unwrap()
        else {
            panic!()
        };
        let offers = Offers::parse(&RelpResponse::parse(1, &answer.data).unwrap().cmddata).unwrap();
        assert_eq!(offers.version(), Some(1));
        assert!(offers.commands.is_empty());
        assert!(matches!(
            session.check(frame(2, RelpCommand::Syslog, b"x"), 0),
            Err(RelpError::UnsupportedCommand { .. })
        ));
    }

    #[test]
    fn responses_parse_status_text_and_data() {
        let ok = RelpResponse::parse(1, &Bytes::from_static(b"200 OK\nrelp_version=0")).unwrap();
        assert_eq!((ok.status, ok.message.as_str()), (200, "OK"));
        assert_eq!(ok.cmddata, &b"relp_version=0"[..]);
        let bare = RelpResponse::parse(1, &Bytes::from_static(b"500")).unwrap();
        assert!(!bare.is_ok());
        for bad in [&b""[..], b"20", b"2x0 OK", b"200OK"] {
            assert!(
                RelpResponse::parse(4, &Bytes::copy_from_slice(bad)).is_err(),
                "{bad:?}"
            );
        }
    }
}
