//! Helpers shared by the behaviour tests.

use std::path::Path;

/// A captured packet: its shared secret and bytes.
pub(crate) struct Vector {
    pub secret: String,
    pub bytes: Vec<u8>,
}

/// Reads `tests/data/<name>`: `#` comments, `secret: ...`, `hex: ...`.
pub(crate) fn vector(name: &str) -> Vector {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key))
            .unwrap_or_else(|| panic!("{} has no {key}", path.display()))
            .trim()
            .to_string()
    };
    Vector {
        secret: field("secret:"),
        bytes: hex::decode(field("hex:")).unwrap(),
    }
}
