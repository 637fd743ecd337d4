//! A problem found during a run that did not stop it, and where it comes
//! from: an evidence (or feed, or YARA-scanned) file, or a correlation
//! whose cap bit.

use kahu_event::Location;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::fmt;
use std::sync::Arc;

/// Where a [`RunWarning`] comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningOrigin {
    /// A file: evidence, an indicator feed, a file YARA could not scan.
    File {
        /// The file.
        path: Arc<str>,
        /// Member path inside an archive, if the problem is inside one.
        member: Option<Arc<str>>,
        /// Where in the file, if known.
        location: Option<Location>,
    },
    /// The correlation engine: a cap that bit.
    Correlation {
        /// The correlation at fault; `None` for the engine's own limits.
        rule_id: Option<Arc<str>>,
    },
}

/// A problem found during a run that did not stop it.
///
/// A file warning is serialised as the readers write it: `{"file",
/// "member", "location", "reason"}` (the `--json` and `assessment.json`
/// contract). A correlation warning names its source instead of a file:
/// `{"source": "correlation", "rule_id", "file": null, "member": null,
/// "location": null, "reason"}` (`rule_id` null for the engine's own limits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunWarning {
    /// Where it comes from.
    pub origin: WarningOrigin,
    /// What went wrong, in words an analyst can act on.
    pub reason: String,
}

impl RunWarning {
    /// A correlation engine warning.
    pub fn correlation(warning: kahu_correlation::CorrelationWarning) -> Self {
        RunWarning {
            origin: WarningOrigin::Correlation {
                rule_id: warning.rule_id,
            },
            reason: warning.reason,
        }
    }

    /// The file the warning is about; `None` for a correlation warning.
    pub fn file(&self) -> Option<&str> {
        match &self.origin {
            WarningOrigin::File { path, .. } => Some(path),
            WarningOrigin::Correlation { .. } => None,
        }
    }

    /// The correlation rule a correlation warning is about (`None` for a
    /// file warning and for the correlation engine's own limits).
    pub fn rule_id(&self) -> Option<&str> {
        match &self.origin {
            WarningOrigin::File { .. } => None,
            WarningOrigin::Correlation { rule_id } => rule_id.as_deref(),
        }
    }

    /// The archive member, for a file inside an archive.
    pub fn member(&self) -> Option<&str> {
        match &self.origin {
            WarningOrigin::File { member, .. } => member.as_deref(),
            WarningOrigin::Correlation { .. } => None,
        }
    }

    /// Where in the file, if known.
    pub fn location(&self) -> Option<Location> {
        match &self.origin {
            WarningOrigin::File { location, .. } => *location,
            WarningOrigin::Correlation { .. } => None,
        }
    }

    /// Whether this is a reader's coverage note (events without time,
    /// host or log source), not a record that could not be read.
    pub fn is_coverage_note(&self) -> bool {
        matches!(self.origin, WarningOrigin::File { .. })
            && self.reason.starts_with(kahu_ingest::COVERAGE_NOTE_PREFIX)
    }

    /// Whether a correlation cap bit (rather than a file being unreadable).
    pub fn is_correlation(&self) -> bool {
        matches!(self.origin, WarningOrigin::Correlation { .. })
    }

    /// The order reports and tests see: correlation warnings first (by
    /// rule id, the engine's own after), then files by path, member,
    /// location, reason.
    pub fn sort_key(&self) -> (bool, Option<&str>, Option<&str>, Option<Location>, &str) {
        match &self.origin {
            WarningOrigin::Correlation { rule_id } => (
                false,
                rule_id.as_deref().or(Some("\u{10ffff}")),
                None,
                None,
                &self.reason,
            ),
            WarningOrigin::File {
                path,
                member,
                location,
            } => (true, Some(path), member.as_deref(), *location, &self.reason),
        }
    }
}

impl From<kahu_ingest::Warning> for RunWarning {
    fn from(w: kahu_ingest::Warning) -> Self {
        RunWarning {
            origin: WarningOrigin::File {
                path: w.file,
                member: w.member,
                location: w.location,
            },
            reason: w.reason,
        }
    }
}

impl fmt::Display for RunWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            // The readers' own wording (`file!member line N: reason`).
            WarningOrigin::File {
                path,
                member,
                location,
            } => {
                let w = kahu_ingest::Warning {
                    file: path.clone(),
                    member: member.clone(),
                    location: *location,
                    reason: self.reason.clone(),
                };
                fmt::Display::fmt(&w, f)
            }
            WarningOrigin::Correlation { rule_id } => {
                let w = kahu_correlation::CorrelationWarning {
                    rule_id: rule_id.clone(),
                    reason: self.reason.clone(),
                };
                fmt::Display::fmt(&w, f)
            }
        }
    }
}

impl Serialize for RunWarning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let WarningOrigin::Correlation { rule_id } = &self.origin {
            let mut s = serializer.serialize_struct("Warning", 6)?;
            s.serialize_field("source", "correlation")?;
            s.serialize_field("rule_id", rule_id)?;
            s.serialize_field("file", &None::<&str>)?;
            s.serialize_field("member", &None::<&str>)?;
            s.serialize_field("location", &None::<Location>)?;
            s.serialize_field("reason", &self.reason)?;
            return s.end();
        }
        let mut s = serializer.serialize_struct("Warning", 4)?;
        s.serialize_field("file", &self.file())?;
        s.serialize_field("member", &self.member())?;
        s.serialize_field("location", &self.location())?;
        s.serialize_field("reason", &self.reason)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_warning() -> kahu_ingest::Warning {
        kahu_ingest::Warning {
            file: Arc::from("a.zip"),
            member: Some(Arc::from("Security.evtx")),
            location: Some(Location::Record(7)),
            reason: "bad record".into(),
        }
    }

    #[test]
    fn a_file_warning_reads_and_serialises_as_the_reader_wrote_it() {
        let ingest = file_warning();
        let run = RunWarning::from(ingest.clone());
        assert_eq!(run.to_string(), ingest.to_string());
        assert_eq!(
            serde_json::to_value(&run).unwrap(),
            serde_json::to_value(&ingest).unwrap()
        );
        assert!(!run.is_correlation());
    }

    #[test]
    fn a_correlation_warning_names_its_rule_not_a_file() {
        let run = RunWarning::correlation(kahu_correlation::CorrelationWarning {
            rule_id: Some(Arc::from("corr-1")),
            reason: "`Spray`: group cap of 2 reached".into(),
        });
        assert_eq!(run.rule_id(), Some("corr-1"));
        assert_eq!(run.file(), None);
        assert_eq!(
            run.to_string(),
            "correlation corr-1: `Spray`: group cap of 2 reached"
        );
        assert_eq!(
            serde_json::to_value(&run).unwrap(),
            serde_json::json!({
                "source": "correlation", "rule_id": "corr-1",
                "file": null, "member": null, "location": null,
                "reason": "`Spray`: group cap of 2 reached"
            })
        );
        let engine = RunWarning::correlation(kahu_correlation::CorrelationWarning {
            rule_id: None,
            reason: "record cap of 3 reached".into(),
        });
        assert_eq!(
            engine.to_string(),
            "correlation engine: record cap of 3 reached"
        );
        assert_eq!(
            serde_json::to_value(&engine).unwrap()["rule_id"],
            serde_json::Value::Null
        );
        // Correlation warnings first (per rule, then the engine's), then files.
        let file = RunWarning::from(file_warning());
        let mut all = vec![file.clone(), engine.clone(), run.clone()];
        all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        assert_eq!(all, vec![run, engine, file]);
    }
}
