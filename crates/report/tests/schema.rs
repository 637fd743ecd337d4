//! `assessment.json` has a documented JSON Schema, committed at
//! `crates/report/assessment.schema.json`. This test keeps the committed file
//! in step with the types (run with `KAHU_BLESS=1` to rewrite it after a
//! deliberate change, and bump `SCHEMA_VERSION`).
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_report::Assessment;

#[test]
fn committed_schema_matches_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assessment.schema.json");
    let mut generated = Assessment::json_schema();
    generated["$id"] = serde_json::json!(format!(
        "https://kahu.invalid/schema/assessment-{}.json",
        kahu_report::SCHEMA_VERSION
    ));
    let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
    if std::env::var_os("KAHU_BLESS").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == text,
        "assessment.schema.json is out of date; regenerate with KAHU_BLESS=1 cargo test -p kahu-report --test schema"
    );
    assert!(text.contains("\"schema_version\""));
}
