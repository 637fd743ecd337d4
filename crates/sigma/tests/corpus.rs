//! Conformance: every SigmaHQ rule file under `../shared/sigma/rules*` is
//! parsed; each rule compiles or is rejected with a precise reason.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_sigma::corpus;
use std::path::PathBuf;

fn rule_dirs() -> Option<Vec<PathBuf>> {
    let base = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/sigma"
    ));
    let base = std::env::var_os("KAHU_SHARED")
        .map(|p| PathBuf::from(p).join("sigma"))
        .unwrap_or(base);
    if !base.is_dir() {
        eprintln!("SKIP: Sigma rule corpus not found at {}", base.display());
        return None;
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&base)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("rules"))
        })
        .collect();
    dirs.sort();
    Some(dirs)
}

#[test]
fn corpus_compiles() {
    let Some(dirs) = rule_dirs() else { return };
    let report = corpus::check(&dirs);
    println!("{}", corpus::render(&report));
    assert!(
        report.files > 3000,
        "expected the full corpus, found {} files",
        report.files
    );
    // Every rejection names its file and a reason.
    for e in &report.errors {
        assert!(
            !e.origin.is_empty() && !e.reason.is_empty(),
            "imprecise error: {e:?}"
        );
    }
    let rate = report.compiled as f64 / report.parsed as f64;
    assert!(rate >= 0.99, "only {:.2}% of rules compiled", rate * 100.0);
}
