//! The catalog against the seed chapter itself (seed 000): every
//! `JUNOSCOPE_*` code the seed mentions must be a code or alias of the
//! catalog, and every heading of the seed must be a catalog entry. The seed
//! is copied in `tests/data/seeds` (see the README there).

use std::path::PathBuf;

use netaudit_event::catalog::catalog;

/// The seed 000 text with markdown's `\_` escapes removed.
fn seed_000() -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/seeds");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the seed directory {}: {e}", dir.display()));
    let mut found = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("000_"))
        })
        .collect::<Vec<_>>();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one 000_* seed in {}",
        dir.display()
    );
    let path = found.remove(0);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.replace("\\_", "_")
}

/// Every maximal `JUNOSCOPE_[A-Z_]+` run, in order of appearance.
fn codes_in(text: &str) -> Vec<String> {
    let mut codes = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("JUNOSCOPE_") {
        let tail = &rest[at..];
        let len = tail
            .bytes()
            .take_while(|b| b.is_ascii_uppercase() || *b == b'_')
            .count();
        codes.push(tail[..len].trim_end_matches('_').to_string());
        rest = &tail[len..];
    }
    codes
}

/// The codes that head a message section (`#### JUNOSCOPE_X`, `**JUNOSCOPE_X**`
/// or a run-together `...Messages****JUNOSCOPE_X**` line).
fn heading_codes(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| {
            let line = line.trim();
            (line.starts_with('#') || line.starts_with("**"))
                && !line.contains("System Log Message")
        })
        .flat_map(codes_in)
        .collect()
}

#[test]
fn every_code_of_the_seed_is_in_the_catalog() {
    let seed = seed_000();
    let mentioned = codes_in(&seed);
    assert!(
        mentioned.len() > 80,
        "the seed mentions only {} codes",
        mentioned.len()
    );
    let missing: Vec<&String> = mentioned
        .iter()
        .filter(|code| catalog().get(code).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "seed codes missing from the catalog: {missing:?}"
    );
}

#[test]
fn every_heading_is_one_catalog_entry_and_every_entry_has_a_heading() {
    let seed = seed_000();
    let headings = heading_codes(&seed);
    // 44 headings: 43 messages, JUNOSCOPE_AUTH_INFO_CHANGED twice.
    assert_eq!(headings.len(), 44, "{headings:?}");
    let mut distinct: Vec<&str> = Vec::new();
    for heading in &headings {
        let entry = catalog()
            .get(heading)
            .unwrap_or_else(|| panic!("heading {heading} is not in the catalog"));
        if !distinct.contains(&entry.code.as_str()) {
            distinct.push(&entry.code);
        }
    }
    assert_eq!(distinct.len(), 43);
    assert_eq!(catalog().entries().len(), 43);
    for entry in catalog().entries() {
        assert!(
            headings.iter().any(|h| entry.answers_to(h)),
            "{} has no heading in the seed",
            entry.code
        );
    }
}

#[test]
fn catalog_order_follows_the_seed() {
    let seed = seed_000();
    let mut order: Vec<&str> = Vec::new();
    for heading in heading_codes(&seed) {
        if let Some(entry) = catalog().get(&heading) {
            if !order.contains(&entry.code.as_str()) {
                order.push(&entry.code);
            }
        }
    }
    let catalog_order: Vec<&str> = catalog()
        .entries()
        .iter()
        .map(|e| e.code.as_str())
        .collect();
    assert_eq!(order, catalog_order);
}

#[test]
fn every_template_variable_is_declared_and_every_declared_variable_used() {
    for entry in catalog().entries() {
        let mut placeholders = Vec::new();
        let mut rest = entry.template.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .unwrap_or_else(|| panic!("{}: unclosed placeholder", entry.code));
            placeholders.push(&after[..close]);
            rest = &after[close + 1..];
        }
        for p in &placeholders {
            assert!(
                entry.variables.iter().any(|v| v.name == *p),
                "{}: placeholder {p} not declared",
                entry.code
            );
        }
        for v in &entry.variables {
            assert!(
                placeholders.contains(&v.name.as_str()),
                "{}: variable {} unused",
                entry.code,
                v.name
            );
            assert!(!v.description.is_empty());
        }
        // The template keeps the seed's quoting but never its odd spacing.
        assert!(!entry.template.contains("' <"), "{}", entry.code);
        assert!(!entry.template.contains('%'), "{}", entry.code);
        assert!(!entry.template.contains('\u{2018}'), "{}", entry.code);
    }
}

#[test]
fn seed_facts_the_catalog_must_keep() {
    let c = catalog();
    let failure = c.get("JUNOSCOPE_LOGIN_FAILURE").unwrap();
    let records = &failure.radius.as_ref().unwrap().records;
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1].login_failure_reasons,
        ["Authentication Failure", "User Account Locked"]
    );
    let groups: Vec<&str> = {
        let mut g: Vec<&str> = Vec::new();
        for e in c.entries() {
            if !g.contains(&e.group.as_str()) {
                g.push(&e.group);
            }
        }
        g
    };
    assert_eq!(
        groups,
        [
            "Login",
            "Authentication Policy",
            "Users Setup",
            "RADIUS Configuration",
            "Authentication Information Setup",
            "Access Methods Setup",
            "Labels Setup",
            "Configuration Edit",
            "Archive Configuration",
            "Inventory Scan",
            "Inventory Reports",
            "Restore Configuration",
            "Devices Setup",
            "Software Manager",
        ]
    );
    // Every "Action" row of the seed says the same thing.
    let seed = seed_000();
    let with_action = c.entries().iter().filter(|e| e.action.is_some()).count();
    assert_eq!(with_action, seed.matches("Action").count());
    assert!(c
        .entries()
        .iter()
        .filter_map(|e| e.action.as_deref())
        .all(|a| a == "Contact System Administrator"));
}
