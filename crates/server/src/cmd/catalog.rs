//! `netaudit catalog`: the JUNOScope event catalog as an aligned table or as
//! JSON (every field of every entry).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use netaudit_event::catalog::{catalog, CatalogEntry};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print the full entries as a JSON array instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let entries = catalog().entries();
    let text = if args.json {
        let mut json =
            serde_json::to_string_pretty(entries).context("cannot encode the catalog")?;
        json.push('\n');
        json
    } else {
        table(entries)
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to standard output")?;
    Ok(ExitCode::SUCCESS)
}

/// The RADIUS Acct-Status-Types an entry sends, e.g. `Start,Stop`, or `-`.
fn radius_column(entry: &CatalogEntry) -> String {
    match &entry.radius {
        None => "-".to_string(),
        Some(spec) => spec
            .records
            .iter()
            .map(|r| r.status_type.name())
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// One row per entry, columns padded to their widest cell, then the aliases.
fn table(entries: &[CatalogEntry]) -> String {
    const HEADER: [&str; 5] = ["CODE", "GROUP", "TYPE", "SEVERITY", "RADIUS"];
    let rows: Vec<[String; 5]> = entries
        .iter()
        .map(|e| {
            [
                e.code.clone(),
                e.group.clone(),
                e.kind.name().to_string(),
                e.severity.name().to_string(),
                radius_column(e),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: [&str; 5]| {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(HEADER);
    for row in &rows {
        push_row([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    let aliases: Vec<String> = entries
        .iter()
        .flat_map(|e| e.aliases.iter().map(move |a| format!("{a} = {}", e.code)))
        .collect();
    if !aliases.is_empty() {
        out.push_str(&format!(
            "\n{} codes; aliases: {}\n",
            entries.len(),
            aliases.join(", ")
        ));
    } else {
        out.push_str(&format!("\n{} codes\n", entries.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_aligned_and_lists_every_code() {
        let text = table(catalog().entries());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("CODE"));
        let group_column = lines[0].find("GROUP").unwrap();
        for line in &lines[1..=catalog().entries().len()] {
            assert!(line.starts_with("JUNOSCOPE_"), "{line}");
            assert_eq!(line.as_bytes()[group_column - 1], b' ');
            assert_ne!(line.as_bytes()[group_column], b' ', "{line}");
        }
        assert!(text.contains("JUNOSCOPE_LOGIN_FAILURE"));
        assert!(text.contains("Start,Stop"));
        assert!(text.contains("JUNOSCOPE_LOGIN_SUCCESS = JUNOSCOPE_LOGIN_SUCCESSFUL"));
    }
}
