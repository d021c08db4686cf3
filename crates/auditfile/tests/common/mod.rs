//! Helpers shared by the behaviour tests: configs with small limits and a reader of a family.

#![allow(dead_code)]

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;
use netaudit_auditfile::{AuditFileConfig, OnFull, SyncPolicy};

pub(crate) fn config(dir: &Path, max_file: u64, archives: u32, on_full: OnFull) -> AuditFileConfig {
    let mut cfg = AuditFileConfig {
        dir: dir.to_path_buf(),
        name: "messages".into(),
        max_file_bytes: max_file,
        archives,
        compress: true,
        max_total_bytes: 0,
        on_full,
        sync: SyncPolicy::EveryBatch,
    };
    cfg.max_total_bytes = cfg.min_total_bytes() * 100;
    cfg
}

/// Content of one file of the family, decompressed when it is a `.gz`.
pub(crate) fn content(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    if path.extension().is_some_and(|e| e == "gz") {
        GzDecoder::new(File::open(path).unwrap())
            .read_to_end(&mut out)
            .unwrap();
    } else {
        out = fs::read(path).unwrap();
    }
    out
}

/// Archive paths of `name` in `dir`, oldest first, then the current file.
pub(crate) fn family_files(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut archives: Vec<(u32, std::path::PathBuf)> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let file_name = e.file_name().into_string().unwrap();
            let rest = file_name.strip_prefix(&format!("{name}."))?;
            let index = rest.strip_suffix(".gz").unwrap_or(rest).parse().ok()?;
            Some((index, e.path()))
        })
        .collect();
    archives.sort_by_key(|a| std::cmp::Reverse(a.0));
    let mut files: Vec<_> = archives.into_iter().map(|(_, p)| p).collect();
    let current = dir.join(name);
    if current.exists() {
        files.push(current);
    }
    files
}

/// Every line of the family, oldest archive first, current file last.
pub(crate) fn all_lines(dir: &Path, name: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for path in family_files(dir, name) {
        let text = String::from_utf8(content(&path)).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{} ends with a partial line",
            path.display()
        );
        lines.extend(text.lines().map(str::to_string));
    }
    lines
}

/// Bytes on disk of the family (current + archives), as `du` would add them up.
pub(crate) fn disk_bytes(dir: &Path, name: &str) -> u64 {
    family_files(dir, name)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum()
}

/// `n` distinct lines of `len` bytes each (without LF), numbered from `first`.
pub(crate) fn numbered(first: usize, n: usize, len: usize) -> Vec<String> {
    (first..first + n)
        .map(|i| {
            let mut s = format!("line {i:06} ");
            while s.len() < len {
                s.push(char::from(b'a' + (s.len() % 26) as u8));
            }
            s.truncate(len);
            s
        })
        .collect()
}

pub(crate) fn as_bytes(lines: &[String]) -> Vec<&[u8]> {
    lines.iter().map(|l| l.as_bytes()).collect()
}
