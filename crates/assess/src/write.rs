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

/// A rule file as the report names it: relative to the rule folder it
/// was loaded from (the longest of `roots` that holds it), the file name
/// for a rule file given on its own, kahu's `rules/NAME.yml` for a bundled
/// rule, else the path as loaded.
pub fn relative_rule_file(origin: &str, roots: &[PathBuf]) -> String {
    let path = Path::new(origin);
    roots
        .iter()
        .filter_map(|r| {
            if path == r.as_path() {
                return path.file_name().map(|n| (usize::MAX, Path::new(n)));
            }
            path.strip_prefix(r)
                .ok()
                .map(|rel| (r.as_os_str().len(), rel))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| origin.to_string(), |(_, rel)| rel.display().to_string())
}

/// A rule's text: the bundled YAML for kahu's own rules, else the file it
/// was loaded from, read again (at most 1 MiB: it is only shown); `None`
/// when it cannot be read.
pub fn rule_text(origin: &str) -> Option<String> {
    if let Some((_, yaml)) = kahu_demo::bundled_rules()
        .iter()
        .find(|(name, _)| **name == *origin)
    {
        return Some(yaml.to_string());
    }
    // A regular file only: opening a FIFO put in the rule's place since
    // it was loaded would wait for a writer.
    if !std::fs::metadata(origin).ok()?.is_file() {
        return None;
    }
    let file = std::fs::File::open(origin).ok()?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, 1 << 20), &mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The YAML document of a rule file `text` whose top-level `id` is `id`. A
/// file may hold several rules separated by `---`; the whole file as the
/// text of each put other rules' conditions under its name (a STIX
/// indicator named for one rule deployed another first). A correlation
/// rule keeps its file, whose rules it refers to; so does a file with one
/// document, or none with that id.
pub fn rule_document(text: &str, id: &str) -> String {
    let mut docs: Vec<String> = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else if let Some(d) = docs.last_mut() {
            d.push_str(line);
        }
    }
    docs.retain(|d| !d.trim().is_empty());
    if docs.len() < 2 {
        return text.to_string();
    }
    let top = |d: &str, key: &str| -> Option<String> {
        d.lines().find_map(|l| {
            let v = l.strip_prefix(key)?.strip_prefix(':')?;
            let v = v.split(" #").next().unwrap_or(v).trim();
            Some(v.trim_matches(['"', '\'']).to_string())
        })
    };
    match docs.iter().find(|d| top(d, "id").as_deref() == Some(id)) {
        Some(d) if top(d, "correlation").is_none() => d.clone(),
        _ => text.to_string(),
    }
}

/// The Sigma detection and correlation rules that produced a finding, each
/// once (the first set holding its id wins, as for [`RuleFiles`]), with
/// file and text.
pub struct FiredRules {
    /// Per rule: its id, what the case document says of it, its text.
    rules: Vec<(String, serde_json::Value, kahu_report::html::RuleText)>,
}

impl FiredRules {
    /// The detection rules of `sets` and the correlation rules in
    /// `correlations` that `findings` name, detection rules first in the
    /// sets' order; files named relative to `roots` (see
    /// [`relative_rule_file`]).
    pub fn of(
        sets: &[&kahu_sigma::RuleSet],
        correlations: &[&kahu_correlation::Correlation],
        findings: &[Finding],
        roots: &[PathBuf],
    ) -> Self {
        use kahu_finding::FindingKind;
        let fired = |kind: FindingKind| -> std::collections::HashSet<&str> {
            findings
                .iter()
                .filter(|f| f.kind == kind)
                .map(|f| &*f.rule_id)
                .collect()
        };
        let (sigma, correlated) = (fired(FindingKind::Sigma), fired(FindingKind::Correlation));
        let mut seen = std::collections::HashSet::new();
        let mut rules = Vec::new();
        let text_of = |id: &str, title: &str, origin: &str| {
            kahu_report::html::RuleText {
                id: id.to_string(),
                title: title.to_string(),
                file: relative_rule_file(origin, roots),
                ..Default::default()
            }
            .with_text(&rule_document(&rule_text(origin).unwrap_or_default(), id))
        };
        for set in sets {
            for (_, r) in set.rules() {
                if !sigma.contains(&*r.id) || !seen.insert(r.id.to_string()) {
                    continue;
                }
                let view = text_of(&r.id, &r.title, &r.origin);
                let meta = serde_json::json!({
                    "kind": "detection",
                    "title": &*r.title,
                    "file": &*r.origin,
                    "relative_file": view.file,
                    "level": r.level.as_str(),
                    "status": r.status.map(|s| s.as_str()),
                    "author": r.author,
                    "description": r.description,
                    "references": r.references,
                    "falsepositives": r.falsepositives,
                    "tags": r.tags.iter().map(|t| &**t).collect::<Vec<_>>(),
                });
                rules.push((r.id.to_string(), meta, view));
            }
        }
        // Correlation findings carry the correlation's id (else name, else
        // title): the rule an analyst must read to judge them.
        for c in correlations {
            let id = c.rule_id();
            if !correlated.contains(&*id) || !seen.insert(id.to_string()) {
                continue;
            }
            let view = text_of(&id, &c.title, &c.origin);
            let meta = serde_json::json!({
                "kind": "correlation",
                "title": &*c.title,
                "file": &*c.origin,
                "relative_file": view.file,
                "level": c.level.map(|l| l.as_str()),
                "tags": c.tags.iter().map(|t| &**t).collect::<Vec<_>>(),
            });
            rules.push((id.to_string(), meta, view));
        }
        FiredRules { rules }
    }

    /// File and text of each rule, for the report's appendix.
    pub fn report(&self) -> Vec<kahu_report::html::RuleText> {
        self.rules.iter().map(|(_, _, v)| v.clone()).collect()
    }

    /// The `rules` case document: for each rule, keyed by rule id, what an
    /// analyst needs to judge it (kind, title, file, level, status, author,
    /// description, references, false positives, tags — those a
    /// correlation rule has) and its text (cut as the report cuts it:
    /// `text_cut_bytes` says how much is missing). `kahu serve` shows it
    /// when a rule id is opened. Each rule is stored once, however many
    /// findings it made.
    pub fn document(&self) -> serde_json::Value {
        let mut doc = serde_json::Map::new();
        for (id, meta, v) in &self.rules {
            let mut entry = meta.clone();
            if let Some(o) = entry.as_object_mut() {
                o.insert("text".into(), v.text.clone().into());
                o.insert("text_cut_bytes".into(), v.cut_bytes.into());
            }
            doc.insert(id.clone(), entry);
        }
        serde_json::Value::Object(doc)
    }
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
    fired: &FiredRules,
) -> std::io::Result<Vec<PathBuf>> {
    let mut sink = DirSink::new(dir)?;
    write_products(&mut sink, built, findings, analytics, rule_files, fired)?;
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
    fired: &FiredRules,
) -> std::io::Result<()> {
    sink.put(
        "report.html",
        kahu_report::html::render_with(
            &built.assessment,
            &kahu_report::charts::ReportAnalytics {
                rules: fired.report(),
                ..crate::report_view::report_analytics(analytics, findings)
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_files_are_named_relative_to_the_longest_root_holding_them() {
        let roots = [
            PathBuf::from("../shared/sigma/rules"),
            PathBuf::from("../shared/sigma/rules/windows"),
            PathBuf::from("/tmp/one-rule.yml"),
        ];
        for (origin, want) in [
            (
                "../shared/sigma/rules/windows/builtin/x.yml",
                "builtin/x.yml",
            ),
            ("../shared/sigma/rules/linux/y.yml", "linux/y.yml"),
            ("/tmp/one-rule.yml", "one-rule.yml"),
            // Bundled rules and paths under no root keep their name.
            ("rules/win_security_x.yml", "rules/win_security_x.yml"),
            ("/elsewhere/z.yml", "/elsewhere/z.yml"),
            // A root is a folder prefix by components, not by characters.
            (
                "../shared/sigma/rules-emerging/a.yml",
                "../shared/sigma/rules-emerging/a.yml",
            ),
        ] {
            assert_eq!(relative_rule_file(origin, &roots), want, "{origin}");
        }
    }

    #[test]
    fn each_rule_of_a_multi_rule_file_gets_its_own_document() {
        // kahu's bundled files hold several rules each; the STIX indicator
        // and the appendix of one rule carried all of them.
        let mut multi = 0;
        for (name, yaml) in kahu_demo::bundled_rules() {
            let ids: Vec<&str> = yaml
                .lines()
                .filter_map(|l| l.strip_prefix("id: "))
                .map(str::trim)
                .collect();
            if ids.len() < 2 || yaml.contains("\ncorrelation:") {
                continue;
            }
            multi += 1;
            for id in &ids {
                let doc = rule_document(yaml, id);
                let top: Vec<&str> = doc
                    .lines()
                    .filter_map(|l| l.strip_prefix("id: "))
                    .map(str::trim)
                    .collect();
                assert_eq!(top, [*id], "{name}: {id}");
            }
        }
        assert!(multi > 0, "the bundle has multi-rule files");
        // One document, or an id no document has: the text as it is.
        assert_eq!(rule_document("title: t\nid: a\n", "a"), "title: t\nid: a\n");
        let two = "title: a\nid: a\n---\ntitle: b\nid: b\n";
        assert_eq!(rule_document(two, "c"), two);
        assert_eq!(rule_document(two, "b"), "title: b\nid: b\n");
        // A correlation keeps the rules it refers to.
        let corr = "title: c\nid: c\ncorrelation:\n  type: event_count\n  rules: [a]\n---\ntitle: a\nid: a\n";
        assert_eq!(rule_document(corr, "c"), corr);
    }

    #[test]
    fn rule_texts_come_from_the_bundle_or_a_regular_file_only() {
        let (name, yaml) = kahu_demo::bundled_rules()[0];
        assert_eq!(rule_text(name).as_deref(), Some(yaml));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = dir.path().join("r.yml");
        std::fs::write(&f, "title: t\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            rule_text(&f.display().to_string()).as_deref(),
            Some("title: t\n")
        );
        assert_eq!(rule_text(&dir.path().display().to_string()), None);
        assert_eq!(rule_text("/nonexistent/kahu/rule.yml"), None);
    }
}
