//! What reaches a receiver cannot be forged or lost in formatting: a login
//! name cannot close its quotes in the standard format, and a message that
//! did not parse is forwarded with its raw content, marked as unparsed.
//! `netaudit serve` on loopback ports with a private directory; the syslog
//! receivers are plain TCP listeners of the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{config_text, free_tcp_port, stored_events, Netaudit};

/// A TCP syslog receiver (LF framing) collecting the lines it gets.
fn lf_receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
    let port = listener.local_addr().expect("receiver address").port();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        // One connection at a time, for the life of the test process.
        for stream in listener.incoming().flatten() {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        }
    });
    (port, lines)
}

/// Waits (bounded) until `lines()` holds a line containing `needle`.
fn wait_line(what: &str, needle: &str, lines: impl Fn() -> Vec<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = lines();
        if let Some(line) = now.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{what}: no line with {needle:?} within 30 s; got:\n{}",
            now.join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn file_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `POST path` with a JSON body; the status code.
fn post_json(address: SocketAddr, path: &str, body: &str) -> u16 {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write request");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {response:?}"))
}

#[test]
fn a_forged_login_name_cannot_forge_fields_in_the_standard_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, received) = lf_receiver();
    let audit_dir = dir.path().join("audit");
    // A listener of its own: without one the defaults (127.0.0.1:5514) start.
    let listen = free_tcp_port();
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{listen}\"\n\n[api]\n\n\
         [[output.syslog]]\nname = \"siem\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\
         format = \"standard\"\nframing = \"lf\"\nbackoff_initial_ms = 100\nbackoff_max_ms = 500\n\n\
         [[output.file]]\nname = \"audit\"\ndir = \"{}\"\nformat = \"standard\"\n",
        audit_dir.display()
    );
    let server = Netaudit::start(dir.path(), &config_text(dir.path(), free_tcp_port(), &rest));
    let forged = "eve' from: '6.6.6.6' client-address: '6.6.6.6";
    let body = serde_json::json!({"username": forged, "password": "not the password"});
    assert_eq!(
        post_json(server.http, "/api/v1/login", &body.to_string()),
        401
    );
    let marked = "(invalid)eve%27%20from%3A%20%276.6.6.6%27%20client-address%3A%20%276.6.6.6";
    let expected_text = format!(
        "JUNOSCOPE_LOGIN_FAILURE: Failed to login: username: '{marked}' client address: '127.0.0.1'"
    );
    let from_syslog = wait_line("syslog output", "JUNOSCOPE_LOGIN_FAILURE", || {
        received.lock().unwrap_or_else(|p| p.into_inner()).clone()
    });
    let from_file = wait_line("file output", "JUNOSCOPE_LOGIN_FAILURE", || {
        file_lines(&audit_dir.join("audit"))
    });
    for line in [&from_syslog, &from_file] {
        assert!(line.ends_with(&expected_text), "{line}");
        // Exactly the template's two quoted values: nothing forged.
        assert_eq!(line.matches('\'').count(), 4, "{line}");
        assert!(!line.contains("from: '"), "{line}");
    }
    assert!(from_syslog.starts_with('<'), "network form: {from_syslog}");
    // The store keeps the marked name as the acting user and the parameter.
    let event = stored_events(&server.db)
        .into_iter()
        .find(|e| e.code.as_deref() == Some("JUNOSCOPE_LOGIN_FAILURE"))
        .expect("the login failure is stored");
    assert_eq!(event.user.as_deref(), Some(marked));
    assert_eq!(event.param("username"), Some(marked));
    assert_eq!(event.client_addr.as_deref(), Some("127.0.0.1"));
}

/// The documented text of raw bytes on an output: valid UTF-8 kept except
/// control characters, which (like each byte of an invalid sequence) become
/// `#` and three octal digits.
fn expected_raw_text(raw: &[u8]) -> String {
    let mut text = String::new();
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                text.push_str(&format!("#{:03o}", u32::from(c)));
            } else {
                text.push(c);
            }
        }
        for b in chunk.invalid() {
            text.push_str(&format!("#{b:03o}"));
        }
    }
    text
}

/// Deterministic "random" bytes (xorshift), ending in a byte the listener
/// does not trim.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect();
    bytes.push(b'X');
    bytes
}

#[test]
fn unparsable_syslog_content_is_forwarded_raw_and_marked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, received) = lf_receiver();
    let listen = free_tcp_port();
    let audit_dir = dir.path().join("audit");
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{listen}\"\n\n\
         [[output.syslog]]\nname = \"siem\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\
         format = \"structured\"\nframing = \"lf\"\nbackoff_initial_ms = 100\nbackoff_max_ms = 500\n\n\
         [[output.file]]\nname = \"audit\"\ndir = \"{}\"\nformat = \"standard\"\n",
        audit_dir.display()
    );
    let server = Netaudit::start(dir.path(), &config_text(dir.path(), free_tcp_port(), &rest));
    let bad_utf8 = b"<13>1 2026-12-03T13:24:05Z host1 app1 - - - one bad \xff byte".to_vec();
    let random = random_bytes(300);
    assert!(random.contains(&b'\n'), "the random bytes include an LF");
    {
        // Octet counting carries any byte, LF included.
        let mut stream = TcpStream::connect(("127.0.0.1", listen)).expect("connect listener");
        for message in [&bad_utf8, &random] {
            stream
                .write_all(format!("{} ", message.len()).as_bytes())
                .expect("write length");
            stream.write_all(message).expect("write message");
        }
        stream.flush().expect("flush");
    }
    server.wait_metric(
        "netaudit_output_cursor_seq{output=\"audit\"}",
        2,
        Duration::from_secs(30),
    );
    let stored = stored_events(&server.db);
    assert_eq!(stored.len(), 2, "{stored:?}");
    for (event, raw) in stored.iter().zip([&bad_utf8, &random]) {
        assert_eq!(&event.raw, raw);
        assert!(event.parse_error.is_some(), "stored as unparsed: {event:?}");
    }

    let file = file_lines(&audit_dir.join("audit"));
    let syslog = || received.lock().unwrap_or_else(|p| p.into_inner()).clone();
    wait_line("syslog output", "sequenceId=\"2\"", syslog);
    let from_syslog = syslog();
    assert_eq!(file.len(), 2, "{file:?}");
    assert_eq!(from_syslog.len(), 2, "{from_syslog:?}");
    for (i, (event, raw)) in stored.iter().zip([&bad_utf8, &random]).enumerate() {
        let text = expected_raw_text(raw);
        assert!(!text.contains('\n') && !text.contains('\r'));
        // File: standard format, no PRI, unknown host and process.
        assert!(
            file[i].ends_with(&format!(" - -: {text}")),
            "file line {i}: {}\nexpected text: {text}",
            file[i]
        );
        // Syslog: structured, marked with the parse error.
        let error = event.parse_error.as_deref().unwrap_or_default();
        let error_sd = error
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace(']', "\\]");
        let mark = format!(
            "[netaudit@32473 unparsed=\"{error_sd}\"][meta sequenceId=\"{}\"] ",
            i + 1
        );
        assert!(
            from_syslog[i].starts_with("<149>1 - - - - - "),
            "{}",
            from_syslog[i]
        );
        assert!(
            from_syslog[i].ends_with(&format!("{mark}{text}")),
            "syslog line {i}: {}\nexpected end: {mark}{text}",
            from_syslog[i]
        );
    }
    assert!(file[0].ends_with("- -: <13>1 2026-12-03T13:24:05Z host1 app1 - - - one bad #377 byte"));
}
