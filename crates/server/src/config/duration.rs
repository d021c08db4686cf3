//! Durations written as text in the configuration: `30s`, `15m`, `1h`, `7d`.

use std::time::Duration;

/// `N` followed by one unit (`s`, `m`, `h`, `d`), N at least 1; the error
/// says what was expected.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let expected = || {
        format!("{text:?} is not a duration: write a whole number and a unit, s, m, h or d (\"30s\", \"15m\", \"1h\", \"7d\")")
    };
    let n: u64 = number.parse().map_err(|_| expected())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(expected()),
    };
    if n == 0 {
        return Err(format!("{text:?}: must be at least 1{unit}"));
    }
    n.checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bad_input() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        for bad in ["", "h", "1", "1w", "1.5h", "-1h", "1 h x"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("0s").unwrap_err().contains("at least"));
        assert!(parse_duration("99999999999999999d")
            .unwrap_err()
            .contains("too long"));
    }
}
