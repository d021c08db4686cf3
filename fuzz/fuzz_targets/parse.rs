//! Fuzz target: `netaudit_syslog::parse` on arbitrary bytes must never
//! panic, hang or blow up memory; whatever it accepts must be internally
//! consistent (borrowed fields lie inside the input, the timestamp prints,
//! the parameters read back from the raw bytes are the ones parsed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netaudit_syslog::parse::{parse, ParseOptions};

fuzz_target!(|data: &[u8]| {
    for opts in [
        ParseOptions::with_fixed_year(2024),
        ParseOptions::with_reference_time(1_700_000_000),
    ] {
        match parse(data, &opts) {
            Ok(msg) => {
                if let Some(ts) = msg.timestamp {
                    let printed = ts.to_rfc3339_utc();
                    assert!(printed.ends_with('Z'));
                }
                for element in &msg.structured_data {
                    assert!(!element.id.is_empty());
                    for p in &element.params {
                        assert!(!p.name.is_empty());
                        assert!(p.value.len() <= data.len());
                    }
                }
                let full = msg.to_event(0, data);
                // What the store keeps of a received line: its parameters
                // only in the raw bytes, parsed back when read.
                let backed = msg.to_raw_backed_event(0, data);
                assert_eq!(backed.params_in_raw, !full.params.is_empty());
                let mut lean = backed.event;
                assert!(lean.params.is_empty());
                if backed.params_in_raw {
                    lean.params = netaudit_syslog::params_of(data).expect("parses again");
                }
                assert_eq!(lean, full);
            }
            Err(e) => {
                assert!(
                    e.offset <= data.len(),
                    "offset {} past input of {}",
                    e.offset,
                    data.len()
                );
                let _ = e.to_string();
            }
        }
    }
});
