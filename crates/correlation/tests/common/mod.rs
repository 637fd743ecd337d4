//! Helpers shared by the integration tests: events, detection rules and the
//! pipeline loop the CLI runs.

#![allow(dead_code)]

use kahu_correlation::{BoundCorrelations, CorrelationSet, Limits};
use kahu_event::{Event, Location, LogSource, Provenance, Value};
use kahu_finding::Finding;
use kahu_sigma::{LoadOptions, RuleSet};
use std::sync::Arc;

pub(crate) const T0: i64 = 1_700_000_000;

/// A detection rule named `name` matching events whose `kind` field is `kind`.
pub(crate) fn rule(name: &str, kind: &str) -> String {
    format!(
        "title: {name}\nid: id-{name}\nname: {name}\nlevel: low\ntags: [attack.t1110]\nlogsource:\n  product: test\n  category: test\ndetection:\n  selection:\n    kind: {kind}\n  condition: selection\n"
    )
}

/// An event of `kind` at `T0 + secs`, record `rec` of file `file`.
pub(crate) fn ev(file: &str, rec: u64, secs: i64, kind: &str, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(Provenance::new(Arc::from(file), Location::Record(rec)));
    e.timestamp = chrono::DateTime::from_timestamp(T0 + secs, 0);
    e.logsource = LogSource::product("test").with_category("test");
    e.channel = Some(Arc::from("Test"));
    e.event_id = Some(1);
    e.host = Some(Arc::from("HOST1"));
    e.fields.insert("kind", Value::str(kind));
    for (k, v) in fields {
        e.fields.insert(k, Value::str(v));
    }
    e
}

pub(crate) struct Setup {
    pub rules: RuleSet,
    pub bound: BoundCorrelations,
}

/// Compile the detection rules and the correlation documents (`yaml` may
/// mix both, as in the specification's example).
pub(crate) fn setup(yaml: &str) -> Setup {
    let report = RuleSet::from_yaml(&[("test.yml", yaml)], &LoadOptions::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let set = CorrelationSet::from_yaml(&[("test.yml", yaml)]);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let bound = set
        .bind(&report.ruleset)
        .unwrap_or_else(|e| panic!("bind: {e:?}"));
    Setup {
        rules: report.ruleset,
        bound,
    }
}

/// Run events through detection and correlation, as the pipeline does.
pub(crate) fn run(s: &Setup, events: &[Event]) -> Vec<Finding> {
    run_with(s, events, Limits::default()).0
}

pub(crate) fn run_with(
    s: &Setup,
    events: &[Event],
    limits: Limits,
) -> (Vec<Finding>, Vec<kahu_correlation::CorrelationWarning>) {
    let mut eng = s.bound.engine_with(limits);
    let mut m = Vec::new();
    for e in events {
        m.clear();
        s.rules.matches(e, &mut m);
        for idx in &m {
            if s.bound.wants(*idx) {
                eng.observe(*idx, e);
            }
        }
    }
    let out = eng.finish_report();
    (out.findings, out.warnings)
}

pub(crate) fn field<'a>(f: &'a Finding, name: &str) -> Option<&'a str> {
    kahu_finding::field(f, name)
}

/// Deterministic shuffle (xorshift), so failures reproduce.
pub(crate) fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// A comparable summary of findings.
pub(crate) fn summary(fs: &[Finding]) -> Vec<String> {
    fs.iter()
        .map(|f| {
            format!(
                "{} {:?} {:?} {:?} {:?}",
                f.rule_id, f.timestamp, f.fields, f.provenance, f.related
            )
        })
        .collect()
}
