//! A new case's first bulk load runs on a rollback journal instead of WAL
//! (`Case::begin_first_load`): only when the case has no events and no
//! other connection, never by waiting for one, and the case is back in WAL
//! and complete afterwards; a load that fails half-way leaves the case as
//! it was.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_case::Case;
use kahu_event::{Event, Location, Provenance, Value};
use std::sync::Arc;

fn ev(rec: u64) -> Event {
    let mut e = Event::new(Provenance::new(Arc::from("a.evtx"), Location::Record(rec)));
    e.timestamp = chrono::DateTime::from_timestamp_micros(1_600_000_000_000_000 + rec as i64);
    e.host = Some(Arc::from("ws01"));
    e.event_id = Some(4688);
    e.fields.insert(
        "CommandLine",
        Value::str(&format!("cmd.exe /c whoami {rec}")),
    );
    e
}

fn journal_mode(case: &Case) -> String {
    case.connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

fn load(case: &mut Case, n: u64) {
    let mut w = case.bulk_writer().unwrap();
    for i in 0..n {
        w.add_event(&ev(i)).unwrap();
    }
    w.finish().unwrap();
}

fn count(case: &Case) -> i64 {
    case.connection()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_new_case_loads_on_a_rollback_journal_and_returns_to_wal() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    assert_eq!(journal_mode(&case), "wal");
    assert!(case.begin_first_load().unwrap());
    assert_eq!(journal_mode(&case), "delete");
    load(&mut case, 2_000);
    case.end_first_load().unwrap();
    assert_eq!(journal_mode(&case), "wal");
    drop(case);
    let case = Case::open_read_only(dir.path()).unwrap();
    assert_eq!(count(&case), 2_000);
    let ok: String = case
        .connection()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn a_case_with_events_keeps_wal() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    load(&mut case, 10);
    assert!(!case.begin_first_load().unwrap());
    assert_eq!(journal_mode(&case), "wal");
}

#[test]
fn another_open_connection_keeps_wal_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    // A reader (as `kahu serve` holds one) with a read in progress.
    let reader = Case::open_read_only(dir.path()).unwrap();
    let conn = reader.connection();
    let mut st = conn.prepare("SELECT id FROM names").unwrap();
    let _rows = st.query([]).unwrap();
    // The writer's busy timeout is 30 minutes: the switch must give up at
    // once instead (a hang here fails the test run).
    assert!(!case.begin_first_load().unwrap());
    assert_eq!(journal_mode(&case), "wal");
    load(&mut case, 5);
    assert_eq!(count(&case), 5);
}

#[test]
fn a_failed_first_load_leaves_the_case_empty_and_usable() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    assert!(case.begin_first_load().unwrap());
    {
        let mut w = case.bulk_writer().unwrap();
        for i in 0..500 {
            w.add_event(&ev(i)).unwrap();
        }
        // Dropped without finish: the transaction rolls back.
    }
    assert_eq!(count(&case), 0);
    drop(case);
    // The next open returns the case to WAL; a load then works.
    let mut case = Case::open(dir.path()).unwrap();
    assert_eq!(journal_mode(&case), "wal");
    load(&mut case, 3);
    assert_eq!(count(&case), 3);
}
