//! Configuration of one audit file family and its validation.

use std::path::PathBuf;

use crate::error::AuditFileError;

/// Most archives one family may keep; Junos accepts `archive files` from 1 to 1000.
pub const MAX_ARCHIVES: u32 = 1000;

/// What to do when the audit storage is full (NDcPP FAU_STG_EXT.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFull {
    /// Delete the oldest archives to make room, and report each deletion to the caller.
    OverwriteOldest,
    /// Write nothing more and report `StorageFull`; nothing is deleted, nothing is lost:
    /// the caller keeps the lines (in the store) and retries after space is freed.
    Stop,
}

/// When written lines are forced to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncPolicy {
    /// `fdatasync` at the end of every `write_batch` (the caller's cursor may then advance).
    EveryBatch,
    /// Lines go to the page cache only; `flush_sync` forces them out. Rotation always syncs.
    Never,
}

/// One audit file family: `dir/name` (current) and its archives `dir/name.<i>[.gz]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFileConfig {
    /// Directory holding the current file and its archives; created (mode 0750) if missing.
    pub dir: PathBuf,
    /// File name of the current file, e.g. `messages`: letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// Rotate when the next line (with its LF) would make the current file larger than this.
    pub max_file_bytes: u64,
    /// How many archives to keep (Junos `archive files N`), 1 to 1000.
    pub archives: u32,
    /// Gzip archives: `name.0.gz` newest .. `name.<N-1>.gz` oldest; otherwise `name.0` ..
    pub compress: bool,
    /// Bound on the bytes of the whole family (current file + archives) on disk.
    pub max_total_bytes: u64,
    /// Behaviour when the bound or the archive count is reached.
    pub on_full: OnFull,
    /// When lines are forced to stable storage.
    pub sync: SyncPolicy,
}

impl AuditFileConfig {
    /// The smallest `max_total_bytes` that holds a full current file plus one archive of it,
    /// so that a rotation can always complete once older archives are out of the way.
    pub fn min_total_bytes(&self) -> u64 {
        self.max_file_bytes
            .saturating_add(archive_size_bound(self.max_file_bytes, self.compress))
    }

    /// Checks every key; the error names the key and says what would work.
    pub fn validate(&self) -> Result<(), AuditFileError> {
        if self.dir.as_os_str().is_empty() {
            return Err(config("dir", "is empty; give the audit directory".into()));
        }
        validate_name(&self.name)?;
        if self.max_file_bytes == 0 {
            return Err(config(
                "max_file_bytes",
                "is 0; a file must hold at least one line".into(),
            ));
        }
        if self.archives == 0 || self.archives > MAX_ARCHIVES {
            return Err(config(
                "archives",
                format!(
                    "is {}; it must be between 1 and {MAX_ARCHIVES}",
                    self.archives
                ),
            ));
        }
        let min_total = self.min_total_bytes();
        if self.max_total_bytes < min_total {
            return Err(config(
                "max_total_bytes",
                format!(
                    "is {}; it must be at least {min_total} to hold a full file of max_file_bytes = {} plus one {}archive of it",
                    self.max_total_bytes,
                    self.max_file_bytes,
                    if self.compress { "compressed " } else { "" }
                ),
            ));
        }
        Ok(())
    }
}

/// Upper bound on the size of the archive of a `len`-byte file.
///
/// miniz_oxide (flate2's default backend) promises at most `len * 1.1 + 128` for the deflate
/// stream; gzip adds an 18-byte header and trailer. `len / 8 + 256` covers both with margin.
pub fn archive_size_bound(len: u64, compress: bool) -> u64 {
    if compress {
        len.saturating_add(len / 8).saturating_add(256)
    } else {
        len
    }
}

fn validate_name(name: &str) -> Result<(), AuditFileError> {
    let Some(first) = name.chars().next() else {
        return Err(config(
            "name",
            "is empty; give a file name such as `messages`".into(),
        ));
    };
    if name.len() > 200 {
        return Err(config(
            "name",
            format!("is {} bytes long; at most 200 are allowed", name.len()),
        ));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(config(
            "name",
            format!("`{name}` must start with a letter or a digit"),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(config(
            "name",
            format!(
                "`{name}` contains {bad:?}; only letters, digits, `.`, `_` and `-` are allowed"
            ),
        ));
    }
    // A suffix that looks like an archive index or a temp name would make this family's current
    // file look like another family's archive in the same directory.
    if let Some((_, suffix)) = name.rsplit_once('.') {
        if suffix.is_empty()
            || suffix.bytes().all(|b| b.is_ascii_digit())
            || suffix == "gz"
            || suffix == "tmp"
            || suffix == "lock"
        {
            return Err(config(
                "name",
                format!("`{name}` ends in `.{suffix}`, which is reserved for archive, temporary and lock files"),
            ));
        }
    }
    Ok(())
}

fn config(key: &'static str, reason: String) -> AuditFileError {
    AuditFileError::Config { key, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> AuditFileConfig {
        AuditFileConfig {
            dir: PathBuf::from("/tmp/audit"),
            name: "messages".into(),
            max_file_bytes: 1000,
            archives: 3,
            compress: true,
            max_total_bytes: 10_000,
            on_full: OnFull::Stop,
            sync: SyncPolicy::EveryBatch,
        }
    }

    fn key_of(cfg: &AuditFileConfig) -> &'static str {
        match cfg.validate() {
            Err(AuditFileError::Config { key, .. }) => key,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn a_sane_config_passes() {
        assert!(valid().validate().is_ok());
    }

    #[test]
    fn each_bad_key_is_named() {
        let mut c = valid();
        c.dir = PathBuf::new();
        assert_eq!(key_of(&c), "dir");
        for bad in [
            "",
            ".hidden",
            "a/b",
            "..",
            "mess ages",
            "a\nb",
            "messages.0",
            "messages.gz",
            "x.tmp",
            "x.lock",
            "x.",
        ] {
            let mut c = valid();
            c.name = bad.into();
            assert_eq!(key_of(&c), "name", "{bad:?}");
        }
        let mut c = valid();
        c.max_file_bytes = 0;
        assert_eq!(key_of(&c), "max_file_bytes");
        for bad in [0, MAX_ARCHIVES + 1] {
            let mut c = valid();
            c.archives = bad;
            assert_eq!(key_of(&c), "archives");
        }
        let mut c = valid();
        c.max_total_bytes = c.min_total_bytes() - 1;
        assert_eq!(key_of(&c), "max_total_bytes");
        c.max_total_bytes += 1;
        assert!(c.validate().is_ok());
    }

    #[test]
    fn the_total_bound_message_says_the_minimum() {
        let mut c = valid();
        c.compress = false;
        c.max_total_bytes = 1999;
        let msg = c.validate().map_err(|e| e.to_string()).err();
        assert_eq!(
            msg.as_deref(),
            Some("audit file configuration: `max_total_bytes` is 1999; it must be at least 2000 to hold a full file of max_file_bytes = 1000 plus one archive of it")
        );
    }

    #[test]
    fn junos_like_names_are_accepted() {
        for good in ["messages", "interactive-commands", "audit_log.1x", "9"] {
            let mut c = valid();
            c.name = good.into();
            assert!(c.validate().is_ok(), "{good}");
        }
    }
}
