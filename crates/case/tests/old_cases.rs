//! A case written by an older kahu opens and reads the same events.
//!
//! `fixtures/v7/case.sqlite` was written by `kahu assess` at schema v7
//! (JSON event blocks, commit f03821a) from `fixtures/v7/evidence.jsonl`
//! (`fixtures/v7/make.sh` regenerates it). Opening it upgrades it to the
//! current schema; its events must read as the evidence lines they came
//! from, and events loaded afterwards (binary blocks) must sit beside them.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_case::{BlockBuilder, Case, EventQuery, SCHEMA_VERSION};
use kahu_event::{Event, Location, Provenance, Value};
use std::path::Path;
use std::sync::Arc;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v7");

/// The evidence lines, parsed as the JSON they are.
fn evidence() -> Vec<serde_json::Value> {
    std::fs::read_to_string(Path::new(FIXTURE).join("evidence.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every event's (file, line number, fields), in file and line order.
fn stored(case: &Case) -> Vec<(String, u64, serde_json::Value)> {
    let mut out = Vec::new();
    case.for_each_event(&EventQuery::default(), |row, fields| {
        let line = match row.provenance.location {
            Location::Line(n) | Location::Record(n) => n,
            _ => 0,
        };
        let file = Path::new(&row.provenance.file)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        out.push((file, line, fields.clone()));
        true
    })
    .unwrap();
    out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    out
}

/// The old case, copied to a scratch folder and opened (upgraded).
fn open_fixture() -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(FIXTURE).join("case.sqlite"),
        dir.path().join("case.sqlite"),
    )
    .unwrap();
    assert_eq!(version_of(dir.path()), 7, "the fixture is a v7 case");
    let case = Case::open(dir.path()).unwrap();
    (dir, case)
}

/// The schema version of a case file, left as it is.
fn version_of(dir: &Path) -> u32 {
    let case = Case::open_at_version(dir, 0).unwrap();
    case.schema_version().unwrap()
}

/// `got` is the evidence line `want`, except for a `Computer` field the
/// JSON reader adds from `Hostname` when the line has none.
fn assert_same_event(got: &serde_json::Value, want: &serde_json::Value) {
    let mut got = got.as_object().unwrap().clone();
    let want = want.as_object().unwrap();
    if !want.contains_key("Computer")
        && let Some(c) = got.shift_remove("Computer")
    {
        assert_eq!(Some(&c), want.get("Hostname"));
    }
    assert_eq!(&got, want);
    // Same text, key order and number forms included.
    assert_eq!(
        serde_json::Value::Object(got).to_string(),
        serde_json::Value::Object(want.clone()).to_string()
    );
}

#[test]
fn a_v7_case_is_upgraded_and_reads_its_events_as_written() {
    let (_dir, case) = open_fixture();
    assert_eq!(case.schema_version().unwrap(), SCHEMA_VERSION);
    let lines = evidence();
    let events = stored(&case);
    assert_eq!(events.len(), lines.len());
    for ((file, _, fields), want) in events.iter().zip(&lines) {
        assert_eq!(file, "evidence.jsonl");
        assert_same_event(fields, want);
    }
    assert_eq!(
        events.iter().map(|e| e.1).collect::<Vec<_>>(),
        (1..=lines.len() as u64).collect::<Vec<_>>()
    );
    // One event by id, through the single-event path.
    let first = case
        .query_events(&EventQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .events[0]
        .id;
    let detail = case.event(first).unwrap().unwrap();
    assert_same_event(&detail.fields, &lines[0]);
}

#[test]
fn an_upgraded_case_holds_old_and_new_blocks_side_by_side() {
    let (_dir, mut case) = open_fixture();
    // More events, as a later assessment over new evidence loads them.
    let mut new = Vec::new();
    for i in 0..100u64 {
        let mut e = Event::new(Provenance::new(
            Arc::from("later.evtx"),
            Location::Record(i),
        ));
        e.timestamp = chrono::DateTime::from_timestamp_micros(1_800_000_000_000_000 + i as i64);
        e.event_id = Some(4688);
        e.fields
            .insert("CommandLine", Value::str(&format!("cmd /c {i}")));
        e.fields.insert("Score", Value::Float(i as f64 / 4.0));
        new.push(e);
    }
    {
        let mut w = case.bulk_writer().unwrap();
        let mut b = BlockBuilder::new();
        for e in &new {
            b.push(e).unwrap();
            if b.is_full() {
                w.add_block(&b.take()).unwrap();
            }
        }
        w.add_block(&b.take()).unwrap();
        w.finish().unwrap();
    }
    let encodings: Vec<(i64, i64)> = case
        .connection()
        .prepare("SELECT encoding, count(*) FROM event_blocks GROUP BY 1 ORDER BY 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        encodings,
        vec![(0, 1), (1, 2)],
        "one JSON block, two binary"
    );
    let lines = evidence();
    let events = stored(&case);
    assert_eq!(events.len(), lines.len() + new.len());
    for (got, want) in events
        .iter()
        .filter(|e| e.0 == "evidence.jsonl")
        .zip(&lines)
    {
        assert_same_event(&got.2, want);
    }
    for (got, e) in events.iter().filter(|e| e.0 == "later.evtx").zip(&new) {
        assert_eq!(got.2, serde_json::to_value(&e.fields).unwrap());
    }
}
