//! Replays the committed `sigma_rule` fuzz seeds (`fuzz/corpus-seed/sigma_rule/`)
//! through the entry point `fuzz/fuzz_targets/sigma_rule.rs` calls
//! (`kahu_sigma::fuzzing::sigma_rule`: parse, compile, evaluate against an
//! event built from the same bytes, build findings), so every `cargo test`
//! re-checks them without cargo-fuzz.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_sigma::fuzzing::{SigmaRuleOutcome, sigma_rule};
use kahu_test_support::{replay_fuzz_seeds, seed_result};

fn outcome<'a>(all: &'a [(String, Option<SigmaRuleOutcome>)], name: &str) -> &'a SigmaRuleOutcome {
    seed_result(all, name)
        .as_ref()
        .unwrap_or_else(|| panic!("seed {name} is not UTF-8"))
}

#[test]
fn sigma_rule_seeds() {
    let all = replay_fuzz_seeds("sigma_rule", sigma_rule);

    // Expected values come from the seed texts written by fuzz/make-seeds.py.
    let own = outcome(&all, "matches-own-text.yml");
    assert_eq!(own.report.compiled, 1, "{:?}", own.report.errors);
    assert_eq!(
        own.matched, 1,
        "the rule names the event's Image and its own text"
    );

    let basic = outcome(&all, "basic.yml");
    assert_eq!(basic.report.compiled, 1, "{:?}", basic.report.errors);
    assert_eq!(basic.matched, 0, "whoami.exe is not the event's Image");

    assert_eq!(outcome(&all, "multi-doc.yml").report.compiled, 2);
    assert_eq!(
        outcome(&all, "correlation.yml").report.correlations.len(),
        1
    );
    assert_eq!(outcome(&all, "filter.yml").report.filters.len(), 1);

    // Broken rules are rejected with a reason, never compiled.
    for bad in [
        "bad-condition.yml",
        "undefined-ident.yml",
        "bad-regex.yml",
        "unknown-modifier.yml",
        "not-a-map.yml",
    ] {
        let o = outcome(&all, bad);
        assert_eq!(o.report.compiled, 0, "{bad} compiled");
        assert!(!o.report.errors.is_empty(), "{bad}: no error reported");
    }
}
