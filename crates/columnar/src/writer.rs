//! Writing events as Parquet shards partitioned by UTC day and host.
//!
//! Memory is bounded by the options, not by the evidence: each open shard
//! holds at most one Arrow batch ([`WriterOptions::batch_bytes`]) and one
//! Parquet row group in progress ([`WriterOptions::row_group_bytes`]), at
//! most [`WriterOptions::max_open`] shards are open (the least recently
//! used is closed first), and when everything held passes
//! [`WriterOptions::memory_budget`] the fullest shard writes its row group
//! out early.

use crate::encode::{BatchBuilder, SkipReason};
use crate::partition::PartitionKey;
use crate::schema::{self, FORMAT_KEY, FORMAT_VERSION};
use kahu_event::Event;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Limits of a [`ShardWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// A shard is closed once it holds this many rows.
    pub max_shard_rows: u64,
    /// A shard is closed once its Parquet bytes (written and in progress)
    /// reach this; a single event larger than this still gets a shard.
    pub max_shard_bytes: u64,
    /// Arrow rows are handed to Parquet once a batch holds this many bytes
    /// of events (estimated) …
    pub batch_bytes: usize,
    /// … or this many rows.
    pub batch_rows: usize,
    /// A row group is written out once its encoded size reaches this.
    pub row_group_bytes: usize,
    /// Most shards open at once (file handles and buffers).
    pub max_open: usize,
    /// Most bytes held in batches and row groups in progress, all open
    /// shards together, before the fullest is written out early.
    pub memory_budget: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            max_shard_rows: 1_000_000,
            max_shard_bytes: 128 << 20,
            batch_bytes: 4 << 20,
            batch_rows: 8192,
            row_group_bytes: 16 << 20,
            max_open: 64,
            memory_budget: 256 << 20,
        }
    }
}

/// Why writing failed (the shards closed before stay valid).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A file or folder could not be created or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Parquet refused to encode or write.
    #[error("{}: Parquet: {source}", path.display())]
    Parquet {
        /// The shard.
        path: PathBuf,
        /// The cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A batch did not fit the schema (a bug, reported rather than panicked).
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A folder on the way to a shard is a link or a file: not followed.
    #[error("{}: exists and is not a folder (links are not followed)", .0.display())]
    NotAFolder(PathBuf),
    /// Options that cannot work (zero limits).
    #[error("invalid writer options: {0}")]
    Options(&'static str),
}

/// One shard written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShardInfo {
    /// Path below the output folder (`day=…/host=…/part-00000.parquet`).
    pub path: PathBuf,
    /// Events in it.
    pub rows: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What a [`ShardWriter`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Every shard, in the order closed.
    pub shards: Vec<ShardInfo>,
    /// Events written.
    pub events: u64,
    /// Events not written, with why (the first 1,000).
    pub skipped: Vec<SkipReason>,
    /// Events not written, all of them.
    pub skipped_total: u64,
    /// Times a row group was written out early to stay within the memory budget.
    pub early_flushes: u64,
}

struct OpenShard {
    path: PathBuf,
    relative: PathBuf,
    writer: ArrowWriter<File>,
    batch: BatchBuilder,
    rows: u64,
    last_used: u64,
    held: usize,
}

/// Writes events into `ROOT/day=…/host=…/part-NNNNN.parquet` shards.
///
/// Shard numbers come from a counter that several writers may share
/// ([`ShardWriter::with_counter`]), so names never repeat within one
/// output; files are created new (`create_new`), never overwritten.
pub struct ShardWriter {
    root: PathBuf,
    opts: WriterOptions,
    props: Arc<WriterProperties>,
    counter: Arc<AtomicU64>,
    open: HashMap<PartitionKey, OpenShard>,
    clock: u64,
    held: usize,
    summary: WriteSummary,
}

impl ShardWriter {
    /// A writer into `root` (which must exist).
    pub fn new(root: &Path, opts: WriterOptions) -> Result<Self, WriteError> {
        Self::with_counter(root, opts, Arc::new(AtomicU64::new(0)))
    }

    /// A writer numbering its shards from a shared counter.
    pub fn with_counter(
        root: &Path,
        opts: WriterOptions,
        counter: Arc<AtomicU64>,
    ) -> Result<Self, WriteError> {
        if opts.max_shard_rows == 0
            || opts.max_shard_bytes == 0
            || opts.batch_rows == 0
            || opts.batch_bytes == 0
            || opts.row_group_bytes == 0
            || opts.max_open == 0
        {
            return Err(WriteError::Options("every limit must be at least 1"));
        }
        if opts.batch_bytes > 256 << 20 {
            // Keeps a batch's text far from Arrow's 2 GiB offset limit.
            return Err(WriteError::Options("batch_bytes over 256 MiB"));
        }
        let kv = vec![
            KeyValue::new(FORMAT_KEY.to_string(), FORMAT_VERSION.to_string()),
            KeyValue::new(
                "kahu.version".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ];
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(opts.batch_rows.max(1) * 16))
            .set_max_row_group_bytes(Some(opts.row_group_bytes))
            .set_key_value_metadata(Some(kv))
            .set_created_by(format!("kahu {}", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(ShardWriter {
            root: root.to_path_buf(),
            opts,
            props: Arc::new(props),
            counter,
            open: HashMap::new(),
            clock: 0,
            held: 0,
            summary: WriteSummary::default(),
        })
    }

    /// Add one event. `Ok(Some(reason))` when the event cannot be stored
    /// (it is counted in the summary and the run goes on); `Err` when
    /// writing failed.
    pub fn write(&mut self, event: &Event) -> Result<Option<SkipReason>, WriteError> {
        let key = PartitionKey::of(event);
        if !self.open.contains_key(&key) {
            if self.open.len() >= self.opts.max_open {
                self.close_least_recent()?;
            }
            let shard = self.open_shard(&key)?;
            self.open.insert(key.clone(), shard);
        }
        self.clock += 1;
        let clock = self.clock;
        let opts = self.opts;
        let Some(shard) = self.open.get_mut(&key) else {
            return Ok(None);
        };
        shard.last_used = clock;
        if let Err(why) = shard.batch.push(event) {
            self.summary.skipped_total += 1;
            if self.summary.skipped.len() < 1000 {
                self.summary.skipped.push(why.clone());
            }
            return Ok(Some(why));
        }
        self.summary.events += 1;
        shard.rows += 1;
        if shard.batch.rows() >= opts.batch_rows || shard.batch.bytes() >= opts.batch_bytes {
            shard.write_pending()?;
        }
        let full = shard.rows >= opts.max_shard_rows
            || (shard.writer.bytes_written() + shard.writer.in_progress_size()) as u64
                >= opts.max_shard_bytes;
        let held = shard.batch.bytes() + shard.writer.memory_size();
        self.held = self.held.saturating_sub(shard.held) + held;
        shard.held = held;
        if full {
            self.close(&key)?;
        } else if self.held > opts.memory_budget {
            self.flush_fullest()?;
        }
        Ok(None)
    }

    /// Close every shard; what was written.
    pub fn finish(mut self) -> Result<WriteSummary, WriteError> {
        let mut keys: Vec<PartitionKey> = self.open.keys().cloned().collect();
        keys.sort();
        for k in keys {
            self.close(&k)?;
        }
        Ok(self.summary)
    }

    /// Bytes held in memory now (estimated), for tests and progress.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    fn open_shard(&mut self, key: &PartitionKey) -> Result<OpenShard, WriteError> {
        let mut dir = self.root.clone();
        for part in [&key.day, &key.host] {
            dir.push(part);
            make_folder(&dir)?;
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = format!("part-{n:05}.parquet");
        let path = dir.join(&name);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| WriteError::Io {
                path: path.clone(),
                source,
            })?;
        let writer =
            ArrowWriter::try_new(file, schema::event_schema(), Some((*self.props).clone()))
                .map_err(|source| parquet_err(&path, source))?;
        Ok(OpenShard {
            path,
            relative: key.relative().join(name),
            writer,
            batch: BatchBuilder::new(),
            rows: 0,
            last_used: self.clock,
            held: 0,
        })
    }

    fn close(&mut self, key: &PartitionKey) -> Result<(), WriteError> {
        let Some(mut shard) = self.open.remove(key) else {
            return Ok(());
        };
        self.held = self.held.saturating_sub(shard.held);
        shard.write_pending()?;
        let path = shard.path;
        shard
            .writer
            .close()
            .map_err(|source| parquet_err(&path, source))?;
        let bytes = std::fs::metadata(&path)
            .map_err(|source| WriteError::Io {
                path: path.clone(),
                source,
            })?
            .len();
        self.summary.shards.push(ShardInfo {
            path: shard.relative,
            rows: shard.rows,
            bytes,
        });
        Ok(())
    }

    fn close_least_recent(&mut self) -> Result<(), WriteError> {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, s)| s.last_used)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => self.close(&k),
            None => Ok(()),
        }
    }

    /// Write out the row group of the shard holding the most memory.
    fn flush_fullest(&mut self) -> Result<(), WriteError> {
        let Some(shard) = self.open.values_mut().max_by_key(|s| s.held) else {
            return Ok(());
        };
        shard.write_pending()?;
        shard
            .writer
            .flush()
            .map_err(|source| parquet_err(&shard.path, source))?;
        let held = shard.batch.bytes() + shard.writer.memory_size();
        self.held = self.held.saturating_sub(shard.held) + held;
        shard.held = held;
        self.summary.early_flushes += 1;
        Ok(())
    }
}

impl OpenShard {
    /// Hand the rows gathered since the last write to the Parquet writer.
    fn write_pending(&mut self) -> Result<(), WriteError> {
        if self.batch.rows() > 0 {
            let batch = self.batch.finish()?;
            self.writer
                .write(&batch)
                .map_err(|source| parquet_err(&self.path, source))?;
        }
        Ok(())
    }
}

fn parquet_err(path: &Path, source: parquet::errors::ParquetError) -> WriteError {
    WriteError::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

/// Create a folder, or accept an existing real folder; a link or a file
/// in its place is refused (a planted link would send shards elsewhere).
fn make_folder(dir: &Path) -> Result<(), WriteError> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(WriteError::NotAFolder(dir.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::create_dir(dir) {
            Ok(()) => Ok(()),
            // Another writer sharing the output made it first.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => make_folder(dir),
            Err(source) => Err(WriteError::Io {
                path: dir.to_path_buf(),
                source,
            }),
        },
        Err(source) => Err(WriteError::Io {
            path: dir.to_path_buf(),
            source,
        }),
    }
}
