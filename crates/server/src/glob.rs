//! The glob patterns of output filters and policy matches: `*` and `?`.
//! It imports nothing of the server, so both may use it.

/// `*` matches any run of characters (also none), `?` exactly one; every
/// other character matches itself (case-sensitive, as codes and host names
/// are compared in the store).
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with one backtrack point: linear in practice,
    // O(len(p) * len(t)) at worst, never recursive.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("JUNOSCOPE_*", "JUNOSCOPE_LOGIN_FAILURE"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*LOGIN*", "UI_LOGIN_EVENT"));
        assert!(glob_match("UI_?OGIN_EVENT", "UI_LOGIN_EVENT"));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("a*b*c", "a-x-b-y-"));
        assert!(!glob_match("JUNOSCOPE_*", "UI_LOGIN_EVENT"));
        assert!(!glob_match("abc", "abcd"));
        assert!(!glob_match("abc?", "abc"));
        assert!(glob_match("router*.example.net", "router12.example.net"));
        assert!(!glob_match("junoscope*", "JUNOSCOPE_X"));
        // Many stars against a long text stays fast and correct.
        let long = "a".repeat(10_000);
        assert!(!glob_match("*a*a*a*a*a*b", &long));
    }
}
