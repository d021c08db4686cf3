//! netaudit's embedded event database.
