//! rsyslog as the remote syslog server of the output tests: a private
//! configuration in a test directory, imtcp (plain or GnuTLS) on a loopback
//! high port, two files written by templates (rsyslog's own parse, and the
//! raw message), started with `rsyslogd -n` and stopped by PID.

use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What rsyslog's imtcp should speak.
#[derive(Debug, Clone)]
pub enum RsyslogMode {
    Tcp,
    /// TLS (gtls, anonymous client authentication): CA, certificate, key files.
    Tls {
        ca: PathBuf,
        cert: PathBuf,
        key: PathBuf,
    },
}

/// A running rsyslogd, killed when dropped.
pub struct Rsyslog {
    child: Option<Child>,
    pub dir: PathBuf,
    pub port: u16,
    pub mode: RsyslogMode,
}

/// Path of rsyslogd; fails (never skips) when missing.
pub fn rsyslogd() -> PathBuf {
    let path = PathBuf::from("/usr/sbin/rsyslogd");
    assert!(
        path.exists(),
        "rsyslogd not found at /usr/sbin/rsyslogd: run .ci/install-deps"
    );
    path
}

impl Rsyslog {
    /// Starts rsyslog with its files in `dir` (created) listening on `port`.
    pub fn start(dir: &Path, port: u16, mode: RsyslogMode) -> Rsyslog {
        std::fs::create_dir_all(dir.join("work")).expect("create rsyslog dir");
        let mut server = Rsyslog {
            child: None,
            dir: dir.to_owned(),
            port,
            mode,
        };
        server.write_config();
        server.launch();
        server
    }

    /// `%msgid%|%structured-data%|%msg%`, one line per message received.
    pub fn parsed_path(&self) -> PathBuf {
        self.dir.join("parsed.log")
    }

    /// `%rawmsg%`, one line per message received.
    pub fn raw_path(&self) -> PathBuf {
        self.dir.join("raw.log")
    }

    fn write_config(&self) {
        let d = self.dir.display();
        let (global, module) = match &self.mode {
            RsyslogMode::Tcp => (String::new(), "module(load=\"imtcp\")".to_owned()),
            RsyslogMode::Tls { ca, cert, key } => (
                format!(
                    "global(DefaultNetstreamDriver=\"gtls\" DefaultNetstreamDriverCAFile=\"{}\" DefaultNetstreamDriverCertFile=\"{}\" DefaultNetstreamDriverKeyFile=\"{}\")",
                    ca.display(),
                    cert.display(),
                    key.display()
                ),
                "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\")".to_owned(),
            ),
        };
        let config = format!(
            "global(workDirectory=\"{d}/work\")\n{global}\n{module}\n\
             template(name=\"parsed\" type=\"string\" string=\"%msgid%|%structured-data%|%msg%\\n\")\n\
             template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n\
             ruleset(name=\"r\") {{\n\
               action(type=\"omfile\" file=\"{d}/parsed.log\" template=\"parsed\")\n\
               action(type=\"omfile\" file=\"{d}/raw.log\" template=\"raw\")\n\
             }}\n\
             input(type=\"imtcp\" port=\"{}\" address=\"127.0.0.1\" ruleset=\"r\")\n",
            self.port
        );
        std::fs::write(self.dir.join("rsyslog.conf"), config).expect("write rsyslog.conf");
    }

    fn launch(&mut self) {
        assert!(self.child.is_none(), "rsyslog already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("rsyslogd.out"))
            .expect("rsyslog log");
        let err = log.try_clone().expect("clone log");
        let pidfile = self.dir.join("rsyslogd.pid");
        let _ = std::fs::remove_file(&pidfile);
        let child = Command::new(rsyslogd())
            .arg("-n")
            .arg("-f")
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(&pidfile)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("spawn rsyslogd");
        self.child = Some(child);
        // Bounded wait until the port accepts connections.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("rsyslogd exited at startup ({status}):\n{}", self.log());
                }
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "rsyslogd did not listen on {} within 15 s:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then wait (bounded) for the exit.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: kill(2) on our own child's pid.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("rsyslogd did not stop within 20 s:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts again on the same port and files (appending).
    pub fn restart(&mut self) {
        self.launch();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("rsyslogd.out")).unwrap_or_default()
    }

    pub fn parsed_lines(&self) -> Vec<String> {
        read_lines(&self.parsed_path())
    }

    pub fn raw_lines(&self) -> Vec<String> {
        read_lines(&self.raw_path())
    }

    /// Waits (bounded) until the raw file holds at least `count` lines.
    pub fn wait_lines(&self, count: usize, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let lines = self.raw_lines();
            if lines.len() >= count {
                return lines;
            }
            if Instant::now() > deadline {
                panic!(
                    "rsyslog wrote {} lines, expected {count} within {limit:?}\n{}",
                    lines.len(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The `meta sequenceId` of a structured line, if any.
pub fn sequence_id(line: &str) -> Option<u64> {
    let start = line.find("[meta ")?;
    let rest = line.get(start..)?;
    let value = rest.split("sequenceId=\"").nth(1)?;
    value.split('"').next()?.parse().ok()
}

/// A realistic Junos structured-data line (about 260 bytes) numbered `i`.
pub fn junos_line(i: u64) -> String {
    format!(
        "<14>1 2026-11-20T10:{:02}:{:02}.{:03}Z fw{:02} RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.40 source-address=\"10.0.{}.{}\" source-port=\"{}\" destination-address=\"192.0.2.{}\" destination-port=\"443\" service-name=\"junos-https\" protocol-id=\"6\" policy-name=\"trust-to-untrust\"] session created {i}",
        (i / 60) % 60,
        i % 60,
        i % 1000,
        i % 7,
        (i / 256) % 256,
        i % 256,
        1024 + i % 60000,
        i % 250
    )
}

/// Sends `lines` octet-counted over one TCP connection to `port`.
pub fn send_octet_counted(port: u16, lines: impl IntoIterator<Item = String>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to netaudit");
    let mut buf = Vec::new();
    for line in lines {
        write!(buf, "{} {}", line.len(), line).expect("frame");
        if buf.len() > 64 * 1024 {
            stream.write_all(&buf).expect("send");
            buf.clear();
        }
    }
    stream.write_all(&buf).expect("send");
}

/// Files of a test PKI: `ca.pem`, the server's `server.pem` / `server.key`
/// (names `localhost` and `127.0.0.1`) signed by it, and `other-ca.pem`, a
/// CA that signed nothing of this server.
pub struct TestPki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub other_ca: PathBuf,
}

pub fn make_pki(dir: &Path) -> TestPki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let ca = |name: &str| {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("CA cert");
        (cert, key)
    };
    let (ca_cert, ca_key) = ca("netaudit output test CA");
    let (other_cert, _) = ca("some other CA");
    let server_key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let server_cert = params
        .signed_by(&server_key, &ca_cert, &ca_key)
        .expect("server cert");
    std::fs::create_dir_all(dir).expect("pki dir");
    let pki = TestPki {
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        other_ca: dir.join("other-ca.pem"),
    };
    std::fs::write(&pki.ca, ca_cert.pem()).expect("write ca");
    std::fs::write(&pki.server_cert, server_cert.pem()).expect("write cert");
    std::fs::write(&pki.server_key, server_key.serialize_pem()).expect("write key");
    std::fs::write(&pki.other_ca, other_cert.pem()).expect("write other ca");
    pki
}
