//! The full-text index, built after the load.
//!
//! Tokenising every event into FTS5 was about a third of the case writer's
//! work, on the one SQLite writer thread that `kahu assess` waits for. A
//! bulk load ([`crate::Case::bulk_writer`]) therefore stores events without
//! indexing them and records where the unindexed events begin (meta key
//! [`PENDING_KEY`]); [`Case::build_full_text`] indexes them later — `kahu
//! serve` starts it in the background when it opens such a case, `kahu
//! case index DIR` runs it on its own. Until it is done a text search fails
//! with [`Error::FullTextPending`] instead of silently missing events.
//!
//! The build works in chunks of [`CHUNK`] events, one transaction each, and
//! moves the marker forward with each commit: it holds the write lock only
//! briefly (an analyst's note waits at most one chunk), uses bounded memory,
//! and an interrupted build resumes where it stopped.

use crate::{Case, Error, Result};
use rusqlite::{OptionalExtension, params};

/// `meta` key holding the id of the first event not yet in the index.
pub(crate) const PENDING_KEY: &str = "fts_pending_from";

/// Events indexed per transaction.
const CHUNK: i64 = 20_000;

/// Memory for pending full-text terms (FTS5 `hashsize`): bigger segments
/// mean fewer merges; bounded, and stored with the table.
pub(crate) const FTS_HASH_BYTES: i64 = 32 << 20;

/// Events stored but not yet in the full-text index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FullTextBacklog {
    /// Id of the first event not indexed.
    pub next_event: i64,
    /// Id of the last event in the case.
    pub last_event: i64,
}

impl FullTextBacklog {
    /// Events left to index (ids are dense, so this is exact for a case
    /// written by kahu).
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
    pub fn full_text_backlog(&self) -> Result<Option<FullTextBacklog>> {
        let Some(next_event) = pending_from(&self.conn)? else {
            return Ok(None);
        };
        let last_event: i64 =
            self.conn
                .query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))?;
        Ok(Some(FullTextBacklog {
            next_event,
            last_event,
        }))
    }

    /// Index every event the last bulk load left out of the full-text
    /// index; `progress` is called after each chunk. Returns the number of
    /// events indexed (0 when nothing was pending). Safe to run beside
    /// readers and another writer (chunked, see the module notes); two
    /// builds at once are not harmful either — each chunk re-reads the
    /// marker under the write lock.
    pub fn build_full_text(&mut self, mut progress: impl FnMut(FullTextBacklog)) -> Result<u64> {
        let mut done = 0u64;
        let mut text = String::new();
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
                    "SELECT id, event_id, fields FROM events WHERE id >= ?1 ORDER BY id LIMIT ?2",
                )?;
                let mut insert =
                    tx.prepare("INSERT INTO events_fts(rowid, text) VALUES (?1, ?2)")?;
                let mut rows = read.query(params![from, CHUNK])?;
                while let Some(r) = rows.next()? {
                    let id: i64 = r.get(0)?;
                    let windows = r.get::<_, Option<i64>>(1)?.is_some();
                    let fields =
                        match kahu_event::Value::from_json(crate::fields::decode(r.get_ref(2)?)) {
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
            if let Some(backlog) = self.full_text_backlog()? {
                progress(backlog);
            }
        }
    }

    /// Fail with [`Error::FullTextPending`] while events are unindexed.
    pub(crate) fn require_full_text(&self) -> Result<()> {
        match self.full_text_backlog()? {
            Some(b) => Err(Error::FullTextPending {
                remaining: b.remaining(),
            }),
            None => Ok(()),
        }
    }
}
