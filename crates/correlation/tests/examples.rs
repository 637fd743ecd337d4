//! The specification's example correlation rules (from the shared data):
//! they parse, bind, and fire exactly at their conditions.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;
use common::*;
use kahu_correlation::{CorrelationSet, CorrelationType};
use std::path::PathBuf;

fn examples_dir() -> Option<PathBuf> {
    let base = std::env::var_os("KAHU_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let dir = base.join("sigma-specification/examples/correlation");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: correlation examples not found at {}", dir.display());
        None
    }
}

fn read(name: &str) -> Option<String> {
    let p = examples_dir()?.join(name);
    Some(std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

/// A detection rule with this id or name matching `kind: <reference>`.
fn rule_for(reference: &str) -> String {
    let ident = if reference.len() == 36 && reference.matches('-').count() == 4 {
        format!("id: {reference}\n")
    } else {
        format!("id: id-{reference}\nname: {reference}\n")
    };
    format!(
        "title: {reference}\n{ident}logsource:\n  product: test\n  category: test\ndetection:\n  selection:\n    kind: {reference}\n  condition: selection\n"
    )
}

fn with_rules(example: &str, refs: &[&str]) -> String {
    let mut y = example.trim_end().to_string();
    for r in refs {
        y.push_str("\n---\n");
        y.push_str(&rule_for(r));
    }
    y
}

#[test]
fn all_examples_parse_with_the_values_they_state() {
    let Some(dir) = examples_dir() else { return };
    let set = CorrelationSet::load(&[dir]);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    assert_eq!(set.len(), 8);
    let by_file = |f: &str| {
        set.correlations
            .iter()
            .find(|c| c.origin.ends_with(f))
            .unwrap_or_else(|| panic!("{f} not loaded"))
    };
    let c = by_file("/event_count.yml");
    assert_eq!(c.kind, CorrelationType::EventCount);
    assert_eq!(c.group_by, vec!["ComputerName"]);
    assert_eq!(c.timespan_us, 3_600_000_000);
    assert_eq!(c.condition.gte, Some(100.0));
    let c = by_file("/event_count_ecs.yml");
    assert_eq!(c.group_by, vec!["dns.question.name"]);
    let c = by_file("/value_count.yml");
    assert_eq!(c.kind, CorrelationType::ValueCount);
    assert_eq!(c.fields, vec!["User"]);
    assert_eq!(c.timespan_us, 86_400_000_000);
    let c = by_file("/temporal.yml");
    assert_eq!(c.kind, CorrelationType::Temporal);
    assert_eq!(c.rules, vec!["recon_cmd_a", "recon_cmd_b", "recon_cmd_c"]);
    assert_eq!(c.timespan_us, 300_000_000);
    assert_eq!(
        by_file("/temporal_ordered.yml").kind,
        CorrelationType::TemporalOrdered
    );
    let c = by_file("/value_sum.yml");
    assert_eq!(
        (c.kind, c.condition.gt),
        (CorrelationType::ValueSum, Some(1_000_000.0))
    );
    let c = by_file("/value_avg.yml");
    assert_eq!(
        (c.kind, c.condition.gt),
        (CorrelationType::ValueAvg, Some(500.0))
    );
    let c = by_file("/value_percentile.yml");
    assert_eq!(
        (c.kind, c.condition.lte),
        (CorrelationType::ValuePercentile, Some(1.0))
    );
}

const FAILED: &str = "5638f7c0-ac70-491d-8465-2a65075e0d86";

#[test]
fn event_count_example_fires_at_100_not_99() {
    let Some(ex) = read("event_count.yml") else {
        return;
    };
    let s = setup(&with_rules(&ex, &[FAILED]));
    let mk = |n: u64| -> Vec<_> {
        (0..n)
            .map(|i| ev("s", i, i as i64 * 30, FAILED, &[("ComputerName", "DC1")]))
            .collect()
    };
    assert!(run(&s, &mk(99)).is_empty());
    let f = run(&s, &mk(100));
    assert_eq!(f.len(), 1);
    assert_eq!(field(&f[0], "event_count"), Some("100"));
    assert_eq!(field(&f[0], "ComputerName"), Some("DC1"));
    // 100 events spread over 100 × 37 s > 1 h: never 100 within an hour.
    let spread: Vec<_> = (0..100u64)
        .map(|i| ev("s", i, i as i64 * 37, FAILED, &[("ComputerName", "DC1")]))
        .collect();
    assert!(run(&s, &spread).is_empty());
}

#[test]
fn value_count_example_needs_100_distinct_users_per_pair() {
    let Some(ex) = read("value_count.yml") else {
        return;
    };
    let s = setup(&with_rules(&ex, &[FAILED]));
    let mk = |users: u64| -> Vec<_> {
        (0..150u64)
            .map(|i| {
                let u = format!("user{}", i % users);
                ev(
                    "s",
                    i,
                    i as i64 * 60,
                    FAILED,
                    &[
                        ("ComputerName", "DC1"),
                        ("WorkstationName", "WS7"),
                        ("User", u.as_str()),
                    ],
                )
            })
            .collect()
    };
    assert!(run(&s, &mk(99)).is_empty());
    let f = run(&s, &mk(100));
    assert_eq!(f.len(), 1);
    assert_eq!(field(&f[0], "value_count"), Some("100"));
}

#[test]
fn temporal_examples_need_all_three_and_the_order() {
    let refs = ["recon_cmd_a", "recon_cmd_b", "recon_cmd_c"];
    let gb = [("ComputerName", "WS1"), ("User", "eve")];
    let Some(t) = read("temporal.yml") else {
        return;
    };
    let s = setup(&with_rules(&t, &refs));
    let cba: Vec<_> = refs
        .iter()
        .rev()
        .enumerate()
        .map(|(i, r)| ev("s", i as u64, i as i64 * 60, r, &gb))
        .collect();
    assert_eq!(run(&s, &cba).len(), 1, "temporal: any order within 5m");
    assert!(run(&s, &cba[..2]).is_empty());
    let Some(o) = read("temporal_ordered.yml") else {
        return;
    };
    let s = setup(&with_rules(&o, &refs));
    assert!(
        run(&s, &cba).is_empty(),
        "temporal_ordered: c, b, a is the wrong order"
    );
    let abc: Vec<_> = refs
        .iter()
        .enumerate()
        .map(|(i, r)| ev("s", i as u64, i as i64 * 60, r, &gb))
        .collect();
    assert_eq!(run(&s, &abc).len(), 1);
}

#[test]
fn value_metric_examples() {
    let Some(sum) = read("value_sum.yml") else {
        return;
    };
    let s = setup(&with_rules(&sum, &["website_access"]));
    let mk = |bytes: &[&str]| -> Vec<_> {
        bytes
            .iter()
            .enumerate()
            .map(|(i, b)| {
                ev(
                    "p",
                    i as u64,
                    i as i64,
                    "website_access",
                    &[("SourceIP", "10.1.1.1"), ("User", "u"), ("bytes_sent", b)],
                )
            })
            .collect()
    };
    assert!(run(&s, &mk(&["500000", "500000"])).is_empty());
    assert_eq!(run(&s, &mk(&["500000", "500001"])).len(), 1);

    let Some(avg) = read("value_avg.yml") else {
        return;
    };
    let s = setup(&with_rules(&avg, &["rule_a_id"]));
    let mk = |bytes: &[&str]| -> Vec<_> {
        bytes
            .iter()
            .enumerate()
            .map(|(i, b)| {
                ev(
                    "p",
                    i as u64,
                    i as i64,
                    "rule_a_id",
                    &[("SourceIP", "10.1.1.1"), ("User", "u"), ("BytesOut", b)],
                )
            })
            .collect()
    };
    assert!(
        run(&s, &mk(&["100", "900"])).is_empty(),
        "avg 500 is not > 500"
    );
    assert_eq!(run(&s, &mk(&["100", "901"])).len(), 1);

    let Some(pct) = read("value_percentile.yml") else {
        return;
    };
    let s = setup(&with_rules(&pct, &["process_creation"]));
    let mut evs: Vec<_> = (0..199u64)
        .map(|i| {
            ev(
                "p",
                i,
                i as i64,
                "process_creation",
                &[
                    ("ComputerName", "WS1"),
                    ("Image", "C:\\Windows\\System32\\svchost.exe"),
                ],
            )
        })
        .collect();
    evs.push(ev(
        "p",
        199,
        199,
        "process_creation",
        &[
            ("ComputerName", "WS1"),
            ("Image", "C:\\Users\\Public\\x.exe"),
        ],
    ));
    let f = run(&s, &evs);
    assert_eq!(f.len(), 1);
    assert_eq!(field(&f[0], "value"), Some("C:\\Users\\Public\\x.exe"));
    assert_eq!(field(&f[0], "value_percentile"), Some("0.500"));
}
