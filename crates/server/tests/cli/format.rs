//! `netaudit format` and `netaudit catalog`, run as the built binary.

use std::process::{Command, Output};

fn netaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .output()
        .expect("run the netaudit binary")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Runs a command that must succeed and returns its standard output.
fn ok(args: &[&str]) -> String {
    let out = netaudit(args);
    assert!(out.status.success(), "{args:?} failed: {}", stderr(&out));
    stdout(&out)
}

/// Runs a command that must fail and returns its standard error.
fn fails(args: &[&str]) -> String {
    let out = netaudit(args);
    assert!(
        !out.status.success(),
        "{args:?} succeeded: {}",
        stdout(&out)
    );
    assert!(out.stdout.is_empty(), "{args:?} printed {}", stdout(&out));
    stderr(&out)
}

const USER_CREATED: [&str; 12] = [
    "format",
    "--code",
    "JUNOSCOPE_USER_CREATED",
    "--var",
    "new-user=bob",
    "--var",
    "username=admin",
    "--var",
    "client-address=192.0.2.10",
    "--host",
    "valhalla2",
    "--pid=9348",
];

fn user_created(extra: &[&str]) -> String {
    let mut args: Vec<&str> = USER_CREATED.to_vec();
    args.extend_from_slice(&["--app", "junoscope7080"]);
    if !extra.contains(&"--time") {
        args.extend_from_slice(&["--time", "2007-06-20T13:00:05Z"]);
    }
    args.extend_from_slice(extra);
    ok(&args)
}

#[test]
fn standard_format_file_and_network_forms() {
    assert_eq!(
        user_created(&[]),
        "Jun 20 13:00:05 valhalla2 junoscope7080[9348]: JUNOSCOPE_USER_CREATED: User created: user: 'bob' by username: 'admin' client address: '192.0.2.10'\n"
    );
    assert_eq!(
        user_created(&["--network"]),
        "<150>Jun 20 13:00:05 valhalla2 junoscope7080[9348]: JUNOSCOPE_USER_CREATED: User created: user: 'bob' by username: 'admin' client address: '192.0.2.10'\n"
    );
    assert!(user_created(&["--network", "--facility", "local7"]).starts_with("<190>Jun 20 "));
}

#[test]
fn structured_format_full_and_brief() {
    assert_eq!(
        user_created(&["--structured", "--time", "2007-06-20T13:00:05.719Z"]),
        "<150>1 2007-06-20T13:00:05.719Z valhalla2 junoscope7080 9348 JUNOSCOPE_USER_CREATED [junos@2636.1.1.1.2.18 new-user=\"bob\" username=\"admin\" client-address=\"192.0.2.10\"] User created: user: 'bob' by username: 'admin' client address: '192.0.2.10'\n"
    );
    assert_eq!(
        user_created(&["--structured", "--brief", "--sd-id", "junoscope@2636", "--facility", "local0"]),
        "<134>1 2007-06-20T13:00:05.000Z valhalla2 junoscope7080 9348 JUNOSCOPE_USER_CREATED [junoscope@2636 new-user=\"bob\" username=\"admin\" client-address=\"192.0.2.10\"]\n"
    );
}

#[test]
fn aliases_render_the_canonical_code_and_defaults_apply() {
    let line = ok(&[
        "format",
        "--code",
        "JUNOSCOPE_LOGIN_SUCCESS",
        "--var",
        "username=jdoe",
        "--var",
        "client-address=192.0.2.10",
        "--host",
        "valhalla2",
    ]);
    // Default app junoscope8080, no pid, time now.
    assert!(
        line.ends_with(" valhalla2 junoscope8080: JUNOSCOPE_LOGIN_SUCCESSFUL: User logged in: username: 'jdoe' client address: '192.0.2.10'\n"),
        "{line}"
    );
    let no_vars = ok(&[
        "format",
        "--code",
        "JUNOSCOPE_SOFTWARE_IMAGE_IMPORT_ERROR",
        "--structured",
        "--host",
        "h",
        "--time",
        "2007-06-20T13:00:05Z",
    ]);
    assert_eq!(
        no_vars,
        "<147>1 2007-06-20T13:00:05.000Z h junoscope8080 - SOFTWARE_IMAGE_IMPORT_ERROR - Import failed\n"
    );
}

#[test]
fn values_cannot_inject_a_line() {
    let line = ok(&[
        "format",
        "--code",
        "JUNOSCOPE_LOGOUT",
        "--var",
        "username=a\nJun 20 13:00:05 h junoscope8080: JUNOSCOPE_LOGIN_SUCCESSFUL: forged",
        "--var",
        "client-address=x",
        "--host",
        "h",
        "--time",
        "2007-06-20T13:00:05Z",
    ]);
    assert_eq!(line.matches('\n').count(), 1, "{line}");
    assert!(line.contains("'a#012Jun 20"), "{line}");
}

#[test]
fn unknown_code_suggests_close_matches() {
    let err = fails(&["format", "--code", "JUNOSCOPE_USER_CREATE"]);
    assert!(
        err.contains("unknown catalog code 'JUNOSCOPE_USER_CREATE'"),
        "{err}"
    );
    assert!(err.contains("did you mean JUNOSCOPE_USER_CREATED"), "{err}");
    let err = fails(&["format", "--code", "nonsense"]);
    assert!(err.contains("run `netaudit catalog` for the list"), "{err}");
}

#[test]
fn missing_unknown_and_malformed_variables_are_errors_listing_the_expected() {
    let err = fails(&[
        "format",
        "--code",
        "JUNOSCOPE_USER_CREATED",
        "--var",
        "new-user=bob",
    ]);
    assert!(
        err.contains("JUNOSCOPE_USER_CREATED is missing variable(s) username, client-address (expected: new-user, username, client-address)"),
        "{err}"
    );
    let err = fails(&[
        "format",
        "--code",
        "JUNOSCOPE_LOGOUT",
        "--var",
        "username=a",
        "--var",
        "client-address=b",
        "--var",
        "user=c",
    ]);
    assert!(
        err.contains(
            "JUNOSCOPE_LOGOUT has no variable 'user' (expected: username, client-address)"
        ),
        "{err}"
    );
    let err = fails(&["format", "--code", "JUNOSCOPE_LOGOUT", "--var", "username"]);
    assert!(err.contains("--var 'username' is not NAME=VALUE (variables of JUNOSCOPE_LOGOUT: username, client-address)"), "{err}");
    let err = fails(&[
        "format",
        "--code",
        "JUNOSCOPE_LOGOUT",
        "--var",
        "username=a",
        "--var",
        "username=b",
        "--var",
        "client-address=c",
    ]);
    assert!(
        err.contains("variable 'username' given more than once"),
        "{err}"
    );
}

#[test]
fn bad_facility_time_and_sd_id_are_errors() {
    let mut args: Vec<&str> = USER_CREATED.to_vec();
    args.extend_from_slice(&["--facility", "kern"]);
    let err = fails(&args);
    assert!(
        err.contains("--facility 'kern': JUNOScope logs to local0"),
        "{err}"
    );

    let mut args: Vec<&str> = USER_CREATED.to_vec();
    args.extend_from_slice(&["--facility", "local8"]);
    assert!(fails(&args).contains("--facility 'local8'"));

    let mut args: Vec<&str> = USER_CREATED.to_vec();
    args.extend_from_slice(&["--time", "Jun 20 13:00:05"]);
    let err = fails(&args);
    assert!(
        err.contains("--time 'Jun 20 13:00:05' is not an RFC 3339 time"),
        "{err}"
    );

    let mut args: Vec<&str> = USER_CREATED.to_vec();
    args.extend_from_slice(&["--structured", "--sd-id", "bad id"]);
    assert!(fails(&args).contains("--sd-id 'bad id' is not an RFC 5424 SD-ID"));

    // --brief only makes sense with --structured (clap rejects it).
    let mut args: Vec<&str> = USER_CREATED.to_vec();
    args.push("--brief");
    assert!(fails(&args).contains("--structured"));
}

#[test]
fn catalog_table_and_json() {
    let table = ok(&["catalog"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("CODE"), "{table}");
    assert!(lines[1].starts_with("JUNOSCOPE_LOGIN_FAILURE"));
    assert!(lines[1].contains("Login") && lines[1].contains("Event") && lines[1].contains("info"));
    assert!(lines[1].ends_with("Start,Stop"), "{}", lines[1]);
    assert!(
        table.contains("43 codes; aliases: JUNOSCOPE_LOGIN_SUCCESS = JUNOSCOPE_LOGIN_SUCCESSFUL")
    );

    let json: serde_json::Value = serde_json::from_str(&ok(&["catalog", "--json"])).unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 43);
    let first = &entries[0];
    assert_eq!(first["code"], "JUNOSCOPE_LOGIN_FAILURE");
    assert_eq!(first["group"], "Login");
    assert_eq!(first["kind"], "event");
    assert_eq!(first["severity"], "info");
    assert_eq!(first["variables"][1]["name"], "client-address");
    assert_eq!(first["radius"]["records"][1]["status_type"], "stop");
    assert_eq!(
        first["radius"]["records"][1]["terminate_cause"],
        "user-error"
    );
}
