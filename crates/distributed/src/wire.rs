//! What a [`crate::SigmaExec`] partition sends back from a Ballista
//! executor: its findings, then one closing row — its counters, how many
//! findings it sent and their digest, and its correlation state, or why it
//! failed. The client gathers them ([`crate::collect`]); a partition
//! without a complete output fails the hunt.
//!
//! Every row names its partition by *what it read*, not by a number:
//! Ballista 55 restricts each task's plan to its slice of partitions, so
//! `execute(k)` on an executor gets a task-local `k` (two tasks both run a
//! "partition 0"). The row's `group` is a digest of the partition's file
//! group as the executor's plan holds it; the client maps it to the group
//! it planned (an unknown digest fails the hunt). `run` tells one
//! execution from another (a retried task), `seq` orders a run's rows so
//! the client can check it has each exactly once, whatever the order and
//! however often Ballista delivers them.

use crate::detect::{Detection, PartitionState};
use crate::exec::detect_batch;
use datafusion_common::arrow::array::{ArrayRef, StringBuilder, UInt64Builder};
use datafusion_common::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion_common::arrow::record_batch::RecordBatch;
use datafusion_common::{DataFusionError, Result};
use datafusion_datasource::file_scan_config::FileScanConfig;
use datafusion_datasource::source::DataSourceExec;
use datafusion_execution::TaskContext;
use datafusion_physical_plan::stream::RecordBatchStreamAdapter;
use datafusion_physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use futures::{FutureExt, StreamExt};
use kahu_columnar::BatchDecoder;
use kahu_correlation::EngineState;
use kahu_finding::Finding;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// A finding row (`json`: the finding; `seq`: its number in the run, from 0).
pub(crate) const FINDING: &str = "finding";
/// A partition's closing row when it read all its input (`json`:
/// [`WireReport`]; `seq`: the number of finding rows the run sent).
pub(crate) const REPORT: &str = "report";
/// A partition's closing row when it could not (`json`: the reason).
pub(crate) const FAILED: &str = "failed";

/// The output schema of a [`crate::SigmaExec`] on a cluster.
pub fn cluster_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("group", DataType::Utf8, false),
                Field::new("run", DataType::Utf8, false),
                Field::new("seq", DataType::UInt64, false),
                Field::new("kind", DataType::Utf8, false),
                Field::new("json", DataType::Utf8, false),
            ]))
        })
        .clone()
}

/// A partition's counters and correlation state.
#[derive(Serialize, Deserialize)]
pub(crate) struct WireReport {
    /// Finding rows the run sent (`seq` 0 .. findings).
    pub findings: u64,
    /// [`RowDigest`] of those rows, hex.
    pub digest: String,
    pub events: u64,
    pub excluded: [u64; 3],
    /// Per rule set, its engine's state (`None`: no correlation there).
    pub engines: Vec<Option<EngineState>>,
}

/// The digest of a run's finding rows that does not depend on the order
/// they arrive in: the sum (mod 2^256, as two 128-bit lanes) of
/// SHA-256(`seq` ‖ `json`) over the rows. Kept per distinct `seq`, so a
/// row delivered twice counts once.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowDigest([u128; 2]);

impl RowDigest {
    /// The hash one row adds.
    pub fn row(seq: u64, json: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(seq.to_le_bytes());
        h.update(json.as_bytes());
        h.finalize().into()
    }

    pub fn add(&mut self, row: &[u8; 32]) {
        let (a, b) = row.split_at(16);
        let lane = |s: &[u8]| u128::from_le_bytes(s.try_into().unwrap_or([0; 16]));
        self.0[0] = self.0[0].wrapping_add(lane(a));
        self.0[1] = self.0[1].wrapping_add(lane(b));
    }

    pub fn hex(&self) -> String {
        format!("{:032x}{:032x}", self.0[0], self.0[1])
    }
}

/// The identity of partition `partition` of `input` (a Parquet scan): the
/// SHA-256 of its files' locations, sizes and byte ranges, in order, hex.
/// The client computes it on the plan it submits, the executor on the
/// plan it runs; they agree only if the executor reads exactly the group
/// the client planned.
pub(crate) fn group_key(
    input: &Arc<dyn ExecutionPlan>,
    partition: usize,
) -> std::result::Result<String, String> {
    let scan = input
        .downcast_ref::<DataSourceExec>()
        .and_then(|d| d.data_source().downcast_ref::<FileScanConfig>())
        .ok_or_else(|| format!("SigmaExec over {} instead of a Parquet scan", input.name()))?;
    let group = scan.file_groups.get(partition).ok_or_else(|| {
        format!(
            "partition {partition} of a scan of {} file groups",
            scan.file_groups.len()
        )
    })?;
    let mut h = Sha256::new();
    for f in group.iter() {
        h.update(f.object_meta.location.as_ref().as_bytes());
        h.update(format!("\t{}", f.object_meta.size).as_bytes());
        if let Some(r) = &f.range {
            h.update(format!("\t{}-{}", r.start, r.end).as_bytes());
        }
        h.update(b"\n");
    }
    Ok(hex::encode(h.finalize()))
}

/// A name for one execution of one partition, unique enough to tell a
/// retried task's output from the first attempt's: process, clock, count.
fn run_id() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where a run's rows are labelled and counted.
struct Out {
    group: String,
    run: String,
    sent: u64,
    digest: RowDigest,
}

/// One partition's stream on an executor: findings as they come, then the
/// closing row. An input error, a row that breaks the layout or a panic
/// in the decoder ends the partition with a `failed` row (the client drops
/// its findings and reads its shards again with kahu's reader, as the
/// single-node engine does). A partition that cannot name its shards
/// sends one `failed` row with an empty `group`, which fails the hunt.
pub(crate) fn execute(
    input: Arc<dyn ExecutionPlan>,
    partition: usize,
    context: Arc<TaskContext>,
    detection: Arc<Detection>,
) -> SendableRecordBatchStream {
    let out = |group: String| Out {
        group,
        run: run_id(),
        sent: 0,
        digest: RowDigest::default(),
    };
    let started = match group_key(&input, partition) {
        Err(reason) => Err(rows(
            &out(String::new()),
            FAILED,
            [format!(
                "the executor cannot name its partition's shards: {reason}"
            )],
        )),
        Ok(group) => {
            let out = out(group);
            match input.execute(partition, context) {
                Ok(stream) => Ok((
                    stream,
                    PartitionState::new(&detection),
                    BatchDecoder::default(),
                    out,
                )),
                Err(e) => Err(rows(&out, FAILED, [e.to_string()])),
            }
        }
    };
    let stream = futures::stream::unfold(Some(started), move |st| {
        let detection = detection.clone();
        async move {
            let (mut input, mut state, mut decoder, mut out) = match st? {
                Ok(s) => s,
                Err(closing) => return Some((closing, None)),
            };
            loop {
                let next = AssertUnwindSafe(input.next()).catch_unwind().await;
                let failed = match next {
                    Ok(Some(Ok(batch))) => {
                        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            detect_batch(&detection, &mut state, &mut decoder, &batch)
                        }));
                        match run {
                            Ok(Ok(())) if state.findings.is_empty() => continue,
                            Ok(Ok(())) => {
                                let rows =
                                    finding_rows(&mut out, &std::mem::take(&mut state.findings));
                                return Some((rows, Some(Ok((input, state, decoder, out)))));
                            }
                            Ok(Err(e)) => e.to_string(),
                            Err(_) => "the shard decoder failed (panic)".to_string(),
                        }
                    }
                    Ok(Some(Err(e))) => e.to_string(),
                    Err(_) => "the Parquet reader failed (panic)".to_string(),
                    Ok(None) => return Some((closing_row(&out, state), None)),
                };
                return Some((rows(&out, FAILED, [failed]), None));
            }
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(cluster_schema(), stream))
}

/// The `report` row of a run that read all its input.
fn closing_row(out: &Out, state: PartitionState) -> Result<RecordBatch> {
    let report = WireReport {
        findings: out.sent,
        digest: out.digest.hex(),
        events: state.events,
        excluded: [
            state.excluded.time,
            state.excluded.undated,
            state.excluded.selection,
        ],
        engines: state
            .engines
            .into_iter()
            .map(|e| e.map(kahu_correlation::CorrelationEngine::into_state))
            .collect(),
    };
    let text =
        serde_json::to_string(&report).map_err(|e| DataFusionError::External(Box::new(e)))?;
    rows(out, REPORT, [text])
}

/// Finding rows, numbered on from the run's last and added to its digest.
fn finding_rows(out: &mut Out, findings: &[Finding]) -> Result<RecordBatch> {
    let texts = findings
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    let batch = rows(out, FINDING, texts.iter().cloned())?;
    for t in &texts {
        out.digest.add(&RowDigest::row(out.sent, t));
        out.sent += 1;
    }
    Ok(batch)
}

/// Rows of one kind: finding rows take `seq` from `out.sent` on, a closing
/// row `seq` = `out.sent` (the number of findings before it).
fn rows(out: &Out, kind: &str, texts: impl IntoIterator<Item = String>) -> Result<RecordBatch> {
    let mut group = StringBuilder::new();
    let mut run = StringBuilder::new();
    let mut seq = UInt64Builder::new();
    let mut kinds = StringBuilder::new();
    let mut json = StringBuilder::new();
    for (i, t) in texts.into_iter().enumerate() {
        group.append_value(&out.group);
        run.append_value(&out.run);
        seq.append_value(if kind == FINDING {
            out.sent + i as u64
        } else {
            out.sent
        });
        kinds.append_value(kind);
        json.append_value(t);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(group.finish()),
        Arc::new(run.finish()),
        Arc::new(seq.finish()),
        Arc::new(kinds.finish()),
        Arc::new(json.finish()),
    ];
    Ok(RecordBatch::try_new(cluster_schema(), columns)?)
}
