//! The JUNOScope event catalog (filled in by the catalog work).
