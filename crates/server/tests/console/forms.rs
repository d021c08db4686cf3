//! What a browser's forms would not send, over plain HTTP (no browser:
//! these run beside the browser tests): every form and query parameter
//! with wrong types, huge values, invalid UTF-8, SQL and HTML
//! metacharacters gets a message on the console's page, never a 500, and
//! nothing of it is stored where a later page renders it as markup; an
//! idle session ends (JUNOSCOPE_SESSION_TIMEOUT) and its next page is the
//! login page.

use std::time::{Duration, Instant};

use crate::site::{csrf_of, exchange, sign_in_http, Site, ADMIN, AUDITOR};

const FORM: &str = "Content-Type: application/x-www-form-urlencoded\r\n";
const MARKUP: &str = "<b>markup</b>";

/// A console page with a client error: HTML, the console's look, no
/// markup from the input.
fn assert_refused(what: &str, (status, _, body): &(u16, String, String)) {
    assert!((400..500).contains(status), "{what}: HTTP {status}\n{body}");
    assert!(body.starts_with("<!DOCTYPE html>"), "{what}: {body}");
    assert!(!body.contains(MARKUP), "{what}: markup on the page\n{body}");
}

#[test]
fn bad_form_fields_and_parameters_get_a_message_never_a_500() {
    let site = Site::start();
    let a = site.server.http;
    let admin = sign_in_http(a, ADMIN);
    let (status, _, users) = exchange(a, "GET", "/users", &admin, b"");
    assert_eq!(status, 200, "{users}");
    let csrf = csrf_of(&users);
    let huge = "x".repeat(5000);
    let post = |path: &str, fields: &[u8]| {
        let mut body = format!("csrf={csrf}&").into_bytes();
        body.extend_from_slice(fields);
        exchange(a, "POST", path, &format!("{admin}{FORM}"), &body)
    };
    // Adding a user: each field wrong in turn.
    let markup = serde_urlencoded::to_string([("name", MARKUP)]).expect("encode");
    for (what, fields) in [
        (
            "name with markup",
            format!("{markup}&role=auditor&password=long+enough+password").into_bytes(),
        ),
        (
            "huge name",
            format!("name={huge}&role=auditor&password=long+enough+password").into_bytes(),
        ),
        (
            "name not UTF-8",
            b"name=%FF%FE&role=auditor&password=long+enough+password".to_vec(),
        ),
        (
            "raw bytes not UTF-8",
            b"name=\xff\xfe&role=auditor&password=long+enough+password".to_vec(),
        ),
        (
            "SQL in the name",
            b"name=%27%3B+DROP+TABLE+users%3B--&role=auditor&password=long+enough+password"
                .to_vec(),
        ),
        (
            "unknown role",
            b"name=eve&role=superuser&password=long+enough+password".to_vec(),
        ),
        (
            "role missing",
            b"name=eve&password=long+enough+password".to_vec(),
        ),
        (
            "huge password",
            format!("name=eve&role=auditor&password={huge}").into_bytes(),
        ),
        (
            "short password",
            b"name=eve&role=auditor&password=short".to_vec(),
        ),
        (
            "control characters",
            b"name=e%00ve&role=auditor&password=long+enough+password".to_vec(),
        ),
    ] {
        assert_refused(what, &post("/users", &fields));
    }
    // Changes: a name that cannot be read, an unknown one, an unknown action,
    // the administrator locking themselves, a bad new password.
    for (what, path, fields) in [
        ("name not UTF-8", "/users/%FF%FE/lock", &b""[..]),
        ("unknown user", "/users/nobody/lock", b""),
        ("unknown action", "/users/alice/explode", b""),
        (
            "markup as action",
            "/users/alice/%3Cb%3Emarkup%3C%2Fb%3E",
            b"",
        ),
        ("locking oneself", "/users/root/lock", b""),
        (
            "huge password",
            "/users/alice/password",
            format!("password={huge}").as_bytes(),
        ),
    ] {
        assert_refused(what, &post(path, fields));
    }
    // A form over the size limit.
    let big = format!("name={}", "y".repeat(70 * 1024));
    assert_refused("form over 64 KiB", &post("/users", big.as_bytes()));
    // Nothing of it was stored: the users are those of the start.
    let (status, _, users) = exchange(a, "GET", "/users", &admin, b"");
    assert_eq!(status, 200);
    assert!(!users.contains(MARKUP), "{users}");
    assert!(!users.contains("DROP TABLE"), "{users}");
    assert_eq!(users.matches("data-user=").count(), 4, "{users}");

    // The pages' query parameters.
    for path in ["/users?%3Cb%3Emarkup%3C%2Fb%3E=1", "/outputs?added=1&x=%FF"] {
        assert_refused(path, &exchange(a, "GET", path, &admin, b""));
    }
    let auditor = sign_in_http(a, AUDITOR);
    for path in [
        "/tail?severity=%3Cb%3Emarkup%3C%2Fb%3E",
        "/tail?limit=abc",
        "/tail/stream?after=abc",
        "/tail/stream?after=-1",
        "/tail/stream?host=%FF&bogus=1",
        "/events/export?format=%3Cb%3Emarkup%3C%2Fb%3E",
        "/events/export?format=json&since=yesterday",
        "/events?order=sideways&col=%3Cb%3Emarkup%3C%2Fb%3E",
        "/overview?window=%27%3B--&silent=99999999999999999999",
        "/status?type=%FF%FE",
        "/integrity?x=%3Cb%3Emarkup%3C%2Fb%3E",
        "/outputs?x=1",
    ] {
        let reply = exchange(a, "GET", path, &auditor, b"");
        assert_refused(path, &reply);
    }
    // The operation filter is a field of the search form, kept in the page's
    // links; too long a value is refused on the page, naming it.
    let (status, _, page) = exchange(
        a,
        "GET",
        "/events?operation=nightly%20archive",
        &auditor,
        b"",
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"operation\""), "{page}");
    assert!(page.contains("value=\"nightly archive\""), "{page}");
    let long = format!("/events?operation={}", "o".repeat(5000));
    let reply = exchange(a, "GET", &long, &auditor, b"");
    assert_refused("a 5000-byte operation", &reply);
    assert!(reply.2.contains("operation"), "{}", reply.2);
}

#[test]
fn an_idle_session_ends_and_its_next_page_is_the_login_page() {
    let site = Site::start_with_api("session_idle_timeout_secs = 1\n");
    let a = site.server.http;
    let auditor = sign_in_http(a, AUDITOR);
    let (status, _, page) = exchange(a, "GET", "/events", &auditor, b"");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("data-idle-secs=\"1\""), "{page}");
    // Bounded wait for the session to time out (checked each request, and
    // by the server's sweep).
    let deadline = Instant::now() + Duration::from_secs(30);
    let head = loop {
        std::thread::sleep(Duration::from_millis(1100));
        let (status, head, _) = exchange(a, "GET", "/events", &auditor, b"");
        if status == 303 {
            break head;
        }
        assert!(Instant::now() < deadline, "the session never timed out");
    };
    assert!(head.contains("location: /login"), "{head}");
    site.wait_stored(&["--code", "JUNOSCOPE_SESSION_TIMEOUT"], 1);
    // Ended for good: a second request is sent to the login page too.
    let (status, head, _) = exchange(a, "GET", "/events", &auditor, b"");
    assert_eq!(status, 303, "{head}");
}
