//! Case store behaviour: round trip, migrations, incremental ingest,
//! keyset pagination, search, histogram, process trees, audit trail.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_case::{Case, Cursor, EventQuery, EvidenceInfo, FindingQuery, VerdictKind};
use kahu_event::{Event, Location, Provenance, Value};
use kahu_finding::{Finding, FindingKind, Level};
use std::sync::Arc;

const T0: i64 = 1_600_000_000_000_000; // 2020-09-13T12:26:40Z

fn ev(
    file: &str,
    rec: u64,
    us: i64,
    host: &str,
    channel: &str,
    eid: u32,
    fields: &[(&str, &str)],
) -> Event {
    let mut e = Event::new(Provenance::new(Arc::from(file), Location::Record(rec)));
    e.timestamp = chrono::DateTime::from_timestamp_micros(us);
    e.host = Some(Arc::from(host));
    e.channel = Some(Arc::from(channel));
    e.event_id = Some(eid);
    for (k, v) in fields {
        e.fields.insert(k, Value::str(v));
    }
    e
}

fn finding(e: &Event, rule: &str, level: Level, techs: &[&str]) -> Finding {
    Finding {
        kind: FindingKind::Sigma,
        rule_id: Arc::from(rule),
        title: Arc::from(format!("title of {rule}")),
        level,
        techniques: techs.iter().map(|t| Arc::from(*t)).collect(),
        software: vec![],
        groups: vec![],
        timestamp: e.timestamp,
        host: e.host.clone(),
        channel: e.channel.clone(),
        event_id: e.event_id,
        fields: vec![(Arc::from("CommandLine"), "x".to_string())],
        provenance: e.provenance.clone(),
        related: vec![],
    }
}

#[test]
fn round_trip_events_findings_and_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let mut w = case.writer().unwrap();
    let id = w
        .begin_evidence(&EvidenceInfo {
            path: "a.evtx".into(),
            size: Some(10),
            sha256: Some("AB".repeat(32)),
            format: Some("evtx".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(id.is_some());
    let mut e1 = ev(
        "a.evtx",
        7,
        T0,
        "WS1",
        "Security",
        4624,
        &[("TargetUserName", "bob"), ("IpAddress", "10.0.0.5")],
    );
    let mut nested = kahu_event::Fields::default();
    nested.insert("name", Value::str("cmd.exe"));
    e1.fields.insert("process", Value::Object(nested));
    let e1_id = w.add_event(&e1).unwrap();
    let e2 = ev(
        "a.evtx",
        8,
        T0 + 5,
        "WS1",
        "Security",
        4688,
        &[("CommandLine", "whoami /all")],
    );
    w.add_event(&e2).unwrap();
    // Linked by provenance lookup, not by a passed id.
    w.add_finding(&finding(&e2, "r-whoami", Level::Medium, &["T1033"]), None)
        .unwrap();
    w.add_warning(
        "a.evtx",
        None,
        serde_json::json!({"reason": "record 9: bad chunk"}),
    )
    .unwrap();
    let stats = w.finish().unwrap();
    assert_eq!((stats.events, stats.findings, stats.evidence), (2, 1, 1));
    drop(case);

    let case = Case::open_read_only(dir.path()).unwrap();
    let page = case.query_events(&EventQuery::default()).unwrap();
    assert_eq!(page.events.len(), 2);
    assert!(page.next.is_none());
    let r = &page.events[0];
    assert_eq!(r.id, e1_id);
    assert_eq!(r.time.as_deref(), Some("2020-09-13T12:26:40Z"));
    assert_eq!(r.host.as_deref(), Some("WS1"));
    assert_eq!(r.account.as_deref(), Some("bob"));
    assert_eq!(r.provenance.location, Location::Record(7));
    let d = case.event(e1_id).unwrap().unwrap();
    assert_eq!(d.fields["process"]["name"], "cmd.exe");
    assert_eq!(d.fields["IpAddress"], "10.0.0.5");
    assert!(d.findings.is_empty());
    let d2 = case.event(page.events[1].id).unwrap().unwrap();
    assert_eq!(d2.findings.len(), 1);
    assert_eq!(d2.findings[0].rule_id, "r-whoami");
    assert_eq!(d2.findings[0].techniques, vec!["T1033"]);
    assert_eq!(page.events[1].level, Some(Level::Medium));
    let inv = case.evidence().unwrap();
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0]["event_count"], 2);
    assert_eq!(inv[0]["sha256"], "ab".repeat(32));
    assert_eq!(inv[0]["warnings"][0]["reason"], "record 9: bad chunk");
    let s = case.summary().unwrap();
    assert_eq!((s.events, s.findings, s.hosts), (2, 1, 1));
    assert!(case.event(999).unwrap().is_none());
}

#[test]
fn incremental_ingest_skips_known_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let info = EvidenceInfo {
        path: "x.log".into(),
        sha256: Some("00ff".repeat(16)),
        ..Default::default()
    };
    {
        let mut case = Case::create(dir.path()).unwrap();
        let mut w = case.writer().unwrap();
        assert!(w.begin_evidence(&info).unwrap().is_some());
        w.add_event(&ev("x.log", 1, T0, "H", "auth", 0, &[]))
            .unwrap();
        w.finish().unwrap();
    }
    let mut case = Case::open(dir.path()).unwrap();
    let mut w = case.writer().unwrap();
    assert!(w.is_ingested(&"00FF".repeat(16)).unwrap());
    // Same content under another name is still the same evidence.
    let renamed = EvidenceInfo {
        path: "copy/x.log".into(),
        ..info.clone()
    };
    assert!(w.begin_evidence(&renamed).unwrap().is_none());
    let other = EvidenceInfo {
        path: "y.log".into(),
        sha256: Some("11".repeat(32)),
        ..Default::default()
    };
    assert!(w.begin_evidence(&other).unwrap().is_some());
    let s = w.finish().unwrap();
    assert_eq!((s.skipped, s.evidence, s.copies), (1, 1, 1));
    // The copy is listed with its own provenance, pointing at the original.
    let inventory = case.evidence().unwrap();
    assert_eq!(inventory.len(), 3);
    let copy = inventory
        .iter()
        .find(|e| e["path"] == "copy/x.log")
        .unwrap();
    assert_eq!(copy["same_as"], inventory[0]["id"]);
}

#[test]
fn keyset_pages_cover_every_row_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let mut w = case.writer().unwrap();
    let mut expect = Vec::new();
    let mut x: u64 = 12345;
    for i in 0..1000u64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Few distinct times: many ties that only the id breaks.
        let us = T0 + ((x >> 33) % 50) as i64;
        let host = if i % 3 == 0 { "A" } else { "B" };
        let id = w
            .add_event(&ev("f", i, us, host, "Security", 4624, &[]))
            .unwrap();
        expect.push((us, id, host));
    }
    // One untimed event leads the timeline.
    let mut untimed = ev("f", 5000, 0, "A", "Security", 4624, &[]);
    untimed.timestamp = None;
    let untimed_id = w.add_event(&untimed).unwrap();
    w.finish().unwrap();
    expect.sort();

    let walk = |q: EventQuery| {
        let mut got = Vec::new();
        let mut q = q;
        q.limit = 37;
        loop {
            let page = case.query_events(&q).unwrap();
            assert!(page.events.len() <= 37);
            got.extend(page.events.iter().map(|e| e.id));
            match page.next {
                Some(c) => q.after = Some(Cursor::decode(&c).unwrap()),
                None => break,
            }
        }
        got
    };
    let all = walk(EventQuery::default());
    let mut want: Vec<i64> = vec![untimed_id];
    want.extend(expect.iter().map(|e| e.1));
    assert_eq!(all, want);
    let only_a = walk(EventQuery {
        hosts: vec!["a".into()],
        from: Some(T0),
        ..Default::default()
    });
    let want_a: Vec<i64> = expect.iter().filter(|e| e.2 == "A").map(|e| e.1).collect();
    assert_eq!(only_a, want_a);
    let range = walk(EventQuery {
        from: Some(T0 + 10),
        to: Some(T0 + 20),
        ..Default::default()
    });
    let want_r: Vec<i64> = expect
        .iter()
        .filter(|e| e.0 >= T0 + 10 && e.0 < T0 + 20)
        .map(|e| e.1)
        .collect();
    assert_eq!(range, want_r);
    assert!(
        walk(EventQuery {
            hosts: vec!["nope".into()],
            ..Default::default()
        })
        .is_empty()
    );

    let h = case.histogram(&EventQuery::default(), 10).unwrap();
    assert_eq!(h.total, 1000, "untimed events are not in the histogram");
    assert_eq!(h.from, T0);
    assert_eq!(h.bucket_us, 5);
    let first_bucket = expect.iter().filter(|e| e.0 < T0 + 5).count() as u64;
    assert_eq!(h.counts[0], first_bucket);
    let f = case.facets(&EventQuery::default(), 10).unwrap();
    assert_eq!(f.hosts[0].value, "B");
    assert_eq!(
        f.hosts[0].count,
        expect.iter().filter(|e| e.2 == "B").count() as u64
    );
    let fa = case
        .facets(
            &EventQuery {
                from: Some(T0),
                hosts: vec!["A".into()],
                ..Default::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(fa.hosts.len(), 1);
    assert_eq!(fa.event_ids[0].value, "4624");
}

#[test]
fn full_text_search_and_finding_filters() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let mut w = case.writer().unwrap();
    let a = ev(
        "f",
        1,
        T0,
        "H",
        "Sysmon",
        1,
        &[(
            "CommandLine",
            r#"C:\t\mimikatz.exe "sekurlsa::logonpasswords" exit"#,
        )],
    );
    let a_id = w.add_event(&a).unwrap();
    let b_id = w
        .add_event(&ev(
            "f",
            2,
            T0 + 1,
            "H",
            "Sysmon",
            1,
            &[("CommandLine", "notepad.exe report.txt")],
        ))
        .unwrap();
    let c_id = w
        .add_event(&ev(
            "f",
            3,
            T0 + 2,
            "H",
            "Security",
            4688,
            &[("CommandLine", "mimikatz.dll loaded by rundll32")],
        ))
        .unwrap();
    w.add_finding(
        &finding(&a, "r-mimi", Level::Critical, &["T1003.001"]),
        Some(a_id),
    )
    .unwrap();
    w.finish().unwrap();
    let ids = |text: &str| -> Vec<i64> {
        case.query_events(&EventQuery {
            text: Some(text.into()),
            ..Default::default()
        })
        .unwrap()
        .events
        .iter()
        .map(|e| e.id)
        .collect()
    };
    assert_eq!(ids("sekurlsa"), vec![a_id]);
    assert_eq!(ids("mimikatz"), vec![a_id, c_id]);
    assert_eq!(ids("mimikatz.exe"), vec![a_id]);
    assert_eq!(ids("MIMIKATZ -rundll32"), vec![a_id]);
    assert_eq!(ids("logonpass*"), vec![a_id]);
    assert_eq!(ids("\"report.txt\""), vec![b_id]);
    // FTS5 syntax in user input must not be an error.
    for hostile in ["\"", "(", "NEAR(", "a:b", "*", "--", "AND OR NOT", "é\"'"] {
        case.query_events(&EventQuery {
            text: Some(hostile.into()),
            ..Default::default()
        })
        .unwrap();
    }
    let q = EventQuery {
        levels: vec![Level::Critical],
        ..Default::default()
    };
    assert_eq!(case.query_events(&q).unwrap().events.len(), 1);
    let q = EventQuery {
        rule_ids: vec!["r-none".into()],
        ..Default::default()
    };
    assert!(case.query_events(&q).unwrap().events.is_empty());
    let q = EventQuery {
        channels: vec!["security".into()],
        event_ids: vec![4688],
        ..Default::default()
    };
    assert_eq!(case.query_events(&q).unwrap().events[0].id, c_id);
    let (f, _) = case
        .query_findings(&FindingQuery {
            technique: Some("t1003.001".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(
        case.technique_counts().unwrap(),
        vec![("T1003.001".to_string(), 1, 1)]
    );
}

#[test]
fn process_tree_from_sysmon_guids_and_4688_pids() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let mut w = case.writer().unwrap();
    let s = "Microsoft-Windows-Sysmon/Operational";
    w.add_event(&ev(
        "s",
        1,
        T0,
        "WS1",
        s,
        1,
        &[
            ("ProcessGuid", "{G1}"),
            ("ParentProcessGuid", "{G0}"),
            ("ParentImage", r"C:\explorer.exe"),
            ("Image", r"C:\winword.exe"),
        ],
    ))
    .unwrap();
    w.add_event(&ev(
        "s",
        2,
        T0 + 1,
        "WS1",
        s,
        1,
        &[
            ("ProcessGuid", "{G2}"),
            ("ParentProcessGuid", "{G1}"),
            ("Image", r"C:\powershell.exe"),
        ],
    ))
    .unwrap();
    w.add_event(&ev(
        "s",
        3,
        T0 + 2,
        "WS1",
        s,
        1,
        &[
            ("ProcessGuid", "{G3}"),
            ("ParentProcessGuid", "{g2}"),
            ("Image", r"C:\m.exe"),
        ],
    ))
    .unwrap();
    // 4688: pid 0x10 is reused; the child at T0+30 belongs to the second one.
    let sec = "Security";
    w.add_event(&ev(
        "x",
        1,
        T0 + 10,
        "WS1",
        sec,
        4688,
        &[
            ("NewProcessId", "0x10"),
            ("ProcessId", "0x4"),
            ("NewProcessName", "first.exe"),
        ],
    ))
    .unwrap();
    w.add_event(&ev(
        "x",
        2,
        T0 + 20,
        "WS1",
        sec,
        4688,
        &[
            ("NewProcessId", "0x10"),
            ("ProcessId", "0x4"),
            ("NewProcessName", "second.exe"),
        ],
    ))
    .unwrap();
    w.add_event(&ev(
        "x",
        3,
        T0 + 30,
        "WS1",
        sec,
        4688,
        &[
            ("NewProcessId", "0x20"),
            ("ProcessId", "0x10"),
            ("NewProcessName", "child.exe"),
        ],
    ))
    .unwrap();
    w.add_event(&ev(
        "x",
        4,
        T0 + 30,
        "OTHER",
        sec,
        4688,
        &[
            ("NewProcessId", "0x30"),
            ("ProcessId", "0x10"),
            ("NewProcessName", "elsewhere.exe"),
        ],
    ))
    .unwrap();
    w.finish().unwrap();
    let trees = case.process_tree("ws1", None).unwrap();
    // explorer (inferred) > winword > powershell > m.exe; first.exe; second.exe > child.exe
    assert_eq!(trees.len(), 3, "{trees:#?}");
    let ex = &trees[0];
    assert_eq!(ex.source, "inferred");
    assert_eq!(ex.image.as_deref(), Some(r"C:\explorer.exe"));
    let m = &ex.children[0].children[0].children[0];
    assert_eq!(m.image.as_deref(), Some(r"C:\m.exe"));
    assert_eq!(trees[1].image.as_deref(), Some("first.exe"));
    assert!(trees[1].children.is_empty());
    assert_eq!(trees[2].image.as_deref(), Some("second.exe"));
    assert_eq!(trees[2].children[0].image.as_deref(), Some("child.exe"));
    let sub = case.process_tree("WS1", Some("{G2}")).unwrap();
    assert_eq!(sub.len(), 1);
    assert_eq!(sub[0].children.len(), 1);
    assert!(case.process_tree("nohost", None).unwrap().is_empty());
}

#[test]
fn forged_guid_cycles_terminate() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let mut w = case.writer().unwrap();
    w.add_event(&ev(
        "s",
        1,
        T0,
        "H",
        "S",
        1,
        &[("ProcessGuid", "{A}"), ("ParentProcessGuid", "{B}")],
    ))
    .unwrap();
    w.add_event(&ev(
        "s",
        2,
        T0,
        "H",
        "S",
        1,
        &[("ProcessGuid", "{B}"), ("ParentProcessGuid", "{A}")],
    ))
    .unwrap();
    w.finish().unwrap();
    let t = case.process_tree("H", None).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].children.len(), 1);
    assert!(t[0].children[0].children.is_empty());
}

#[test]
fn analyst_actions_are_persisted_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut case = Case::create(dir.path()).unwrap();
        case.set_document(
            "attribution",
            3,
            &serde_json::json!({"candidates": [{"id": "G0065"}]}),
            "kahu",
        )
        .unwrap();
        case.add_note(
            "candidate",
            "G0065",
            "check the web shell timeline",
            "alice",
        )
        .unwrap();
        case.set_verdict(
            "candidate",
            "G0065",
            VerdictKind::Agree,
            "TTPs match",
            "alice",
        )
        .unwrap();
        case.set_verdict(
            "candidate",
            "G0065",
            VerdictKind::Disagree,
            "tooling is commodity",
            "alice",
        )
        .unwrap();
        let d = case
            .add_dispute("technique", "T1003.001", "benign admin tool", "bob")
            .unwrap();
        case.withdraw_dispute(d.id, "bob").unwrap();
        assert!(case.withdraw_dispute(d.id, "bob").is_err());
        assert!(case.add_note("event", "1", "  ", "alice").is_err());
        assert!(case.add_note("event", "1", "x", "").is_err());
    }
    let case = Case::open(dir.path()).unwrap();
    let doc = case.document("attribution").unwrap().unwrap();
    assert_eq!((doc.version, doc.author.as_str()), (3, "kahu"));
    assert_eq!(doc.body["candidates"][0]["id"], "G0065");
    let v = case.verdicts(Some(("candidate", "G0065"))).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].verdict, VerdictKind::Disagree);
    assert_eq!(
        case.notes(Some(("candidate", "G0065"))).unwrap()[0].body,
        "check the web shell timeline"
    );
    assert!(case.disputes(true).unwrap().is_empty());
    assert_eq!(case.disputes(false).unwrap().len(), 1);
    let log = case.audit_log(100).unwrap();
    let actions: Vec<(&str, &str)> = log
        .iter()
        .rev()
        .map(|a| (a.action.as_str(), a.who.as_str()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("document.set", "kahu"),
            ("note.add", "alice"),
            ("verdict.set", "alice"),
            ("verdict.set", "alice"),
            ("dispute.add", "bob"),
            ("dispute.withdraw", "bob"),
        ]
    );
    // The second verdict's "before" is the first verdict.
    assert_eq!(log[2].before.as_ref().unwrap()["verdict"], "agree");
    assert_eq!(log[2].after.as_ref().unwrap()["verdict"], "disagree");
    assert!(log[0].after.as_ref().unwrap()["withdrawn_at"].is_string());
    assert!(log[0].before.as_ref().unwrap()["withdrawn_at"].is_null());
}

#[test]
fn v1_case_is_upgraded_with_account_backfill() {
    let dir = tempfile::tempdir().unwrap();
    {
        let case = Case::open_at_version(dir.path(), 1).unwrap();
        assert_eq!(case.schema_version().unwrap(), 1);
        let c = case.connection();
        c.execute(
            "INSERT INTO evidence(path, ingested_at, event_count) VALUES ('old.evtx', 'then', 2)",
            [],
        )
        .unwrap();
        c.execute(
            "INSERT INTO events(ts, evidence_id, loc_kind, loc, fields) VALUES (?1, 1, 1, 1, ?2), (?1 + 1, 1, 1, 2, ?3)",
            rusqlite_params(T0),
        )
        .unwrap();
        c.execute(
            "INSERT INTO events_fts(rowid, text) VALUES (1, 'bob 4624'), (2, 'nobody')",
            [],
        )
        .unwrap();
    }
    let mut case = Case::open(dir.path()).unwrap();
    assert_eq!(case.schema_version().unwrap(), kahu_case::SCHEMA_VERSION);
    let q = EventQuery {
        accounts: vec!["BOB".into()],
        ..Default::default()
    };
    let page = case.query_events(&q).unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].account.as_deref(), Some("bob"));
    let f = case.facets(&EventQuery::default(), 5).unwrap();
    assert_eq!(
        f.accounts,
        vec![kahu_case::Facet {
            value: "bob".into(),
            count: 1
        }]
    );
    // v3 rollups were back-filled: a 2-hour histogram uses them.
    let h = case
        .histogram(
            &EventQuery {
                from: Some(T0 - 3_600_000_000),
                to: Some(T0 + 3_600_000_000),
                ..Default::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(h.bucket_us % 60_000_000, 0);
    assert_eq!(h.total, 2);
    // v2 tables work on the upgraded case.
    case.add_note("event", "1", "seen before", "carol").unwrap();
    // Opening again is a no-op.
    drop(case);
    assert_eq!(
        Case::open(dir.path()).unwrap().schema_version().unwrap(),
        kahu_case::SCHEMA_VERSION
    );
}

fn rusqlite_params(t: i64) -> impl rusqlite::Params {
    (
        t,
        r#"{"TargetUserName":"bob","SubjectUserName":"WS1$"}"#,
        r#"{"TargetUserName":"-"}"#,
    )
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let case = Case::create(dir.path()).unwrap();
        case.connection()
            .pragma_update(None, "user_version", 99)
            .unwrap();
    }
    let err = Case::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("newer"), "{err}");
    assert!(Case::open(dir.path().join("missing")).is_err());
}

/// (µs, host, event id, account) of an inserted event.
type Row = (i64, &'static str, u32, &'static str);

#[test]
fn histogram_rollups_match_raw_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let mut w = case.writer().unwrap();
    let mut rows: Vec<Row> = Vec::new();
    let mut x: u64 = 99;
    for i in 0..3000u64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Three days, µs resolution, out of order.
        let us = T0 + ((x >> 20) % (3 * 86_400_000_000)) as i64;
        let host = ["A", "B", "C"][(i % 3) as usize];
        let user = if i % 5 == 0 { "eve" } else { "bob" };
        w.add_event(&ev(
            "f",
            i,
            us,
            host,
            "Security",
            4624 + (i % 2) as u32,
            &[("TargetUserName", user)],
        ))
        .unwrap();
        rows.push((us, host, 4624 + (i % 2) as u32, user));
    }
    w.finish().unwrap();
    let check = |q: EventQuery, keep: &dyn Fn(&Row) -> bool| {
        let h = case.histogram(&q, 50).unwrap();
        assert!(h.counts.len() <= 50);
        let mut want = vec![0u64; h.counts.len()];
        for r in rows.iter().filter(|r| keep(r)) {
            if r.0 >= h.from && r.0 < h.to {
                want[((r.0 - h.from) / h.bucket_us) as usize] += 1;
            }
        }
        assert_eq!(h.counts, want, "{q:?}");
        h
    };
    // Whole case: minute rollup, buckets aligned to whole minutes.
    let h = check(EventQuery::default(), &|_| true);
    assert_eq!(h.from % 60_000_000, 0);
    assert_eq!(h.bucket_us % 60_000_000, 0);
    assert_eq!(h.total, 3000);
    // Host + event id: hour rollup.
    let q = EventQuery {
        hosts: vec!["b".into()],
        event_ids: vec![4625],
        ..Default::default()
    };
    let h = check(q, &|r| r.1 == "B" && r.2 == 4625);
    assert_eq!(h.bucket_us % 3_600_000_000, 0);
    // Account filter: counted from the events themselves.
    let q = EventQuery {
        accounts: vec!["eve".into()],
        ..Default::default()
    };
    let h = check(q, &|r| r.3 == "eve");
    assert_eq!(h.total, 600);
    // A narrow window is counted exactly, without alignment.
    let q = EventQuery {
        from: Some(T0 + 1000),
        to: Some(T0 + 3_600_000_000),
        ..Default::default()
    };
    let h = case.histogram(&q, 100).unwrap();
    assert!(h.from >= T0 + 1000 && h.bucket_us < 60_000_000);
    let want = rows
        .iter()
        .filter(|r| r.0 >= T0 + 1000 && r.0 < T0 + 3_600_000_000)
        .count() as u64;
    assert_eq!(h.total, want);
}

#[test]
fn dense_search_terms_page_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let mut w = case.writer().unwrap();
    let mut all = Vec::new();
    let mut x: u64 = 5;
    for i in 0..21_000u64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let us = T0 + ((x >> 30) % 1_000_000) as i64;
        let text = if i % 7 == 0 {
            "common seventh"
        } else {
            "common"
        };
        let id = w
            .add_event(&ev("f", i, us, "H", "S", 1, &[("msg", text)]))
            .unwrap();
        all.push((us, id, i % 7 == 0));
    }
    w.finish().unwrap();
    all.sort();
    for (term, keep_all) in [("common", true), ("seventh", false)] {
        let want: Vec<i64> = all
            .iter()
            .filter(|r| keep_all || r.2)
            .take(250)
            .map(|r| r.1)
            .collect();
        let mut q = EventQuery {
            text: Some(term.into()),
            limit: 100,
            ..Default::default()
        };
        let mut got = Vec::new();
        while got.len() < 250 {
            let page = case.query_events(&q).unwrap();
            got.extend(page.events.iter().map(|e| e.id));
            q.after = Some(Cursor::decode(&page.next.unwrap()).unwrap());
        }
        got.truncate(250);
        assert_eq!(got, want, "{term}");
    }
}

#[test]
fn deferred_indexes_are_rebuilt_as_the_schema_defines_them() {
    let fresh = tempfile::tempdir().unwrap();
    let schema_of = |c: &Case| -> Vec<(String, String)> {
        let mut st = c
            .connection()
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL ORDER BY name")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let want = schema_of(&Case::create(fresh.path()).unwrap());
    assert_eq!(want.len(), 6);
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let mut w = case.writer().unwrap();
    for i in 0..50_010u64 {
        w.add_event(&ev(
            "f",
            i,
            T0 + (i as i64 * 7919) % 1_000_000,
            "H",
            "S",
            1,
            &[],
        ))
        .unwrap();
    }
    w.finish().unwrap();
    assert_eq!(schema_of(&case), want);
    let page = case
        .query_events(&EventQuery {
            hosts: vec!["H".into()],
            limit: 3,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.events[0].ts, Some(T0));
}

/// The pipeline's bulk path (events encoded on other threads, then
/// `add_encoded`) stores what the UI reads back: row, fields, search hits
/// (including values the full-text entry deduplicates or drops as a
/// rendered `Message` line), facets and histogram.
#[test]
fn encoded_bulk_path_round_trips_what_the_ui_queries() {
    use kahu_case::EncodedEvent;
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let events: Vec<Event> = (0..300u64)
        .map(|i| {
            let image = format!(r"C:\tools\tool{i}.exe");
            let command_line = format!("{image} {}", "--long-argument ".repeat(300));
            ev(
                "sysmon.jsonl",
                i,
                T0 + i as i64 * 1_000_000,
                "WS01.corp",
                "Microsoft-Windows-Sysmon/Operational",
                1,
                &[
                    ("Hostname", "WS01.corp"),
                    ("Computer", "WS01.corp"),
                    ("Image", &image),
                    ("User", "CORP\\alice"),
                    ("CommandLine", &command_line),
                    (
                        "Message",
                        &format!("Process Create:\r\nImage: {image}\r\nUser: CORP\\alice"),
                    ),
                ],
            )
        })
        .collect();
    // Encoded on worker threads, as the pipeline does.
    let encoded: Vec<EncodedEvent> = std::thread::scope(|s| {
        let halves: Vec<_> = events
            .chunks(150)
            .map(|c| {
                s.spawn(move || {
                    c.iter()
                        .map(|e| EncodedEvent::new(e).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut w = case.writer().unwrap();
    let ids: Vec<i64> = encoded.iter().map(|e| w.add_encoded(e).unwrap()).collect();
    let stats = w.finish().unwrap();
    assert_eq!(stats.events, 300);

    let detail = case.event(ids[7]).unwrap().unwrap();
    assert_eq!(detail.row.host.as_deref(), Some("WS01.corp"));
    assert_eq!(detail.row.account.as_deref(), Some("CORP\\alice"));
    assert_eq!(detail.fields["Image"], r"C:\tools\tool7.exe");
    assert_eq!(
        detail.fields["CommandLine"],
        format!(r"C:\tools\tool7.exe {}", "--long-argument ".repeat(300))
    );
    // Records this large are stored deflated (schema v5), and read back whole.
    let db = rusqlite::Connection::open(dir.path().join("case.sqlite")).unwrap();
    let kind: String = db
        .query_row(
            "SELECT typeof(fields) FROM events WHERE id = ?1",
            [ids[7]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, "blob");
    assert_eq!(
        detail.fields["Message"],
        "Process Create:\r\nImage: C:\\tools\\tool7.exe\r\nUser: CORP\\alice"
    );
    let hits = |text: &str| {
        case.query_events(&EventQuery {
            text: Some(text.into()),
            limit: 500,
            ..Default::default()
        })
        .unwrap()
        .events
        .len()
    };
    assert_eq!(
        hits("tool7.exe"),
        1,
        "a value indexed once still finds its event"
    );
    assert_eq!(
        hits("\"WS01.corp\""),
        300,
        "a repeated value is still indexed once"
    );
    assert_eq!(
        hits("\"Process Create\""),
        300,
        "the message's first line is indexed"
    );
    assert_eq!(hits("alice"), 300);
    let facets = case.facets(&EventQuery::default(), 10).unwrap();
    assert_eq!(facets.hosts[0].count, 300);
    let hist = case.histogram(&EventQuery::default(), 10).unwrap();
    assert_eq!(hist.total, 300);
    assert_eq!(hist.counts.iter().sum::<u64>(), 300);
}

/// A 0-byte `case.sqlite` (a failed copy) is refused, read-write and
/// read-only, and left as it was: opening it wrote a fresh, empty schema
/// into it, and `serve` showed the case as clean ("no findings").
#[test]
fn an_empty_case_file_is_refused_not_made_a_new_case() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.sqlite");
    std::fs::write(&db, b"").unwrap();
    let err = Case::open(dir.path()).err().expect("refused");
    assert!(err.to_string().contains("empty file (0 bytes)"), "{err}");
    assert!(Case::open_read_only(dir.path()).is_err());
    assert_eq!(
        std::fs::metadata(&db).unwrap().len(),
        0,
        "the file is left as it was"
    );
    assert!(!dir.path().join("case.sqlite-wal").exists());
}

/// One undated finding of a rule blanked its first time in the rule
/// summary (the UI's Detections "First"): it is stored at the smallest
/// time, which won `min()`.
#[test]
fn an_undated_finding_does_not_blank_its_rules_first_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let dated = ev("a.evtx", 1, T0, "ws01", "Security", 4688, &[]);
    let mut undated = ev("a.evtx", 2, T0, "ws01", "Security", 4688, &[]);
    undated.timestamp = None;
    {
        let mut w = case.writer().unwrap();
        w.add_findings(&[
            finding(&dated, "r1", Level::High, &[]),
            finding(&undated, "r1", Level::High, &[]),
            finding(&undated, "r2", Level::High, &[]),
        ])
        .unwrap();
        w.finish().unwrap();
    }
    let rows = case.rule_summary().unwrap();
    let r1 = rows.iter().find(|r| r.rule_id == "r1").unwrap();
    assert_eq!(r1.first.as_deref(), r1.last.as_deref(), "{:?}", r1.first);
    assert!(
        r1.first
            .as_deref()
            .unwrap()
            .starts_with("2020-09-13T12:26:40")
    );
    // All undated: no time, rather than a made-up one.
    let r2 = rows.iter().find(|r| r.rule_id == "r2").unwrap();
    assert_eq!((r2.first.as_deref(), r2.last.as_deref()), (None, None));
}

/// A case another kahu is creating at this instant is a 0-byte file for a
/// moment: a second `hunt --case` into the same directory opened it then
/// and refused it as a failed copy (CI saw it). An empty file that gains
/// its header a little later is opened.
#[test]
fn a_case_being_created_by_another_process_is_waited_for_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.sqlite");
    std::fs::write(&db, b"").unwrap();
    let creator = {
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            Case::create(&dir).map(|_| ())
        })
    };
    let opened = Case::open(dir.path());
    creator.join().unwrap().expect("the creator made the case");
    let case = opened.expect("opened once the creator wrote it");
    assert_eq!(case.schema_version().unwrap(), kahu_case::SCHEMA_VERSION);
}

/// An intruder who pads a command line (25,000 CJK characters before
/// `Invoke-Mimikatz`) hid it from the timeline's search (probe 18). It is
/// found now; an event whose text the index holds only in part is counted
/// for the UI, and a search for the marker word lists it.
#[test]
fn a_padded_command_line_is_found_and_a_partly_indexed_event_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let padded = format!(
        "powershell.exe -c \"#{}\"; Invoke-Mimikatz -DumpCreds",
        "漢".repeat(25_000)
    );
    let words: String = (0..4000).map(|i| format!("w{i:05} ")).collect();
    let pads: Vec<(String, String)> = (0..12)
        .map(|i| (format!("pad{i:02}"), format!("{i} {words}")))
        .collect();
    let mut bomb: Vec<(&str, &str)> = pads.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    bomb.push(("CommandLine", "rundll32 comsvcs.dll MiniDump"));
    {
        let mut w = case.writer().unwrap();
        for e in [
            ev(
                "a.evtx",
                1,
                T0,
                "HOST-CJK",
                "Sysmon",
                1,
                &[("CommandLine", &padded)],
            ),
            ev("a.evtx", 2, T0 + 1, "HOST-CJK", "Sysmon", 1, &bomb),
            ev(
                "a.evtx",
                3,
                T0 + 2,
                "HOST-CJK",
                "Sysmon",
                1,
                &[("CommandLine", "whoami")],
            ),
        ] {
            w.add_event(&e).unwrap();
        }
        w.finish().unwrap();
    }
    case.build_indexes(|_| {}).unwrap();
    let hits = |text: &str| {
        case.query_events(&EventQuery {
            text: Some(text.into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .events
        .len()
    };
    assert_eq!(hits("Invoke-Mimikatz"), 1);
    assert_eq!(hits("DumpCreds"), 1);
    assert_eq!(case.events_indexed_in_part().unwrap(), 1);
    assert_eq!(hits(kahu_case::INDEXED_IN_PART), 1);
}

/// A host whose only event has no time showed "0 events from … to …" above
/// a list holding it (probe 18): the histogram counted dated events only.
/// It now says how many the filter keeps without a time.
#[test]
fn the_histogram_counts_the_events_without_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    {
        let mut w = case.writer().unwrap();
        for i in 0..5 {
            w.add_event(&ev(
                "a.evtx",
                i,
                T0 + i as i64,
                "WS01",
                "Security",
                4624,
                &[],
            ))
            .unwrap();
        }
        let mut undated = ev("a.evtx", 9, T0, "HOST-BADTIME", "Security", 4624, &[]);
        undated.timestamp = None;
        w.add_event(&undated).unwrap();
        w.finish().unwrap();
    }
    let h = case.histogram(&EventQuery::default(), 10).unwrap();
    assert_eq!((h.total, h.undated), (5, 1));
    let only = EventQuery {
        hosts: vec!["HOST-BADTIME".into()],
        ..Default::default()
    };
    let h = case.histogram(&only, 10).unwrap();
    assert_eq!((h.total, h.undated), (0, 1));
    let ranged = EventQuery {
        from: Some(T0),
        ..Default::default()
    };
    assert_eq!(case.histogram(&ranged, 10).unwrap().undated, 0);
}
