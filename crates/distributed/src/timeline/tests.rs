//! The Parquet timeline against SQLite, the existing implementation: the
//! same pages (event ids, order, cursors) for the timeline's queries.

use super::*;
use kahu_case::synth::{SynthOptions, build};
use kahu_case::{Case, EventPage};
use kahu_columnar::timeline::{TIMELINE_DIR, TimelineOptions, write_timeline};

/// Route every query the index can answer to it.
const ANY: Routing = Routing {
    min_events: 0,
    common_term_matches: 1,
};

/// A fresh directory under the system temp dir (the crate's helper).
struct Dir(PathBuf);

impl Dir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn case_with_timeline(opts: TimelineOptions) -> (Dir, Case) {
    let dir = Dir(crate::tests::temp("case-timeline"));
    let mut case = Case::create(dir.path()).expect("case");
    let synth = SynthOptions {
        events: 4000,
        hosts: 5,
        days: 2,
        seed: 23,
        documents: false,
    };
    build(&mut case, &synth).expect("synthetic case");
    case.build_indexes(|_| {}).expect("indexes");
    write_timeline(&case, opts, |_| {}).expect("timeline");
    (dir, case)
}

fn queries(mid: i64) -> Vec<EventQuery> {
    let q = |f: &dyn Fn(&mut EventQuery)| {
        let mut q = EventQuery {
            limit: 53,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let s = |v: &str| vec![v.to_string()];
    vec![
        q(&|_| {}),
        q(&|q| q.hosts = s("WS01.corp.local")),
        q(&|q| q.hosts = s("dc01.CORP.local")),
        q(&|q| q.hosts = s("no-such-host")),
        q(&|q| {
            q.channels = s("SECURITY");
            q.event_ids = vec![4624, 4625];
        }),
        q(&|q| q.accounts = vec!["svc_backup".into(), "Alice".into()]),
        q(&|q| q.text = Some("svc_sql".into())),
        q(&|q| q.text = Some("\"update.example.org\"".into())),
        q(&|q| q.text = Some("svc* -alice".into())),
        q(&|q| q.text = Some("sekurlsa".into())),
        q(&|q| q.text = Some("-svc_sql".into())),
        q(&|q| q.text = Some("443 tcp".into())),
        q(&|q| {
            q.text = Some("svc_sql".into());
            q.hosts = s("WS01.corp.local");
        }),
        q(&|q| {
            q.text = Some("corp".into());
            q.channels = s("Microsoft-Windows-Sysmon/Operational");
            q.event_ids = vec![3];
            q.from = Some(mid - 7_200_000_000);
            q.to = Some(mid + 3_600_000_000);
        }),
        q(&|q| {
            q.after = Some(Cursor { ts: mid, id: 17 });
            q.limit = 500;
        }),
        q(&|q| q.limit = 0),
    ]
}

fn walk(
    q: &EventQuery,
    mut page: impl FnMut(&EventQuery) -> EventPage,
) -> Vec<(Vec<i64>, Option<String>)> {
    let mut q = q.clone();
    let mut out = Vec::new();
    loop {
        let p = page(&q);
        out.push((
            p.events.iter().map(|e| e.id).collect::<Vec<_>>(),
            p.next.clone(),
        ));
        match p.next {
            Some(c) if out.len() < 10_000 => q.after = Cursor::decode(&c),
            _ => return out,
        }
    }
}

#[test]
fn parquet_pages_are_sqlite_pages() {
    // Small files and row groups, so pages cross files and the scan skips
    // row groups by statistics.
    let opts = TimelineOptions {
        max_file_rows: 900,
        row_group_rows: 200,
        chunk_rows: 500,
        ..Default::default()
    };
    let (dir, case) = case_with_timeline(opts);
    let index = ParquetTimeline::open(dir.path()).with_budget(None);
    let extent = case.timeline_extent().expect("extent");
    assert_eq!(index.extent(), Ok(extent));
    let (lo, hi) = case.time_bounds().expect("bounds").expect("times");
    let mut found = 0;
    for q in queries(lo + (hi - lo) / 2) {
        let expected = walk(&q, |q| case.query_events(q).expect("sqlite"));
        let got = walk(&q, |q| {
            case.page_from_index(&index, q, extent).expect("parquet")
        });
        assert_eq!(got, expected, "{q:?}");
        found += usize::from(!expected[0].0.is_empty());
    }
    assert!(found >= 13, "the queries must find events: {found}");
}

#[test]
fn a_damaged_timeline_falls_back_to_sqlite_with_the_reason() {
    let (dir, case) = case_with_timeline(TimelineOptions::default());
    let part = dir.path().join(TIMELINE_DIR).join("part-00000.parquet");
    let bytes = std::fs::read(&part).expect("part");
    let q = EventQuery {
        text: Some("svc_sql".into()),
        hosts: vec!["WS01.corp.local".into()],
        ..Default::default()
    };
    let expected = case.query_events(&q).expect("sqlite");
    let ids = |p: &EventPage| p.events.iter().map(|e| e.id).collect::<Vec<_>>();
    // Truncated (the manifest's size no longer holds), then garbage of the
    // same size (the footer no longer parses), then a footer intact but
    // pages overwritten (only the scan finds out).
    let mut garbage = bytes.clone();
    for b in garbage.iter_mut() {
        *b = 0x5a;
    }
    let mut pages = bytes.clone();
    let end = pages.len() / 2;
    for b in &mut pages[8..end] {
        *b = 0xff;
    }
    for (what, damaged) in [
        ("truncated", bytes[..bytes.len() / 3].to_vec()),
        ("garbage", garbage),
        ("pages", pages),
    ] {
        std::fs::write(&part, &damaged).expect("damage");
        let index = ParquetTimeline::open(dir.path()).with_routing(ANY);
        let a = case.query_timeline(&q, Some(&index)).expect("answer");
        assert_eq!(a.backend, "sqlite", "{what}");
        let reason = a.fallback.unwrap_or_default();
        assert!(
            reason.contains("parquet timeline not used"),
            "{what}: {reason}"
        );
        assert_eq!(ids(&a.page), ids(&expected), "{what}");
    }
    // Intact again: the index answers, with the same page.
    std::fs::write(&part, &bytes).expect("restore");
    let index = ParquetTimeline::open(dir.path())
        .with_routing(ANY)
        .with_budget(None);
    let a = case.query_timeline(&q, Some(&index)).expect("answer");
    assert_eq!((a.backend, a.fallback.as_deref()), ("parquet", None));
    assert_eq!(ids(&a.page), ids(&expected));
    // No timeline at all.
    std::fs::remove_dir_all(dir.path().join(TIMELINE_DIR)).expect("remove");
    let index = ParquetTimeline::open(dir.path()).with_routing(ANY);
    let a = case.query_timeline(&q, Some(&index)).expect("answer");
    assert_eq!(a.backend, "sqlite");
    assert!(a.fallback.is_some_and(|r| r.contains("kahu case parquet")));
}

#[test]
fn searches_go_to_parquet_while_the_full_text_index_is_built() {
    let (dir, case) = case_with_timeline(TimelineOptions::default());
    let q = EventQuery {
        text: Some("svc_sql".into()),
        limit: 25,
        ..Default::default()
    };
    let expected = case.query_events(&q).expect("sqlite");
    // What a bulk load leaves: events not yet in the full-text index
    // (`kahu serve` builds it in the background).
    case.connection()
        .execute(
            "INSERT INTO meta(key, value) VALUES ('fts_pending_from', '1')",
            [],
        )
        .expect("mark pending");
    assert!(case.query_events(&q).is_err(), "SQLite refuses the search");
    let index = ParquetTimeline::open(dir.path()).with_budget(None);
    let a = case.query_timeline(&q, Some(&index)).expect("answer");
    assert_eq!((a.backend, a.fallback.as_deref()), ("parquet", None));
    let ids = |p: &EventPage| p.events.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(&a.page), ids(&expected));
    assert_eq!(a.page.next, expected.next);
}

/// As `kahu serve` uses it: queried from a blocking task of another async
/// runtime, and dropped inside that runtime.
#[test]
fn works_from_inside_a_servers_runtime() {
    let (dir, case) = case_with_timeline(TimelineOptions::default());
    drop(case);
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    let path = dir.path().to_path_buf();
    let n = server.block_on(async move {
        let index = Arc::new(ParquetTimeline::open(&path).with_budget(None));
        let i = index.clone();
        let keys = tokio::task::spawn_blocking(move || {
            let q = EventQuery {
                text: Some("svc_sql".into()),
                ..Default::default()
            };
            i.page_keys(&q, 10)
        })
        .await
        .expect("task");
        drop(index);
        keys.expect("keys").len()
    });
    assert_eq!(n, 10);
}
