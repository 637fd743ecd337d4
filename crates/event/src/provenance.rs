use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Where inside a file a record was found. Ordered records, lines, offsets,
/// whole file (the variant order), then by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Location {
    /// EVTX record number (`EventRecordID`).
    Record(u64),
    /// 1-based line number in a text file.
    Line(u64),
    /// Byte offset in the file.
    Offset(u64),
    /// The whole file (YARA matches, file-level findings).
    File,
}

/// The origin of an event or a finding: the evidence file, the member inside
/// an archive if any, and the position of the record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Provenance {
    /// Path of the evidence file as given on the command line (or found while
    /// walking a directory).
    pub file: Arc<str>,
    /// Path of the member inside an archive, for nested evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Arc<str>>,
    /// Position of the record.
    pub location: Location,
}

impl Provenance {
    /// Provenance for a record of a plain file.
    pub fn new(file: Arc<str>, location: Location) -> Self {
        Provenance {
            file,
            member: None,
            location,
        }
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(m) = &self.member {
            write!(f, "!{m}")?;
        }
        match self.location {
            Location::Record(r) => write!(f, "#record {r}"),
            Location::Line(l) => write!(f, ":{l}"),
            Location::Offset(o) => write!(f, "@{o}"),
            Location::File => Ok(()),
        }
    }
}
