//! Bad correlation documents and references are rejected with the file,
//! the rule and the construct at fault.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;
use common::*;
use kahu_correlation::CorrelationSet;
use kahu_sigma::{LoadOptions, RuleSet};

fn parse_err(doc: &str) -> String {
    let set = CorrelationSet::from_yaml(&[("bad.yml", doc)]);
    assert_eq!(set.errors.len(), 1, "{doc}\n{:?}", set.errors);
    set.errors[0].to_string()
}

const HEAD: &str = "title: t\nid: cid\ncorrelation:\n";

#[test]
fn malformed_documents_name_the_construct() {
    let cases = [
        (
            "  type: event_count\n  rules: [a]\n  timespan: 1h\n",
            "correlation.condition",
            "mandatory",
        ),
        (
            "  type: event_count\n  rules: [a]\n  timespan: 1x\n  condition: {gte: 1}\n",
            "correlation.timespan",
            "unit",
        ),
        (
            "  type: frequency\n  rules: [a]\n  timespan: 1h\n",
            "correlation.type",
            "unknown type",
        ),
        (
            "  type: value_count\n  rules: [a]\n  timespan: 1h\n  condition: {gte: 1}\n",
            "correlation.condition.field",
            "mandatory",
        ),
        (
            "  type: event_count\n  rules: [a]\n  timespan: 1h\n  condition: {gte: many}\n",
            "correlation.condition.gte",
            "number",
        ),
        (
            "  type: event_count\n  rules: [a]\n  timespan: 1h\n  condition: {above: 1}\n",
            "correlation.condition.above",
            "unknown condition",
        ),
        (
            "  type: temporal\n  rules: [a]\n  timespan: 1h\n",
            "correlation.rules",
            "at least two",
        ),
        (
            "  type: event_count\n  rules: [a, a]\n  timespan: 1h\n  condition: {gte: 1}\n",
            "correlation.rules",
            "twice",
        ),
        (
            "  type: event_count\n  timespan: 1h\n  condition: {gte: 1}\n",
            "correlation.rules",
            "mandatory",
        ),
        (
            "  type: event_count\n  rules: [a]\n  timespan: 1h\n  condition: {gte: 1}\n  generate: maybe\n",
            "correlation.generate",
            "true or false",
        ),
    ];
    for (body, construct, reason) in cases {
        let e = parse_err(&format!("{HEAD}{body}"));
        assert!(e.starts_with("bad.yml (document 1) [cid]"), "{e}");
        assert!(e.contains(&format!("`{construct}`")), "{e}");
        assert!(e.contains(reason), "{e}");
    }
}

fn bind_errs(yaml: &str) -> Vec<String> {
    let report = RuleSet::from_yaml(&[("r.yml", yaml)], &LoadOptions::default());
    let set = CorrelationSet::from_yaml(&[("r.yml", yaml)]);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    match set.bind(&report.ruleset) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn unresolved_references_cycles_and_bad_aliases() {
    let r = rule("known", "k");
    let e = bind_errs(&format!(
        "{r}---\ntitle: c\nid: c1\ncorrelation:\n  type: event_count\n  rules: [known, missing_rule]\n  group-by: [User]\n  timespan: 1h\n  condition: {{gte: 2}}\n"
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("[c1]")
            && e[0].contains("correlation.rules[1]")
            && e[0].contains("`missing_rule`"),
        "{}",
        e[0]
    );

    let e = bind_errs(&format!(
        "{r}---\ntitle: x\nname: x\ncorrelation:\n  type: temporal\n  rules: [known, y]\n  timespan: 1h\n---\ntitle: y\nname: y\ncorrelation:\n  type: temporal\n  rules: [known, x]\n  timespan: 1h\n"
    ));
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e.iter().all(|m| m.contains("cyclic")));

    let e = bind_errs(&format!(
        "{r}---\ntitle: c\nid: c2\ncorrelation:\n  type: event_count\n  rules: [known]\n  group-by: [ip]\n  timespan: 1h\n  condition: {{gte: 2}}\n  aliases:\n    ip:\n      other_rule: src\n"
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("correlation.aliases.ip.other_rule"),
        "{}",
        e[0]
    );

    let e = bind_errs(&format!(
        "{r}---\ntitle: c\nname: dup\ncorrelation:\n  type: event_count\n  rules: [known]\n  timespan: 1h\n  condition: {{gte: 2}}\n---\ntitle: d\nname: dup\ncorrelation:\n  type: event_count\n  rules: [known]\n  timespan: 1h\n  condition: {{gte: 2}}\n"
    ));
    assert!(e.iter().any(|m| m.contains("`dup` is also")), "{e:?}");
}

#[test]
fn rules_filtered_out_by_level_are_reported_unresolved() {
    let yaml = format!(
        "{}---\ntitle: c\nid: c3\ncorrelation:\n  type: event_count\n  rules: [known]\n  timespan: 1h\n  condition: {{gte: 2}}\n",
        rule("known", "k")
    );
    let opts = LoadOptions {
        min_level: kahu_finding::Level::High,
        ..Default::default()
    };
    let report = RuleSet::from_yaml(&[("r.yml", &yaml)], &opts);
    let set = CorrelationSet::from_yaml(&[("r.yml", &yaml)]);
    let e = set.bind(&report.ruleset).unwrap_err();
    assert!(e[0].reason.contains("filtered"), "{}", e[0]);
}

#[test]
fn correlations_handed_over_by_the_sigma_loader_bind_too() {
    let yaml = format!(
        "{}---\ntitle: c\nid: c4\ncorrelation:\n  type: event_count\n  rules: [known]\n  timespan: 1h\n  condition: {{gte: 2}}\n",
        rule("known", "k")
    );
    let report = RuleSet::from_yaml(&[("r.yml", &yaml)], &LoadOptions::default());
    let set = CorrelationSet::from_rules(&report.correlations);
    assert_eq!(set.len(), 1);
    let b = set.bind(&report.ruleset).unwrap();
    assert!(b.wants(report.ruleset.find("known").unwrap()));
}

#[test]
fn one_bad_correlation_costs_only_itself_and_what_references_it() {
    // Binding is all or nothing: an unresolved reference in one
    // correlation used to drop every correlation of the run.
    let yaml = format!(
        "{}---\ntitle: good\nid: good\ncorrelation:\n  type: event_count\n  rules: [known]\n  timespan: 1h\n  condition: {{gte: 2}}\n---\ntitle: bad\nname: bad\nid: bad\ncorrelation:\n  type: event_count\n  rules: [missing_rule]\n  timespan: 1h\n  condition: {{gte: 2}}\n---\ntitle: on bad\nid: on_bad\ncorrelation:\n  type: temporal\n  rules: [known, bad]\n  timespan: 1h\n",
        rule("known", "k")
    );
    let report = RuleSet::from_yaml(&[("r.yml", &yaml)], &LoadOptions::default());
    let set = CorrelationSet::from_yaml(&[("r.yml", &yaml)]);
    assert!(set.bind(&report.ruleset).is_err());
    let (bound, errors) = set.bind_usable(&report.ruleset);
    let bound = bound.expect("the good correlation is kept");
    let ids: Vec<String> = bound
        .correlations()
        .iter()
        .map(|c| c.def.rule_id().to_string())
        .collect();
    assert_eq!(ids, ["good"]);
    let msgs: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("[bad]") && m.contains("`missing_rule`")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("[on_bad]") && m.contains("`bad`")),
        "{msgs:?}"
    );
}
