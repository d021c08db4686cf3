//! The canonical, versioned, length-prefixed binary encoding of an event:
//! the bytes the chain's HMAC covers (docs/store.md, "Chain encoding").
//!
//! Every integer is big-endian; every string or byte string is a u32 length
//! followed by the bytes; every optional field is a one-byte tag (0 absent,
//! 1 present) followed by the value when present.

use netaudit_event::{CompactString, Event, Facility, Param, Severity};

use crate::append_event::AppendEvent;

/// Version byte at the start of an encoding that carries the parameters.
pub const ENCODING_VERSION: u8 = 1;

/// Version byte of an event whose parameters are read from its raw bytes
/// ([`AppendEvent::params_in_raw`]): the same layout without the parameter
/// section, since the raw bytes the encoding ends with already hold them.
pub(crate) const ENCODING_VERSION_PARAMS_IN_RAW: u8 = 2;

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths above u32::MAX cannot be stored by SQLite either (its limit is
    // 1 GB by default), so saturating keeps this total without a panic path.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_opt_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_bytes(out, s.as_bytes());
        }
    }
}

fn put_opt_u8(out: &mut Vec<u8>, value: Option<u8>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            out.push(v);
        }
    }
}

/// Appends the canonical encoding of `event` to `out`: version 2 when its
/// parameters are in its raw bytes, else version 1.
pub fn encode_event<E: AppendEvent + ?Sized>(event: &E, out: &mut Vec<u8>) {
    let params_in_raw = event.params_in_raw();
    let event = event.event();
    out.push(if params_in_raw {
        ENCODING_VERSION_PARAMS_IN_RAW
    } else {
        ENCODING_VERSION
    });
    out.extend_from_slice(&event.received_ns.to_be_bytes());
    match event.time_ns {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            out.extend_from_slice(&t.to_be_bytes());
        }
    }
    put_opt_str(out, event.host.as_deref());
    put_opt_str(out, event.app.as_deref());
    put_opt_str(out, event.pid.as_deref());
    put_opt_u8(out, event.facility.map(|f| f.code()));
    put_opt_u8(out, event.severity.map(|s| s.code()));
    put_opt_str(out, event.code.as_deref());
    put_opt_str(out, event.user.as_deref());
    put_opt_str(out, event.client_addr.as_deref());
    put_opt_str(out, event.device.as_deref());
    put_opt_str(out, event.operation.as_deref());
    if !params_in_raw {
        let count = u32::try_from(event.params.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for param in &event.params {
            put_bytes(out, param.sd_id.as_bytes());
            put_bytes(out, param.name.as_bytes());
            put_bytes(out, param.value.as_bytes());
        }
    }
    put_opt_str(out, event.message.as_deref());
    put_bytes(out, &event.raw);
    put_opt_str(out, event.parse_error.as_deref());
}

/// An encoding that does not decode: a bug or corruption, never input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event encoding: {what} at byte {offset}")]
pub struct DecodeError {
    /// What could not be read (the field, or what was wrong with it).
    pub what: &'static str,
    /// Byte offset into the encoding where it was found.
    pub offset: usize,
}

/// One event's fields, borrowed from its canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodedFields<'a> {
    pub received_ns: i64,
    pub time_ns: Option<i64>,
    pub host: Option<&'a str>,
    pub app: Option<&'a str>,
    pub pid: Option<&'a str>,
    pub facility: Option<u8>,
    pub severity: Option<u8>,
    pub code: Option<&'a str>,
    pub user: Option<&'a str>,
    pub client_addr: Option<&'a str>,
    pub device: Option<&'a str>,
    pub operation: Option<&'a str>,
    /// Version 2: the parameters are in `raw` (`param_count` is 0).
    pub params_in_raw: bool,
    pub param_count: u32,
    /// The parameters' encoding (see [`EncodedFields::params`]).
    pub params: &'a [u8],
    pub message: Option<&'a str>,
    pub raw: &'a [u8],
    pub parse_error: Option<&'a str>,
}

struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Decoder<'a> {
    fn fail(&self, what: &'static str) -> DecodeError {
        DecodeError {
            what,
            offset: self.at,
        }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).ok_or_else(|| self.fail(what))?;
        let out = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| self.fail(what))?;
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn tag(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.array::<1>(what)? {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => {
                self.at -= 1;
                Err(self.fail("presence tag is neither 0 nor 1"))
            }
        }
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = u32::from_be_bytes(self.array(what)?);
        self.take(usize::try_from(len).map_err(|_| self.fail(what))?, what)
    }

    fn str(&mut self, what: &'static str) -> Result<&'a str, DecodeError> {
        let start = self.at;
        let bytes = self.bytes(what)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError {
            what: "text is not UTF-8",
            offset: start,
        })
    }

    fn opt_str(&mut self, what: &'static str) -> Result<Option<&'a str>, DecodeError> {
        if self.tag(what)? {
            self.str(what).map(Some)
        } else {
            Ok(None)
        }
    }

    fn opt_u8(&mut self, what: &'static str) -> Result<Option<u8>, DecodeError> {
        if self.tag(what)? {
            Ok(Some(self.array::<1>(what)?[0]))
        } else {
            Ok(None)
        }
    }
}

/// Reads back what [`encode_event`] wrote.
pub(crate) fn decode_fields(bytes: &[u8]) -> Result<EncodedFields<'_>, DecodeError> {
    let mut d = Decoder { bytes, at: 0 };
    let params_in_raw = match d.array::<1>("version")?[0] {
        ENCODING_VERSION => false,
        ENCODING_VERSION_PARAMS_IN_RAW => true,
        _ => {
            d.at = 0;
            return Err(d.fail("unknown encoding version"));
        }
    };
    let received_ns = d.i64("received time")?;
    let time_ns = if d.tag("event time")? {
        Some(d.i64("event time")?)
    } else {
        None
    };
    let host = d.opt_str("host")?;
    let app = d.opt_str("app")?;
    let pid = d.opt_str("pid")?;
    let facility = d.opt_u8("facility")?;
    let severity = d.opt_u8("severity")?;
    let code = d.opt_str("code")?;
    let user = d.opt_str("user")?;
    let client_addr = d.opt_str("client address")?;
    let device = d.opt_str("device")?;
    let operation = d.opt_str("operation")?;
    let param_count = if params_in_raw {
        0
    } else {
        u32::from_be_bytes(d.array("parameter count")?)
    };
    let params_start = d.at;
    // Skipped here (the writer binds their JSON text); read by `params`.
    for _ in 0..param_count {
        for what in ["parameter SD-ID", "parameter name", "parameter value"] {
            d.bytes(what)?;
        }
    }
    let params = &bytes[params_start..d.at];
    let message = d.opt_str("message")?;
    let raw = d.bytes("raw bytes")?;
    let parse_error = d.opt_str("parse error")?;
    if d.at != bytes.len() {
        return Err(d.fail("bytes after the end of the event"));
    }
    Ok(EncodedFields {
        received_ns,
        time_ns,
        host,
        app,
        pid,
        facility,
        severity,
        code,
        user,
        client_addr,
        device,
        operation,
        params_in_raw,
        param_count,
        params,
        message,
        raw,
        parse_error,
    })
}

impl<'a> EncodedFields<'a> {
    /// `(sd_id, name, value)` of each parameter, in order.
    pub(crate) fn params(&self) -> Result<Vec<(&'a str, &'a str, &'a str)>, DecodeError> {
        let mut d = Decoder {
            bytes: self.params,
            at: 0,
        };
        // Each parameter takes at least 12 bytes: no allocation beyond the input.
        let mut out = Vec::with_capacity((self.param_count as usize).min(self.params.len() / 12));
        for _ in 0..self.param_count {
            out.push((
                d.str("parameter SD-ID")?,
                d.str("parameter name")?,
                d.str("parameter value")?,
            ));
        }
        Ok(out)
    }
}

/// The event an encoding holds; a version 2 encoding gives it without
/// parameters (they are in its raw bytes: `netaudit_syslog::params_of`).
pub fn decode_event(bytes: &[u8]) -> Result<Event, DecodeError> {
    let f = decode_fields(bytes)?;
    let text = |v: Option<&str>| v.map(CompactString::new);
    Ok(Event {
        received_ns: f.received_ns,
        time_ns: f.time_ns,
        host: text(f.host),
        app: text(f.app),
        pid: text(f.pid),
        facility: f
            .facility
            .map(|c| {
                Facility::from_code(c).map_err(|_| DecodeError {
                    what: "facility out of range",
                    offset: 0,
                })
            })
            .transpose()?,
        severity: f
            .severity
            .map(|c| {
                Severity::from_code(c).map_err(|_| DecodeError {
                    what: "severity out of range",
                    offset: 0,
                })
            })
            .transpose()?,
        code: text(f.code),
        user: text(f.user),
        client_addr: text(f.client_addr),
        device: text(f.device),
        operation: text(f.operation),
        params: f
            .params()?
            .into_iter()
            .map(|(sd_id, name, value)| Param {
                sd_id: sd_id.into(),
                name: name.into(),
                value: value.into(),
            })
            .collect(),
        message: text(f.message),
        raw: f.raw.to_vec(),
        parse_error: text(f.parse_error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netaudit_syslog::RawBackedEvent;
    use proptest::prelude::*;

    fn full_event() -> Event {
        Event {
            received_ns: -1,
            time_ns: Some(i64::MAX),
            host: Some("h".into()),
            app: Some("app".into()),
            pid: Some("".into()),
            facility: Some(Facility::Local2),
            severity: Some(Severity::Error),
            code: Some("C".into()),
            user: Some("u".into()),
            client_addr: Some("::1".into()),
            device: Some("d".into()),
            operation: Some("op".into()),
            params: vec![
                Param {
                    sd_id: "s@1".into(),
                    name: "n".into(),
                    value: "a value longer than twenty-four bytes \u{e9}".into(),
                },
                Param {
                    sd_id: "".into(),
                    name: "".into(),
                    value: "".into(),
                },
            ],
            message: Some("m".into()),
            raw: vec![0xff, 0, b'r'],
            parse_error: Some("e".into()),
        }
    }

    #[test]
    fn decodes_what_it_encodes() {
        for event in [Event::default(), full_event()] {
            let mut out = Vec::new();
            encode_event(&event, &mut out);
            assert_eq!(decode_event(&out).unwrap(), event);
        }
    }

    #[test]
    fn bad_encodings_are_errors_never_panics() {
        let mut good = Vec::new();
        encode_event(&full_event(), &mut good);
        // Every truncation.
        for len in 0..good.len() {
            assert!(decode_event(&good[..len]).is_err(), "{len} bytes accepted");
        }
        let at = |bytes: &[u8]| decode_event(bytes).unwrap_err();
        let mut bad = good.clone();
        bad[0] = 0;
        assert_eq!(
            at(&bad),
            DecodeError {
                what: "unknown encoding version",
                offset: 0
            }
        );
        // Version 2 read over a version-1 encoding: the parameter count
        // and parameters are taken for the message and raw bytes.
        let mut bad = good.clone();
        bad[0] = ENCODING_VERSION_PARAMS_IN_RAW;
        assert!(decode_event(&bad).is_err());
        let mut bad = good.clone();
        bad.push(0);
        assert_eq!(at(&bad).what, "bytes after the end of the event");
        let mut bad = good.clone();
        bad[9] = 7; // the event time's presence tag
        assert_eq!(
            at(&bad),
            DecodeError {
                what: "presence tag is neither 0 nor 1",
                offset: 9
            }
        );
        // Host "h" at 18..24 (tag, length, byte): not UTF-8.
        let mut bad = good.clone();
        assert_eq!(bad[23], b'h');
        bad[23] = 0xff;
        assert_eq!(
            at(&bad),
            DecodeError {
                what: "text is not UTF-8",
                offset: 19
            }
        );
        // A length beyond the end.
        let mut bad = good.clone();
        bad[19..23].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(at(&bad).what, "host");
        // A facility code out of range.
        let mut minimal = Vec::new();
        encode_event(
            &Event {
                facility: Some(Facility::Local2),
                ..Event::default()
            },
            &mut minimal,
        );
        let pos = minimal
            .iter()
            .rposition(|&b| b == Facility::Local2.code())
            .unwrap();
        minimal[pos] = 200;
        assert_eq!(at(&minimal).what, "facility out of range");
    }

    fn text() -> impl Strategy<Value = Option<CompactString>> {
        proptest::option::of(any::<String>().prop_map(CompactString::from))
    }

    proptest! {
        #[test]
        fn round_trips(
            received_ns in any::<i64>(),
            time_ns in any::<Option<i64>>(),
            strings in proptest::collection::vec(text(), 10),
            codes in (proptest::option::of(0u8..24), proptest::option::of(0u8..8)),
            params in proptest::collection::vec((any::<String>(), any::<String>(), any::<String>()), 0..4),
            raw in proptest::collection::vec(any::<u8>(), 0..64),
            params_in_raw in any::<bool>(),
        ) {
            let s = |i: usize| strings[i].clone();
            let event = Event {
                received_ns,
                time_ns,
                host: s(0),
                app: s(1),
                pid: s(2),
                facility: codes.0.map(|c| Facility::from_code(c).unwrap()),
                severity: codes.1.map(|c| Severity::from_code(c).unwrap()),
                code: s(3),
                user: s(4),
                client_addr: s(5),
                device: s(6),
                operation: s(7),
                params: params
                    .into_iter()
                    .map(|(sd_id, name, value)| Param { sd_id: sd_id.into(), name: name.into(), value: value.into() })
                    .collect(),
                message: s(8),
                raw,
                parse_error: s(9),
            };
            let mut out = Vec::new();
            encode_event(&RawBackedEvent { event: event.clone(), params_in_raw }, &mut out);
            prop_assert_eq!(out[0], if params_in_raw { 2 } else { 1 });
            prop_assert_eq!(decode_fields(&out).unwrap().params_in_raw, params_in_raw);
            let mut expected = event.clone();
            if params_in_raw {
                // Version 2 leaves them to the raw bytes.
                expected.params.clear();
            }
            prop_assert_eq!(decode_event(&out).unwrap(), expected);
        }
    }

    #[test]
    fn params_in_raw_leave_the_parameter_section_out() {
        let with_params = Event {
            params: vec![Param {
                sd_id: "junos@2636.1.1.1.2.18".into(),
                name: "username".into(),
                value: "jdoe".into(),
            }],
            raw: b"<189>1 - h mgd - UI_COMMIT [junos@2636.1.1.1.2.18 username=\"jdoe\"] x".to_vec(),
            ..Event::default()
        };
        let in_raw = RawBackedEvent {
            event: with_params.clone(),
            params_in_raw: true,
        };
        let (mut v1, mut v2) = (Vec::new(), Vec::new());
        encode_event(&with_params, &mut v1);
        encode_event(&in_raw, &mut v2);
        // Same fields, minus the count (4 bytes) and the one parameter.
        assert_eq!(v1.len() - v2.len(), 4 + (4 + 21) + (4 + 8) + (4 + 4));
        // Whether params are in raw is covered by the chain: the two differ.
        assert_ne!(v1[0], v2[0]);
        let f = decode_fields(&v2).unwrap();
        assert!(f.params_in_raw);
        assert_eq!(f.param_count, 0);
        // A version-2 encoding with a parameter section appended is not one.
        let mut bad = v2.clone();
        bad.extend_from_slice(&0u32.to_be_bytes());
        assert!(decode_fields(&bad).is_err());
        let mut unknown = v2;
        unknown[0] = 3;
        assert_eq!(
            decode_fields(&unknown).unwrap_err().what,
            "unknown encoding version"
        );
    }

    #[test]
    fn absent_and_empty_fields_encode_differently() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        encode_event(&Event::default(), &mut a);
        encode_event(
            &Event {
                host: Some(String::new().into()),
                ..Event::default()
            },
            &mut b,
        );
        assert_ne!(a, b);
    }

    #[test]
    fn length_prefixes_keep_field_boundaries() {
        // "ab" + "c" and "a" + "bc" must not collide.
        let one = Event {
            host: Some("ab".into()),
            app: Some("c".into()),
            ..Event::default()
        };
        let two = Event {
            host: Some("a".into()),
            app: Some("bc".into()),
            ..Event::default()
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        encode_event(&one, &mut a);
        encode_event(&two, &mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn known_encoding_is_stable() {
        let event = Event {
            received_ns: 1,
            time_ns: Some(2),
            host: Some("h".into()),
            facility: Some(Facility::Local2),
            severity: Some(Severity::Error),
            params: vec![Param {
                sd_id: "s".into(),
                name: "n".into(),
                value: "v".into(),
            }],
            raw: b"r".to_vec(),
            ..Event::default()
        };
        let mut out = Vec::new();
        encode_event(&event, &mut out);
        let expected = hex::decode(concat!(
            "01",               // version
            "0000000000000001", // received_ns
            "01",
            "0000000000000002", // time_ns
            "01",
            "00000001",
            "68", // host "h"
            "00",
            "00", // app, pid
            "01",
            "12",
            "01",
            "03", // facility 18, severity 3
            "00",
            "00",
            "00",
            "00",
            "00", // code, user, client, device, operation
            "00000001",
            "00000001",
            "73",
            "00000001",
            "6e",
            "00000001",
            "76", // params
            "00", // message
            "00000001",
            "72", // raw
            "00"  // parse_error
        ))
        .unwrap();
        assert_eq!(out, expected);
    }
}
