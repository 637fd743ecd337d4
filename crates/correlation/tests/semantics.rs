//! Correlation semantics on constructed event streams; expected outcomes
//! follow the Sigma correlation specification v2.1.0.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;
use common::*;
use kahu_correlation::Limits;
use kahu_finding::{FindingKind, Level};

fn count_rule(cond: &str, span: &str) -> String {
    format!(
        "{}---\ntitle: Many failures\nid: corr-count\nlevel: high\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [User]\n  timespan: {span}\n  condition:\n    {cond}\n",
        rule("failed", "fail")
    )
}

#[test]
fn event_count_fires_exactly_at_the_threshold() {
    let s = setup(&count_rule("gte: 3", "1m"));
    let two = [
        ev("a", 1, 0, "fail", &[("User", "bob")]),
        ev("a", 2, 10, "fail", &[("User", "bob")]),
    ];
    assert!(run(&s, &two).is_empty());
    let mut three = two.to_vec();
    three.push(ev("a", 3, 20, "fail", &[("User", "bob")]));
    let f = run(&s, &three);
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f.kind, FindingKind::Correlation);
    assert_eq!(&*f.rule_id, "corr-count");
    assert_eq!(f.level, Level::High);
    assert_eq!(field(f, "User"), Some("bob"));
    assert_eq!(field(f, "event_count"), Some("3"));
    assert_eq!(f.timestamp, chrono::DateTime::from_timestamp(T0 + 20, 0));
    assert_eq!(f.host.as_deref(), Some("HOST1"));
    assert_eq!(f.related.len(), 3);
    assert_eq!(f.related[0].location, kahu_event::Location::Record(1));
    // The correlation names no tags: ATT&CK ids come from the referenced rule.
    assert_eq!(f.techniques, vec![std::sync::Arc::from("T1110")]);
}

#[test]
fn timespan_is_inclusive_and_one_second_more_is_outside() {
    let s = setup(&count_rule("gte: 3", "1m"));
    let at = [
        ev("a", 1, 0, "fail", &[("User", "bob")]),
        ev("a", 2, 30, "fail", &[("User", "bob")]),
        ev("a", 3, 60, "fail", &[("User", "bob")]),
    ];
    assert_eq!(
        run(&s, &at).len(),
        1,
        "events exactly 1m apart are within 1m"
    );
    let out = [
        ev("a", 1, 0, "fail", &[("User", "bob")]),
        ev("a", 2, 30, "fail", &[("User", "bob")]),
        ev("a", 3, 61, "fail", &[("User", "bob")]),
    ];
    assert!(run(&s, &out).is_empty());
}

#[test]
fn sliding_window_is_not_bound_to_fixed_buckets() {
    // 3 events in 40 s straddling a minute boundary (T0 is not aligned to it
    // anyway): a tumbling 1m bucket scheme could miss them.
    let s = setup(&count_rule("gte: 3", "1m"));
    let evs = [
        ev("a", 1, 0, "fail", &[("User", "bob")]),
        ev("a", 2, 100, "fail", &[("User", "bob")]),
        ev("a", 3, 130, "fail", &[("User", "bob")]),
        ev("a", 4, 140, "fail", &[("User", "bob")]),
    ];
    let f = run(&s, &evs);
    assert_eq!(f.len(), 1);
    assert_eq!(field(&f[0], "event_count"), Some("3"));
    assert_eq!(field(&f[0], "first_seen").map(|s| s.len() > 10), Some(true));
}

#[test]
fn groups_are_separate_and_missing_group_fields_do_not_group() {
    let s = setup(&count_rule("gte: 2", "1h"));
    let evs = [
        ev("a", 1, 0, "fail", &[("User", "bob")]),
        ev("a", 2, 1, "fail", &[("User", "alice")]),
        ev("a", 3, 2, "fail", &[]),
        ev("a", 4, 3, "fail", &[]),
    ];
    assert!(run(&s, &evs).is_empty());
    let mut more = evs.to_vec();
    more.push(ev("a", 5, 4, "fail", &[("User", "alice")]));
    let f = run(&s, &more);
    assert_eq!(f.len(), 1);
    assert_eq!(field(&f[0], "User"), Some("alice"));
}

#[test]
fn range_and_lt_conditions() {
    let s = setup(&count_rule("gt: 1\n    lte: 2", "1h"));
    let two = [
        ev("a", 1, 0, "fail", &[("User", "bob")]),
        ev("a", 2, 1, "fail", &[("User", "bob")]),
    ];
    assert_eq!(run(&s, &two).len(), 1);
    let mut three = two.to_vec();
    three.push(ev("a", 3, 2, "fail", &[("User", "bob")]));
    assert!(run(&s, &three).is_empty(), "3 is outside (1, 2]");
    // lt: a group that is busy within the window never fires, even at its
    // tail (where a window anchored late holds fewer events).
    let s = setup(&count_rule("lt: 2", "1h"));
    assert!(run(&s, &three).is_empty());
    let lone = [ev("a", 9, 0, "fail", &[("User", "carol")])];
    assert_eq!(run(&s, &lone).len(), 1);
}

#[test]
fn shuffled_arrival_gives_identical_findings() {
    let s = setup(&count_rule("gte: 3", "1m"));
    let mut evs = Vec::new();
    for i in 0..200u64 {
        let user = ["bob", "alice", "eve"][(i % 3) as usize];
        // Bursts every ~5 minutes; files interleave.
        let secs = (i as i64 / 9) * 300 + (i as i64 % 9) * 7;
        evs.push(ev(
            ["f1", "f2"][(i % 2) as usize],
            i,
            secs,
            "fail",
            &[("User", user)],
        ));
    }
    let want = summary(&run(&s, &evs));
    assert!(!want.is_empty());
    for seed in [1, 7, 42, 1234567] {
        let mut sh = evs.clone();
        shuffle(&mut sh, seed);
        assert_eq!(summary(&run(&s, &sh)), want, "seed {seed}");
    }
}

fn temporal(kind: &str) -> String {
    format!(
        "{}---\n{}---\ntitle: A then B\nid: corr-ab\ncorrelation:\n  type: {kind}\n  rules: [rule_a, rule_b]\n  group-by: [Host]\n  timespan: 5m\n",
        rule("rule_a", "a"),
        rule("rule_b", "b")
    )
}

#[test]
fn temporal_needs_all_rules_in_the_window() {
    let s = setup(&temporal("temporal"));
    let only_a = [
        ev("f", 1, 0, "a", &[("Host", "h")]),
        ev("f", 2, 10, "a", &[("Host", "h")]),
    ];
    assert!(run(&s, &only_a).is_empty());
    let b_first = [
        ev("f", 1, 0, "b", &[("Host", "h")]),
        ev("f", 2, 10, "a", &[("Host", "h")]),
    ];
    let f = run(&s, &b_first);
    assert_eq!(f.len(), 1, "temporal accepts any order");
    assert_eq!(field(&f[0], "rules"), Some("rule_a, rule_b"));
    let far = [
        ev("f", 1, 0, "b", &[("Host", "h")]),
        ev("f", 2, 301, "a", &[("Host", "h")]),
    ];
    assert!(run(&s, &far).is_empty());
}

#[test]
fn temporal_ordered_rejects_the_wrong_order() {
    let s = setup(&temporal("temporal_ordered"));
    let wrong = [
        ev("f", 1, 0, "b", &[("Host", "h")]),
        ev("f", 2, 10, "a", &[("Host", "h")]),
    ];
    assert!(run(&s, &wrong).is_empty());
    let right = [
        ev("f", 1, 0, "a", &[("Host", "h")]),
        ev("f", 2, 10, "b", &[("Host", "h")]),
    ];
    assert_eq!(run(&s, &right).len(), 1);
    // B, A, B: the second B follows A.
    let mixed = [
        ev("f", 1, 0, "b", &[("Host", "h")]),
        ev("f", 2, 10, "a", &[("Host", "h")]),
        ev("f", 3, 20, "b", &[("Host", "h")]),
    ];
    let f = run(&s, &mixed);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].timestamp, chrono::DateTime::from_timestamp(T0 + 20, 0));
    // Wrong order survives shuffling as "no finding".
    let mut sh = wrong.to_vec();
    shuffle(&mut sh, 3);
    assert!(run(&s, &sh).is_empty());
}

#[test]
fn aliases_join_different_fields_across_rules() {
    // The specification's field-name-aliases example.
    let yaml = format!(
        "{}---\n{}---\ntitle: alias example\nid: corr-alias\ncorrelation:\n  type: temporal\n  rules: [internal_error, new_network_connection]\n  group-by: [internal_ip, remote_ip]\n  timespan: 10s\n  aliases:\n    internal_ip:\n      internal_error: destination.ip\n      new_network_connection: source.ip\n    remote_ip:\n      internal_error: source.ip\n      new_network_connection: destination.ip\n",
        rule("internal_error", "err"),
        rule("new_network_connection", "conn")
    );
    let s = setup(&yaml);
    let joined = [
        ev(
            "f",
            1,
            0,
            "err",
            &[("destination.ip", "10.0.0.5"), ("source.ip", "203.0.113.9")],
        ),
        ev(
            "f",
            2,
            5,
            "conn",
            &[("source.ip", "10.0.0.5"), ("destination.ip", "203.0.113.9")],
        ),
    ];
    let f = run(&s, &joined);
    assert_eq!(f.len(), 1);
    assert_eq!(field(&f[0], "internal_ip"), Some("10.0.0.5"));
    assert_eq!(field(&f[0], "remote_ip"), Some("203.0.113.9"));
    // Same addresses but not swapped: no join.
    let unjoined = [
        ev(
            "f",
            1,
            0,
            "err",
            &[("destination.ip", "10.0.0.5"), ("source.ip", "203.0.113.9")],
        ),
        ev(
            "f",
            2,
            5,
            "conn",
            &[("destination.ip", "10.0.0.5"), ("source.ip", "203.0.113.9")],
        ),
    ];
    assert!(run(&s, &unjoined).is_empty());
}

fn value_rule(kind: &str, field_name: &str, cond: &str, span: &str) -> String {
    format!(
        "{}---\ntitle: {kind} test\nid: corr-{kind}\ncorrelation:\n  type: {kind}\n  rules: [r]\n  group-by: [Src]\n  timespan: {span}\n  condition:\n    field: {field_name}\n    {cond}\n",
        rule("r", "x")
    )
}

#[test]
fn value_count_counts_distinct_values() {
    let s = setup(&value_rule("value_count", "User", "gte: 3", "1h"));
    let mut evs = vec![
        ev("f", 1, 0, "x", &[("Src", "1.2.3.4"), ("User", "a")]),
        ev("f", 2, 1, "x", &[("Src", "1.2.3.4"), ("User", "a")]),
        ev("f", 3, 2, "x", &[("Src", "1.2.3.4"), ("User", "b")]),
        ev("f", 4, 3, "x", &[("Src", "1.2.3.4")]),
        ev("f", 5, 4, "x", &[("Src", "5.6.7.8"), ("User", "c")]),
    ];
    assert!(run(&s, &evs).is_empty(), "2 distinct users from 1.2.3.4");
    evs.push(ev("f", 6, 5, "x", &[("Src", "1.2.3.4"), ("User", "c")]));
    let f = run(&s, &evs);
    assert_eq!(f.len(), 1);
    assert_eq!(field(&f[0], "value_count"), Some("3"));
    assert_eq!(field(&f[0], "Src"), Some("1.2.3.4"));
    // The event without User is not a contributing value.
    assert_eq!(field(&f[0], "events"), Some("4"));
}

#[test]
fn value_sum_and_avg_arithmetic() {
    let s = setup(&value_rule("value_sum", "bytes", "gt: 1000", "1h"));
    let small = [
        ev("f", 1, 0, "x", &[("Src", "h"), ("bytes", "400")]),
        ev("f", 2, 1, "x", &[("Src", "h"), ("bytes", "600")]),
    ];
    assert!(run(&s, &small).is_empty(), "1000 is not > 1000");
    let mut big = small.to_vec();
    big.push(ev("f", 3, 2, "x", &[("Src", "h"), ("bytes", "0x10")]));
    big.push(ev("f", 4, 3, "x", &[("Src", "h"), ("bytes", "n/a")]));
    let f = run(&s, &big);
    assert_eq!(f.len(), 1);
    assert_eq!(field(&f[0], "value_sum"), Some("1016"));

    let s = setup(&value_rule("value_avg", "bytes", "gt: 500", "1h"));
    let evs = [
        ev("f", 1, 0, "x", &[("Src", "h"), ("bytes", "400")]),
        ev("f", 2, 1, "x", &[("Src", "h"), ("bytes", "601")]),
    ];
    let f = run(&s, &evs);
    assert_eq!(f.len(), 1);
    assert_eq!(field(&f[0], "value_avg"), Some("500.500"));
    let evs = [
        ev("f", 1, 0, "x", &[("Src", "h"), ("bytes", "400")]),
        ev("f", 2, 1, "x", &[("Src", "h"), ("bytes", "600")]),
    ];
    assert!(run(&s, &evs).is_empty(), "avg 500 is not > 500");
}

#[test]
fn value_percentile_finds_rare_values() {
    let s = setup(&value_rule("value_percentile", "Image", "lte: 1", "24h"));
    let mut evs = Vec::new();
    for i in 0..99u64 {
        evs.push(ev(
            "f",
            i,
            i as i64,
            "x",
            &[("Src", "pc1"), ("Image", "svchost.exe")],
        ));
    }
    assert!(run(&s, &evs).is_empty(), "a single value is 100 %");
    evs.push(ev(
        "f",
        99,
        99,
        "x",
        &[("Src", "pc1"), ("Image", "evil.exe")],
    ));
    let f = run(&s, &evs);
    assert_eq!(f.len(), 1);
    assert_eq!(field(&f[0], "value"), Some("evil.exe"));
    assert_eq!(field(&f[0], "value_percentile"), Some("1"));
    // 2 of 100 is 2 %: not rare enough.
    evs.push(ev(
        "f",
        100,
        100,
        "x",
        &[("Src", "pc1"), ("Image", "evil.exe")],
    ));
    assert!(run(&s, &evs).is_empty());
}

/// The specification's complete example (multi-document, chained, by name).
const SPEC_EXAMPLE: &str = r#"title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
falsepositives:
    - Unlikely
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
"#;

fn logon(rec: u64, secs: i64, id: u32, user: &str) -> kahu_event::Event {
    let mut e = ev("Security.evtx", rec, secs, "", &[("User", user)]);
    e.logsource = Default::default();
    e.channel = Some(std::sync::Arc::from("Security"));
    e.provider = Some(std::sync::Arc::from("Microsoft-Windows-Security-Auditing"));
    e.event_id = Some(id);
    e.fields
        .insert("EventID", kahu_event::Value::Int(i64::from(id)));
    e.fields
        .insert("Channel", kahu_event::Value::str("Security"));
    e
}

#[test]
fn chained_spec_example_fires_only_after_ten_failures() {
    let s = setup(SPEC_EXAMPLE);
    let failed = s.rules.find("failed_login").unwrap();
    let ok = s.rules.find("successful_login").unwrap();
    assert!(s.bound.wants(failed) && s.bound.wants(ok));
    assert!(
        s.bound.suppressed(failed) && s.bound.suppressed(ok),
        "generate defaults to false"
    );
    let mut evs: Vec<_> = (0..10)
        .map(|i| logon(i, i as i64 * 20, 4625, "admin"))
        .collect();
    evs.push(logon(10, 400, 4624, "admin"));
    // Another user succeeds without failures.
    evs.push(logon(11, 410, 4624, "bob"));
    let f = run(&s, &evs);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(&*f[0].rule_id, "b180ead8-d58f-40b2-ae54-c8940995b9b6");
    assert_eq!(f[0].level, Level::High);
    assert_eq!(field(&f[0], "User"), Some("admin"));
    assert_eq!(
        f[0].timestamp,
        chrono::DateTime::from_timestamp(T0 + 400, 0)
    );
    // The inner correlation is not reported on its own.
    assert!(
        f.iter()
            .all(|x| &*x.rule_id != "a8418a5a-5fc4-46b5-b23b-6c73beb19d41")
    );

    let mut nine: Vec<_> = (0..9)
        .map(|i| logon(i, i as i64 * 20, 4625, "admin"))
        .collect();
    nine.push(logon(10, 400, 4624, "admin"));
    assert!(run(&s, &nine).is_empty(), "nine failures are not enough");

    // Success before the failures: wrong order.
    let mut before = vec![logon(0, 0, 4624, "admin")];
    before.extend((1..=10).map(|i| logon(i, i as i64 * 5, 4625, "admin")));
    assert!(run(&s, &before).is_empty());
}

#[test]
fn generate_true_keeps_referenced_rules_reported() {
    let yaml = format!(
        "{}---\n{}---\ntitle: g\ncorrelation:\n  type: event_count\n  rules: [a]\n  generate: true\n  group-by: [User]\n  timespan: 1m\n  condition:\n    gte: 2\n",
        rule("a", "a"),
        rule("b", "b")
    );
    let s = setup(&yaml);
    let a = s.rules.find("a").unwrap();
    let b = s.rules.find("b").unwrap();
    assert!(s.bound.wants(a) && !s.bound.suppressed(a));
    assert!(!s.bound.wants(b) && !s.bound.suppressed(b));
}

#[test]
fn group_cap_is_reported() {
    let s = setup(&count_rule("gte: 1", "1m"));
    let evs: Vec<_> = (0..5)
        .map(|i| ev("f", i, i as i64, "fail", &[("User", &format!("u{i}"))]))
        .collect();
    let limits = Limits {
        max_groups: 2,
        ..Default::default()
    };
    let (f, warnings) = run_with(&s, &evs, limits);
    assert_eq!(f.len(), 2);
    assert!(
        warnings
            .iter()
            .any(|w| w.reason.contains("group cap of 2") && w.rule_id.is_some()),
        "the group cap names its correlation: {warnings:?}"
    );
    let limits = Limits {
        max_records: 3,
        ..Default::default()
    };
    let (f, warnings) = run_with(&s, &evs, limits);
    assert_eq!(f.len(), 3);
    assert!(
        warnings
            .iter()
            .any(|w| w.reason.contains("record cap of 3") && w.rule_id.is_none()),
        "{warnings:?}"
    );
}

#[test]
fn per_thread_engines_merge_to_the_same_result() {
    let s = setup(&value_rule("value_count", "User", "gte: 3", "10m"));
    let evs: Vec<_> = (0..60u64)
        .map(|i| {
            let u = format!("u{}", i % 3);
            let src = ["a", "b"][(i % 2) as usize];
            ev(
                "f",
                i,
                (i * 13) as i64,
                "x",
                &[("Src", src), ("User", u.as_str())],
            )
        })
        .collect();
    let want = summary(&run(&s, &evs));
    assert!(!want.is_empty());
    let mut engines: Vec<_> = (0..3).map(|_| s.bound.engine()).collect();
    let mut m = Vec::new();
    for (i, e) in evs.iter().enumerate() {
        m.clear();
        s.rules.matches(e, &mut m);
        for idx in &m {
            engines[(i * 7) % 3].observe(*idx, e);
        }
    }
    let mut it = engines.into_iter();
    let mut first = it.next().unwrap();
    let handles: Vec<_> = it.map(|e| std::thread::spawn(move || e)).collect();
    for h in handles {
        first.merge(h.join().unwrap());
    }
    assert_eq!(summary(&first.finish()), want);
}

#[test]
fn computer_name_falls_back_to_the_event_host_and_no_group_by_is_one_group() {
    let yaml = format!(
        "{}---\ntitle: by host\nid: by-host\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [ComputerName]\n  timespan: 1m\n  condition:\n    gte: 2\n---\ntitle: global\nid: global\ncorrelation:\n  type: event_count\n  rules: [failed]\n  timespan: 1m\n  condition:\n    gte: 3\n",
        rule("failed", "fail")
    );
    let s = setup(&yaml);
    let mut a = ev("a", 1, 0, "fail", &[]);
    let mut b = ev("a", 2, 1, "fail", &[]);
    let mut c = ev("a", 3, 2, "fail", &[]);
    a.host = Some("WS1".into());
    b.host = Some("WS2".into());
    c.host = Some("WS1".into());
    let f = run(&s, &[a, b, c]);
    let ids: Vec<&str> = f.iter().map(|x| &*x.rule_id).collect();
    assert_eq!(ids, vec!["by-host", "global"], "{f:#?}");
    assert_eq!(field(&f[0], "ComputerName"), Some("WS1"));
    assert_eq!(field(&f[1], "event_count"), Some("3"));
}

#[test]
fn timestamp_ties_across_files_are_ordered_the_same_after_shuffling() {
    let s = setup(&count_rule("gte: 2", "1m"));
    let mut evs: Vec<_> = (0..12u64)
        .map(|i| {
            ev(
                ["x.evtx", "y.evtx", "z.evtx"][(i % 3) as usize],
                i,
                (i / 4) as i64 * 200,
                "fail",
                &[("User", "bob")],
            )
        })
        .collect();
    let want = summary(&run(&s, &evs));
    assert_eq!(want.len(), 3);
    for seed in [5, 99] {
        shuffle(&mut evs, seed);
        assert_eq!(summary(&run(&s, &evs)), want);
    }
}

#[test]
fn events_without_time_are_counted_and_reported() {
    let s = setup(&count_rule("gte: 1", "1m"));
    let mut e = ev("a", 1, 0, "fail", &[("User", "bob")]);
    e.timestamp = None;
    let (f, warnings) = run_with(&s, &[e], Limits::default());
    assert!(f.is_empty());
    assert!(
        warnings
            .iter()
            .any(|w| w.reason.contains("1 matched events without a timestamp")),
        "{warnings:?}"
    );
}

#[test]
fn level_defaults_to_the_highest_referenced_rule() {
    let yaml = format!(
        "{}---\ntitle: nolevel\nid: nolevel\ncorrelation:\n  type: event_count\n  rules: [failed]\n  timespan: 1m\n  condition:\n    gte: 1\n",
        rule("failed", "fail")
    );
    let s = setup(&yaml);
    let f = run(&s, &[ev("a", 1, 0, "fail", &[])]);
    assert_eq!(f[0].level, Level::Low);
}

#[test]
fn shown_fields_come_from_the_event_that_completed_the_correlation() {
    // `fields` on a correlation (a detection rule's "fields worth
    // showing"): the finding carries their values in the event that
    // completed it, the last of the window, not the first.
    let yaml = format!("{}fields: [Url, Status]\n", temporal("temporal_ordered"));
    let s = setup(&yaml);
    let evs = [
        ev("f", 1, 0, "a", &[("Host", "h"), ("Url", "/deploy")]),
        ev("f", 2, 10, "b", &[("Host", "h"), ("Url", "/shell.jsp")]),
    ];
    let f = run(&s, &evs);
    assert_eq!(f.len(), 1);
    assert_eq!(field(&f[0], "Url"), Some("/shell.jsp"));
    // A field the event lacks is left out, not shown empty.
    assert_eq!(field(&f[0], "Status"), None);
    assert!(f[0].fields.iter().all(|(k, _)| &**k != "Status"));
    // Without `fields` the finding names no Url.
    let plain = setup(&temporal("temporal_ordered"));
    assert_eq!(field(&run(&plain, &evs)[0], "Url"), None);

    // A field already grouped by is not repeated; too many fields are
    // refused with the attribute's name.
    let grouped = setup(&format!("{}fields: [Host]\n", temporal("temporal")));
    let f = run(&grouped, &evs);
    assert_eq!(
        f[0].fields.iter().filter(|(k, _)| &**k == "Host").count(),
        1
    );
    let many: Vec<String> = (0..17).map(|i| format!("F{i}")).collect();
    let doc = format!(
        "title: t\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 1m\nfields: [{}]\n",
        many.join(", ")
    );
    let set = kahu_correlation::CorrelationSet::from_yaml(&[("x.yml", &doc)]);
    assert_eq!(set.errors.len(), 1, "{:?}", set.errors);
    assert!(
        set.errors[0].to_string().contains("fields"),
        "{}",
        set.errors[0]
    );
}

#[test]
fn a_chained_correlation_shows_its_fields_too() {
    // The specification's chained example with `fields: [IpAddress]` on
    // the outer correlation: the address of the successful logon that
    // completed it.
    let s = setup(&SPEC_EXAMPLE.replacen("level: high\n", "level: high\nfields: [IpAddress]\n", 1));
    let mut evs: Vec<_> = (0..10)
        .map(|i| logon(i, i as i64 * 20, 4625, "admin"))
        .collect();
    let mut ok = logon(10, 400, 4624, "admin");
    ok.fields
        .insert("IpAddress", kahu_event::Value::str("10.1.2.3"));
    evs.push(ok);
    let f = run(&s, &evs);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(field(&f[0], "IpAddress"), Some("10.1.2.3"));
}
