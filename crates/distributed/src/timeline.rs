//! The case timeline over Parquet ([`ParquetTimeline`]): `kahu serve`'s
//! timeline queries answered by DataFusion from `CASE/timeline/` (written
//! by `kahu case parquet`, layout `kahu-case-timeline/1`) instead of
//! SQLite, for the query shapes where that is faster
//! (`kahu_case::route`).
//!
//! The plan: one DataFusion partition reading the timeline's files in
//! order (they are sorted by `(time, id)` and follow each other in time),
//! the query's filters pushed into the Parquet scan (row groups and pages
//! skipped by their `time`/`host`/… statistics, rows filtered before the
//! text column is decoded), and the stream dropped as soon as a page is
//! full: no sort, no scan past the page. Files the manifest shows to lie
//! wholly before the cursor or outside the time range are not opened.

use datafusion_common::arrow::array::{Array, AsArray};
use datafusion_common::arrow::compute::filter_record_batch;
use datafusion_common::arrow::datatypes::{Int64Type, Schema};
use datafusion_common::{Result as DfResult, ScalarValue};
use datafusion_datasource::PartitionedFile;
use datafusion_datasource::file_groups::FileGroup;
use datafusion_datasource::file_scan_config::FileScanConfigBuilder;
use datafusion_datasource::source::DataSourceExec;
use datafusion_datasource_parquet::source::ParquetSource;
use datafusion_execution::TaskContext;
use datafusion_execution::config::SessionConfig;
use datafusion_execution::object_store::ObjectStoreUrl;
use datafusion_expr_common::operator::Operator;
use datafusion_physical_expr::PhysicalExpr;
use datafusion_physical_expr::expressions::{BinaryExpr, LikeExpr, Literal, col, in_list};
use datafusion_physical_plan::ExecutionPlan;
use futures::StreamExt;
use kahu_case::{Cursor, EventQuery, IndexExtent, Routing, TimelineIndex};
use kahu_columnar::timeline::{TimelineManifest, read_manifest, timeline_schema};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The Parquet timeline of one case, read with DataFusion. Opening never
/// fails: a missing or damaged timeline is kept as the reason it cannot
/// be used, which [`TimelineIndex::extent`] reports, so the server falls
/// back to SQLite and says why.
pub struct ParquetTimeline {
    state: std::result::Result<Opened, String>,
    runtime: Option<tokio::runtime::Runtime>,
    routing: Routing,
    budget: Option<std::time::Duration>,
}

/// How long a Parquet page may take before SQLite answers instead
/// ([`ParquetTimeline::with_budget`]): the dense queries routed here take
/// 12–30 ms on 5–10M-event cases (docs/scale-out.md), SQLite 100–300 ms.
pub const PAGE_BUDGET: std::time::Duration = std::time::Duration::from_millis(60);

struct Opened {
    dir: PathBuf,
    manifest: TimelineManifest,
}

impl ParquetTimeline {
    /// The timeline in `case_dir/timeline/`, checked against its manifest
    /// (layout, file names, sizes) and each file's footer (layout key,
    /// schema).
    pub fn open(case_dir: &Path) -> ParquetTimeline {
        let found = if Self::exists(case_dir) {
            read_manifest(case_dir).map_err(|e| e.to_string())
        } else {
            Err(format!(
                "no Parquet timeline in {} (write it with `kahu case parquet {}`)",
                case_dir
                    .join(kahu_columnar::timeline::TIMELINE_DIR)
                    .display(),
                case_dir.display()
            ))
        };
        let state = found.and_then(|(dir, manifest)| {
            for f in &manifest.files {
                check_footer(&dir.join(&f.name))?;
            }
            Ok(Opened { dir, manifest })
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kahu-timeline")
            .build()
            .ok();
        ParquetTimeline {
            state,
            runtime,
            routing: Routing::default(),
            budget: Some(PAGE_BUDGET),
        }
    }

    /// Give up a page after `budget` (`None`: never; benchmarks) instead
    /// of [`PAGE_BUDGET`].
    pub fn with_budget(mut self, budget: Option<std::time::Duration>) -> Self {
        self.budget = budget;
        self
    }

    /// Route by other bounds than the measured defaults (tests; a
    /// machine measured otherwise).
    pub fn with_routing(mut self, routing: Routing) -> Self {
        self.routing = routing;
        self
    }

    /// Whether `case_dir` has a timeline (its manifest), usable or not.
    pub fn exists(case_dir: &Path) -> bool {
        case_dir
            .join(kahu_columnar::timeline::TIMELINE_DIR)
            .join(kahu_columnar::timeline::MANIFEST)
            .exists()
    }

    async fn page(&self, o: &Opened, q: &EventQuery, limit: usize) -> DfResult<Vec<Cursor>> {
        let schema = timeline_schema();
        let Some(predicate) = predicate(q, &schema)? else {
            return Ok(Vec::new());
        };
        let files: Vec<_> = o
            .manifest
            .files
            .iter()
            .filter(|f| q.after.is_none_or(|c| f.last > (c.ts, c.id)))
            .filter(|f| q.from.is_none_or(|from| f.last.0 >= from))
            .filter(|f| q.to.is_none_or(|to| f.first.0 < to))
            .collect();
        if files.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut group = Vec::with_capacity(files.len());
        for f in files {
            let location = object_store::path::Path::from_filesystem_path(o.dir.join(&f.name))
                .map_err(|e| datafusion_common::DataFusionError::External(Box::new(e)))?;
            group.push(PartitionedFile::new_from_meta(object_store::ObjectMeta {
                location,
                last_modified: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                size: f.bytes,
                e_tag: None,
                version: None,
            }));
        }
        let source = ParquetSource::new(schema.clone())
            .with_predicate(predicate.clone())
            .with_pushdown_filters(true)
            .with_reorder_filters(true)
            .with_enable_page_index(true);
        let scan = FileScanConfigBuilder::new(ObjectStoreUrl::local_filesystem(), Arc::new(source))
            .with_file_group(FileGroup::new(group))
            .build();
        let plan: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(scan);
        let mut config = SessionConfig::new().with_target_partitions(1);
        config
            .options_mut()
            .execution
            .enable_file_stream_work_stealing = false;
        let ctx = Arc::new(TaskContext::default().with_session_config(config));
        let mut stream = plan.execute(0, ctx)?;
        let mut keys = Vec::with_capacity(limit);
        // Past the budget the page is given up (SQLite answers): a common
        // term whose combination with the filters is rare makes the scan
        // read much of the timeline before a page is full.
        let (fire, mut deadline) = futures::channel::oneshot::channel::<()>();
        // Without a budget the sender is held to the end: dropped, it
        // would end the wait at once.
        let _hold = match self.budget {
            Some(budget) => {
                std::thread::spawn(move || {
                    std::thread::sleep(budget);
                    let _ = fire.send(());
                });
                None
            }
            None => Some(fire),
        };
        loop {
            let batch = match futures::future::select(stream.next(), &mut deadline).await {
                futures::future::Either::Left((Some(batch), _)) => batch,
                futures::future::Either::Left((None, _)) => break,
                futures::future::Either::Right(_) => {
                    return Err(datafusion_common::DataFusionError::Execution(format!(
                        "{} of {limit} events found within the {} ms budget (the filters together match few events)",
                        keys.len(),
                        self.budget.unwrap_or_default().as_millis()
                    )));
                }
            };
            // The scan's own filtering is an optimisation DataFusion may
            // apply in part; the predicate decides.
            let batch = batch?;
            let keep = predicate.evaluate(&batch)?.into_array(batch.num_rows())?;
            let batch = filter_record_batch(&batch, keep.as_boolean())?;
            let time = batch.column(0).as_primitive::<Int64Type>();
            let id = batch.column(1).as_primitive::<Int64Type>();
            for r in 0..batch.num_rows() {
                if time.is_null(r) || id.is_null(r) {
                    continue;
                }
                keys.push(Cursor {
                    ts: time.value(r),
                    id: id.value(r),
                });
                if keys.len() == limit {
                    return Ok(keys);
                }
            }
        }
        Ok(keys)
    }
}

fn check_footer(path: &Path) -> std::result::Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let layout = b
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| {
            kv.iter()
                .find(|k| k.key == kahu_columnar::schema::FORMAT_KEY)
                .and_then(|k| k.value.clone())
        });
    if layout.as_deref() != Some(kahu_columnar::timeline::TIMELINE_FORMAT) {
        return Err(format!(
            "{}: not a {} file (layout {layout:?})",
            path.display(),
            kahu_columnar::timeline::TIMELINE_FORMAT
        ));
    }
    let want = timeline_schema();
    let have = b.schema();
    let same = have.fields().len() == want.fields().len()
        && have
            .fields()
            .iter()
            .zip(want.fields())
            .all(|(h, w)| h.name() == w.name() && h.data_type() == w.data_type());
    if !same {
        return Err(format!(
            "{}: columns are not the timeline's",
            path.display()
        ));
    }
    Ok(())
}

impl Drop for ParquetTimeline {
    /// The server drops its state inside its own async runtime, where
    /// dropping another runtime the usual way (waiting for its threads)
    /// panics.
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl TimelineIndex for ParquetTimeline {
    fn name(&self) -> &'static str {
        "parquet"
    }

    fn routing(&self) -> Routing {
        self.routing
    }

    fn extent(&self) -> std::result::Result<IndexExtent, String> {
        let o = self.state.as_ref().map_err(Clone::clone)?;
        Ok(IndexExtent {
            events: o.manifest.events,
            max_id: o.manifest.max_id,
        })
    }

    fn page_keys(&self, q: &EventQuery, limit: usize) -> std::result::Result<Vec<Cursor>, String> {
        let o = self.state.as_ref().map_err(Clone::clone)?;
        let rt = self
            .runtime
            .as_ref()
            .ok_or("no async runtime for DataFusion could be started")?;
        rt.block_on(self.page(o, q, limit))
            .map_err(|e| format!("DataFusion: {e}"))
    }
}

fn lit(v: ScalarValue) -> Arc<dyn PhysicalExpr> {
    Arc::new(Literal::new(v))
}

fn bin(l: Arc<dyn PhysicalExpr>, op: Operator, r: Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
    Arc::new(BinaryExpr::new(l, op, r))
}

/// The filter of `q` (and its cursor) over the timeline columns; `None`
/// when nothing can match (a search of no words).
fn predicate(q: &EventQuery, schema: &Schema) -> DfResult<Option<Arc<dyn PhysicalExpr>>> {
    let i64v = |v: i64| lit(ScalarValue::Int64(Some(v)));
    let mut parts: Vec<Arc<dyn PhysicalExpr>> = Vec::new();
    let time = col("time", schema)?;
    let id = col("id", schema)?;
    if let Some(f) = q.from {
        parts.push(bin(time.clone(), Operator::GtEq, i64v(f)));
    }
    if let Some(t) = q.to {
        parts.push(bin(time.clone(), Operator::Lt, i64v(t)));
    }
    if let Some(c) = q.after {
        // (time, id) > (c.ts, c.id); `time >= c.ts` first, alone, so the
        // scan can skip by statistics.
        parts.push(bin(time.clone(), Operator::GtEq, i64v(c.ts)));
        parts.push(bin(
            bin(time.clone(), Operator::Gt, i64v(c.ts)),
            Operator::Or,
            bin(id, Operator::Gt, i64v(c.id)),
        ));
    }
    for (name, values) in [
        ("host", &q.hosts),
        ("channel", &q.channels),
        ("account", &q.accounts),
    ] {
        if values.is_empty() {
            continue;
        }
        let list = values
            .iter()
            .map(|v| lit(ScalarValue::Utf8(Some(kahu_case::fold_name(v)))))
            .collect();
        parts.push(in_list(col(name, schema)?, list, &false, schema)?);
    }
    if !q.event_ids.is_empty() {
        let list = q.event_ids.iter().map(|&e| i64v(e.into())).collect();
        parts.push(in_list(col("event_id", schema)?, list, &false, schema)?);
    }
    if let Some(terms) = kahu_case::search_terms(q) {
        let text = col("text", schema)?;
        for (phrases, negated) in [(&terms.include, false), (&terms.exclude, true)] {
            for p in phrases {
                parts.push(Arc::new(LikeExpr::new(
                    negated,
                    false,
                    text.clone(),
                    lit(ScalarValue::Utf8(Some(p.like_pattern()))),
                )));
            }
        }
    }
    Ok(Some(
        parts
            .into_iter()
            .reduce(|a, b| bin(a, Operator::And, b))
            .unwrap_or_else(|| lit(ScalarValue::Boolean(Some(true)))),
    ))
}

#[cfg(test)]
mod tests;
