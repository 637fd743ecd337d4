//! Replays the committed `sigma_rule` fuzz seeds (`fuzz/corpus-seed/sigma_rule/`)
//! through the same code path as `fuzz/fuzz_targets/sigma_rule.rs` (parse,
//! compile, evaluate against an event built from the same bytes, build
//! findings), so every `cargo test` re-checks them without cargo-fuzz.

use kahu_event::{Event, Location, LogSource, Provenance, Value};
use kahu_sigma::{LoadOptions, LoadReport, RuleSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus-seed/sigma_rule")
}

/// What one seed produced.
struct Outcome {
    report: LoadReport,
    matched: usize,
}

/// Mirror of the fuzz target body; keep the two in step.
fn run(data: &[u8]) -> Option<Outcome> {
    let text = std::str::from_utf8(data).ok()?;
    let report = RuleSet::from_yaml(&[("fuzz", text)], &LoadOptions::default());
    let mut e = Event::new(Provenance::new("fuzz".into(), Location::Line(1)));
    // A Sysmon process creation, so Windows rules are routed to it and
    // evaluated, not just parsed.
    e.logsource = LogSource::product("windows");
    e.channel = Some("Microsoft-Windows-Sysmon/Operational".into());
    e.event_id = Some(1);
    e.fields.insert("CommandLine", Value::from(text));
    e.fields
        .insert("Image", Value::from("C:\\Windows\\System32\\cmd.exe"));
    let mut out = Vec::new();
    report.ruleset.matches(&e, &mut out);
    for &idx in &out {
        let _ = report.ruleset.finding(idx, &e);
    }
    Some(Outcome {
        report,
        matched: out.len(),
    })
}

fn replay() -> Vec<(String, Option<Outcome>)> {
    let dir = seed_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {} missing: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "only {} seeds in {}",
        files.len(),
        dir.display()
    );
    let mut panicked = Vec::new();
    let mut out = Vec::new();
    for p in files {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&p).unwrap();
        assert!(data.len() < 4096, "{name}: seeds must stay < 4 KiB");
        match catch_unwind(AssertUnwindSafe(|| run(&data))) {
            Ok(o) => out.push((name, o)),
            Err(_) => panicked.push(name),
        }
    }
    assert!(panicked.is_empty(), "sigma_rule: panicked on {panicked:?}");
    out
}

fn outcome<'a>(all: &'a [(String, Option<Outcome>)], name: &str) -> &'a Outcome {
    all.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("seed {name} missing"))
        .1
        .as_ref()
        .unwrap_or_else(|| panic!("seed {name} is not UTF-8"))
}

#[test]
fn sigma_rule_seeds() {
    let all = replay();

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
