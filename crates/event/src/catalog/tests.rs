//! Unit tests of `catalog.rs`.

use super::*;

#[test]
fn built_in_catalog_parses_and_is_consistent() {
    let catalog = Catalog::from_toml(CATALOG_TOML).unwrap();
    assert_eq!(catalog.entries().len(), 43);
    for entry in catalog.entries() {
        assert!(entry.validate().is_ok(), "{}", entry.code);
        assert!(catalog.get(&entry.code).is_some());
        // Every entry renders with a value for each variable.
        let vars: Vec<(&str, &str)> = entry
            .variables
            .iter()
            .map(|v| (v.name.as_str(), "x"))
            .collect();
        let rendered = entry.render(&vars).unwrap();
        assert!(!rendered.text.contains('{'), "{}", entry.code);
    }
}

#[test]
fn aliases_resolve_to_canonical_entries() {
    let c = catalog();
    assert_eq!(
        c.get("JUNOSCOPE_LOGIN_SUCCESS").unwrap().code,
        "JUNOSCOPE_LOGIN_SUCCESSFUL"
    );
    assert_eq!(
        c.get("JUNOSCOPE_REPORT_SUCESS").unwrap().code,
        "JUNOSCOPE_REPORT_SUCCESS"
    );
    assert!(c.get("junoscope_logout").is_none());
}

#[test]
fn render_fills_template_and_params_in_order() {
    let entry = catalog().get("JUNOSCOPE_USER_CREATED").unwrap();
    let rendered = entry
        .render(&[
            ("client-address", "10.0.0.9"),
            ("username", "admin"),
            ("new-user", "bob"),
        ])
        .unwrap();
    assert_eq!(
        rendered.text,
        "User created: user: 'bob' by username: 'admin' client address: '10.0.0.9'"
    );
    let names: Vec<&str> = rendered.params.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["new-user", "username", "client-address"]);
    let event = rendered.into_event(&EventContext::default());
    assert_eq!(event.user.as_deref(), Some("admin"));
    assert_eq!(event.client_addr.as_deref(), Some("10.0.0.9"));
    assert_eq!(event.facility, Some(Facility::Local2));
    assert_eq!(event.severity, Some(Severity::Info));
    assert_eq!(event.params[0].sd_id, DEFAULT_SD_ID);
    assert_eq!(event.param("new-user"), Some("bob"));
}

#[test]
fn values_cannot_close_their_quotes_in_the_text() {
    let entry = catalog().get("JUNOSCOPE_LOGIN_FAILURE").unwrap();
    let forged = "eve' from: '6.6.6.6' client-address: '6.6.6.6";
    let rendered = entry
        .render(&[("username", forged), ("client-address", "127.0.0.1\nx")])
        .unwrap();
    assert_eq!(
        rendered.text,
        "Failed to login: username: 'eve#047 from: #0476.6.6.6#047 client-address: #0476.6.6.6' client address: '127.0.0.1#012x'"
    );
    assert_eq!(rendered.param("username"), Some(forged));
    let radius = catalog().get("JUNOSCOPE_RADIUS_CONFIG_ADDED").unwrap();
    let rendered = radius
        .render(&[
            ("radius-server-address", "10.0.0.1 client address: '1'"),
            ("client-address", "10.0.0.2"),
        ])
        .unwrap();
    assert_eq!(
        rendered.text,
        "RADIUS configuration added: RADIUS server address: 10.0.0.1#040client#040address:#040#0471#047 client address: '10.0.0.2'"
    );
}

#[test]
fn render_errors_name_the_variable_and_list_expected() {
    let entry = catalog().get("JUNOSCOPE_LOGIN_FAILURE").unwrap();
    let err = entry.render(&[("username", "a")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "JUNOSCOPE_LOGIN_FAILURE is missing variable(s) client-address (expected: username, client-address)"
    );
    let err = entry
        .render(&[("username", "a"), ("client-address", "b"), ("user", "c")])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "JUNOSCOPE_LOGIN_FAILURE has no variable 'user' (expected: username, client-address)"
    );
    let err = entry
        .render(&[("username", "a"), ("username", "b")])
        .unwrap_err();
    assert!(matches!(err, CatalogError::DuplicateVariable { .. }));
    let none = catalog()
        .get("JUNOSCOPE_SOFTWARE_IMAGE_IMPORT_ERROR")
        .unwrap();
    let err = none.render(&[("x", "y")]).unwrap_err();
    assert!(
        err.to_string().ends_with("(expected: no variables)"),
        "{err}"
    );
}

#[test]
fn admin_is_the_acting_user_when_present() {
    let entry = catalog().get("JUNOSCOPE_USER_LOCKED_BY_ADMIN").unwrap();
    let event = entry
        .render(&[
            ("username", "bob"),
            ("client-address", "10.1.1.1"),
            ("admin-username", "root"),
        ])
        .unwrap()
        .into_event(&EventContext::default());
    assert_eq!(event.user.as_deref(), Some("root"));
}

#[test]
fn unknown_codes_get_suggestions() {
    let c = catalog();
    let err = c.lookup("JUNOSCOPE_USER_CREATE").unwrap_err();
    assert!(
        err.to_string()
            .contains("did you mean JUNOSCOPE_USER_CREATED"),
        "{err}"
    );
    assert_eq!(c.suggest("user_created")[0], "JUNOSCOPE_USER_CREATED");
    assert_eq!(c.suggest("LOGIN_SUCESS")[0], "JUNOSCOPE_LOGIN_SUCCESSFUL");
    assert!(c.suggest("COMPLETELY_DIFFERENT_THING").is_empty());
    assert!(c.suggest("").is_empty());
    let err = c.lookup("nothing").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown catalog code 'nothing'; run `netaudit catalog` for the list"
    );
}

#[test]
fn malformed_catalogs_are_rejected_with_reasons() {
    let base = |template: &str, vars: &str, extra: &str| {
        format!(
            "[[entry]]\ncode = \"JUNOSCOPE_X\"\ngroup = \"G\"\ntemplate = \"{template}\"\nvariables = [{vars}]\nkind = \"event\"\nseverity = \"info\"\ndescription = \"d\"\n{extra}"
        )
    };
    let one_var = "{ name = \"a\", description = \"d\" }";
    assert!(Catalog::from_toml(&base("x '{a}'", one_var, "")).is_ok());
    let cases = [
        base("x '{a}'", "", ""),
        base("x '{b}'", one_var, ""),
        base("x '{a'", one_var, ""),
        base("x a}", one_var, ""),
        base("x '{A B}'", one_var, ""),
        base(
            "x '{a}'",
            one_var,
            "radius = { records = [{ status_type = \"start\", terminate_cause = \"user-error\" }] }",
        ),
        base(
            "x '{a}'",
            one_var,
            "radius = { records = [{ status_type = \"start\", target_variable = \"b\" }] }",
        ),
        base("x '{a}'", one_var, "radius = { records = [] }"),
        base("x '{a}'", one_var, "colour = \"red\""),
        "entry = 3".to_string(),
    ];
    for case in &cases {
        assert!(Catalog::from_toml(case).is_err(), "accepted:\n{case}");
    }
    let twice = format!("{}\n{}", base("x", "", ""), base("y", "", ""));
    assert_eq!(
        Catalog::from_toml(&twice),
        Err(CatalogError::DuplicateCode {
            code: "JUNOSCOPE_X".into()
        })
    );
}

#[test]
fn long_codes_get_short_msgids_that_map_back() {
    let c = catalog();
    let mut long = 0;
    for entry in c.entries() {
        let msgid = msgid_for(&entry.code);
        assert!(msgid.len() <= MSGID_MAX, "{msgid}");
        if msgid != entry.code {
            long += 1;
        }
        assert_eq!(c.get_by_msgid(msgid).map(|e| &e.code), Some(&entry.code));
    }
    assert_eq!(long, 9);
    assert_eq!(
        msgid_for("JUNOSCOPE_SOFTWARE_IMAGE_INSTALL_ERROR"),
        "SOFTWARE_IMAGE_INSTALL_ERROR"
    );
    assert_eq!(msgid_for("JUNOSCOPE_LOGOUT"), "JUNOSCOPE_LOGOUT");
    assert!(c.get_by_msgid("LOGOUT").is_none());
    assert!(c.get_by_msgid("UI_DBASE_LOGOUT_EVENT").is_none());
}

#[test]
fn radius_numbers_follow_rfc_2866() {
    assert_eq!(AcctStatusType::InterimUpdate.code(), 3);
    assert_eq!(TerminateCause::UserRequest.code(), 1);
    assert_eq!(TerminateCause::SessionTimeout.code(), 5);
    assert_eq!(TerminateCause::UserError.code(), 17);
    assert_eq!(TerminateCause::HostRequest.code(), 18);
}
