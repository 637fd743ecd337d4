//! The full-text index a bulk load leaves for later (`Case::bulk_writer`,
//! `Case::build_indexes`): searches refuse to answer from a half-built
//! index, the build finds what indexing at load time found, nothing is
//! indexed twice, and an interrupted build resumes.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_case::{Case, Error, EventQuery};
use kahu_event::{Event, Location, Provenance, Value};
use std::sync::Arc;

fn ev(file: &str, rec: u64, eid: Option<u32>, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(Provenance::new(Arc::from(file), Location::Record(rec)));
    e.timestamp = chrono::DateTime::from_timestamp_micros(1_600_000_000_000_000 + rec as i64);
    e.host = Some(Arc::from("ws01"));
    e.event_id = eid;
    for (k, v) in fields {
        e.fields.insert(k, Value::str(v));
    }
    e
}

/// Events with a mix of shapes: Windows (event id, rendered Message),
/// text logs (no event id, multi-line message), nested and numeric fields.
fn events(file: &str, n: u64) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let mut e = match i % 3 {
                0 => ev(
                    file,
                    i,
                    Some(4688),
                    &[
                        ("CommandLine", &format!("cmd.exe /c whoami{i}")),
                        ("Message", "Process Create:\r\nHiddenrenderedline: yes"),
                    ],
                ),
                1 => ev(
                    file,
                    i,
                    None,
                    &[("Message", &format!("sshd accepted\nsecondline{i}"))],
                ),
                _ => ev(file, i, Some(1), &[("Image", "mimikatz.exe")]),
            };
            let mut inner = kahu_event::Fields::default();
            inner.insert("port", Value::Int(4444 + i as i64));
            e.fields.insert("net", Value::Object(inner));
            e
        })
        .collect()
}

fn search(case: &Case, text: &str) -> kahu_case::Result<Vec<i64>> {
    let page = case.query_events(&EventQuery {
        text: Some(text.into()),
        limit: 1000,
        ..Default::default()
    })?;
    Ok(page.events.iter().map(|r| r.id).collect())
}

const TERMS: &[&str] = &[
    "whoami3",
    "mimikatz",
    "secondline4",
    "hiddenrenderedline",
    "4446",
    "process create",
    "sshd",
];

#[test]
fn bulk_load_defers_the_index_and_the_build_matches_indexing_at_load() {
    let evs = events("a.evtx", 30);
    // Indexed at load time.
    let eager_dir = tempfile::tempdir().unwrap();
    let mut eager = Case::create(eager_dir.path()).unwrap();
    let mut w = eager.writer().unwrap();
    for e in &evs {
        w.add_event(e).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(eager.index_backlog().unwrap(), None);

    // Bulk load: searching fails loudly until the index is built.
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let mut w = case.bulk_writer().unwrap();
    for e in &evs {
        w.add_encoded(&kahu_case::EncodedEvent::without_full_text(e).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    assert_eq!(case.index_backlog().unwrap().unwrap().remaining(), 30);
    match search(&case, "mimikatz") {
        Err(Error::FullTextPending { remaining: 30 }) => {}
        other => panic!("expected FullTextPending, got {other:?}"),
    }
    // Filters without text still work meanwhile.
    let all = case
        .query_events(&EventQuery {
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.events.len(), 30);

    assert_eq!(case.build_indexes(|_| {}).unwrap(), 30);
    assert_eq!(case.index_backlog().unwrap(), None);
    for t in TERMS {
        let want = search(&eager, t).unwrap();
        assert!(!want.is_empty() || *t == "hiddenrenderedline", "{t}");
        assert_eq!(search(&case, t).unwrap(), want, "search {t}");
    }
    // The rendered lines of a Windows Message stay out of the index either way.
    assert!(search(&case, "hiddenrenderedline").unwrap().is_empty());
    // A second build has nothing to do.
    assert_eq!(case.build_indexes(|_| {}).unwrap(), 0);
}

#[test]
fn events_added_after_a_deferred_load_are_indexed_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let mut w = case.bulk_writer().unwrap();
    for e in events("a.evtx", 6) {
        w.add_encoded(&kahu_case::EncodedEvent::without_full_text(&e).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    // An ordinary writer meanwhile (hunt --case, a second load) must not
    // index its events now: the build would index them a second time.
    let mut w = case.writer().unwrap();
    w.add_event(&ev("b.log", 1, None, &[("Message", "latecomer")]))
        .unwrap();
    w.finish().unwrap();
    assert_eq!(case.index_backlog().unwrap().unwrap().remaining(), 7);
    assert_eq!(case.build_indexes(|_| {}).unwrap(), 7);
    assert_eq!(search(&case, "latecomer").unwrap().len(), 1);
    assert_eq!(search(&case, "mimikatz").unwrap().len(), 2);
    // Exactly one index entry per event.
    let entries: i64 = case
        .connection()
        .query_row(
            "SELECT count(*) FROM events_fts WHERE events_fts MATCH 'ws01 OR sshd OR mimikatz OR whoami0 OR whoami3 OR latecomer'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(entries, 7);
}

fn index_names(case: &Case) -> Vec<String> {
    let mut st = case
        .connection()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL ORDER BY name")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn an_interrupted_build_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let mut w = case.bulk_writer().unwrap();
    // More than one chunk of the build (20,000 events), and enough events
    // for the load to defer the timeline indexes (50,000).
    for e in events("a.evtx", 60_000) {
        w.add_encoded(&kahu_case::EncodedEvent::without_full_text(&e).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    // More than 50,000 events into an empty case: the load dropped the five
    // timeline indexes and the provenance index and left them to the build
    // (findings written afterwards find their events by one scan).
    let backlog = case.index_backlog().unwrap().unwrap();
    assert!(backlog.timeline);
    assert_eq!(index_names(&case), Vec::<String>::new());
    // Timeline queries answer meanwhile, in time order.
    let page = case
        .query_events(&EventQuery {
            limit: 3,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.events.len(), 3);
    assert!(page.events[0].ts <= page.events[1].ts);
    // Stop the build after its first full-text chunk (the progress callback panics,
    // as a killed process would stop): the committed chunk stays.
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut steps = 0;
        case.build_indexes(|_| {
            // Step 1: the timeline indexes; step 2: the first chunk.
            steps += 1;
            if steps == 2 {
                panic!("stop")
            }
        })
        .unwrap();
    }));
    assert!(stopped.is_err());
    let left = case.index_backlog().unwrap().unwrap();
    assert_eq!(left.remaining(), 40_000);
    // The timeline indexes came first and are in place.
    assert!(!left.timeline);
    assert_eq!(index_names(&case).len(), 6);
    let mut reports = Vec::new();
    assert_eq!(
        case.build_indexes(|b| reports.push(b.remaining())).unwrap(),
        40_000
    );
    assert_eq!(reports, vec![20_000, 0]);
    assert_eq!(case.index_backlog().unwrap(), None);
    assert_eq!(search(&case, "whoami59997").unwrap().len(), 1);
    assert_eq!(search(&case, "whoami3").unwrap().len(), 1);
}
