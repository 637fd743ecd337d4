//! Reading a findings file written by `kahu hunt` (JSON lines) or by a tool
//! that writes one JSON array of findings.
//!
//! The file is evidence-derived and may come from anyone: a line that is
//! not a finding is an error naming the file and the line, never a panic.

use crate::Finding;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Why a findings file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FindingsFileError {
    /// The file could not be opened or read.
    #[error("reading {}", path.display())]
    Read {
        /// The findings file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A line could not be read (for example it is not UTF-8).
    #[error("reading {} line {line}", path.display())]
    ReadLine {
        /// The findings file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The file starts with `[` but is not a JSON array of findings.
    #[error("parsing {} as a JSON array of findings", path.display())]
    Array {
        /// The findings file.
        path: PathBuf,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// A non-blank line is not one JSON finding.
    #[error("{} line {line}: not a finding", path.display())]
    Line {
        /// The findings file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
}

/// Read the findings in `path`: JSON lines (blank lines skipped), or one
/// JSON array when the first non-blank byte is `[`.
pub fn read_findings_file(path: &Path) -> Result<Vec<Finding>, FindingsFileError> {
    let read_error = |source| FindingsFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut reader = std::io::BufReader::new(file);
    let first = reader
        .fill_buf()
        .map_err(read_error)?
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace());
    if first == Some(b'[') {
        return serde_json::from_reader(reader).map_err(|source| FindingsFileError::Array {
            path: path.to_path_buf(),
            source,
        });
    }
    let mut out = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(|source| FindingsFileError::ReadLine {
            path: path.to_path_buf(),
            line: index + 1,
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line).map_err(|source| FindingsFileError::Line {
                path: path.to_path_buf(),
                line: index + 1,
                source,
            })?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FindingKind, Level};
    use kahu_event::{Location, Provenance};
    use std::sync::Arc;

    fn finding(rule_id: &str) -> Finding {
        Finding {
            kind: FindingKind::Sigma,
            rule_id: Arc::from(rule_id),
            title: Arc::from("t"),
            level: Level::High,
            techniques: vec![Arc::from("T1003")],
            software: Vec::new(),
            groups: Vec::new(),
            timestamp: None,
            host: None,
            channel: None,
            event_id: None,
            fields: Vec::new(),
            provenance: Provenance::new(Arc::from("Security.evtx"), Location::Record(7)),
            related: Vec::new(),
        }
    }

    fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("findings.jsonl");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn json_lines_with_blank_lines_and_a_json_array_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (finding("a"), finding("b"));
        let lines = format!(
            "{}\n\n  \n{}\n",
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        let from_lines = read_findings_file(&write(&dir, &lines)).unwrap();
        let array = format!(" \n{}", serde_json::to_string(&vec![a, b]).unwrap());
        let from_array = read_findings_file(&write(&dir, &array)).unwrap();
        for read in [from_lines, from_array] {
            let ids: Vec<&str> = read.iter().map(|f| &*f.rule_id).collect();
            assert_eq!(ids, ["a", "b"]);
        }
    }

    #[test]
    fn a_line_that_is_no_finding_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{}\n{{\"kind\":\n",
            serde_json::to_string(&finding("a")).unwrap()
        );
        let path = write(&dir, &text);
        let err = read_findings_file(&path).unwrap_err();
        assert!(
            matches!(err, FindingsFileError::Line { line: 2, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("{} line 2: not a finding", path.display())
        );
    }

    #[test]
    fn a_broken_array_and_non_utf8_and_a_missing_file_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_findings_file(&write(&dir, "[{\"kind\": 1}")).unwrap_err();
        assert!(matches!(err, FindingsFileError::Array { .. }), "{err:?}");
        let path = dir.path().join("binary.jsonl");
        std::fs::write(&path, b"\xff\xfe\n").unwrap();
        let err = read_findings_file(&path).unwrap_err();
        assert!(
            matches!(err, FindingsFileError::ReadLine { line: 1, .. }),
            "{err:?}"
        );
        let err = read_findings_file(&dir.path().join("absent")).unwrap_err();
        assert!(matches!(err, FindingsFileError::Read { .. }), "{err:?}");
    }
}
