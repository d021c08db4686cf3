//! The dictionary: the compiled-in one, the shipped dictionary.junoscope,
//! FreeRADIUS-format parsing, errors and number overrides.

use std::net::Ipv4Addr;

use netaudit_radius::{
    attr, decode, encode_accounting_request, junoscope, AcctStatusType, AcctTerminateCause,
    Attribute, DataType, Dictionary, RadiusError, SharedSecret, JUNIPER_VENDOR_ID,
};

const JUNOSCOPE_FILE: &str = include_str!("../../../dictionary/dictionary.junoscope");

#[test]
fn builtin_knows_the_accounting_attributes() {
    let dictionary = Dictionary::builtin();
    for (name, number, data_type) in [
        ("User-Name", attr::USER_NAME, DataType::String),
        ("NAS-IP-Address", attr::NAS_IP_ADDRESS, DataType::IpAddr),
        ("NAS-Identifier", attr::NAS_IDENTIFIER, DataType::String),
        (
            "Calling-Station-Id",
            attr::CALLING_STATION_ID,
            DataType::String,
        ),
        (
            "Acct-Status-Type",
            attr::ACCT_STATUS_TYPE,
            DataType::Integer,
        ),
        ("Acct-Delay-Time", attr::ACCT_DELAY_TIME, DataType::Integer),
        ("Acct-Session-Id", attr::ACCT_SESSION_ID, DataType::String),
        (
            "Acct-Terminate-Cause",
            attr::ACCT_TERMINATE_CAUSE,
            DataType::Integer,
        ),
        ("Event-Timestamp", attr::EVENT_TIMESTAMP, DataType::Date),
        ("Proxy-State", attr::PROXY_STATE, DataType::Octets),
    ] {
        let def = dictionary
            .attribute(name)
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(
            (def.vendor, def.number, def.data_type),
            (None, number, data_type)
        );
        assert_eq!(dictionary.by_number(None, number).unwrap().name, name);
    }
    // Names match without regard to case, as in FreeRADIUS.
    assert_eq!(dictionary.attribute("user-name").unwrap().number, 1);
    assert_eq!(dictionary.vendor("Juniper"), Some(JUNIPER_VENDOR_ID));
}

#[test]
fn builtin_values_agree_with_the_enums() {
    let dictionary = Dictionary::builtin();
    let status = dictionary.attribute("Acct-Status-Type").unwrap();
    for value in AcctStatusType::ALL {
        assert_eq!(
            dictionary.value("Acct-Status-Type", value.name()),
            Some(value.number())
        );
        assert_eq!(
            dictionary.value_name(status, value.number()),
            Some(value.name())
        );
    }
    let cause = dictionary.attribute("Acct-Terminate-Cause").unwrap();
    for value in AcctTerminateCause::ALL {
        assert_eq!(
            dictionary.value("Acct-Terminate-Cause", value.name()),
            Some(value.number())
        );
        assert_eq!(
            dictionary.value_name(cause, value.number()),
            Some(value.name())
        );
    }
    assert_eq!(
        dictionary.value("Acct-Status-Type", "interim-update"),
        Some(3)
    );
    assert_eq!(dictionary.value("Acct-Status-Type", "Nonsense"), None);
}

#[test]
fn junoscope_attributes_and_the_alias() {
    let dictionary = Dictionary::builtin();
    let command = dictionary.attribute(junoscope::PRIVILEGED_COMMAND).unwrap();
    let operation = dictionary
        .attribute(junoscope::PRIVILEGED_OPERATION)
        .unwrap();
    let target = dictionary.attribute(junoscope::TARGET).unwrap();
    let reason = dictionary
        .attribute(junoscope::LOGIN_FAILURE_REASON)
        .unwrap();
    assert_eq!(command.number, operation.number);
    assert_eq!(
        (command.vendor, command.number, command.data_type),
        (Some(JUNIPER_VENDOR_ID), 200, DataType::String)
    );
    assert_eq!(
        (target.vendor, target.number),
        (Some(JUNIPER_VENDOR_ID), 201)
    );
    assert_eq!(
        (reason.vendor, reason.number),
        (Some(JUNIPER_VENDOR_ID), 202)
    );
    // The number reads back as the seed's name.
    assert_eq!(
        dictionary
            .by_number(Some(JUNIPER_VENDOR_ID), 200)
            .unwrap()
            .name,
        junoscope::PRIVILEGED_COMMAND
    );
    // Standard attribute 200 is not the vendor one.
    assert!(dictionary.by_number(None, 200).is_none());
}

/// The numbers FreeRADIUS 3.2's dictionary.juniper assigns to vendor 2636,
/// and those of the Junos user-access guide: ours must avoid all of them.
const TAKEN_JUNIPER_NUMBERS: &[u8] = &[
    1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 38,
    39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 52,
];

#[test]
fn junoscope_numbers_avoid_known_juniper_numbers() {
    let dictionary = Dictionary::builtin();
    for def in dictionary.attributes() {
        if def.vendor == Some(JUNIPER_VENDOR_ID) {
            assert!(
                !TAKEN_JUNIPER_NUMBERS.contains(&def.number),
                "{} uses {}",
                def.name,
                def.number
            );
        }
    }
}

#[test]
fn shipped_file_reads_on_top_of_a_dictionary_with_vendor_juniper() {
    // Alone it fails clearly: FreeRADIUS defines VENDOR Juniper elsewhere.
    let error = Dictionary::parse_freeradius(JUNOSCOPE_FILE, "dictionary.junoscope").unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("dictionary dictionary.junoscope:")
            && message.contains("BEGIN-VENDOR Juniper: unknown vendor"),
        "{message}"
    );
    let mut dictionary = Dictionary::parse_freeradius("VENDOR Juniper 2636\n", "base").unwrap();
    dictionary
        .load_freeradius(JUNOSCOPE_FILE, "dictionary.junoscope")
        .unwrap();
    assert_eq!(dictionary.attributes().len(), 4);
    // Loading it twice is harmless: identical definitions.
    dictionary
        .load_freeradius(JUNOSCOPE_FILE, "dictionary.junoscope")
        .unwrap();
    assert_eq!(dictionary.attributes().len(), 4);
}

#[test]
fn parses_the_freeradius_constructs() {
    let text = "\
# comment line
VENDOR\tExample\t0x7fff\tformat=1,1
ATTRIBUTE  Plain-Text   1  string   # trailing comment
ATTRIBUTE  Counter      2  INTEGER
ATTRIBUTE  Old-Style    7  ipaddr  Example
VALUE      Counter      One   1
VALUE      Counter      Uno   1
VALUE      Counter      Two   0x2
BEGIN-VENDOR Example
ATTRIBUTE  Example-When   3  date
ATTRIBUTE  Example-Blob   4  octets
ATTRIBUTE  Example-Bytes  4  octets
END-VENDOR Example
";
    let dictionary = Dictionary::parse_freeradius(text, "example").unwrap();
    assert_eq!(dictionary.vendor("example"), Some(0x7fff));
    assert_eq!(
        dictionary.attribute("Counter").unwrap().data_type,
        DataType::Integer
    );
    assert_eq!(
        dictionary.attribute("Old-Style").unwrap().vendor,
        Some(0x7fff)
    );
    assert_eq!(
        dictionary.attribute("Example-When").unwrap().vendor,
        Some(0x7fff)
    );
    assert_eq!(dictionary.value("Counter", "One"), Some(1));
    assert_eq!(dictionary.value("Counter", "Two"), Some(2));
    let counter = dictionary.attribute("Counter").unwrap();
    assert_eq!(dictionary.value_name(counter, 1), Some("Uno"));
    assert_eq!(
        dictionary.by_number(Some(0x7fff), 4).unwrap().name,
        "Example-Bytes"
    );
}

fn dictionary_error(text: &str) -> String {
    Dictionary::parse_freeradius(text, "bad.dict")
        .unwrap_err()
        .to_string()
}

#[test]
fn errors_name_the_file_and_line() {
    let cases = [
        (
            "ATTRIBUTE A 1 string\nATTRIBUTE B 2 ipv6addr\n",
            "dictionary bad.dict:2: attribute B: unknown type \"ipv6addr\"",
        ),
        (
            "\n\nATTRIBUTE A 256 string\n",
            "bad.dict:3: attribute A: number \"256\" is not in 1..=255",
        ),
        (
            "ATTRIBUTE A 0 string\n",
            "bad.dict:1: attribute A: number \"0\"",
        ),
        (
            "ATTRIBUTE A x string\n",
            "bad.dict:1: attribute A: number \"x\"",
        ),
        ("ATTRIBUTE A 1\n", "bad.dict:1: ATTRIBUTE needs"),
        (
            "ATTRIBUTE User-Password 2 string encrypt=1\n",
            "bad.dict:1: attribute User-Password: unsupported flags or vendor \"encrypt=1\"",
        ),
        (
            "ATTRIBUTE A 1 string\nATTRIBUTE A 2 string\n",
            "bad.dict:2: attribute A is already defined as number 1 string",
        ),
        (
            "ATTRIBUTE A 1 string\nATTRIBUTE B 1 integer\n",
            "bad.dict:2: attribute B (integer) has the number of A (string)",
        ),
        (
            "VALUE A B 1\n",
            "bad.dict:1: VALUE for undefined attribute A",
        ),
        (
            "ATTRIBUTE A 1 string\nVALUE A B 1\n",
            "bad.dict:2: VALUE for A, which is string",
        ),
        (
            "ATTRIBUTE A 1 integer\nVALUE A B x\n",
            "bad.dict:2: value B: \"x\" is not",
        ),
        (
            "ATTRIBUTE A 1 integer\nVALUE A B 1\nVALUE A B 2\n",
            "bad.dict:3: value B of A is already defined as 1",
        ),
        (
            "VENDOR V 9 format=2,1\n",
            "bad.dict:1: vendor format \"format=2,1\"",
        ),
        (
            "VENDOR V 9\nVENDOR V 10\n",
            "bad.dict:2: vendor V is already defined as 9",
        ),
        (
            "BEGIN-VENDOR V\n",
            "bad.dict:1: BEGIN-VENDOR V: unknown vendor",
        ),
        (
            "VENDOR V 9\nBEGIN-VENDOR V\n",
            "bad.dict:2: BEGIN-VENDOR V has no matching END-VENDOR",
        ),
        (
            "VENDOR V 9\nVENDOR W 8\nBEGIN-VENDOR V\nBEGIN-VENDOR W\n",
            "bad.dict:4: BEGIN-VENDOR W inside BEGIN-VENDOR V of line 3",
        ),
        (
            "VENDOR V 9\nBEGIN-VENDOR V\nEND-VENDOR W\n",
            "bad.dict:3: END-VENDOR W does not match BEGIN-VENDOR V of line 2",
        ),
        (
            "END-VENDOR V\n",
            "bad.dict:1: END-VENDOR V without BEGIN-VENDOR",
        ),
        (
            "$INCLUDE dictionary.rfc2865\n",
            "bad.dict:1: $INCLUDE is not supported",
        ),
        ("BEGIN-TLV X\n", "bad.dict:1: unknown keyword \"BEGIN-TLV\""),
        (
            "ATTRIBUTE V 27 vsa\n",
            "bad.dict:1: attribute V: type vsa is only valid",
        ),
    ];
    for (text, expected) in cases {
        let message = dictionary_error(text);
        assert!(message.contains(expected), "{text:?}: {message}");
    }
}

#[test]
fn failed_load_leaves_the_dictionary_unchanged() {
    let mut dictionary = Dictionary::builtin();
    let before = dictionary.attributes().len();
    let error = dictionary
        .load_freeradius("BEGIN-VENDOR Juniper\nATTRIBUTE Juniper-X 90 string\nATTRIBUTE Juniper-Y 91 float\nEND-VENDOR Juniper\n", "site")
        .unwrap_err();
    assert!(
        matches!(error, RadiusError::Dictionary { line: 3, .. }),
        "{error}"
    );
    assert_eq!(dictionary.attributes().len(), before);
    assert!(dictionary.attribute("Juniper-X").is_none());
}

#[test]
fn overrides_move_an_attribute_and_its_aliases() {
    let dictionary = Dictionary::builtin()
        .with_overrides([
            (junoscope::PRIVILEGED_OPERATION, 150u8),
            (junoscope::TARGET, 151),
        ])
        .unwrap();
    assert_eq!(
        dictionary
            .attribute(junoscope::PRIVILEGED_COMMAND)
            .unwrap()
            .number,
        150
    );
    assert_eq!(
        dictionary
            .attribute(junoscope::PRIVILEGED_OPERATION)
            .unwrap()
            .number,
        150
    );
    assert_eq!(dictionary.attribute(junoscope::TARGET).unwrap().number, 151);
    assert!(dictionary.by_number(Some(JUNIPER_VENDOR_ID), 200).is_none());
    assert_eq!(
        dictionary
            .by_number(Some(JUNIPER_VENDOR_ID), 150)
            .unwrap()
            .name,
        junoscope::PRIVILEGED_COMMAND
    );
    // Swapping through a free number works; a direct clash does not.
    let swapped = Dictionary::builtin()
        .with_overrides([
            (junoscope::TARGET, 250u8),
            (junoscope::LOGIN_FAILURE_REASON, 201),
            (junoscope::TARGET, 202),
        ])
        .unwrap();
    assert_eq!(swapped.attribute(junoscope::TARGET).unwrap().number, 202);
    assert_eq!(
        swapped
            .by_number(Some(JUNIPER_VENDOR_ID), 201)
            .unwrap()
            .name,
        junoscope::LOGIN_FAILURE_REASON
    );
    assert!(swapped.by_number(Some(JUNIPER_VENDOR_ID), 250).is_none());
    let error = Dictionary::builtin()
        .with_overrides([(junoscope::TARGET, 202u8)])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "attribute number override for \"Juniper-JUNOScope-Target\": \
         number 202 is already used by Juniper-JUNOScope-Login-Failure-Reason"
    );
    assert!(matches!(
        Dictionary::builtin().with_overrides([("Juniper-Nope", 9u8)]),
        Err(RadiusError::Override { .. })
    ));
    assert!(matches!(
        Dictionary::builtin().with_overrides([("User-Name", 9u8)]),
        Err(RadiusError::Override { .. })
    ));
    assert!(matches!(
        Dictionary::builtin().with_overrides([(junoscope::TARGET, 0u8)]),
        Err(RadiusError::Override { .. })
    ));
    // Setting the number an attribute already has is fine.
    assert!(Dictionary::builtin()
        .with_overrides([(junoscope::TARGET, 201u8)])
        .is_ok());
}

#[test]
fn attributes_from_text() {
    let dictionary = Dictionary::builtin();
    let build = |name: &str, text: &str| dictionary.attribute_from_text(name, text);
    assert_eq!(
        build("User-Name", "bob").unwrap(),
        Attribute::string(attr::USER_NAME, "bob")
    );
    assert_eq!(
        build("Acct-Status-Type", "Interim-Update").unwrap(),
        Attribute::integer(attr::ACCT_STATUS_TYPE, 3)
    );
    assert_eq!(
        build("Acct-Delay-Time", "12").unwrap(),
        Attribute::integer(attr::ACCT_DELAY_TIME, 12)
    );
    assert_eq!(
        build("NAS-IP-Address", "192.0.2.1").unwrap(),
        Attribute::ipaddr(attr::NAS_IP_ADDRESS, Ipv4Addr::new(192, 0, 2, 1))
    );
    assert_eq!(
        build("Event-Timestamp", "2007-06-20T13:00:05Z").unwrap(),
        Attribute::date(attr::EVENT_TIMESTAMP, 1_182_344_405)
    );
    assert_eq!(
        build("Event-Timestamp", "1182344405").unwrap(),
        Attribute::date(attr::EVENT_TIMESTAMP, 1_182_344_405)
    );
    assert_eq!(
        build("Proxy-State", "0x01ff").unwrap(),
        Attribute::octets(attr::PROXY_STATE, vec![1, 0xff])
    );
    assert_eq!(
        build(junoscope::PRIVILEGED_OPERATION, "DEVICE_ADDED").unwrap(),
        Attribute::vendor_string(JUNIPER_VENDOR_ID, 200, "DEVICE_ADDED")
    );
    for (name, text) in [
        ("Acct-Status-Type", "Begin"),
        ("NAS-IP-Address", "192.0.2"),
        ("Event-Timestamp", "1969-12-31T23:59:59Z"),
        ("Proxy-State", "01ff"),
        ("Proxy-State", "0x1"),
        ("Proxy-State", "0xzz"),
        ("Vendor-Specific", "0x00"),
    ] {
        assert!(
            matches!(build(name, text), Err(RadiusError::InvalidValue { .. })),
            "{name} {text}"
        );
    }
    assert_eq!(
        build("No-Such-Attribute", "x"),
        Err(RadiusError::UnknownAttribute {
            name: "No-Such-Attribute".into()
        })
    );
}

#[test]
fn describe_names_unknown_and_ill_fitting_attributes() {
    let secret = SharedSecret::new("netaudit-test-secret-0123456789").unwrap();
    let bytes = encode_accounting_request(
        3,
        &[
            Attribute::octets(99, vec![0xde, 0xad]),
            Attribute::vendor_string(JUNIPER_VENDOR_ID, 99, "x"),
            Attribute::octets(attr::ACCT_STATUS_TYPE, vec![0, 0, 1]),
            Attribute::integer(attr::ACCT_STATUS_TYPE, 42),
            Attribute::octets(attr::USER_NAME, vec![0xff, 0xfe]),
            Attribute::octets(26, vec![0, 0, 0x0a]),
        ],
        &secret,
    )
    .unwrap();
    let packet = decode(&bytes).unwrap();
    let described = Dictionary::builtin().describe(&packet);
    let expected: Vec<(String, String)> = [
        ("Attr-99", "0xdead"),
        ("Attr-26.2636.99", "0x78"),
        ("Acct-Status-Type", "0x000001"),
        ("Acct-Status-Type", "42"),
        ("User-Name", "0xfffe"),
        ("Vendor-Specific", "0x00000a"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    assert_eq!(described, expected);
}
