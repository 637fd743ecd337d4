#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use super::*;
use crate::synth::{SynthOptions, build};

/// FTS5's own tokens of `text` (same tokenizer as the case's index), read
/// back through `fts5vocab`.
fn sqlite_tokens(texts: &[&str]) -> Vec<Vec<String>> {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE VIRTUAL TABLE t USING fts5(text, tokenize='unicode61 remove_diacritics 2');
         CREATE VIRTUAL TABLE v USING fts5vocab(t, instance);",
    )
    .unwrap();
    for (i, t) in texts.iter().enumerate() {
        db.execute(
            "INSERT INTO t(rowid, text) VALUES (?1, ?2)",
            rusqlite::params![i as i64, t],
        )
        .unwrap();
    }
    let mut out = vec![Vec::new(); texts.len()];
    let mut st = db
        .prepare("SELECT doc, term FROM v ORDER BY doc, offset")
        .unwrap();
    let rows = st
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .unwrap();
    for r in rows {
        let (doc, term) = r.unwrap();
        out[doc as usize].push(term);
    }
    out
}

#[test]
fn tokens_are_fts5s_tokens() {
    let texts = [
        "C:\\Windows\\System32\\svchost.exe -k netsvcs -p 12",
        "CORP\\svc_backup logged on from 10.1.2.3:445",
        "{00000000-1111-2222-3333-000000000abc} SHA256=ABCDEF0123",
        "Café Crème naïve façade Ærø Ångström ŽLUŤOUČKÝ kůň Łódź",
        "Ünïcödé ñandú ÀÉÎÕÜ ÿ ĀĂĄ ĆĈĊČ",
        "tab\tsep\nnew line  x²  ª 3½ under_score dash-case dot.name",
        "<script>alert('kahu-xss')</script>",
        "",
        "   ",
        "e\u{301}clair",
    ];
    let expected = sqlite_tokens(&texts);
    for (t, exp) in texts.iter().zip(expected) {
        let mut s = String::new();
        fts_tokens(t, &mut s);
        let got: Vec<&str> = s.split(' ').filter(|w| !w.is_empty()).collect();
        assert_eq!(got, exp, "tokens of {t:?}");
        assert!(
            s.starts_with(' ') && (s.len() == 1 || s.ends_with(' ')),
            "{s:?}"
        );
    }
}

/// The FTS5 query text `query::fts_query` would make from the parsed words.
fn rebuild(text: &str) -> Option<String> {
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    for (w, prefix, negate) in search_words(text) {
        let mut q = format!("\"{}\"", w.replace('"', "\"\""));
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

#[test]
fn search_words_parse_as_fts_query_does() {
    for text in [
        "svc_sql",
        "  a  b ",
        "\"update.example.org\" -alice",
        "svc* -bob*",
        "-only negative",
        "-\"quoted neg\" x",
        "\"unterminated phrase",
        "*",
        "a*",
        "-",
        "--x",
        "\"\"",
        "x\"y\"z",
        "é* ñ -ü",
        "(a) OR b:c",
    ] {
        assert_eq!(rebuild(text), crate::query::fts_query(text), "{text:?}");
    }
}

/// A timeline index over rows in memory, filtering in Rust: the reference
/// semantics an index must have.
struct VecIndex {
    rows: Vec<TimelineRow>,
    extent: IndexExtent,
}

impl TimelineIndex for VecIndex {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn extent(&self) -> std::result::Result<IndexExtent, String> {
        Ok(self.extent)
    }
    fn page_keys(&self, q: &EventQuery, limit: usize) -> std::result::Result<Vec<Cursor>, String> {
        let any = |want: &[String], have: &Option<String>| {
            want.is_empty()
                || have
                    .as_ref()
                    .is_some_and(|h| want.iter().any(|w| fold_name(w) == *h))
        };
        let terms = search_terms(q);
        Ok(self
            .rows
            .iter()
            .filter(|r| q.from.is_none_or(|f| r.ts >= f))
            .filter(|r| q.to.is_none_or(|t| r.ts < t))
            .filter(|r| q.after.is_none_or(|c| (r.ts, r.id) > (c.ts, c.id)))
            .filter(|r| any(&q.hosts, &r.host))
            .filter(|r| any(&q.channels, &r.channel))
            .filter(|r| any(&q.accounts, &r.account))
            .filter(|r| {
                q.event_ids.is_empty()
                    || r.event_id
                        .is_some_and(|e| q.event_ids.iter().any(|&w| i64::from(w) == e))
            })
            .filter(|r| {
                terms.as_ref().is_none_or(|t| {
                    t.include.iter().all(|p| p.occurs_in(&r.text))
                        && !t.exclude.iter().any(|p| p.occurs_in(&r.text))
                })
            })
            .take(limit)
            .map(|r| Cursor { ts: r.ts, id: r.id })
            .collect())
    }
}

fn small_case() -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let opts = SynthOptions {
        events: 3000,
        hosts: 4,
        days: 2,
        seed: 11,
        documents: false,
    };
    build(&mut case, &opts).unwrap();
    (dir, case)
}

/// Queries the timeline's UI sends, each walked page by page.
pub(crate) fn parity_queries(mid: i64) -> Vec<EventQuery> {
    let q = |f: &dyn Fn(&mut EventQuery)| {
        let mut q = EventQuery {
            limit: 37,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let s = |v: &str| vec![v.to_string()];
    vec![
        q(&|_| {}),
        q(&|q| q.hosts = s("WS01.corp.local")),
        q(&|q| q.hosts = s("ws01.CORP.LOCAL")),
        q(&|q| q.hosts = vec!["DC01.corp.local".into(), "nope".into()]),
        q(&|q| q.hosts = s("no-such-host")),
        q(&|q| {
            q.channels = s("security");
            q.event_ids = vec![4624, 4688];
        }),
        q(&|q| q.accounts = s("SVC_BACKUP")),
        q(&|q| q.text = Some("svc_sql".into())),
        q(&|q| q.text = Some("\"update.example.org\"".into())),
        q(&|q| q.text = Some("update.example.org".into())),
        q(&|q| q.text = Some("svc* -alice".into())),
        q(&|q| q.text = Some("powershell".into())),
        q(&|q| q.text = Some("Get-ChildItem CORP".into())),
        q(&|q| q.text = Some("sekurlsa".into())),
        q(&|q| q.text = Some("-svc_sql".into())),
        q(&|q| q.text = Some("---".into())),
        q(&|q| q.text = Some("netsvc*".into())),
        q(&|q| {
            q.text = Some("svc_sql".into());
            q.hosts = s("WS01.corp.local");
        }),
        q(&|q| {
            q.text = Some("tcp 443".into());
            q.channels = s("Microsoft-Windows-Sysmon/Operational");
            q.from = Some(mid - 3_600_000_000);
            q.to = Some(mid + 7_200_000_000);
        }),
        q(&|q| {
            q.from = Some(mid);
            q.after = Some(Cursor { ts: mid, id: 5 });
        }),
        q(&|q| {
            q.limit = 0; // the default page
            q.text = Some("CORP".into());
        }),
    ]
}

/// Walk every page of `q` with `page` and return them.
pub(crate) fn walk(
    q: &EventQuery,
    mut page: impl FnMut(&EventQuery) -> EventPage,
) -> Vec<(Vec<i64>, Option<String>)> {
    let mut q = q.clone();
    let mut out = Vec::new();
    loop {
        let p = page(&q);
        let ids = p.events.iter().map(|e| e.id).collect();
        out.push((ids, p.next.clone()));
        match p.next {
            Some(c) if out.len() < 10_000 => q.after = Cursor::decode(&c),
            _ => return out,
        }
    }
}

#[test]
fn index_pages_are_sqlite_pages() {
    let (_dir, mut case) = small_case();
    case.build_indexes(|_| {}).unwrap();
    let mut rows = Vec::new();
    case.for_each_timeline_chunk(500, |chunk| {
        rows.extend(chunk);
        Ok(true)
    })
    .unwrap();
    let extent = case.timeline_extent().unwrap();
    assert_eq!(rows.len() as u64, extent.events);
    assert!(
        rows.windows(2)
            .all(|w| (w[0].ts, w[0].id) < (w[1].ts, w[1].id))
    );
    let index = VecIndex { rows, extent };
    let (lo, hi) = case.time_bounds().unwrap().unwrap();
    let mut non_empty = 0;
    for q in parity_queries(lo + (hi - lo) / 2) {
        let expected = walk(&q, |q| case.query_events(q).unwrap());
        let got = walk(&q, |q| case.page_from_index(&index, q, extent).unwrap());
        assert_eq!(got, expected, "{q:?}");
        non_empty += usize::from(!expected[0].0.is_empty());
    }
    assert!(non_empty >= 15, "the queries must find events: {non_empty}");
}

#[test]
fn stale_or_failing_index_falls_back_with_a_reason() {
    let (_dir, case) = small_case();
    let extent = case.timeline_extent().unwrap();
    let stale = VecIndex {
        rows: Vec::new(),
        extent: IndexExtent {
            events: extent.events - 1,
            max_id: extent.max_id - 1,
        },
    };
    let q = EventQuery::default();
    let err = case.page_from_index(&stale, &q, extent).unwrap_err();
    assert!(err.contains("out of date"), "{err}");

    struct Panics;
    impl TimelineIndex for Panics {
        fn name(&self) -> &'static str {
            "parquet"
        }
        fn extent(&self) -> std::result::Result<IndexExtent, String> {
            Err("CASE/timeline/part-00000.parquet: not a Parquet file".into())
        }
        fn page_keys(&self, _: &EventQuery, _: usize) -> std::result::Result<Vec<Cursor>, String> {
            panic!("hostile bytes")
        }
    }
    let err = case.page_from_index(&Panics, &q, extent).unwrap_err();
    assert!(err.contains("not a Parquet file"), "{err}");
}

#[test]
fn routing_follows_the_measured_rule() {
    let text = |t: &str, host: bool| EventQuery {
        text: Some(t.into()),
        hosts: if host { vec!["h".into()] } else { vec![] },
        ..Default::default()
    };
    let big = INDEX_MIN_EVENTS;
    assert!(matches!(
        route(&text("svc", true), big, big, true, false),
        Route::Index(_)
    ));
    assert_eq!(
        route(&text("svc", true), big - 1, big, true, false),
        Route::Sqlite
    );
    assert_eq!(
        route(&text("svc", true), big, big, false, false),
        Route::Sqlite
    );
    assert!(matches!(
        route(&text("svc", false), big, big, true, false),
        Route::Index(_)
    ));
    assert_eq!(
        route(&EventQuery::default(), big, big, false, false),
        Route::Sqlite
    );
    assert!(matches!(
        route(&text("svc", false), 10, big, false, true),
        Route::Index(_)
    ));
    let mut q = text("svc", true);
    q.rule_ids = vec!["r".into()];
    assert_eq!(route(&q, big, big, true, true), Route::Sqlite);
    assert_eq!(
        route(&text("café", true), big, big, true, true),
        Route::Sqlite
    );
}

#[test]
fn a_case_without_an_index_is_answered_by_sqlite() {
    let (_dir, case) = small_case();
    let a = case.query_timeline(&EventQuery::default(), None).unwrap();
    assert_eq!(a.backend, "sqlite");
    assert!(a.fallback.is_none());
    assert_eq!(a.page.events.len(), 100);
}
