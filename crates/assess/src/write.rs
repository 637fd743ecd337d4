//! Writing the outputs of an assessment into its directory.

use crate::assemble::Built;
use kahu_finding::Finding;
use kahu_reconstruct::AnalyticsReport;
use kahu_report::{DirSink, OutputSink};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What [`write_outputs`] writes into the output folder (and `case.sqlite`
/// beside them when the case is stored).
pub const OUTPUT_NAMES: &[&str] = &[
    "report.html",
    "assessment.json",
    "assessment.schema.json",
    "stix-bundle.json",
    "navigator-layer.json",
    "attribution.json",
    "analytics.json",
    "findings.jsonl",
    "containment",
    "case.sqlite",
];

/// The rule file each Sigma rule id was loaded from (as `kahu rules show`
/// names it: a path, or `rules/FILE.yml` for kahu's bundled rules), for the
/// timeline's `rule_file` column, as Hayabusa's verbose profile has one.
/// A rule id loaded from two files names the first.
#[derive(Debug, Default)]
pub struct RuleFiles(std::collections::HashMap<String, String>);

impl RuleFiles {
    /// From the rule sets of a run.
    pub fn of(sets: &[&kahu_sigma::RuleSet]) -> Self {
        let mut m = std::collections::HashMap::new();
        for set in sets {
            for (_, r) in set.rules() {
                m.entry(r.id.to_string())
                    .or_insert_with(|| r.origin.to_string());
            }
        }
        RuleFiles(m)
    }

    /// One finding as a JSON line: as `kahu attribute --findings` reads
    /// it, plus `rule_file` when its rule was loaded from a file.
    pub fn write_finding<W: Write>(&self, mut w: W, f: &Finding) -> std::io::Result<()> {
        let file = self.of_finding(f);
        if file.is_empty() {
            serde_json::to_writer(&mut w, f)?;
        } else {
            let mut v = serde_json::to_value(f)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("rule_file".into(), file.into());
            }
            serde_json::to_writer(&mut w, &v)?;
        }
        w.write_all(b"\n")
    }

    /// The file of a finding's rule; empty for indicators, YARA and rules
    /// not loaded from a file.
    pub fn of_finding(&self, f: &Finding) -> &str {
        match f.kind {
            kahu_finding::FindingKind::Sigma => self.0.get(&*f.rule_id).map_or("", String::as_str),
            _ => "",
        }
    }
}

/// The `rules` case document: for each Sigma rule that produced a finding,
/// what an analyst needs to judge the rule (title, file, level, status,
/// author, description, references, false positives, tags), keyed by rule
/// id. `kahu serve` shows it when a rule id is opened; the rule's full text
/// stays with `kahu rules show ID`.
pub fn rules_document(sets: &[&kahu_sigma::RuleSet], findings: &[Finding]) -> serde_json::Value {
    let fired: std::collections::HashSet<&str> = findings
        .iter()
        .filter(|f| f.kind == kahu_finding::FindingKind::Sigma)
        .map(|f| &*f.rule_id)
        .collect();
    let mut doc = serde_json::Map::new();
    for set in sets {
        for (_, r) in set.rules() {
            if !fired.contains(&*r.id) || doc.contains_key(&*r.id) {
                continue;
            }
            doc.insert(
                r.id.to_string(),
                serde_json::json!({
                    "title": &*r.title,
                    "file": &*r.origin,
                    "level": r.level.as_str(),
                    "status": r.status.map(|s| s.as_str()),
                    "author": r.author,
                    "description": r.description,
                    "references": r.references,
                    "falsepositives": r.falsepositives,
                    "tags": r.tags.iter().map(|t| &**t).collect::<Vec<_>>(),
                }),
            );
        }
    }
    serde_json::Value::Object(doc)
}

/// Write `report.html`, `assessment.json`, `assessment.schema.json`,
/// `stix-bundle.json`, `navigator-layer.json`, `attribution.json`,
/// `analytics.json`, `findings.jsonl` and `containment/` into `dir`.
/// Returns the top-level outputs written (the containment folder once).
pub fn write_outputs(
    dir: &Path,
    built: &Built,
    findings: &[Finding],
    analytics: &AnalyticsReport,
    rule_files: &RuleFiles,
) -> std::io::Result<Vec<PathBuf>> {
    let mut sink = DirSink::new(dir)?;
    write_products(&mut sink, built, findings, analytics, rule_files)?;
    let mut written: Vec<PathBuf> = Vec::new();
    for p in sink.written() {
        let top = match p.strip_prefix(dir).ok().and_then(|r| r.iter().next()) {
            Some(first) => dir.join(first),
            None => p.clone(),
        };
        if !written.contains(&top) {
            written.push(top);
        }
    }
    Ok(written)
}

/// Write the assessment's products ([`OUTPUT_NAMES`] but the case store)
/// through `sink`, by name.
pub fn write_products(
    sink: &mut dyn OutputSink,
    built: &Built,
    findings: &[Finding],
    analytics: &AnalyticsReport,
    rule_files: &RuleFiles,
) -> std::io::Result<()> {
    sink.put(
        "report.html",
        kahu_report::html::render_with(
            &built.assessment,
            &crate::report_view::report_analytics(analytics, findings),
        )
        .map_err(std::io::Error::other)?
        .as_bytes(),
    )?;
    sink.put(
        "assessment.json",
        &serde_json::to_vec_pretty(&built.assessment)?,
    )?;
    sink.put(
        "assessment.schema.json",
        &serde_json::to_vec_pretty(&kahu_report::Assessment::json_schema())?,
    )?;
    sink.put("stix-bundle.json", &serde_json::to_vec_pretty(&built.stix)?)?;
    sink.put(
        "navigator-layer.json",
        &serde_json::to_vec_pretty(&built.layer)?,
    )?;
    sink.put(
        "attribution.json",
        &serde_json::to_vec_pretty(&built.attribution)?,
    )?;
    sink.put("analytics.json", &serde_json::to_vec_pretty(analytics)?)?;
    let mut w = sink.create("findings.jsonl")?;
    for f in findings {
        rule_files.write_finding(&mut w, f)?;
    }
    w.flush()?;
    built.assessment.containment.write_to(sink, "containment/")
}
