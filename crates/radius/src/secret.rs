//! The RADIUS shared secret.

use zeroize::Zeroize;

use crate::RadiusError;

/// The shortest secret [`SharedSecret::new`] accepts: RFC 2865 section 3
/// says the secret SHOULD be at least 16 octets.
pub const MIN_SECRET_LEN: usize = 16;

/// The longest secret accepted. RFC 2865 sets no upper bound; 128 octets is
/// the limit of common servers (Microsoft NPS, many NAS implementations), and
/// a longer secret adds nothing to MD5's 128-bit state.
pub const MAX_SECRET_LEN: usize = 128;

/// A RADIUS shared secret.
///
/// Its bytes are never printed: `Debug` shows `SharedSecret(<redacted>)`
/// and there is no `Display`. They are overwritten with zeros when the
/// value is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(Vec<u8>);

impl SharedSecret {
    /// A secret of [`MIN_SECRET_LEN`]..=[`MAX_SECRET_LEN`] octets.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<SharedSecret, RadiusError> {
        Self::checked(bytes.into(), MIN_SECRET_LEN)
    }

    /// A secret of 1..=[`MAX_SECRET_LEN`] octets, for servers that are
    /// already configured with a shorter secret than RFC 2865 prefers.
    /// Only the empty secret is refused.
    pub fn new_allow_short(bytes: impl Into<Vec<u8>>) -> Result<SharedSecret, RadiusError> {
        Self::checked(bytes.into(), 1)
    }

    /// A secret read from a file's contents: one trailing `\n` or `\r\n`
    /// (as editors leave) is removed, nothing else, then [`SharedSecret::new`]'s
    /// rules apply.
    pub fn from_file_contents(contents: &[u8]) -> Result<SharedSecret, RadiusError> {
        let trimmed = contents
            .strip_suffix(b"\r\n")
            .or_else(|| contents.strip_suffix(b"\n"))
            .unwrap_or(contents);
        Self::new(trimmed)
    }

    fn checked(mut bytes: Vec<u8>, min: usize) -> Result<SharedSecret, RadiusError> {
        let len = bytes.len();
        let problem = if len == 0 {
            Some(RadiusError::SecretEmpty)
        } else if len < min {
            Some(RadiusError::SecretTooShort { len, min })
        } else if len > MAX_SECRET_LEN {
            Some(RadiusError::SecretTooLong {
                len,
                max: MAX_SECRET_LEN,
            })
        } else {
            None
        };
        match problem {
            Some(error) => {
                bytes.zeroize();
                Err(error)
            }
            None => Ok(SharedSecret(bytes)),
        }
    }

    /// The secret's octets, for the MD5 computations of this crate.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// How many octets the secret has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: an empty secret cannot be built.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

impl Drop for SharedSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert_eq!(SharedSecret::new(""), Err(RadiusError::SecretEmpty));
        assert_eq!(
            SharedSecret::new("fifteen-octets!"),
            Err(RadiusError::SecretTooShort { len: 15, min: 16 })
        );
        assert!(SharedSecret::new("sixteen-octets!!").is_ok());
        assert!(SharedSecret::new(vec![b'x'; 128]).is_ok());
        assert_eq!(
            SharedSecret::new(vec![b'x'; 129]),
            Err(RadiusError::SecretTooLong { len: 129, max: 128 })
        );
        assert!(SharedSecret::new_allow_short("xyzzy5461").is_ok());
        assert_eq!(
            SharedSecret::new_allow_short(""),
            Err(RadiusError::SecretEmpty)
        );
        assert!(SharedSecret::new_allow_short(vec![b'x'; 129]).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let secret = SharedSecret::new("a-very-secret-value").unwrap();
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("very"), "{shown}");
        assert_eq!(format!("{secret:?}"), "SharedSecret(<redacted>)");
    }

    #[test]
    fn file_contents_lose_one_line_end_only() {
        let a = SharedSecret::from_file_contents(b"0123456789abcdef\n").unwrap();
        let b = SharedSecret::from_file_contents(b"0123456789abcdef\r\n").unwrap();
        assert_eq!(a.as_bytes(), b"0123456789abcdef");
        assert_eq!(a, b);
        let c = SharedSecret::from_file_contents(b"0123456789abcdef \n\n").unwrap();
        assert_eq!(c.as_bytes(), b"0123456789abcdef \n");
        assert!(SharedSecret::from_file_contents(b"\n").is_err());
    }
}
