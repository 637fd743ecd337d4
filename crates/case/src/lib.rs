//! The kahu case store (SQLite + FTS5)
