//! Every bundled rule parses and compiles with kahu's Sigma engine, and
//! carries the metadata the project requires.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_sigma::{LoadOptions, RuleSet};

#[test]
fn every_bundled_rule_compiles() {
    let rules = kahu_demo::bundled_rules();
    assert!(rules.len() >= 30, "only {} rules", rules.len());
    let report = RuleSet::from_yaml(rules, &LoadOptions::default());
    for e in &report.errors {
        eprintln!("rule error: {e}");
    }
    assert!(
        report.errors.is_empty(),
        "{} rules failed",
        report.errors.len()
    );
    // Files may hold a detection rule and the correlations built on it.
    assert_eq!(report.compiled, report.parsed, "every rule compiled");
    assert!(report.compiled >= rules.len(), "a detection rule per file");
}

#[test]
fn bundled_rules_carry_required_metadata() {
    let mut ids = std::collections::BTreeSet::new();
    for (name, yaml) in kahu_demo::bundled_rules() {
        for key in [
            "title:",
            "id:",
            "status:",
            "description:",
            "author: kahu project",
            "date:",
            "tags:",
            "logsource:",
            "detection:",
            "falsepositives:",
            "level:",
        ] {
            assert!(yaml.contains(key), "{name}: missing {key}");
        }
        let id = yaml
            .lines()
            .find_map(|l| l.strip_prefix("id: "))
            .expect("id line");
        assert_eq!(id.len(), 36, "{name}: id is not a UUID");
        assert!(ids.insert(id.to_string()), "{name}: duplicate id");
        let tags: Vec<&str> = yaml
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- attack."))
            .collect();
        assert!(
            tags.iter()
                .any(|t| t.starts_with('t') && t[1..2].chars().all(|c| c.is_ascii_digit())),
            "{name}: no technique tag"
        );
        assert!(
            tags.iter().any(|t| !t.chars().any(|c| c.is_ascii_digit())),
            "{name}: no tactic tag"
        );
    }
}
