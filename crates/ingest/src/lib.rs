//! Evidence readers: turn files collected from a breached network into
//! [`Event`]s.
//!
//! Each evidence format implements [`Format`]. [`detect`] picks the format
//! from the first bytes of a file (content, not extension, decides: evidence
//! is renamed all the time), and [`walk`] recurses through directories and
//! archives. Readers never fail a whole file for one bad record: they report
//! a [`Warning`] with the position and carry on.

use kahu_event::{Event, Location};
use std::io::{BufRead, BufReader, Cursor, Seek};
use std::path::Path;
use std::sync::Arc;

/// How many bytes of a file [`Format::detect`] is shown.
pub const SNIFF_LEN: usize = 8192;

/// A problem with part of the evidence that did not stop the rest being read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    /// The evidence file.
    pub file: Arc<str>,
    /// Member path inside an archive, if the problem is inside one.
    pub member: Option<Arc<str>>,
    /// Where in the file, if known.
    pub location: Option<Location>,
    /// What went wrong, in words an analyst can act on.
    pub reason: String,
}

impl Warning {
    /// Whether this is a coverage note (events without time, host or log
    /// source; record times disagreeing with event times) rather than a
    /// record or file that could not be read.
    pub fn is_coverage_note(&self) -> bool {
        self.reason.starts_with(coverage::NOTE_PREFIX)
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(m) = &self.member {
            write!(f, "!{m}")?;
        }
        match self.location {
            Some(Location::Record(r)) => write!(f, " record {r}")?,
            Some(Location::Line(l)) => write!(f, " line {l}")?,
            Some(Location::Offset(o)) => write!(f, " offset {o}")?,
            Some(Location::File) | None => {}
        }
        write!(f, ": {}", self.reason)
    }
}

/// Receives what a reader produces.
pub trait Sink {
    /// One event. Returning `false` asks the reader to stop early.
    fn event(&mut self, event: Event) -> bool;
    /// One problem with the input.
    fn warning(&mut self, warning: Warning);
    /// A file (or archive member) was read to its end; `entry` says what
    /// it held, including its [`EvidenceCoverage`]. Called after its events
    /// and warnings; for an archive (`format` `zip`, `tar`, `gzip`: no
    /// events of its own) after its members. Not called for a file no
    /// reader recognised. The default ignores it.
    fn file_read(&mut self, entry: &FileEntry) {
        let _ = entry;
    }
    /// An archive member that is not itself an archive, as read into
    /// memory, before a format reads it (called for every such member,
    /// recognised or not, with its bytes as decompressed). `kahu assess
    /// --yara` scans members here, so each is decompressed once for both
    /// event reading and YARA. The default ignores it.
    fn member(&mut self, origin: &Origin, data: &[u8]) {
        let _ = (origin, data);
    }
}

/// Where a reader gets its bytes: a file on disk or an archive member
/// already held in memory.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A file on disk.
    File(&'a Path),
    /// A file on disk read from a byte offset: the leading run of NUL
    /// bytes a log truncated in place (copytruncate rotation) starts with
    /// is skipped.
    FileFrom(&'a Path, u64),
    /// Bytes in memory (an extracted archive member).
    Memory(&'a [u8]),
}

impl Input<'_> {
    /// A buffered reader over the input.
    pub fn open(&self) -> std::io::Result<Box<dyn BufRead + Send + '_>> {
        Ok(match *self {
            Input::File(p) => Box::new(BufReader::with_capacity(
                256 * 1024,
                std::fs::File::open(p)?,
            )),
            Input::FileFrom(p, offset) => {
                let mut f = std::fs::File::open(p)?;
                f.seek(std::io::SeekFrom::Start(offset))?;
                Box::new(BufReader::with_capacity(256 * 1024, f))
            }
            Input::Memory(b) => Box::new(Cursor::new(b)),
        })
    }
}

/// Identity of the file being read, used to build provenance and warnings.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The evidence file path (the archive's path for members).
    pub file: Arc<str>,
    /// Member path inside an archive.
    pub member: Option<Arc<str>>,
    /// Host name inferred from the collection layout, used when events lack one.
    pub host_hint: Option<Arc<str>>,
    /// When the file or archive member was last written, as the file
    /// system or the archive records it (a member without its own time
    /// takes its archive's). Year-less timestamps (BSD syslog) are dated
    /// against it.
    pub modified: Option<kahu_event::Timestamp>,
}

impl Origin {
    /// Provenance for a record at `location`.
    pub fn provenance(&self, location: Location) -> kahu_event::Provenance {
        kahu_event::Provenance {
            file: self.file.clone(),
            member: self.member.clone(),
            location,
        }
    }

    /// A warning about this file.
    pub fn warning(&self, location: Option<Location>, reason: impl Into<String>) -> Warning {
        Warning {
            file: self.file.clone(),
            member: self.member.clone(),
            location,
            reason: reason.into(),
        }
    }
}

/// One evidence format.
pub trait Format: Send + Sync {
    /// Short stable name (`evtx`, `jsonl`, `iis`, `zeek-tsv`…), shown to users.
    fn name(&self) -> &'static str;
    /// Whether the file looks like this format, judged from up to
    /// [`SNIFF_LEN`] leading bytes and the file name (a hint only).
    fn detect(&self, head: &[u8], file_name: &str) -> bool;
    /// Read every record, sending events and warnings to `sink`.
    /// An `Err` means nothing more could be read (the file could not be
    /// opened, say); records already sent stay valid.
    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()>;
}

mod archive;
mod coverage;
pub use coverage::NOTE_PREFIX as COVERAGE_NOTE_PREFIX;
pub mod evtx;
mod evtx_recover;
mod formats;
/// Entry points of the fuzz targets and their corpus-replay tests.
#[doc(hidden)]
pub mod fuzzing;
mod hostname;
pub mod json;
mod json_document;
mod json_lines;
mod jsonfast;
mod jsonvalue;
#[cfg(feature = "columnar")]
mod parquet;
mod shapes;
mod timecheck;
mod walk;
mod winevent;
// Text-log readers (web servers, Linux, Zeek) and their line helpers.
pub mod linux;
mod log_analytics;
mod text;
pub mod web;
pub mod zeek;

pub use archive::Limits;

/// Whether a file's first bytes (512 are enough) are a container the
/// readers open (zip, tar, gzip).
pub fn is_container(head: &[u8]) -> bool {
    archive::detect(head).is_some()
}
pub use coverage::{EvidenceCoverage, NOTE_PREFIX, Platforms};
pub use formats::all_formats;
pub use hostname::infer_host;
pub use walk::{
    FileEntry, ParallelRead, Reader, is_link_to_file, list_files, read_path, read_paths_parallel,
};
