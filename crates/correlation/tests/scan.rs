//! `SigmaRules` is compiled once and scanned many times: each scan owns
//! its correlation windows.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;
use common::*;
use kahu_correlation::SigmaRules;
use kahu_finding::{Detector, Finding, FindingKind};
use kahu_sigma::{LoadOptions, RuleSet};

fn rules() -> SigmaRules {
    let yaml = format!(
        "{}---\ntitle: Many failures\nid: corr-count\nlevel: high\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [User]\n  timespan: 1m\n  condition:\n    gte: 3\n",
        rule("failed", "fail")
    );
    let report = RuleSet::from_yaml(&[("test.yml", &yaml)], &LoadOptions::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let rules = SigmaRules::new(report);
    assert!(
        rules.correlation_errors.is_empty(),
        "{:?}",
        rules.correlation_errors
    );
    assert_eq!(rules.correlation_count(), 1);
    rules
}

fn scan_once(rules: &SigmaRules) -> (Vec<Finding>, Vec<Finding>) {
    let scan = rules.scan();
    let mut direct = Vec::new();
    for i in 0..3 {
        scan.inspect(
            &ev("a", i, i as i64 * 10, "fail", &[("User", "bob")]),
            &mut direct,
        );
    }
    (direct, scan.finish().findings)
}

#[test]
fn every_scan_starts_with_empty_windows_and_finds_the_correlation_again() {
    let rules = rules();
    let (direct1, corr1) = scan_once(&rules);
    let (direct2, corr2) = scan_once(&rules);
    // `generate: false` (the default) keeps the referenced rule's own
    // matches out of the output.
    assert!(direct1.is_empty() && direct2.is_empty());
    assert_eq!(corr1.len(), 1, "first scan: {corr1:?}");
    assert_eq!(
        corr2.len(),
        1,
        "a second scan must correlate too: {corr2:?}"
    );
    assert_eq!(corr1[0].kind, FindingKind::Correlation);
    assert_eq!(corr1[0].rule_id, corr2[0].rule_id);
    // Windows do not leak between scans: the second saw 3 events, not 6.
    let count = |f: &Finding| {
        f.fields
            .iter()
            .find(|(k, _)| &**k == "event_count")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(count(&corr2[0]).as_deref(), Some("3"));
}

#[test]
fn a_scan_that_sees_too_little_finds_nothing() {
    let rules = rules();
    let scan = rules.scan();
    let mut out = Vec::new();
    scan.inspect(&ev("a", 1, 0, "fail", &[("User", "bob")]), &mut out);
    assert!(scan.finish().findings.is_empty());
}
