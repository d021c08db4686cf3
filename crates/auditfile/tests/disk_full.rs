//! A real full disk and a real read-only file system, on small tmpfs mounts.
//!
//! Mounting needs root with CAP_SYS_ADMIN (true on the project's machines and CI); where the
//! mount is refused the tests say so on stderr and return, because nothing else here can make
//! a write fail with ENOSPC or EROFS for root.

mod common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::{all_lines, config, numbered};
use netaudit_auditfile::{AuditFile, AuditFileError, OnFull};

struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    // mount(2) has no safe std wrapper; the call below is the audited one.
    #[allow(unsafe_code)]
    fn mount(size: &str, read_only: bool) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let target = CString::new(dir.path().as_os_str().as_bytes()).ok()?;
        let source = CString::new("tmpfs").ok()?;
        let data = CString::new(format!("size={size},mode=0755")).ok()?;
        let flags = if read_only { libc::MS_RDONLY } else { 0 };
        // SAFETY: every pointer is a NUL-terminated string that outlives the call.
        let rc = unsafe {
            libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                source.as_ptr(),
                flags,
                data.as_ptr().cast(),
            )
        };
        if rc != 0 {
            let error = std::io::Error::last_os_error();
            // CI runs as root and must exercise a real full disk: never skip there.
            assert!(
                std::env::var_os("CI").is_none(),
                "cannot mount a tmpfs ({error}); the full-disk tests need root"
            );
            eprintln!(
                "SKIPPED: cannot mount a tmpfs ({error}); run as root to test a real full disk"
            );
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    // umount2(2) has no safe std wrapper either.
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        if let Ok(target) = CString::new(self.dir.path().as_os_str().as_bytes()) {
            // SAFETY: a NUL-terminated path that outlives the call.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

fn fill_until_disk_full(compress: bool) {
    let Some(fs) = Tmpfs::mount("64k", false) else {
        return;
    };
    let mut cfg = config(fs.path(), 8 * 1024, 30, OnFull::Stop);
    cfg.compress = compress;
    cfg.max_total_bytes = 10 * 1024 * 1024; // far above the 64 KiB the disk really has
    let mut file = AuditFile::open(cfg).unwrap();
    let mut accepted: Vec<String> = Vec::new();
    let mut seq = 0;
    let mut failure = None;
    for _ in 0..1000 {
        let batch = numbered(seq, 10, 300);
        seq += 10;
        match file.write_batch(&common::as_bytes(&batch)) {
            Ok(out) => {
                assert!(!out.is_storage_full(), "{out:?}");
                accepted.extend(batch);
            }
            Err(e) => {
                failure = Some((e, batch));
                break;
            }
        }
    }
    let Some((err, batch)) = failure else {
        panic!("64 KiB never filled up");
    };
    assert!(err.is_disk_full(), "{err:?}");
    let msg = err.to_string();
    assert!(
        err.path().is_some_and(|p| p.starts_with(fs.path())),
        "{msg}"
    );
    assert!(
        msg.contains("storage full") && msg.contains("No space left"),
        "{msg}"
    );
    eprintln!(
        "after {} accepted lines, as expected: {msg}",
        accepted.len()
    );

    // Only whole lines on disk (all_lines checks the final LF of every file): the accepted
    // ones, then at most a prefix of the failed batch (at-least-once: the caller resends it).
    let on_disk = all_lines(fs.path(), "messages");
    assert!(on_disk.starts_with(&accepted), "accepted lines lost");
    let extra = on_disk.get(accepted.len()..).unwrap_or_default();
    assert!(batch.starts_with(extra), "{extra:?}");
    assert!(!fs.path().join("messages.rotating.tmp").exists());
    let current_len = std::fs::metadata(fs.path().join("messages")).unwrap().len();
    assert_eq!(file.usage().current_bytes, current_len);

    // The operator frees space (moves the archives away): the batch goes through.
    for archive in common::family_files(fs.path(), "messages") {
        if archive.file_name().is_some_and(|n| n != "messages") {
            std::fs::remove_file(archive).unwrap();
        }
    }
    let out = file.write_batch(&common::as_bytes(&batch)).unwrap();
    assert_eq!(out.written(), batch.len());
}

#[test]
fn a_full_disk_is_reported_as_disk_full_naming_the_file_with_no_half_line() {
    fill_until_disk_full(false);
}

#[test]
fn a_full_disk_during_a_compressed_rotation_is_reported_and_leaves_no_temp_file() {
    fill_until_disk_full(true);
}

#[test]
fn a_read_only_file_system_gives_an_error_naming_the_file_and_the_cause() {
    let Some(fs) = Tmpfs::mount("64k", true) else {
        return;
    };
    let err = AuditFile::open(config(fs.path(), 1024, 3, OnFull::Stop)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, AuditFileError::Io { .. }), "{err:?}");
    assert!(
        msg.contains(&*fs.path().join("messages").to_string_lossy()),
        "{msg}"
    );
    assert!(msg.contains("Read-only file system"), "{msg}");
}
