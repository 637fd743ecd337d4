//! [`SigmaExec`]: kahu's detectors as a DataFusion physical plan node.

use crate::detect::{Detection, Excluded, PartitionState};
use datafusion_common::arrow::array::{
    ArrayRef, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use datafusion_common::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion_common::arrow::record_batch::RecordBatch;
use datafusion_common::tree_node::TreeNodeRecursion;
use datafusion_common::{DataFusionError, Result};
use datafusion_execution::TaskContext;
use datafusion_physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion_physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion_physical_plan::stream::RecordBatchStreamAdapter;
use datafusion_physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties,
    Partitioning, PlanProperties, ReplaceChildrenOptions, SendableRecordBatchStream,
};
use futures::StreamExt;
use kahu_columnar::BatchDecoder;
use kahu_correlation::CorrelationEngine;
use kahu_finding::Finding;
use std::sync::{Arc, Mutex, OnceLock};

/// Column of [`finding_schema`] holding the whole finding as JSON (the
/// other columns repeat its main members for queries).
pub const FINDING_JSON: &str = "finding";

/// The schema of [`SigmaExec`]'s output: one row per finding.
pub fn finding_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("rule_id", DataType::Utf8, false),
                Field::new("level", DataType::Utf8, false),
                Field::new(
                    "time",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    true,
                ),
                Field::new("host", DataType::Utf8, true),
                Field::new("file", DataType::Utf8, false),
                Field::new("location", DataType::UInt64, true),
                Field::new(FINDING_JSON, DataType::Utf8, false),
            ]))
        })
        .clone()
}

/// What a partition leaves for the gather step when its input is done:
/// its correlation state and counters (findings went out as rows).
pub(crate) struct PartitionReport {
    pub engines: Vec<Option<CorrelationEngine>>,
    pub events: u64,
    pub excluded: Excluded,
}

/// Where partitions leave their [`PartitionReport`], by partition number.
#[derive(Default)]
pub(crate) struct Gather {
    slots: Mutex<Vec<Option<PartitionReport>>>,
}

impl Gather {
    fn put(&self, partition: usize, report: PartitionReport) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() <= partition {
            slots.resize_with(partition + 1, || None);
        }
        slots[partition] = Some(report);
    }

    /// The report of a partition whose stream ended without error.
    pub fn take(&self, partition: usize) -> Option<PartitionReport> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.get_mut(partition).and_then(Option::take)
    }
}

/// Runs kahu's detectors over the events of its input's record batches
/// (which must have the `kahu-events/1` shard schema) and emits one row
/// per finding ([`finding_schema`]). One output partition per input
/// partition; partitions run independently. Correlation is not finished
/// here: each partition's correlation engine is left for the gather step
/// (see [`crate::hunt`]) when its input ends without error.
#[derive(Debug)]
pub struct SigmaExec {
    input: Arc<dyn ExecutionPlan>,
    detection: Arc<Detection>,
    gather: Arc<Gather>,
    props: Arc<PlanProperties>,
    /// Set when the node runs on a Ballista cluster: what executors rebuild
    /// `detection` from, and the output is [`crate::wire::cluster_schema`].
    #[cfg(feature = "cluster")]
    spec: Option<Arc<[u8]>>,
}

impl std::fmt::Debug for Detection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detection")
            .field("rule_sets", &self.rules.len())
            .field("indicators", &self.iocs.len())
            .finish()
    }
}

impl std::fmt::Debug for Gather {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gather")
    }
}

impl SigmaExec {
    /// Detection over `input`'s batches.
    pub fn new(input: Arc<dyn ExecutionPlan>, detection: Arc<Detection>) -> Self {
        Self::with_gather(input, detection, Arc::default())
    }

    pub(crate) fn with_gather(
        input: Arc<dyn ExecutionPlan>,
        detection: Arc<Detection>,
        gather: Arc<Gather>,
    ) -> Self {
        SigmaExec {
            props: Self::props(&input, finding_schema()),
            input,
            detection,
            gather,
            #[cfg(feature = "cluster")]
            spec: None,
        }
    }

    fn props(input: &Arc<dyn ExecutionPlan>, schema: SchemaRef) -> Arc<PlanProperties> {
        let partitions = input.output_partitioning().partition_count();
        Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ))
    }

    /// Detection over `input`'s batches on a Ballista cluster: `spec` is
    /// what executors rebuild `detection` from (see
    /// [`crate::cluster::KahuCodec`]). Each partition's findings, then its
    /// correlation state and counters (or why it failed) leave as rows of
    /// [`crate::wire::cluster_schema`], for the client's gather step.
    #[cfg(feature = "cluster")]
    pub fn for_cluster(
        input: Arc<dyn ExecutionPlan>,
        detection: Arc<Detection>,
        spec: Arc<[u8]>,
    ) -> Self {
        SigmaExec {
            props: Self::props(&input, crate::wire::cluster_schema()),
            input,
            detection,
            gather: Arc::default(),
            spec: Some(spec),
        }
    }

    /// The cluster spec, when the node runs on a cluster.
    #[cfg(feature = "cluster")]
    pub fn spec(&self) -> Option<&Arc<[u8]>> {
        self.spec.as_ref()
    }

    pub(crate) fn gather(&self) -> &Arc<Gather> {
        &self.gather
    }
}

impl DisplayAs for SigmaExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "SigmaExec: rule_sets={}, indicators={}",
            self.detection.rules.len(),
            self.detection.iocs.len()
        )
    }
}

impl ExecutionPlan for SigmaExec {
    fn name(&self) -> &'static str {
        "SigmaExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [input] = <[_; 1]>::try_from(children).map_err(|c| {
            DataFusionError::Internal(format!("SigmaExec takes one input, given {}", c.len()))
        })?;
        #[cfg(feature = "cluster")]
        if let Some(spec) = &self.spec {
            return Ok(Arc::new(SigmaExec::for_cluster(
                input,
                self.detection.clone(),
                spec.clone(),
            )));
        }
        Ok(Arc::new(SigmaExec::with_gather(
            input,
            self.detection.clone(),
            self.gather.clone(),
        )))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        #[cfg(feature = "cluster")]
        if self.spec.is_some() {
            return Ok(crate::wire::execute(
                self.input.clone(),
                partition,
                context,
                self.detection.clone(),
            ));
        }
        let input = self.input.execute(partition, context)?;
        let detection = self.detection.clone();
        let gather = self.gather.clone();
        let state = PartitionState::new(&detection);
        let start = Some((input, state, BatchDecoder::default()));
        let stream = futures::stream::unfold(start, move |st| {
            let detection = detection.clone();
            let gather = gather.clone();
            async move {
                let (mut input, mut state, mut decoder) = st?;
                loop {
                    match input.next().await {
                        Some(Ok(batch)) => {
                            if let Err(e) =
                                detect_batch(&detection, &mut state, &mut decoder, &batch)
                            {
                                return Some((Err(e), None));
                            }
                            if state.findings.is_empty() {
                                continue;
                            }
                            let out = finding_batch(&std::mem::take(&mut state.findings));
                            return Some((out, Some((input, state, decoder))));
                        }
                        // Stop at the first error: the driver drops this
                        // partition's findings and reads its shards again.
                        Some(Err(e)) => return Some((Err(e), None)),
                        None => {
                            gather.put(
                                partition,
                                PartitionReport {
                                    engines: state.engines,
                                    events: state.events,
                                    excluded: state.excluded,
                                },
                            );
                            return None;
                        }
                    }
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            finding_schema(),
            stream,
        )))
    }
}

/// Decode `batch` and run the detectors on each event. A row that breaks
/// the layout fails the partition (so its shards are re-read by the
/// reader that names shard and row), rather than being skipped unnamed.
pub(crate) fn detect_batch(
    detection: &Detection,
    state: &mut PartitionState,
    decoder: &mut BatchDecoder,
    batch: &RecordBatch,
) -> Result<()> {
    let mut bad = None;
    decoder
        .decode(batch, |item| match item {
            Ok(event) => {
                state.event(detection, &event);
                true
            }
            Err(row) => {
                bad = Some(row);
                false
            }
        })
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    match bad {
        Some(row) => Err(DataFusionError::External(Box::new(row))),
        None => Ok(()),
    }
}

/// Findings as rows of [`finding_schema`].
pub(crate) fn finding_batch(findings: &[Finding]) -> Result<RecordBatch> {
    let mut rule = StringBuilder::new();
    let mut level = StringBuilder::new();
    let mut time = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut host = StringBuilder::new();
    let mut file = StringBuilder::new();
    let mut location = UInt64Builder::new();
    let mut json = StringBuilder::new();
    for f in findings {
        rule.append_value(&f.rule_id);
        level.append_value(f.level.to_string());
        time.append_option(f.timestamp.map(|t| t.timestamp_micros()));
        host.append_option(f.host.as_deref());
        file.append_value(&f.provenance.file);
        location.append_option(match f.provenance.location {
            kahu_event::Location::Record(n)
            | kahu_event::Location::Line(n)
            | kahu_event::Location::Offset(n) => Some(n),
            kahu_event::Location::File => None,
        });
        let text = serde_json::to_string(f).map_err(|e| DataFusionError::External(Box::new(e)))?;
        json.append_value(text);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rule.finish()),
        Arc::new(level.finish()),
        Arc::new(time.finish()),
        Arc::new(host.finish()),
        Arc::new(file.finish()),
        Arc::new(location.finish()),
        Arc::new(json.finish()),
    ];
    Ok(RecordBatch::try_new(finding_schema(), columns)?)
}

/// Findings back from rows of [`finding_schema`].
pub(crate) fn batch_findings(batch: &RecordBatch, out: &mut Vec<Finding>) -> Result<()> {
    use datafusion_common::arrow::array::AsArray;
    let col = batch
        .column_by_name(FINDING_JSON)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| {
            DataFusionError::Internal("SigmaExec output without its finding column".into())
        })?;
    for text in col.iter().flatten() {
        let f: Finding =
            serde_json::from_str(text).map_err(|e| DataFusionError::External(Box::new(e)))?;
        out.push(f);
    }
    Ok(())
}
