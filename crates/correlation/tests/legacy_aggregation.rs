//! A legacy `| count() by X > N` rule, translated at load, finds exactly
//! what the hand-written correlation rule finds on the same stream.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;
use common::*;
use kahu_correlation::SigmaRules;
use kahu_event::Event;
use kahu_finding::{Detector, Finding};
use kahu_sigma::{LoadOptions, RuleSet};

const LEGACY: &str = "title: Spray
id: legacy-spray
level: high
tags: [attack.t1110.003]
logsource:
  product: test
  category: test
detection:
  selection:
    kind: fail
  filter:
    IpAddress: '-'
  condition: selection and not filter | AGG
  timeframe: 5m
";

fn handwritten(kind: &str, field: Option<&str>, op: &str, n: u32) -> String {
    let field = field.map_or(String::new(), |f| format!("    field: {f}\n"));
    format!(
        "title: Base\nid: base\nname: base\nlevel: high\ntags: [attack.t1110.003]\nlogsource:\n  product: test\n  category: test\ndetection:\n  selection:\n    kind: fail\n  filter:\n    IpAddress: '-'\n  condition: selection and not filter\n---\ntitle: Spray\nid: hand-spray\nlevel: high\ncorrelation:\n  type: {kind}\n  rules: [base]\n  group-by: [IpAddress]\n  timespan: 5m\n  condition:\n    {op}: {n}\n{field}"
    )
}

fn load(yaml: &str) -> (SigmaRules, Vec<String>) {
    let report = RuleSet::from_yaml(&[("test.yml", yaml)], &LoadOptions::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let notes = report.notes.iter().map(|n| n.to_string()).collect();
    let rules = SigmaRules::new(report);
    assert!(
        rules.correlation_errors.is_empty(),
        "{:?}",
        rules.correlation_errors
    );
    (rules, notes)
}

/// Failed logons from three addresses: a burst of 6 from 10.0.0.1 within
/// five minutes, 4 slow ones (10 minutes apart) from 10.0.0.2, and 6 with
/// an address of `-` (filtered), plus unrelated successes; users rotate.
fn stream() -> Vec<Event> {
    let mut out = Vec::new();
    let mut rec = 0;
    let mut push = |secs: i64, kind: &str, ip: &str, user: &str| {
        rec += 1;
        out.push(ev(
            "s.evtx",
            rec,
            secs,
            kind,
            &[("IpAddress", ip), ("TargetUserName", user)],
        ));
    };
    for i in 0..6 {
        push(i * 20, "fail", "10.0.0.1", ["a", "b", "c"][i as usize % 3]);
        push(i * 600, "fail", "10.0.0.2", "d");
        push(i * 5, "fail", "-", "e");
        push(i * 7, "ok", "10.0.0.1", "a");
    }
    // A second burst from 10.0.0.1 an hour later: a second finding.
    for i in 0..6 {
        push(3_600 + i * 30, "fail", "10.0.0.1", "f");
    }
    out
}

/// What a finding says, minus the rule identity.
fn essence(f: &Finding) -> (Option<String>, Option<String>, String, Vec<String>) {
    let mut fields: Vec<String> = f.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    fields.sort();
    (
        f.timestamp.map(|t| t.to_rfc3339()),
        f.host.as_deref().map(str::to_string),
        f.level.as_str().to_string(),
        fields,
    )
}

fn run(rules: &SigmaRules, events: &[Event]) -> Vec<Finding> {
    let scan = rules.scan();
    let mut out = Vec::new();
    for e in events {
        scan.inspect(e, &mut out);
    }
    out.extend(scan.finish().findings);
    out
}

fn same_findings(agg: &str, kind: &str, field: Option<&str>, op: &str, n: u32) -> usize {
    let (legacy, notes) = load(&LEGACY.replace("AGG", agg));
    assert_eq!(legacy.correlation_count(), 1);
    assert!(
        notes.iter().any(|n| n.contains("legacy aggregation")
            && n.contains(kind)
            && n.contains("timespan 5m")),
        "the translation is noted: {notes:?}"
    );
    let (hand, _) = load(&handwritten(kind, field, op, n));
    let events = stream();
    let a = run(&legacy, &events);
    let b = run(&hand, &events);
    assert!(a.iter().all(|f| &*f.rule_id == "legacy-spray"), "{a:?}");
    let mut ea: Vec<_> = a.iter().map(essence).collect();
    let mut eb: Vec<_> = b.iter().map(essence).collect();
    ea.sort();
    eb.sort();
    assert_eq!(ea, eb, "legacy {agg} vs hand-written {kind}");
    a.len()
}

#[test]
fn count_by_field_equals_the_event_count_correlation() {
    // Two bursts from 10.0.0.1; the slow and the filtered addresses never.
    assert_eq!(
        same_findings("count() by IpAddress >= 5", "event_count", None, "gte", 5),
        2
    );
    assert_eq!(
        same_findings("count() by IpAddress > 6", "event_count", None, "gt", 6),
        0
    );
}

#[test]
fn count_of_field_equals_the_value_count_correlation() {
    // Three distinct users in the first burst only.
    assert_eq!(
        same_findings(
            "count(TargetUserName) by IpAddress >= 3",
            "value_count",
            Some("TargetUserName"),
            "gte",
            3
        ),
        1
    );
}

#[test]
fn the_plain_condition_alone_is_not_reported() {
    let (legacy, _) = load(&LEGACY.replace("AGG", "count() by IpAddress >= 5"));
    let scan = legacy.scan();
    let mut direct = Vec::new();
    for e in stream() {
        scan.inspect(&e, &mut direct);
    }
    assert!(direct.is_empty(), "{direct:?}");
}

#[test]
fn a_rule_without_condition_uses_its_only_search_with_a_note() {
    let yaml = "title: Batch logon\nid: batch\nlogsource:\n  product: test\n  category: test\ndetection:\n  selection:\n    kind: fail\n";
    let report = RuleSet::from_yaml(&[("t.yml", yaml)], &LoadOptions::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.ruleset.len(), 1);
    assert!(report.notes[0].reason.contains("only search `selection`"));
    let mut m = Vec::new();
    report.ruleset.matches(&ev("f", 1, 0, "fail", &[]), &mut m);
    assert_eq!(m.len(), 1);
    // Two searches and no condition stays an error.
    let two = yaml.replace("detection:\n", "detection:\n  other:\n    kind: x\n");
    let report = RuleSet::from_yaml(&[("t.yml", &two)], &LoadOptions::default());
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].reason.contains("missing"));
}

#[test]
fn unsupported_aggregations_are_rejected_with_a_reason() {
    for (agg, why) in [
        ("max(Bytes) by IpAddress > 5", "no equivalent"),
        ("count() by IpAddress", "comparison"),
    ] {
        let yaml = LEGACY.replace("AGG", agg);
        let report = RuleSet::from_yaml(&[("t.yml", &yaml)], &LoadOptions::default());
        assert_eq!(report.errors.len(), 1, "{agg}");
        assert!(report.errors[0].reason.contains(why), "{:?}", report.errors);
        assert_eq!(report.errors[0].construct, "detection.condition");
    }
}
