//! Prometheus text exposition format, version 0.0.4: the one writer every
//! metric family goes through, so that label values are escaped alike.

use std::fmt::{Display, Write as _};

/// `# HELP` and `# TYPE` of one family.
pub(crate) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample: `name{label="value",...} value`, or `name value` without
/// labels. Label values are escaped.
pub(crate) fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, text)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(label);
            out.push_str("=\"");
            push_escaped(out, text);
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// A family with a single unlabelled sample.
pub(crate) fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl Display) {
    header(out, name, kind, help);
    sample(out, name, &[], value);
}

/// Label values escape backslash, double quote and newline.
fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Regroups Prometheus text so that each family's HELP and TYPE appear once,
/// followed by all its samples, in order of first appearance.
pub(crate) fn group_families(text: &str) -> String {
    let mut families: Vec<(String, Vec<&str>, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        let (name, is_header) = match line.strip_prefix("# ") {
            Some(rest) => (rest.split_whitespace().nth(1).unwrap_or(""), true),
            None => (line.split(['{', ' ']).next().unwrap_or(""), false),
        };
        let index = match families.iter().position(|(n, _, _)| n == name) {
            Some(i) => i,
            None => {
                families.push((name.to_owned(), Vec::new(), Vec::new()));
                families.len() - 1
            }
        };
        let family = &mut families[index];
        if is_header {
            if !family.1.contains(&line) {
                family.1.push(line);
            }
        } else {
            family.2.push(line);
        }
    }
    let mut out = String::with_capacity(text.len());
    for (_, headers, samples) in families {
        for line in headers.into_iter().chain(samples) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape_label(value: &str) -> String {
        let mut out = String::new();
        push_escaped(&mut out, value);
        out
    }

    #[test]
    fn families_from_several_outputs_are_grouped_under_one_header() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total{output=\"x\"} 1\n\
                    # HELP b B.\n# TYPE b gauge\nb{output=\"x\"} 2\n\
                    # HELP a_total A.\n# TYPE a_total counter\na_total{output=\"y\"} 3\n\
                    # HELP b B.\n# TYPE b gauge\nb{output=\"y\"} 4\n";
        assert_eq!(
            group_families(text),
            "# HELP a_total A.\n# TYPE a_total counter\na_total{output=\"x\"} 1\na_total{output=\"y\"} 3\n\
             # HELP b B.\n# TYPE b gauge\nb{output=\"x\"} 2\nb{output=\"y\"} 4\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
