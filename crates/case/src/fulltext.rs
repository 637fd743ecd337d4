//! The full-text and timeline indexes, built after the load.
//!
//! Tokenising every event into FTS5 was about a third of the case writer's
//! work, and building the five timeline indexes (each a scan of the whole
//! events table and a sort) most of its commit, on the one SQLite writer
//! thread that `kahu assess` waits for. A bulk load
//! ([`crate::Case::bulk_writer`]) therefore stores events without
//! full-text entries and records where the unindexed events begin (meta key
//! [`PENDING_KEY`]); when it dropped the timeline and provenance indexes (a
//! load of more than 50,000 events into an empty case) it leaves them
//! dropped and says so
//! ([`TIMELINE_KEY`]). [`Case::build_indexes`] builds both later — `kahu
//! serve` starts it in the background when it opens such a case, `kahu
//! case index DIR` runs it on its own. Until it is done a text search fails
//! with [`Error::FullTextPending`] instead of silently missing events; other
//! timeline queries give the same answers, only more slowly.
//!
//! The timeline indexes are built in one transaction (sorts spill to
//! temporary files, so memory stays bounded). The full-text build works in
//! chunks of [`CHUNK`] events, one transaction each, and
//! moves the marker forward with each commit: it holds the write lock only
//! briefly (an analyst's note waits at most one chunk), uses bounded memory,
//! and an interrupted build resumes where it stopped.

use crate::{Case, Error, Result};
use rusqlite::{OptionalExtension, params};

/// `meta` key holding the id of the first event not yet in the index.
pub(crate) const PENDING_KEY: &str = "fts_pending_from";

/// `meta` key present while the deferred timeline indexes are missing.
pub(crate) const TIMELINE_KEY: &str = "timeline_indexes_pending";

/// Events indexed per transaction.
const CHUNK: i64 = 20_000;

/// Memory for pending full-text terms (FTS5 `hashsize`): bigger segments
/// mean fewer merges; bounded, and stored with the table.
pub(crate) const FTS_HASH_BYTES: i64 = 32 << 20;

/// Indexes a bulk load left to build: events not yet in the full-text
/// index, and whether the timeline indexes are missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IndexBacklog {
    /// The timeline indexes (time, host, channel, event id, account) are
    /// still to build.
    pub timeline: bool,
    /// Id of the first event not indexed.
    pub next_event: i64,
    /// Id of the last event in the case.
    pub last_event: i64,
}

impl IndexBacklog {
    /// Events left to add to the full-text index (ids are dense, so this
    /// is exact for a case written by kahu).
    pub fn remaining(&self) -> u64 {
        (self.last_event - self.next_event + 1).max(0) as u64
    }
}

/// The marker as stored (`None`: every event is indexed).
pub(crate) fn pending_from(conn: &rusqlite::Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1",
        [PENDING_KEY],
        |r| r.get(0),
    )
    .optional()
}

/// Record that the timeline indexes were left out.
pub(crate) fn mark_timeline_pending(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES (?1, '1')",
        [TIMELINE_KEY],
    )?;
    Ok(())
}

fn timeline_pending(conn: &rusqlite::Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM meta WHERE key = ?1)",
        [TIMELINE_KEY],
        |r| r.get(0),
    )
}

/// Record that events from `first_event` on are not indexed, unless an
/// earlier marker already says so.
pub(crate) fn mark_pending(conn: &rusqlite::Connection, first_event: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES (?1, ?2)",
        params![PENDING_KEY, first_event.to_string()],
    )?;
    Ok(())
}

impl Case {
    /// What the full-text index still lacks, or `None` when every event is
    /// searchable.
    pub fn index_backlog(&self) -> Result<Option<IndexBacklog>> {
        let timeline = timeline_pending(&self.conn)?;
        let last_event: i64 =
            self.conn
                .query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))?;
        let next_event = match pending_from(&self.conn)? {
            Some(n) => n,
            None if timeline => last_event + 1,
            None => return Ok(None),
        };
        Ok(Some(IndexBacklog {
            timeline,
            next_event,
            last_event,
        }))
    }

    /// Build the timeline indexes a bulk load left out, in one transaction.
    pub(crate) fn build_timeline_indexes(&mut self) -> Result<()> {
        // Sorts spill to temporary files (bounded memory), on two threads.
        self.conn.pragma_update(None, "temp_store", "FILE")?;
        self.conn.pragma_update(None, "threads", 2)?;
        let tx = self.write_tx()?;
        if timeline_pending(&tx)? {
            for (_, create) in crate::writer::DEFERRED_INDEXES {
                tx.execute_batch(&create.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS "))?;
            }
            tx.execute("DELETE FROM meta WHERE key = ?1", [TIMELINE_KEY])?;
        }
        tx.commit()?;
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        Ok(())
    }

    /// Build what bulk loads left out: the timeline indexes first, then the
    /// full-text entries of every unindexed event; `progress` is called
    /// after each step. Returns the number of events added to the full-text
    /// index (0 when none was pending). Safe to run beside
    /// readers and another writer (chunked, see the module notes); two
    /// builds at once are not harmful either — each chunk re-reads the
    /// marker under the write lock.
    pub fn build_indexes(&mut self, mut progress: impl FnMut(IndexBacklog)) -> Result<u64> {
        let mut done = 0u64;
        let mut text = String::new();
        // Read the events through the bounded page cache, not a memory map
        // of the whole case (which counts the case's size into the
        // process's memory: 1.15 GB peak for 680k events, measured).
        self.conn.pragma_update(None, "mmap_size", 0)?;
        if timeline_pending(&self.conn)? {
            self.build_timeline_indexes()?;
            if let Some(backlog) = self.index_backlog()? {
                progress(backlog);
            }
        }
        loop {
            let tx = self.write_tx()?;
            let Some(from) = pending_from(&tx)? else {
                return Ok(done);
            };
            tx.execute(
                "INSERT INTO events_fts(events_fts, rank) VALUES ('hashsize', ?1)",
                [FTS_HASH_BYTES],
            )?;
            let mut last = None;
            {
                let mut read = tx.prepare(
                    "SELECT id, event_id, fields, block_id, block_pos FROM events WHERE id >= ?1 ORDER BY id LIMIT ?2",
                )?;
                let mut insert =
                    tx.prepare("INSERT INTO events_fts(rowid, text) VALUES (?1, ?2)")?;
                let mut rows = read.query(params![from, CHUNK])?;
                // Events in id order: each block is inflated once.
                let mut cache = crate::blocks::BlockCache::default();
                while let Some(r) = rows.next()? {
                    let id: i64 = r.get(0)?;
                    let windows = r.get::<_, Option<i64>>(1)?.is_some();
                    let json = crate::blocks::event_fields(
                        &tx,
                        &mut cache,
                        r.get_ref(2)?,
                        (r.get(3)?, r.get(4)?),
                    )?;
                    let fields = match kahu_event::Value::from_json(json) {
                        kahu_event::Value::Object(f) => f,
                        _ => kahu_event::Fields::default(),
                    };
                    text.clear();
                    crate::writer::flatten_fields(&fields, windows, &mut text);
                    insert.execute(params![id, text])?;
                    last = Some(id);
                    done += 1;
                }
            }
            match last {
                Some(id) => tx.execute(
                    "UPDATE meta SET value = ?2 WHERE key = ?1",
                    params![PENDING_KEY, (id + 1).to_string()],
                )?,
                None => tx.execute("DELETE FROM meta WHERE key = ?1", [PENDING_KEY])?,
            };
            tx.commit()?;
            if let Some(backlog) = self.index_backlog()? {
                progress(backlog);
            }
        }
    }

    /// Fail with [`Error::FullTextPending`] while events are unindexed.
    pub(crate) fn require_full_text(&self) -> Result<()> {
        if pending_from(&self.conn)?.is_none() {
            return Ok(());
        }
        match self.index_backlog()? {
            Some(b) => Err(Error::FullTextPending {
                remaining: b.remaining(),
            }),
            None => Ok(()),
        }
    }
}
