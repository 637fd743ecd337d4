//! Event fields written in compressed blocks (schema v7, binary from v8; the pipeline's
//! bulk load) read back as they were given: event detail, timeline pages,
//! streaming export, process trees and, once built, full-text search give
//! what a row-per-event load gives.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_case::{BlockBuilder, Case, EventQuery};
use kahu_event::{Event, Location, Provenance, Value};
use std::sync::Arc;

const T0: i64 = 1_600_000_000_000_000;

fn ev(file: &str, rec: u64, eid: u32, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(Provenance::new(Arc::from(file), Location::Record(rec)));
    e.timestamp = chrono::DateTime::from_timestamp_micros(T0 + rec as i64 * 1_000_000);
    e.host = Some(Arc::from("ws01"));
    e.channel = Some(Arc::from("Microsoft-Windows-Sysmon/Operational"));
    e.event_id = Some(eid);
    for (k, v) in fields {
        e.fields.insert(k, Value::str(v));
    }
    e
}

/// 300 events over two files: process creations forming a chain (each the
/// parent of the next), network events with nested fields, and one event
/// whose command line alone is larger than a block may hold.
fn events() -> Vec<Event> {
    let mut out = Vec::new();
    for i in 0..300u64 {
        let file = if i % 2 == 0 { "a.evtx" } else { "b.evtx" };
        let mut e = if i % 3 == 0 {
            ev(
                file,
                i,
                1,
                &[
                    ("ProcessGuid", &format!("{{G{i}}}")),
                    (
                        "ParentProcessGuid",
                        &if i == 0 {
                            "{ROOT}".to_string()
                        } else {
                            format!("{{G{}}}", i - 3)
                        },
                    ),
                    ("Image", &format!(r"C:\tools\tool{i}.exe")),
                    ("CommandLine", &format!("tool{i}.exe --token uniq{i}token")),
                    ("User", "CORP\\alice"),
                ],
            )
        } else {
            ev(
                file,
                i,
                3,
                &[("DestinationIp", &format!("10.0.{}.{}", i / 250, i % 250))],
            )
        };
        let mut inner = kahu_event::Fields::default();
        inner.insert("port", Value::Int(4000 + i as i64));
        e.fields.insert("net", Value::Object(inner));
        out.push(e);
    }
    let huge = format!(
        "powershell -enc {}",
        "QUJD".repeat(kahu_case::OWN_ROW_MIN / 4)
    );
    out[150] = ev(
        "a.evtx",
        150,
        1,
        &[("CommandLine", &huge), ("ProcessGuid", "{HUGE}")],
    );
    out
}

/// Bulk-load `evs` as the pipeline does; returns their ids.
fn load_in_blocks(case: &mut Case, evs: &[Event]) -> Vec<i64> {
    let mut w = case.bulk_writer().unwrap();
    let mut b = BlockBuilder::new();
    let mut ids = Vec::new();
    for e in evs {
        b.push(e).unwrap();
        if b.is_full() {
            ids.extend(w.add_block(&b.take()).unwrap());
        }
    }
    ids.extend(w.add_block(&b.take()).unwrap());
    w.finish().unwrap();
    ids
}

fn json(e: &Event) -> serde_json::Value {
    serde_json::to_value(&e.fields).unwrap()
}

#[test]
fn block_stored_events_read_back_whole() {
    let evs = events();
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let ids = load_in_blocks(&mut case, &evs);
    assert_eq!(ids.len(), evs.len());

    // Packed: a handful of blocks, not a row of fields per event; the huge
    // event has a row of its own.
    let db = case.connection();
    let blocks: i64 = db
        .query_row("SELECT count(*) FROM event_blocks", [], |r| r.get(0))
        .unwrap();
    assert!((5..=8).contains(&blocks), "{blocks} blocks for 300 events");
    let own: Vec<i64> = db
        .prepare("SELECT id FROM events WHERE block_id IS NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(own, vec![ids[150]]);

    for (id, e) in ids.iter().zip(&evs) {
        let d = case.event(*id).unwrap().unwrap();
        assert_eq!(d.fields, json(e), "event {id}");
        assert_eq!(d.row.provenance.file, &*e.provenance.file);
    }
    let page = case
        .query_events(&EventQuery {
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.events.len(), 300);
    assert!(
        page.events[3].summary.contains("tool3.exe"),
        "{}",
        page.events[3].summary
    );
    let mut exported = Vec::new();
    case.for_each_event(&EventQuery::default(), |_, f| {
        exported.push(f.clone());
        true
    })
    .unwrap();
    assert_eq!(exported, evs.iter().map(json).collect::<Vec<_>>());

    // The process chain G0 → G3 → G6 … is rebuilt from the blocks.
    let tree = case.process_tree("ws01", Some("{G0}")).unwrap();
    let mut depth = 0;
    let mut node = &tree[0];
    while let Some(child) = node.children.first() {
        node = child;
        depth += 1;
    }
    assert!(depth >= 40, "chain of {depth}");

    // Full text, once built, finds values inside blocks.
    assert_eq!(case.build_indexes(|_| {}).unwrap(), 300);
    let hits = |t: &str| {
        case.query_events(&EventQuery {
            text: Some(t.into()),
            limit: 1000,
            ..Default::default()
        })
        .unwrap()
        .events
        .iter()
        .map(|r| r.id)
        .collect::<Vec<_>>()
    };
    assert_eq!(hits("uniq297token"), vec![ids[297]]);
    assert_eq!(hits("alice").len(), 99);
}

/// A damaged block is no failure of the whole case; its events say that
/// their fields could not be read (they showed no fields and no word
/// anywhere, probe 18).
#[test]
fn a_damaged_block_reads_as_a_marked_event_not_a_failure() {
    let evs = events();
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let ids = load_in_blocks(&mut case, &evs);
    case.connection()
        .execute(
            "UPDATE event_blocks SET data = X'FFFFFF7F00' WHERE id = (SELECT block_id FROM events WHERE id = ?1)",
            [ids[0]],
        )
        .unwrap();
    let d = case.event(ids[0]).unwrap().unwrap();
    let why = d.fields[kahu_case::STORE_ERROR_FIELD].as_str().unwrap();
    assert!(
        why.contains("damaged") && why.contains("evidence file"),
        "{why}"
    );
    assert_eq!(d.fields.as_object().unwrap().len(), 1);
    assert_eq!(d.row.event_id, Some(1));
    // Events in other blocks are untouched.
    assert_eq!(
        case.event(ids[299]).unwrap().unwrap().fields,
        json(&evs[299])
    );
    assert_eq!(
        case.query_events(&EventQuery {
            limit: 1000,
            ..Default::default()
        })
        .unwrap()
        .events
        .len(),
        300
    );
}

#[test]
fn a_small_bulk_load_ends_with_every_timeline_index_built() {
    // A bulk load drops the timeline indexes before its first row; one too
    // small to be worth deferring builds them again at finish, so the case
    // is complete without `build_indexes`.
    let evs = events();
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    load_in_blocks(&mut case, &evs);
    let indexes: Vec<String> = case
        .connection()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        indexes,
        [
            "events_account_ts",
            "events_channel_ts",
            "events_eid_ts",
            "events_host_ts",
            "events_prov",
            "events_ts"
        ]
    );
    let pending: i64 = case
        .connection()
        .query_row(
            "SELECT count(*) FROM meta WHERE key = 'timeline_indexes_pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pending, 0);
    // The query planner uses them.
    let plan: String = case
        .connection()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM events WHERE host_id = 1 ORDER BY ts",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("events_host_ts"), "{plan}");
}

fn finding_on(e: &Event, rule: &str) -> kahu_finding::Finding {
    kahu_finding::Finding {
        kind: kahu_finding::FindingKind::Sigma,
        rule_id: Arc::from(rule),
        title: Arc::from(rule),
        level: kahu_finding::Level::High,
        techniques: Vec::new(),
        software: Vec::new(),
        groups: Vec::new(),
        timestamp: e.timestamp,
        host: e.host.clone(),
        channel: e.channel.clone(),
        event_id: e.event_id,
        fields: Vec::new(),
        provenance: e.provenance.clone(),
        related: Vec::new(),
    }
}

/// (rule, evidence path, record) of every finding's linked event.
fn linked(case: &Case) -> Vec<(String, String, i64)> {
    case.connection()
        .prepare(
            "SELECT f.rule_id, v.path, e.loc FROM findings f
             JOIN events e ON e.id = f.event_rowid JOIN evidence v ON v.id = e.evidence_id
             ORDER BY f.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Findings on four of `evs` (rules `r0`…`r3`), one on a file not in the
/// case (`outside`), and the (rule, file, record) each of the four links to.
type Picked = (
    Vec<kahu_finding::Finding>,
    kahu_finding::Finding,
    Vec<(String, String, i64)>,
);

fn picked_findings(evs: &[Event]) -> Picked {
    let picks = [&evs[0], &evs[1], &evs[151], &evs[299]];
    let expected = picks
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let kahu_event::Location::Record(r) = e.provenance.location else {
                unreachable!("the test events are records")
            };
            (format!("r{i}"), e.provenance.file.to_string(), r as i64)
        })
        .collect();
    let findings = picks
        .iter()
        .enumerate()
        .map(|(i, e)| finding_on(e, &format!("r{i}")))
        .collect();
    let mut outside = finding_on(&evs[2], "outside");
    outside.provenance.file = Arc::from("not-in-the-case.evtx");
    (findings, outside, expected)
}

#[test]
fn findings_find_their_events_without_the_provenance_index() {
    // A large bulk load leaves `events_prov` for later: findings written
    // after it are linked by one scan (`add_findings`), or, one at a time,
    // by building the index back (`add_finding`); both link the same rows
    // as a case that has the index.
    let evs = events();
    let (findings, outside, expected) = picked_findings(&evs);

    for how in ["indexed", "scan", "one at a time"] {
        let dir = tempfile::tempdir().unwrap();
        let mut case = Case::create(dir.path()).unwrap();
        load_in_blocks(&mut case, &evs);
        if how != "indexed" {
            case.connection()
                .execute_batch("DROP INDEX events_prov")
                .unwrap();
        }
        let mut w = case.writer().unwrap();
        if how == "one at a time" {
            for f in findings.iter().chain([&outside]) {
                w.add_finding(f, None).unwrap();
            }
        } else {
            let mut all = findings.clone();
            all.push(outside.clone());
            w.add_findings(&all).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(linked(&case), expected, "{how}");
        let unlinked: i64 = case
            .connection()
            .query_row(
                "SELECT count(*) FROM findings WHERE event_rowid IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unlinked, 1, "{how}: the finding on a file not in the case");
    }
}

/// Bulk-load `evs` as the pipeline does, returning where the rows went.
fn load_with_runs(case: &mut Case, evs: &[Event]) -> kahu_case::EventRuns {
    let mut w = case.bulk_writer().unwrap();
    let mut b = BlockBuilder::new();
    for e in evs {
        b.push(e).unwrap();
        if b.is_full() {
            w.add_block(&b.take()).unwrap();
        }
    }
    w.add_block(&b.take()).unwrap();
    let runs = w.take_event_runs();
    w.finish().unwrap();
    runs
}

#[test]
fn findings_after_a_bulk_load_are_linked_through_its_runs() {
    // The pipeline links its findings through the load's runs when the
    // load filled an empty case; a record the evidence repeats links to
    // its first row. A later load's runs do not cover the earlier events:
    // their findings are still linked (by the scan).
    let evs = events();
    let mut twice = evs.clone();
    twice.push(evs[151].clone());
    let (mut all, outside, expected) = picked_findings(&evs);
    all.push(outside);
    let first_row_of_151 = |case: &Case| -> i64 {
        case.connection()
            .query_row(
                "SELECT min(e.id) FROM events e JOIN evidence v ON v.id = e.evidence_id
                 WHERE v.path = 'b.evtx' AND e.loc = 151",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let linked_151 = |case: &Case| -> i64 {
        case.connection()
            .query_row(
                "SELECT event_rowid FROM findings WHERE rule_id = 'r2'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };

    for later_load in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut case = Case::create(dir.path()).unwrap();
        let mut runs = load_with_runs(&mut case, &twice);
        if later_load {
            runs = load_with_runs(&mut case, &[ev("c.evtx", 1, 1, &[("x", "y")])]);
        }
        // As after a large load, whose provenance index waits for `kahu serve`.
        case.connection()
            .execute_batch("DROP INDEX events_prov")
            .unwrap();
        let mut w = case.writer().unwrap();
        w.add_findings_after(&all, &runs).unwrap();
        w.finish().unwrap();
        assert_eq!(linked(&case), expected, "later load: {later_load}");
        assert_eq!(
            linked_151(&case),
            first_row_of_151(&case),
            "later load: {later_load}"
        );
    }
}
