//! A second home for timeline queries: an index outside SQLite (the
//! Parquet timeline `kahu case parquet` writes, read with DataFusion by
//! `kahu-distributed`) behind [`TimelineIndex`], and the routing that
//! decides which of the two answers a query ([`Case::query_timeline`]).
//!
//! The index only finds *which* events are on a page: it returns their
//! `(ts, id)` keys in timeline order, and the rows themselves are read from
//! SQLite by id, so a page from the index is the page SQLite would give —
//! same rows, same summaries, same levels, same cursor — whatever the index
//! stores. An index that is missing, stale (the case gained events since it
//! was built), damaged, or fails, is not used: SQLite answers and the
//! answer says why ([`TimelineAnswer::fallback`]).
//!
//! What goes to the index is measured, not guessed (docs/scale-out.md,
//! "Case store at scale"): see [`route`].

use crate::query::{ROW_SELECT, read_row};
use crate::{Case, Cursor, EventPage, EventQuery, EventRow, MAX_LIMIT, NO_TIME, Result};
use rusqlite::OptionalExtension;

/// Events the index was built over, to tell whether it still describes the
/// case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexExtent {
    /// Events in the case when the index was built.
    pub events: u64,
    /// Highest event id then (0 for an empty case).
    pub max_id: i64,
}

/// A timeline index outside SQLite. Implementations must find exactly the
/// events [`Case::query_events`] finds for the queries they accept, in the
/// same `(ts, id)` order.
pub trait TimelineIndex: Send + Sync {
    /// The backend's name in API answers (`"parquet"`).
    fn name(&self) -> &'static str;

    /// What the index covers, or why it cannot be used (missing, damaged,
    /// another layout version).
    fn extent(&self) -> std::result::Result<IndexExtent, String>;

    /// Keys of the first `limit` events matching `q` strictly after
    /// `q.after`, in `(ts, id)` order (fewer at the end). `q.limit` is
    /// ignored. Queries with rule or level filters are never passed.
    fn page_keys(&self, q: &EventQuery, limit: usize) -> std::result::Result<Vec<Cursor>, String>;

    /// The bounds [`route`] uses for this index; [`Routing::default`]
    /// (the measured ones) unless the index was told otherwise (tests,
    /// another machine's measurements).
    fn routing(&self) -> Routing {
        Routing::default()
    }
}

/// The bounds of [`route`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routing {
    /// Smallest case (events) whose queries may go to the index.
    pub min_events: u64,
    /// Matches from which a search term counts as common.
    pub common_term_matches: i64,
}

impl Default for Routing {
    /// [`INDEX_MIN_EVENTS`] and [`COMMON_TERM_MATCHES`].
    fn default() -> Self {
        Routing {
            min_events: INDEX_MIN_EVENTS,
            common_term_matches: COMMON_TERM_MATCHES,
        }
    }
}

/// Which backend answered a timeline query, and why not the index when it
/// was the one expected.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TimelineAnswer {
    /// The page.
    #[serde(flatten)]
    pub page: EventPage,
    /// `"sqlite"` or the index's [`TimelineIndex::name`].
    pub backend: &'static str,
    /// Why the index was expected to answer but SQLite did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// Cases with fewer events than this are always answered by SQLite
/// (measured: below it SQLite answers every query shape in well under
/// 200 ms and the index saves at most tens of ms; docs/scale-out.md "Case
/// store at scale").
pub const INDEX_MIN_EVENTS: u64 = 5_000_000;

/// A search term matching at least this many events is "common": SQLite
/// then has to gather and test the whole match list, which is what the
/// index avoids (the same bound as the SQLite planner's switch).
pub const COMMON_TERM_MATCHES: i64 = 20_000;

/// Where a query should go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// SQLite is as fast or faster for this query (or the case is small).
    Sqlite,
    /// The index is expected to be faster; the text says why.
    Index(&'static str),
}

/// Decide which backend should answer `q` on a case of `events` events
/// (the index is used from `min_events` on, normally [`INDEX_MIN_EVENTS`])
/// whose search term (if any) matches at least [`COMMON_TERM_MATCHES`]
/// events (`common_term`). The rule follows the measurements in
/// docs/scale-out.md ("Case store at scale"): the index wins when SQLite
/// must gather a long full-text match list — a common term, alone or with
/// other filters — in a case of `min_events` or more; SQLite wins for
/// everything else (rare terms, filters without a term), at any size. A
/// common term whose combination with the filters is rare is the index's
/// bad case; its reader gives up after a time budget and SQLite answers.
/// `full_text_pending`: SQLite's full-text index is not built yet (it
/// would refuse the search), so the index answers any search it can.
pub fn route(
    q: &EventQuery,
    events: u64,
    min_events: u64,
    common_term: bool,
    full_text_pending: bool,
) -> Route {
    if index_cannot(q).is_some() {
        return Route::Sqlite;
    }
    let has_text = search_terms(q).is_some();
    if full_text_pending && has_text {
        return Route::Index("full-text index still being built");
    }
    if events >= min_events && has_text && common_term {
        Route::Index("common search term")
    } else {
        Route::Sqlite
    }
}

/// Why an index cannot answer `q` at all, if it cannot.
pub fn index_cannot(q: &EventQuery) -> Option<&'static str> {
    if !q.rule_ids.is_empty() || !q.levels.is_empty() {
        return Some("rule and level filters are answered by SQLite");
    }
    if let Some(t) = q.text.as_deref()
        && !t.is_ascii()
    {
        // The index folds case and diacritics like FTS5's unicode61 for
        // Latin script only; a non-ASCII search stays with FTS5.
        return Some("non-ASCII search text is answered by SQLite");
    }
    None
}

/// One phrase of a search: its tokens (as [`fts_tokens`] writes them,
/// space separated) and whether the last one is a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    /// Folded tokens joined by one space.
    pub tokens: String,
    /// `word*`: the last token is a prefix.
    pub prefix: bool,
}

/// A search as phrases every matching event has (`include`) and has not
/// (`exclude`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchTerms {
    /// Phrases that must all occur.
    pub include: Vec<Phrase>,
    /// Phrases that must not occur.
    pub exclude: Vec<Phrase>,
}

impl Phrase {
    /// A `LIKE` pattern over a [`fts_tokens`] text that holds exactly when
    /// the phrase occurs in it. Tokens hold only letters and digits, so
    /// nothing needs escaping.
    pub fn like_pattern(&self) -> String {
        if self.prefix {
            format!("% {}%", self.tokens)
        } else {
            format!("% {} %", self.tokens)
        }
    }

    /// Whether the phrase occurs in a [`fts_tokens`] text.
    pub fn occurs_in(&self, text: &str) -> bool {
        let needle = if self.prefix {
            format!(" {}", self.tokens)
        } else {
            format!(" {} ", self.tokens)
        };
        text.contains(&needle)
    }
}

/// The search of `q` as phrases, parsed as `query::fts_query` parses it
/// (the tests check the two agree). `None`: no search.
pub fn search_terms(q: &EventQuery) -> Option<SearchTerms> {
    let text = q.text.as_deref().filter(|t| !t.trim().is_empty())?;
    let mut out = SearchTerms::default();
    for (word, prefix, negate) in search_words(text) {
        let mut tokens = String::new();
        fts_tokens(&word, &mut tokens);
        let tokens = tokens.trim().to_string();
        if tokens.is_empty() {
            // FTS5 treats a phrase of no tokens as matching nothing.
            out.include.push(Phrase {
                tokens: "\u{1}".into(),
                prefix: false,
            });
            continue;
        }
        let p = Phrase { tokens, prefix };
        if negate {
            out.exclude.push(p)
        } else {
            out.include.push(p)
        }
    }
    if out.include.is_empty() {
        // `fts_query` gives no query: the search matches nothing.
        out.include.push(Phrase {
            tokens: "\u{1}".into(),
            prefix: false,
        });
    }
    Some(out)
}

/// The user's words: `(word, prefix, negated)`. `query::fts_query` builds
/// SQLite's FTS5 query from these, so both backends read a search alike.
pub(crate) fn search_words(text: &str) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let negate = c == '-';
        if negate {
            chars.next();
        }
        let mut word = String::new();
        let mut prefix = false;
        if chars.peek() == Some(&'"') {
            chars.next();
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                word.push(c);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
            if word.len() > 1 && word.ends_with('*') {
                word.pop();
                prefix = true;
            }
        }
        // A word of only separators tokenises to nothing: FTS5 would
        // reject the empty phrase.
        if !word.chars().any(char::is_alphanumeric) {
            continue;
        }
        out.push((word, prefix, negate));
    }
    out
}

/// Append the tokens of `text` as FTS5's `unicode61 remove_diacritics 2`
/// tokenizer (the case's full-text index) makes them: runs of letters and
/// digits, case-folded, Latin diacritics removed; each token followed by
/// one space, and a space first when `out` is empty, so a phrase occurs
/// exactly where `" tok1 tok2 "` is a substring.
pub fn fts_tokens(text: &str, out: &mut String) {
    if out.is_empty() {
        out.push(' ');
    }
    let mut in_token = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                for l in c.to_lowercase() {
                    out.push(strip_diacritic(l));
                }
            }
            in_token = true;
        } else if is_combining_mark(c) {
            // Removed with the diacritics; does not end the token.
        } else if in_token {
            out.push(' ');
            in_token = false;
        }
    }
    if in_token {
        out.push(' ');
    }
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36f}')
}

/// The base letter of a lower-case Latin-1 or Latin Extended-A letter with
/// a diacritic (what `remove_diacritics` folds), else the letter.
fn strip_diacritic(c: char) -> char {
    const FROM: &str =
        "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżž";
    const TO: &str =
        "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzz";
    if (c as u32) < 0xc0 || (c as u32) > 0x17f {
        return c;
    }
    FROM.chars()
        .position(|f| f == c)
        .and_then(|i| TO.chars().nth(i))
        .unwrap_or(c)
}

/// ASCII case folding, as SQLite's `COLLATE NOCASE` compares names.
pub fn fold_name(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// One event as a timeline index stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    /// Id in the case.
    pub id: i64,
    /// µs since the epoch, [`NO_TIME`] when unknown.
    pub ts: i64,
    /// Host, folded with [`fold_name`].
    pub host: Option<String>,
    /// Channel, folded.
    pub channel: Option<String>,
    /// Account, folded.
    pub account: Option<String>,
    /// Windows event id.
    pub event_id: Option<i64>,
    /// The full-text index's text as [`fts_tokens`] (`" tok tok "`).
    pub text: String,
}

impl Case {
    /// Build the timeline indexes (time, host, channel, event id, account)
    /// when a bulk load left them out, but not the full-text index: enough
    /// to read the timeline in order ([`Case::for_each_timeline_chunk`]).
    /// Nothing to do when they exist.
    pub fn ensure_timeline_indexes(&mut self) -> Result<()> {
        if self.index_backlog()?.is_some_and(|b| b.timeline) {
            self.build_timeline_indexes()?;
        }
        Ok(())
    }

    /// Events and highest id now, to compare with an index's extent.
    pub fn timeline_extent(&self) -> Result<IndexExtent> {
        let max_id: i64 =
            self.conn
                .query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))?;
        Ok(IndexExtent {
            events: self.summary()?.events,
            max_id,
        })
    }

    /// Every event in timeline order, `chunk` at a time, as an index
    /// stores them; `f` returning `false` stops. Reads each chunk's events
    /// in id order, so each compressed block of fields is inflated about
    /// once even though the timeline interleaves evidence files. Memory:
    /// one chunk of rows.
    pub fn for_each_timeline_chunk(
        &self,
        chunk: usize,
        mut f: impl FnMut(Vec<TimelineRow>) -> Result<bool>,
    ) -> Result<()> {
        let chunk = chunk.max(1) as i64;
        let mut after: Option<(i64, i64)> = None;
        let mut keys_st = self.conn.prepare(
            "SELECT ts, id FROM events WHERE (ts, id) > (?1, ?2) ORDER BY ts, id LIMIT ?3",
        )?;
        let mut row_st = self.conn.prepare(
            "SELECT e.ts, h.value, c.value, a.value, e.event_id, e.fields, e.block_id, e.block_pos
             FROM events e
             LEFT JOIN names h ON h.id = e.host_id
             LEFT JOIN names c ON c.id = e.channel_id
             LEFT JOIN names a ON a.id = e.account_id
             WHERE e.id = ?1",
        )?;
        let mut flat = String::new();
        loop {
            let (ts0, id0) = after.unwrap_or((i64::MIN, i64::MIN));
            let keys: Vec<(i64, i64)> = keys_st
                .query_map(rusqlite::params![ts0, id0, chunk], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let Some(&last) = keys.last() else {
                return Ok(());
            };
            after = Some(last);
            let mut by_id: Vec<(i64, usize)> =
                keys.iter().enumerate().map(|(i, k)| (k.1, i)).collect();
            by_id.sort_unstable();
            let mut rows: Vec<Option<TimelineRow>> = vec![None; keys.len()];
            let mut cache = crate::blocks::BlockCache::default();
            for (id, slot) in by_id {
                let row = row_st
                    .query_row([id], |r| {
                        let event_id: Option<i64> = r.get(4)?;
                        let json = crate::blocks::event_fields(
                            &self.conn,
                            &mut cache,
                            r.get_ref(5)?,
                            (r.get(6)?, r.get(7)?),
                        )?;
                        let fields = match kahu_event::Value::from_json(json) {
                            kahu_event::Value::Object(f) => f,
                            _ => kahu_event::Fields::default(),
                        };
                        flat.clear();
                        crate::writer::flatten_fields(&fields, event_id.is_some(), &mut flat);
                        let mut text = String::with_capacity(flat.len() + 2);
                        fts_tokens(&flat, &mut text);
                        Ok(TimelineRow {
                            id,
                            ts: r.get(0)?,
                            host: r.get::<_, Option<String>>(1)?.map(|s| fold_name(&s)),
                            channel: r.get::<_, Option<String>>(2)?.map(|s| fold_name(&s)),
                            account: r.get::<_, Option<String>>(3)?.map(|s| fold_name(&s)),
                            event_id,
                            text,
                        })
                    })
                    .optional()?;
                rows[slot] = row;
            }
            if !f(rows.into_iter().flatten().collect())? {
                return Ok(());
            }
        }
    }

    /// The timeline rows of `ids`, in the order given; ids not in the case
    /// are an error (the index is out of date).
    pub fn events_by_ids(&self, ids: &[i64]) -> Result<Vec<EventRow>> {
        let mut st = self
            .conn
            .prepare_cached(&format!("{ROW_SELECT} WHERE e.id = ?1"))?;
        let mut cache = crate::blocks::BlockCache::default();
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let row = st
                .query_row([id], |r| Ok(read_row(&self.conn, &mut cache, r)?.0))
                .optional()?
                .ok_or_else(|| crate::Error::Invalid(format!("no event {id} in the case")))?;
            out.push(row);
        }
        Ok(out)
    }

    /// One page of the timeline from `index` when [`route`] sends the
    /// query there and the index is usable, else from SQLite
    /// ([`Case::query_events`]); the answer says which, and why not the
    /// index when it was expected.
    pub fn query_timeline(
        &self,
        q: &EventQuery,
        index: Option<&dyn TimelineIndex>,
    ) -> Result<TimelineAnswer> {
        let sqlite = |fallback: Option<String>| -> Result<TimelineAnswer> {
            Ok(TimelineAnswer {
                page: self.query_events(q)?,
                backend: "sqlite",
                fallback,
            })
        };
        let Some(index) = index else {
            return sqlite(None);
        };
        if index_cannot(q).is_some() {
            return sqlite(None);
        }
        let extent = self.timeline_extent()?;
        let pending = self.require_full_text().is_err();
        let routing = index.routing();
        let common = match (pending, search_terms(q)) {
            (false, Some(_)) => match q.text.as_deref().and_then(crate::query::fts_query) {
                Some(m) => self.fts_count_at_least(&m, routing.common_term_matches.max(1))?,
                None => false,
            },
            _ => false,
        };
        let Route::Index(_) = route(q, extent.events, routing.min_events, common, pending) else {
            return sqlite(None);
        };
        match self.page_from_index(index, q, extent) {
            Ok(page) => Ok(TimelineAnswer {
                page,
                backend: index.name(),
                fallback: None,
            }),
            Err(reason) => {
                let reason = format!("{} timeline not used: {reason}", index.name());
                sqlite(Some(reason))
            }
        }
    }

    fn fts_count_at_least(&self, m: &str, n: i64) -> Result<bool> {
        let c: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM (SELECT rowid FROM events_fts WHERE events_fts MATCH ?1 LIMIT ?2)")?
            .query_row(rusqlite::params![m, n], |r| r.get(0))?;
        Ok(c >= n)
    }

    /// A page through `index`, or why it could not give one.
    pub fn page_from_index(
        &self,
        index: &dyn TimelineIndex,
        q: &EventQuery,
        now: IndexExtent,
    ) -> std::result::Result<EventPage, String> {
        let built = index.extent()?;
        if built != now {
            return Err(format!(
                "it is out of date (built over {} events up to id {}, the case has {} up to id {}); run `kahu case parquet` again",
                built.events, built.max_id, now.events, now.max_id
            ));
        }
        let limit = match q.limit {
            0 => 100,
            n => n.min(MAX_LIMIT),
        };
        // A panic in the index (hostile bytes in its files) is a fallback,
        // not a failed request.
        let keys = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            index.page_keys(q, limit + 1)
        }))
        .map_err(|_| "the index failed (panic)".to_string())??;
        if keys.len() > limit + 1
            || keys
                .windows(2)
                .any(|w| (w[0].ts, w[0].id) >= (w[1].ts, w[1].id))
        {
            return Err("the index returned rows out of order".into());
        }
        let ids: Vec<i64> = keys.iter().map(|k| k.id).collect();
        let events = self.events_by_ids(&ids).map_err(|e| e.to_string())?;
        for (e, k) in events.iter().zip(&keys) {
            if e.ts.unwrap_or(NO_TIME) != k.ts {
                return Err(format!("event {} has another time in the index", e.id));
            }
        }
        Ok(EventPage::from_rows(events, limit))
    }
}

#[cfg(test)]
mod tests;
