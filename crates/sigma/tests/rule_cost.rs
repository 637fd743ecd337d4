//! Rule cost: a rule whose regular expressions would take gigabytes to
//! compile is rejected with its reason before compiling, and the rest of
//! the set still loads. Hostile rules are generated here.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_sigma::{LoadOptions, MAX_REGEX_PER_RULE, MAX_REGEX_TOTAL, RuleSet};

fn rule(id: u32, regexes: usize) -> String {
    let mut y = format!(
        "title: Regex rule {id}\nid: 00000000-0000-4000-8000-{id:012}\nlevel: high\n\
         logsource:\n    product: windows\n    category: process_creation\n\
         detection:\n    selection:\n        CommandLine|re:\n"
    );
    for i in 0..regexes {
        y.push_str(&format!("            - 'evil{id}x{i}[a-z]+\\d{{2,8}}'\n"));
    }
    y.push_str("    condition: selection\n");
    y
}

#[test]
fn a_rule_with_50000_regexes_is_rejected_before_compiling_and_the_rest_load() {
    let hostile = rule(1, 50_000);
    let fine = rule(2, 3);
    let report = RuleSet::from_yaml(
        &[("hostile.yml", &hostile), ("fine.yml", &fine)],
        &LoadOptions::default(),
    );
    assert_eq!(report.compiled, 1, "{:?}", report.errors);
    assert_eq!(report.errors.len(), 1);
    let e = &report.errors[0];
    assert_eq!(&*e.origin, "hostile.yml");
    assert!(
        e.reason.contains(&format!(
            "more than {MAX_REGEX_PER_RULE} regular expressions"
        )),
        "{e}"
    );
    assert_eq!(e.construct, "detection.selection.CommandLine|re");
}

#[test]
fn regexes_of_the_whole_set_are_capped_in_load_order() {
    let per = MAX_REGEX_PER_RULE;
    let fit = MAX_REGEX_TOTAL / per;
    let texts: Vec<(String, String)> = (0..fit as u32 + 2)
        .map(|i| (format!("r{i:03}.yml"), rule(i + 10, per)))
        .collect();
    let docs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let report = RuleSet::from_yaml(&docs, &LoadOptions::default());
    assert_eq!(report.compiled, fit, "{:?}", report.errors);
    assert_eq!(report.errors.len(), 2);
    assert!(
        report.errors[0]
            .reason
            .contains("for all rules loaded together")
    );
    assert_eq!(&*report.errors[0].origin, format!("r{fit:03}.yml"));
}
