//! Writing the outputs of an assessment into its directory.

use crate::assemble::Built;
use kahu_finding::Finding;
use kahu_reconstruct::AnalyticsReport;
use kahu_report::safe::{create_output_file, write_output_file};
use std::io::{BufWriter, Write};
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

/// Write `report.html`, `assessment.json`, `assessment.schema.json`,
/// `stix-bundle.json`, `navigator-layer.json`, `attribution.json`,
/// `analytics.json`, `findings.jsonl` and `containment/` into `dir`.
pub fn write_outputs(
    dir: &Path,
    built: &Built,
    findings: &[Finding],
    analytics: &AnalyticsReport,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut put = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let p = dir.join(name);
        write_output_file(&p, bytes)?;
        written.push(p);
        Ok(())
    };
    put(
        "report.html",
        kahu_report::html::render_with(
            &built.assessment,
            &crate::report_view::report_analytics(analytics, findings),
        )
        .map_err(std::io::Error::other)?
        .as_bytes(),
    )?;
    put(
        "assessment.json",
        &serde_json::to_vec_pretty(&built.assessment)?,
    )?;
    put(
        "assessment.schema.json",
        &serde_json::to_vec_pretty(&kahu_report::Assessment::json_schema())?,
    )?;
    put("stix-bundle.json", &serde_json::to_vec_pretty(&built.stix)?)?;
    put(
        "navigator-layer.json",
        &serde_json::to_vec_pretty(&built.layer)?,
    )?;
    put(
        "attribution.json",
        &serde_json::to_vec_pretty(&built.attribution)?,
    )?;
    put("analytics.json", &serde_json::to_vec_pretty(analytics)?)?;
    {
        let p = dir.join("findings.jsonl");
        let mut w = BufWriter::new(create_output_file(&p)?);
        for f in findings {
            serde_json::to_writer(&mut w, f)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        written.push(p);
    }
    let c = dir.join("containment");
    built.assessment.containment.write(&c)?;
    written.push(c);
    Ok(written)
}
