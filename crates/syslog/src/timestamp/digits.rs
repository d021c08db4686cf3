//! Digit runs shared by both timestamp forms.

#[inline]
pub(super) fn two_digits(b: &[u8], at: usize) -> Option<u8> {
    let hi = *b.get(at)?;
    let lo = *b.get(at + 1)?;
    if hi.is_ascii_digit() && lo.is_ascii_digit() {
        Some((hi - b'0') * 10 + (lo - b'0'))
    } else {
        None
    }
}

/// `.d{1,9}` at `*i`, if present; returns (nanos, digits) or the offset of
/// the offending byte.
#[inline]
pub(super) fn parse_fraction(b: &[u8], i: &mut usize) -> std::result::Result<(u32, u8), usize> {
    if b.get(*i) != Some(&b'.') {
        return Ok((0, 0));
    }
    *i += 1;
    let mut nanos: u32 = 0;
    let mut digits: u8 = 0;
    while let Some(c) = b.get(*i).filter(|c| c.is_ascii_digit()) {
        if digits == 9 {
            return Err(*i);
        }
        nanos = nanos * 10 + u32::from(c - b'0');
        digits += 1;
        *i += 1;
    }
    if digits == 0 {
        return Err(*i);
    }
    Ok((nanos * 10_u32.pow(u32::from(9 - digits)), digits))
}
