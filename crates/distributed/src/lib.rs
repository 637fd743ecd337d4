//! kahu's detection on Apache DataFusion: Sigma and IOC matching over the
//! Parquet shards `kahu convert` writes (layout `kahu-events/1`), as a
//! DataFusion execution plan.
//!
//! - [`SigmaExec`]: a physical plan node over a Parquet scan that decodes
//!   each record batch back into events with `kahu-columnar`'s decoder
//!   (the code its round-trip test covers) and runs kahu's compiled rule
//!   sets and indicators on them — the same matcher as the embedded
//!   engine, so the semantics are the same by construction; no Sigma is
//!   translated to SQL. It emits one row per finding.
//! - [`hunt`]: the driver. Lists the shards, checks each footer (a file
//!   that is not a kahu shard is a warning naming it), skips shards no
//!   loaded rule can apply to (log-source routing, from the footers'
//!   statistics, only where provably safe), scans the rest with
//!   DataFusion's Parquet source in `target_partitions` parallel partitions,
//!   and gathers the correlation state of every partition in one place
//!   where `kahu-correlation` finishes it as in the embedded engine.
//!
//! - Shards in an object store: a path given to [`hunt`] may be a
//!   `file:///…` URL, or `s3://bucket/prefix/` with the `object-store`
//!   feature (`store`); DataFusion and the driver read them through the
//!   store, and on a cluster every executor opens it from its own AWS
//!   environment.
//!
//! - [`timeline::ParquetTimeline`]: `kahu serve`'s timeline queries over
//!   the Parquet timeline of a case (`kahu case parquet`), where measured
//!   faster than SQLite (`kahu_case::route`).
//!
//! - [`cluster`] (feature `cluster`): the same plan on an Apache
//!   DataFusion Ballista cluster, with the codec that carries `SigmaExec`
//!   to kahu's own executors.
//!
//! A partition DataFusion cannot finish (a damaged shard, a decoder
//! panic, a row that breaks the layout) is not lost and not half-counted:
//! its findings are dropped and its shards are read again, one by one,
//! with `kahu-columnar`'s own reader, which names the shard (and row) at
//! fault and keeps every readable row.

#[cfg(feature = "cluster")]
pub mod cluster;
#[cfg(all(test, feature = "cluster"))]
mod cluster_tests;
#[cfg(feature = "cluster")]
mod collect;
mod detect;
mod exec;
mod routing;
mod run;
mod store;
#[cfg(test)]
mod store_tests;
#[cfg(test)]
mod tests;
pub mod timeline;
#[cfg(feature = "cluster")]
pub mod wire;

pub use detect::{Detection, Excluded};
pub use exec::{SigmaExec, finding_schema};
pub use routing::rule_products;
pub use run::{Error, HuntOptions, HuntOutput, ShardWarning, hunt};
