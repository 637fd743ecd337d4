//! kahu's own Parquet shards (written by `kahu convert`) as evidence.
//!
//! A shard's rows are events already normalised, with the provenance of
//! the evidence they were first read from (file, archive member, record or
//! line), so findings over a converted folder point at the original
//! evidence, as findings over the original do. Problems with the shard
//! itself (not a kahu shard, damaged, a row that breaks the layout) are
//! warnings about the shard, with the row number as the record.

use crate::{Format, Input, Origin, Sink};
use kahu_event::Location;

/// Parquet event shards written by `kahu convert` (`kahu-columnar`).
pub(crate) struct KahuParquet;

impl Format for KahuParquet {
    fn name(&self) -> &'static str {
        "kahu-parquet"
    }

    fn detect(&self, head: &[u8], _file_name: &str) -> bool {
        head.starts_with(kahu_columnar::PARQUET_MAGIC)
    }

    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()> {
        let mut visit = |item: Result<kahu_event::Event, kahu_columnar::RowError>| match item {
            Ok(e) => sink.event(e),
            Err(bad) => {
                sink.warning(origin.warning(
                    Some(Location::Record(bad.row)),
                    format!("kahu Parquet shard row skipped: {}", bad.reason),
                ));
                true
            }
        };
        let result = match input {
            Input::File(p) => kahu_columnar::read_shard(std::fs::File::open(p)?, &mut visit),
            Input::Memory(b) => {
                kahu_columnar::read_shard(bytes::Bytes::copy_from_slice(b), &mut visit)
            }
            // Parquet offsets count from the file's first byte: a shard
            // behind a run of NULs has been tampered with.
            Input::FileFrom(..) => {
                sink.warning(origin.warning(
                    None,
                    "a Parquet file must start with PAR1 (this one starts with NUL bytes); skipped",
                ));
                return Ok(());
            }
        };
        if let Err(e) = result {
            sink.warning(origin.warning(None, format!("{e}; rest of the file skipped")));
        }
        Ok(())
    }
}
