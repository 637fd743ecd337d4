//! Robustness: random YAML-ish input must never panic the parser or the
//! compiler, and compiled rules must never panic on random events.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::{Event, Location, LogSource, Provenance, Value};
use kahu_sigma::{LoadOptions, RuleSet};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("title: t\n".to_string()),
        Just("logsource:\n  product: test\n".to_string()),
        Just("detection:\n".to_string()),
        Just("  sel:\n".to_string()),
        Just("  condition: ".to_string()),
        Just("    - ".to_string()),
        Just("    A|contains|all: ".to_string()),
        Just("    A|re|i: ".to_string()),
        Just("    A|base64offset|contains: ".to_string()),
        Just("    A|windash|cidr: ".to_string()),
        Just("    A|expand: '%x%'\n".to_string()),
        Just("    '|all':\n".to_string()),
        Just("1 of sel* and not (".to_string()),
        Just(" or ".to_string()),
        Just(")".to_string()),
        Just("---\n".to_string()),
        Just("null\n".to_string()),
        Just("[a, {b: c}]\n".to_string()),
        Just("&a [*a]\n".to_string()),
        "[ -~]{0,12}\n",
        "\\PC{0,8}",
    ]
}

fn event(a: String, n: i64) -> Event {
    let mut e = Event::new(Provenance::new("p".into(), Location::Line(1)));
    e.logsource = LogSource::product("test");
    e.fields.insert("A", Value::from(a));
    e.fields.insert("N", Value::Int(n));
    e
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_rules_never_panic(parts in proptest::collection::vec(token(), 0..24), a in "\\PC{0,32}", n in any::<i64>()) {
        let text: String = parts.concat();
        let report = RuleSet::from_yaml(&[("fuzz", &text)], &LoadOptions::default());
        // Errors name their origin and say why.
        for e in &report.errors {
            prop_assert!(!e.reason.is_empty());
            prop_assert_eq!(&*e.origin, "fuzz");
        }
        let mut out = Vec::new();
        report.ruleset.matches(&event(a, n), &mut out);
        prop_assert!(out.len() <= report.ruleset.len());
    }

    #[test]
    fn random_values_compile_or_reject(v in "\\PC{0,40}", m in prop_oneof![
        Just(""), Just("|contains"), Just("|re"), Just("|cidr"), Just("|base64offset|contains"),
        Just("|utf16le|base64"), Just("|windash"), Just("|gt"), Just("|fieldref"), Just("|exists")
    ]) {
        let yaml = format!("title: t\nlogsource:\n  product: test\ndetection:\n  sel:\n    A{m}: {}\n  condition: sel\n", serde_json::to_string(&v).unwrap_or_default());
        let report = RuleSet::from_yaml(&[("v", &yaml)], &LoadOptions::default());
        prop_assert_eq!(report.compiled + report.errors.len(), 1);
        let mut out = Vec::new();
        report.ruleset.matches(&event(v.clone(), 1), &mut out);
    }
}
