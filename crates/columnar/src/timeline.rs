//! A case's timeline as Parquet (`kahu case parquet`): the columns the
//! timeline filters on, one row per event, sorted by `(time, id)`, in
//! `CASE/timeline/part-NNNNN.parquet` files of bounded size with a
//! `manifest.json` beside them (layout [`TIMELINE_FORMAT`]).
//!
//! A query engine (`kahu-distributed`'s `ParquetTimeline`) finds a page's
//! events here; the rows shown are read from the case's SQLite store by
//! id (see `kahu_case::TimelineIndex`), so these files hold only what
//! filters need:
//!
//! | column | type | content |
//! |---|---|---|
//! | `time` | `Int64` | µs since the epoch, `i64::MIN` when unknown (as SQLite's `ts`) |
//! | `id` | `Int64` | the event's id in the case |
//! | `host`, `channel`, `account` | `Utf8`, nullable | ASCII-lowercased (SQLite's `NOCASE`) |
//! | `event_id` | `Int64`, nullable | Windows event id |
//! | `text` | `Utf8` | the full-text index's tokens, `" tok tok "` (`kahu_case::fts_tokens`) |
//!
//! Files follow each other in time: every row of `part-00001` sorts after
//! every row of `part-00000`, so a reader that walks the files in order
//! reads the timeline in order and can stop at a page.

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use kahu_case::{Case, TimelineRow};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Layout version, in the manifest and in every file's key-value metadata
/// (key [`crate::schema::FORMAT_KEY`]); a reader refuses any other.
pub const TIMELINE_FORMAT: &str = "kahu-case-timeline/1";

/// Folder of the timeline inside the case directory.
pub const TIMELINE_DIR: &str = "timeline";

/// The manifest's file name inside [`TIMELINE_DIR`].
pub const MANIFEST: &str = "manifest.json";

/// Largest manifest a reader accepts (a damaged or forged one is refused
/// before it is parsed).
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// The Arrow schema of a timeline file.
pub fn timeline_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("time", DataType::Int64, false),
        Field::new("id", DataType::Int64, false),
        Field::new("host", DataType::Utf8, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new("account", DataType::Utf8, true),
        Field::new("event_id", DataType::Int64, true),
        Field::new("text", DataType::Utf8, false),
    ]))
}

/// Size limits of the files written.
#[derive(Debug, Clone, Copy)]
pub struct TimelineOptions {
    /// Rows per file at most.
    pub max_file_rows: usize,
    /// Bytes per file (about: a file is closed after the row group that
    /// passes it).
    pub max_file_bytes: u64,
    /// Rows per row group at most; smaller groups let a reader skip more
    /// of the file by the `time` statistics.
    pub row_group_rows: usize,
    /// Events read from the case at a time (memory: this many rows, each
    /// at most the full-text index's 64 KiB of text).
    pub chunk_rows: usize,
}

impl Default for TimelineOptions {
    fn default() -> Self {
        TimelineOptions {
            max_file_rows: 2_000_000,
            max_file_bytes: 256 << 20,
            row_group_rows: 65_536,
            chunk_rows: 16_384,
        }
    }
}

/// One file of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelineFile {
    /// File name inside [`TIMELINE_DIR`] (`part-NNNNN.parquet`).
    pub name: String,
    /// Rows.
    pub rows: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// `(time, id)` of the first row.
    pub first: (i64, i64),
    /// `(time, id)` of the last row.
    pub last: (i64, i64),
}

/// `manifest.json`: what was written, over which state of the case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelineManifest {
    /// [`TIMELINE_FORMAT`].
    pub format: String,
    /// Events in the case when written (the case's own count).
    pub events: u64,
    /// Highest event id then.
    pub max_id: i64,
    /// The files, in timeline order.
    pub files: Vec<TimelineFile>,
}

/// Why writing or reading a timeline failed.
#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    /// The case store failed.
    #[error("case: {0}")]
    Case(#[from] kahu_case::Error),
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Parquet or Arrow failed.
    #[error("{path}: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The timeline folder is not (only) a kahu timeline.
    #[error("{0}")]
    Invalid(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TimelineError + '_ {
    move |source| TimelineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn pq(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> TimelineError + '_ {
    move |e| TimelineError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Whether `name` is a timeline part file name.
pub fn is_part_name(name: &str) -> bool {
    name.strip_prefix("part-")
        .and_then(|r| r.strip_suffix(".parquet"))
        .is_some_and(|n| n.len() == 5 && n.bytes().all(|b| b.is_ascii_digit()))
}

struct PartWriter {
    path: PathBuf,
    name: String,
    writer: ArrowWriter<File>,
    rows: u64,
    first: (i64, i64),
    last: (i64, i64),
}

/// Write the timeline of `case` into `CASE/timeline/`, replacing an earlier
/// one. The files are written into a fresh folder beside it first and
/// swapped in at the end, so a reader sees the old timeline or the new one,
/// and a failed run leaves the old one. `progress` gets the events written
/// so far.
pub fn write_timeline(
    case: &Case,
    opts: TimelineOptions,
    mut progress: impl FnMut(u64),
) -> Result<TimelineManifest, TimelineError> {
    if opts.max_file_rows == 0 || opts.row_group_rows == 0 || opts.chunk_rows == 0 {
        return Err(TimelineError::Invalid(
            "timeline limits must be at least 1".into(),
        ));
    }
    let dir = case.dir().to_path_buf();
    let extent = case.timeline_extent()?;
    let target = dir.join(TIMELINE_DIR);
    let fresh = dir.join(format!("{TIMELINE_DIR}.new-{}", std::process::id()));
    if fresh.exists() {
        remove_timeline_dir(&fresh)?;
    }
    std::fs::create_dir(&fresh).map_err(io(&fresh))?;
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(opts.row_group_rows))
            .set_max_row_group_bytes(Some(64 << 20))
            // Text is nearly unique per event: a dictionary only costs.
            .set_column_dictionary_enabled("text".into(), false)
            .set_key_value_metadata(Some(vec![KeyValue::new(
                crate::schema::FORMAT_KEY.to_string(),
                TIMELINE_FORMAT.to_string(),
            )]))
            .set_created_by(format!("kahu {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let mut files = Vec::new();
    let mut current: Option<PartWriter> = None;
    let mut written = 0u64;
    let mut failure: Option<TimelineError> = None;
    let result = case.for_each_timeline_chunk(opts.chunk_rows, |rows| {
        let mut rest: &[TimelineRow] = &rows;
        while !rest.is_empty() {
            if current.is_none() {
                let name = format!("part-{:05}.parquet", files.len());
                let path = fresh.join(&name);
                let file = match File::create_new(&path) {
                    Ok(f) => f,
                    Err(e) => {
                        failure = Some(io(&path)(e));
                        return Ok(false);
                    }
                };
                match ArrowWriter::try_new(file, timeline_schema(), Some((*props).clone())) {
                    Ok(writer) => {
                        current = Some(PartWriter {
                            path,
                            name,
                            writer,
                            rows: 0,
                            first: (rest[0].ts, rest[0].id),
                            last: (0, 0),
                        })
                    }
                    Err(e) => {
                        failure = Some(pq(&path)(e));
                        return Ok(false);
                    }
                }
            }
            let Some(part) = current.as_mut() else {
                return Ok(false);
            };
            let room = opts.max_file_rows - part.rows as usize;
            // Batches of at most 8,192 rows keep a batch's text far from
            // Arrow's 2 GiB offsets whatever the events hold.
            let take = rest.len().min(room).min(8192);
            let (now, later) = rest.split_at(take);
            if let Err(e) = batch(now).and_then(|b| part.writer.write(&b)) {
                failure = Some(pq(&part.path)(e));
                return Ok(false);
            }
            part.rows += take as u64;
            if let Some(l) = now.last() {
                part.last = (l.ts, l.id);
            }
            written += take as u64;
            rest = later;
            let full = part.rows as usize >= opts.max_file_rows
                || part.writer.bytes_written() as u64 + part.writer.in_progress_size() as u64
                    >= opts.max_file_bytes;
            if full && let Some(part) = current.take() {
                match close(part) {
                    Ok(f) => files.push(f),
                    Err(e) => {
                        failure = Some(e);
                        return Ok(false);
                    }
                }
            }
        }
        progress(written);
        Ok(true)
    });
    let finished = match (result, failure) {
        (Err(e), _) => Err(e.into()),
        (Ok(()), Some(e)) => Err(e),
        (Ok(()), None) => match current.take() {
            Some(part) => close(part).map(|f| files.push(f)),
            None => Ok(()),
        },
    };
    if let Err(e) = finished {
        let _ = remove_timeline_dir(&fresh);
        return Err(e);
    }
    let manifest = TimelineManifest {
        format: TIMELINE_FORMAT.to_string(),
        events: extent.events,
        max_id: extent.max_id,
        files,
    };
    // Every stored event, and no more: the case did not change meanwhile.
    let stored: i64 = case
        .connection()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .map_err(kahu_case::Error::from)?;
    if written != stored as u64 || case.timeline_extent()? != extent {
        let _ = remove_timeline_dir(&fresh);
        return Err(TimelineError::Invalid(format!(
            "the case changed while its timeline was written ({written} events written, {stored} stored); run again"
        )));
    }
    let mpath = fresh.join(MANIFEST);
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| TimelineError::Invalid(format!("manifest: {e}")))?;
    std::fs::write(&mpath, json).map_err(io(&mpath))?;
    if std::fs::symlink_metadata(&target).is_ok() {
        remove_timeline_dir(&target)?;
    }
    std::fs::rename(&fresh, &target).map_err(io(&target))?;
    Ok(manifest)
}

fn batch(rows: &[TimelineRow]) -> Result<RecordBatch, parquet::errors::ParquetError> {
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.ts))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.id))),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.host.as_deref()),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.channel.as_deref()),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.account.as_deref()),
        )),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.event_id))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.text.as_str()),
        )),
    ];
    Ok(RecordBatch::try_new(timeline_schema(), cols)?)
}

fn close(part: PartWriter) -> Result<TimelineFile, TimelineError> {
    let PartWriter {
        path,
        name,
        writer,
        rows,
        first,
        last,
    } = part;
    writer.close().map_err(pq(&path))?;
    let bytes = std::fs::metadata(&path).map_err(io(&path))?.len();
    Ok(TimelineFile {
        name,
        rows,
        bytes,
        first,
        last,
    })
}

/// Remove a timeline folder: only one that holds nothing but part files
/// and a manifest (never follows a link; anything else is refused and
/// nothing is removed).
pub fn remove_timeline_dir(dir: &Path) -> Result<(), TimelineError> {
    let meta = std::fs::symlink_metadata(dir).map_err(io(dir))?;
    if !meta.is_dir() {
        return Err(TimelineError::Invalid(format!(
            "{}: not a folder (a link or a file); remove it yourself if it is not needed",
            dir.display()
        )));
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ok = entry.file_type().map_err(io(dir))?.is_file()
            && (name == MANIFEST || is_part_name(&name));
        if !ok {
            return Err(TimelineError::Invalid(format!(
                "{}: holds {name:?}, which kahu did not write; not replaced",
                dir.display()
            )));
        }
        names.push(entry.path());
    }
    for p in names {
        std::fs::remove_file(&p).map_err(io(&p))?;
    }
    std::fs::remove_dir(dir).map_err(io(dir))
}

/// Read and check `CASE/timeline/manifest.json`: the layout version, part
/// file names, and that each file is there with the size written. Does not
/// read the Parquet files.
pub fn read_manifest(case_dir: &Path) -> Result<(PathBuf, TimelineManifest), TimelineError> {
    let dir = case_dir.join(TIMELINE_DIR);
    let mpath = dir.join(MANIFEST);
    let meta = std::fs::metadata(&mpath).map_err(io(&mpath))?;
    if meta.len() > MAX_MANIFEST_BYTES {
        return Err(TimelineError::Invalid(format!(
            "{}: {} bytes, more than a manifest can be",
            mpath.display(),
            meta.len()
        )));
    }
    let bytes = std::fs::read(&mpath).map_err(io(&mpath))?;
    let m: TimelineManifest = serde_json::from_slice(&bytes)
        .map_err(|e| TimelineError::Invalid(format!("{}: {e}", mpath.display())))?;
    if m.format != TIMELINE_FORMAT {
        return Err(TimelineError::Invalid(format!(
            "{}: layout {:?}; this kahu reads {TIMELINE_FORMAT:?} (run `kahu case parquet` again)",
            mpath.display(),
            m.format
        )));
    }
    let mut prev: Option<(i64, i64)> = None;
    for f in &m.files {
        if !is_part_name(&f.name) {
            return Err(TimelineError::Invalid(format!(
                "{}: file name {:?} is not a timeline part",
                mpath.display(),
                f.name
            )));
        }
        let p = dir.join(&f.name);
        let len = std::fs::metadata(&p).map_err(io(&p))?.len();
        if len != f.bytes {
            return Err(TimelineError::Invalid(format!(
                "{}: {len} bytes, the manifest says {} (damaged or replaced)",
                p.display(),
                f.bytes
            )));
        }
        if f.first > f.last || prev.is_some_and(|p| p >= f.first) {
            return Err(TimelineError::Invalid(format!(
                "{}: files out of timeline order",
                mpath.display()
            )));
        }
        prev = Some(f.last);
    }
    Ok((dir, m))
}

#[cfg(test)]
mod tests;
