//! Bad input: every malformed packet gets its own error, never a panic.

use netaudit_radius::{
    attr, decode, encode_accounting_request, encode_accounting_response, encode_response,
    verify_accounting_request, verify_accounting_response, Attribute, Code, RadiusError,
    SharedSecret, JUNIPER_VENDOR_ID, MAX_ATTRIBUTE_VALUE_LEN, MAX_VENDOR_VALUE_LEN,
};
use proptest::prelude::*;

fn secret() -> SharedSecret {
    SharedSecret::new("netaudit-test-secret-0123456789").unwrap()
}

fn sample_request() -> Vec<u8> {
    let attributes = [
        Attribute::string(attr::USER_NAME, "alice"),
        Attribute::integer(attr::ACCT_STATUS_TYPE, 1),
        Attribute::vendor_string(JUNIPER_VENDOR_ID, 201, "edge1"),
    ];
    encode_accounting_request(9, &attributes, &secret()).unwrap()
}

/// Sets the length field.
fn with_length(mut packet: Vec<u8>, length: u16) -> Vec<u8> {
    packet[2..4].copy_from_slice(&length.to_be_bytes());
    packet
}

#[test]
fn truncated_at_every_length() {
    let packet = sample_request();
    for cut in 0..packet.len() {
        let error = decode(&packet[..cut]).unwrap_err();
        let expected = if cut < 20 {
            RadiusError::TruncatedHeader { len: cut }
        } else {
            RadiusError::LengthExceedsDatagram {
                length: packet.len(),
                received: cut,
            }
        };
        assert_eq!(error, expected, "cut at {cut}");
        assert!(verify_accounting_request(&packet[..cut], &secret()).is_err());
    }
}

#[test]
fn length_field_outside_20_to_4096() {
    let packet = sample_request();
    for length in [0u16, 1, 19, 4097, u16::MAX] {
        assert_eq!(
            decode(&with_length(packet.clone(), length)),
            Err(RadiusError::LengthOutOfRange {
                length: usize::from(length)
            })
        );
    }
}

#[test]
fn length_field_shorter_than_the_attributes_cuts_one() {
    // Length 26 ends inside the User-Name attribute (20..27).
    let packet = with_length(sample_request(), 26);
    assert_eq!(
        decode(&packet),
        Err(RadiusError::AttributeOverflow {
            offset: 20,
            kind: attr::USER_NAME,
            length: 7,
            end: 26
        })
    );
    // Length 21 leaves one octet: not even an attribute header.
    assert_eq!(
        decode(&with_length(sample_request(), 21)),
        Err(RadiusError::AttributeHeaderTruncated {
            offset: 20,
            available: 1
        })
    );
    // Length 20 drops all attributes: valid framing, but the authenticator
    // no longer verifies.
    let header_only = with_length(sample_request(), 20);
    assert_eq!(decode(&header_only).unwrap().attributes, vec![]);
    assert!(matches!(
        verify_accounting_request(&header_only, &secret()),
        Err(RadiusError::BadAuthenticator { .. })
    ));
}

#[test]
fn attribute_length_zero_one_and_overflow() {
    let header = |attributes: &[u8]| {
        let mut packet = vec![4, 1, 0, 0];
        packet.extend_from_slice(&[0; 16]);
        packet.extend_from_slice(attributes);
        let length = packet.len() as u16;
        with_length(packet, length)
    };
    for bad_length in [0u8, 1] {
        assert_eq!(
            decode(&header(&[1, 3, b'a', 44, bad_length, 0])),
            Err(RadiusError::AttributeLengthTooSmall {
                offset: 23,
                kind: 44,
                length: bad_length
            })
        );
    }
    assert_eq!(
        decode(&header(&[1, 9, b'a', b'b'])),
        Err(RadiusError::AttributeOverflow {
            offset: 20,
            kind: 1,
            length: 9,
            end: 24
        })
    );
    assert_eq!(
        decode(&header(&[1, 255])),
        Err(RadiusError::AttributeOverflow {
            offset: 20,
            kind: 1,
            length: 255,
            end: 22
        })
    );
    // An empty value (length 2) is read, though senders must not send it.
    assert_eq!(
        decode(&header(&[18, 2])).unwrap().attributes,
        vec![Attribute::octets(18, vec![])]
    );
}

#[test]
fn malformed_vendor_specific_stays_opaque() {
    let header = |attributes: &[u8]| {
        let mut packet = vec![4, 1, 0, 0];
        packet.extend_from_slice(&[0; 16]);
        packet.extend_from_slice(attributes);
        let length = packet.len() as u16;
        with_length(packet, length)
    };
    for value in [
        &[0u8, 0, 0x0a][..],                      // shorter than a vendor id
        &[0, 0, 0x0a, 0x4c][..],                  // vendor id only
        &[0, 0, 0x0a, 0x4c, 200, 9, b'x'][..],    // sub-attribute overflows
        &[0, 0, 0x0a, 0x4c, 200, 1][..],          // sub-length below 2
        &[0, 0, 0x0a, 0x4c, 200, 3, b'x', 7][..], // trailing octet
    ] {
        let mut attribute = vec![26, (value.len() + 2) as u8];
        attribute.extend_from_slice(value);
        assert_eq!(
            decode(&header(&attribute)).unwrap().attributes,
            vec![Attribute::octets(26, value.to_vec())],
            "{value:?}"
        );
    }
    // Two sub-attributes in one Vendor-Specific become two attributes.
    let attribute = [26, 14, 0, 0, 0x0a, 0x4c, 200, 3, b'x', 201, 3, b'y', 202, 2];
    assert_eq!(
        decode(&header(&attribute)).unwrap().attributes,
        vec![
            Attribute::vendor_string(JUNIPER_VENDOR_ID, 200, "x"),
            Attribute::vendor_string(JUNIPER_VENDOR_ID, 201, "y"),
            Attribute::vendor_octets(JUNIPER_VENDOR_ID, 202, vec![]),
        ]
    );
}

#[test]
fn unknown_code() {
    let mut packet = sample_request();
    packet[0] = 99;
    assert_eq!(decode(&packet), Err(RadiusError::UnknownCode { code: 99 }));
}

#[test]
fn encoder_limits_name_the_attribute() {
    let long = "x".repeat(MAX_ATTRIBUTE_VALUE_LEN + 1);
    let error = encode_accounting_request(
        1,
        &[
            Attribute::string(attr::USER_NAME, "bob"),
            Attribute::string(attr::ACCT_SESSION_ID, &long),
        ],
        &secret(),
    )
    .unwrap_err();
    assert_eq!(
        error,
        RadiusError::AttributeTooLong {
            index: 1,
            attribute: "Attr-44".into(),
            len: 254,
            max: 253
        }
    );
    assert_eq!(
        error.to_string(),
        "attribute #1 (Attr-44): value is 254 octets, at most 253 fit"
    );
    assert!(encode_accounting_request(
        1,
        &[Attribute::string(attr::USER_NAME, &long[1..])],
        &secret()
    )
    .is_ok());

    let long_vendor = "x".repeat(MAX_VENDOR_VALUE_LEN + 1);
    assert_eq!(
        encode_accounting_request(
            1,
            &[Attribute::vendor_string(
                JUNIPER_VENDOR_ID,
                201,
                &long_vendor
            )],
            &secret()
        ),
        Err(RadiusError::AttributeTooLong {
            index: 0,
            attribute: "Attr-26.2636.201".into(),
            len: 248,
            max: 247
        })
    );
    assert_eq!(
        encode_accounting_request(1, &[Attribute::string(attr::USER_NAME, "")], &secret()),
        Err(RadiusError::EmptyAttributeValue {
            index: 0,
            attribute: "Attr-1".into()
        })
    );

    // 16 attributes of 255 octets: 20 + 16 * 255 = 4100 > 4096.
    let full = "y".repeat(MAX_ATTRIBUTE_VALUE_LEN);
    let many: Vec<Attribute> = (0..16)
        .map(|_| Attribute::string(attr::REPLY_MESSAGE, &full))
        .collect();
    assert_eq!(
        encode_accounting_request(1, &many, &secret()),
        Err(RadiusError::PacketTooLong { len: 4100 })
    );
    // 4096 exactly fits: 20 + 15 * 255 + 251.
    let mut exact = many[..15].to_vec();
    exact.push(Attribute::string(attr::REPLY_MESSAGE, &full[..249]));
    assert_eq!(
        encode_accounting_request(1, &exact, &secret())
            .unwrap()
            .len(),
        4096
    );
}

#[test]
fn accounting_response_checks() {
    let request = sample_request();
    let request_packet = decode(&request).unwrap();
    let request_auth = request_packet.authenticator;
    let response = encode_accounting_response(9, &request_auth, &[], &secret()).unwrap();
    assert_eq!(response.len(), 20);
    let packet = verify_accounting_response(&response, &request_auth, 9, &secret()).unwrap();
    assert_eq!(packet.code, Code::AccountingResponse);

    // Wrong identifier.
    assert_eq!(
        verify_accounting_response(&response, &request_auth, 10, &secret()),
        Err(RadiusError::IdentifierMismatch {
            expected: 10,
            found: 9
        })
    );
    // Wrong secret.
    let other = SharedSecret::new("another-secret-0123456789").unwrap();
    assert_eq!(
        verify_accounting_response(&response, &request_auth, 9, &other),
        Err(RadiusError::BadAuthenticator {
            packet: "Accounting-Response".into()
        })
    );
    // Authenticator of another request.
    let mut other_auth = request_auth;
    other_auth[15] ^= 0x80;
    assert!(matches!(
        verify_accounting_response(&response, &other_auth, 9, &secret()),
        Err(RadiusError::BadAuthenticator { .. })
    ));
    // Every single-bit change of the response is caught.
    for bit in 0..response.len() * 8 {
        let mut altered = response.clone();
        altered[bit / 8] ^= 1 << (bit % 8);
        assert!(
            verify_accounting_response(&altered, &request_auth, 9, &secret()).is_err(),
            "bit {bit}"
        );
    }
    // Wrong code, with a valid authenticator for that code.
    let accept = encode_response(Code::AccessAccept, 9, &request_auth, &[], &secret()).unwrap();
    assert_eq!(
        verify_accounting_response(&accept, &request_auth, 9, &secret()),
        Err(RadiusError::UnexpectedCode {
            expected: "Accounting-Response".into(),
            found: 2
        })
    );
    // A request is not a response.
    assert!(matches!(
        verify_accounting_response(&request, &request_auth, 9, &secret()),
        Err(RadiusError::UnexpectedCode { found: 4, .. })
    ));
    // A response is not a request.
    assert!(matches!(
        verify_accounting_request(&response, &secret()),
        Err(RadiusError::UnexpectedCode { found: 5, .. })
    ));
    // Proxy-State in the response is covered by the authenticator, and
    // padding after the length is not.
    let with_proxy = encode_accounting_response(
        9,
        &request_auth,
        &[Attribute::octets(attr::PROXY_STATE, vec![1, 2, 3])],
        &secret(),
    )
    .unwrap();
    let mut padded = with_proxy.clone();
    padded.extend_from_slice(&[0; 4]);
    let packet = verify_accounting_response(&padded, &request_auth, 9, &secret()).unwrap();
    assert_eq!(
        packet.get(attr::PROXY_STATE).unwrap().value(),
        &[1u8, 2, 3][..]
    );
    // Truncated and oversized (length field) responses.
    assert!(matches!(
        verify_accounting_response(&with_proxy[..22], &request_auth, 9, &secret()),
        Err(RadiusError::LengthExceedsDatagram { .. })
    ));
    assert!(matches!(
        verify_accounting_response(&with_length(with_proxy, 5000), &request_auth, 9, &secret()),
        Err(RadiusError::LengthOutOfRange { length: 5000 })
    ));
}

#[test]
fn changed_retransmission_gets_a_new_authenticator() {
    // RFC 2866 section 5.2: a record resent with a new Acct-Delay-Time is a
    // new packet; the codec gives it a new Request Authenticator.
    let base = [
        Attribute::string(attr::USER_NAME, "alice"),
        Attribute::integer(attr::ACCT_STATUS_TYPE, 1),
    ];
    let mut delayed = base.to_vec();
    delayed.push(Attribute::integer(attr::ACCT_DELAY_TIME, 3));
    let first = encode_accounting_request(7, &base, &secret()).unwrap();
    let again = encode_accounting_request(7, &base, &secret()).unwrap();
    let second = encode_accounting_request(8, &delayed, &secret()).unwrap();
    assert_eq!(first, again, "encoding is deterministic");
    assert_ne!(first[4..20], second[4..20]);
    assert!(verify_accounting_request(&second, &secret()).is_ok());
}

fn attribute_strategy() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        (
            (1u8..=255).prop_filter("not Vendor-Specific", |k| *k != 26),
            prop::collection::vec(any::<u8>(), 1..=MAX_ATTRIBUTE_VALUE_LEN)
        )
            .prop_map(|(kind, value)| Attribute::octets(kind, value)),
        (
            any::<u32>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 1..=MAX_VENDOR_VALUE_LEN)
        )
            .prop_map(|(vendor, kind, value)| Attribute::vendor_octets(vendor, kind, value)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode(&bytes);
        let _ = verify_accounting_request(&bytes, &secret());
        let _ = verify_accounting_response(&bytes, &[0; 16], 0, &secret());
    }

    #[test]
    fn arbitrary_attribute_area_never_panics(
        id in any::<u8>(),
        code in prop::sample::select(vec![4u8, 5]),
        attributes in prop::collection::vec(any::<u8>(), 0..300),
        padding in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        // A valid header over random attributes reaches the TLV walk.
        let mut packet = vec![code, id];
        packet.extend_from_slice(&((20 + attributes.len()) as u16).to_be_bytes());
        packet.extend_from_slice(&[0; 16]);
        packet.extend_from_slice(&attributes);
        packet.extend_from_slice(&padding);
        if let Ok(decoded) = decode(&packet) {
            let total: usize = decoded.attributes.iter().map(|a| a.value().len()).sum();
            prop_assert!(total <= attributes.len());
        }
        let _ = verify_accounting_response(&packet, &[0; 16], id, &secret());
    }

    #[test]
    fn encode_decode_round_trip(
        id in any::<u8>(),
        attributes in prop::collection::vec(attribute_strategy(), 0..12),
    ) {
        match encode_accounting_request(id, &attributes, &secret()) {
            Ok(bytes) => {
                let packet = verify_accounting_request(&bytes, &secret()).unwrap();
                prop_assert_eq!(packet.identifier, id);
                prop_assert_eq!(&packet.attributes, &attributes);
                prop_assert_eq!(packet.encode().unwrap(), bytes);
            }
            Err(RadiusError::PacketTooLong { len }) => prop_assert!(len > 4096),
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}
