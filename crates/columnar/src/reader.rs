//! Reading a shard back into events.

use crate::decode::{Columns, DecodeError, Names};
use crate::schema::{self, FORMAT_KEY, FORMAT_VERSION};
use arrow_array::RecordBatch;
use kahu_event::Event;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::ChunkReader;

/// The 4-byte magic every Parquet file starts (and ends) with.
pub const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

/// Rows decoded at a time: bounds the memory of reading a shard to a
/// batch of rows whatever the shard's size.
const READ_BATCH_ROWS: usize = 1024;

/// Largest column chunk (uncompressed) a shard may declare. The writer's
/// row groups are a few MiB; a footer declaring more is refused before
/// any page is decompressed.
pub const MAX_COLUMN_CHUNK: i64 = 1 << 30;

/// Why a shard (or what is left of it) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A Parquet file, but not one kahu wrote (or a later layout).
    #[error("not a kahu event shard: {0}")]
    NotKahu(String),
    /// The file's layout does not match the shard schema.
    #[error("shard layout: {0}")]
    Layout(String),
    /// A record batch's columns do not fit the shard layout.
    #[error("shard layout: {0}")]
    Columns(#[from] DecodeError),
    /// Parquet could not decode the file.
    #[error("Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow could not decode a batch.
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// The Parquet decoder panicked on this file (a decoder bug hit by a
    /// damaged or hostile file); reading stopped at that point.
    #[error("the Parquet decoder failed on this file: {0}")]
    Panic(String),
}

/// A row that breaks the shard layout: reported, and the next row is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row {row}: {reason}")]
pub struct RowError {
    /// 1-based row number in the shard.
    pub row: u64,
    /// What is wrong with it.
    pub reason: DecodeError,
}

/// Read every row of a shard, in order, handing each event (or the
/// problem with its row) to `visit`; `visit` returning `false` stops.
/// Returns the number of rows visited. Rows handed over before an `Err`
/// stay valid.
pub fn read_shard<R, F>(input: R, mut visit: F) -> Result<u64, ReadError>
where
    R: ChunkReader + 'static,
    F: FnMut(Result<Event, RowError>) -> bool,
{
    // The parquet crate is well fuzzed but not panic-free on every
    // damaged file; a shard is evidence, so a decoder panic is a read
    // error for this file, not the end of the run.
    let mut rows = 0u64;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_rows(input, &mut visit, &mut rows)
    }));
    match outcome {
        Ok(r) => r.map(|()| rows),
        Err(p) => Err(ReadError::Panic(panic_text(&p))),
    }
}

fn read_rows<R, F>(input: R, visit: &mut F, rows: &mut u64) -> Result<(), ReadError>
where
    R: ChunkReader + 'static,
    F: FnMut(Result<Event, RowError>) -> bool,
{
    let builder = ParquetRecordBatchReaderBuilder::try_new(input)?;
    check_footer(builder.metadata(), builder.schema())?;
    let reader = builder.with_batch_size(READ_BATCH_ROWS).build()?;
    let mut decoder = BatchDecoder::default();
    for batch in reader {
        let batch = batch?;
        let go = decoder.decode(&batch, &mut *visit)?;
        *rows = decoder.rows();
        if !go {
            return Ok(());
        }
    }
    Ok(())
}

/// Check what a shard's footer declares before any page is read: kahu's
/// layout marker and version, column chunks of at most
/// [`MAX_COLUMN_CHUNK`] bytes, and the shard schema (`arrow` is the Arrow
/// schema the footer decodes to). Query engines reading shards call this
/// on each file first, so a file that is not a kahu shard is reported
/// by name instead of failing or being misread inside the engine.
pub fn check_footer(
    meta: &parquet::file::metadata::ParquetMetaData,
    arrow: &arrow_schema::Schema,
) -> Result<(), ReadError> {
    let format = meta
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == FORMAT_KEY))
        .and_then(|k| k.value.clone());
    match format.as_deref() {
        Some(FORMAT_VERSION) => {}
        Some(other) => {
            return Err(ReadError::NotKahu(format!(
                "layout {other:?}; this kahu reads {FORMAT_VERSION:?}"
            )));
        }
        None => {
            return Err(ReadError::NotKahu(format!(
                "no {FORMAT_KEY} entry in its metadata (written by `kahu convert`?)"
            )));
        }
    }
    for rg in meta.row_groups() {
        for c in rg.columns() {
            if c.uncompressed_size() > MAX_COLUMN_CHUNK || c.compressed_size() < 0 {
                return Err(ReadError::Layout(format!(
                    "column chunk of {} bytes declared (at most {MAX_COLUMN_CHUNK})",
                    c.uncompressed_size()
                )));
            }
        }
    }
    check_schema(arrow)
}

/// Decodes record batches of the shard layout into events, batch after
/// batch, keeping the interned file and host names across batches (the
/// same code [`read_shard`] runs, for engines that read the Parquet
/// themselves and hand kahu the batches).
#[derive(Default)]
pub struct BatchDecoder {
    names: Names,
    rows: u64,
}

impl BatchDecoder {
    /// Rows handed to `visit` so far, over all batches.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Hand each row of `batch` to `visit`, in order, as its event or as
    /// what is wrong with the row ([`RowError::row`] counts from the first
    /// row this decoder saw). A batch whose columns do not fit the layout
    /// is an error. Returns `false` when `visit` asked to stop.
    pub fn decode<F>(&mut self, batch: &RecordBatch, mut visit: F) -> Result<bool, ReadError>
    where
        F: FnMut(Result<Event, RowError>) -> bool,
    {
        let cols = Columns::new(batch)?;
        for i in 0..batch.num_rows() {
            self.rows += 1;
            let item = cols.event(i, &mut self.names).map_err(|reason| RowError {
                row: self.rows,
                reason,
            });
            if !visit(item) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The file's Arrow schema must be the shard schema, field for field
/// (names, types, nullability); metadata may differ.
fn check_schema(found: &arrow_schema::Schema) -> Result<(), ReadError> {
    let want = schema::event_schema();
    let same = found.fields().len() == want.fields().len()
        && found
            .fields()
            .iter()
            .zip(want.fields().iter())
            .all(|(a, b)| {
                a.name() == b.name()
                    && a.data_type().equals_datatype(b.data_type())
                    && a.is_nullable() == b.is_nullable()
            });
    if same {
        Ok(())
    } else {
        let names: Vec<&str> = found.fields().iter().map(|f| f.name().as_str()).collect();
        Err(ReadError::Layout(format!(
            "columns [{}] are not the {FORMAT_VERSION} layout",
            names.join(", ")
        )))
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}
