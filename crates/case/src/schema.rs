//! Schema and migrations.
//!
//! The schema version lives in `PRAGMA user_version`. Each entry of
//! [`MIGRATIONS`] moves a case from version `i` to `i + 1`; opening a case
//! applies the missing ones in one transaction, so a case written by an older
//! kahu is upgraded in place and a failed upgrade leaves it untouched.

use rusqlite::{Connection, Transaction};

/// One schema step.
pub(crate) type Migration = fn(&Transaction<'_>) -> rusqlite::Result<()>;

/// Every migration, oldest first. Never edit a released entry: add one.
pub(crate) const MIGRATIONS: &[Migration] = &[v1, v2, v3, v4, v5, v6, v7, v8];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// v1: evidence inventory, events with FTS, findings, JSON documents, audit.
fn v1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        -- Interned host/channel/provider names: 5M events share a few
        -- hundred distinct values, so rows and indexes store integers.
        CREATE TABLE names(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL,
                           n INTEGER NOT NULL DEFAULT 0, UNIQUE(kind, value));
        CREATE TABLE evidence(
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            member TEXT,
            size INTEGER,
            sha256 TEXT,
            format TEXT,
            event_count INTEGER NOT NULL DEFAULT 0,
            ingested_at TEXT NOT NULL,
            warnings TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX evidence_sha ON evidence(sha256);
        CREATE TABLE events(
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,          -- µs since the epoch, UTC; NO_TIME when unknown
            host_id INTEGER,
            channel_id INTEGER,
            provider_id INTEGER,
            event_id INTEGER,
            evidence_id INTEGER NOT NULL REFERENCES evidence(id),
            loc_kind INTEGER NOT NULL,    -- 0 file, 1 record, 2 line, 3 offset
            loc INTEGER,
            fields TEXT NOT NULL          -- JSON object, original order
        );
        CREATE INDEX events_ts ON events(ts);
        CREATE INDEX events_host_ts ON events(host_id, ts);
        CREATE INDEX events_channel_ts ON events(channel_id, ts);
        CREATE INDEX events_eid_ts ON events(event_id, ts);
        CREATE INDEX events_prov ON events(evidence_id, loc);
        -- Contentless: the text lives once, in events.fields; the index only
        -- maps tokens to event ids.
        CREATE VIRTUAL TABLE events_fts USING fts5(text, content='', tokenize='unicode61 remove_diacritics 2');
        CREATE TABLE findings(
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            rule_id TEXT NOT NULL,
            title TEXT NOT NULL,
            level INTEGER NOT NULL,       -- 0 informational … 4 critical
            techniques TEXT NOT NULL,     -- JSON array
            software TEXT NOT NULL,
            groups_ TEXT NOT NULL,
            ts INTEGER NOT NULL,
            host TEXT,
            channel TEXT,
            event_id INTEGER,
            event_rowid INTEGER REFERENCES events(id),
            file TEXT NOT NULL,
            member TEXT,
            loc_kind INTEGER NOT NULL,
            loc INTEGER,
            fields TEXT NOT NULL,         -- JSON array of [name, value]
            related TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX findings_event ON findings(event_rowid);
        CREATE INDEX findings_rule ON findings(rule_id);
        CREATE INDEX findings_level_ts ON findings(level, ts);
        CREATE INDEX findings_ts ON findings(ts);
        CREATE TABLE documents(
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            version INTEGER NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            author TEXT NOT NULL
        );
        CREATE INDEX documents_kind ON documents(kind, id);
        CREATE TABLE audit(
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            before TEXT,
            after TEXT
        );
        "#,
    )
}

/// v2: analyst judgement (notes, verdicts, disputed evidence) and an
/// account column for the timeline's account filter, back-filled from the
/// stored fields of existing events.
fn v2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE notes(
            id INTEGER PRIMARY KEY,
            target_kind TEXT NOT NULL,
            target_id TEXT NOT NULL,
            body TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX notes_target ON notes(target_kind, target_id);
        CREATE TABLE verdicts(
            id INTEGER PRIMARY KEY,
            target_kind TEXT NOT NULL,
            target_id TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('agree', 'disagree')),
            rationale TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX verdicts_target ON verdicts(target_kind, target_id);
        CREATE TABLE disputes(
            id INTEGER PRIMARY KEY,
            target_kind TEXT NOT NULL,
            target_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL,
            withdrawn_at TEXT
        );
        CREATE INDEX disputes_target ON disputes(target_kind, target_id);
        ALTER TABLE events ADD COLUMN account_id INTEGER;
        "#,
    )?;
    // Back-fill accounts with the same precedence the writer uses.
    let mut coalesce = String::from("coalesce(");
    for (i, name) in crate::writer::ACCOUNT_FIELDS.iter().enumerate() {
        if i > 0 {
            coalesce.push_str(", ");
        }
        coalesce.push_str(&format!(
            "nullif(nullif(json_extract(fields, '$.\"{name}\"'), '-'), '')"
        ));
    }
    coalesce.push(')');
    tx.execute_batch(&format!(
        "INSERT OR IGNORE INTO names(kind, value) SELECT DISTINCT 'account', {coalesce} AS a FROM events WHERE a IS NOT NULL;
         UPDATE events SET account_id = (SELECT id FROM names WHERE kind = 'account' AND value = {coalesce});
         UPDATE names SET n = (SELECT count(*) FROM events WHERE account_id = names.id) WHERE kind = 'account';
         CREATE INDEX events_account_ts ON events(account_id, ts);"
    ))
}

/// Floor division of `ts` by `unit` in SQL (SQLite's `/` truncates).
fn floor_sql(unit: i64) -> String {
    format!("(CASE WHEN ts >= 0 THEN ts / {unit} ELSE -((-ts - 1) / {unit}) - 1 END)")
}

/// v3: event-count rollups per minute (whole case) and per hour and
/// (host, channel, event id), so the timeline histogram of millions of
/// events reads thousands of rows instead of scanning the events.
fn v3(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let m = floor_sql(crate::writer::MINUTE_US);
    let h = floor_sql(crate::writer::HOUR_US);
    let none = crate::NO_TIME;
    tx.execute_batch(&format!(
        "CREATE TABLE hist_minute(minute INTEGER PRIMARY KEY, n INTEGER NOT NULL);
         CREATE TABLE hist_hour(hour INTEGER NOT NULL, host_id INTEGER NOT NULL, channel_id INTEGER NOT NULL,
                                event_id INTEGER NOT NULL, n INTEGER NOT NULL,
                                PRIMARY KEY(hour, host_id, channel_id, event_id)) WITHOUT ROWID;
         INSERT INTO hist_minute SELECT {m}, count(*) FROM events WHERE ts > {none} GROUP BY 1;
         INSERT INTO hist_hour SELECT {h}, coalesce(host_id, 0), coalesce(channel_id, 0), coalesce(event_id, -1), count(*)
             FROM events WHERE ts > {none} GROUP BY 1, 2, 3, 4;"
    ))
}

/// v4: an evidence file whose content (SHA-256) is already in the case
/// keeps its own row, pointing at the file whose events stand for it
/// (`same_as`), so every file read is listed with its own provenance while
/// its events are stored once.
fn v4(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE evidence ADD COLUMN same_as INTEGER REFERENCES evidence(id);
         CREATE INDEX evidence_same_as ON evidence(same_as);",
    )
}

/// v5: `events.fields` may be a raw-deflate BLOB of the JSON object
/// (`crate::fields`). No table changes: older rows stay text and read as
/// before; the version bump makes an older kahu refuse the case (schema too
/// new) instead of failing on the BLOBs.
fn v5(_tx: &Transaction<'_>) -> rusqlite::Result<()> {
    Ok(())
}

/// v6: a bulk load may leave the full-text index and the timeline indexes
/// to be built later (`meta` keys `fts_pending_from`,
/// `timeline_indexes_pending`; see `crate::fulltext`). No table changes;
/// the bump makes an older kahu refuse the case (schema too new) instead of
/// answering searches from a half-built index.
fn v6(_tx: &Transaction<'_>) -> rusqlite::Result<()> {
    Ok(())
}

/// v7: the fields of events written by a bulk load live in LZ4-compressed
/// blocks of consecutive events (`event_blocks`, see `crate::blocks`);
/// such an event's row names its block and position and leaves its own
/// `fields` empty. Rows written before keep their `fields` and read as
/// before; an older kahu refuses the case (schema too new) instead of
/// showing events without fields.
fn v7(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE event_blocks(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
         ALTER TABLE events ADD COLUMN block_id INTEGER;
         ALTER TABLE events ADD COLUMN block_pos INTEGER;",
    )
}

/// v8: event blocks may hold the fields in a binary form
/// (`crate::binfields`) instead of JSON; `event_blocks.encoding` says
/// which (`crate::blocks`). Blocks written before are JSON (0) and read as
/// before; an older kahu refuses the case (schema too new) instead of
/// reading binary blocks as damaged ones.
fn v8(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE event_blocks ADD COLUMN encoding INTEGER NOT NULL DEFAULT 0;")
}

/// Bring `conn` to [`SCHEMA_VERSION`] (or to `target` in tests).
pub(crate) fn migrate(conn: &mut Connection, target: u32) -> Result<u32, crate::Error> {
    let version = |c: &Connection| -> rusqlite::Result<u32> {
        c.query_row("PRAGMA user_version", [], |r| r.get(0))
    };
    let current = version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(crate::Error::TooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    if current >= target {
        return Ok(current);
    }
    // Under the write lock, read the version again: another process may
    // have created or upgraded the case while this one waited.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current = version(&tx)?;
    if current >= target {
        return Ok(current);
    }
    for (i, step) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(current as usize)
    {
        step(&tx).map_err(|e| crate::Error::Migration {
            version: i as u32 + 1,
            source: e,
        })?;
    }
    tx.pragma_update(None, "user_version", target)?;
    tx.commit()?;
    Ok(target)
}
