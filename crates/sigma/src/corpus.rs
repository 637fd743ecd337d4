//! Rule-corpus report: which rules load and why the others do not, for
//! `kahu rules check` and the conformance test.

use crate::{LoadOptions, LoadReport, RuleSet};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Load every rule under `paths` with all statuses and levels included, so
/// the report covers the whole corpus.
pub fn check(paths: &[PathBuf]) -> LoadReport {
    RuleSet::load(paths, &check_options())
}

/// The options [`check`] uses: every status, every level, no placeholders.
pub fn check_options() -> LoadOptions {
    LoadOptions {
        statuses: vec![
            crate::Status::Stable,
            crate::Status::Test,
            crate::Status::Experimental,
            crate::Status::Deprecated,
            crate::Status::Unsupported,
        ],
        ..LoadOptions::default()
    }
}

/// Human-readable summary: counts, compile rate, then each rejection.
pub fn render(report: &LoadReport) -> String {
    let mut s = String::new();
    let rate = if report.parsed == 0 {
        0.0
    } else {
        100.0 * report.compiled as f64 / report.parsed as f64
    };
    let _ = writeln!(
        s,
        "{} files, {} detection rules parsed, {} compiled ({rate:.2}%), {} skipped, {} correlation rules deferred, {} filters, {} errors",
        report.files,
        report.parsed,
        report.compiled,
        report.skipped,
        report.correlations.len(),
        report.filters.len(),
        report.errors.len()
    );
    for e in &report.errors {
        let _ = writeln!(s, "  rejected: {e}");
    }
    for n in &report.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    s
}
