//! Signing in and out, the lockout policy, roles, and the forms' CSRF
//! tokens, in Chromium.

use std::time::Duration;

use crate::browser::{one_at_a_time, Browser};
use crate::site::{http, Site, ADMIN, AUDITOR, MAX_ATTEMPTS, OTHER_AUDITOR};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_lockout_logout_and_csrf() {
    let _browser_lock = one_at_a_time().await;
    let site = Site::start();
    let browser = Browser::start().await;
    let base = &site.base;

    // Not signed in: every page leads to the login page.
    browser.goto(&format!("{base}/events")).await;
    let url = browser.client.current_url().await.expect("url");
    assert_eq!(url.path(), "/login");
    browser.screenshot("login").await;

    // A wrong password: the one refusal message, on the page.
    browser.sign_in(base, AUDITOR.0, "not the password").await;
    let message = browser.text("p.message").await;
    assert_eq!(message, "login refused: Authentication Failure");

    // The right one: the auditor's first page, with who and the idle timeout.
    browser.sign_in(base, AUDITOR.0, AUDITOR.1).await;
    browser
        .wait_text("h1", "Events", Duration::from_secs(10))
        .await;
    let who = browser.text("header .who").await;
    assert!(who.contains("alice (auditor)"), "{who}");
    assert!(who.contains("signs out"), "{who}");

    // A form without its CSRF token is refused, with the session's cookie.
    let cookie = browser
        .session_cookie()
        .await
        .expect("the console's session cookie");
    let (status, body) = http(
        site.server.http,
        "POST",
        "/logout",
        Some(&format!("netaudit_console={cookie}")),
        "",
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("CSRF token is missing or wrong"), "{body}");
    let (status, _) = http(
        site.server.http,
        "POST",
        "/logout",
        Some(&format!("netaudit_console={cookie}")),
        "csrf=0123456789abcdef0123456789abcdef",
    );
    assert_eq!(status, 403);
    // The login form too, without the cookie its token goes with.
    let (status, body) = http(
        site.server.http,
        "POST",
        "/login",
        None,
        "username=alice&password=x&csrf=abc",
    );
    assert_eq!(status, 403, "{body}");

    // Logout (JUNOSCOPE_LOGOUT), then the session is gone.
    browser.click("header form button").await;
    browser
        .wait_text("p.note", "You are signed out", Duration::from_secs(10))
        .await;
    let (status, _) = http(
        site.server.http,
        "GET",
        "/events",
        Some(&format!("netaudit_console={cookie}")),
        "",
    );
    assert_eq!(status, 303, "the old cookie still opened a page");

    // The policy: MAX_ATTEMPTS failures lock bob; then his right password
    // is refused with the same message.
    for _ in 0..MAX_ATTEMPTS {
        browser
            .sign_in(base, OTHER_AUDITOR.0, "wrong wrong wrong")
            .await;
        assert_eq!(
            browser.text("p.message").await,
            "login refused: Authentication Failure"
        );
    }
    browser
        .sign_in(base, OTHER_AUDITOR.0, OTHER_AUDITOR.1)
        .await;
    assert_eq!(
        browser.text("p.message").await,
        "login refused: Authentication Failure"
    );
    browser.screenshot("login-refused").await;

    // The administrator sees the lock on Users > Local Authentication,
    // adds a user, locks and unlocks them and unlocks bob.
    browser.sign_in(base, ADMIN.0, ADMIN.1).await;
    browser
        .wait_text("h1", "Monitor > Status", Duration::from_secs(10))
        .await;
    browser.goto(&format!("{base}/users")).await;
    assert_eq!(browser.text("tr[data-user=bob] td.status").await, "locked");
    assert_eq!(
        browser.text("tr[data-user=alice] td.status").await,
        "active"
    );
    assert!(browser
        .text("#policy")
        .await
        .contains(&format!("Maximum Login Attempts {MAX_ATTEMPTS}")));
    browser.fill("#add-user input[name=name]", "carol").await;
    browser
        .fill("#add-user input[name=password]", "carol's long password")
        .await;
    browser.click("#add-user button").await;
    browser
        .wait_text("p.notice", "User created: carol", Duration::from_secs(10))
        .await;
    browser.click("tr[data-user=carol] button.lock").await;
    browser
        .wait_text("p.notice", "User locked: carol", Duration::from_secs(10))
        .await;
    assert_eq!(
        browser.text("tr[data-user=carol] td.status").await,
        "locked"
    );
    browser.screenshot("users").await;
    browser.click("tr[data-user=carol] button.unlock").await;
    browser
        .wait_text("p.notice", "User unlocked: carol", Duration::from_secs(10))
        .await;
    browser.click("tr[data-user=bob] button.unlock").await;
    browser
        .wait_text("p.notice", "User unlocked: bob", Duration::from_secs(10))
        .await;
    // Bad input on the forms: a message on the page, nothing stored.
    browser.fill("#add-user input[name=name]", "<b>x</b>").await;
    browser
        .fill("#add-user input[name=password]", "a long enough password")
        .await;
    browser.click("#add-user button").await;
    let problem = browser.text("p.message").await;
    assert!(
        problem.contains("<b>x</b>") || problem.contains("name"),
        "{problem}"
    );
    assert!(browser
        .client
        .find(fantoccini::Locator::Css("p.message b"))
        .await
        .is_err());
    browser.fill("#add-user input[name=name]", "dave").await;
    browser
        .fill("#add-user input[name=password]", "short")
        .await;
    browser
        .client
        .execute(
            "document.querySelector('#add-user input[name=password]').removeAttribute('minlength')",
            vec![],
        )
        .await
        .expect("js");
    browser.click("#add-user button").await;
    browser
        .wait_text("p.message", "password", Duration::from_secs(10))
        .await;

    // Outputs: the file output with its cursor and figures; a reload
    // from the configuration file that adds one.
    browser.goto(&format!("{base}/outputs")).await;
    let row = browser.text("tr[data-output=audit]").await;
    assert!(row.contains("file"), "{row}");
    let mut config = std::fs::read_to_string(&site.server.config_path).expect("config");
    config.push_str(&format!(
        "\n[[output.file]]\nname = \"second\"\ndir = \"{}\"\n",
        site.server.dir.join("second").display()
    ));
    std::fs::write(&site.server.config_path, config).expect("config");
    browser.click("#reload").await;
    browser
        .wait_text(
            "p.notice",
            "1 added, 0 changed, 0 removed",
            Duration::from_secs(20),
        )
        .await;
    browser
        .wait_text("#outputs", "second", Duration::from_secs(10))
        .await;
    browser.screenshot("outputs").await;

    browser.click("header form button").await;
    browser
        .wait_text("p.note", "You are signed out", Duration::from_secs(10))
        .await;

    // bob, unlocked, signs in again.
    browser
        .sign_in(base, OTHER_AUDITOR.0, OTHER_AUDITOR.1)
        .await;
    browser
        .wait_text("h1", "Events", Duration::from_secs(10))
        .await;

    // An auditor cannot reach the user pages: a 403 page, not a hidden link.
    assert!(!browser.text("header nav").await.contains("Users"));
    browser.goto(&format!("{base}/users")).await;
    assert!(browser.text("h1").await.starts_with("403"));
    assert!(browser
        .text("p.message")
        .await
        .contains("managing users needs the role admin"));
    browser.screenshot("forbidden").await;
    browser.goto(&format!("{base}/outputs")).await;
    browser
        .wait_text("#outputs", "audit", Duration::from_secs(10))
        .await;
    assert!(browser
        .client
        .find(fantoccini::Locator::Css("#reload"))
        .await
        .is_err());
    let bob_cookie = browser.session_cookie().await.expect("cookie");
    let (status, _) = http(
        site.server.http,
        "POST",
        "/users/alice/lock",
        Some(&format!("netaudit_console={bob_cookie}")),
        "",
    );
    assert_eq!(status, 403);
    let (status, _) = http(
        site.server.http,
        "POST",
        "/outputs/reload",
        Some(&format!("netaudit_console={bob_cookie}")),
        "",
    );
    assert_eq!(status, 403);

    // Each change is the API's catalog event with the admin and address.
    browser
        .goto(&format!(
            "{base}/events?code=JUNOSCOPE_USER_*&order=oldest&col=code&col=message"
        ))
        .await;
    let codes = browser.texts("#results td.code").await;
    // `netaudit user add` made the first users: their events come first.
    let from_lock = codes
        .iter()
        .position(|c| c == "JUNOSCOPE_USER_AUTO_LOCKED")
        .expect("the auto-lock event");
    assert_eq!(
        codes[from_lock..],
        [
            "JUNOSCOPE_USER_AUTO_LOCKED",
            "JUNOSCOPE_USER_CREATED",
            "JUNOSCOPE_USER_LOCKED_BY_ADMIN",
            "JUNOSCOPE_USER_UNLOCKED_BY_ADMIN",
            "JUNOSCOPE_USER_UNLOCKED_BY_ADMIN",
        ]
    );
    let messages = browser.texts("#results td.message").await.join("\n");
    assert!(messages.contains("root"), "{messages}");
    assert!(messages.contains("127.0.0.1"), "{messages}");

    // The trail tells them apart: an auditor finds the lock in the search.
    browser.sign_in(base, AUDITOR.0, AUDITOR.1).await;
    browser
        .goto(&format!(
            "{base}/events?code=JUNOSCOPE_USER_AUTO_LOCKED&col=code&col=user"
        ))
        .await;
    let users = browser.texts("#results td.user").await;
    assert_eq!(users, vec!["bob".to_string()]);
    browser
        .goto(&format!(
            "{base}/events?code=JUNOSCOPE_LOG*&order=oldest&col=seq&col=code&col=user&limit=100"
        ))
        .await;
    let codes = browser.texts("#results td.code").await;
    for expected in [
        "JUNOSCOPE_LOGIN_FAILURE",
        "JUNOSCOPE_LOGIN_SUCCESSFUL",
        "JUNOSCOPE_LOGOUT",
    ] {
        assert!(
            codes.iter().any(|c| c == expected),
            "{expected} not in {codes:?}"
        );
    }
    assert_eq!(
        browser.texts("#results td.seq").await.len(),
        site.query_seqs(&["--code", "JUNOSCOPE_LOG*"]).len()
    );
    browser.close().await;
}
