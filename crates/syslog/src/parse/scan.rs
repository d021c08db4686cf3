//! Byte scanning for the hot loops: a word at a time (SWAR) where fields
//! are scanned for stop bytes.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `x` that is zero. Bytes above the first
/// zero may be flagged falsely (borrows), so only the lowest flag counts.
#[inline]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

const ONES16: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
const HIGHS16: u128 = 0x8080_8080_8080_8080_8080_8080_8080_8080;

/// [`zero_bytes`] on 16 bytes.
#[inline]
fn zero_bytes16(x: u128) -> u128 {
    x.wrapping_sub(ONES16) & !x & HIGHS16
}

#[inline]
fn word16(chunk: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(chunk.get(..16).unwrap_or(&[0; 16]));
    u128::from_le_bytes(bytes)
}

#[inline]
fn word(chunk: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(chunk.get(..8).unwrap_or(&[0; 8]));
    u64::from_le_bytes(bytes)
}

/// Length of the run of PRINTUSASCII bytes (0x21..=0x7e) at the start of
/// `b`.
#[inline]
pub(super) fn printable_run(b: &[u8]) -> usize {
    // 8 bytes per step: header fields are short (`-`, a PID, a tag).
    let mut chunks = b.chunks_exact(8);
    let mut i = 0;
    for chunk in &mut chunks {
        let x = word(chunk);
        let below = x.wrapping_sub(ONES * 0x21) & !x & HIGHS;
        let above = (x.wrapping_add(ONES) | x) & HIGHS;
        let stops = below | above;
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let tail = chunks.remainder();
    i + tail
        .iter()
        .position(|c| !(33..=126).contains(c))
        .unwrap_or(tail.len())
}

/// Index of the first SP in `b`, or its length (tokens are short: a word
/// at a time beats a memchr call).
#[inline]
pub(super) fn find_space(b: &[u8]) -> usize {
    let mut chunks = b.chunks_exact(8);
    let mut i = 0;
    for chunk in &mut chunks {
        let stops = zero_bytes(word(chunk) ^ (ONES * u64::from(b' ')));
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let tail = chunks.remainder();
    i + tail.iter().position(|&c| c == b' ').unwrap_or(tail.len())
}

/// Length of the SD-NAME at the start of `b`. SD names and values are the
/// hot loops of structured data: both scan 8 bytes per step (SWAR).
#[inline]
pub(super) fn sd_name_len(b: &[u8]) -> usize {
    // 16 bytes per step: most Junos names fit in one, so the loop exit
    // is predictable.
    let mut chunks = b.chunks_exact(16);
    let mut i = 0;
    for chunk in &mut chunks {
        let x = word16(chunk);
        // Stop at bytes < 0x21, > 0x7e, '=', ']' or '"'.
        let below = x.wrapping_sub(ONES16 * 0x21) & !x & HIGHS16;
        let above = (x.wrapping_add(ONES16) | x) & HIGHS16;
        let special = zero_bytes16(x ^ (ONES16 * u128::from(b'=')))
            | zero_bytes16(x ^ (ONES16 * u128::from(b']')))
            | zero_bytes16(x ^ (ONES16 * u128::from(b'"')));
        let stops = below | above | special;
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 16;
    }
    let tail = chunks.remainder();
    i + tail
        .iter()
        .position(|&c| !is_sd_name_byte(c))
        .unwrap_or(tail.len())
}

/// The first `"` or `\\` in `b`.
#[inline]
pub(super) fn find_quote_or_backslash(b: &[u8]) -> Option<usize> {
    let mut chunks = b.chunks_exact(16);
    let mut i = 0;
    for chunk in &mut chunks {
        let x = word16(chunk);
        let stops = zero_bytes16(x ^ (ONES16 * u128::from(b'"')))
            | zero_bytes16(x ^ (ONES16 * u128::from(b'\\')));
        if stops != 0 {
            return Some(i + (stops.trailing_zeros() / 8) as usize);
        }
        i += 16;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|k| i + k)
}

#[inline]
pub(super) const fn is_sd_name_byte(c: u8) -> bool {
    // RFC 5424 SD-NAME: PRINTUSASCII except '=', SP, ']', '"'.
    c >= 33 && c <= 126 && c != b'=' && c != b']' && c != b'"'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_at_a_time_scans_match_byte_scans() {
        // Every byte value at every position (and a second stop byte after
        // it), against the obvious byte loop.
        for len in 0..40 {
            for pos in 0..len {
                for v in 0..=255u8 {
                    for second in [b'a', b' ', b'=', 0xff, b'"'] {
                        let mut b = vec![b'k'; len];
                        b[pos] = v;
                        if pos + 1 < len {
                            b[len - 1] = second;
                        }
                        let first = |f: &dyn Fn(u8) -> bool| b.iter().position(|&c| f(c));
                        assert_eq!(find_space(&b), first(&|c| c == b' ').unwrap_or(len));
                        assert_eq!(
                            sd_name_len(&b),
                            first(&|c| !is_sd_name_byte(c)).unwrap_or(len)
                        );
                        assert_eq!(
                            printable_run(&b),
                            first(&|c| !(33..=126).contains(&c)).unwrap_or(len)
                        );
                        assert_eq!(
                            find_quote_or_backslash(&b),
                            first(&|c| c == b'"' || c == b'\\')
                        );
                    }
                }
            }
        }
    }
}
