//! Bulk ingest: one transaction, cached prepared statements, interned
//! names. Incremental: evidence whose SHA-256 is already in the case is
//! skipped by the caller after [`CaseWriter::begin_evidence`] says so.

use crate::{Error, Result, loc_parts, now};
use kahu_event::{Event, Value};
use kahu_finding::Finding;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};
// hashbrown's default hasher (foldhash, randomly seeded): the writer
// hashes several keys per event, and SipHash showed in its profile.
use hashbrown::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Fields naming the account an event is about, in order of preference:
/// the logon/target account before the acting subject.
pub(crate) const ACCOUNT_FIELDS: &[&str] = &[
    "TargetUserName",
    "User",
    "SubjectUserName",
    "user.name",
    "AccountName",
    "UserName",
    "user",
];

/// Where a stored event came from: evidence id, location kind, location.
type EventKey = (i64, i64, i64);

/// Rollup units, µs.
pub(crate) const MINUTE_US: i64 = 60_000_000;
pub(crate) const HOUR_US: i64 = 3_600_000_000;
/// Rollup entries held in memory before they are flushed mid-ingest;
/// bounds memory when forged timestamps spread over centuries.
const MAX_ROLLUP: usize = 500_000;

/// Timeline indexes dropped while a bulk load fills an empty case and
/// rebuilt once at [`CaseWriter::finish`]: sorting once is several times
/// cheaper than keeping five B-trees ordered row by row. Must match the
/// schema (checked by a test). `events_prov` is one of them: findings look
/// their events up by provenance after the load, all at once
/// ([`CaseWriter::add_findings`]), and one scan of the events serves them
/// for less than keeping that index ordered on every row (≈ 4,000
/// instructions a row, callgrind).
pub(crate) const DEFERRED_INDEXES: &[(&str, &str)] = &[
    (
        "events_prov",
        "CREATE INDEX events_prov ON events(evidence_id, loc)",
    ),
    ("events_ts", "CREATE INDEX events_ts ON events(ts)"),
    (
        "events_host_ts",
        "CREATE INDEX events_host_ts ON events(host_id, ts)",
    ),
    (
        "events_channel_ts",
        "CREATE INDEX events_channel_ts ON events(channel_id, ts)",
    ),
    (
        "events_eid_ts",
        "CREATE INDEX events_eid_ts ON events(event_id, ts)",
    ),
    (
        "events_account_ts",
        "CREATE INDEX events_account_ts ON events(account_id, ts)",
    ),
];

/// Events below which a row-by-row load keeps the indexes (rebuilding
/// costs more), and a bulk load builds them at its end instead of leaving
/// them for [`crate::Case::build_indexes`].
const DEFER_MIN_EVENTS: u64 = 50_000;

/// Kinds of interned names.
#[derive(Clone, Copy)]
pub(crate) enum NameKind {
    Host = 0,
    Channel = 1,
    Provider = 2,
    Account = 3,
}

pub(crate) const NAME_KINDS: [&str; 4] = ["host", "channel", "provider", "account"];

/// Longest text indexed for one event; attacker-controlled fields must not
/// blow up the full-text index (the full value is still stored). Each long
/// value has a budget of its own within it ([`flatten_fields`]).
const MAX_FTS_TEXT: usize = 128 * 1024;

use crate::fulltext::FTS_HASH_BYTES;

/// One evidence file (or archive member) about to be ingested.
#[derive(Debug, Clone, Default)]
pub struct EvidenceInfo {
    /// Path as given by the user or found by the walk.
    pub path: String,
    /// Member path inside an archive.
    pub member: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Lower-case hex SHA-256 of the content; drives incremental skipping.
    pub sha256: Option<String>,
    /// Reader name (`evtx`, `jsonl`…).
    pub format: Option<String>,
}

/// Counts of one ingest.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestStats {
    /// Evidence files registered.
    pub evidence: u64,
    /// Evidence files skipped because their hash was already in the case.
    pub skipped: u64,
    /// Of those, files at a path new to the case: registered with their
    /// own provenance as copies of the stored file (`same_as`).
    pub copies: u64,
    /// Events written.
    pub events: u64,
    /// Findings written.
    pub findings: u64,
}

/// Writes events and findings into a case in one transaction.
pub struct CaseWriter<'c> {
    tx: Transaction<'c>,
    names: [HashMap<String, i64>; 4],
    /// The last name interned of each kind, its id and the uses not yet
    /// added to `name_counts`: consecutive events mostly share their host,
    /// channel and provider, so one comparison replaces two lookups.
    last_names: [Option<(Box<str>, i64, i64)>; 4],
    name_counts: HashMap<i64, i64>,
    evidence: HashMap<(String, Option<String>), i64>,
    evidence_counts: HashMap<i64, i64>,
    warnings: HashMap<i64, Vec<serde_json::Value>>,
    stats: IngestStats,
    last_evidence: Option<(String, Option<String>, i64)>,
    event_id_counts: HashMap<u32, i64>,
    per_minute: HashMap<i64, i64>,
    per_hour: HashMap<(i64, i64, i64, i64), i64>,
    /// The case had no events when the load began: indexes may be deferred.
    empty_case: bool,
    indexes_dropped: bool,
    /// A bulk load: dropped timeline indexes are left for
    /// [`crate::Case::build_indexes`] instead of being rebuilt at commit.
    bulk: bool,
    /// Events are stored without full-text entries, for
    /// [`crate::Case::build_indexes`] to index later.
    defer_full_text: bool,
    /// The pending marker is written (by this load or an earlier one).
    full_text_marked: bool,
    /// Where a bulk load's rows went, for linking findings afterwards.
    runs: Option<crate::EventRuns>,
}

impl<'c> CaseWriter<'c> {
    pub(crate) fn new(conn: &'c mut Connection, bulk: bool) -> Result<Self> {
        if bulk {
            // Reads during a load (index builds, lookups) go through the
            // bounded page cache above, not a memory map of the whole file,
            // which would count the case's size into the process's memory.
            conn.pragma_update(None, "mmap_size", 0)?;
        }
        // Take the write lock now (waiting for another writer), not at the
        // first insert, where SQLite could only fail.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Events already waiting for the index: new ones must wait too, or
        // the later build would index them twice.
        let full_text_marked = crate::fulltext::pending_from(&tx)?.is_some();
        let defer_full_text = bulk || full_text_marked;
        if bulk {
            // Index sorts at commit spill to temporary files instead of
            // growing in memory with the number of events, and use a
            // second thread to sort.
            tx.pragma_update(None, "temp_store", "FILE")?;
            tx.pragma_update(None, "threads", 2)?;
        }
        if !defer_full_text {
            // Pending full-text terms kept in memory before a segment is
            // written (SQLite's default is 1 MiB): bigger segments mean far
            // fewer merges. Bounded, and stored with the table.
            tx.execute(
                "INSERT INTO events_fts(events_fts, rank) VALUES ('hashsize', ?1)",
                [FTS_HASH_BYTES],
            )?;
        }
        let empty_case = tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM events)", [], |r| {
            r.get::<_, bool>(0)
        })?;
        // The page cache for the load (kept for this connection). A bulk
        // load into an empty case only appends (its indexes are dropped):
        // a small cache is enough, and lets SQLite write pages out while
        // detection still runs, instead of holding the whole case until
        // the commit, which wrote 190 MB for Mordor atomic after detection
        // had finished. Other loads update indexes all over: a bigger one.
        let cache_kib: i64 = if bulk && empty_case {
            32 << 10
        } else {
            256 << 10
        };
        tx.pragma_update(None, "cache_size", -cache_kib)?;
        let mut names: [HashMap<String, i64>; 4] = Default::default();
        {
            let mut st = tx.prepare("SELECT id, kind, value FROM names")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let kind: String = r.get(1)?;
                if let Some(k) = NAME_KINDS.iter().position(|n| *n == kind) {
                    names[k].insert(r.get(2)?, r.get(0)?);
                }
            }
        }
        let mut evidence = HashMap::new();
        {
            let mut st = tx.prepare("SELECT id, path, member FROM evidence")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                evidence.insert((r.get(1)?, r.get(2)?), r.get(0)?);
            }
        }
        Ok(CaseWriter {
            tx,
            names,
            last_names: Default::default(),
            name_counts: HashMap::new(),
            evidence,
            evidence_counts: HashMap::new(),
            warnings: HashMap::new(),
            stats: IngestStats::default(),
            last_evidence: None,
            event_id_counts: HashMap::new(),
            per_minute: HashMap::new(),
            per_hour: HashMap::new(),
            empty_case,
            indexes_dropped: false,
            bulk,
            defer_full_text,
            full_text_marked,
            runs: bulk.then(|| crate::EventRuns::new(empty_case)),
        })
    }

    /// Remove every finding, before a re-assessment writes the new set
    /// (findings are recomputed over all evidence each run; events stay).
    pub fn clear_findings(&mut self) -> Result<usize> {
        Ok(self.tx.execute("DELETE FROM findings", [])?)
    }

    /// Remove the findings on one evidence file (before it is hunted again).
    pub fn clear_findings_for_file(&mut self, file: &str) -> Result<usize> {
        Ok(self
            .tx
            .execute("DELETE FROM findings WHERE file = ?1", [file])?)
    }

    /// The evidence row whose events stand for this content, if any.
    fn stored_with_hash(&self, sha256: &str) -> Result<Option<i64>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT id FROM evidence WHERE sha256 = ?1 AND same_as IS NULL ORDER BY id LIMIT 1",
            )?
            .query_row([sha256.to_ascii_lowercase()], |r| r.get(0))
            .optional()?)
    }

    /// Whether evidence with this SHA-256 is already in the case.
    pub fn is_ingested(&self, sha256: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM evidence WHERE sha256 = ?1 LIMIT 1")?
            .query_row([sha256.to_ascii_lowercase()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Register an evidence file. Returns `None` — and registers nothing —
    /// when its hash is already in the case: the caller skips the file.
    ///
    /// A file with the same content as one in the case but at another path
    /// (or member) is still registered, as a copy (`same_as`) of the stored
    /// one: its events are not stored twice, but it keeps its provenance.
    pub fn begin_evidence(&mut self, info: &EvidenceInfo) -> Result<Option<i64>> {
        if let Some(h) = &info.sha256
            && let Some(original) = self.stored_with_hash(h)?
        {
            self.stats.skipped += 1;
            let key = (info.path.clone(), info.member.clone());
            if !self.evidence.contains_key(&key) {
                let id = self.insert_evidence(info)?;
                self.tx
                    .prepare_cached("UPDATE evidence SET same_as = ?1 WHERE id = ?2")?
                    .execute(params![original, id])?;
                self.stats.copies += 1;
            }
            return Ok(None);
        }
        let id = self.insert_evidence(info)?;
        self.stats.evidence += 1;
        Ok(Some(id))
    }

    fn insert_evidence(&mut self, info: &EvidenceInfo) -> Result<i64> {
        let size = info.size.map(|s| s.min(i64::MAX as u64) as i64);
        self.tx
            .prepare_cached(
                "INSERT INTO evidence(path, member, size, sha256, format, ingested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                info.path,
                info.member,
                size,
                info.sha256.as_ref().map(|s| s.to_ascii_lowercase()),
                info.format,
                now()
            ])?;
        let id = self.tx.last_insert_rowid();
        self.evidence
            .insert((info.path.clone(), info.member.clone()), id);
        self.last_evidence = None;
        Ok(id)
    }

    fn evidence_id(&mut self, file: &str, member: Option<&str>) -> Result<i64> {
        // Readers emit runs of events from one file: remember the last hit
        // so the hot path does not allocate a key.
        if let Some((p, m, id)) = &self.last_evidence
            && p == file
            && m.as_deref() == member
        {
            return Ok(*id);
        }
        let key = (file.to_string(), member.map(str::to_string));
        let id = match self.evidence.get(&key) {
            Some(id) => *id,
            None => self.insert_evidence(&EvidenceInfo {
                path: file.to_string(),
                member: member.map(str::to_string),
                ..Default::default()
            })?,
        };
        self.last_evidence = Some((key.0, key.1, id));
        Ok(id)
    }

    fn intern(&mut self, kind: NameKind, value: &str) -> Result<i64> {
        if let Some((last, id, n)) = &mut self.last_names[kind as usize]
            && **last == *value
        {
            *n += 1;
            return Ok(*id);
        }
        let map = &mut self.names[kind as usize];
        let id = match map.get(value) {
            Some(id) => *id,
            None => {
                self.tx
                    .prepare_cached("INSERT INTO names(kind, value) VALUES (?1, ?2)")?
                    .execute(params![NAME_KINDS[kind as usize], value])?;
                let id = self.tx.last_insert_rowid();
                map.insert(value.to_string(), id);
                id
            }
        };
        if let Some((_, old, n)) = self.last_names[kind as usize].replace((value.into(), id, 1)) {
            *self.name_counts.entry(old).or_default() += n;
        }
        Ok(id)
    }

    /// Write one event; returns its id in the case.
    pub fn add_event(&mut self, ev: &Event) -> Result<i64> {
        let encoded = EncodedEvent::new(ev)?;
        self.add_encoded(&encoded)
    }

    /// Write one event encoded by [`EncodedEvent::new`] (on any thread);
    /// returns its id in the case.
    pub fn add_encoded(&mut self, ev: &EncodedEvent) -> Result<i64> {
        let row = self.resolve(ev, None)?;
        let id = {
            let mut st = self.tx.prepare_cached(INSERT_EVENT)?;
            insert_row(&mut st, ev, &row)?;
            self.tx.last_insert_rowid()
        };
        if let Some(runs) = &mut self.runs {
            runs.record(row.evidence_id, ev.loc_kind, ev.loc, id);
        }
        self.recorded(ev, &row, id)?;
        Ok(id)
    }

    /// Write the events of a [`crate::EventBlock`] (encoded on any thread
    /// by a [`crate::BlockBuilder`]): the compressed block once, then one
    /// narrow row per event pointing into it. Returns the events' ids.
    pub fn add_block(&mut self, block: &crate::EventBlock) -> Result<Vec<i64>> {
        let block_id = if block.data.is_empty() {
            None
        } else {
            self.tx
                .prepare_cached("INSERT INTO event_blocks(data, encoding) VALUES (?1, ?2)")?
                .execute(params![&block.data, crate::blocks::ENCODING_BINARY])?;
            Some(self.tx.last_insert_rowid())
        };
        if self.bulk && self.empty_case && !self.indexes_dropped {
            // A bulk load into a new case drops them before its first row,
            // not after DEFER_MIN_EVENTS: it does not know how many events
            // follow, and the first 50,000 rows cost as much in index
            // upkeep as sorting every index once at the end.
            self.drop_deferred_indexes()?;
        }
        // Interning needs the writer, the insert statement borrows it: ids
        // first, then every row through one statement (one cache lookup a
        // block, not one an event), then the counts.
        let rows = block
            .events
            .iter()
            .map(|ev| self.resolve(ev, block_id))
            .collect::<Result<Vec<_>>>()?;
        let mut ids = Vec::with_capacity(rows.len());
        {
            let mut st = self.tx.prepare_cached(INSERT_EVENT)?;
            for (ev, row) in block.events.iter().zip(&rows) {
                insert_row(&mut st, ev, row)?;
                let id = self.tx.last_insert_rowid();
                if let Some(runs) = &mut self.runs {
                    runs.record(row.evidence_id, ev.loc_kind, ev.loc, id);
                }
                ids.push(id);
            }
        }
        for ((ev, row), id) in block.events.iter().zip(&rows).zip(&ids) {
            self.recorded(ev, row, *id)?;
        }
        Ok(ids)
    }

    /// Drop the [`DEFERRED_INDEXES`] for [`CaseWriter::finish`] or
    /// [`crate::Case::build_indexes`] to build.
    fn drop_deferred_indexes(&mut self) -> Result<()> {
        for (name, _) in DEFERRED_INDEXES {
            self.tx
                .execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
        }
        self.indexes_dropped = true;
        Ok(())
    }

    /// The ids an event's row refers to (interning new names).
    fn resolve(&mut self, ev: &EncodedEvent, block_id: Option<i64>) -> Result<RowIds> {
        let (block_id, block_pos) = match (block_id, ev.block_pos) {
            (Some(b), Some(p)) => (Some(b), Some(i64::from(p))),
            (None, Some(_)) => {
                return Err(Error::Invalid(
                    "an event encoded into a block was written without its block".into(),
                ));
            }
            _ => (None, None),
        };
        let evidence_id = self.evidence_id(&ev.file, ev.member.as_deref())?;
        let host = opt_id(self, NameKind::Host, ev.host.as_deref())?;
        let channel = opt_id(self, NameKind::Channel, ev.channel.as_deref())?;
        let provider = opt_id(self, NameKind::Provider, ev.provider.as_deref())?;
        let account = match &ev.account {
            Some(a) => Some(self.intern(NameKind::Account, a)?),
            None => None,
        };
        Ok(RowIds {
            evidence_id,
            host,
            channel,
            provider,
            account,
            block_id,
            block_pos,
        })
    }

    /// Everything but the row itself once event `id` is inserted: its
    /// full-text entry, counts and rollups.
    fn recorded(&mut self, ev: &EncodedEvent, row: &RowIds, id: i64) -> Result<()> {
        let ts = ev.ts;
        match (&ev.text, self.defer_full_text) {
            (Some(text), false) => {
                self.tx
                    .prepare_cached("INSERT INTO events_fts(rowid, text) VALUES (?1, ?2)")?
                    .execute(params![id, text])?;
            }
            // Deferred, or encoded without its entry: from here on the
            // index is built later.
            _ => {
                self.defer_full_text = true;
                if !self.full_text_marked {
                    crate::fulltext::mark_pending(&self.tx, id)?;
                    self.full_text_marked = true;
                }
            }
        }
        *self.evidence_counts.entry(row.evidence_id).or_default() += 1;
        if self.empty_case && !self.indexes_dropped && self.stats.events == DEFER_MIN_EVENTS {
            // Large load into a new case: build the timeline indexes at the end.
            self.drop_deferred_indexes()?;
        }
        if let Some(eid) = ev.event_id {
            *self.event_id_counts.entry(eid).or_default() += 1;
        }
        if ts != crate::NO_TIME {
            *self.per_minute.entry(ts.div_euclid(MINUTE_US)).or_default() += 1;
            let key = (
                ts.div_euclid(HOUR_US),
                row.host.unwrap_or(0),
                row.channel.unwrap_or(0),
                ev.event_id.map_or(-1, i64::from),
            );
            *self.per_hour.entry(key).or_default() += 1;
            if self.per_minute.len() > MAX_ROLLUP || self.per_hour.len() > MAX_ROLLUP {
                self.flush_rollups()?;
            }
        }
        self.stats.events += 1;
        Ok(())
    }

    /// Write one finding. `event` is the id [`CaseWriter::add_event`]
    /// returned for its evidence; when `None` the event is looked up by
    /// provenance (file, member, record/line/offset).
    pub fn add_finding(&mut self, f: &Finding, event: Option<i64>) -> Result<i64> {
        let event = match event {
            Some(id) => Some(id),
            None => match self.event_key(f) {
                Some(key) => {
                    if !self.has_provenance_index()? {
                        // Deferred by a bulk load: one finding at a time needs
                        // the index back (`add_findings` scans instead).
                        let (_, create) = DEFERRED_INDEXES[0];
                        self.tx.execute_batch(
                            &create.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS "),
                        )?;
                    }
                    self.event_by_provenance(key)?
                }
                None => None,
            },
        };
        self.insert_finding(f, event)
    }

    /// Write findings, each linked to the event its provenance names (the
    /// first stored, when the evidence repeats a record). When a bulk load
    /// left the provenance index for later, the events are found in one
    /// scan instead of building that index now.
    pub fn add_findings(&mut self, findings: &[Finding]) -> Result<()> {
        self.add_findings_after(findings, &crate::EventRuns::default())
    }

    /// [`CaseWriter::add_findings`] after a bulk load whose rows are
    /// `runs` ([`CaseWriter::take_event_runs`] of the load's writer): when
    /// the load filled an empty case, each finding's event is looked up
    /// inside the runs instead of by a scan of every event.
    pub fn add_findings_after(
        &mut self,
        findings: &[Finding],
        runs: &crate::EventRuns,
    ) -> Result<()> {
        let keys: Vec<Option<EventKey>> = findings.iter().map(|f| self.event_key(f)).collect();
        let ids: HashMap<EventKey, i64> = if self.has_provenance_index()? {
            let mut ids = HashMap::new();
            for key in keys.iter().flatten() {
                if let Some(id) = self.event_by_provenance(*key)? {
                    ids.insert(*key, id);
                }
            }
            ids
        } else if runs.complete() {
            let mut ids = HashMap::new();
            for key in keys.iter().flatten() {
                if let Some(id) = runs.find(&self.tx, *key)? {
                    ids.insert(*key, id);
                }
            }
            ids
        } else {
            let mut wanted: HashMap<EventKey, Option<i64>> =
                keys.iter().flatten().map(|k| (*k, None)).collect();
            if !wanted.is_empty() {
                let mut st = self
                    .tx
                    .prepare("SELECT id, evidence_id, loc_kind, loc FROM events ORDER BY id")?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    let key = (r.get(1)?, r.get(2)?, r.get::<_, Option<i64>>(3)?);
                    let Some(loc) = key.2 else { continue };
                    if let Some(slot @ None) = wanted.get_mut(&(key.0, key.1, loc)) {
                        *slot = Some(r.get(0)?);
                    }
                }
            }
            wanted
                .into_iter()
                .filter_map(|(k, id)| Some((k, id?)))
                .collect()
        };
        for (f, key) in findings.iter().zip(keys) {
            let event = key.and_then(|k| ids.get(&k).copied());
            self.insert_finding(f, event)?;
        }
        Ok(())
    }

    /// The (evidence id, location kind, location) a finding's event is
    /// stored under; `None` when the finding names no record or the file
    /// is not in the case.
    fn event_key(&self, f: &Finding) -> Option<EventKey> {
        let (loc_kind, loc) = loc_parts(&f.provenance.location);
        let loc = loc.filter(|_| loc_kind != 0)?;
        let key = (
            f.provenance.file.to_string(),
            f.provenance.member.as_ref().map(|m| m.to_string()),
        );
        Some((*self.evidence.get(&key)?, loc_kind, loc))
    }

    fn has_provenance_index(&self) -> Result<bool> {
        let (name, _) = DEFERRED_INDEXES[0];
        Ok(self.tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1)",
            [name],
            |r| r.get(0),
        )?)
    }

    fn event_by_provenance(&self, (evidence, loc_kind, loc): EventKey) -> Result<Option<i64>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT id FROM events WHERE evidence_id = ?1 AND loc = ?2 AND loc_kind = ?3 ORDER BY id LIMIT 1",
            )?
            .query_row(params![evidence, loc, loc_kind], |r| r.get(0))
            .optional()?)
    }

    fn insert_finding(&mut self, f: &Finding, event: Option<i64>) -> Result<i64> {
        let (loc_kind, loc) = loc_parts(&f.provenance.location);
        let ts = f
            .timestamp
            .map(|t| t.timestamp_micros())
            .unwrap_or(crate::NO_TIME);
        self.tx
            .prepare_cached(
                "INSERT INTO findings(kind, rule_id, title, level, techniques, software, groups_, ts, host, channel,
                   event_id, event_rowid, file, member, loc_kind, loc, fields, related)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )?
            .execute(params![
                f.kind.as_str(),
                &*f.rule_id,
                &*f.title,
                f.level as i64,
                serde_json::to_string(&f.techniques)?,
                serde_json::to_string(&f.software)?,
                serde_json::to_string(&f.groups)?,
                ts,
                f.host.as_deref(),
                f.channel.as_deref(),
                f.event_id,
                event,
                &*f.provenance.file,
                f.provenance.member.as_deref(),
                loc_kind,
                loc,
                serde_json::to_string(&f.fields)?,
                serde_json::to_string(&f.related)?,
            ])?;
        self.stats.findings += 1;
        Ok(self.tx.last_insert_rowid())
    }

    /// Record the format (reader or container) a file or archive member
    /// was read as. Evidence is registered before it is read, so this
    /// comes after; a member gets its own row.
    pub fn set_evidence_format(
        &mut self,
        file: &str,
        member: Option<&str>,
        format: &str,
    ) -> Result<()> {
        let id = self.evidence_id(file, member)?;
        self.tx
            .prepare_cached("UPDATE evidence SET format = ?2 WHERE id = ?1")?
            .execute(params![id, format])?;
        Ok(())
    }

    /// Record a reader warning against its evidence file (any serialisable
    /// shape; `kahu_ingest::Warning` serialises to a JSON object).
    pub fn add_warning(
        &mut self,
        file: &str,
        member: Option<&str>,
        warning: serde_json::Value,
    ) -> Result<()> {
        let id = self.evidence_id(file, member)?;
        let list = self.warnings.entry(id).or_default();
        // Bound per file: a corrupt log can warn on every line.
        if list.len() < 1000 {
            list.push(warning);
        }
        Ok(())
    }

    fn flush_rollups(&mut self) -> Result<()> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO hist_minute(minute, n) VALUES (?1, ?2) ON CONFLICT(minute) DO UPDATE SET n = n + excluded.n",
        )?;
        for (m, n) in self.per_minute.drain() {
            st.execute(params![m, n])?;
        }
        let mut st = self.tx.prepare_cached(
            "INSERT INTO hist_hour(hour, host_id, channel_id, event_id, n) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(hour, host_id, channel_id, event_id) DO UPDATE SET n = n + excluded.n",
        )?;
        for ((h, host, ch, eid), n) in self.per_hour.drain() {
            st.execute(params![h, host, ch, eid, n])?;
        }
        Ok(())
    }

    /// Where this bulk load's rows went (empty for other writers), for
    /// [`CaseWriter::add_findings_after`] on the next writer.
    pub fn take_event_runs(&mut self) -> crate::EventRuns {
        self.runs.take().unwrap_or_default()
    }

    /// Commit everything written.
    pub fn finish(mut self) -> Result<IngestStats> {
        self.flush_rollups()?;
        for (_, id, n) in self.last_names.iter_mut().filter_map(Option::take) {
            *self.name_counts.entry(id).or_default() += n;
        }
        if self.indexes_dropped {
            if self.bulk && self.stats.events >= DEFER_MIN_EVENTS {
                // Each build scans the whole events table: left for later,
                // like the full-text index (see `crate::fulltext`).
                crate::fulltext::mark_timeline_pending(&self.tx)?;
            } else {
                for (_, create) in DEFERRED_INDEXES {
                    self.tx.execute_batch(create)?;
                }
            }
        }
        {
            let mut st = self
                .tx
                .prepare("UPDATE names SET n = n + ?2 WHERE id = ?1")?;
            for (id, n) in &self.name_counts {
                st.execute(params![id, n])?;
            }
            // Event-id counts live beside the interned names so the
            // unfiltered facets never scan the events table.
            let mut st = self.tx.prepare(
                "INSERT INTO names(kind, value, n) VALUES ('event_id', ?1, ?2)
                 ON CONFLICT(kind, value) DO UPDATE SET n = n + excluded.n",
            )?;
            for (eid, n) in &self.event_id_counts {
                st.execute(params![eid.to_string(), n])?;
            }
            let mut st = self
                .tx
                .prepare("UPDATE evidence SET event_count = event_count + ?2 WHERE id = ?1")?;
            for (id, n) in &self.evidence_counts {
                st.execute(params![id, n])?;
            }
            let mut get = self
                .tx
                .prepare("SELECT warnings FROM evidence WHERE id = ?1")?;
            let mut set = self
                .tx
                .prepare("UPDATE evidence SET warnings = ?2 WHERE id = ?1")?;
            for (id, new) in &self.warnings {
                let old: String = get.query_row([id], |r| r.get(0))?;
                let mut list: Vec<serde_json::Value> =
                    serde_json::from_str(&old).unwrap_or_default();
                list.extend(new.iter().cloned());
                set.execute(params![id, serde_json::to_string(&list)?])?;
            }
        }
        self.tx.commit()?;
        Ok(self.stats)
    }
}

fn opt_id(w: &mut CaseWriter<'_>, kind: NameKind, v: Option<&str>) -> Result<Option<i64>> {
    match v {
        Some(s) if !s.is_empty() => Ok(Some(w.intern(kind, s)?)),
        _ => Ok(None),
    }
}

/// The insert of one `events` row.
const INSERT_EVENT: &str = "INSERT INTO events(ts, host_id, channel_id, provider_id, event_id, evidence_id, loc_kind, loc, fields, account_id,
                                    block_id, block_pos)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// The ids an `events` row refers to ([`CaseWriter::resolve`]).
struct RowIds {
    evidence_id: i64,
    host: Option<i64>,
    channel: Option<i64>,
    provider: Option<i64>,
    account: Option<i64>,
    block_id: Option<i64>,
    block_pos: Option<i64>,
}

/// Insert one `events` row through `st` ([`INSERT_EVENT`]). Bound one by
/// one with their own types: `execute(params![…])` goes through a `dyn
/// ToSql` per value, about a tenth of the writer thread's time.
fn insert_row(st: &mut rusqlite::Statement<'_>, ev: &EncodedEvent, row: &RowIds) -> Result<()> {
    st.raw_bind_parameter(1, ev.ts)?;
    st.raw_bind_parameter(2, row.host)?;
    st.raw_bind_parameter(3, row.channel)?;
    st.raw_bind_parameter(4, row.provider)?;
    st.raw_bind_parameter(5, ev.event_id)?;
    st.raw_bind_parameter(6, row.evidence_id)?;
    st.raw_bind_parameter(7, ev.loc_kind)?;
    st.raw_bind_parameter(8, ev.loc)?;
    st.raw_bind_parameter(9, &ev.fields)?;
    st.raw_bind_parameter(10, row.account)?;
    st.raw_bind_parameter(11, row.block_id)?;
    st.raw_bind_parameter(12, row.block_pos)?;
    st.raw_execute()?;
    Ok(())
}

/// The account an event is about, if any field names one: the first of
/// [`ACCOUNT_FIELDS`] that `Fields::get_path` finds with a usable value.
///
/// Done in one pass over the fields rather than one lookup per name (each
/// an exact then a case-insensitive scan, most of them missing): this runs
/// for every stored event, and the repeated scans showed in the profile.
pub(crate) fn account_of(ev: &Event) -> Option<String> {
    const N: usize = ACCOUNT_FIELDS.len();
    // Bit `len` set when some name is `len` bytes long: most field names
    // are not, and skip the comparisons (events have dozens of fields).
    const LENGTHS: u64 = {
        let mut bits = 0u64;
        let mut i = 0;
        while i < N {
            bits |= 1 << ACCOUNT_FIELDS[i].len();
            i += 1;
        }
        bits
    };
    // First exact and first case-insensitive match of each name, as
    // `Fields::get` picks them.
    let mut exact: [Option<&Value>; N] = [None; N];
    let mut folded: [Option<&Value>; N] = [None; N];
    for (k, v) in ev.fields.iter() {
        if k.len() >= 64 || LENGTHS & (1 << k.len()) == 0 {
            continue;
        }
        for (i, name) in ACCOUNT_FIELDS.iter().enumerate() {
            if k.len() != name.len() || exact[i].is_some() {
                continue;
            }
            if k == *name {
                exact[i] = Some(v);
            } else if folded[i].is_none() && k.eq_ignore_ascii_case(name) {
                folded[i] = Some(v);
            }
        }
    }
    ACCOUNT_FIELDS.iter().enumerate().find_map(|(i, name)| {
        let v = match exact[i].or(folded[i]) {
            Some(v) => v,
            // A dotted name may still be found inside an object: the
            // top-level field of its first part (found in the same pass
            // when that part is itself one of the names, as `user` is).
            None if name.contains('.') => match name.split_once('.') {
                Some((head, tail)) => match ACCOUNT_FIELDS.iter().position(|n| *n == head) {
                    Some(h) => match exact[h].or(folded[h]) {
                        Some(Value::Object(inner)) => inner.get_path(tail)?,
                        _ => return None,
                    },
                    None => ev.fields.get_path(name)?,
                },
                None => return None,
            },
            None => return None,
        };
        let t = v.as_text()?;
        let t = t.trim();
        (!t.is_empty() && t != "-").then(|| t.to_string())
    })
}

/// An event encoded for the case store: what [`CaseWriter::add_encoded`]
/// inserts, prepared on the caller's thread. The pipeline encodes on its
/// matcher threads, so the one SQLite writer thread only inserts and no
/// event is cloned to cross threads.
#[derive(Debug, Clone)]
pub struct EncodedEvent {
    ts: i64,
    host: Option<Arc<str>>,
    channel: Option<Arc<str>>,
    provider: Option<Arc<str>>,
    event_id: Option<u32>,
    account: Option<String>,
    file: Arc<str>,
    member: Option<Arc<str>>,
    loc_kind: i64,
    loc: Option<i64>,
    /// The stored `events.fields` column (empty when the fields are in a block).
    fields: crate::fields::StoredFields,
    /// Position of the fields in the event's block ([`crate::blocks`]).
    block_pos: Option<u32>,
    /// The full-text index entry ([`flatten_text`]); `None` when the
    /// index is built after the load ([`EncodedEvent::without_full_text`]).
    text: Option<String>,
}

impl EncodedEvent {
    /// Encode `ev` (fields as JSON, full-text entry, account).
    pub fn new(ev: &Event) -> Result<Self> {
        let mut encoded = Self::without_full_text(ev)?;
        let mut text = String::new();
        flatten_text(ev, &mut text);
        encoded.text = Some(text);
        Ok(encoded)
    }

    /// Encode `ev` without its full-text entry, for a load whose index is
    /// built afterwards ([`crate::Case::bulk_writer`]); a writer given such
    /// an event defers the index from then on.
    pub fn without_full_text(ev: &Event) -> Result<Self> {
        let mut encoded = Self::meta_only(ev);
        encoded.fields = crate::fields::StoredFields::encode(serde_json::to_string(&ev.fields)?);
        Ok(encoded)
    }

    /// Everything but the fields (empty) and the full-text entry.
    pub(crate) fn meta_only(ev: &Event) -> Self {
        let (loc_kind, loc) = loc_parts(&ev.provenance.location);
        EncodedEvent {
            ts: ev
                .timestamp
                .map(|t| t.timestamp_micros())
                .unwrap_or(crate::NO_TIME),
            host: ev.host.clone(),
            channel: ev.channel.clone(),
            provider: ev.provider.clone(),
            event_id: ev.event_id,
            account: account_of(ev),
            file: ev.provenance.file.clone(),
            member: ev.provenance.member.clone(),
            loc_kind,
            loc,
            fields: crate::fields::StoredFields::Text(String::new()),
            block_pos: None,
            text: None,
        }
    }

    /// Store `json` in the event's own row (deflated when large).
    pub(crate) fn set_own_fields(&mut self, json: String) {
        self.fields = crate::fields::StoredFields::encode(json);
        self.block_pos = None;
    }

    /// The fields are event `pos` of the block the event is written with.
    pub(crate) fn set_block_pos(&mut self, pos: u32) {
        self.block_pos = Some(pos);
    }

    /// The event's position in its block, when its fields are in one.
    #[cfg(test)]
    pub(crate) fn block_pos(&self) -> Option<u32> {
        self.block_pos
    }

    /// The evidence file the event was read from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Bytes this value holds on the heap (for batch sizing).
    pub fn heap_size(&self) -> usize {
        self.fields.len()
            + self.text.as_ref().map_or(0, String::len)
            + self.account.as_ref().map_or(0, String::len)
    }
}

/// Values shorter than this are indexed even when they repeat another
/// field's value: comparing them costs more than indexing them.
const DEDUP_MIN_LEN: usize = 8;

/// Every scalar value of the event, space separated, for the FTS index.
/// Field names are left out: they repeat on every row and would make the
/// index much larger while adding nothing a field filter can't do.
///
/// Text that only repeats other fields is left out too, because it doubles
/// the indexing work and the index without making any event findable that
/// was not already: a value equal to one already indexed for this event
/// (`Computer` = `Hostname`, `EventRecordID` = `RecordNumber`), and, on
/// Windows events (those with an event id), every line of the rendered
/// `Message` after its first — the rest renders the event's own fields as
/// `Name: value` lines. The first line (`Process Create:`, `An account was
/// successfully logged on.`) stays searchable, and the stored fields keep
/// the whole message.
pub(crate) fn flatten_text(ev: &Event, out: &mut String) -> bool {
    flatten_fields(&ev.fields, ev.event_id.is_some(), out)
}

/// [`flatten_text`] of an event's fields; `windows`: the event has an
/// event id. Also used to index stored events after a bulk load. Returns
/// `true` when some of the event's text was left out of the index.
///
/// A value up to [`WHOLE_VALUE`] bytes is indexed whole. A longer one is
/// indexed as its head, then its distinct words in order (each cut to
/// [`MAX_WORD`]) within [`FIELD_BUDGET`]: a command line padded with 25,000
/// CJK characters before `Invoke-Mimikatz`, or a padding field before the
/// command line, hid the tool from search when one 64 KiB prefix of the
/// event's text was indexed (probe 18). Padding made of distinct words can
/// still exhaust a budget; the event is then counted as indexed in part.
pub(crate) fn flatten_fields(fields: &kahu_event::Fields, windows: bool, out: &mut String) -> bool {
    // Byte ranges of `out` holding each long value indexed so far.
    let mut indexed: Vec<(usize, usize)> = Vec::new();
    let mut partial = false;
    fields.for_each_leaf(|name, v| {
        let t = match v {
            Value::Null => return,
            other => other.as_text(),
        };
        let Some(text) = t else { return };
        let mut t: &str = &text;
        if windows && name.eq_ignore_ascii_case("message") {
            t = t.split(['\r', '\n']).next().unwrap_or_default();
        }
        let t = t.trim();
        if t.is_empty() {
            return;
        }
        if out.len() + 1 >= MAX_FTS_TEXT {
            partial = true;
            return;
        }
        let long = t.len() >= DEDUP_MIN_LEN;
        if long && indexed.iter().any(|&(s, e)| out[s..e] == *t) {
            return;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let room = MAX_FTS_TEXT.saturating_sub(out.len());
        let start = out.len();
        if t.len() <= WHOLE_VALUE.min(room) {
            out.push_str(t);
        } else {
            partial |= push_long_value(t, room.min(FIELD_BUDGET), out);
        }
        if long {
            indexed.push((start, out.len()));
        }
    });
    if partial {
        // A word of its own, so the case can count such events and an
        // analyst can list them (a search for it).
        out.push(' ');
        out.push_str(INDEXED_IN_PART);
    }
    partial
}

/// The word the full-text entry of an event indexed only in part ends
/// with: a search for it lists those events.
pub const INDEXED_IN_PART: &str = "kahuindexedinpart";

/// A value longer than this is indexed as its head and distinct words.
const WHOLE_VALUE: usize = 8 * 1024;
/// What one long value may add to the index.
const FIELD_BUDGET: usize = 16 * 1024;
/// The head of a long value indexed as it is.
const LONG_HEAD: usize = 4 * 1024;
/// Longest word indexed from the rest of a long value.
const MAX_WORD: usize = 64;

/// Index a long value in at most `budget` bytes: its head, then each
/// distinct word of the rest (as the full-text tokenizer splits them:
/// runs of letters and digits) in order of first appearance. `true` when
/// words were left out for lack of room.
fn push_long_value(t: &str, budget: usize, out: &mut String) -> bool {
    let end = out.len() + budget;
    let head = kahu_event::text::prefix_within(t, LONG_HEAD.min(budget));
    out.push_str(head);
    let mut seen: hashbrown::HashSet<&str> = hashbrown::HashSet::new();
    for word in t[head.len()..]
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = kahu_event::text::prefix_within(word, MAX_WORD);
        if word.is_empty() || !seen.insert(word) {
            continue;
        }
        if out.len() + 1 + word.len() > end {
            return true;
        }
        out.push(' ');
        out.push_str(word);
    }
    false
}

/// Lower-case hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::{Location, Provenance};

    fn event(event_id: Option<u32>, fields: &[(&str, &str)]) -> Event {
        let mut e = Event::new(Provenance::new(Arc::from("f"), Location::Record(1)));
        e.event_id = event_id;
        for (k, v) in fields {
            e.fields.insert(k, Value::str(v));
        }
        e
    }

    fn text(e: &Event) -> String {
        let mut out = String::new();
        flatten_text(e, &mut out);
        out
    }

    #[test]
    fn full_text_leaves_out_repeated_values_and_rendered_message_lines() {
        let e = event(
            Some(1),
            &[
                ("Hostname", "WS01.corp.local"),
                ("Image", r"C:\x\evil.exe"),
                ("Computer", "WS01.corp.local"),
                (
                    "Message",
                    "Process Create:\r\nImage: C:\\x\\evil.exe\r\nUser: bob",
                ),
                ("Short", "bob"),
                ("Again", "bob"),
            ],
        );
        assert_eq!(
            text(&e),
            r"WS01.corp.local C:\x\evil.exe Process Create: bob bob"
        );
    }

    #[test]
    fn full_text_keeps_whole_messages_of_non_windows_events() {
        let e = event(None, &[("Message", "sshd[1]: Accepted\nfrom 10.0.0.1")]);
        assert_eq!(text(&e), "sshd[1]: Accepted\nfrom 10.0.0.1");
    }

    #[test]
    fn the_account_is_what_looking_each_name_up_finds() {
        // The lookup `account_of` replaces, name by name.
        fn by_lookup(ev: &Event) -> Option<String> {
            ACCOUNT_FIELDS.iter().find_map(|name| {
                let v = ev.fields.get_path(name)?;
                let t = v.as_text()?;
                let t = t.trim();
                (!t.is_empty() && t != "-").then(|| t.to_string())
            })
        }
        let names = [
            "TargetUserName",
            "targetusername",
            "User",
            "USER",
            "user",
            "SubjectUserName",
            "user.name",
            "AccountName",
            "UserName",
            "Other",
        ];
        let values = ["alice", " bob ", "-", "", "carol"];
        // Every event of up to three fields drawn from the names and values
        // (with repeats and case variants), plus nested `user.name`.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut found = 0;
        for _ in 0..5000 {
            let mut e = Event::new(Provenance::new(Arc::from("f"), Location::Record(1)));
            for _ in 0..next(4) {
                let name = names[next(names.len())];
                let value = if next(5) == 0 {
                    Value::Int(next(3) as i64)
                } else {
                    Value::str(values[next(values.len())])
                };
                e.fields.push(Arc::from(name), value);
            }
            if next(4) == 0 {
                let mut inner = kahu_event::Fields::default();
                inner.insert(
                    if next(2) == 0 { "name" } else { "Name" },
                    Value::str(values[next(values.len())]),
                );
                let key = ["user", "User", "USER"][next(3)];
                e.fields.push(Arc::from(key), Value::Object(inner));
            }
            let want = by_lookup(&e);
            found += usize::from(want.is_some());
            assert_eq!(account_of(&e), want, "{:?}", e.fields);
        }
        assert!(found > 1000, "{found}");
    }

    #[test]
    fn full_text_is_bounded() {
        // One padding value no longer hides the fields after it.
        let big = "é".repeat(MAX_FTS_TEXT);
        let e = event(None, &[("a", &big), ("b", "tail-value")]);
        let t = text(&e);
        assert!(t.len() <= MAX_FTS_TEXT);
        assert!(t.contains("tail-value"));
        assert!(!t.contains(INDEXED_IN_PART));
        // Many fields of distinct words fill the event's budget: what is
        // left out is marked.
        let words: String = (0..4000).map(|i| format!("w{i:05} ")).collect();
        let fields: Vec<(String, String)> = (0..12)
            .map(|i| (format!("pad{i:02}"), format!("{i} {words}")))
            .chain(std::iter::once(("z".into(), "hidden-tool".into())))
            .collect();
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let t = text(&event(None, &refs));
        assert!(t.len() <= MAX_FTS_TEXT + INDEXED_IN_PART.len() + 1);
        assert!(t.ends_with(INDEXED_IN_PART), "{}", &t[t.len() - 40..]);
    }

    /// A command line of 75 KB (25,000 CJK characters, within Windows'
    /// 32,767-character limit) before `Invoke-Mimikatz` hid the tool from
    /// search: one 64 KiB prefix of the event's text was indexed (probe
    /// 18). A long value is indexed as its head and its distinct words, so
    /// the words after the padding are found; so are those after a padding
    /// field, and after padding of many distinct words within the budget.
    #[test]
    fn padding_does_not_hide_the_words_after_it() {
        let cmd = format!(
            "powershell.exe -c \"#{}\"; Invoke-Mimikatz -DumpCreds",
            "漢".repeat(25_000)
        );
        let t = text(&event(Some(1), &[("CommandLine", &cmd)]));
        for w in ["Invoke", "Mimikatz", "DumpCreds", "powershell"] {
            assert!(t.contains(w), "{w} not indexed");
        }
        assert!(!t.contains(INDEXED_IN_PART));
        let padding = "A".repeat(70_000);
        let t = text(&event(
            Some(1),
            &[
                ("FileVersion", &padding),
                ("CommandLine", "rundll32 comsvcs.dll MiniDump"),
            ],
        ));
        assert!(t.contains("MiniDump"));
        let words: String = (0..1500).map(|i| format!("p{i:04} ")).collect();
        let t = text(&event(
            Some(1),
            &[("CommandLine", &format!("{words} Invoke-Mimikatz"))],
        ));
        assert!(t.contains("Mimikatz") && !t.contains(INDEXED_IN_PART));
    }
}
