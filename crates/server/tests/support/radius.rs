//! A private FreeRADIUS accounting server for tests: a raddb in a temporary
//! directory (radiusd.conf with one `acct` listener on a loopback high port,
//! one client 127.0.0.1 with the test's secret, the `detail` module writing
//! into the directory, and a `dictionary` that includes
//! dictionary/dictionary.junoscope), started in the foreground as
//! `freeradius -f -xx -d RADDB -l stdout` and stopped by its PID.
//!
//! Threaded mode (`-f -xx`, not `-X`): FreeRADIUS then answers an identical
//! retransmission from its duplicate cache instead of processing it twice,
//! as a production server does.
#![allow(dead_code)] // each test file uses its own subset

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The FreeRADIUS daemon (Debian's name; `.ci/install-deps` installs it).
pub const FREERADIUS: &str = "/usr/sbin/freeradius";

/// A loopback UDP port nobody uses right now.
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    socket.local_addr().expect("local addr").port()
}

/// The shipped JUNOScope dictionary.
pub fn junoscope_dictionary() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dictionary/dictionary.junoscope")
}

/// A private FreeRADIUS; killed (by PID) when dropped.
pub struct FreeRadius {
    pub dir: PathBuf,
    pub port: u16,
    pub secret: String,
    child: Option<Child>,
}

impl FreeRadius {
    /// Writes the raddb into `dir` and starts the server on `port`, waiting
    /// (at most 20 s) until it says it is ready.
    pub fn start(dir: &Path, port: u16, secret: &str) -> FreeRadius {
        assert!(
            Path::new(FREERADIUS).exists(),
            "{FREERADIUS} is missing: install freeradius (see .ci/install-deps)"
        );
        std::fs::create_dir_all(dir).expect("create raddb dir");
        std::fs::write(dir.join("radiusd.conf"), radiusd_conf(dir, port, secret))
            .expect("write radiusd.conf");
        std::fs::write(
            dir.join("dictionary"),
            format!("$INCLUDE {}\n", junoscope_dictionary().display()),
        )
        .expect("write dictionary");
        let mut server = FreeRadius {
            dir: dir.to_path_buf(),
            port,
            secret: secret.to_string(),
            child: None,
        };
        server.spawn();
        server
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("radiusd.log")
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open radiusd.log");
        let start_len = log.metadata().map(|m| m.len()).unwrap_or(0);
        let child = Command::new(FREERADIUS)
            .args(["-f", "-xx", "-l", "stdout", "-d"])
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .expect("start freeradius");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read(self.log_path()).unwrap_or_default();
            let fresh = String::from_utf8_lossy(text.get(start_len as usize..).unwrap_or_default());
            if fresh.contains("Ready to process requests") {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("freeradius exited ({status}) before it was ready:\n{fresh}");
            }
            assert!(
                Instant::now() < deadline,
                "freeradius not ready after 20 s:\n{fresh}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (SIGKILL to its PID) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again with the same raddb and port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.log_path()).unwrap_or_default()).into_owned()
    }

    /// Every record of the detail file, each as (attribute name, value)
    /// pairs as FreeRADIUS wrote them (quotes removed).
    pub fn detail(&self) -> Vec<Vec<(String, String)>> {
        let text = std::fs::read_to_string(self.dir.join("detail")).unwrap_or_default();
        parse_detail(&text)
    }

    /// Waits (at most `limit`) until the detail file holds `count` records.
    pub fn wait_for_records(&self, count: usize, limit: Duration) -> Vec<Vec<(String, String)>> {
        let deadline = Instant::now() + limit;
        loop {
            let records = self.detail();
            if records.len() >= count || Instant::now() >= deadline {
                return records;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Detail file text to records: a header line (the time) starts each
/// record, `\tName = value` lines follow, a blank line ends it.
pub fn parse_detail(text: &str) -> Vec<Vec<(String, String)>> {
    let mut records = Vec::new();
    let mut current: Option<Vec<(String, String)>> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if let Some(record) = current.take() {
                records.push(record);
            }
        } else if let Some(pair) = line.strip_prefix('\t') {
            if let (Some(record), Some((name, value))) = (current.as_mut(), pair.split_once(" = "))
            {
                record.push((name.to_string(), value.trim_matches('"').to_string()));
            }
        } else {
            current = Some(Vec::new());
        }
    }
    if let Some(record) = current {
        records.push(record);
    }
    records
}

/// The value of the first attribute of that name in a detail record.
pub fn value<'a>(record: &'a [(String, String)], name: &str) -> Option<&'a str> {
    record
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn radiusd_conf(dir: &Path, port: u16, secret: &str) -> String {
    let d = dir.display();
    format!(
        r#"# Private FreeRADIUS for netaudit tests: accounting only, loopback only.
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = {d}
raddbdir = {d}
radacctdir = {d}
name = freeradius
confdir = {d}
modconfdir = {d}
run_dir = {d}
db_dir = {d}
libdir = /usr/lib/freeradius
pidfile = {d}/radiusd.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 4096
hostname_lookups = no
log {{
	destination = stdout
	stripped_names = no
	auth = no
}}
security {{
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
}}
thread pool {{
	start_servers = 2
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 4
	max_requests_per_server = 0
}}
client localhost {{
	ipaddr = 127.0.0.1
	secret = "{secret}"
}}
modules {{
	always ok {{
		rcode = ok
	}}
	detail {{
		filename = {d}/detail
		header = "%t"
		permissions = 0600
		locking = no
	}}
}}
server default {{
	listen {{
		type = acct
		ipaddr = 127.0.0.1
		port = {port}
	}}
	preacct {{
		ok
	}}
	accounting {{
		detail
		ok
	}}
}}
"#
    )
}
