//! Headless Chromium through Debian's chromedriver: both started here on a
//! loopback high port with a fresh profile, in a process group of their
//! own that is killed by its id when the [`Browser`] is dropped (also when
//! an assertion fails).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::support::free_tcp_port;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// One browser at a time in this binary (each test has its own runtime;
/// tokio's mutex does not mind, and a failed test does not poison it).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Holds the browser lock for a test.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// A chromedriver with one Chromium session.
pub struct Browser {
    pub client: Client,
    driver: DriverGroup,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; fails (never skips)
    /// when either is missing.
    pub async fn start() -> Browser {
        Browser::start_with(false).await
    }

    /// [`Browser::start`], trusting any certificate (a test's own HTTPS).
    pub async fn start_with(accept_insecure_certs: bool) -> Browser {
        for path in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} not found: run .ci/install-deps (Debian's chromium and chromium-driver)"
            );
        }
        let port = free_tcp_port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group: dropping the guard kills chromedriver and
        // the Chromium it started, by the group's id.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = DriverGroup(command.spawn().expect("spawn chromedriver"));
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        // Listening is enough: the session request below waits for it to
        // be ready (its /status keeps the connection open, so no GET here).
        while std::net::TcpStream::connect(address).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-crash-reporter",
            "--disable-breakpad",
            "--window-size=1400,1000",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": CHROMIUM, "args": args }),
        );
        caps.insert("acceptInsecureCerts".into(), accept_insecure_certs.into());
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("start a Chromium session through chromedriver");
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Goes to `url` and waits for its document.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// The text of the first element matching `css`, retried (bounded)
    /// while a navigation replaces the page.
    pub async fn text(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await,
                Err(e) => Err(e),
            };
            match found {
                Ok(text) => return text,
                Err(e) if Instant::now() >= deadline => panic!("{css}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The texts of every element matching `css` (an element that a
    /// navigation removed meanwhile is left out).
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for element in self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
        {
            if let Ok(text) = element.text().await {
                out.push(text);
            }
        }
        out
    }

    /// Types `text` into the field matching `css` (cleared first).
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// Clicks `css` (a form's button) and waits (bounded) until the page it
    /// leads to has loaded, so that the next step never races the form.
    pub async fn submit(&self, css: &str) {
        self.client
            .execute("window.__netauditOldPage = true;", vec![])
            .await
            .expect("mark the page");
        self.click(css).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let fresh = self
                .client
                .execute(
                    "return window.__netauditOldPage === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if matches!(fresh, Ok(serde_json::Value::Bool(true))) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no new page within 20 s after clicking {css}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (bounded by `limit`) until `css` has an element whose text
    /// contains `needle`; returns how long it took.
    pub async fn wait_text(&self, css: &str, needle: &str, limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.texts(css).await.iter().any(|t| t.contains(needle)) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "no {css} with {needle:?} within {limit:?}; page:\n{}",
                self.client.source().await.unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Signs in through the login page.
    pub async fn sign_in(&self, base: &str, user: &str, password: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("#username", user).await;
        self.fill("#password", password).await;
        self.submit("#sign-in").await;
    }

    /// The console's session cookie (HttpOnly: only WebDriver can read it).
    pub async fn session_cookie(&self) -> Option<String> {
        self.client
            .get_named_cookie("netaudit_console")
            .await
            .ok()
            .map(|c| c.value().to_string())
    }

    /// Whether the console's session cookie is marked `Secure` and `HttpOnly`.
    pub async fn session_cookie_flags(&self) -> (bool, bool) {
        let cookie = self
            .client
            .get_named_cookie("netaudit_console")
            .await
            .expect("the console's session cookie");
        (
            cookie.secure().unwrap_or(false),
            cookie.http_only().unwrap_or(false),
        )
    }

    /// Saves a PNG of the page as `target/console-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Ends the session (Chromium quits); the drop kills what is left.
    pub async fn close(self) {
        let Browser {
            client,
            driver,
            _profile,
        } = self;
        let _ = client.close().await;
        drop(driver);
    }
}

/// chromedriver as the leader of its own process group.
struct DriverGroup(std::process::Child);

impl Drop for DriverGroup {
    fn drop(&mut self) {
        let group = self.0.id() as i32;
        // SAFETY: kill(2) on the process group our own child leads (it was
        // started with process_group(0)): chromedriver and its Chromium.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// Where screenshots go: `target/console-screenshots/` of this workspace
/// (or of `CARGO_TARGET_DIR`).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("console-screenshots")
}
