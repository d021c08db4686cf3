//! The `params` column: the parameters as compact JSON text, or the
//! marker saying they are read from the event's raw bytes.

use netaudit_event::{CompactString, Param};

/// The `params` column of an event whose parameters are in its raw bytes
/// (never valid JSON, so never a parameter list).
pub(crate) const PARAMS_IN_RAW: &str = "raw";

/// The `params` column: the parameters as compact JSON, one array per run
/// of parameters sharing an SD-ID, `[["sd_id",[["name","value"],...]],...]`,
/// in their original order (strings escaped as `serde_json` escapes them).
/// The SD-ID is written once per element instead of once per parameter:
/// rows are a third smaller than with `[{"sd_id","name","value"},...]`,
/// the format of stores written before, which [`parse_params_json`] still
/// reads. Written by hand because it runs for every stored event.
#[cfg(test)]
pub(crate) fn params_json(params: &[Param]) -> Option<String> {
    let mut out = String::new();
    push_params_json(&mut out, params).then_some(out)
}

/// Appends [`params_json`]'s text to `out`; `false` (nothing written) when
/// there are no parameters.
pub(crate) fn push_params_json(out: &mut String, params: &[Param]) -> bool {
    let Some(first) = params.first() else {
        return false;
    };
    out.push_str("[[");
    push_json_string(out, &first.sd_id);
    out.push_str(",[");
    let mut sd_id = first.sd_id.as_str();
    for (i, p) in params.iter().enumerate() {
        if p.sd_id != sd_id {
            out.push_str("]],[");
            push_json_string(out, &p.sd_id);
            out.push_str(",[");
            sd_id = &p.sd_id;
        } else if i > 0 {
            out.push(',');
        }
        out.push('[');
        push_json_string(out, &p.name);
        out.push(',');
        push_json_string(out, &p.value);
        out.push(']');
    }
    out.push_str("]]]");
    true
}

/// The `params` column of an event as the embedded store writes it: `raw`
/// when its parameters stay in its raw bytes, else the JSON text, `None`
/// when it has none. Other stores (netaudit-pgstore) keep the same column,
/// so a row reads back, and re-encodes for verify, the same way.
pub fn params_column<E: crate::AppendEvent + ?Sized>(event: &E) -> Option<String> {
    if event.params_in_raw() {
        return Some(PARAMS_IN_RAW.to_string());
    }
    let mut out = String::new();
    push_params_json(&mut out, &event.event().params).then_some(out)
}

/// Reads a [`params_column`] value back: the parameters and whether they
/// stay in the raw bytes (then the list is empty: the chain covers the raw
/// bytes, and `netaudit_syslog::params_of` parses them when wanted).
pub fn params_from_column(text: &str) -> std::result::Result<(Vec<Param>, bool), String> {
    if text == PARAMS_IN_RAW {
        return Ok((Vec::new(), true));
    }
    parse_params_json(text)
        .map(|p| (p, false))
        .map_err(|e| e.to_string())
}

/// Reads the `params` column in either format (see [`params_json`]).
pub(crate) fn parse_params_json(text: &str) -> std::result::Result<Vec<Param>, serde_json::Error> {
    if text
        .trim_start()
        .strip_prefix('[')
        .map(str::trim_start)
        .is_some_and(|t| t.starts_with('{'))
    {
        return serde_json::from_str(text);
    }
    let elements: Vec<(CompactString, Vec<(CompactString, CompactString)>)> =
        serde_json::from_str(text)?;
    let mut params = Vec::with_capacity(elements.iter().map(|(_, p)| p.len()).sum());
    for (sd_id, pairs) in elements {
        for (name, value) in pairs {
            params.push(Param {
                sd_id: sd_id.clone(),
                name,
                value,
            });
        }
    }
    Ok(params)
}

/// Appends `value` as a JSON string, escaped as `serde_json` escapes.
fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    let bytes = value.as_bytes();
    let mut plain = 0;
    loop {
        let at = plain + first_to_escape(&bytes[plain..]);
        // Bytes that need an escape are below 0x80, whole characters:
        // slicing before and after one is safe.
        out.push_str(&value[plain..at]);
        let Some(&b) = bytes.get(at) else { break };
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => out.push_str(&format!("\\u{b:04x}")),
        }
        plain = at + 1;
    }
    out.push('"');
}

/// The index of the first byte JSON must escape (`"`, `\\`, or below
/// 0x20), or `bytes.len()`. Eight bytes at a time: most values have none,
/// and this runs over every stored parameter.
fn first_to_escape(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Flags the bytes of `w` below `n` (each lane's high bit); a borrow can
    // flag a byte above a flagged one, never below, so the lowest flag is
    // exact.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let hits = below(w, 0x20) | below(w ^ (ONES * 0x22), 1) | below(w ^ (ONES * 0x5c), 1);
        if hits != 0 {
            return offset + (hits.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    offset
        + chunks
            .remainder()
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
            .unwrap_or(chunks.remainder().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn param(sd_id: &str, name: &str, value: &str) -> Param {
        Param {
            sd_id: sd_id.into(),
            name: name.into(),
            value: value.into(),
        }
    }

    fn serde_escaped(value: &str) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn groups_runs_of_one_sd_id_and_escapes_like_serde_json() {
        let odd = "say \"hi\" \\ back\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f} é ✓ / ]";
        let params = vec![
            param("junos@2636.1.1.1.2.18", "username", "regress"),
            param("junos@2636.1.1.1.2.18", "command", "commit"),
            param("x", "q", odd),
            param("junos@2636.1.1.1.2.18", "again", ""),
            param("", "", ""),
        ];
        let text = params_json(&params).unwrap();
        assert_eq!(
            text,
            format!(
                r#"[["junos@2636.1.1.1.2.18",[["username","regress"],["command","commit"]]],["x",[["q",{}]]],["junos@2636.1.1.1.2.18",[["again",""]]],["",[["",""]]]]"#,
                serde_escaped(odd)
            )
        );
        assert_eq!(parse_params_json(&text).unwrap(), params);
        assert_eq!(params_json(&[]), None);
    }

    #[test]
    fn finds_the_first_byte_to_escape_in_any_lane() {
        for len in 0..24 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    // Filler with the high bit set and just above the
                    // limits, which must not count.
                    let mut bytes: Vec<u8> = (0..len)
                        .map(|i| [0xff, 0x20, 0x23, 0x5d, 0x80, b'a'][i % 6])
                        .collect();
                    if at < len {
                        bytes[at] = special;
                        // A later hit must not move the first one.
                        if at + 1 < len {
                            bytes[at + 1] = 0;
                        }
                    }
                    assert_eq!(first_to_escape(&bytes), at, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn reads_the_earlier_format() {
        let params = vec![
            param("junos@2636.1.1.1.2.18", "username", "regress"),
            param("x", "q", "a \"b\""),
        ];
        let old = serde_json::to_string(&params).unwrap();
        assert!(old.starts_with("[{"));
        assert_eq!(parse_params_json(&old).unwrap(), params);
        assert_eq!(
            parse_params_json(" [ {\"sd_id\":\"a\",\"name\":\"b\",\"value\":\"c\"}]").unwrap(),
            vec![param("a", "b", "c")]
        );
    }

    #[test]
    fn malformed_params_are_errors() {
        for text in [
            "",
            "[",
            "[[1,[]]]",
            "[[\"a\",[[\"b\"]]]]",
            "[{\"sd_id\":1}]",
            "{}",
        ] {
            assert!(parse_params_json(text).is_err(), "{text:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn round_trips_and_escapes_like_serde_json(
            params in proptest::collection::vec(("\\PC{0,12}", "[ -~]{0,8}", any::<String>(), any::<bool>()), 1..6)
        ) {
            // A flag per parameter: keep the previous SD-ID (runs) or not.
            let mut last = String::new();
            let params: Vec<Param> = params
                .into_iter()
                .map(|(sd_id, name, value, same)| {
                    let sd_id = if same && !last.is_empty() { last.clone() } else { sd_id };
                    last = sd_id.clone();
                    Param { sd_id: sd_id.into(), name: name.into(), value: value.into() }
                })
                .collect();
            let text = params_json(&params).unwrap();
            // Valid JSON whose strings are serde_json's own escapes.
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&serde_json::to_string(&value).unwrap(), &text);
            prop_assert_eq!(parse_params_json(&text).unwrap(), params);
        }
    }
}
