//! The embedded store's text patterns as PostgreSQL reads them: the code
//! glob (SQLite GLOB) as an anchored regular expression, checked first so
//! that a glob PostgreSQL would refuse is the caller's error, and `text`
//! as an `ILIKE` pattern.

use crate::error::{PgStoreError, Result};

/// The embedded store's code glob (SQLite GLOB: `*`, `?`, `[...]` with
/// `[^...]`/`[!...]`, case-sensitive) as an anchored POSIX regular
/// expression. A class whose range runs backwards (`[z-a]`) is refused:
/// PostgreSQL rejects it, and SQLite would match nothing with it.
pub(crate) fn glob_regex(glob: &str) -> Result<String> {
    let mut out = String::with_capacity(glob.len() + 8);
    out.push('^');
    let mut chars = glob.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                // A class runs to the next `]` (a `]` first is part of it);
                // without one the `[` is literal, as in SQLite.
                let rest: Vec<char> = chars.clone().collect();
                let skip = usize::from(matches!(rest.first(), Some('!' | '^')));
                let from = skip + usize::from(rest.get(skip) == Some(&']'));
                match rest.iter().skip(from).position(|&ch| ch == ']') {
                    Some(at) => {
                        let class = &rest[..from + at];
                        check_ranges(glob, &class[skip..])?;
                        out.push('[');
                        for (i, &ch) in class.iter().enumerate() {
                            match ch {
                                '!' | '^' if i == 0 => out.push('^'),
                                // `[:`, `[.`, `[=` open POSIX classes and
                                // collating elements in PostgreSQL; a GLOB
                                // has none: `[` is itself there.
                                '\\' | '[' | '^' => {
                                    out.push('\\');
                                    out.push(ch);
                                }
                                ch => out.push(ch),
                            }
                        }
                        out.push(']');
                        for _ in 0..=class.len() {
                            chars.next();
                        }
                    }
                    None => out.push_str("\\["),
                }
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == ' ' || !c.is_ascii() => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    out.push('$');
    Ok(out)
}

/// Refuses a range of `class` (without its negation) that runs backwards.
fn check_ranges(glob: &str, class: &[char]) -> Result<()> {
    let mut i = 0;
    while i < class.len() {
        if i + 2 < class.len() && class[i + 1] == '-' {
            let (low, high) = (class[i], class[i + 2]);
            if low > high {
                return Err(PgStoreError::BadCodeGlob {
                    glob: glob.chars().take(200).collect(),
                    detail: format!("the range {low}-{high} runs backwards"),
                });
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Checks a code glob as a query on a PostgreSQL store reads it.
pub fn check_code_glob(glob: &str) -> Result<()> {
    glob_regex(glob).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_anchored_regular_expressions() {
        let re = |g: &str| glob_regex(g).unwrap();
        assert_eq!(re("JUNOSCOPE_LOGIN_*"), "^JUNOSCOPE_LOGIN_.*$");
        assert_eq!(re("UI_?B"), "^UI_.B$");
        assert_eq!(re("A[0-9]"), "^A[0-9]$");
        assert_eq!(re("A[!x]"), "^A[^x]$");
        assert_eq!(re("A[^x]"), "^A[^x]$");
        assert_eq!(re("a.b(c)"), "^a\\.b\\(c\\)$");
        assert_eq!(re("a[b"), "^a\\[b$");
        assert_eq!(re("[[:alpha:]]"), "^[\\[:alpha:]\\]$");
        assert_eq!(re("[a^]"), "^[a\\^]$");
    }

    #[test]
    fn backward_ranges_are_refused_by_name() {
        for bad in ["[z-a]", "UI_[b-a]*", "[!9-0]"] {
            let err = glob_regex(bad).unwrap_err().to_string();
            assert!(err.contains("runs backwards"), "{err}");
            assert!(err.contains(bad), "{err}");
        }
        assert!(check_code_glob("[a-a]").is_ok());
        assert!(check_code_glob("[-z]").is_ok());
    }
}
