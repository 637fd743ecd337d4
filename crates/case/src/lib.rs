//! The kahu case store: one SQLite database (`case.sqlite`, WAL, FTS5) in
//! the case directory that `kahu assess --out` writes.
//!
//! It keeps everything an analyst pivots through after an assessment: the
//! evidence inventory, every normalised event (full-text indexed), every
//! finding, the reconstruction and attribution documents (stored as
//! versioned JSON so this crate does not depend on the crates that make
//! them), and the analyst's own judgement — notes, verdicts, disputed
//! evidence — with an audit trail of who changed what.
//!
//! * [`Case::create`] / [`Case::open`] / [`Case::open_read_only`]
//! * [`CaseWriter`] for bulk ingest, incremental by file hash; a bulk
//!   load packs event fields into compressed blocks ([`BlockBuilder`])
//! * [`Case::query_events`] with keyset pagination (and
//!   [`Case::query_timeline`] through an outside [`TimelineIndex`]), [`Case::histogram`],
//!   [`Case::facets`], [`Case::event`], [`Case::process_tree`]
//! * [`Case::document`] / [`Case::set_document`], notes, verdicts,
//!   disputes and [`Case::audit_log`]

mod analyst;
mod binfields;
mod blocks;
pub use blocks::STORE_ERROR_FIELD;
mod doc_kind;
mod event_runs;
pub use event_runs::EventRuns;
mod fields;
mod fulltext;
mod query;
mod schema;
pub mod synth;
mod timeline_index;
mod tree;
mod writer;

pub use analyst::{AuditEntry, DisputedEvidence, Document, Note, Verdict, VerdictKind};
pub use blocks::{BLOCK_BYTES, BLOCK_EVENTS, BlockBuilder, EventBlock, OWN_ROW_MIN};
pub use doc_kind::DocKind;
pub use fulltext::IndexBacklog;
pub use query::{
    CaseSummary, Cursor, EventDetail, EventPage, EventQuery, EventRow, Facet, Facets, FindingQuery,
    FindingRow, Histogram, MAX_LIMIT, ProvenanceOut, RuleSummary,
};
pub use schema::SCHEMA_VERSION;
pub use timeline_index::{
    COMMON_TERM_MATCHES, INDEX_MIN_EVENTS, IndexExtent, Phrase, Route, Routing, SearchTerms,
    TimelineAnswer, TimelineIndex, TimelineRow, fold_name, fts_tokens, index_cannot, route,
    search_terms,
};
pub use tree::ProcessNode;
pub use writer::{
    CaseWriter, EncodedEvent, EvidenceInfo, INDEXED_IN_PART, IngestStats, sha256_file,
};

/// Stops a query running on a [`Case`] from another thread
/// ([`Case::interrupt_handle`]).
pub use rusqlite::InterruptHandle;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};

/// Page size of new case databases, bytes.
pub const PAGE_SIZE: i64 = 16384;

/// File name of the database inside a case directory.
pub const DB_FILE: &str = "case.sqlite";

/// How long a writer waits for another writer (a second `hunt --case`, a
/// `kahu serve` note during an ingest) before giving up. An ingest holds
/// the write lock for its whole load, so this is long: a second writer
/// waits, it does not abort.
pub const WRITE_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// How long a 0-byte case.sqlite may stay empty before it is refused as a
/// failed copy: another kahu creating the case writes its header within
/// milliseconds of creating the file.
const EMPTY_FILE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Timestamp stored for events without a usable time. It sorts before
/// every real time, so such events lead the timeline instead of vanishing.
pub const NO_TIME: i64 = i64::MIN;

/// Errors of the case store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite failed.
    #[error("case database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The case was written by a newer kahu.
    #[error(
        "case schema version {found} is newer than this kahu supports ({supported}); upgrade kahu"
    )]
    TooNew {
        /// Version found in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// A migration step failed; the case is left at its previous version.
    #[error("upgrading case schema to version {version}: {source}")]
    Migration {
        /// The version being migrated to.
        version: u32,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The case directory holds an assessment of other evidence.
    #[error(
        "{}: the case store holds another case (evidence: {before}), not this evidence ({now}); use a new --out directory, or remove {} to start over",
        dir.display(), dir.join(DB_FILE).display()
    )]
    DifferentCase {
        /// The case directory.
        dir: PathBuf,
        /// The evidence the stored case was assessed over.
        before: String,
        /// The evidence of this run.
        now: String,
    },
    /// No case database in the directory.
    #[error("{0}: not a kahu case (no {DB_FILE})")]
    NotACase(PathBuf),
    /// A text search on a case whose full-text index is still being built
    /// ([`Case::build_indexes`]).
    #[error(
        "indexing…: the full-text index of this case is being built ({remaining} events to go); search again in a moment, or run `kahu case index DIR`"
    )]
    FullTextPending {
        /// Events not yet indexed.
        remaining: u64,
    },
    /// A caller-supplied value was rejected.
    #[error("{0}")]
    Invalid(String),
    /// JSON (de)serialisation failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// SQLite said the database is busy (another writer holds it).
    fn is_busy(&self) -> bool {
        let sql = match self {
            Error::Sql(e) | Error::Migration { source: e, .. } => e,
            _ => return false,
        };
        matches!(sql, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy)
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// An open case. Not `Sync`: give each thread its own (opening is cheap,
/// and WAL lets readers run beside one writer).
pub struct Case {
    pub(crate) conn: Connection,
    dir: PathBuf,
}

impl Case {
    /// Create the case directory (if needed) and its database, or open and
    /// upgrade an existing one.
    pub fn create(dir: impl AsRef<Path>) -> Result<Case> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Self::open_rw(dir, schema::SCHEMA_VERSION, true)
    }

    /// Open an existing case for reading and writing, upgrading its schema.
    pub fn open(dir: impl AsRef<Path>) -> Result<Case> {
        Self::open_rw(dir.as_ref(), schema::SCHEMA_VERSION, false)
    }

    /// Open an existing case without write access (no upgrade either: an
    /// old case must be opened read-write once).
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Case> {
        let dir = dir.as_ref();
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(Error::NotACase(dir.to_path_buf()));
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Self::tune(&conn, std::time::Duration::from_secs(5))?;
        let v: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if v != schema::SCHEMA_VERSION {
            return Err(Error::Invalid(format!(
                "{}: case schema version {v}, expected {}; open it read-write once to upgrade",
                path.display(),
                schema::SCHEMA_VERSION
            )));
        }
        Ok(Case {
            conn,
            dir: dir.to_path_buf(),
        })
    }

    /// Open at a given schema version; tests use this to build old cases.
    #[doc(hidden)]
    pub fn open_at_version(dir: impl AsRef<Path>, version: u32) -> Result<Case> {
        Self::open_rw(dir.as_ref(), version, true)
    }

    fn open_rw(dir: &Path, version: u32, create: bool) -> Result<Case> {
        // SQLite answers "busy" without waiting in a few places the busy
        // timeout does not cover (several connections creating a fresh
        // database and switching it to WAL at once): try again, bounded.
        let deadline = std::time::Instant::now() + WRITE_BUSY_TIMEOUT;
        loop {
            match Self::try_open_rw(dir, version, create) {
                Err(e) if e.is_busy() && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                result => return result,
            }
        }
    }

    fn try_open_rw(dir: &Path, version: u32, create: bool) -> Result<Case> {
        let path = dir.join(DB_FILE);
        if !create && !path.is_file() {
            return Err(Error::NotACase(dir.to_path_buf()));
        }
        // SQLite opens a 0-byte file as an empty database, and the
        // migration would then write a fresh schema into it: `serve` showed
        // a truncated case as a clean one ("no findings") and rewrote it.
        // A case another kahu is creating this instant is 0 bytes too,
        // until its first pragma writes the header (milliseconds): wait a
        // little before calling the file a failed copy.
        if !create && !Self::grows_past_empty(&path, EMPTY_FILE_GRACE) {
            return Err(Error::Invalid(format!(
                "{}: empty file (0 bytes), not a case (a failed copy?); kahu does not make a new case of it",
                path.display()
            )));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let mut conn = Connection::open_with_flags(&path, flags)?;
        // Before anything that takes a lock (switching to WAL does).
        conn.busy_timeout(WRITE_BUSY_TIMEOUT)?;
        // Only takes effect on a new, still empty database (before WAL and
        // the first table): event rows average 2 KiB, and a 4 KiB page holds
        // one of them, wasting a third of the file; 16 KiB pages hold
        // several, so the store is smaller and written faster.
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Self::tune(&conn, WRITE_BUSY_TIMEOUT)?;
        schema::migrate(&mut conn, version)?;
        Ok(Case {
            conn,
            dir: dir.to_path_buf(),
        })
    }

    /// Whether the file at `path` is not empty, or stops being empty
    /// within `grace`.
    fn grows_past_empty(path: &Path, grace: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + grace;
        loop {
            match std::fs::metadata(path) {
                Ok(m) if m.len() == 0 => {}
                _ => return true,
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn tune(conn: &Connection, busy: std::time::Duration) -> Result<()> {
        // A busy writer must not fail a reader (or another writer) outright.
        conn.busy_timeout(busy)?;
        conn.pragma_update(None, "cache_size", -65536)?; // 64 MiB
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
        Ok(())
    }

    /// The case directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// A write transaction that takes the database's write lock at once
    /// (`BEGIN IMMEDIATE`), waiting for another writer up to
    /// [`WRITE_BUSY_TIMEOUT`]. A deferred transaction that reads first and
    /// writes later cannot wait: SQLite fails it with "database is locked"
    /// when another writer committed in between.
    pub(crate) fn write_tx(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// The fingerprint of the evidence set this case was assessed over
    /// (see [`Case::claim_evidence_set`]).
    pub fn evidence_fingerprint(&self) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'evidence_fingerprint'",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Bind the case to an evidence set: the first assessment stores its
    /// fingerprint; a later one over a different set is refused with
    /// [`Error::DifferentCase`], so two cases never mix in one store
    /// (events of both, the first's notes and verdicts shown against the
    /// second). A case without a fingerprint (written by `hunt --case`, or
    /// by an older kahu) is claimed.
    pub fn claim_evidence_set(&mut self, fingerprint: &str, described: &str) -> Result<()> {
        let dir = self.dir.clone();
        let tx = self.write_tx()?;
        let stored: Option<(String, Option<String>)> = {
            use rusqlite::OptionalExtension;
            tx.query_row(
                "SELECT value, (SELECT value FROM meta WHERE key = 'evidence_described') FROM meta WHERE key = 'evidence_fingerprint'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
        };
        match stored {
            Some((f, _)) if f == fingerprint => Ok(()),
            Some((_, before)) => Err(Error::DifferentCase {
                dir,
                before: before.unwrap_or_default(),
                now: described.to_string(),
            }),
            None => {
                tx.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('evidence_fingerprint', ?1), ('evidence_described', ?2)",
                    [fingerprint, described],
                )?;
                tx.commit()?;
                Ok(())
            }
        }
    }

    /// Start a bulk ingest. Everything written through the writer is
    /// committed by [`CaseWriter::finish`]; dropping it rolls back.
    pub fn writer(&mut self) -> Result<CaseWriter<'_>> {
        CaseWriter::new(&mut self.conn, false)
    }

    /// A writer for a load of many events (the pipeline's event writer):
    /// the same transaction as [`Case::writer`], but its reads go through
    /// the bounded page cache instead of a memory map of the whole file,
    /// index sorts spill to temporary files, so the load's memory does not
    /// grow with the case; and the full-text index is left for
    /// [`Case::build_indexes`] (see the `fulltext` module notes).
    pub fn bulk_writer(&mut self) -> Result<CaseWriter<'_>> {
        CaseWriter::new(&mut self.conn, true)
    }

    /// Prepare a case that holds no events yet for its first bulk load:
    /// switch it from WAL to a rollback journal for the load. In WAL mode
    /// every page of the load is written twice, into the WAL and again by
    /// the checkpoint; a rollback journal saves only pages that existed
    /// when the transaction began, and a first load appends nearly all of
    /// its pages, so they are written once. A crash mid-load still rolls
    /// back from the journal. Returns whether the switch happened; it is
    /// skipped (WAL stays) when the case has events or another connection
    /// has it open, since leaving WAL needs the database to itself and
    /// would otherwise make readers and the load block each other. The
    /// cost: a process that opens the case after the switch (`kahu serve`
    /// on a case still being created) waits for the load, or is told the
    /// database is busy, instead of seeing an empty case. Call
    /// [`Case::end_first_load`] after the load; the next [`Case::open`]
    /// returns to WAL too.
    pub fn begin_first_load(&mut self) -> Result<bool> {
        let empty: bool =
            self.conn
                .query_row("SELECT NOT EXISTS (SELECT 1 FROM events)", [], |r| r.get(0))?;
        if !empty {
            return Ok(false);
        }
        // Leaving WAL while another connection is open fails as busy: do
        // not wait the writer's long timeout for it, keep WAL instead.
        self.conn.busy_timeout(std::time::Duration::ZERO)?;
        let mode = self
            .conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| {
                r.get::<_, String>(0)
            });
        self.conn.busy_timeout(WRITE_BUSY_TIMEOUT)?;
        match mode {
            Ok(m) => Ok(m.eq_ignore_ascii_case("delete")),
            Err(e) => {
                let e = Error::Sql(e);
                if e.is_busy() { Ok(false) } else { Err(e) }
            }
        }
    }

    /// Return a case to WAL after [`Case::begin_first_load`], so readers
    /// (`kahu serve`) and a writer work side by side again.
    pub fn end_first_load(&mut self) -> Result<()> {
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        Ok(())
    }

    /// A handle another thread can use to stop the statement running on
    /// this case's connection (it fails with an "interrupted" error).
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.conn.get_interrupt_handle()
    }

    /// Direct access for callers that need a query this API lacks.
    /// Prefer adding a method here.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// The fingerprint of an evidence set (SHA-256 over the sorted absolute
/// paths given as evidence) and a short description of it for messages.
/// Paths, not contents: re-assessing a folder that gained files is the
/// same case; pointing the same output at another folder is not.
pub fn evidence_fingerprint(paths: &[PathBuf]) -> (String, String) {
    use sha2::{Digest, Sha256};
    let mut abs: Vec<String> = paths
        .iter()
        .map(|p| match kahu_event::evidence_name(p) {
            // A spooled object store prefix: its URL, not the temporary folder.
            Some(n) => n.name.to_string(),
            None => std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string(),
        })
        .collect();
    abs.sort();
    abs.dedup();
    let mut h = Sha256::new();
    for p in &abs {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let fingerprint = h
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let described = kahu_event::text::clip_marked(&abs.join(", "), 300);
    (fingerprint, described)
}

/// Current UTC time as RFC 3339, for `created_at` columns.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Render stored µs as RFC 3339, `None` for [`NO_TIME`].
pub fn format_micros(us: i64) -> Option<String> {
    if us == NO_TIME {
        return None;
    }
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// Encode a location for the `loc_kind`/`loc` columns.
pub(crate) fn loc_parts(l: &kahu_event::Location) -> (i64, Option<i64>) {
    use kahu_event::Location::*;
    match *l {
        File => (0, None),
        Record(r) => (1, Some(r as i64)),
        Line(n) => (2, Some(n as i64)),
        Offset(o) => (3, Some(o as i64)),
    }
}

/// Decode the `loc_kind`/`loc` columns.
pub(crate) fn loc_from(kind: i64, loc: Option<i64>) -> kahu_event::Location {
    use kahu_event::Location::*;
    let v = loc.unwrap_or(0) as u64;
    match kind {
        1 => Record(v),
        2 => Line(v),
        3 => Offset(v),
        _ => File,
    }
}
