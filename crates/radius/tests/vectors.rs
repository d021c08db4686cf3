//! Known packets: the RFC 2865 example and Accounting-Requests captured from
//! FreeRADIUS's radclient (tests/data/*.vector, see the comments there).

mod common;

use std::net::Ipv4Addr;

use netaudit_radius::{
    attr, decode, encode_accounting_request, verify_accounting_request, verify_response,
    AcctStatusType, AcctTerminateCause, Attribute, Code, Dictionary, RadiusError, SharedSecret,
    JUNIPER_VENDOR_ID,
};

/// RFC 2865 section 7.1: Access-Request from NAS 192.168.1.16 for "nemo".
const RFC2865_ACCESS_REQUEST: &str = "010000380f403f9473978057bd83d5cb98f4227a\
    01066e656d6f02120dbe708d93d413ce3196e43f782a0aee0406c0a80110050600000003";
/// RFC 2865 section 7.1: the Access-Accept answering it.
const RFC2865_ACCESS_ACCEPT: &str = "0200002686fe220e7624ba2a1005f6bf9b55e0b2\
    0606000000010f06000000000e06c0a80103";

fn bytes(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text).unwrap()
}

#[test]
fn rfc2865_access_request_decodes() {
    let packet = decode(&bytes(RFC2865_ACCESS_REQUEST)).unwrap();
    assert_eq!(packet.code, Code::AccessRequest);
    assert_eq!(packet.identifier, 0);
    assert_eq!(packet.attributes.len(), 4);
    assert_eq!(
        packet.attributes[0],
        Attribute::string(attr::USER_NAME, "nemo")
    );
    assert_eq!(packet.attributes[1].value().len(), 16); // User-Password, hidden
    assert_eq!(
        packet.attributes[2],
        Attribute::ipaddr(attr::NAS_IP_ADDRESS, Ipv4Addr::new(192, 168, 1, 16))
    );
    assert_eq!(packet.attributes[3], Attribute::integer(attr::NAS_PORT, 3));
    // Re-encoding with the same authenticator gives the same octets.
    assert_eq!(packet.encode().unwrap(), bytes(RFC2865_ACCESS_REQUEST));
}

#[test]
fn rfc2865_access_accept_authenticator_verifies() {
    let request = decode(&bytes(RFC2865_ACCESS_REQUEST)).unwrap();
    let secret = SharedSecret::new_allow_short("xyzzy5461").unwrap();
    let accept = bytes(RFC2865_ACCESS_ACCEPT);
    let reply = verify_response(
        Code::AccessAccept,
        &accept,
        &request.authenticator,
        0,
        &secret,
    )
    .unwrap();
    assert_eq!(reply.attributes.len(), 3);
    assert_eq!(reply.get(attr::SERVICE_TYPE).unwrap().as_u32(), Some(1));

    let other = SharedSecret::new_allow_short("xyzzy5462").unwrap();
    assert_eq!(
        verify_response(
            Code::AccessAccept,
            &accept,
            &request.authenticator,
            0,
            &other
        ),
        Err(RadiusError::BadAuthenticator {
            packet: "Access-Accept".into()
        })
    );
    // The same reply checked against another request's authenticator.
    let mut wrong_request = request.authenticator;
    wrong_request[0] ^= 1;
    assert!(matches!(
        verify_response(Code::AccessAccept, &accept, &wrong_request, 0, &secret),
        Err(RadiusError::BadAuthenticator { .. })
    ));
}

#[test]
fn radclient_start_verifies_and_reencodes_identically() {
    let vector = common::vector("radclient-acct-start.vector");
    let secret = SharedSecret::new(vector.secret.as_str()).unwrap();
    let packet = verify_accounting_request(&vector.bytes, &secret).unwrap();
    assert_eq!(packet.code, Code::AccountingRequest);
    assert_eq!(packet.identifier, 64);
    let expected = vec![
        Attribute::string(attr::USER_NAME, "bob"),
        Attribute::integer(attr::ACCT_STATUS_TYPE, AcctStatusType::Start.number()),
        Attribute::string(attr::ACCT_SESSION_ID, "abc"),
    ];
    assert_eq!(packet.attributes, expected);

    // Our encoder computes the same Request Authenticator as FreeRADIUS.
    let ours = encode_accounting_request(64, &expected, &secret).unwrap();
    assert_eq!(hex::encode(&ours), hex::encode(&vector.bytes));

    let wrong = SharedSecret::new("testing123secret17").unwrap();
    assert_eq!(
        verify_accounting_request(&vector.bytes, &wrong),
        Err(RadiusError::BadAuthenticator {
            packet: "Accounting-Request".into()
        })
    );
}

#[test]
fn radclient_junoscope_stop_matches_our_encoding() {
    let vector = common::vector("radclient-acct-stop-junoscope.vector");
    let secret = SharedSecret::new(vector.secret.as_str()).unwrap();
    let packet = verify_accounting_request(&vector.bytes, &secret).unwrap();
    assert_eq!(packet.identifier, 242);

    let dictionary = Dictionary::builtin();
    let number = |name: &str| dictionary.attribute(name).unwrap().number;
    let ours = vec![
        Attribute::string(attr::USER_NAME, "alice"),
        Attribute::integer(attr::ACCT_STATUS_TYPE, AcctStatusType::Stop.number()),
        Attribute::string(attr::ACCT_SESSION_ID, "js-7080-000042"),
        Attribute::string(attr::NAS_IDENTIFIER, "valhalla2"),
        Attribute::ipaddr(attr::NAS_IP_ADDRESS, Ipv4Addr::new(192, 0, 2, 10)),
        Attribute::date(attr::EVENT_TIMESTAMP, 1_182_344_405),
        Attribute::string(attr::CALLING_STATION_ID, "198.51.100.7"),
        Attribute::integer(
            attr::ACCT_TERMINATE_CAUSE,
            AcctTerminateCause::UserError.number(),
        ),
        Attribute::vendor_string(
            JUNIPER_VENDOR_ID,
            number("Juniper-JUNOScope-Login-Failure-Reason"),
            "Authentication Failure",
        ),
        Attribute::vendor_string(
            JUNIPER_VENDOR_ID,
            number("Juniper-JUNOScope-Privileged-Operation"),
            "DEVICE_ADDED",
        ),
        Attribute::vendor_string(
            JUNIPER_VENDOR_ID,
            number("Juniper-JUNOScope-Target"),
            "edge1",
        ),
        Attribute::integer(attr::ACCT_DELAY_TIME, 0),
    ];
    assert_eq!(packet.attributes, ours);
    let encoded = encode_accounting_request(242, &ours, &secret).unwrap();
    assert_eq!(hex::encode(&encoded), hex::encode(&vector.bytes));

    let described = dictionary.describe(&packet);
    let pairs: Vec<(&str, &str)> = described
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("User-Name", "alice"),
            ("Acct-Status-Type", "Stop"),
            ("Acct-Session-Id", "js-7080-000042"),
            ("NAS-Identifier", "valhalla2"),
            ("NAS-IP-Address", "192.0.2.10"),
            ("Event-Timestamp", "2007-06-20T13:00:05Z"),
            ("Calling-Station-Id", "198.51.100.7"),
            ("Acct-Terminate-Cause", "User-Error"),
            (
                "Juniper-JUNOScope-Login-Failure-Reason",
                "Authentication Failure"
            ),
            // radclient printed the same name for the alias it was given.
            ("Juniper-JUNOScope-Privileged-Command", "DEVICE_ADDED"),
            ("Juniper-JUNOScope-Target", "edge1"),
            ("Acct-Delay-Time", "0"),
        ]
    );
}

#[test]
fn padding_after_the_length_is_ignored() {
    let vector = common::vector("radclient-acct-start.vector");
    let secret = SharedSecret::new(vector.secret.as_str()).unwrap();
    let mut padded = vector.bytes.clone();
    padded.extend_from_slice(&[0xff; 9]);
    let packet = verify_accounting_request(&padded, &secret).unwrap();
    assert_eq!(packet, decode(&vector.bytes).unwrap());
}
