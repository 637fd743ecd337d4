//! What a [`crate::SigmaExec`] partition sends back from a Ballista
//! executor: its findings, then one closing row — its counters and
//! correlation state, or why it failed. The client gathers them; a
//! partition without a closing row is incomplete and fails the hunt.

use crate::detect::{Detection, Excluded, PartitionState};
use crate::exec::{PartitionReport, detect_batch};
use datafusion_common::arrow::array::{ArrayRef, AsArray, StringBuilder, UInt32Builder};
use datafusion_common::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion_common::arrow::record_batch::RecordBatch;
use datafusion_common::{DataFusionError, Result};
use datafusion_execution::TaskContext;
use datafusion_physical_plan::stream::RecordBatchStreamAdapter;
use datafusion_physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use futures::{FutureExt, StreamExt};
use kahu_columnar::BatchDecoder;
use kahu_correlation::EngineState;
use kahu_finding::Finding;
use serde::{Deserialize, Serialize};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

/// A finding row (`json`: the finding).
const FINDING: &str = "finding";
/// A partition's closing row when it read all its input (`json`: [`WireReport`]).
const REPORT: &str = "report";
/// A partition's closing row when it could not (`json`: the reason).
const FAILED: &str = "failed";

/// The output schema of a [`crate::SigmaExec`] on a cluster.
pub fn cluster_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("partition", DataType::UInt32, false),
                Field::new("kind", DataType::Utf8, false),
                Field::new("json", DataType::Utf8, false),
            ]))
        })
        .clone()
}

/// A partition's counters and correlation state.
#[derive(Serialize, Deserialize)]
struct WireReport {
    events: u64,
    excluded: [u64; 3],
    /// Per rule set, its engine's state (`None`: no correlation there).
    engines: Vec<Option<EngineState>>,
}

/// One partition's stream on an executor: findings as they come, then the
/// closing row. An input error, a row that breaks the layout or a panic
/// in the decoder ends the partition with a `failed` row (the client drops
/// its findings and reads its shards again with kahu's reader, as the
/// single-node engine does).
pub(crate) fn execute(
    input: Arc<dyn ExecutionPlan>,
    partition: usize,
    context: Arc<TaskContext>,
    detection: Arc<Detection>,
) -> SendableRecordBatchStream {
    let p = partition as u32;
    let started = match input.execute(partition, context) {
        Ok(stream) => Ok((
            stream,
            PartitionState::new(&detection),
            BatchDecoder::default(),
        )),
        Err(e) => Err(e.to_string()),
    };
    let stream = futures::stream::unfold(Some(started), move |st| {
        let detection = detection.clone();
        async move {
            let (mut input, mut state, mut decoder) = match st? {
                Ok(s) => s,
                Err(reason) => return Some((rows(p, FAILED, [reason]), None)),
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
                                let out = finding_rows(p, &std::mem::take(&mut state.findings));
                                return Some((out, Some(Ok((input, state, decoder)))));
                            }
                            Ok(Err(e)) => e.to_string(),
                            Err(_) => "the shard decoder failed (panic)".to_string(),
                        }
                    }
                    Ok(Some(Err(e))) => e.to_string(),
                    Err(_) => "the Parquet reader failed (panic)".to_string(),
                    Ok(None) => {
                        let report = WireReport {
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
                        let out = serde_json::to_string(&report)
                            .map_err(|e| DataFusionError::External(Box::new(e)))
                            .and_then(|text| rows(p, REPORT, [text]));
                        return Some((out, None));
                    }
                };
                return Some((rows(p, FAILED, [failed]), None));
            }
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(cluster_schema(), stream))
}

fn finding_rows(p: u32, findings: &[Finding]) -> Result<RecordBatch> {
    let texts = findings
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    rows(p, FINDING, texts)
}

fn rows(p: u32, kind: &str, texts: impl IntoIterator<Item = String>) -> Result<RecordBatch> {
    let mut part = UInt32Builder::new();
    let mut kinds = StringBuilder::new();
    let mut json = StringBuilder::new();
    for t in texts {
        part.append_value(p);
        kinds.append_value(kind);
        json.append_value(t);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(part.finish()),
        Arc::new(kinds.finish()),
        Arc::new(json.finish()),
    ];
    Ok(RecordBatch::try_new(cluster_schema(), columns)?)
}

/// What the client gathered for one partition.
#[derive(Default)]
pub(crate) struct Gathered {
    pub findings: Vec<Finding>,
    /// The closing row: its report, or why the partition failed.
    pub closing: Option<Result<PartitionReport, String>>,
}

/// Sort the rows of `batch` into their partitions (`parts`, one entry per
/// planned partition). The correlation state is merged into engines of
/// `detection`'s rule sets, so the client's gather step takes it as it
/// takes a local partition's. A row naming a partition that was not
/// planned, a second closing row or unreadable JSON is an error: the
/// results cannot be trusted as complete.
pub(crate) fn gather_rows(
    batch: &RecordBatch,
    detection: &Detection,
    parts: &mut [Gathered],
) -> std::result::Result<(), String> {
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| format!("result without its {name} column"))
    };
    let part = col("partition")?
        .as_primitive_opt::<datafusion_common::arrow::datatypes::UInt32Type>()
        .ok_or("partition column of another type")?;
    let kind = col("kind")?
        .as_string_opt::<i32>()
        .ok_or("kind column of another type")?;
    let json = col("json")?
        .as_string_opt::<i32>()
        .ok_or("json column of another type")?;
    for i in 0..batch.num_rows() {
        let p = part.value(i) as usize;
        let slot = parts
            .get_mut(p)
            .ok_or_else(|| format!("a result row for partition {p}, which was not planned"))?;
        if slot.closing.is_some() {
            return Err(format!("partition {p} sent rows after its closing row"));
        }
        let text = json.value(i);
        match kind.value(i) {
            FINDING => slot.findings.push(
                serde_json::from_str(text).map_err(|e| format!("partition {p}: finding: {e}"))?,
            ),
            FAILED => slot.closing = Some(Err(text.to_string())),
            REPORT => {
                let r: WireReport = serde_json::from_str(text)
                    .map_err(|e| format!("partition {p}: report: {e}"))?;
                slot.closing = Some(Ok(
                    report(r, detection).map_err(|e| format!("partition {p}: {e}"))?
                ));
            }
            other => return Err(format!("partition {p}: unknown row kind {other:?}")),
        }
    }
    Ok(())
}

/// A wire report as the local gather step's [`PartitionReport`].
fn report(r: WireReport, detection: &Detection) -> std::result::Result<PartitionReport, String> {
    if r.engines.len() != detection.rules.len() {
        return Err(format!(
            "{} rule sets in the report, {} here",
            r.engines.len(),
            detection.rules.len()
        ));
    }
    let mut engines = Vec::with_capacity(r.engines.len());
    for (set, state) in detection.rules.iter().zip(r.engines) {
        engines.push(match (set.partition_engine(), state) {
            (Some(mut e), Some(s)) => {
                e.merge_state(s).map_err(|e| e.to_string())?;
                Some(e)
            }
            (None, None) => None,
            _ => return Err("correlation rules differ between executor and client".into()),
        });
    }
    Ok(PartitionReport {
        engines,
        events: r.events,
        excluded: Excluded {
            time: r.excluded[0],
            undated: r.excluded[1],
            selection: r.excluded[2],
        },
    })
}
