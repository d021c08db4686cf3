//! A private OpenSSH sshd (Debian openssh-server, installed by
//! .ci/install-deps) on a loopback high port: host and client keys made in
//! a temp dir, SFTP by `internal-sftp`, run in the foreground as root and
//! stopped by PID when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_tcp_port;

pub struct Sshd {
    child: Child,
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
        std::fs::create_dir_all(dir).unwrap();
        let host_key = dir.join("host_key");
        let other_key = dir.join("other_host_key");
        let client_key = dir.join("client_key");
        for key in [&host_key, &other_key, &client_key] {
            keygen(key);
        }
        let authorized = dir.join("authorized_keys");
        std::fs::copy(client_key.with_extension("pub"), &authorized).unwrap();
        let port = free_tcp_port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PidFile {}\nSubsystem sftp internal-sftp\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\n",
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
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start /usr/sbin/sshd (openssh-server)");
        let mut sshd = Sshd {
            child,
            port,
            known_hosts_line: known_hosts_line(&host_key, port),
            wrong_known_hosts_line: known_hosts_line(&other_key, port),
            client_key,
            unauthorized_key: other_key,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = sshd.child.try_wait() {
                panic!("sshd exited ({status}):\n{}", sshd.log());
            }
            assert!(
                Instant::now() < deadline,
                "sshd not up in 30 s:\n{}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sshd
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
