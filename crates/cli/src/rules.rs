//! Loading rule sets: user-given Sigma rules, or kahu's bundled set.

use anyhow::Result;
use kahu_sigma::{LoadOptions, LoadReport, RuleSet};
use std::path::PathBuf;

/// Load rules from the given paths, or the bundled set when none are given.
/// Fails when a path does not exist or nothing compiles.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Result<LoadReport> {
    for p in paths {
        if !p.exists() {
            anyhow::bail!("rule path {} does not exist", p.display());
        }
    }
    let report = if paths.is_empty() {
        RuleSet::from_yaml(kahu_demo::bundled_rules(), opts)
    } else {
        RuleSet::load(paths, opts)
    };
    if report.ruleset.is_empty() {
        anyhow::bail!(
            "no usable Sigma rules in {} ({} rejected, {} skipped by --min-level or status, {} excluded by tuning{})",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            report.errors.len(),
            report.skipped,
            report.excluded,
            report
                .errors
                .first()
                .map(|e| format!("; first: {e}"))
                .unwrap_or_default()
        );
    }
    Ok(report)
}

/// Parse `NAME=VALUE` placeholder arguments (`%NAME%` in rules using
/// `|expand`); repeated names collect several values.
pub fn placeholders(args: &[String]) -> Result<std::collections::HashMap<String, Vec<String>>> {
    let mut map: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for a in args {
        let Some((name, value)) = a.split_once('=') else {
            anyhow::bail!("placeholder `{a}` is not NAME=VALUE");
        };
        let name = name.trim().trim_matches('%');
        if name.is_empty() {
            anyhow::bail!("placeholder `{a}` has an empty name");
        }
        map.entry(name.to_string())
            .or_default()
            .push(value.to_string());
    }
    Ok(map)
}
