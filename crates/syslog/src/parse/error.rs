//! The parser's one error type: what was wrong with a line, and the byte
//! where it was found.

/// A line that could not be parsed: what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {kind}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    /// Byte offset into the input where the problem was found.
    pub offset: usize,
}

/// What was wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("empty line")]
    Empty,
    #[error("invalid UTF-8")]
    InvalidUtf8,
    #[error("PRI has no closing '>'")]
    PriUnterminated,
    #[error("PRI must be 1 to 3 digits")]
    PriNotANumber,
    #[error("PRI value {0} is over 191")]
    PriOutOfRange(u32),
    #[error("VERSION must be 1 to 3 digits, not starting with 0")]
    InvalidVersion,
    #[error("line ends where {0} was expected")]
    Truncated(&'static str),
    #[error("line ends after {0}")]
    EndsAfter(&'static str),
    #[error("expected a space after {0}")]
    MissingSpace(&'static str),
    #[error("{0} is empty")]
    EmptyField(&'static str),
    #[error("{ch:?} is not allowed in {field} (printable US-ASCII only)")]
    InvalidChar { field: &'static str, ch: char },
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(&'static str),
    #[error("structured data must be '-' or start with '['")]
    SdExpected,
    #[error("SD-ID is empty")]
    SdEmptyId,
    #[error("SD-PARAM name is empty")]
    SdEmptyParamName,
    #[error("expected '=' after SD-PARAM name")]
    SdExpectedEquals,
    #[error("expected '\"' to open SD-PARAM value")]
    SdExpectedQuote,
    #[error("unterminated quoted SD-PARAM value")]
    SdUnterminatedValue,
    #[error("unbalanced '[': SD-ELEMENT has no closing ']'")]
    SdUnterminatedElement,
    #[error("unexpected {0:?} in structured data")]
    SdUnexpectedChar(char),
    #[error("not a syslog line: no <PRI>, timestamp or Junos structured-data body")]
    Unrecognized,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, offset: usize) -> Self {
        ParseError { kind, offset }
    }
}

pub(crate) type Result<T> = std::result::Result<T, ParseError>;
