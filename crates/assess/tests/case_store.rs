//! The case store `assess` writes: every event by default, read back whole
//! from its compressed blocks; with `--case-events detected` only the
//! events a detector reported, each linked to its finding.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_assess::store::CaseEvents;
use kahu_assess::{AssessConfig, run};
use kahu_case::{Case, EventQuery};
use kahu_finding::FindingKind;
use std::path::Path;

const C2: &str = "203.0.113.9";

/// An auth log of 200 lines, of which only line 150 names the C2 address.
fn evidence(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let log = dir.join("auth.log");
    let lines: String = (0..200)
        .map(|i| {
            let from = if i == 149 {
                C2.to_string()
            } else {
                format!("10.0.0.{}", i % 250)
            };
            format!(
                "Mar  3 10:{:02}:{:02} web01 sshd[{}]: Accepted password for user{i} from {from} port 50022 ssh2\n",
                i / 60,
                i % 60,
                800 + i
            )
        })
        .collect();
    std::fs::write(&log, lines).expect("write evidence");
    let feed = dir.join("feed.txt");
    std::fs::write(&feed, format!("{C2}\n")).expect("write feed");
    (log, feed)
}

fn assess(dir: &Path, events: CaseEvents) -> Case {
    let (log, feed) = evidence(dir);
    let out = dir.join("out");
    let mut cfg = AssessConfig::new(vec![log], out.clone());
    cfg.iocs.push(feed);
    cfg.case_events = events;
    let r = run(&cfg, &()).expect("assessment");
    assert!(r.findings.iter().any(|f| f.kind == FindingKind::Ioc));
    Case::open(&out).expect("case")
}

fn all_events(case: &Case) -> Vec<(kahu_case::EventRow, serde_json::Value)> {
    let mut out = Vec::new();
    case.for_each_event(&EventQuery::default(), |r, f| {
        out.push((r.clone(), f.clone()));
        true
    })
    .expect("events");
    out
}

#[test]
fn every_event_is_stored_by_default_and_reads_back_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let case = assess(dir.path(), CaseEvents::All);
    let events = all_events(&case);
    assert_eq!(events.len(), 200);
    // The message of line 150 as written, from its block.
    let (_, fields) = events
        .iter()
        .find(|(_, f)| f.to_string().contains(C2))
        .expect("the C2 line is stored");
    assert!(fields.to_string().contains("user149"), "{fields}");
    let blocks: i64 = case
        .connection()
        .query_row("SELECT count(*) FROM event_blocks", [], |r| r.get(0))
        .expect("blocks");
    assert!(blocks >= 4, "200 events in {blocks} block(s)");
}

#[test]
fn detected_keeps_only_reported_events_linked_to_their_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let case = assess(dir.path(), CaseEvents::Detected);
    let events = all_events(&case);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].1.to_string().contains(C2));
    let linked: i64 = case
        .connection()
        .query_row(
            "SELECT count(*) FROM findings WHERE kind = 'ioc' AND event_rowid = ?1",
            [events[0].0.id],
            |r| r.get(0),
        )
        .expect("findings");
    assert!(linked >= 1);
}

/// A correlation cap is about no evidence file: the case keeps it in the
/// `correlation-warnings` document with its rule id, and the evidence
/// inventory lists only the files (before, a pseudo-file "(correlation)"
/// was added to it as evidence).
#[test]
fn correlation_warnings_are_a_document_not_an_evidence_item() {
    use kahu_assess::RunWarning;
    use kahu_assess::store::{CaseStore, Replace};
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = evidence(dir.path());
    let files = vec![(log.clone(), std::fs::metadata(&log).unwrap().len())];
    let out = dir.path().join("case");
    let store = CaseStore::open(&out, &files, None, CaseEvents::All).unwrap();
    let warnings = vec![
        RunWarning::correlation(kahu_correlation::CorrelationWarning {
            rule_id: Some("corr-spray".into()),
            reason: "`Spray`: group cap of 2 reached".into(),
        }),
        RunWarning::from(kahu_ingest::Warning {
            file: log.display().to_string().into(),
            member: None,
            location: Some(kahu_event::Location::Line(7)),
            reason: "malformed line".into(),
        }),
    ];
    store
        .finish(&[], &[], &warnings, &[], Replace::All)
        .unwrap();

    let case = Case::open(&out).unwrap();
    let inventory = case.evidence().unwrap();
    assert_eq!(inventory.len(), 1, "{inventory:?}");
    assert_eq!(inventory[0]["path"], log.display().to_string());
    assert_eq!(inventory[0]["warnings"][0]["reason"], "malformed line");
    assert_eq!(inventory[0]["warnings"][0]["location"]["value"], 7);
    let doc = case
        .document(kahu_case::DocKind::CorrelationWarnings.as_str())
        .unwrap()
        .unwrap();
    let list = doc.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["source"], "correlation");
    assert_eq!(list[0]["rule_id"], "corr-spray");
    assert_eq!(list[0]["file"], serde_json::Value::Null);
}

/// The evidence inventory says which reader read each file and member
/// (before, `format` was NULL for every file: evidence is registered
/// before it is read).
#[test]
fn the_inventory_names_the_format_each_file_and_member_was_read_as() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let (log, _) = evidence(dir.path());
    let ev = dir.path().join("evidence");
    std::fs::create_dir(&ev).unwrap();
    std::fs::rename(&log, ev.join("auth.log")).unwrap();
    let mut z = zip::ZipWriter::new(std::fs::File::create(ev.join("triage.zip")).unwrap());
    z.start_file("host1/dns.jsonl", zip::write::SimpleFileOptions::default())
        .unwrap();
    z.write_all(
        br#"{"@timestamp":"2024-03-03T10:00:00Z","event":{"code":"22"},"dns":{"question":{"name":"example.org"}}}
"#,
    )
    .unwrap();
    z.finish().unwrap();
    let out = dir.path().join("out");
    run(&AssessConfig::new(vec![ev.clone()], out.clone()), &()).expect("assessment");
    let case = Case::open(&out).expect("case");
    let rows: Vec<(String, Option<String>, Option<String>)> = {
        let c = case.connection();
        let mut st = c
            .prepare("SELECT path, member, format FROM evidence ORDER BY path, member")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let format = |file: &str, member: Option<&str>| {
        rows.iter()
            .find(|(p, m, _)| p.ends_with(file) && m.as_deref() == member)
            .unwrap_or_else(|| panic!("no row for {file} {member:?}: {rows:?}"))
            .2
            .clone()
    };
    assert_eq!(
        format("auth.log", None).as_deref(),
        Some("syslog"),
        "{rows:?}"
    );
    assert_eq!(
        format("triage.zip", None).as_deref(),
        Some("zip"),
        "{rows:?}"
    );
    assert_eq!(
        format("triage.zip", Some("host1/dns.jsonl")).as_deref(),
        Some("json"),
        "{rows:?}"
    );
}
