//! A private OpenSSH sshd (Debian openssh-server, installed by
//! .ci/install-deps) on a loopback high port: host and client keys made in
//! a temp dir, SFTP by `internal-sftp`, any further subsystem a test adds
//! (the NETCONF tests run the Junos simulator as `Subsystem netconf`), run
//! in the foreground as root, stopped by PID when dropped, and restartable
//! on the same port and keys.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_tcp_port;

pub struct Sshd {
    child: Option<Child>,
    config: PathBuf,
    pub port: u16,
    /// The client's private key (its public half is authorized).
    pub client_key: PathBuf,
    /// A private key whose public half is not authorized.
    pub unauthorized_key: PathBuf,
    /// `known_hosts` text naming this server's host key.
    pub known_hosts_line: String,
    /// `known_hosts` text naming another key for this server (a mismatch).
    pub wrong_known_hosts_line: String,
    log: PathBuf,
}

/// A new Ed25519 key pair without a passphrase at `path` (and `path.pub`).
pub fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "netaudit-test", "-f"])
        .arg(path)
        .status()
        .expect("run ssh-keygen (openssh-client)");
    assert!(status.success(), "ssh-keygen {}", path.display());
}

/// `[127.0.0.1]:PORT TYPE KEY` for the public key next to `private`.
fn known_hosts_line(private: &Path, port: u16) -> String {
    let public = std::fs::read_to_string(private.with_extension("pub")).expect("public key");
    let mut parts = public.split_whitespace();
    let (kind, key) = (parts.next().unwrap(), parts.next().unwrap());
    format!("[127.0.0.1]:{port} {kind} {key}\n")
}

impl Sshd {
    /// Starts sshd with everything in `dir`; returns once it accepts connections.
    pub fn start(dir: &Path) -> Sshd {
        Sshd::start_with(dir, "")
    }

    /// [`Sshd::start`] with `extra` appended to sshd_config (e.g. a
    /// `Subsystem netconf COMMAND` line).
    pub fn start_with(dir: &Path, extra: &str) -> Sshd {
        Sshd::start_on(dir, free_tcp_port(), extra)
    }

    /// [`Sshd::start_with`] on a port the caller chose (a subsystem that
    /// must know the port, such as netconfd's).
    pub fn start_on(dir: &Path, port: u16, extra: &str) -> Sshd {
        std::fs::create_dir_all(dir).unwrap();
        let host_key = dir.join("host_key");
        let other_key = dir.join("other_host_key");
        let client_key = dir.join("client_key");
        for key in [&host_key, &other_key, &client_key] {
            keygen(key);
        }
        let authorized = dir.join("authorized_keys");
        std::fs::copy(client_key.with_extension("pub"), &authorized).unwrap();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PidFile {}\nSubsystem sftp internal-sftp\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\n{extra}",
                host_key.display(),
                authorized.display(),
                dir.join("sshd.pid").display()
            ),
        )
        .unwrap();
        // sshd refuses to start without its privilege separation folder,
        // which Debian's service unit makes at boot (it lives in /run).
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let log = dir.join("sshd.log");
        let mut sshd = Sshd {
            child: None,
            config,
            port,
            known_hosts_line: known_hosts_line(&host_key, port),
            wrong_known_hosts_line: known_hosts_line(&other_key, port),
            client_key,
            unauthorized_key: other_key,
            log,
        };
        sshd.spawn();
        sshd
    }

    /// Stops sshd and the sessions it serves: the per-connection
    /// processes (which leave sshd's process group) are found as its
    /// descendants in /proc and sent SIGKILL by PID, then sshd itself.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            for pid in descendants(child.id()) {
                // SAFETY: kill(2) on a process this test's sshd started.
                #[allow(unsafe_code)]
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, keys and configuration.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        self.child = Some(
            Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(&self.config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start /usr/sbin/sshd (openssh-server)"),
        );
        let (port, sshd) = (self.port, self);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(Ok(Some(status))) = sshd.child.as_mut().map(Child::try_wait) {
                panic!("sshd exited ({status}):\n{}", sshd.log());
            }
            assert!(
                Instant::now() < deadline,
                "sshd not up in 30 s:\n{}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The PIDs of `root`'s descendants (children first), from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|pid| {
                    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                    // The field after the parenthesised command name is the state, then the PPID.
                    let after = &stat[stat.rfind(')')? + 1..];
                    let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
                    Some((pid, ppid))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = vec![root];
    let mut i = 0;
    // Bounded by the number of processes.
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}
