//! The driver: shards → footers checked → routing → DataFusion scan with
//! [`SigmaExec`] → findings, with the correlation gather step.

use crate::detect::{Detection, Excluded, PartitionState};
use crate::exec::{Gather, PartitionReport, SigmaExec, batch_findings};
use crate::routing::{rule_products, shard_may_match};
use crate::store::Stores;
use datafusion_common::DataFusionError;
use datafusion_datasource::PartitionedFile;
use datafusion_datasource::file_groups::FileGroup;
use datafusion_datasource::file_scan_config::FileScanConfigBuilder;
use datafusion_datasource::source::DataSourceExec;
use datafusion_datasource_parquet::source::ParquetSource;
use datafusion_execution::TaskContext;
use datafusion_execution::config::SessionConfig;
use datafusion_execution::runtime_env::RuntimeEnv;
use datafusion_physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use futures::StreamExt;
use kahu_correlation::{CorrelationEngine, Outcome};
use kahu_finding::Finding;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to run a hunt.
#[derive(Debug, Clone)]
pub struct HuntOptions {
    /// DataFusion's `target_partitions`: shards are split into this many
    /// groups scanned in parallel (0: the number of CPUs).
    pub partitions: usize,
    /// Skip shards no loaded rule can apply to (when provably safe).
    pub routing: bool,
    /// Most objects one object store URL may list (a listing over it is
    /// an error, not a partial read).
    pub max_objects: usize,
}

impl Default for HuntOptions {
    /// Every CPU, routing on, 100,000 objects per URL (`kahu-remote`'s cap).
    fn default() -> Self {
        HuntOptions {
            partitions: 0,
            routing: true,
            max_objects: 100_000,
        }
    }
}

/// A problem with a shard that did not stop the hunt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardWarning {
    /// The shard (or the file that is not one).
    pub file: PathBuf,
    /// 1-based row in the shard, when one row is at fault.
    pub row: Option<u64>,
    /// What is wrong, in words.
    pub reason: String,
}

/// What a hunt produced.
#[derive(Debug, Default)]
pub struct HuntOutput {
    /// Detection and indicator findings, in no particular order (not
    /// correlation findings: those are in [`HuntOutput::correlation`]).
    pub findings: Vec<Finding>,
    /// Per rule set (in [`Detection::rules`] order), the gathered
    /// correlation engine's outcome: findings, warnings of caps that bit.
    pub correlation: Vec<Outcome>,
    /// Problems with shards.
    pub warnings: Vec<ShardWarning>,
    /// Events in the shards: decoded, plus the rows of shards routing
    /// skipped (counted from their footers).
    pub events: u64,
    /// Events left out by [`Detection::filter`] (of those decoded).
    pub excluded: Excluded,
    /// Files found under the paths, with their sizes.
    pub files: Vec<(PathBuf, u64)>,
    /// Shards skipped by routing, and their rows.
    pub routed_out: (usize, u64),
    /// Partitions the scan ran in.
    pub partitions: usize,
    /// Shards read again with kahu's reader after DataFusion failed on
    /// their partition.
    pub reread: usize,
    /// Why each such partition failed, as DataFusion said.
    pub failed_partitions: Vec<String>,
}

/// Why a hunt could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// DataFusion could not plan the scan.
    #[error("DataFusion: {0}")]
    DataFusion(#[from] DataFusionError),
    /// The async runtime could not start.
    #[error("cannot start the query runtime: {0}")]
    Runtime(std::io::Error),
    /// A path is missing.
    #[error("{0} does not exist")]
    Missing(PathBuf),
    /// An object store URL this run cannot use with the others (one
    /// store per run), or one DataFusion refuses.
    #[error("{url}: {reason}")]
    Store {
        /// The URL as given.
        url: String,
        /// What is wrong, with the store's own error.
        reason: String,
    },
    /// An object store URL that cannot be read (kahu-remote's reasons:
    /// not a URL kahu reads, a store that cannot be opened or listed,
    /// nothing under the prefix, too many objects).
    #[error(transparent)]
    Remote(#[from] kahu_remote::RemoteError),
    /// A shard in an object store could not be fetched or read: the hunt
    /// stops rather than report the store's events as read (see
    /// `crate::store`).
    #[error("{object}{}: {reason}; the hunt stops (nothing is reported from an incomplete read of the store)", .row.map(|r| format!(", row {r}")).unwrap_or_default())]
    Shard {
        /// The object's URL.
        object: String,
        /// 1-based row, when one row is at fault.
        row: Option<u64>,
        /// What is wrong.
        reason: String,
    },
    /// The cluster could not run the query, or did not return every
    /// partition's results: nothing is reported as complete.
    #[error("Ballista cluster: {0}")]
    Cluster(String),
}

/// Run `detection` over every kahu Parquet shard under `paths` on
/// DataFusion. A path may be an object store URL (`file:///abs/path/`,
/// and `s3://bucket/prefix/` with the `object-store` feature) when it
/// does not exist as a local path; one store per call. `done` is called
/// with the on-disk bytes of each group of shards as it finishes
/// (progress).
pub fn hunt(
    paths: &[PathBuf],
    detection: Arc<Detection>,
    opts: &HuntOptions,
    done: &(dyn Fn(u64) + Sync),
) -> Result<HuntOutput, Error> {
    hunt_with(paths, detection, opts, done, Scanner::Local)
}

/// Where the scan runs.
pub(crate) enum Scanner {
    /// In this process, on DataFusion.
    Local,
    /// On a Ballista cluster: the scheduler's `HOST:PORT` and the rules as
    /// executors rebuild them (see `crate::cluster`).
    #[cfg(feature = "cluster")]
    Cluster { scheduler: String, spec: Arc<[u8]> },
}

/// [`hunt`] with the scan run by `scanner`.
pub(crate) fn hunt_with(
    paths: &[PathBuf],
    detection: Arc<Detection>,
    opts: &HuntOptions,
    done: &(dyn Fn(u64) + Sync),
    scanner: Scanner,
) -> Result<HuntOutput, Error> {
    let mut out = HuntOutput::default();
    // Partitions are tasks; more threads than CPUs would only contend.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let partitions = match opts.partitions {
        0 => cpus,
        n => n,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(partitions.min(cpus).max(1))
        .thread_name("kahu-datafusion")
        // The cluster client (gRPC) and object stores need the I/O and
        // timer drivers.
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let (files, mut warnings, stores) =
        crate::store::list(paths, opts.max_objects, runtime.handle().clone())?;
    out.files = files.clone();
    let products = if opts.routing {
        rule_products(&detection)
    } else {
        None
    };
    let mut shards = Vec::new();
    for (path, size) in files {
        match footer(&stores, &path, size) {
            Err(reason) => {
                warnings.push(ShardWarning {
                    file: path,
                    row: None,
                    reason,
                });
                stores.fail_on_damage(&warnings)?;
                done(size);
            }
            Ok((rows, may_match)) => {
                if products.is_some() && !may_match(products.as_deref().unwrap_or_default()) {
                    out.routed_out.0 += 1;
                    out.routed_out.1 += rows;
                    done(size);
                } else {
                    shards.push((path, size));
                }
            }
        }
    }
    out.events = out.routed_out.1;
    let mut merged: Vec<Option<CorrelationEngine>> = detection
        .rules
        .iter()
        .map(|r| r.partition_engine())
        .collect();
    if !shards.is_empty() {
        let scanned = match scanner {
            Scanner::Local => {
                runtime.block_on(scan(&stores, &shards, detection.clone(), partitions, done))?
            }
            #[cfg(feature = "cluster")]
            Scanner::Cluster { scheduler, spec } => runtime.block_on(crate::cluster::scan(
                &scheduler,
                spec,
                &stores,
                &shards,
                detection.clone(),
                partitions,
                done,
            ))?,
        };
        out.partitions = scanned.groups.len();
        for (group, result) in scanned.groups.iter().zip(scanned.results) {
            match result {
                Ok((findings, report)) => {
                    out.findings.extend(findings);
                    absorb(&mut out, &mut merged, report);
                }
                Err(e) => {
                    out.failed_partitions.push(e.clone());
                    tracing::warn!(error = %e, shards = group.len(), "DataFusion partition failed; its shards are read again with kahu's reader");
                    for (path, size) in group {
                        out.reread += 1;
                        let (findings, report) =
                            reread(&detection, &stores, path, *size, &mut warnings);
                        stores.fail_on_damage(&warnings)?;
                        out.findings.extend(findings);
                        absorb(&mut out, &mut merged, report);
                    }
                }
            }
        }
    }
    out.correlation = merged
        .into_iter()
        .map(|e| e.map(CorrelationEngine::finish_report).unwrap_or_default())
        .collect();
    warnings.sort_by(|a, b| (&a.file, a.row).cmp(&(&b.file, b.row)));
    out.warnings = warnings;
    tracing::info!(
        partitions = out.partitions,
        routed_out_shards = out.routed_out.0,
        routed_out_rows = out.routed_out.1,
        reread_shards = out.reread,
        events = out.events,
        "DataFusion hunt done"
    );
    Ok(out)
}

/// The gather step: a partition's correlation records join the merged
/// engine (whose caps bound the total), its counters the run's.
fn absorb(out: &mut HuntOutput, merged: &mut [Option<CorrelationEngine>], r: PartitionReport) {
    out.events += r.events;
    out.excluded.add(&r.excluded);
    for (acc, e) in merged.iter_mut().zip(r.engines) {
        if let (Some(acc), Some(e)) = (acc.as_mut(), e) {
            acc.merge(e);
        }
    }
}

type Routing = Box<dyn Fn(&[String]) -> bool>;

/// Read a shard's footer: its rows, and whether routing must keep it.
/// A file that is not a kahu shard (or whose footer is damaged) is the
/// reason in `Err`.
fn footer(stores: &Stores, path: &Path, size: u64) -> Result<(u64, Routing), String> {
    let file = stores.reader(path, size)?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| kahu_columnar::ReadError::from(e).to_string())?;
        kahu_columnar::check_footer(builder.metadata(), builder.schema())
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(builder.metadata().clone())
    }));
    let meta = match outcome {
        Ok(r) => r.map_err(|e| format!("{e}; rest of the file skipped"))?,
        Err(_) => {
            return Err("the Parquet decoder failed on this file's footer; file skipped".into());
        }
    };
    let rows = meta.file_metadata().num_rows().max(0) as u64;
    Ok((rows, Box::new(move |p| shard_may_match(&meta, p))))
}

pub(crate) type PartitionResult = Result<(Vec<Finding>, PartitionReport), String>;

pub(crate) struct Scanned {
    /// The shards of each partition, with their sizes.
    pub groups: ShardGroups,
    pub results: Vec<PartitionResult>,
}

/// Split shards into at most `n` groups of about equal bytes (largest
/// first into the lightest group), each group's shards in path order.
fn group_shards(shards: &[(PathBuf, u64)], n: usize) -> Vec<Vec<(PathBuf, u64)>> {
    let mut sorted: Vec<&(PathBuf, u64)> = shards.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut groups: Vec<(u64, Vec<(PathBuf, u64)>)> =
        vec![(0, Vec::new()); n.clamp(1, shards.len().max(1))];
    for s in sorted {
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
            g.0 += s.1.max(1);
            g.1.push(s.clone());
        }
    }
    groups
        .into_iter()
        .map(|(_, mut g)| {
            g.sort();
            g
        })
        .collect()
}

/// Plan the Parquet scan of `shards` in `partitions` groups with
/// [`SigmaExec`] on top, run the partitions in parallel and collect each
/// one's findings and report (or why it failed).
async fn scan(
    stores: &Stores,
    shards: &[(PathBuf, u64)],
    detection: Arc<Detection>,
    partitions: usize,
    done: &(dyn Fn(u64) + Sync),
) -> Result<Scanned, Error> {
    let mut config = SessionConfig::new().with_target_partitions(partitions);
    // A partition's shards must stay its own: a failed partition's shards
    // are read again, so work stealing across partitions would mix them.
    config
        .options_mut()
        .execution
        .enable_file_stream_work_stealing = false;
    let runtime_env = Arc::new(RuntimeEnv::default());
    runtime_env.register_object_store(AsRef::<url::Url>::as_ref(&stores.url), stores.store.clone());
    let task_ctx = Arc::new(
        TaskContext::default()
            .with_session_config(config)
            .with_runtime(runtime_env),
    );
    let (grouped, input) = plan_input(stores, shards, partitions)?;
    let n = grouped.len();
    let gather = Arc::new(Gather::default());
    let exec = Arc::new(SigmaExec::with_gather(input, detection, gather));
    let mut handles = Vec::with_capacity(n);
    for p in 0..n {
        let exec = exec.clone();
        let ctx = task_ctx.clone();
        handles.push(tokio::spawn(async move {
            let mut findings = Vec::new();
            let mut stream = exec.execute(p, ctx).map_err(|e| e.to_string())?;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| e.to_string())?;
                batch_findings(&batch, &mut findings).map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(findings)
        }));
    }
    let mut results = Vec::with_capacity(n);
    for ((p, h), group) in handles.into_iter().enumerate().zip(&grouped) {
        let r = match h.await {
            Ok(Ok(findings)) => match exec.gather().take(p) {
                Some(report) => Ok((findings, report)),
                None => Err("the partition ended without its report".to_string()),
            },
            Ok(Err(e)) => Err(e),
            Err(join) => Err(format!("the partition's task failed: {join}")),
        };
        done(group.iter().map(|f| f.1).sum());
        results.push(r);
    }
    Ok(Scanned {
        groups: grouped,
        results,
    })
}

/// Shards (with their sizes) per partition, in partition order.
pub(crate) type ShardGroups = Vec<Vec<(PathBuf, u64)>>;

/// Plan the Parquet scan of `shards` in at most `partitions` groups of
/// about equal bytes ([`group_shards`]), one DataFusion partition per
/// group, in group order.
pub(crate) fn plan_input(
    stores: &Stores,
    shards: &[(PathBuf, u64)],
    partitions: usize,
) -> Result<(ShardGroups, Arc<dyn ExecutionPlan>), Error> {
    let grouped = group_shards(shards, partitions);
    let mut file_groups = Vec::with_capacity(grouped.len());
    for g in &grouped {
        let mut files = Vec::with_capacity(g.len());
        for (path, size) in g {
            // A path the object store refuses fails planning.
            let location = stores.location(path)?;
            files.push(PartitionedFile::new_from_meta(object_store::ObjectMeta {
                location,
                last_modified: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                size: *size,
                e_tag: None,
                version: None,
            }));
        }
        file_groups.push(FileGroup::new(files));
    }
    // The shard schema, given: batches are exactly what kahu-columnar
    // decodes (every footer was checked against it already).
    let source = ParquetSource::new(kahu_columnar::schema::event_schema());
    let scan_config = FileScanConfigBuilder::new(stores.url.clone(), Arc::new(source))
        .with_file_groups(file_groups)
        .build();
    let input: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(scan_config);
    let n = input.output_partitioning().partition_count();
    if n != grouped.len() {
        return Err(Error::DataFusion(DataFusionError::Internal(format!(
            "{} shard groups planned as {n} partitions",
            grouped.len()
        ))));
    }
    Ok((grouped, input))
}

/// Read one shard with kahu-columnar's reader (which names the row at
/// fault and survives a decoder panic) and run the detectors on it.
fn reread(
    detection: &Detection,
    stores: &Stores,
    path: &Path,
    size: u64,
    warnings: &mut Vec<ShardWarning>,
) -> (Vec<Finding>, PartitionReport) {
    let mut state = PartitionState::new(detection);
    {
        let mut visit = |item: Result<kahu_event::Event, kahu_columnar::RowError>| {
            match item {
                Ok(e) => state.event(detection, &e),
                Err(bad) => warnings.push(ShardWarning {
                    file: path.to_path_buf(),
                    row: Some(bad.row),
                    reason: format!("kahu Parquet shard row skipped: {}", bad.reason),
                }),
            }
            true
        };
        let result = stores.reader(path, size).and_then(|f| {
            kahu_columnar::read_shard(f, &mut visit)
                .map_err(|e| format!("{e}; rest of the file skipped"))
        });
        if let Err(reason) = result {
            warnings.push(ShardWarning {
                file: path.to_path_buf(),
                row: None,
                reason,
            });
        }
    }
    let report = PartitionReport {
        engines: state.engines,
        events: state.events,
        excluded: state.excluded,
    };
    (state.findings, report)
}
