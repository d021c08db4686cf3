use netaudit_event::{Event, Param};

use super::*;

const S: i64 = NS_PER_SEC;

fn event(code: &str, host: &str, user: &str, from: &str, at_s: i64) -> Event {
    Event {
        received_ns: at_s * S,
        time_ns: Some(at_s * S),
        host: Some(host.into()),
        code: Some(code.into()),
        user: Some(user.into()),
        params: vec![Param {
            sd_id: "junos@2636.1.1.1.2.164".into(),
            name: "source-address".into(),
            value: from.into(),
        }],
        ..Event::default()
    }
}

fn codes(codes: &[&str]) -> Matcher {
    Matcher {
        codes: codes.iter().map(|c| c.to_string()).collect(),
        ..Matcher::default()
    }
}

fn by_user_and_source() -> Vec<GroupField> {
    vec![GroupField::User, GroupField::Param("source-address".into())]
}

#[test]
fn count_fires_once_per_threshold_within_the_window_per_group() {
    let mut eval = Evaluator::new(
        codes(&["SSHD_LOGIN_FAILED"]),
        Correlation::Count {
            threshold: 3,
            window_ns: 60 * S,
            group_by: by_user_and_source(),
        },
        0,
    );
    let fail = |user: &str, from: &str, at: i64| event("SSHD_LOGIN_FAILED", "fw1", user, from, at);
    assert_eq!(eval.observe(1, &fail("root", "10.0.0.1", 0)), None);
    assert_eq!(eval.observe(2, &fail("root", "10.0.0.1", 10)), None);
    // Another group and another code do not count.
    assert_eq!(eval.observe(3, &fail("root", "10.0.0.2", 11)), None);
    assert_eq!(
        eval.observe(4, &event("UI_LOGIN_EVENT", "fw1", "root", "10.0.0.1", 12)),
        None
    );
    let fired = eval.observe(5, &fail("root", "10.0.0.1", 20)).unwrap();
    assert_eq!(fired.seqs, vec![1, 2, 5]);
    assert_eq!(fired.key, "seq:5");
    assert_eq!(
        fired.group,
        vec![
            ("user".to_string(), "root".to_string()),
            ("param:source-address".to_string(), "10.0.0.1".to_string())
        ]
    );
    // The count starts again after a firing.
    assert_eq!(eval.observe(6, &fail("root", "10.0.0.1", 21)), None);
    assert_eq!(eval.observe(7, &fail("root", "10.0.0.1", 22)), None);
    assert!(eval.observe(8, &fail("root", "10.0.0.1", 23)).is_some());
    // Spread wider than the window: never three inside it.
    for (i, at) in [100, 170, 240, 310].into_iter().enumerate() {
        assert_eq!(
            eval.observe(10 + i as u64, &fail("admin", "10.0.0.9", at)),
            None
        );
    }
}

#[test]
fn sequence_fires_on_a_then_b_of_the_same_group_within_the_window() {
    let mut eval = Evaluator::new(
        codes(&["UI_LOGIN_EVENT"]),
        Correlation::Sequence {
            then: Box::new(codes(&["UI_COMMIT"])),
            window_ns: 300 * S,
            group_by: vec![GroupField::User, GroupField::Host],
        },
        0,
    );
    // B without A first: nothing.
    assert_eq!(
        eval.observe(1, &event("UI_COMMIT", "r1", "root", "", 0)),
        None
    );
    assert_eq!(
        eval.observe(2, &event("UI_LOGIN_EVENT", "r1", "root", "", 10)),
        None
    );
    // Another user's commit does not complete root's login.
    assert_eq!(
        eval.observe(3, &event("UI_COMMIT", "r1", "alice", "", 20)),
        None
    );
    let fired = eval
        .observe(4, &event("UI_COMMIT", "r1", "root", "", 30))
        .unwrap();
    assert_eq!(fired.seqs, vec![2, 4]);
    // Consumed: a second commit alone does not fire again.
    assert_eq!(
        eval.observe(5, &event("UI_COMMIT", "r1", "root", "", 40)),
        None
    );
    // Too late.
    assert_eq!(
        eval.observe(6, &event("UI_LOGIN_EVENT", "r1", "root", "", 100)),
        None
    );
    assert_eq!(
        eval.observe(7, &event("UI_COMMIT", "r1", "root", "", 401)),
        None
    );
}

#[test]
fn absence_reports_a_silent_host_once_per_silence() {
    let mut eval = Evaluator::new(
        Matcher::default(),
        Correlation::Absence {
            silence_ns: 60 * S,
            forget_ns: 3600 * S,
        },
        0,
    );
    eval.observe(1, &event("X", "r1", "", "", 0));
    eval.observe(2, &event("X", "r2", "", "", 30));
    assert!(eval.tick(59 * S).is_empty());
    let fired = eval.tick(61 * S);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].key, "absence:r1:1");
    assert_eq!(fired[0].seqs, vec![1]);
    assert!(eval.tick(62 * S).is_empty(), "reported once");
    assert_eq!(eval.tick(91 * S)[0].key, "absence:r2:2");
    // r1 speaks again, then falls silent again: a new report.
    eval.observe(3, &event("X", "r1", "", "", 100));
    assert!(eval.tick(150 * S).is_empty());
    assert_eq!(eval.tick(161 * S)[0].key, "absence:r1:3");
    // Forgotten after forget_ns: no report ever again.
    assert!(eval.tick(10_000 * S).is_empty());
}

#[test]
fn clock_jump_names_the_old_and_new_offset() {
    let mut eval = Evaluator::new(
        Matcher::default(),
        Correlation::ClockJump { max_jump_ns: 5 * S },
        0,
    );
    let mut on_time = event("X", "r1", "", "", 100);
    assert_eq!(eval.observe(1, &on_time), None);
    on_time.received_ns += 2 * S;
    assert_eq!(eval.observe(2, &on_time), None, "2 s drift is within 5 s");
    let mut jumped = event("X", "r1", "", "", 200);
    jumped.time_ns = Some(200 * S + 3600 * S);
    let fired = eval.observe(3, &jumped).unwrap();
    assert_eq!(fired.seqs, vec![2, 3]);
    assert!(fired
        .details
        .contains(&("old-offset-ms".into(), "-2000".into())));
    assert!(fired
        .details
        .contains(&("new-offset-ms".into(), "3600000".into())));
}

#[test]
fn the_rate_limit_holds_back_firings_past_the_maximum_per_minute() {
    let mut eval = Evaluator::new(codes(&["X"]), Correlation::Each, 2);
    let fired: Vec<bool> = (0..5)
        .map(|i| eval.observe(i, &event("X", "r1", "", "", 10)).is_some())
        .collect();
    assert_eq!(fired, vec![true, true, false, false, false]);
    assert_eq!(eval.suppressed, 3);
    assert!(eval.observe(9, &event("X", "r1", "", "", 71)).is_some());
}

#[test]
fn parameters_are_wanted_only_where_a_rule_a_group_or_a_copy_reads_them() {
    let fail = event("SSHD_LOGIN_FAILED", "fw1", "root", "10.0.0.1", 0);
    let other = event("UI_COMMIT", "fw1", "root", "10.0.0.1", 0);
    let count = |group_by| {
        Evaluator::new(
            codes(&["SSHD_LOGIN_FAILED"]),
            Correlation::Count {
                threshold: 3,
                window_ns: 60 * S,
                group_by,
            },
            0,
        )
    };
    // Grouped by a parameter: wanted for the matching code only.
    let by_param = count(by_user_and_source());
    assert!(by_param.needs_params(&fail) && !by_param.needs_params(&other));
    // Grouped by the user, no parameter test: never.
    assert!(!count(vec![GroupField::User]).needs_params(&fail));
    // `each` copies them into its firing's details.
    let each = Evaluator::new(codes(&["SSHD_LOGIN_FAILED"]), Correlation::Each, 0);
    assert!(each.needs_params(&fail) && !each.needs_params(&other));
    // A parameter test of the `then` rule of a sequence.
    let then = Matcher {
        params: vec![(
            "source-address".into(),
            crate::policy::matcher::ParamTest::Equals("x".into()),
        )],
        ..codes(&["UI_COMMIT"])
    };
    let sequence = Evaluator::new(
        codes(&["SSHD_LOGIN_FAILED"]),
        Correlation::Sequence {
            then: Box::new(then),
            window_ns: 60 * S,
            group_by: vec![GroupField::Host],
        },
        0,
    );
    assert!(!sequence.needs_params(&fail) && sequence.needs_params(&other));
    let clock = Evaluator::new(
        Matcher::default(),
        Correlation::ClockJump { max_jump_ns: S },
        0,
    );
    assert!(!clock.needs_params(&fail));
}
