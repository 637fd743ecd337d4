//! Several writers on one case: threads with their own connections and
//! whole processes never fail with "database is locked" and never lose an
//! accepted write; a read-modify-write of a document sees every change
//! committed before it. Identical evidence files keep their provenance.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_case::{Case, EvidenceInfo, SCHEMA_VERSION};
use kahu_event::{Event, Location, Provenance, Value};
use std::sync::{Arc, Barrier};

fn event(file: &str, rec: u64) -> Event {
    let mut e = Event::new(Provenance::new(Arc::from(file), Location::Record(rec)));
    e.timestamp = chrono::DateTime::from_timestamp_micros(1_600_000_000_000_000 + rec as i64);
    e.host = Some(Arc::from("WS1"));
    e.fields
        .insert("CommandLine", Value::str("cmd.exe /c whoami"));
    e
}

#[test]
fn concurrent_writers_on_fresh_and_busy_cases_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    const THREADS: usize = 6;
    const ROUNDS: u64 = 15;
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let dir = dir.path().to_path_buf();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                // Every thread creates the case: the schema is made once.
                let mut case = Case::create(&dir).expect("create");
                for r in 0..ROUNDS {
                    // A bulk ingest (reads the inventory, then writes) …
                    let file = format!("t{t}-{r}.log");
                    let mut w = case.writer().expect("writer waits, never fails");
                    w.begin_evidence(&EvidenceInfo {
                        path: file.clone(),
                        ..Default::default()
                    })
                    .expect("register");
                    for i in 0..50 {
                        w.add_event(&event(&file, i)).expect("event");
                    }
                    w.finish().expect("ingest commits");
                    // … and an analyst's note, between other writers.
                    case.add_note("event", &format!("{t}-{r}"), "seen", &format!("a{t}"))
                        .expect("note is accepted");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer thread");
    }
    let case = Case::open_read_only(dir.path()).unwrap();
    assert_eq!(case.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(case.notes(None).unwrap().len(), THREADS * ROUNDS as usize);
    assert_eq!(
        case.summary().unwrap().events,
        THREADS as u64 * ROUNDS * 50,
        "every accepted event is stored"
    );
}

#[test]
fn concurrent_read_modify_writes_never_lose_an_update() {
    let dir = tempfile::tempdir().unwrap();
    Case::create(dir.path()).unwrap();
    const THREADS: usize = 4;
    const ROUNDS: usize = 8;
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let dir = dir.path().to_path_buf();
            let start = start.clone();
            std::thread::spawn(move || {
                let mut case = Case::open(&dir).unwrap();
                start.wait();
                for r in 0..ROUNDS {
                    case.add_dispute("technique", &format!("T{t}-{r}"), "noise", "analyst")
                        .unwrap();
                    // Recompute from the disputes as they stand, store the result.
                    case.update_document("attribution", "kahu", |c, _| {
                        let n = c.disputes(true)?.len();
                        std::thread::yield_now();
                        Ok((1, serde_json::json!({ "disputed": n })))
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let case = Case::open_read_only(dir.path()).unwrap();
    let doc = case.document("attribution").unwrap().unwrap();
    assert_eq!(
        doc.body["disputed"],
        THREADS * ROUNDS,
        "the last stored document ignores a committed dispute"
    );
}

#[test]
fn identical_files_keep_each_its_own_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let sha = "ab".repeat(32);
    let mut w = case.writer().unwrap();
    for i in 0..100 {
        let path = format!("host{i}/auth.log");
        if w.begin_evidence(&EvidenceInfo {
            path: path.clone(),
            sha256: Some(sha.clone()),
            ..Default::default()
        })
        .unwrap()
        .is_some()
        {
            w.add_event(&event(&path, 1)).unwrap();
        }
    }
    let stats = w.finish().unwrap();
    assert_eq!((stats.evidence, stats.copies), (1, 99));
    let inventory = case.evidence().unwrap();
    assert_eq!(inventory.len(), 100, "every file read is listed");
    let page = case
        .query_events(&kahu_case::EventQuery::default())
        .unwrap();
    assert_eq!(page.events.len(), 1, "the content is stored once");
    let detail = case.event(page.events[0].id).unwrap().unwrap();
    assert_eq!(detail.also_in.len(), 99);
    assert!(detail.also_in.iter().any(|p| p.file == "host99/auth.log"));
}
