//! Random correlation YAML never panics the parser, the binder or the engine.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;
use common::*;
use kahu_correlation::{CorrelationSet, Limits};
use kahu_sigma::{LoadOptions, RuleSet};
use proptest::prelude::*;

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("User".to_string()),
        Just("1h".to_string()),
        Just("0s".to_string()),
        Just("999999999999y".to_string()),
        Just("-5".to_string()),
        Just("1e308".to_string()),
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("[a, b, a]".to_string()),
        Just("{gte: 1}".to_string()),
        Just("{gt: 1, lte: 3, field: User}".to_string()),
        Just("{a: User}".to_string()),
        Just("{ip: {a: User, b: Src}}".to_string()),
        "[ -~]{0,12}",
        any::<i64>().prop_map(|i| i.to_string()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("type"),
        Just("rules"),
        Just("group-by"),
        Just("timespan"),
        Just("condition"),
        Just("aliases"),
        Just("generate"),
        Just("field"),
        Just("bogus"),
    ]
    .prop_map(str::to_string)
}

fn kind() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("event_count"),
        Just("value_count"),
        Just("temporal"),
        Just("temporal_ordered"),
        Just("value_sum"),
        Just("value_avg"),
        Just("value_percentile"),
        Just("nope"),
    ]
    .prop_map(str::to_string)
}

fn doc() -> impl Strategy<Value = String> {
    (
        kind(),
        prop::collection::vec((key(), scalar()), 0..8),
        any::<bool>(),
        "[a-z]{1,3}",
    )
        .prop_map(|(k, kv, named, name)| {
            let mut s = String::from("title: t\n");
            if named {
                s.push_str(&format!("name: {name}\n"));
            }
            s.push_str(&format!("correlation:\n  type: {k}\n"));
            for (k, v) in kv {
                s.push_str(&format!("  {k}: {v}\n"));
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_correlations_never_panic(docs in prop::collection::vec(doc(), 1..4), garbage in "[ -~\n]{0,80}") {
        let rules = format!("{}---\n{}", rule("a", "a"), rule("b", "b"));
        let mut yaml = rules.clone();
        for d in &docs {
            yaml.push_str("---\n");
            yaml.push_str(d);
        }
        let report = RuleSet::from_yaml(&[("r.yml", &rules)], &LoadOptions::default());
        let _ = CorrelationSet::from_yaml(&[("g.yml", &garbage)]);
        let set = CorrelationSet::from_yaml(&[("c.yml", &yaml)]);
        if let Ok(bound) = set.bind(&report.ruleset) {
            let mut eng = bound.engine_with(Limits { max_groups: 3, max_records: 50, ..Default::default() });
            let mut m = Vec::new();
            for i in 0..20u64 {
                let e = ev("f", i, (i * 17 % 50) as i64, ["a", "b"][(i % 2) as usize], &[("User", "u"), ("Src", &i.to_string())]);
                m.clear();
                report.ruleset.matches(&e, &mut m);
                for idx in &m {
                    eng.observe(*idx, &e);
                }
            }
            let _ = eng.finish_report();
        }
    }
}
