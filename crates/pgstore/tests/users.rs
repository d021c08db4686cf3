//! The users every node shares, against a real PostgreSQL the test starts
//! (`test_cluster::PgCluster`, stopped by PID): users with their lock state
//! and count of password changes, API tokens going with their user, a
//! change and its queued audit event in one transaction, and the outbox
//! taken by one node at a time.

use std::time::Duration;

use netaudit_pgstore::test_cluster::PgCluster;
use netaudit_pgstore::{
    add_token, add_user, claim_outbox, delete_user, find_user, list_users, lock_user, migrate,
    password_hash, record_login, remove_from_outbox, set_password_hash, token_owner,
    ConnectionSpec, LoginDecision, LoginPolicy, PgStoreError, QueuedAudit, UserRecord,
};

fn record(name: &str) -> UserRecord {
    UserRecord {
        name: name.to_string(),
        role: "auditor".to_string(),
        locked: false,
        created_ns: 42,
        credentials: 1,
    }
}

fn audit(event: &str) -> Option<QueuedAudit<'_>> {
    Some(QueuedAudit {
        event,
        created_ns: 7,
    })
}

#[test]
fn users_tokens_locks_and_the_outbox_are_shared() {
    let pg = PgCluster::start().unwrap();
    let spec = ConnectionSpec::parse_with_env(&pg.url(), None).unwrap();
    let mut c = spec.connect().unwrap();
    let t = spec.target().to_string();
    migrate(&mut c, &t).unwrap();

    assert!(add_user(&mut c, &t, &record("alice"), "$hash1", audit("created")).unwrap());
    assert!(!add_user(&mut c, &t, &record("alice"), "$other", audit("again")).unwrap());
    assert_eq!(
        find_user(&mut c, &t, "alice").unwrap(),
        Some(record("alice"))
    );
    assert_eq!(
        password_hash(&mut c, &t, "alice").unwrap().as_deref(),
        Some("$hash1")
    );
    assert_eq!(password_hash(&mut c, &t, "ghost").unwrap(), None);
    // A name the server would not make is refused by the database too.
    let bad = add_user(&mut c, &t, &record("bad name"), "$h", None).unwrap_err();
    assert!(matches!(bad, PgStoreError::Query { .. }), "{bad}");

    // Password changes are counted; the change of a missing user is None.
    assert_eq!(
        set_password_hash(&mut c, &t, "alice", "$hash2", None).unwrap(),
        Some(2)
    );
    assert_eq!(
        set_password_hash(&mut c, &t, "ghost", "$h", None).unwrap(),
        None
    );
    assert_eq!(
        password_hash(&mut c, &t, "alice").unwrap().as_deref(),
        Some("$hash2")
    );

    // Locks: only of existing users; listed with the user.
    assert!(!lock_user(&mut c, &t, "ghost", true, audit("lock ghost")).unwrap());
    assert!(lock_user(&mut c, &t, "alice", true, audit("lock alice")).unwrap());
    let listed = list_users(&mut c, &t).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].locked && listed[0].credentials == 2, "{listed:?}");

    // Tokens belong to a user and go with it.
    assert!(add_token(&mut c, &t, "digest1", "alice", 5).unwrap());
    assert!(!add_token(&mut c, &t, "digest2", "ghost", 5).unwrap());
    assert_eq!(
        token_owner(&mut c, &t, "digest1").unwrap().unwrap().name,
        "alice"
    );
    assert!(token_owner(&mut c, &t, "nope").unwrap().is_none());

    // Deleted and made again: no token, no lock, no counted failure left.
    let policy = LoginPolicy {
        max_login_attempts: 2,
        access_window: Duration::from_secs(600),
        lockout: None,
    };
    assert!(delete_user(&mut c, &t, "alice", None).unwrap());
    assert!(!delete_user(&mut c, &t, "alice", None).unwrap());
    assert!(token_owner(&mut c, &t, "digest1").unwrap().is_none());
    assert!(add_user(&mut c, &t, &record("alice"), "$hash3", None).unwrap());
    assert!(!find_user(&mut c, &t, "alice").unwrap().unwrap().locked);
    assert_eq!(
        record_login(&mut c, &t, "alice", false, &policy).unwrap(),
        LoginDecision::Refused {
            failures: 1,
            now_locked: false
        }
    );

    // The outbox: the committed changes' events, in order; a node's claim
    // keeps them from another until it lapses.
    let mut other = spec.connect().unwrap();
    let taken = claim_outbox(&mut c, &t, "n1", 10, Duration::from_secs(60)).unwrap();
    let texts: Vec<&str> = taken.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        texts,
        ["created", "lock alice"],
        "refused changes queue nothing"
    );
    assert!(
        claim_outbox(&mut other, &t, "n2", 10, Duration::from_secs(60))
            .unwrap()
            .is_empty()
    );
    // n1 died without removing them: after its hold, n2 takes them.
    c.execute(
        "UPDATE netaudit.audit_outbox SET claimed_until = now() - interval '1 second'",
        &[],
    )
    .unwrap();
    let again = claim_outbox(&mut other, &t, "n2", 1, Duration::from_secs(60)).unwrap();
    assert_eq!(again.len(), 1, "at most the limit");
    assert_eq!(again[0], taken[0]);
    let ids: Vec<i64> = taken.iter().map(|e| e.id).collect();
    assert_eq!(remove_from_outbox(&mut other, &t, &ids).unwrap(), 2);
    assert!(claim_outbox(&mut c, &t, "n1", 10, Duration::ZERO)
        .unwrap()
        .is_empty());
}
