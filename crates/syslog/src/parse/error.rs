//! The parser's one error type: what was wrong with a line, and the byte
//! where it was found.

/// A line that could not be parsed: what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {kind}")]
pub struct ParseError {
    /// What was wrong.
    pub kind: ParseErrorKind,
    /// Byte offset into the input where the problem was found.
    pub offset: usize,
}

/// What was wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The line is empty.
    #[error("empty line")]
    Empty,
    /// The line is not UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// The line ends inside `<PRI>`, before its `>`.
    #[error("PRI has no closing '>'")]
    PriUnterminated,
    /// What is between `<` and `>` is not 1 to 3 digits.
    #[error("PRI must be 1 to 3 digits")]
    PriNotANumber,
    /// A PRI above 191 (facility 23, severity 7); the value read.
    #[error("PRI value {0} is over 191")]
    PriOutOfRange(u32),
    /// The RFC 5424 VERSION is not 1 to 3 digits, or starts with 0.
    #[error("VERSION must be 1 to 3 digits, not starting with 0")]
    InvalidVersion,
    /// The line ends where this field was expected.
    #[error("line ends where {0} was expected")]
    Truncated(&'static str),
    /// The line ends right after this field.
    #[error("line ends after {0}")]
    EndsAfter(&'static str),
    /// The separating space after this field is missing.
    #[error("expected a space after {0}")]
    MissingSpace(&'static str),
    /// This field is empty where a value or `-` is required.
    #[error("{0} is empty")]
    EmptyField(&'static str),
    /// A character a header field may not contain.
    #[error("{ch:?} is not allowed in {field} (printable US-ASCII only)")]
    InvalidChar {
        /// The field.
        field: &'static str,
        /// The character.
        ch: char,
    },
    /// The timestamp does not parse; what was wrong with it.
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(&'static str),
    /// STRUCTURED-DATA is neither `-` nor `[`.
    #[error("structured data must be '-' or start with '['")]
    SdExpected,
    /// An SD-ELEMENT with an empty SD-ID.
    #[error("SD-ID is empty")]
    SdEmptyId,
    /// An SD-PARAM without a name.
    #[error("SD-PARAM name is empty")]
    SdEmptyParamName,
    /// An SD-PARAM name not followed by `=`.
    #[error("expected '=' after SD-PARAM name")]
    SdExpectedEquals,
    /// An SD-PARAM value that does not start with `"`.
    #[error("expected '\"' to open SD-PARAM value")]
    SdExpectedQuote,
    /// An SD-PARAM value without its closing `"`.
    #[error("unterminated quoted SD-PARAM value")]
    SdUnterminatedValue,
    /// An SD-ELEMENT without its closing `]`.
    #[error("unbalanced '[': SD-ELEMENT has no closing ']'")]
    SdUnterminatedElement,
    /// A character that cannot appear at this place in structured data.
    #[error("unexpected {0:?} in structured data")]
    SdUnexpectedChar(char),
    /// No dialect recognises the line.
    #[error("not a syslog line: no <PRI>, timestamp or Junos structured-data body")]
    Unrecognized,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, offset: usize) -> Self {
        ParseError { kind, offset }
    }
}

pub(crate) type Result<T> = std::result::Result<T, ParseError>;
