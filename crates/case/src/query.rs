//! Timeline queries: filters, keyset pagination, histogram, facets,
//! findings lists.
//!
//! Pagination is by keyset on `(ts, id)`: a page starts strictly after the
//! last row of the previous one, so page 10,000 costs what page 1 costs
//! (an index seek), where OFFSET would walk every skipped row.

use crate::blocks::{BlockCache, event_fields};
use crate::{Case, NO_TIME, Result, format_micros, loc_from};
use kahu_event::Location;
use kahu_finding::Level;
use rusqlite::types::Value as Sql;
use rusqlite::{OptionalExtension, params_from_iter};
use serde::{Deserialize, Serialize};

/// Search terms with at least this many matches are "dense" (see
/// `event_where`).
const DENSE_MATCHES: i64 = 20_000;

/// Largest page a caller may ask for.
pub const MAX_LIMIT: usize = 5000;

/// Position after which the next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Timestamp (µs) of the last row seen.
    pub ts: i64,
    /// Id of the last row seen.
    pub id: i64,
}

impl Cursor {
    /// Compact text form `ts:id`, for URLs.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.ts, self.id)
    }
    /// Parse [`Cursor::encode`]'s output.
    pub fn decode(s: &str) -> Option<Cursor> {
        let (a, b) = s.split_once(':')?;
        Some(Cursor {
            ts: a.trim().parse().ok()?,
            id: b.trim().parse().ok()?,
        })
    }
}

/// Timeline filter. Empty lists mean "any"; values inside one list are
/// alternatives, different filters all apply.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EventQuery {
    /// Earliest time, µs since the epoch, inclusive.
    pub from: Option<i64>,
    /// Latest time, µs since the epoch, exclusive.
    pub to: Option<i64>,
    /// Host names (case-insensitive).
    pub hosts: Vec<String>,
    /// Account names (case-insensitive).
    pub accounts: Vec<String>,
    /// Channels (case-insensitive).
    pub channels: Vec<String>,
    /// Windows event ids.
    pub event_ids: Vec<u32>,
    /// Only events a finding of one of these rules points at.
    pub rule_ids: Vec<String>,
    /// Only events a finding of one of these levels points at.
    pub levels: Vec<Level>,
    /// Full-text search: words must all occur (`"quoted phrase"`,
    /// `prefix*`, `-excluded`).
    pub text: Option<String>,
    /// Start after this row.
    pub after: Option<Cursor>,
    /// Page size (default 100, at most [`MAX_LIMIT`]).
    pub limit: usize,
}

/// Where a stored record came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProvenanceOut {
    /// Evidence file.
    pub file: String,
    /// Archive member.
    pub member: Option<String>,
    /// Position in the file.
    pub location: Location,
}

/// One timeline row.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    /// Id in the case.
    pub id: i64,
    /// µs since the epoch, `None` if the record had no usable time.
    pub ts: Option<i64>,
    /// RFC 3339 time.
    pub time: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// Channel.
    pub channel: Option<String>,
    /// Provider.
    pub provider: Option<String>,
    /// Windows event id.
    pub event_id: Option<u32>,
    /// Account the event is about.
    pub account: Option<String>,
    /// The most telling fields, `Name: value` joined by two spaces.
    pub summary: String,
    /// Highest level of the findings on this event.
    pub level: Option<Level>,
    /// Origin.
    pub provenance: ProvenanceOut,
}

/// A page of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct EventPage {
    /// Rows in `(ts, id)` order.
    pub events: Vec<EventRow>,
    /// Cursor for the next page; `None` at the end.
    pub next: Option<String>,
}

/// One event with every field and its findings.
#[derive(Debug, Clone, Serialize)]
pub struct EventDetail {
    /// The timeline row.
    #[serde(flatten)]
    pub row: EventRow,
    /// Every field, in the record's order.
    pub fields: serde_json::Value,
    /// Findings on this event.
    pub findings: Vec<FindingRow>,
    /// Other evidence files with the same content as this event's file
    /// (stored once): the event was read from each of them too.
    pub also_in: Vec<ProvenanceOut>,
}

/// Event counts over time.
#[derive(Debug, Clone, Serialize)]
pub struct Histogram {
    /// Start of the first bucket, µs.
    pub from: i64,
    /// End of the last bucket, µs (exclusive).
    pub to: i64,
    /// Bucket width, µs.
    pub bucket_us: i64,
    /// Count per bucket.
    pub counts: Vec<u64>,
    /// Sum of the counts.
    pub total: u64,
    /// Events the filter keeps that have no time (no bucket holds them),
    /// counted when the query has no time range; 0 otherwise. The count
    /// above the timeline said "212 events" over a list of 215.
    pub undated: u64,
}

/// A value and how many events carry it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Facet {
    /// The value.
    pub value: String,
    /// Events with it.
    pub count: u64,
}

/// Top values of the main timeline dimensions.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Facets {
    /// Hosts.
    pub hosts: Vec<Facet>,
    /// Channels.
    pub channels: Vec<Facet>,
    /// Event ids.
    pub event_ids: Vec<Facet>,
    /// Accounts.
    pub accounts: Vec<Facet>,
}

/// Filter for the findings list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FindingQuery {
    /// Levels to keep (any when empty).
    pub levels: Vec<Level>,
    /// Rules to keep.
    pub rule_ids: Vec<String>,
    /// Hosts to keep (case-insensitive).
    pub hosts: Vec<String>,
    /// ATT&CK technique (exact id, `T1059.001`).
    pub technique: Option<String>,
    /// Start after this row.
    pub after: Option<Cursor>,
    /// Page size.
    pub limit: usize,
}

/// One finding as stored.
#[derive(Debug, Clone, Serialize)]
pub struct FindingRow {
    /// Id in the case.
    pub id: i64,
    /// Detector kind (`sigma`, `ioc`…).
    pub kind: String,
    /// Rule id.
    pub rule_id: String,
    /// Rule title.
    pub title: String,
    /// Severity.
    pub level: Level,
    /// ATT&CK technique ids.
    pub techniques: Vec<String>,
    /// ATT&CK software ids.
    pub software: Vec<String>,
    /// ATT&CK group ids named by the rule.
    pub groups: Vec<String>,
    /// µs since the epoch.
    pub ts: Option<i64>,
    /// RFC 3339.
    pub time: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// Channel.
    pub channel: Option<String>,
    /// Windows event id.
    pub event_id: Option<u32>,
    /// Id of the event in the case, when linked.
    pub event: Option<i64>,
    /// Origin.
    pub provenance: ProvenanceOut,
    /// Key fields.
    pub fields: Vec<(String, String)>,
}

/// Findings grouped by rule, for the detections overview.
#[derive(Debug, Clone, Serialize)]
pub struct RuleSummary {
    /// Rule id.
    pub rule_id: String,
    /// Rule title.
    pub title: String,
    /// Highest level.
    pub level: Level,
    /// Number of findings.
    pub count: u64,
    /// Distinct hosts.
    pub hosts: u64,
    /// First finding time, RFC 3339.
    pub first: Option<String>,
    /// Last finding time.
    pub last: Option<String>,
    /// ATT&CK techniques of the rule.
    pub techniques: Vec<String>,
}

/// Case-wide counts.
#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    /// Events stored.
    pub events: u64,
    /// Findings stored.
    pub findings: u64,
    /// Evidence files registered.
    pub evidence: u64,
    /// Distinct hosts.
    pub hosts: u64,
    /// Earliest event time, µs.
    pub first: Option<i64>,
    /// Latest event time, µs.
    pub last: Option<i64>,
}

fn level_from(i: i64) -> Level {
    Level::ALL
        .get(i.clamp(0, 4) as usize)
        .copied()
        .unwrap_or_default()
}

/// Turn user search text into an FTS5 query in which every user word is a
/// quoted string: FTS5 syntax characters in evidence-derived searches
/// (`-`, `:`, `(`, `*`) can then never produce a syntax error.
pub(crate) fn fts_query(text: &str) -> Option<String> {
    // The Parquet timeline parses the words with the same function, so
    // both backends search for the same thing.
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    for (word, prefix, negate) in crate::timeline_index::search_words(text) {
        let mut q = format!("\"{}\"", word.replace('"', "\"\""));
        if prefix {
            q.push('*');
        }
        if negate { neg.push(q) } else { pos.push(q) }
    }
    if pos.is_empty() {
        return None;
    }
    let mut q = pos.join(" AND ");
    for n in neg {
        q.push_str(" NOT ");
        q.push_str(&n);
    }
    Some(q)
}

impl EventPage {
    /// A page from up to `limit + 1` rows in timeline order: the extra row
    /// only says there is a next page, whose cursor is the last kept row.
    pub(crate) fn from_rows(mut events: Vec<EventRow>, limit: usize) -> EventPage {
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| {
                Cursor {
                    ts: e.ts.unwrap_or(NO_TIME),
                    id: e.id,
                }
                .encode()
            })
        } else {
            None
        };
        EventPage { events, next }
    }
}

impl Case {
    /// Ids of interned names matching any of `values` (case-insensitive).
    fn name_ids(&self, kind: &str, values: &[String]) -> Result<Vec<i64>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM names WHERE kind = ?1 AND value = ?2 COLLATE NOCASE")?;
        let mut out = Vec::new();
        for v in values {
            let rows = st.query_map(rusqlite::params![kind, v], |r| r.get::<_, i64>(0))?;
            for id in rows {
                out.push(id?);
            }
        }
        Ok(out)
    }

    /// Build the WHERE clause of `q` (cursor excluded). `false` means the
    /// query can match nothing (a filter value that does not exist).
    ///
    /// `order_driven`: the caller walks rows in `(ts, id)` order and stops
    /// at a page. For a search term matching many events it is then far
    /// cheaper to scan in time order and test membership in the match set
    /// than to fetch every match and sort; for rare terms the opposite holds.
    fn event_where(
        &self,
        q: &EventQuery,
        w: &mut Vec<String>,
        args: &mut Vec<Sql>,
        order_driven: bool,
    ) -> Result<bool> {
        if let Some(f) = q.from {
            w.push("e.ts >= ?".into());
            args.push(Sql::Integer(f));
        }
        if let Some(t) = q.to {
            w.push("e.ts < ?".into());
            args.push(Sql::Integer(t));
        }
        for (kind, col, values) in [
            ("host", "host_id", &q.hosts),
            ("account", "account_id", &q.accounts),
            ("channel", "channel_id", &q.channels),
        ] {
            if values.is_empty() {
                continue;
            }
            let ids = self.name_ids(kind, values)?;
            if ids.is_empty() {
                return Ok(false);
            }
            w.push(in_list(&format!("e.{col}"), ids.len()));
            args.extend(ids.into_iter().map(Sql::Integer));
        }
        if !q.event_ids.is_empty() {
            w.push(in_list("e.event_id", q.event_ids.len()));
            args.extend(q.event_ids.iter().map(|&i| Sql::Integer(i.into())));
        }
        if !q.rule_ids.is_empty() || !q.levels.is_empty() {
            let mut sub = vec!["event_rowid IS NOT NULL".to_string()];
            if !q.rule_ids.is_empty() {
                sub.push(in_list("rule_id", q.rule_ids.len()));
                args.extend(q.rule_ids.iter().map(|r| Sql::Text(r.clone())));
            }
            if !q.levels.is_empty() {
                sub.push(in_list("level", q.levels.len()));
                args.extend(q.levels.iter().map(|&l| Sql::Integer(l as i64)));
            }
            w.push(format!(
                "e.id IN (SELECT event_rowid FROM findings WHERE {})",
                sub.join(" AND ")
            ));
        }
        if let Some(text) = q.text.as_deref().filter(|t| !t.trim().is_empty()) {
            // A half-built index would silently miss events.
            self.require_full_text()?;
            match fts_query(text) {
                Some(m) => {
                    // `+e.id` keeps SQLite from driving the query by the
                    // match list, so it walks the time index instead.
                    let dense = order_driven && self.fts_matches_at_least(&m, DENSE_MATCHES)?;
                    let col = if dense { "+e.id" } else { "e.id" };
                    w.push(format!(
                        "{col} IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)"
                    ));
                    args.push(Sql::Text(m));
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    fn fts_matches_at_least(&self, m: &str, n: i64) -> Result<bool> {
        let c: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM (SELECT rowid FROM events_fts WHERE events_fts MATCH ?1 LIMIT ?2)")?
            .query_row(rusqlite::params![m, n], |r| r.get(0))?;
        Ok(c >= n)
    }

    /// One page of the timeline.
    pub fn query_events(&self, q: &EventQuery) -> Result<EventPage> {
        let limit = match q.limit {
            0 => 100,
            n => n.min(MAX_LIMIT),
        };
        let mut w = Vec::new();
        let mut args = Vec::new();
        if !self.event_where(q, &mut w, &mut args, true)? {
            return Ok(EventPage {
                events: Vec::new(),
                next: None,
            });
        }
        if let Some(c) = q.after {
            w.push("(e.ts, e.id) > (?, ?)".into());
            args.push(Sql::Integer(c.ts));
            args.push(Sql::Integer(c.id));
        }
        args.push(Sql::Integer(limit as i64 + 1));
        let sql = format!(
            "{} {} ORDER BY e.ts, e.id LIMIT ?",
            ROW_SELECT,
            where_sql(&w)
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query(params_from_iter(args))?;
        let mut events = Vec::with_capacity(limit + 1);
        let mut cache = BlockCache::default();
        while let Some(r) = rows.next()? {
            events.push(read_row(&self.conn, &mut cache, r)?.0);
        }
        Ok(EventPage::from_rows(events, limit))
    }

    /// Every matching event in timeline order, for streaming exports;
    /// `f` returning `false` stops early.
    pub fn for_each_event(
        &self,
        q: &EventQuery,
        mut f: impl FnMut(&EventRow, &serde_json::Value) -> bool,
    ) -> Result<()> {
        let mut w = Vec::new();
        let mut args = Vec::new();
        if !self.event_where(q, &mut w, &mut args, false)? {
            return Ok(());
        }
        let sql = format!("{} {} ORDER BY e.ts, e.id", ROW_SELECT, where_sql(&w));
        let mut st = self.conn.prepare(&sql)?;
        let mut rows = st.query(params_from_iter(args))?;
        let mut cache = BlockCache::default();
        while let Some(r) = rows.next()? {
            let (row, fields) = read_row(&self.conn, &mut cache, r)?;
            if !f(&row, &fields) {
                break;
            }
        }
        Ok(())
    }

    /// One event with all fields and its findings.
    pub fn event(&self, id: i64) -> Result<Option<EventDetail>> {
        let sql = format!("{ROW_SELECT} WHERE e.id = ?1");
        let found = self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], |r| {
                read_row(&self.conn, &mut BlockCache::default(), r)
            })
            .optional()?;
        let Some((row, fields)) = found else {
            return Ok(None);
        };
        let findings = self.findings_where("f.event_rowid = ?", vec![Sql::Integer(id)], 1000)?;
        let also_in = self
            .conn
            .prepare_cached(
                "SELECT c.path, c.member FROM events e JOIN evidence c ON c.same_as = e.evidence_id
                 WHERE e.id = ?1 ORDER BY c.id LIMIT 1000",
            )?
            .query_map([id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .map(|(file, member)| ProvenanceOut {
                file,
                member,
                location: row.provenance.location,
            })
            .collect();
        Ok(Some(EventDetail {
            row,
            fields,
            findings,
            also_in,
        }))
    }

    /// Earliest and latest event times (µs), ignoring untimed events.
    pub fn time_bounds(&self) -> Result<Option<(i64, i64)>> {
        let (a, b): (Option<i64>, Option<i64>) = self.conn.query_row(
            "SELECT (SELECT min(ts) FROM events WHERE ts > ?1), (SELECT max(ts) FROM events)",
            [NO_TIME],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(match (a, b) {
            (Some(a), Some(b)) if b != NO_TIME => Some((a, b)),
            _ => None,
        })
    }

    /// Event counts in at most `buckets` equal slices of the query's time
    /// range (the case's whole range where the query leaves it open).
    ///
    /// Filters on time, host, channel and event id alone are answered from
    /// the minute/hour rollups when the buckets are at least that wide
    /// (bucket edges are then aligned to whole minutes/hours); anything else
    /// counts the matching events.
    pub fn histogram(&self, q: &EventQuery, buckets: usize) -> Result<Histogram> {
        const MIN: i64 = crate::writer::MINUTE_US;
        const HOUR: i64 = crate::writer::HOUR_US;
        let buckets = buckets.clamp(1, 2000) as i64;
        let Some((lo, hi)) = self.time_bounds()? else {
            return Ok(Histogram {
                from: 0,
                to: 0,
                bucket_us: 1,
                counts: vec![],
                total: 0,
                undated: self.undated_events(q)?,
            });
        };
        let mut from = q.from.unwrap_or(lo).max(lo.min(q.to.unwrap_or(lo)));
        let to =
            q.to.unwrap_or(hi.saturating_add(1))
                .max(from.saturating_add(1));
        let span = (to as i128 - from as i128).max(1);
        let mut bucket_us =
            ((span + buckets as i128 - 1) / buckets as i128).clamp(1, i64::MAX as i128) as i64;
        let dims_only = q.accounts.is_empty()
            && q.rule_ids.is_empty()
            && q.levels.is_empty()
            && q.text.as_deref().is_none_or(|t| t.trim().is_empty());
        let no_dims = q.hosts.is_empty() && q.channels.is_empty() && q.event_ids.is_empty();
        let rollup = match () {
            _ if dims_only && no_dims && bucket_us >= MIN => Some((MIN, "hist_minute", "minute")),
            _ if dims_only && bucket_us >= HOUR => Some((HOUR, "hist_hour", "hour")),
            _ => None,
        };
        let mut w = Vec::new();
        let mut args = Vec::new();
        let sql = if let Some((unit, table, col)) = rollup {
            from = from.div_euclid(unit) * unit;
            bucket_us =
                bucket_us.div_euclid(unit) * unit + if bucket_us % unit == 0 { 0 } else { unit };
            let first = from / unit;
            let end = to.div_euclid(unit) + i64::from(to.rem_euclid(unit) != 0);
            w.push(format!("{col} >= ? AND {col} < ?"));
            args.extend([Sql::Integer(first), Sql::Integer(end)]);
            for (kind, column, values) in [
                ("host", "host_id", &q.hosts),
                ("channel", "channel_id", &q.channels),
            ] {
                if values.is_empty() {
                    continue;
                }
                let ids = self.name_ids(kind, values)?;
                if ids.is_empty() {
                    w.push("0".into());
                }
                w.push(in_list(column, ids.len()));
                args.extend(ids.into_iter().map(Sql::Integer));
            }
            if !q.event_ids.is_empty() {
                w.push(in_list("event_id", q.event_ids.len()));
                args.extend(q.event_ids.iter().map(|&i| Sql::Integer(i.into())));
            }
            format!(
                "SELECT ({col} * {unit} - {from}) / {bucket_us} AS b, sum(n) FROM {table} {} GROUP BY b",
                where_sql(&w)
            )
        } else {
            let mut q2 = q.clone();
            q2.from = Some(from);
            q2.to = Some(to);
            q2.after = None;
            if !self.event_where(&q2, &mut w, &mut args, false)? {
                w.push("0".into());
            }
            format!(
                "SELECT (e.ts - {from}) / {bucket_us} AS b, count(*) FROM events e {} GROUP BY b",
                where_sql(&w)
            )
        };
        let n_buckets = ((to as i128 - from as i128 + bucket_us as i128 - 1) / bucket_us as i128)
            .clamp(1, buckets as i128) as usize;
        let mut counts = vec![0u64; n_buckets];
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query(params_from_iter(args))?;
        while let Some(r) = rows.next()? {
            let b: i64 = r.get(0)?;
            let n: i64 = r.get(1)?;
            if let Some(c) = usize::try_from(b).ok().and_then(|b| counts.get_mut(b)) {
                *c += n as u64;
            }
        }
        let total = counts.iter().sum();
        Ok(Histogram {
            from,
            to: from.saturating_add(bucket_us.saturating_mul(n_buckets as i64)),
            bucket_us,
            counts,
            total,
            undated: self.undated_events(q)?,
        })
    }

    /// Events `q` keeps that have no time; 0 when `q` has a time range
    /// (an undated event is in none).
    fn undated_events(&self, q: &EventQuery) -> Result<u64> {
        if q.from.is_some() || q.to.is_some() {
            return Ok(0);
        }
        let mut q2 = q.clone();
        q2.after = None;
        let mut w = Vec::new();
        let mut args = Vec::new();
        if !self.event_where(&q2, &mut w, &mut args, false)? {
            return Ok(0);
        }
        w.push("e.ts = ?".into());
        args.push(Sql::Integer(NO_TIME));
        let sql = format!("SELECT count(*) FROM events e {}", where_sql(&w));
        let n: i64 = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(args), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Top `k` values of host, channel, event id and account among the
    /// events matching `q`. The unfiltered case reads counts kept at
    /// ingest and costs nothing.
    pub fn facets(&self, q: &EventQuery, k: usize) -> Result<Facets> {
        let k = k.clamp(1, 1000) as i64;
        let unfiltered = q.from.is_none()
            && q.to.is_none()
            && q.hosts.is_empty()
            && q.accounts.is_empty()
            && q.channels.is_empty()
            && q.event_ids.is_empty()
            && q.rule_ids.is_empty()
            && q.levels.is_empty()
            && q.text.as_deref().is_none_or(|t| t.trim().is_empty());
        let mut out = Facets::default();
        if unfiltered {
            let mut st = self.conn.prepare_cached(
                "SELECT value, n FROM names WHERE kind = ?1 AND n > 0 ORDER BY n DESC, value LIMIT ?2",
            )?;
            for (kind, list) in [
                ("host", &mut out.hosts),
                ("channel", &mut out.channels),
                ("event_id", &mut out.event_ids),
                ("account", &mut out.accounts),
            ] {
                let rows = st.query_map(rusqlite::params![kind, k], |r| {
                    Ok(Facet {
                        value: r.get(0)?,
                        count: r.get::<_, i64>(1)? as u64,
                    })
                })?;
                for f in rows {
                    list.push(f?);
                }
            }
            return Ok(out);
        }
        let mut w = Vec::new();
        let mut base = Vec::new();
        if !self.event_where(q, &mut w, &mut base, false)? {
            return Ok(out);
        }
        for (expr, list) in [
            (
                "(SELECT value FROM names WHERE id = e.host_id)",
                &mut out.hosts,
            ),
            (
                "(SELECT value FROM names WHERE id = e.channel_id)",
                &mut out.channels,
            ),
            ("CAST(e.event_id AS TEXT)", &mut out.event_ids),
            (
                "(SELECT value FROM names WHERE id = e.account_id)",
                &mut out.accounts,
            ),
        ] {
            let sql = format!(
                "SELECT v, count(*) AS n FROM (SELECT {expr} AS v FROM events e {}) WHERE v IS NOT NULL GROUP BY v ORDER BY n DESC, v LIMIT ?",
                where_sql(&w)
            );
            let mut args = base.clone();
            args.push(Sql::Integer(k));
            let mut st = self.conn.prepare_cached(&sql)?;
            let rows = st.query_map(params_from_iter(args), |r| {
                Ok(Facet {
                    value: r.get(0)?,
                    count: r.get::<_, i64>(1)? as u64,
                })
            })?;
            for f in rows {
                list.push(f?);
            }
        }
        Ok(out)
    }

    /// A page of findings in time order.
    pub fn query_findings(&self, q: &FindingQuery) -> Result<(Vec<FindingRow>, Option<String>)> {
        let limit = match q.limit {
            0 => 100,
            n => n.min(MAX_LIMIT),
        };
        let mut w = Vec::new();
        let mut args = Vec::new();
        if !q.levels.is_empty() {
            w.push(in_list("f.level", q.levels.len()));
            args.extend(q.levels.iter().map(|&l| Sql::Integer(l as i64)));
        }
        if !q.rule_ids.is_empty() {
            w.push(in_list("f.rule_id", q.rule_ids.len()));
            args.extend(q.rule_ids.iter().map(|r| Sql::Text(r.clone())));
        }
        if !q.hosts.is_empty() {
            w.push(format!(
                "{} COLLATE NOCASE",
                in_list("f.host", q.hosts.len())
            ));
            args.extend(q.hosts.iter().map(|r| Sql::Text(r.clone())));
        }
        if let Some(t) = &q.technique {
            w.push("EXISTS (SELECT 1 FROM json_each(f.techniques) j WHERE j.value = ?)".into());
            args.push(Sql::Text(t.to_ascii_uppercase()));
        }
        if let Some(c) = q.after {
            w.push("(f.ts, f.id) > (?, ?)".into());
            args.push(Sql::Integer(c.ts));
            args.push(Sql::Integer(c.id));
        }
        let cond = if w.is_empty() {
            "1".to_string()
        } else {
            w.join(" AND ")
        };
        let mut rows = self.findings_where(&cond, args, limit + 1)?;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|f| {
                Cursor {
                    ts: f.ts.unwrap_or(NO_TIME),
                    id: f.id,
                }
                .encode()
            })
        } else {
            None
        };
        Ok((rows, next))
    }

    fn findings_where(
        &self,
        cond: &str,
        mut args: Vec<Sql>,
        limit: usize,
    ) -> Result<Vec<FindingRow>> {
        let sql = format!(
            "SELECT f.id, f.kind, f.rule_id, f.title, f.level, f.techniques, f.software, f.groups_, f.ts, f.host,
                    f.channel, f.event_id, f.event_rowid, f.file, f.member, f.loc_kind, f.loc, f.fields
             FROM findings f WHERE {cond} ORDER BY f.ts, f.id LIMIT ?"
        );
        args.push(Sql::Integer(limit as i64));
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(params_from_iter(args), |r| {
            let ts: i64 = r.get(8)?;
            let json = |i: usize| -> rusqlite::Result<Vec<String>> {
                Ok(serde_json::from_str(&r.get::<_, String>(i)?).unwrap_or_default())
            };
            Ok(FindingRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                rule_id: r.get(2)?,
                title: r.get(3)?,
                level: level_from(r.get(4)?),
                techniques: json(5)?,
                software: json(6)?,
                groups: json(7)?,
                ts: (ts != NO_TIME).then_some(ts),
                time: format_micros(ts),
                host: r.get(9)?,
                channel: r.get(10)?,
                event_id: r.get(11)?,
                event: r.get(12)?,
                provenance: ProvenanceOut {
                    file: r.get(13)?,
                    member: r.get(14)?,
                    location: loc_from(r.get(15)?, r.get(16)?),
                },
                fields: serde_json::from_str(&r.get::<_, String>(17)?).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Findings grouped by rule, most severe and most frequent first.
    pub fn rule_summary(&self) -> Result<Vec<RuleSummary>> {
        let mut st = self.conn.prepare_cached(
            // An undated finding is stored at NO_TIME, the smallest value:
            // left out of the first time, or one undated finding blanked the
            // rule's "First" in the UI.
            "SELECT rule_id, max(title), max(level), count(*), count(DISTINCT host), coalesce(min(nullif(ts, ?1)), ?1), max(ts), max(techniques)
             FROM findings GROUP BY rule_id ORDER BY max(level) DESC, count(*) DESC LIMIT 5000",
        )?;
        let rows = st.query_map([NO_TIME], |r| {
            Ok(RuleSummary {
                rule_id: r.get(0)?,
                title: r.get(1)?,
                level: level_from(r.get(2)?),
                count: r.get::<_, i64>(3)? as u64,
                hosts: r.get::<_, i64>(4)? as u64,
                first: format_micros(r.get(5)?),
                last: format_micros(r.get(6)?),
                techniques: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Observed ATT&CK techniques: `(technique, findings, distinct hosts)`.
    pub fn technique_counts(&self) -> Result<Vec<(String, u64, u64)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT j.value, count(*), count(DISTINCT f.host) FROM findings f, json_each(f.techniques) j
             GROUP BY j.value ORDER BY j.value",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Case-wide counts, from bookkeeping (no table scans).
    pub fn summary(&self) -> Result<CaseSummary> {
        let (events, evidence): (i64, i64) = self.conn.query_row(
            "SELECT coalesce(sum(event_count), 0), count(*) FROM evidence",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let findings: i64 = self
            .conn
            .query_row("SELECT count(*) FROM findings", [], |r| r.get(0))?;
        let hosts: i64 = self.conn.query_row(
            "SELECT count(*) FROM names WHERE kind = 'host' AND n > 0",
            [],
            |r| r.get(0),
        )?;
        let bounds = self.time_bounds()?;
        Ok(CaseSummary {
            events: events as u64,
            findings: findings as u64,
            evidence: evidence as u64,
            hosts: hosts as u64,
            first: bounds.map(|b| b.0),
            last: bounds.map(|b| b.1),
        })
    }

    /// How many indexed events have text the full-text index left out
    /// (very long or padded values beyond their budget): a search may miss
    /// words in them. Searching for [`crate::INDEXED_IN_PART`] lists them.
    pub fn events_indexed_in_part(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM events_fts WHERE events_fts MATCH ?1",
            [format!("\"{}\"", crate::INDEXED_IN_PART)],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// The evidence inventory as JSON rows.
    pub fn evidence(&self) -> Result<Vec<serde_json::Value>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, path, member, size, sha256, format, event_count, ingested_at, warnings, same_as FROM evidence ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(serde_json::json!({
                "id": r.get::<_, i64>(0)?,
                "path": r.get::<_, String>(1)?,
                "member": r.get::<_, Option<String>>(2)?,
                "size": r.get::<_, Option<i64>>(3)?,
                "sha256": r.get::<_, Option<String>>(4)?,
                "format": r.get::<_, Option<String>>(5)?,
                "event_count": r.get::<_, i64>(6)?,
                "ingested_at": r.get::<_, String>(7)?,
                "warnings": serde_json::from_str::<serde_json::Value>(&r.get::<_, String>(8)?).unwrap_or_default(),
                // Same content as this evidence id, whose events stand for it.
                "same_as": r.get::<_, Option<i64>>(9)?,
            }))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

pub(crate) const ROW_SELECT: &str =
    "SELECT e.id, e.ts, h.value, c.value, p.value, e.event_id, a.value, e.fields,
        ev.path, ev.member, e.loc_kind, e.loc,
        (SELECT max(level) FROM findings f WHERE f.event_rowid = e.id),
        e.block_id, e.block_pos
    FROM events e
    LEFT JOIN names h ON h.id = e.host_id
    LEFT JOIN names c ON c.id = e.channel_id
    LEFT JOIN names p ON p.id = e.provider_id
    LEFT JOIN names a ON a.id = e.account_id
    JOIN evidence ev ON ev.id = e.evidence_id";

fn where_sql(w: &[String]) -> String {
    if w.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", w.join(" AND "))
    }
}

fn in_list(col: &str, n: usize) -> String {
    let mut s = format!("{col} IN (");
    for i in 0..n {
        s.push_str(if i == 0 { "?" } else { ", ?" });
    }
    s.push(')');
    s
}

/// One row of [`ROW_SELECT`], its fields read from their block through
/// `cache` when they are in one.
pub(crate) fn read_row(
    conn: &rusqlite::Connection,
    cache: &mut BlockCache,
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(EventRow, serde_json::Value)> {
    let ts: i64 = r.get(1)?;
    let fields = event_fields(conn, cache, r.get_ref(7)?, (r.get(13)?, r.get(14)?))?;
    let row = EventRow {
        id: r.get(0)?,
        ts: (ts != NO_TIME).then_some(ts),
        time: format_micros(ts),
        host: r.get(2)?,
        channel: r.get(3)?,
        provider: r.get(4)?,
        event_id: r.get(5)?,
        account: r.get(6)?,
        summary: summarise(&fields),
        level: r.get::<_, Option<i64>>(12)?.map(level_from),
        provenance: ProvenanceOut {
            file: r.get(8)?,
            member: r.get(9)?,
            location: loc_from(r.get(10)?, r.get(11)?),
        },
    };
    Ok((row, fields))
}

/// `Name: value` of the first telling fields, bounded for display.
fn summarise(fields: &serde_json::Value) -> String {
    let Some(obj) = fields.as_object() else {
        return String::new();
    };
    let mut out = String::new();
    let mut n = 0;
    for name in kahu_finding::KEY_FIELDS {
        let Some(v) = obj.get(*name) else { continue };
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        if text.is_empty() || text == "-" {
            continue;
        }
        if !out.is_empty() {
            out.push_str("  ");
        }
        out.push_str(name);
        out.push_str(": ");
        out.push_str(&text);
        n += 1;
        if n == 4 || out.len() > 400 {
            break;
        }
    }
    kahu_event::text::clip_marked(&out, 400)
}
