//! kahu events as Parquet: the columnar form of evidence that query
//! engines (Apache DataFusion, Ballista) read, written by `kahu convert`
//! and read back by kahu itself as evidence.
//!
//! - [`schema`]: the Arrow schema of a shard (one row per event; flat
//!   columns for what engines filter on; fields as a pre-order node list
//!   that keeps order, duplicates, nesting and value types).
//! - [`ShardWriter`]: events into `day=YYYY-MM-DD/host=NAME/part-NNNNN.parquet`
//!   shards of bounded rows and bytes, in bounded memory, Snappy-compressed.
//! - [`read_shard`]: a shard back into the same events, every row checked.
//! - [`timeline`]: a case's timeline as Parquet (`kahu case parquet`),
//!   sorted by time, for the Parquet timeline of `kahu serve`.
//!
//! The shard code depends on `kahu-event` only, so `kahu-ingest` can read
//! shards as one more evidence format (its `columnar` feature); the
//! timeline reads the case store (`kahu-case`).

mod decode;
mod encode;
pub mod partition;
mod reader;
pub mod schema;
pub mod timeline;
mod writer;

pub use decode::{DecodeError, NodeProblem};
pub use encode::{MAX_EVENT_BYTES, SkipReason};
pub use partition::{PartitionKey, host_dir};
pub use reader::{
    BatchDecoder, MAX_COLUMN_CHUNK, PARQUET_MAGIC, ReadError, RowError, check_footer, read_shard,
};
pub use writer::{ShardInfo, ShardWriter, WriteError, WriteSummary, WriterOptions};
