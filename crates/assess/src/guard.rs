//! Never write over evidence. Outputs are refused when they are, or would
//! land inside, the evidence being read: writing `hunt -o` onto its input
//! truncates it, and an output folder inside the evidence overwrites files
//! named like outputs and is read back as evidence on the next run.

use anyhow::{Result, bail};
use std::path::{Component, Path, PathBuf};

/// The absolute, link-resolved form of `p`, also for a path that does not
/// exist yet (its longest existing ancestor is resolved).
pub fn resolved(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut existing = abs.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return normalise(&out);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return normalise(&abs),
        }
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Refuse output files that are, or lie inside, evidence.
pub fn refuse_outputs_on_evidence(outputs: &[&Path], evidence: &[PathBuf]) -> Result<()> {
    let inputs: Vec<(PathBuf, &PathBuf)> = evidence.iter().map(|e| (resolved(e), e)).collect();
    for out in outputs {
        let o = resolved(out);
        for (e, given) in &inputs {
            if o == *e {
                bail!(
                    "refusing to write {}: it is the evidence {} (choose another output path)",
                    out.display(),
                    given.display()
                );
            }
            if e.is_dir() && o.starts_with(e) {
                bail!(
                    "refusing to write {} inside the evidence folder {} (outputs there would be read as evidence next time; choose an output path outside it)",
                    out.display(),
                    given.display()
                );
            }
        }
    }
    Ok(())
}

/// Refuse an output folder that is, or lies inside, an evidence folder, or
/// where one of `names` (the files the run writes) is an evidence file.
pub fn refuse_output_dir_on_evidence(
    out: &Path,
    names: &[&str],
    evidence: &[PathBuf],
) -> Result<()> {
    let files: Vec<PathBuf> = names.iter().map(|n| out.join(n)).collect();
    let mut outputs: Vec<&Path> = vec![out];
    outputs.extend(files.iter().map(PathBuf::as_path));
    refuse_outputs_on_evidence(&outputs, evidence)
}

/// Refuse an output folder holding files of the names a run writes
/// (`report.html`, `findings.jsonl`…) that no kahu run wrote there (no
/// `assessment.json`, case store or demo marker beside them): the analyst's
/// own files, or another tool's, would be replaced without a word. A folder
/// a previous run wrote is updated as before. A file this run reads (an
/// indicator feed named `stix-bundle.json`) is left to
/// [`refuse_outputs_on_inputs`], which says so.
pub fn refuse_foreign_outputs(out: &Path, inputs: &[PathBuf]) -> Result<()> {
    if !out.is_dir()
        || [
            "assessment.json",
            "case.sqlite",
            crate::pipeline::DEMO_MARKER,
        ]
        .iter()
        .any(|n| out.join(n).exists())
    {
        return Ok(());
    }
    let found: Vec<&str> = crate::write::OUTPUT_NAMES
        .iter()
        .copied()
        .filter(|n| std::fs::symlink_metadata(out.join(n)).is_ok())
        .filter(|n| {
            let o = resolved(&out.join(n));
            !inputs.iter().any(|i| resolved(i) == o)
        })
        .collect();
    if !found.is_empty() {
        anyhow::bail!(
            "--out {} already holds {} that no kahu run wrote there (no assessment.json beside it); kahu would replace it: choose a new or empty folder, or move it away",
            out.display(),
            found.join(", ")
        );
    }
    Ok(())
}

/// Refuse outputs that would replace a file this run reads besides the
/// evidence (rules, indicator feeds, YARA rules, tuning files, profiles,
/// an ATT&CK bundle, an analyst's layer): an output that is such a file,
/// an output folder that holds one, or an output that would replace an
/// existing file inside an input folder. Writing a new file beside rules is
/// allowed (unlike beside evidence, nothing reads it back as input).
pub fn refuse_outputs_on_inputs(outputs: &[&Path], inputs: &[PathBuf]) -> Result<()> {
    let inputs: Vec<(PathBuf, &PathBuf)> = inputs.iter().map(|i| (resolved(i), i)).collect();
    for out in outputs {
        let o = resolved(out);
        for (i, given) in &inputs {
            let replaces = o == *i
                || (o.is_dir() && i.starts_with(&o))
                || (i.is_dir() && o.starts_with(i) && std::fs::symlink_metadata(&o).is_ok());
            if replaces {
                bail!(
                    "refusing to write {}: it would replace {}, which this run reads (choose another output path)",
                    out.display(),
                    given.display()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_on_or_inside_evidence_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ev_dir = dir.path().join("triage");
        std::fs::create_dir(&ev_dir).expect("mkdir");
        let ev = ev_dir.join("v.jsonl");
        std::fs::write(&ev, "{}\n").expect("write");
        // The same file, spelled differently.
        let spelled = ev_dir.join(".").join("..").join("triage").join("v.jsonl");
        assert!(refuse_outputs_on_evidence(&[&spelled], std::slice::from_ref(&ev)).is_err());
        // Inside an evidence folder, even a file that does not exist yet.
        let inside = ev_dir.join("new").join("timeline.csv");
        assert!(refuse_outputs_on_evidence(&[&inside], std::slice::from_ref(&ev_dir)).is_err());
        // Beside it is fine.
        let beside = dir.path().join("timeline.csv");
        assert!(refuse_outputs_on_evidence(&[&beside], std::slice::from_ref(&ev_dir)).is_ok());
        // An output folder holding the evidence is fine unless an output
        // file would replace an evidence file.
        assert!(
            refuse_output_dir_on_evidence(
                dir.path(),
                &["report.html"],
                std::slice::from_ref(&ev_dir)
            )
            .is_ok()
        );
        let findings = dir.path().join("findings.jsonl");
        std::fs::write(&findings, "").expect("write");
        assert!(
            refuse_output_dir_on_evidence(dir.path(), &["findings.jsonl"], &[findings]).is_err()
        );
        assert!(
            refuse_output_dir_on_evidence(&ev_dir.join("out"), &[], std::slice::from_ref(&ev_dir))
                .is_err()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_the_evidence_is_the_evidence() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ev = dir.path().join("Security.evtx");
        std::fs::write(&ev, "x").expect("write");
        let link = dir.path().join("out.csv");
        std::os::unix::fs::symlink(&ev, &link).expect("symlink");
        assert!(refuse_outputs_on_evidence(&[&link], &[ev]).is_err());
    }

    #[test]
    fn an_output_never_replaces_a_feed_rule_or_other_input() {
        let dir = tempfile::tempdir().expect("temp dir");
        let feed = dir.path().join("stix-bundle.json");
        std::fs::write(&feed, "{}").expect("write");
        let rules = dir.path().join("rules");
        std::fs::create_dir(&rules).expect("mkdir");
        let rule = rules.join("r.yml");
        std::fs::write(&rule, "title: r").expect("write");
        let inputs = [feed.clone(), rules.clone()];
        // The feed itself, also through a link.
        assert!(refuse_outputs_on_inputs(&[&feed], &inputs).is_err());
        #[cfg(unix)]
        {
            let link = dir.path().join("out.json");
            std::os::unix::fs::symlink(&feed, &link).expect("symlink");
            assert!(refuse_outputs_on_inputs(&[&link], &inputs).is_err());
        }
        // A rule inside a rules folder given as input.
        assert!(refuse_outputs_on_inputs(&[&rule], &inputs).is_err());
        // An output folder that holds an input.
        assert!(refuse_outputs_on_inputs(&[&rules], std::slice::from_ref(&rule)).is_err());
        // A new file beside the rules, or elsewhere, is fine.
        assert!(refuse_outputs_on_inputs(&[&rules.join("timeline.csv")], &inputs).is_ok());
        assert!(refuse_outputs_on_inputs(&[&dir.path().join("t.csv")], &inputs).is_ok());
    }
}
