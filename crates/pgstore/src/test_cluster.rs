//! A private PostgreSQL cluster for tests and benchmarks (feature
//! `test-cluster`): `initdb` into a temporary folder, `postgres` started as
//! our child on a loopback high port with its unix socket in that folder,
//! password authentication (scram-sha-256) for the one user `netaudit`,
//! stopped by its PID on drop (SIGINT, the fast shutdown; SIGKILL if it
//! has not gone within 30 s). Debian's `postgresql` package provides the
//! binaries (`/usr/lib/postgresql/<version>/bin`, or `NETAUDIT_PG_BIN`).
//! PostgreSQL refuses to run as root: as root, the cluster runs as the
//! `postgres` system user that the package creates.
//!
//! A cluster can also have a streaming standby ([`PgCluster::start_standby`]:
//! `pg_basebackup -R` from the primary into a temporary folder, its own
//! loopback port, made synchronous with `synchronous_standby_names` on the
//! primary), which [`PgCluster::promote`] turns into a primary; the primary
//! is stopped by PID ([`PgCluster::stop`], or [`PgCluster::kill`] for SIGKILL).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The one user of a test cluster.
pub const USER: &str = "netaudit";

/// The standby's name in `synchronous_standby_names` (its application_name).
const STANDBY_NAME: &str = "netaudit_standby";

/// How long the server may take to accept connections.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// How long a fast shutdown may take before SIGKILL.
const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// A running private cluster.
pub struct PgCluster {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    password: String,
    options: ClusterOptions,
}

/// How to run the cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// `fsync` and `synchronous_commit` on, as in production (benchmarks);
    /// off by default, since a test cluster is thrown away.
    pub durable: bool,
    /// TLS (`ssl = on`) with this certificate and key (PEM); plain and TLS
    /// connections are then both accepted.
    pub tls: Option<(String, String)>,
    /// `synchronous_commit` on even when not `durable`: a commit then waits
    /// for a synchronous standby (see [`PgCluster::start_standby`]).
    pub synchronous_commit: bool,
}

impl PgCluster {
    /// Starts a throw-away cluster (no fsync).
    pub fn start() -> io::Result<PgCluster> {
        Self::start_with(ClusterOptions::default())
    }

    /// Starts a cluster with `options`.
    pub fn start_with(options: ClusterOptions) -> io::Result<PgCluster> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("netaudit-pg-").tempdir()?;
        let run_as = run_as_user()?;
        let password = random_password();
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{password}\n"))?;
        std::fs::create_dir(dir.path().join("sock"))?;
        let mut owned = vec![
            dir.path().to_path_buf(),
            pwfile.clone(),
            dir.path().join("sock"),
        ];
        if let Some((cert, key)) = &options.tls {
            let (cert_path, key_path) =
                (dir.path().join("server.crt"), dir.path().join("server.key"));
            std::fs::write(&cert_path, cert)?;
            std::fs::write(&key_path, key)?;
            // The server refuses a key file that others may read.
            std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))?;
            owned.extend([cert_path, key_path]);
        }
        if let Some((uid, gid)) = run_as {
            for p in &owned {
                std::os::unix::fs::chown(p, Some(uid), Some(gid))?;
            }
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        let data = dir.path().join("data");
        let log = dir.path().join("initdb.log");
        let out = command(&bin.join("initdb"), run_as)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdout(Stdio::from(File::create(&log)?))
            .stderr(Stdio::piped())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "initdb failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let url = url_for(&password, port);
            match start_server(&bin, dir.path(), run_as, port, &options, &url) {
                Ok(child) => {
                    return Ok(PgCluster {
                        dir,
                        port,
                        child: Some(child),
                        password,
                        options,
                    })
                }
                // Another process may have taken the port between our probe
                // and the server's bind: try another one.
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(io::Error::other(last_error))
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The password of [`USER`].
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The server's PID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The temporary folder (data, socket, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A libpq URL for database `postgres`, password included.
    pub fn url(&self) -> String {
        url_for(&self.password, self.port)
    }

    /// A libpq URL without the password (give it by file or environment).
    pub fn url_without_password(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/postgres", self.port)
    }

    /// A client connected as [`USER`], for tests that look at or change rows.
    pub fn client(&self) -> Result<postgres::Client, postgres::Error> {
        postgres::Client::connect(&self.url(), postgres::NoTls)
    }

    /// Starts the server again on the same data and port after [`stop`]
    /// (a database that went away and came back).
    ///
    /// [`stop`]: PgCluster::stop
    pub fn restart(&mut self) -> io::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let bin = bin_dir()?;
        let url = url_for(&self.password, self.port);
        let child = start_server(
            &bin,
            self.dir.path(),
            run_as_user()?,
            self.port,
            &self.options,
            &url,
        )?;
        self.child = Some(child);
        Ok(())
    }

    /// Starts a streaming standby of this cluster: `pg_basebackup -R` into
    /// a new temporary folder, `postgres` on its own loopback port; then
    /// this cluster names it in `synchronous_standby_names`, so that every
    /// commit waits for it (start this cluster with `synchronous_commit`
    /// or `durable`), and the call returns once the standby streams as
    /// `sync`.
    pub fn start_standby(&self) -> io::Result<PgCluster> {
        let bin = bin_dir()?;
        let run_as = run_as_user()?;
        let dir = tempfile::Builder::new()
            .prefix("netaudit-pg-standby-")
            .tempdir()?;
        std::fs::create_dir(dir.path().join("sock"))?;
        if let Some((uid, gid)) = run_as {
            for p in [dir.path().to_path_buf(), dir.path().join("sock")] {
                std::os::unix::fs::chown(p, Some(uid), Some(gid))?;
            }
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        // The password in the connection string, so that `-R` writes it
        // into the standby's primary_conninfo; application_name names the
        // standby for synchronous_standby_names.
        let conninfo = format!(
            "host=127.0.0.1 port={} user={USER} password={} application_name={STANDBY_NAME}",
            self.port, self.password
        );
        let out = command(&bin.join("pg_basebackup"), run_as)
            .arg("-D")
            .arg(dir.path().join("data"))
            .arg("-d")
            .arg(&conninfo)
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "pg_basebackup failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let options = self.options.clone();
        let mut last_error = String::new();
        let mut standby = None;
        for _ in 0..5 {
            let port = free_port()?;
            let url = url_for(&self.password, port);
            match start_server(&bin, dir.path(), run_as, port, &options, &url) {
                Ok(child) => {
                    standby = Some(PgCluster {
                        dir,
                        port,
                        child: Some(child),
                        password: self.password.clone(),
                        options,
                    });
                    break;
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        let standby = standby.ok_or_else(|| io::Error::other(last_error))?;
        let mut primary = self.client().map_err(io::Error::other)?;
        // One statement each: ALTER SYSTEM refuses a transaction block.
        for statement in [
            format!("ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'"),
            "SELECT pg_reload_conf()".to_string(),
        ] {
            primary
                .batch_execute(&statement)
                .map_err(io::Error::other)?;
        }
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let state: Option<String> = primary
                .query_opt(
                    "SELECT sync_state FROM pg_stat_replication WHERE application_name = $1 \
                     AND state = 'streaming'",
                    &[&STANDBY_NAME],
                )
                .map_err(io::Error::other)?
                .map(|r| r.get(0));
            if state.as_deref() == Some("sync") {
                return Ok(standby);
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "the standby is not a streaming synchronous standby after {START_DEADLINE:?} \
                     (sync_state {state:?})"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the server is in recovery (a standby).
    pub fn in_recovery(&self) -> io::Result<bool> {
        let mut client = self.client().map_err(io::Error::other)?;
        client
            .query_one("SELECT pg_is_in_recovery()", &[])
            .map(|r| r.get(0))
            .map_err(io::Error::other)
    }

    /// Promotes a standby to a primary (`pg_ctl promote`) and waits until
    /// it takes writes.
    pub fn promote(&self) -> io::Result<()> {
        let out = command(&bin_dir()?.join("pg_ctl"), run_as_user()?)
            .arg("promote")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-w", "-t", "60"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "pg_ctl promote failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let deadline = Instant::now() + START_DEADLINE;
        while self.in_recovery()? {
            if Instant::now() > deadline {
                return Err(io::Error::other(
                    "the promoted standby is still in recovery",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Kills the server with SIGKILL (by its PID, our child): a crash. Its
    /// backends notice the postmaster's death and end too.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server: SIGINT (fast shutdown) to its PID, SIGKILL after
    /// the deadline. Also done on drop.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Our own child, not reaped yet, so its PID cannot have been reused.
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_DEADLINE;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn url_for(password: &str, port: u16) -> String {
    format!("postgres://{USER}:{password}@127.0.0.1:{port}/postgres")
}

/// Starts `postgres` on `port` and waits until it accepts connections; on
/// failure it is stopped and the log's new lines are the error.
fn start_server(
    bin: &Path,
    dir: &Path,
    run_as: Option<(u32, u32)>,
    port: u16,
    options: &ClusterOptions,
    url: &str,
) -> io::Result<Child> {
    let log_path = dir.join("postgres.log");
    let log_file = File::options().create(true).append(true).open(&log_path)?;
    if let Some((uid, gid)) = run_as {
        std::os::unix::fs::chown(&log_path, Some(uid), Some(gid))?;
    }
    let log_start = log_file.metadata()?.len();
    let durable = if options.durable { "on" } else { "off" };
    let sync_commit = if options.durable || options.synchronous_commit {
        "on"
    } else {
        "off"
    };
    let mut cmd = command(&bin.join("postgres"), run_as);
    if options.tls.is_some() {
        cmd.args(["-c", "ssl=on"])
            .arg("-c")
            .arg(format!(
                "ssl_cert_file={}",
                dir.join("server.crt").display()
            ))
            .arg("-c")
            .arg(format!("ssl_key_file={}", dir.join("server.key").display()));
    }
    let mut child = cmd
        .arg("-D")
        .arg(dir.join("data"))
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(dir.join("sock"))
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", &format!("fsync={durable}")])
        .args(["-c", &format!("synchronous_commit={sync_commit}")])
        .args(["-c", &format!("full_page_writes={durable}")])
        .args(["-c", "max_connections=40"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file.try_clone()?))
        .stderr(Stdio::from(log_file))
        .spawn()?;
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!(
                "postgres exited ({status}) while starting: {}",
                log_since(&log_path, log_start)
            )));
        }
        if let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls) {
            if client.simple_query("SELECT 1").is_ok() {
                return Ok(child);
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!(
                "postgres did not accept connections within {START_DEADLINE:?}: {}",
                log_since(&log_path, log_start)
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The log's lines written since `start`, for an error message.
fn log_since(path: &Path, start: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.seek(SeekFrom::Start(start));
        let _ = f.take(8192).read_to_string(&mut text);
    }
    text.trim().to_string()
}

/// The folder of the PostgreSQL server binaries: `NETAUDIT_PG_BIN`, else
/// the newest `/usr/lib/postgresql/<version>/bin` (Debian's layout).
pub fn bin_dir() -> io::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("NETAUDIT_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "/usr/lib/postgresql: {e} (install Debian's postgresql package: .ci/install-deps)"
                ),
            )
        })?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        io::Error::other("no /usr/lib/postgresql/<version>/bin/postgres (install postgresql)")
    })
}

/// `None` when we are not root; else the uid and gid of the `postgres`
/// system user (PostgreSQL refuses to run as root).
fn run_as_user() -> io::Result<Option<(u32, u32)>> {
    // /proc/self belongs to the process's effective user.
    if std::fs::metadata("/proc/self")?.uid() != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres") && fields.len() > 3)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
        .map(Some)
        .ok_or_else(|| {
            io::Error::other(
                "running as root and there is no `postgres` user to run the test cluster as \
                 (Debian's postgresql package creates it)",
            )
        })
}

fn command(program: &Path, run_as: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(program);
    if let Some((uid, gid)) = run_as {
        cmd.uid(uid).gid(gid).env("HOME", "/tmp");
    }
    // Our own settings only: no libpq or server variables from the caller.
    for var in [
        "PGDATA",
        "PGPORT",
        "PGHOST",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A free loopback port (the kernel's choice; released before the server binds it).
fn free_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn random_password() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    hex::encode(bytes)
}
