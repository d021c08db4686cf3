//! The message lines of a benchmark corpus file, shared by the benchmark
//! senders. `bench/gen_junos_lines.py` writes each line pre-framed for
//! loggen as `LEN MSG` (LEN counts MSG and its LF); that prefix is dropped
//! here, so a line of either form gives the bare message.

/// The messages of `text`, one per line, without LF and without a
/// `LEN ` prefix that matches the line; empty lines skipped.
pub(crate) fn messages(text: &[u8]) -> Vec<&[u8]> {
    text.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(without_length_prefix)
        .collect()
}

fn without_length_prefix(line: &[u8]) -> &[u8] {
    let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || line.get(digits) != Some(&b' ') {
        return line;
    }
    let message = &line[digits + 1..];
    let declared: Option<usize> = std::str::from_utf8(&line[..digits])
        .ok()
        .and_then(|d| d.parse().ok());
    // loggen's form counts the LF that ends the line; a bare count also passes.
    match declared {
        Some(n) if n == message.len() + 1 || n == message.len() => message,
        _ => line,
    }
}
