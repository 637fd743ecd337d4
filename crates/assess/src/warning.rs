//! A problem found during a run that did not stop it, and where it comes
//! from: an evidence (or feed, or YARA-scanned) file, or a correlation
//! whose cap bit.

use kahu_event::Location;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::fmt;
use std::sync::Arc;

/// What the `file` column shows for a correlation warning, so the analyst
/// sees it is not an evidence problem. Part of the JSON contract
/// (`warning_details[].file`) and of the case store's warnings.
pub const CORRELATION_WARNING_SOURCE: &str = "(correlation)";

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
/// Serialised as before the origin was typed: `{"file", "member",
/// "location", "reason"}`, `file` being [`CORRELATION_WARNING_SOURCE`] for
/// correlation warnings (the rule id is in the reason's text).
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

    /// The `file` column: the file's path, or [`CORRELATION_WARNING_SOURCE`].
    pub fn file(&self) -> &str {
        match &self.origin {
            WarningOrigin::File { path, .. } => path,
            WarningOrigin::Correlation { .. } => CORRELATION_WARNING_SOURCE,
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

    /// The order reports and tests see: file column, member, location,
    /// reason (as when every warning had a file name).
    pub fn sort_key(&self) -> (&str, Option<&str>, Option<Location>, &str) {
        (self.file(), self.member(), self.location(), &self.reason)
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
            WarningOrigin::Correlation { .. } => {
                write!(f, "{CORRELATION_WARNING_SOURCE}: {}", self.reason)
            }
        }
    }
}

impl Serialize for RunWarning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Warning", 4)?;
        s.serialize_field("file", self.file())?;
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
    fn a_correlation_warning_keeps_its_rule_and_the_old_file_column() {
        let run = RunWarning::correlation(kahu_correlation::CorrelationWarning {
            rule_id: Some(Arc::from("corr-1")),
            reason: "group cap of 2 reached".into(),
        });
        assert!(matches!(
            &run.origin,
            WarningOrigin::Correlation { rule_id: Some(id) } if &**id == "corr-1"
        ));
        assert_eq!(run.to_string(), "(correlation): group cap of 2 reached");
        assert_eq!(
            serde_json::to_value(&run).unwrap(),
            serde_json::json!({
                "file": "(correlation)", "member": null, "location": null,
                "reason": "group cap of 2 reached"
            })
        );
        // "(correlation)" sorts where the pseudo-file name used to.
        let file = RunWarning::from(file_warning());
        assert!(run.sort_key() < file.sort_key());
    }
}
