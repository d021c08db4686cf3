//! The open-file limit: raised from the soft to the hard limit at start, so
//! that the listeners' and the HTTP port's connection limits, not the
//! operating system's default of 1024, decide how many connections fit.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors kept out of the HTTP port's reach for the store, the
/// listeners' sockets and the outputs.
pub(crate) const RESERVED: u64 = 64;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft
/// limit now in force (`None` when unlimited or unknown).
pub(crate) fn raise_nofile() -> Option<u64> {
    let current = getrlimit(Resource::Nofile);
    let wanted = Rlimit {
        current: current.maximum,
        maximum: current.maximum,
    };
    if current.current != current.maximum {
        match setrlimit(Resource::Nofile, wanted) {
            Ok(()) => tracing::info!(
                from = ?current.current,
                to = ?current.maximum,
                "open-file limit raised to the hard limit"
            ),
            Err(err) => {
                tracing::warn!(error = %err, soft = ?current.current, "cannot raise the open-file limit");
                return current.current;
            }
        }
    }
    getrlimit(Resource::Nofile).current
}

/// The HTTP port's connection limit under an open-file limit of `nofile`:
/// `configured`, but at most a quarter of what is left after
/// [`RESERVED`], and at least 8.
pub(crate) fn http_share(configured: usize, nofile: Option<u64>) -> usize {
    match nofile {
        None => configured,
        Some(limit) => {
            let share = usize::try_from(limit.saturating_sub(RESERVED) / 4).unwrap_or(usize::MAX);
            configured.min(share.max(8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_share_leaves_most_descriptors_to_the_rest() {
        assert_eq!(http_share(512, None), 512);
        assert_eq!(http_share(512, Some(1_048_576)), 512);
        assert_eq!(http_share(512, Some(256)), 48);
        assert_eq!(http_share(512, Some(16)), 8);
    }
}
